"""Document type and page groups: keywords first, the model only when they do not decide.

A page whose first lines carry a document title ("BILL OF LADING", "Packing List") or a
"page 1 of n" marker starts a group; pages without one continue the group before them. A
group whose keywords are ambiguous is classified by one short, schema-constrained model
request on its first page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from agent.models.base import ChatModel, ChatRequest, ChatResponse, Message
from agent.models.structured import complete_structured
from agent.prompting import classify_prompt, render_document
from core.records import DocType
from tools.candidates import best, find_candidates
from tools.provenance import PageText

# Title phrases, lower case. A title in a page's first lines is strong evidence.
TITLES: dict[DocType, tuple[str, ...]] = {
    "bill_of_lading": (
        "bill of lading",
        "sea waybill",
        "seawaybill",
        "konnossement",
        "connaissement",
        "cognossement",
        "connossement",
    ),
    "commercial_invoice": (
        "commercial invoice",
        "handelsrechnung",
        "facture commerciale",
        "handelsfactuur",
        "invoice",
        "rechnung",
        "facture",
        "factuur",
    ),
    "packing_list": ("packing list", "packliste", "liste de colisage", "paklijst", "packing slip"),
    "customs_declaration": (
        "customs declaration",
        "single administrative document",
        "export declaration",
        "import declaration",
        "zollanmeldung",
        "ausfuhranmeldung",
        "déclaration en douane",
        "douaneaangifte",
    ),
}
# Words that also support a type when they appear anywhere on the page.
CUES: dict[DocType, tuple[str, ...]] = {
    "bill_of_lading": ("port of loading", "port of discharge", "vessel", "b/l", "notify party"),
    "commercial_invoice": ("invoice no", "invoice number", "unit price", "amount due", "incoterm"),
    "packing_list": ("net weight", "gross weight", "dimensions", "cartons", "packages"),
    "customs_declaration": ("mrn", "declarant", "procedure", "commodity code", "customs value"),
}
_HEAD_LINES = 8
_PAGE_ONE = re.compile(
    r"\b(?:page|seite|pagina|blad)\s+1\s*(?:of|von|de|van|/)\s*\d+", re.IGNORECASE
)


@dataclass
class PageGroup:
    doc_type: DocType
    pages: list[PageText]
    method: Literal["keywords", "model"] = "keywords"
    responses: list[ChatResponse] = field(default_factory=list)
    # None of the four types (the model said "other"): ``doc_type`` is only the keywords'
    # closest guess, and the group is not extracted into a record of that type.
    unsupported: bool = False

    @property
    def first(self) -> int:
        return self.pages[0].number

    @property
    def last(self) -> int:
        return self.pages[-1].number


class _ClassifyOut(BaseModel):
    doc_type: DocType | Literal["other"]


def _head(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return "\n".join(lines[:_HEAD_LINES]).lower()


def title_type(text: str) -> DocType | None:
    """The type named by a title in the page's first lines (longest phrase wins)."""
    head = _head(text)
    best: tuple[int, DocType] | None = None
    for doc_type, phrases in TITLES.items():
        for phrase in phrases:
            if re.search(rf"\b{re.escape(phrase)}\b", head) and (
                best is None or len(phrase) > best[0]
            ):
                best = (len(phrase), doc_type)
    return best[1] if best else None


def scores(text: str) -> dict[DocType, int]:
    low = text.lower()
    out: dict[DocType, int] = {}
    for doc_type in TITLES:
        score = 5 if title_type(text) == doc_type else 0
        score += sum(1 for cue in CUES[doc_type] if re.search(rf"\b{re.escape(cue)}\b", low))
        out[doc_type] = score
    return out


def keyword_type(text: str) -> DocType | None:
    """The clear winner of the keyword scores, or None when they do not decide."""
    ranked = sorted(scores(text).items(), key=lambda kv: kv[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    return best if top >= 3 and top - second >= 2 else None


def _invoice_number(page: PageText) -> str | None:
    found = best(find_candidates([page.model_copy(update={"words": []})]), "invoice_number")
    return str(found.value) if found is not None else None


def split_groups(pages: list[PageText]) -> list[list[PageText]]:
    """Consecutive pages per document: a page starts one when it says "page 1 of n", names
    another document type in its title, or prints another invoice number than the pages
    before it (several invoices scanned into one PDF)."""
    groups: list[list[PageText]] = []
    current_type: DocType | None = None
    current_number: str | None = None
    for page in pages:
        page_type = title_type(page.text)
        number = _invoice_number(page)
        starts = (
            bool(_PAGE_ONE.search(page.text))
            or (page_type is not None and page_type != current_type)
            or (number is not None and current_number is not None and number != current_number)
        )
        if not groups or (starts and groups[-1]):
            groups.append([])
            current_type = page_type
            current_number = None
        current_number = number or current_number
        groups[-1].append(page)
    return groups


def classify(pages: list[PageText], model: ChatModel | None) -> list[PageGroup]:
    """Page groups with their types; the model is asked only when keywords do not decide."""
    out: list[PageGroup] = []
    for group_pages in split_groups(pages):
        text = "\n".join(p.text for p in group_pages)
        doc_type = keyword_type(text)
        if doc_type is not None:
            out.append(PageGroup(doc_type, group_pages))
            continue
        if model is None:
            ranked = max(scores(text).items(), key=lambda kv: kv[1])
            out.append(PageGroup(ranked[0], group_pages))
            continue
        request = ChatRequest(
            messages=[
                Message(role="system", content=classify_prompt()),
                Message(role="user", content=render_document(group_pages[:1])[:6000]),
            ],
            max_tokens=40,
        )
        result, responses = complete_structured(model, request, _ClassifyOut, max_repairs=1)
        if result.doc_type == "other":
            guess = max(scores(text).items(), key=lambda kv: kv[1])[0]
            out.append(PageGroup(guess, group_pages, "model", responses, unsupported=True))
        else:
            out.append(PageGroup(result.doc_type, group_pages, "model", responses))
    return out
