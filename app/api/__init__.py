"""The HTTP API (FastAPI). ``create_app(settings)`` builds it; ``shipdoc serve`` runs it."""

from app.api.main import create_app

__all__ = ["create_app"]
