"""Text from documents and uploads shown on a terminal: control characters escaped.

A file name or a message may hold escape sequences (``\\x1b[2J``), carriage returns or
bidirectional overrides (U+202E) that would rewrite what the operator sees; they are
printed as ``\\xNN`` / ``\\uNNNN`` instead. JSON output needs none of this (it escapes).
"""

from __future__ import annotations

import unicodedata


def safe(text: str) -> str:
    """``text`` with control and format characters (Cc, Cf) escaped."""
    out = []
    for char in text:
        if unicodedata.category(char) in ("Cc", "Cf") and char not in "\t":
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)
