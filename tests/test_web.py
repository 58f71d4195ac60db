"""The operators' web app in a real browser (Debian's Chromium through Playwright)
against ``shipdoc serve`` on a test database whose records the pipeline extracted.

Each page is screenshot at 1280x800 and 390 px wide (var/screenshots) and checked with
axe-core: no serious or critical violation.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from core import migrate
from core.auth import create_key
from core.models import Role
from core.settings import Settings
from kb.index import close_local_clients
from kb.ingest import ingest
from tests.sim_model_server import MISREAD_BUYER, SimServer
from tests.web_harness import (
    Server,
    Site,
    browsers,
    invoice,
    look,
    sign_in,
    upload_and_wait,
)

pytestmark = pytest.mark.slow

HOLD = """# Procedure: customs hold

## When a container is held

Keep the container in the bonded area. Notify the customs broker within 2 hours and
send the commercial invoice and packing list. Do not release cargo before the hold is lifted.
"""
QUESTION = "What do we do when customs holds a container?"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("web")
    docs = root / "docs"
    docs.mkdir()
    (docs / "procedure-customs-hold.md").write_text(HOLD)
    with SimServer() as sim:
        settings = Settings(
            environment="test",
            var_dir=root / "var",
            model={"backend": "openai", "base_url": sim.url, "name": "sim", "retries": 0},
            kb={"docs_dir": docs, "qdrant_path": root / "qdrant"},
        )
        migrate.upgrade(settings.database_url)
        ingest(settings, "docs")
        close_local_clients()  # Qdrant local mode: one process at a time holds the path
        keys = {
            role.value: create_key(settings.database_url, role, f"{role.value}-tester").token
            for role in Role
        }
        keys["operator2"] = create_key(settings.database_url, Role.OPERATOR, "second").token
        server = Server(settings, root / "serve.log")
        try:
            server.wait_ready()
            site = Site(url=server.url, settings=settings, keys=keys, sim=sim)
            outcomes: dict[str, list[int]] = {}
            for number in ("INV-7001", "INV-7002", "INV-7101R", "INV-7102R", "INV-7103R"):
                doc = upload_and_wait(site, f"{number}.pdf", invoice(number))
                outcomes.setdefault(doc["status"], []).extend(doc["record_ids"])
            site.records = outcomes
            assert len(outcomes.get("needs_review", [])) >= 3, outcomes
            assert outcomes.get("extracted"), outcomes
            yield site
        finally:
            server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from browsers()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    context.set_default_timeout(20_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_sign_in_filter_the_dashboard_and_export_csv(site: Site, page: Page) -> None:
    page.goto(site.url + "/")
    expect(page).to_have_url(re.compile(r"/signin\?next="))
    look(page, "signin")
    page.get_by_label("API key").fill("sdk_not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not accepted")
    sign_in(page, site, "operator")
    cookie = next(c for c in page.context.cookies() if c["name"] == "shipdoc_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    waiting = len(site.records["needs_review"])
    expect(page.locator('[data-stat="backlog"]')).to_have_text(str(waiting))
    expect(page.locator('[data-stat="today.records"]')).to_have_text(
        str(sum(len(v) for v in site.records.values()))
    )
    look(page, "dashboard")

    page.get_by_label("Status").select_option("needs_review")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#total")).to_have_text(f"{waiting} records")
    rows = page.locator("table.records tbody tr")
    expect(rows).to_have_count(waiting)
    page.get_by_label("Reference or text").fill("INV-7102R")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("INV-7102R")
    page.get_by_label("Reference or text").fill("")
    page.get_by_role("button", name="Filter").click()
    # sorted by record id, ascending then descending
    page.get_by_role("link", name="Record", exact=True).click()
    ids = [int(t.strip("#")) for t in rows.locator("td:first-child").all_inner_texts()]
    assert ids == sorted(ids) and len(ids) == waiting
    page.get_by_role("link", name="Record", exact=True).click()
    ids = [int(t.strip("#")) for t in rows.locator("td:first-child").all_inner_texts()]
    assert ids == sorted(ids, reverse=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert sorted(int(r["record_id"]) for r in exported) == sorted(site.records["needs_review"])
    assert {r["status"] for r in exported} == {"needs_review"}

    page.get_by_label("Reference or text").fill("no-such-reference-anywhere")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No records match this filter")).to_be_visible()


def test_the_dashboard_follows_new_records_without_a_reload(site: Site, page: Page) -> None:
    sign_in(page, site, "viewer")
    tile = page.locator('[data-stat="week.documents"]')
    before = int(tile.inner_text())
    page.evaluate("window.__same_document = true")
    upload_and_wait(site, "INV-7201.pdf", invoice("INV-7201"))
    expect(tile).to_have_text(str(before + 1), timeout=15_000)
    assert page.evaluate("window.__same_document") is True  # no full reload


def test_a_record_shows_its_page_with_linked_boxes_and_its_run(site: Site, page: Page) -> None:
    record_id = site.records["extracted"][0]
    sign_in(page, site, "viewer", f"/records/{record_id}")
    image = page.locator(".pageimg img").first
    expect(image).to_be_visible()
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    boxes = page.locator(".pageimg rect")
    assert boxes.count() >= 5
    row = page.locator('tr[data-path="invoice_number"]')
    box = page.locator('rect[data-path="invoice_number"]')
    row.hover()
    expect(box).to_have_class(re.compile(r"\bactive\b"))
    page.mouse.move(0, 0)
    expect(box).not_to_have_class(re.compile(r"\bactive\b"))
    box.focus()
    expect(row).to_have_class(re.compile(r"\bactive\b"))
    expect(row.locator(".conf")).to_contain_text("%")
    look(page, "record")

    needs = site.records["needs_review"][-1]
    page.goto(f"{site.url}/records/{needs}")
    expect(page.locator("tr.low").first).to_be_visible()  # the misread buyer
    page.get_by_role("link", name="Run details").click()
    expect(page.get_by_role("heading", name=re.compile(r"Agent run \d+"))).to_be_visible()
    expect(page.locator("table.compact")).to_contain_text("requests")
    look(page, "run")


def test_correct_a_field_with_the_keyboard_and_approve(site: Site, page: Page) -> None:
    sign_in(page, site, "operator", "/review")
    expect(page).to_have_url(re.compile(r"/review/\d+$"))
    record_id = int(page.url.rsplit("/", 1)[1])
    assert record_id == min(site.records["needs_review"])  # oldest first
    look(page, "review")
    rows = page.locator("tr[data-path]")
    paths = rows.evaluate_all("(rs) => rs.map((r) => r.dataset.path)")
    target = paths.index("buyer.name")
    page.keyboard.press("j")
    page.keyboard.press("k")
    for _ in range(target):
        page.keyboard.press("j")
    expect(rows.nth(target)).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Control+a")
    page.keyboard.type("Rotterdam Trading BV")
    page.keyboard.press("Enter")
    expect(page.locator("#pending")).to_contain_text("1 correction")
    page.keyboard.press("a")
    expect(page.locator("#review-status")).to_contain_text("Corrected and approved")

    record = site.api("GET", f"/v1/records/{record_id}").json()
    [review] = record["reviews"]
    assert review["corrected"] == {"buyer.name": "Rotterdam Trading BV"}
    assert review["original"] == {"buyer.name": MISREAD_BUYER}
    assert review["reviewer"].startswith("operator-tester")
    assert record["review_state"] == "corrected"

    page.keyboard.press("n")
    expect(page).to_have_url(re.compile(r"/review/\d+$"))
    assert int(page.url.rsplit("/", 1)[1]) != record_id
    page.goto(site.url + "/")
    expect(page.locator('[data-stat="backlog"]')).to_have_text(
        str(len(site.records["needs_review"]) - 1)
    )


def test_the_second_of_two_reviewers_is_refused(site: Site, browser: Browser) -> None:
    record_id = max(site.records["needs_review"])
    pages = []
    for key in ("operator", "operator2"):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        p = context.new_page()
        sign_in(p, site, key, f"/review/{record_id}")
        pages.append(p)
    first, second = pages
    first.keyboard.press("a")
    expect(first.locator("#review-status")).to_contain_text("Approved")
    second.keyboard.press("a")
    expect(second.locator("#review-error")).to_contain_text("Not saved")
    expect(second.locator("#review-error")).to_contain_text("operator-tester")
    look(second, "review-conflict")
    [review] = site.api("GET", f"/v1/records/{record_id}").json()["reviews"]
    assert review["reviewer"].startswith("operator-tester")
    for p in pages:
        p.context.close()


def test_upload_three_files_one_bad_and_a_duplicate(site: Site, page: Page, tmp_path: Path) -> None:
    sign_in(page, site, "uploader", "/upload")
    look(page, "upload-empty")
    files = []
    for name, data in (
        ("INV-7301.pdf", invoice("INV-7301")),
        ("INV-7302R.pdf", invoice("INV-7302R")),
        ("notes.txt", b"this is not a shipment document\n"),
    ):
        (tmp_path / name).write_bytes(data)
        files.append(str(tmp_path / name))
    page.locator("#files").set_input_files(files)
    items = page.locator("#uploads li")
    expect(items).to_have_count(3)
    done = page.locator("#uploads li[data-outcome]")
    expect(done).to_have_count(3, timeout=120_000)
    outcomes = {
        li.locator(".name").inner_text(): li.get_attribute("data-outcome") for li in done.all()
    }
    assert outcomes == {
        "INV-7301.pdf": "extracted",
        "INV-7302R.pdf": "needs_review",
        "notes.txt": "rejected",
    }
    bad = page.locator("#uploads li", has_text="notes.txt")
    expect(bad.locator(".detail")).to_contain_text("notes.txt")
    expect(page.locator("#uploads li", has_text="INV-7301.pdf").get_by_role("link")).to_have_text(
        re.compile(r"record #\d+")
    )
    # the same bytes dropped again: a duplicate, linked to the document already stored
    page.evaluate(
        """async (url) => {
            const bytes = await (await fetch(url)).blob();
            const data = new DataTransfer();
            data.items.add(new File([bytes], "again.pdf", {type: "application/pdf"}));
            const drop = document.getElementById("drop");
            drop.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true}));
        }""",
        site.url + "/v1/documents/1/file",
    )
    again = page.locator("#uploads li", has_text="again.pdf")
    expect(again).to_have_attribute("data-outcome", "duplicate")
    expect(again.get_by_role("link", name="document #1")).to_be_visible()
    look(page, "upload")


def test_chat_streams_tokens_and_its_citation_opens(site: Site, page: Page) -> None:
    httpx.post(site.sim.base + "/control", json={"token_delay": 0.25})
    try:
        sign_in(page, site, "operator", "/chat")
        look(page, "chat-empty")
        page.get_by_label("Your question").fill(QUESTION)
        page.get_by_role("button", name="Ask").click()
        answer = page.locator(".turn.assistant").last
        # tokens arrive while the answer is still being written
        expect(answer).to_have_attribute("data-deltas", re.compile(r"^[1-3]$"))
        assert answer.get_attribute("data-done") is None
        expect(answer).to_have_attribute("data-done", "true", timeout=30_000)
        assert int(answer.get_attribute("data-deltas") or 0) >= 4
    finally:
        httpx.post(site.sim.base + "/control", json={"token_delay": 0.0})
    expect(page).to_have_url(re.compile(r"/chat/[0-9a-f]+$"))
    look(page, "chat")
    conversation = page.url.rsplit("/", 1)[1]
    page.locator(".turn.assistant a.cite").first.click()
    expect(page.locator(".source-text")).to_contain_text("Notify the customs broker")
    look(page, "chat-source")

    # the conversation belongs to the operator's key: another key cannot read it
    assert site.api("GET", f"/v1/chat/{conversation}", "operator").status_code == 200
    other = site.api("GET", f"/v1/chat/{conversation}", "admin")
    assert other.status_code == 404
    continued = site.api(
        "POST", "/v1/chat", "admin", json={"question": "and?", "conversation_id": conversation}
    )
    assert continued.status_code == 404
    page.goto(site.url + "/signin")
    sign_in(page, site, "admin", f"/chat/{conversation}")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()


def test_a_model_that_is_down_is_said_so_and_the_page_keeps_working(site: Site, page: Page) -> None:
    httpx.post(site.sim.base + "/control", json={"fail_count": -1, "fail_status": 503})
    try:
        sign_in(page, site, "operator", "/chat")
        page.get_by_label("Your question").fill(QUESTION)
        page.get_by_role("button", name="Ask").click()
        expect(page.locator("#chat-error")).to_contain_text("not reachable")
        expect(page.get_by_role("button", name="Ask")).to_be_enabled()
        look(page, "chat-model-down")
    finally:
        httpx.post(site.sim.base + "/control", json={"fail_count": 0})


def test_a_viewer_key_cannot_reach_the_review_queue(site: Site, page: Page) -> None:
    sign_in(page, site, "viewer")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Review")).to_have_count(0)
    response = page.goto(site.url + "/review")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Not for your role")).to_be_visible()
    look(page, "forbidden")
    record_id = site.records["needs_review"][0]
    refused = page.request.post(
        f"{site.url}/v1/records/{record_id}/review",
        data={"action": "approve"},
        headers={
            "X-CSRF-Token": page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
        },
    )
    assert refused.status == 403 and refused.json()["error"]["code"] == "forbidden"


def test_a_form_posted_without_its_csrf_token_is_refused(site: Site, page: Page) -> None:
    sign_in(page, site, "operator")
    signout = page.request.post(site.url + "/signout", form={"csrf": ""})
    assert signout.status == 403
    record_id = site.records["needs_review"][1]
    review = page.request.post(
        f"{site.url}/v1/records/{record_id}/review", data={"action": "approve"}
    )
    assert review.status == 403 and review.json()["error"]["code"] == "csrf_failed"
    signin = page.request.post(
        site.url + "/signin", form={"api_key": site.keys["operator"], "csrf": "forged"}
    )
    assert signin.status == 403
    page.goto(site.url + "/")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()  # still signed in
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/signin$"))


def test_an_expired_session_and_a_missing_page_are_explained(site: Site, page: Page) -> None:
    page.context.add_cookies(
        [{"name": "shipdoc_session", "value": "expired-or-forged", "url": site.url}]
    )
    page.goto(site.url + "/review")
    expect(page).to_have_url(re.compile(r"/signin\?next=%2Freview&expired=1"))
    expect(page.get_by_role("status")).to_contain_text("Your session has expired")
    look(page, "session-expired")
    sign_in(page, site, "viewer", "/no-such-page")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    look(page, "not-found")
    missing = page.goto(site.url + "/records/999999")
    assert missing is not None and missing.status == 404
    assert httpx.get(site.url + "/v1/nothing").json()["error"]["code"] == "not_found"
