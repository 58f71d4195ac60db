"""The web tests' site: ``shipdoc serve`` on a test database with real records (extracted
by the pipeline from the simulated model), and Chromium driven by Playwright.

Chromium is Debian's (``/usr/bin/chromium``, installed by ``make install``), never a
browser that Playwright downloads; each test gets a fresh browser context, and the
browser itself runs on a fresh temporary profile.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from core.settings import Settings
from tests.service_harness import ROOT, auth, free_port, service_env, wait_for
from tests.sim_model_server import invoice_pdf

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Kept by CI (var/ is the run's output folder); committed copies live in docs/screenshots.
SCREENSHOTS = ROOT / "var" / "screenshots"
SIZES = {"1280": (1280, 800), "390": (390, 844)}
FINAL = {"extracted", "needs_review", "rejected", "failed"}


@dataclass
class Site:
    url: str
    settings: Settings
    keys: dict[str, str]
    records: dict[str, list[int]] = field(default_factory=dict)
    sim: Any = None

    def api(self, method: str, path: str, key: str = "admin", **kw: Any) -> httpx.Response:
        return httpx.request(
            method, self.url + path, headers=auth(self.keys[key]), timeout=60, **kw
        )


def invoice(number: str) -> bytes:
    """An invoice the simulated model reads; for a number ending in R it misreads the
    buyer, so the record needs review."""
    return invoice_pdf(number)


class Server:
    """``python -m app.cli serve`` in its own process with the test's settings."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("ab")
        self.log_path = log
        env = service_env(settings)
        env.setdefault("OMP_THREAD_LIMIT", "1")
        command = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1"]
        self.proc = subprocess.Popen(
            [*command, "--port", str(self.port), "--log-level", "warning"],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self) -> None:
        def up() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError("serve exited:\n" + self.log_path.read_text())
            try:
                return httpx.get(self.url + "/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, 90, "shipdoc serve to answer", 0.3)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self._log.close()


def upload_and_wait(site: Site, name: str, data: bytes) -> dict[str, Any]:
    response = site.api("POST", "/v1/documents", "uploader", files={"files": (name, data)})
    assert response.status_code in (200, 202), response.text
    doc_id = response.json()["documents"][0]["document_id"]

    def final() -> dict[str, Any] | None:
        doc: dict[str, Any] = site.api("GET", f"/v1/documents/{doc_id}").json()
        return doc if doc["status"] in FINAL else None

    return wait_for(final, 180, f"{name} to be processed", 0.5)


def launch(playwright: Any) -> Browser:
    browser: Browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    return browser


def browsers() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page: Page, site: Site, role: str, next_path: str = "/") -> None:
    page.goto(f"{site.url}/signin?next={next_path}")
    page.get_by_label("API key").fill(site.keys[role])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/signin" not in url)


_axe = Axe()


def look(page: Page, name: str, *, check_a11y: bool = True) -> None:
    """Screenshots of the current page at 1280x800 and 390 px wide, and axe-core's check:
    no serious or critical accessibility violation."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size
    for label, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(150)  # a layout pass after the resize
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"))
        if check_a11y:
            results = _axe.run(page)
            bad = [
                f"{v['id']} ({v['impact']}): {v['help']} at "
                + ", ".join(str(n["target"]) for n in v["nodes"][:3])
                for v in results.response["violations"]
                if v.get("impact") in ("serious", "critical")
            ]
            assert not bad, f"{name} at {label} px: " + "; ".join(bad)
    if original:
        page.set_viewport_size(original)
