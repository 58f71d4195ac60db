"""The ``shipdoc`` command. Each command group lives in its own module and is added here."""

from __future__ import annotations

import sys

import typer

from app.cli import db as db_cli
from app.cli import documents as documents_cli
from app.cli import eval as eval_cli
from app.cli import extract as extract_cli
from app.cli import kb as kb_cli
from app.cli import keys as keys_cli
from app.cli import model as model_cli
from app.cli import service as service_cli
from core.errors import InputError, ShipdocError

app = typer.Typer(
    name="shipdoc",
    help="Turn shipment documents into validated structured records.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db_cli.app, name="db")
app.add_typer(eval_cli.app, name="eval")
app.add_typer(kb_cli.app, name="kb")
app.add_typer(model_cli.app, name="model")
documents_cli.register(app)
extract_cli.register(app)
app.add_typer(keys_cli.app, name="keys")
service_cli.register(app)

# Exit codes: 0 ok, 1 our failure (configuration, dependency), 2 bad input or usage.
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


def main() -> None:
    try:
        app()
    except InputError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except ShipdocError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAILURE)
