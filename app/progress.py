"""Showing progress (``core.progress`` reports): live bars on a terminal, plain lines in logs.

On a terminal every task gets a rich progress bar with its count, elapsed time and an
estimate of the time left. Elsewhere (CI logs, a pipe) a task that runs longer than
``min_s`` gets a plain line every ``every_s`` seconds and one when it ends, so a log shows
signs of life without a line per page.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from core import progress
from core.progress import Step

_MB = 1024 * 1024


def count_text(done: float, total: float | None, unit: str) -> str:
    """``3/22 parts``; bytes as ``12.5/1065.0 MB``; an unknown total as ``3 parts``."""
    if unit == "bytes":
        shown = f"{done / _MB:.1f}" + (f"/{total / _MB:.1f}" if total else "")
        return f"{shown} MB"
    shown = f"{int(done)}" + (f"/{int(total)}" if total is not None else "")
    return f"{shown} {unit}".rstrip()


def eta_s(done: int, total: int | None, elapsed_s: float) -> float | None:
    """Seconds left at the rate so far; None before the first unit is done."""
    if total is None or done <= 0 or elapsed_s <= 0:
        return None
    return max(0.0, (total - done) * elapsed_s / done)


class _CountColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(count_text(task.completed, task.total, task.fields.get("unit", "")))


@dataclass
class _Seen:
    started: float
    last: Step
    printed_at: float | None = None
    finished: bool = False


class ProgressDisplay:
    """A ``core.progress`` listener for the duration of a ``with`` block."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        live: bool | None = None,
        quiet: bool = False,
        min_s: float = 2.0,
        every_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        heartbeat: bool = True,
    ) -> None:
        self.stream = stream or sys.stderr
        self.console = Console(file=self.stream)
        self.live = self.console.is_terminal if live is None else live
        self.quiet = quiet
        self.min_s, self.every_s, self.clock = min_s, every_s, clock
        self._bars: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._done: set[str] = set()
        self._seen: dict[str, _Seen] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        if heartbeat and not self.live and not quiet:
            # A long step between two reports (one model request) still shows signs of life.
            self._beat = threading.Thread(target=self._heartbeat, name="progress", daemon=True)
        self._listening = progress.listening(self)

    def __enter__(self) -> ProgressDisplay:
        if self.live and not self.quiet:
            self._bars = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                _CountColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[detail]}"),
                console=self.console,
            )
            self._bars.start()
        if self._beat is not None:
            self._beat.start()
        self._listening.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._listening.__exit__(exc_type, exc, tb)
        self._stop.set()
        if self._beat is not None:
            self._beat.join()
        if self._bars is not None:
            self._bars.stop()

    def _heartbeat(self) -> None:
        while not self._stop.wait(1.0):
            self.tick()

    def tick(self) -> None:
        """Repeat the line of each unfinished task that has been quiet for ``every_s``."""
        with self._lock:
            for seen in list(self._seen.values()):
                if not seen.finished:
                    self._due_line(seen, seen.last)

    def __call__(self, step: Step) -> None:
        if self.quiet:
            return
        if self._bars is not None:
            self._bar(self._bars, step)
        else:
            self._line(step)

    def _bar(self, bars: Progress, step: Step) -> None:
        task = self._tasks.get(step.task)
        if task is None or (step.task in self._done and step.done < step.total_or(0)):
            task = bars.add_task(step.task, total=step.total, unit=step.unit, detail="")
            self._tasks[step.task] = task
            self._done.discard(step.task)
        bars.update(task, completed=step.done, total=step.total, detail=step.detail)
        if step.total is not None and step.done >= step.total:
            self._done.add(step.task)

    def _line(self, step: Step) -> None:
        with self._lock:
            seen = self._seen.get(step.task)
            if seen is None or (seen.finished and step.done < step.total_or(0)):
                seen = self._seen[step.task] = _Seen(started=self.clock(), last=step)
            seen.last = step
            seen.finished = step.total is not None and step.done >= step.total
            self._due_line(seen, step)

    def _due_line(self, seen: _Seen, step: Step) -> None:
        now = self.clock()
        elapsed = now - seen.started
        if seen.printed_at is None:
            due = elapsed >= self.min_s
        else:
            due = seen.finished or now - seen.printed_at >= self.every_s
        if not due:
            return
        seen.printed_at = now
        text = f"  {step.task}: {count_text(step.done, step.total, step.unit)}"
        if step.total:
            text += f" ({100 * step.done / step.total:.0f}%)"
        text += f", {elapsed:.0f} s"
        left = None if seen.finished else eta_s(step.done, step.total, elapsed)
        if left is not None:
            text += f", ~{left:.0f} s left"
        if step.detail:
            text += f"; {step.detail}"
        self.stream.write(text + "\n")
        self.stream.flush()
