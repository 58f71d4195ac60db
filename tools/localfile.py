"""Reading a document from a local path, safely: only regular files, never unbounded.

A FIFO, a socket, a device such as ``/dev/zero`` or a directory is refused before a byte
is read (opening does not block: ``O_NONBLOCK``), and the kind is checked on the opened
descriptor, not on the name. ``st_size`` is not trusted: the bytes are read in chunks and
at most ``max_bytes + 1`` are ever held in memory.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from core.errors import FileMissing, InputError, NotAFile

_CHUNK = 1 << 20
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


@contextmanager
def open_regular(path: Path) -> Iterator[BinaryIO]:
    """Open ``path`` for reading if it is a regular file; a one-line ``InputError`` if not."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise FileMissing(f"{path}: no such file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied", code="permission_denied") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot open: {exc.strerror}", code="unreadable_file") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotAFile(f"{path} is {_kind(mode)}, not a document file")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as fh:
        yield fh


def read_capped(fh: BinaryIO, max_bytes: int) -> bytes | None:
    """The file's bytes, or None as soon as there are more than ``max_bytes``."""
    parts: list[bytes] = []
    size = 0
    while chunk := fh.read(min(_CHUNK, max_bytes + 1 - size)):
        parts.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return None
    return b"".join(parts)


def sha256_and_size(fh: BinaryIO) -> tuple[str, int]:
    """Streamed from the start of the file (constant memory)."""
    fh.seek(0)
    digest, size = hashlib.sha256(), 0
    while chunk := fh.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def read_document(path: Path, max_bytes: int) -> bytes | None:
    """The bytes of a regular file, or None when it holds more than ``max_bytes``."""
    with open_regular(path) as fh:
        return read_capped(fh, max_bytes)
