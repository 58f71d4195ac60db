"""Markdown sources (country rules, procedures): chunked by heading, with overlap.

Each chunk starts with its heading path (``Document > Section``) so it stands alone;
a section longer than ``MAX_CHARS`` is cut at paragraph boundaries and the next piece
repeats the previous piece's last paragraph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from kb.chunks import Chunk

SOURCE = "docs"
MAX_CHARS = 900
_HEADING = re.compile(r"^(#{1,4})\s+(.+?)\s*#*\s*$")


@dataclass
class _Section:
    path: list[str]
    lines: list[str] = field(default_factory=list)


def _sections(text: str) -> list[_Section]:
    stack: list[tuple[int, str]] = []
    sections = [_Section(path=[])]
    in_code = False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            in_code = not in_code
        match = None if in_code else _HEADING.match(line)
        if match:
            depth, title = len(match.group(1)), match.group(2)
            stack = [(d, t) for d, t in stack if d < depth] + [(depth, title)]
            sections.append(_Section(path=[t for _, t in stack]))
        else:
            sections[-1].lines.append(line)
    return [s for s in sections if "\n".join(s.lines).strip()]


def _paragraphs(lines: list[str]) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", "\n".join(lines)) if p.strip()]


def _pieces(paragraphs: list[str]) -> list[str]:
    pieces: list[list[str]] = [[]]
    for para in paragraphs:
        current = pieces[-1]
        if current and sum(len(p) for p in current) + len(para) > MAX_CHARS:
            pieces.append([current[-1], para])  # overlap: carry the last paragraph
        else:
            current.append(para)
    return ["\n\n".join(p) for p in pieces if p]


def chunk_markdown(name: str, text: str) -> list[Chunk]:
    out: list[Chunk] = []
    sections = _sections(text)
    title = next((s.path[0] for s in sections if s.path), Path(name).stem)
    for section in sections:
        heading = " > ".join(section.path) or title
        for body in _pieces(_paragraphs(section.lines)):
            n = len(out)
            out.append(
                Chunk(
                    key=f"{SOURCE}:{name}#{n}",
                    text=f"{heading}\n\n{body}",
                    payload={
                        "code": None,
                        "title": title,
                        "heading": heading,
                        "file": name,
                        "chunk": n,
                        "level": 0,
                        "source": SOURCE,
                        "language": "en",
                    },
                )
            )
    return out


def chunks(folder: Path) -> list[Chunk]:
    files = [folder] if folder.is_file() else sorted(folder.glob("*.md"))
    out: list[Chunk] = []
    for path in files:
        if path.name.lower() == "readme.md":
            continue
        out.extend(chunk_markdown(path.name, path.read_text(encoding="utf-8")))
    return out
