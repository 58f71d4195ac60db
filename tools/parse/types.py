"""The parser's output: a typed ParsedDocument with page text and word boxes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

MediaType = Literal["application/pdf", "image/jpeg", "image/png", "image/tiff"]


@dataclass(slots=True)
class Word:
    """One word and its box in page coordinates (PDF points for PDFs, pixels for images).

    A plain slotted dataclass, not a pydantic model: a text page has hundreds of words and
    validating each one cost the parser a third of its speed.
    """

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    # OCR confidence 0-100; None for the text layer.
    conf: float | None = None

    def as_dict(self) -> dict[str, str | float | None]:
        return {
            "text": self.text,
            "x0": self.x0,
            "y0": self.y0,
            "x1": self.x1,
            "y1": self.y1,
            "conf": self.conf,
        }


class PageError(BaseModel):
    code: str
    message: str


class ParsedPage(BaseModel):
    number: int = Field(description="1-based page number")
    method: Literal["text", "ocr", "failed"]
    text: str = ""
    width: float = 0.0
    height: float = 0.0
    unit: Literal["pt", "px"] = "pt"
    rotation: int = Field(default=0, description="degrees the page was turned to read it (OCR)")
    confidence: float | None = Field(default=None, description="mean OCR word confidence 0-100")
    words: list[Word] = Field(default_factory=list)
    error: PageError | None = None


class ParsedDocument(BaseModel):
    media_type: MediaType
    page_count: int
    pages: list[ParsedPage]

    @property
    def failed_pages(self) -> list[ParsedPage]:
        return [p for p in self.pages if p.method == "failed"]

    @property
    def text(self) -> str:
        return "\n\n".join(p.text for p in self.pages)
