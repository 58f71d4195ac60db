"""Helpers for the agent tests: stored documents, scripted replies, a small tariff."""

from __future__ import annotations

import json
import uuid
from typing import Any

import sqlalchemy as sa

from agent.models.base import ChatResponse, ToolCall
from agent.tools import TariffOption
from core.db import session_scope
from core.models import AgentRun, Document, DocumentStatus, Page, Record, ToolCallRow

INVOICE_PAGE = """COMMERCIAL INVOICE
Invoice No: INV-2026-0042    Date: 2026-10-02
Seller: Acme Fasteners GmbH, Hafenstrasse 1, 20457 Hamburg, DE
Buyer: Bolt Trading BV, Kade 5, 3011 Rotterdam, NL
Currency: EUR   Incoterms: FOB Hamburg
Description          HS code   Qty   Unit price   Amount
Steel bolts M10      731815    100   2.50         250.00
Hex nuts M10         731816    10    1.00         10.00
Freight 40.00
Total EUR 300.00
"""

INVOICE: dict[str, Any] = {
    "invoice_number": "INV-2026-0042",
    "invoice_date": "2026-10-02",
    "seller": {"name": "Acme Fasteners GmbH", "country": "DE"},
    "buyer": {"name": "Bolt Trading BV", "country": "NL"},
    "currency": "EUR",
    "incoterm": "FOB",
    "line_items": [
        {
            "description": "Steel bolts M10",
            "hs_code": "731815",
            "quantity": 100,
            "unit_price": 2.5,
            "amount": 250.0,
        },
        {
            "description": "Hex nuts M10",
            "hs_code": "731816",
            "quantity": 10,
            "unit_price": 1.0,
            "amount": 10.0,
        },
    ],
    "freight": 40.0,
    "total": 300.0,
}


def invoice(**overrides: Any) -> dict[str, Any]:
    record = json.loads(json.dumps(INVOICE))
    record.update(overrides)
    return record


def bad_line(amount: float = 2500.0) -> dict[str, Any]:
    """The invoice with a misread line amount: an issue only a repair request can fix (the
    rules of tools/candidates read and fix a wrong printed total without the model)."""
    record = invoice()
    record["line_items"][0]["amount"] = amount
    return record


def reply(record: dict[str, Any], finish_reason: str = "stop") -> ChatResponse:
    return ChatResponse(
        content=json.dumps(record),
        model="scripted",
        backend="scripted",
        finish_reason=finish_reason,
    )


def calls(*items: tuple[str, dict[str, Any] | str]) -> ChatResponse:
    """A reply with tool calls; arguments given as a dict or as raw text."""
    tool_calls = [
        ToolCall(
            id=f"call_{uuid.uuid4().hex[:8]}",
            name=name,
            arguments_json=args if isinstance(args, str) else json.dumps(args),
        )
        for name, args in items
    ]
    return ChatResponse(
        tool_calls=tool_calls, model="scripted", backend="scripted", finish_reason="tool_calls"
    )


def store_document(url: str, pages: list[str], filename: str = "doc.pdf") -> int:
    """A parsed document with text-layer pages, as intake leaves it."""
    with session_scope(url) as session:
        doc = Document(
            sha256=uuid.uuid4().hex + uuid.uuid4().hex,
            filename=filename,
            media_type="application/pdf",
            size_bytes=sum(len(p) for p in pages),
            page_count=len(pages),
            status=DocumentStatus.PARSED,
        )
        doc.pages = [Page(number=i + 1, method="text", text=t) for i, t in enumerate(pages)]
        session.add(doc)
        session.flush()
        return doc.id


def records(url: str, document_id: int) -> list[Record]:
    with session_scope(url) as session:
        rows = session.scalars(
            sa.select(Record).where(Record.document_id == document_id).order_by(Record.page_first)
        ).all()
        return list(rows)


def runs(url: str, document_id: int) -> list[AgentRun]:
    with session_scope(url) as session:
        rows = session.scalars(
            sa.select(AgentRun).where(AgentRun.document_id == document_id).order_by(AgentRun.id)
        ).all()
        return list(rows)


def tool_call_rows(url: str, run_id: int) -> list[ToolCallRow]:
    with session_scope(url) as session:
        rows = session.scalars(
            sa.select(ToolCallRow).where(ToolCallRow.run_id == run_id).order_by(ToolCallRow.seq)
        ).all()
        return list(rows)


def document_status(url: str, document_id: int) -> str:
    with session_scope(url) as session:
        doc = session.get(Document, document_id)
        assert doc is not None
        return doc.status


class DictTariff:
    """A tariff of a few headings: the knowledge base's interface on known data."""

    def __init__(self, headings: dict[str, str]) -> None:
        self.headings = headings
        self.lookups: list[str] = []

    def exists(self, code: str) -> bool:
        return code[:6] in self.headings

    def lookup(self, description: str, origin: str | None, top_k: int) -> list[TariffOption]:
        self.lookups.append(description)
        words = set(description.lower().split())
        ranked = sorted(
            self.headings.items(),
            key=lambda kv: -len(words & set(kv[1].lower().split())),
        )
        return [TariffOption(code=c, title=t, score=1.0) for c, t in ranked[:top_k]]


TARIFF = DictTariff(
    {
        "731815": "screws and bolts of iron or steel",
        "731816": "nuts of iron or steel",
        "847130": "portable computers",
        "940360": "wooden furniture",
    }
)
