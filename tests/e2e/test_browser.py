"""The web app in real headless Chromium (Debian's `chromium`, driven by Playwright) against a real server."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

PASSWORD = "correct horse battery"  # every user's password in the `web` fixture (tests/e2e/conftest.py)
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def base_url(web: Any) -> Iterator[str]:
    """A real uvicorn server on a free loopback port, in a background thread, serving the `web` fixture's app
    (a SQLite store made by `build_store`: the small company and a user per role)."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(web.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "the web server stopped while starting"
        assert time.monotonic() < deadline, "the web server did not start in time"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def sign_in(page: Page, username: str, path: str = "/") -> None:
    page.goto(path)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))


def test_manager_drills_down_the_org_to_a_person_and_signs_out(page: Page) -> None:
    sign_in(page, "manager", "/org")
    view = page.locator("#org-view")
    expect(view.locator("h1")).to_contain_text("Acme Sales")
    expect(view.locator("[data-chart] canvas").first).to_be_visible()  # ECharts drew the head-count chart
    page.evaluate("window.__same_document = true")  # survives HTMX swaps, not full page loads

    view.locator("a[data-unit='R-AMER']").first.click()
    expect(page).to_have_url(re.compile(r"/org/R-AMER$"))
    expect(view.locator("h1")).to_contain_text("Americas")
    expect(view.locator(".breadcrumbs")).to_contain_text("Acme Sales")
    expect(view.locator("[data-chart] canvas").first).to_be_visible()
    page.go_back()  # HTMX restores the company from its history cache and the chart is drawn again
    expect(page).to_have_url(re.compile(r"/org$"))
    expect(view.locator("h1")).to_contain_text("Acme Sales")
    expect(view.locator("[data-chart] canvas").first).to_be_visible()
    page.go_forward()
    expect(view.locator("h1")).to_contain_text("Americas")

    view.locator("a[data-unit='T-EAST']").first.click()
    expect(page).to_have_url(re.compile(r"/org/T-EAST$"))
    expect(view.locator("h1")).to_contain_text("East team")
    people = view.locator("table.people")
    expect(people).to_contain_text("Alex Kim")
    expect(people).to_contain_text("Jo Müller")
    expect(people).not_to_contain_text("Sam Lee")
    assert page.evaluate("window.__same_document === true"), (
        "the drill-down reloaded the page instead of swapping"
    )

    people.locator("a[data-person='P-AE1']").click()
    expect(page).to_have_url(re.compile(r"/people/P-AE1$"))
    expect(page.locator("h1")).to_have_text("Alex Kim")
    history = page.locator("table.history")
    expect(history).to_contain_text("East team")
    expect(history).to_contain_text("Maria Garcia")
    expect(history).to_contain_text("2021-03-01")

    page.click("button:has-text('Sign out')")
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto("/org")
    expect(page).to_have_url(re.compile(r"/login\?next=/org$"))


def test_the_as_of_picker_shows_the_team_on_an_earlier_day(page: Page) -> None:
    sign_in(page, "manager", "/org/T-EAST")
    expect(page.locator("table.people")).to_contain_text("Jo Müller")
    page.fill("#as-of", "2023-01-01")  # before Jo Müller joined on 2024-07-15; the form submits on change
    expect(page).to_have_url(re.compile(r"/org/T-EAST\?as_of=2023-01-01$"))
    expect(page.locator("table.people")).to_contain_text("Alex Kim")
    expect(page.locator("table.people")).not_to_contain_text("Jo Müller")


def test_a_post_without_the_csrf_token_is_refused(page: Page) -> None:
    sign_in(page, "rep", "/account")
    refused = page.request.post("/account/tokens", form={"name": "no token"})
    assert refused.status == 403
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert token
    accepted = page.request.post("/account/tokens", form={"name": "with token", "csrf_token": token})
    assert accepted.status == 200
    assert "with token" in accepted.text()
    assert "no token" not in accepted.text()
