"""Records and review on SQLite and PostgreSQL: filters, pagination, provenance, and
corrections that keep the original beside the correction, with who and when."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api import create_app
from core.auth import create_key
from core.db import session_scope
from core.models import Document, Record, Role
from core.settings import Settings
from tests.service_harness import auth

JAN = datetime(2026, 1, 15, tzinfo=UTC)
MAR = datetime(2026, 3, 15, tzinfo=UTC)


def _seed(url: str) -> dict[str, int]:
    """Three records as the pipeline writes them (values data, provenance, issues)."""
    rows = [
        (
            "inv",
            "commercial_invoice",
            "extracted",
            JAN,
            {"invoice_number": "INV-100", "seller": {"name": "Hanse Export GmbH"}, "total": 500.0},
        ),
        (
            "bl",
            "bill_of_lading",
            "needs_review",
            MAR,
            {
                "bl_number": "MSCU-BL-777",
                "shipper": {"name": "Hanse Export GmbH"},
                "containers": [{"number": "MSCU1234565"}],
            },
        ),
        (
            "pl",
            "packing_list",
            "needs_review",
            MAR,
            {
                "packing_list_number": "PL-9",
                "line_items": [{"description": "bolts", "package_count": 10}],
            },
        ),
    ]
    ids: dict[str, int] = {}
    with session_scope(url) as session:
        for name, doc_type, status, when, data in rows:
            doc = Document(
                sha256=hashlib.sha256(name.encode()).hexdigest(),
                filename=f"{name}.pdf",
                size_bytes=100,
                status=status,
                created_at=when,
            )
            session.add(doc)
            session.flush()
            record = Record(
                document_id=doc.id,
                page_first=1,
                page_last=1,
                doc_type=doc_type,
                schema_version="1.0",
                data=data,
                status=status,
                issues=[{"code": "required_missing", "field": "x", "message": "x is empty"}]
                if status == "needs_review"
                else [],
                provenance={"seller.name": {"page": 1, "source_text": "Hanse Export GmbH"}},
                confidence={"seller.name": 0.9},
                created_at=when,
            )
            session.add(record)
            session.flush()
            ids[name] = record.id
    return ids


@pytest.fixture
def setup(tmp_path: Path, db_url: str) -> Iterator[tuple[TestClient, dict[str, int], str, str]]:
    settings = Settings(environment="test", var_dir=tmp_path / "var", database_url=db_url)
    ids = _seed(db_url)
    operator = create_key(db_url, Role.OPERATOR, "olga").token
    viewer = create_key(db_url, Role.VIEWER, "vic").token
    with TestClient(create_app(settings)) as client:
        yield client, ids, operator, viewer


def _ids(client: TestClient, token: str, **params: Any) -> list[int]:
    response = client.get("/v1/records", params=params, headers=auth(token))
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["items"]]


def test_filters_search_and_pagination(setup: tuple[TestClient, dict[str, int], str, str]) -> None:
    client, ids, _, viewer = setup
    assert _ids(client, viewer) == [ids["pl"], ids["bl"], ids["inv"]]  # newest first
    assert _ids(client, viewer, doc_type="bill_of_lading") == [ids["bl"]]
    assert _ids(client, viewer, status="needs_review") == [ids["pl"], ids["bl"]]
    assert _ids(client, viewer, q="inv-100") == [ids["inv"]]
    assert _ids(client, viewer, q="MSCU1234565") == [ids["bl"]]
    assert _ids(client, viewer, q="hanse export") == [ids["bl"], ids["inv"]]
    assert _ids(client, viewer, q="100%") == []  # LIKE wildcards are literal
    feb = (JAN + timedelta(days=20)).isoformat()
    assert _ids(client, viewer, created_to=feb) == [ids["inv"]]
    assert _ids(client, viewer, created_from=feb) == [ids["pl"], ids["bl"]]
    # A bound with an offset is that instant: 01:00+02:00 on the 15th is 23:00 UTC on the
    # 14th, before the invoice's 00:00 UTC (the wall-clock 01:00 would put it after).
    east = datetime(2026, 1, 15, 1, tzinfo=timezone(timedelta(hours=2))).isoformat()
    assert _ids(client, viewer, created_from=east) == [ids["pl"], ids["bl"], ids["inv"]]
    assert _ids(client, viewer, created_to=east) == []
    page = client.get("/v1/records", params={"limit": 2, "offset": 2}, headers=auth(viewer))
    assert page.json()["total"] == 3 and [r["id"] for r in page.json()["items"]] == [ids["inv"]]
    bad = client.get("/v1/records", params={"limit": 0}, headers=auth(viewer))
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"


def test_a_record_carries_provenance_confidence_and_issues(
    setup: tuple[TestClient, dict[str, int], str, str],
) -> None:
    client, ids, _, viewer = setup
    record = client.get(f"/v1/records/{ids['inv']}", headers=auth(viewer)).json()
    assert record["provenance"]["seller.name"]["page"] == 1
    assert record["confidence"]["seller.name"] == 0.9
    assert record["review_state"] == "unreviewed" and record["reviews"] == []
    assert record["corrected_data"] == record["data"]


def test_correction_keeps_original_and_correction_with_who_and_when(
    setup: tuple[TestClient, dict[str, int], str, str],
) -> None:
    client, ids, operator, viewer = setup
    path = f"/v1/records/{ids['bl']}/review"
    first = client.post(
        path,
        json={
            "action": "correct",
            "fields": {
                "shipper.name": "Hanse Export GmbH & Co. KG",
                "containers[0].number": "MSCU1234566",
            },
            "comment": "typo on the B/L",
        },
        headers=auth(operator),
    )
    assert first.status_code == 200, first.text
    second = client.post(
        path,
        json={"action": "correct", "fields": {"shipper.name": "Hanse Export KG"}},
        headers=auth(operator),
    )
    record = second.json()
    assert record["data"]["shipper"]["name"] == "Hanse Export GmbH"  # extraction untouched
    assert record["corrected_data"]["shipper"]["name"] == "Hanse Export KG"
    assert record["corrected_data"]["containers"][0]["number"] == "MSCU1234566"
    assert record["review_state"] == "corrected"
    one, two = record["reviews"]
    assert one["original"] == {
        "shipper.name": "Hanse Export GmbH",
        "containers[0].number": "MSCU1234565",
    }
    assert one["comment"] == "typo on the B/L" and one["reviewer"].startswith("olga")
    assert two["original"] == {"shipper.name": "Hanse Export GmbH & Co. KG"}
    assert two["corrected"] == {"shipper.name": "Hanse Export KG"}
    when = datetime.fromisoformat(two["created_at"])
    assert abs(datetime.now(UTC) - when.replace(tzinfo=when.tzinfo or UTC)) < timedelta(minutes=5)
    assert client.get(f"/v1/records/{ids['bl']}", headers=auth(viewer)).json() == record


def test_review_queue_holds_unreviewed_needs_review_records(
    setup: tuple[TestClient, dict[str, int], str, str],
) -> None:
    client, ids, operator, viewer = setup
    queue = client.get("/v1/review-queue", headers=auth(viewer)).json()
    assert [r["id"] for r in queue["items"]] == [ids["bl"], ids["pl"]]  # oldest first
    approved = client.post(
        f"/v1/records/{ids['pl']}/review", json={"action": "approve"}, headers=auth(operator)
    )
    assert approved.json()["review_state"] == "approved"
    queue = client.get("/v1/review-queue", headers=auth(viewer)).json()
    assert [r["id"] for r in queue["items"]] == [ids["bl"]] and queue["total"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {"action": "correct", "fields": {}},
        {"action": "approve", "fields": {"total": 1}},
        {"action": "correct", "fields": {"Total; DROP": 1}},
        {"action": "reject"},
    ],
)
def test_bad_reviews_are_refused(
    setup: tuple[TestClient, dict[str, int], str, str], body: dict[str, Any]
) -> None:
    client, ids, operator, viewer = setup
    response = client.post(f"/v1/records/{ids['inv']}/review", json=body, headers=auth(operator))
    assert response.status_code == 422 and "error" in response.json()
    record = client.get(f"/v1/records/{ids['inv']}", headers=auth(viewer)).json()
    assert record["reviews"] == []
