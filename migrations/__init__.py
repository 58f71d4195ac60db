"""Alembic migrations; run them with ``shipdoc db upgrade``."""
