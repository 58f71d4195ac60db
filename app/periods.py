"""Report periods given by people: ``7d``, ``24h``, ``90m`` ago, or an ISO date/time;
and plain ISO dates/times given as command-line options."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from core.errors import InputError

_AGO = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    value = text.strip()
    found = _AGO.match(value)
    if found:
        return now - timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InputError(
            f"{text!r} is not a period: use 7d, 24h, 90m, 2w or an ISO date (2026-11-01)",
            code="bad_period",
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_moment(text: str | None, option: str) -> datetime | None:
    """The ISO date or datetime given as ``option`` (naive means UTC); None if not given."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"{option} {text!r} is not an ISO date or datetime") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)
