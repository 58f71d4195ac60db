"""``shipdoc webhooks``: register receivers of signed events and look after their deliveries."""

from __future__ import annotations

import json
import time

import typer

from app.periods import parse_moment
from core.events import EVENT_TYPES
from core.migrate import ensure_current
from core.settings import Settings, get_settings
from workers.webhooks import endpoints as hooks

app = typer.Typer(
    help="Webhooks (Standard Webhooks signatures): add, list, enable, replay, deliver.",
    no_args_is_help=True,
)
EVENTS_HELP = f"event type to send, repeatable or comma-separated (default all): {EVENT_TYPES}"


def _settings() -> Settings:
    settings = get_settings()
    ensure_current(settings.database_url)
    return settings


def _line(e: hooks.EndpointOut) -> str:
    state = "enabled" if e.enabled else f"disabled ({e.disabled_reason})"
    events = ",".join(e.events) or "all events"
    return f"{e.id}\t{e.url}\t{events}\t{state}\tfailures in a row: {e.consecutive_failures}"


@app.command("add")
def add_cmd(
    url: str = typer.Argument(..., help="the receiver's http(s) URL"),
    events: list[str] = typer.Option(None, "--events", "-e", help=EVENTS_HELP),
    description: str = typer.Option("", help="what the receiver is"),
    key_id: int = typer.Option(None, help="the admin API key the endpoint belongs to"),
) -> None:
    """Register an endpoint and print its signing secret (store it in the receiver)."""
    created = hooks.add_endpoint(
        _settings(), url, events or [], description=description, api_key_id=key_id
    )
    typer.echo(f"endpoint {created.id}: {created.url}; its signing secret:", err=True)
    typer.echo(created.secret)


@app.command("list")
def list_cmd() -> None:
    """Endpoints: id, URL, events, enabled or why disabled, failures in a row."""
    for endpoint in hooks.list_endpoints(_settings()):
        typer.echo(_line(endpoint))


@app.command("disable")
def disable_cmd(endpoint_id: int = typer.Argument(...)) -> None:
    """Stop deliveries to an endpoint."""
    typer.echo(_line(hooks.set_enabled(_settings(), endpoint_id, False)))


@app.command("enable")
def enable_cmd(endpoint_id: int = typer.Argument(...)) -> None:
    """Resume deliveries (also after an automatic disable); resets the failure count."""
    typer.echo(_line(hooks.set_enabled(_settings(), endpoint_id, True)))


@app.command("remove")
def remove_cmd(endpoint_id: int = typer.Argument(...)) -> None:
    """Delete an endpoint and its delivery log."""
    hooks.delete_endpoint(_settings(), endpoint_id)
    typer.echo(f"endpoint {endpoint_id} removed")


@app.command("rotate-secret")
def rotate_cmd(
    endpoint_id: int = typer.Argument(...),
    overlap_hours: float = typer.Option(24.0, help="hours the old secret still signs"),
) -> None:
    """Make a new secret; both sign deliveries until the overlap ends."""
    rotated = hooks.rotate_secret(_settings(), endpoint_id, overlap_hours * 3600)
    typer.echo(
        f"endpoint {rotated.id}: the old secret signs until "
        f"{rotated.previous_secret_until:%Y-%m-%d %H:%M} UTC; new secret:",
        err=True,
    )
    typer.echo(rotated.secret)


@app.command("replay")
def replay_cmd(
    endpoint_id: int = typer.Argument(...),
    event: str = typer.Option(None, "--event", help="one event id (evt_...)"),
    since: str = typer.Option(None, help="every subscribed event from this time (ISO, UTC)"),
    until: str = typer.Option(None, help="... up to this time (exclusive)"),
) -> None:
    """Deliver one event, or a time range of events, again (with their original ids)."""
    queued = hooks.replay(
        _settings(),
        endpoint_id,
        event_id=event,
        since=parse_moment(since, "--since"),
        until=parse_moment(until, "--until"),
    )
    typer.echo(f"{queued} deliveries queued")


@app.command("deliveries")
def deliveries_cmd(
    endpoint_id: int = typer.Argument(...),
    limit: int = typer.Option(20, help="how many, newest first"),
) -> None:
    """The delivery log as JSON lines: state, attempts, status codes, latency, excerpts."""
    for delivery in hooks.deliveries(_settings(), endpoint_id, limit):
        typer.echo(json.dumps(delivery.model_dump(mode="json")))


@app.command("deliver")
def deliver_cmd(
    loop: bool = typer.Option(False, help="keep delivering until interrupted"),
) -> None:
    """Send what is due now (``shipdoc serve`` and the webhooks worker do this by themselves)."""
    from workers.webhooks.delivery import deliver_due

    settings = _settings()
    while True:
        sent = deliver_due(settings)
        if not loop:
            typer.echo(f"{sent} attempts made")
            return
        if not sent:
            time.sleep(settings.webhooks.poll_interval_s)
