"""The ``shipdoc`` command.

Each command group lives in its own module and is imported only when it runs, so
``shipdoc ingest`` does not pay for loading Qdrant, Celery or llama.cpp. To add a command,
add a line to ``COMMANDS``: the command name, its module, and the attribute there (a
``typer.Typer`` for a group, a function for a single command).
"""

from __future__ import annotations

import importlib
import logging
import sys

import typer
from typer._click import Command, Context  # typer vendors click; its types live here
from typer.core import TyperGroup

from core.errors import InputError, ShipdocError

COMMANDS: dict[str, tuple[str, str]] = {
    "ingest": ("app.cli.documents", "ingest_cmd"),
    "parse": ("app.cli.documents", "parse_cmd"),
    "extract": ("app.cli.extract", "extract_cmd"),
    "documents": ("app.cli.documents", "documents_app"),
    "db": ("app.cli.db", "app"),
    "kb": ("app.cli.kb", "app"),
    "model": ("app.cli.model", "app"),
    "eval": ("app.cli.eval", "app"),
    "serve": ("app.cli.service", "serve_cmd"),
    "worker": ("app.cli.service", "worker_cmd"),
    "beat": ("app.cli.service", "beat_cmd"),
    "keys": ("app.cli.keys", "app"),
    "shadow": ("app.cli.ops", "shadow_app"),
    "cost": ("app.cli.ops", "cost_app"),
    "export": ("app.cli.export", "export_cmd"),
    "webhooks": ("app.cli.webhooks", "app"),
}

# Exit codes: 0 ok, 1 our failure (configuration, dependency), 2 bad input or usage.
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


class LazyGroup(TyperGroup):
    def list_commands(self, ctx: Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, attr = COMMANDS[cmd_name]
        target = getattr(importlib.import_module(module_name), attr)
        if not isinstance(target, typer.Typer):
            single = typer.Typer()
            single.command(cmd_name)(target)
            target = single
        target._add_completion = False
        command = typer.main.get_command(target)
        command.name = cmd_name
        return command


app = typer.Typer(
    name="shipdoc",
    cls=LazyGroup,
    help="Turn shipment documents into validated structured records.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Turn shipment documents into validated structured records."""


def main() -> None:
    try:
        app()
    except InputError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except ShipdocError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAILURE)
    except Exception as exc:
        # A defect of ours: one line for the user; the traceback only with debug logging.
        logging.getLogger("shipdoc").debug("unexpected error", exc_info=exc)
        typer.echo(f"error: internal_error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_FAILURE)
