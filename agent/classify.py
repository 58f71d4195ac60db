"""Document type and page groups: keywords when they are sure, else the model, else "unknown".

The pages are split into documents first (``agent/splitting``). Each group is typed by its
keywords: a title ("BILL OF LADING", "Packliste"; in the first lines, or anywhere on a line
of its own) and the labels its type prints (port of loading, Einzelpreis, poids brut, ...;
EN/DE/NL/FR, compared without accents because OCR loses them). Keywords decide only on
strong evidence: a title with at least one of its type's labels, or many labels, and a
clear lead over the other types. Otherwise one short, schema-constrained model request on
the group's first page decides, with "other" as an answer. A type the model names without
one of its words on the page is not taken (a small model forces a hotel booking into one
of the four types). Without a model answer, weak evidence is not forced into a type either:
the group is ``unsupported`` and its stored outcome says why (``reason``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from agent.models.base import ChatModel, ChatRequest, ChatResponse, Message
from agent.models.structured import complete_structured
from agent.prompting import classify_prompt, render_document
from agent.splitting import split_pages
from core.records import DocType
from tools.provenance import PageText

# Title phrases, lower case, without accents. A title is strong evidence.
TITLES: dict[DocType, tuple[str, ...]] = {
    "bill_of_lading": (
        "bill of lading",
        "sea waybill",
        "seawaybill",
        "waybill",
        "konnossement",
        "seefrachtbrief",
        "connaissement",
        "cognossement",
        "connossement",
        "zeevrachtbrief",
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
    "packing_list": (
        "packing list",
        "packliste",
        "liste de colisage",
        "paklijst",
        "packing slip",
        "colisage",
    ),
    "customs_declaration": (
        "customs declaration",
        "single administrative document",
        "export declaration",
        "import declaration",
        "zollanmeldung",
        "ausfuhranmeldung",
        "einfuhranmeldung",
        "einheitspapier",
        "declaration en douane",
        "document administratif unique",
        "douaneaangifte",
        "enig document",
    ),
}
# Labels a document of the type prints (lower case, without accents), EN / DE / NL / FR.
CUES: dict[DocType, tuple[str, ...]] = {
    "bill_of_lading": (
        "port of loading",
        "port of discharge",
        "place of receipt",
        "vessel",
        "voyage no",
        "n° de voyage",
        "reisenummer",
        "reise-nr",
        "reisnummer",
        "b/l",
        "notify party",
        "shipped on board",
        "freight prepaid",
        "freight collect",
        "ladehafen",
        "loschhafen",
        "seeschiff",
        "meldeadresse",
        "ubernahmeort",
        "laadhaven",
        "loshaven",
        "zeeschip",
        "plaats van ontvangst",
        "port de chargement",
        "port de dechargement",
        "navire",
        "lieu de prise en charge",
    ),
    "commercial_invoice": (
        "invoice no",
        "invoice number",
        "invoice date",
        "unit price",
        "amount due",
        "incoterm",
        "incoterms",
        "payment terms",
        "rechnungsnummer",
        "rechnungsdatum",
        "einzelpreis",
        "zahlungsbedingungen",
        "factuurnummer",
        "factuurdatum",
        "prijs per eenheid",
        "eenheidsprijs",
        "betalingsvoorwaarden",
        "n° de facture",
        "numero de facture",
        "date de facture",
        "prix unitaire",
        "conditions de paiement",
    ),
    "packing_list": (
        "net weight",
        "gross weight",
        "dimensions",
        "cartons",
        "packages",
        "nettogewicht",
        "bruttogewicht",
        "abmessungen",
        "packstucke",
        "netto gewicht",
        "bruto gewicht",
        "afmetingen",
        "colli",
        "poids net",
        "poids brut",
        "colis",
    ),
    "customs_declaration": (
        "mrn",
        "lrn",
        "declarant",
        "procedure",
        "commodity code",
        "customs value",
        "anmelder",
        "verfahren",
        "warennummer",
        "zollwert",
        "aangever",
        "regeling",
        "goederencode",
        "douanewaarde",
        "regime",
        "code marchandise",
        "valeur en douane",
    ),
}
TITLE_WEIGHT = 5
_HEAD_LINES = 8
# Keywords decide a type alone with a title and one of its labels, or this many labels.
MIN_CUES_WITH_TITLE = 1
MIN_CUES_ALONE = 4
MIN_LEAD = 2

Reason = Literal["other", "undecided"]


@dataclass
class PageGroup:
    doc_type: DocType
    pages: list[PageText]
    method: Literal["keywords", "model"] = "keywords"
    responses: list[ChatResponse] = field(default_factory=list)
    # None of the four types, or no type could be decided: ``doc_type`` is only the
    # keywords' closest guess, and the group is not extracted into a record of that type.
    unsupported: bool = False
    # Why it is unsupported: "other" (the model said none of the four, or nothing on the
    # pages belongs to a shipment document) or "undecided" (weak keywords, no model answer).
    reason: Reason | None = None
    detail: str = ""

    @property
    def first(self) -> int:
        return self.pages[0].number

    @property
    def last(self) -> int:
        return self.pages[-1].number


class _ClassifyOut(BaseModel):
    doc_type: DocType | Literal["other"]


def plain(text: str) -> str:
    """Lower case without accents: OCR drops them and printers leave them off capitals."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _has(phrase: str, text: str) -> bool:
    return re.search(rf"(?<![\w/]){re.escape(phrase)}(?![\w/])", text) is not None


def _titles(line: str, phrase: str) -> bool:
    """Does ``line`` read as a title naming ``phrase`` ("ORIGINAL BILL OF LADING", "Invoice
    No. 12"), not a sentence that mentions it ("please find our invoice enclosed")?"""
    match = re.search(rf"(?<![\w/]){re.escape(phrase)}(?![\w/])", line)
    if match is None:
        return False
    before, words = line[: match.start()].split(), line.split()
    return len(before) <= 2 and len(words) <= len(phrase.split()) + 5


def title_type(text: str) -> DocType | None:
    """The type named by a title: a title line among the page's first lines, or a line that
    is nothing but the phrase anywhere (OCR may read a title after the columns beside it).
    The longest phrase wins."""
    lines = [plain(line).strip(" .:-*|") for line in text.splitlines() if line.strip()]
    head = lines[:_HEAD_LINES]
    alone = set(lines[_HEAD_LINES:])
    found: tuple[int, DocType] | None = None
    for doc_type, phrases in TITLES.items():
        for phrase in phrases:
            titled = phrase in alone or any(_titles(line, phrase) for line in head)
            if titled and (found is None or len(phrase) > found[0]):
                found = (len(phrase), doc_type)
    return found[1] if found else None


def cue_counts(text: str) -> dict[DocType, int]:
    low = plain(text)
    return {t: sum(1 for cue in cues if _has(cue, low)) for t, cues in CUES.items()}


def scores(text: str) -> dict[DocType, int]:
    titled = title_type(text)
    counts = cue_counts(text)
    return {t: counts[t] + (TITLE_WEIGHT if titled == t else 0) for t in CUES}


def keyword_type(text: str) -> DocType | None:
    """The type the keywords are sure of, or None when their evidence is weak."""
    titled = title_type(text)
    counts = cue_counts(text)
    total = {t: counts[t] + (TITLE_WEIGHT if titled == t else 0) for t in CUES}
    ranked = sorted(total.items(), key=lambda kv: kv[1], reverse=True)
    (top, score), (_, second) = ranked[0], ranked[1]
    if score - second < MIN_LEAD:
        return None
    enough = MIN_CUES_WITH_TITLE if titled == top else MIN_CUES_ALONE
    return top if counts[top] >= enough else None


def split_groups(pages: list[PageText]) -> list[list[PageText]]:
    """Consecutive pages per document (see ``agent/splitting``)."""
    return split_pages(pages, [title_type(p.text) for p in pages])


def _guess(text: str) -> DocType:
    return max(scores(text).items(), key=lambda kv: kv[1])[0]


def _without_model(pages: list[PageText], text: str) -> PageGroup:
    if not any(scores(text).values()):
        detail = "no title or label of a shipment document on the pages"
        return PageGroup(_guess(text), pages, unsupported=True, reason="other", detail=detail)
    detail = "the keywords do not decide between the four types and no model decided"
    return PageGroup(_guess(text), pages, unsupported=True, reason="undecided", detail=detail)


def classify_request(pages: list[PageText]) -> ChatRequest:
    """The request that types a group the keywords leave open: its first page only."""
    return ChatRequest(
        messages=[
            Message(role="system", content=classify_prompt()),
            Message(role="user", content=render_document(pages[:1])[:6000]),
        ],
        max_tokens=40,
    )


def _ask_model(pages: list[PageText], text: str, model: ChatModel) -> PageGroup:
    request = classify_request(pages)
    result, responses = complete_structured(model, request, _ClassifyOut, max_repairs=1)
    if result.doc_type == "other":
        detail = "the model read it as none of the four types"
        return PageGroup(
            _guess(text), pages, "model", responses, unsupported=True, reason="other", detail=detail
        )
    if scores(text)[result.doc_type] == 0:
        detail = f"the model said {result.doc_type}, but no title or label of one is printed"
        return PageGroup(
            result.doc_type,
            pages,
            "model",
            responses,
            unsupported=True,
            reason="other",
            detail=detail,
        )
    return PageGroup(result.doc_type, pages, "model", responses)


def classify(pages: list[PageText], model: ChatModel | None) -> list[PageGroup]:
    """Page groups with their types; the model is asked only when keywords are not sure."""
    out: list[PageGroup] = []
    for group_pages in split_groups(pages):
        text = "\n".join(p.text for p in group_pages)
        doc_type = keyword_type(text)
        if doc_type is not None:
            out.append(PageGroup(doc_type, group_pages))
        elif model is None:
            out.append(_without_model(group_pages, text))
        else:
            out.append(_ask_model(group_pages, text, model))
    return out
