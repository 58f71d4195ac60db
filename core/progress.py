"""Progress of long steps: reported by the code that does the work, shown by whoever listens.

The code that downloads a model, embeds the knowledge base, OCRs a scan or extracts a
document calls ``report(task, done, total)`` as it goes; ``note(detail)`` adds a short
remark to the task last reported in this context (e.g. the model request under way).
Nothing listens by default (the API, the workers, the tests): a report costs a lookup.
A command line installs a listener with ``listening(sink)`` (``app/progress.py`` draws
bars on a terminal and plain lines in logs). The listener lives in a context variable, so
threads started with ``contextvars.copy_context()`` (the OCR pool) report to it too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Step:
    """Where one task stands: ``done`` of ``total`` ``unit`` (total None: not known yet)."""

    task: str
    done: int
    total: int | None
    unit: str = ""
    detail: str = ""

    def total_or(self, default: int) -> int:
        return default if self.total is None else self.total


class Sink(Protocol):
    def __call__(self, step: Step) -> None: ...


_SINK: ContextVar[Sink | None] = ContextVar("shipdoc_progress_sink", default=None)
_LAST: ContextVar[Step | None] = ContextVar("shipdoc_progress_last", default=None)


def report(task: str, done: int, total: int | None, *, unit: str = "", detail: str = "") -> None:
    sink = _SINK.get()
    if sink is None:
        return
    step = Step(task, done, total, unit, detail)
    _LAST.set(step)
    sink(step)


def note(detail: str) -> None:
    """A remark on the task last reported in this context; nothing when there is none."""
    sink, last = _SINK.get(), _LAST.get()
    if sink is None or last is None:
        return
    step = Step(last.task, last.done, last.total, last.unit, detail)
    _LAST.set(step)
    sink(step)


@contextmanager
def listening(sink: Sink) -> Iterator[None]:
    token = _SINK.set(sink)
    last = _LAST.set(None)
    try:
        yield
    finally:
        _LAST.reset(last)
        _SINK.reset(token)
