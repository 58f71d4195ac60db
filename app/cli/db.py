"""``shipdoc db``: schema migrations."""

from __future__ import annotations

import typer

from core import migrate

app = typer.Typer(help="Database schema migrations (Alembic).", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head")) -> None:
    """Upgrade the database named by SHIPDOC_DATABASE_URL to REVISION (default: head)."""
    migrate.upgrade(revision=revision)
    typer.echo(f"database at {revision}")


@app.command()
def downgrade(revision: str = typer.Argument(..., help="target revision, e.g. base")) -> None:
    """Downgrade the database to REVISION."""
    migrate.downgrade(revision=revision)
    typer.echo(f"database at {revision}")


@app.command()
def current() -> None:
    """Show the database's current revision."""
    migrate.current()
