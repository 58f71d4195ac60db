"""Run Alembic migrations programmatically (``shipdoc db upgrade|downgrade|current``)."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from core.db import get_engine
from core.errors import ConfigurationError
from core.settings import get_settings


def _script_location() -> str:
    spec = find_spec("migrations")
    if spec is None or spec.origin is None:
        raise ConfigurationError("the migrations package is not installed beside core")
    return str(Path(spec.origin).parent)


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", _script_location())
    cfg.set_main_option("sqlalchemy.url", url or get_settings().database_url)
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def current(url: str | None = None) -> None:
    command.current(alembic_config(url), verbose=True)


def ensure_current(url: str | None = None) -> None:
    """Bring an embedded SQLite database to head; refuse to change a server database silently.

    The embedded default must work with nothing set up; a PostgreSQL schema is changed only
    by an operator running ``shipdoc db upgrade``.
    """
    cfg = alembic_config(url)
    engine = get_engine(cfg.get_main_option("sqlalchemy.url"))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with engine.connect() as conn:
        rev = MigrationContext.configure(conn).get_current_revision()
    if rev == head:
        return
    if engine.dialect.name == "sqlite":
        upgrade(url)
        return
    raise ConfigurationError(
        f"database schema is at {rev or 'empty'}, the code expects {head}: run `shipdoc db upgrade`"
    )
