"""The analytics pages in real headless Chromium (Debian's `chromium`, driven by Playwright): the charts are
drawn, their numbers are one click away, and nothing breaks the Content-Security-Policy."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_browser import base_url, browser  # noqa: F401 - fixtures shared with test_browser
from tests.e2e.test_browser import sign_in as sign_in_at

Q1 = "as_of=2025-04-01&period=2025-Q1"
FIRST_LOAD_MS = 180_000  # the first request computes every KPI of the period (cached afterwards)


@pytest.fixture
def page(browser, base_url: str) -> Iterator[Page]:  # type: ignore[no-untyped-def]  # noqa: F811
    """A page that records every console error, page error and CSP violation it meets."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(FIRST_LOAD_MS)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.problems = problems  # type: ignore[attr-defined]
    yield page
    context.close()


def sign_in(page: Page, username: str, path: str) -> None:
    """Sign in on the home page, then open `path` (the sign-in redirect keeps no query string)."""
    sign_in_at(page, username, "/")
    page.goto(path)


def problems_of(page: Page) -> list[str]:
    found: list[str] = page.problems  # type: ignore[attr-defined]
    return found


def test_the_dashboard_draws_every_chart_and_shows_its_numbers_on_demand(page: Page) -> None:
    sign_in(page, "manager", f"/dashboards?{Q1}")
    expect(page.locator("h1")).to_contain_text("East team")
    charts = page.locator("[data-analytics-chart]")
    assert charts.count() >= 6
    for index in range(charts.count()):
        chart = charts.nth(index)
        expect(chart).to_have_attribute("data-chart-ready", "1")
        expect(chart.locator("canvas")).to_have_count(1)

    funnel = page.locator("#panel-funnel")
    table = funnel.locator("table[data-table=funnel]")
    expect(table).to_be_hidden()  # one click away, not in the way
    funnel.locator("details.numbers > summary").click()
    expect(table).to_be_visible()
    # deals created in Q1 in the East team: O1 (won), O2 (lost in Discovery), O3 (in Proposal)
    expect(table.locator("tbody tr").first).to_contain_text("Prospecting")
    expect(table.locator("tbody tr").first.locator("td").first).to_have_text("3")
    csv_link = funnel.locator("a[data-download=csv]")
    expect(csv_link).to_have_attribute("href", re.compile(r"format=csv&table=funnel"))
    assert problems_of(page) == []


def test_a_click_drills_down_and_the_period_picker_changes_the_period(page: Page) -> None:
    sign_in(page, "manager", f"/dashboards?{Q1}")
    page.locator("nav.drill a[data-subject='P-AE1']").click()
    expect(page).to_have_url(
        re.compile(r"/dashboards/P-AE1\?as_of=2025-04-01&period=2025-Q1$"), timeout=60_000
    )
    expect(page.locator("h1")).to_contain_text("Alex Kim")
    expect(page.locator("#panel-results_trend [data-analytics-chart] canvas")).to_have_count(1)
    expect(page.locator(".breadcrumbs")).to_contain_text("East team")

    page.select_option("#period", "2024-Q4")  # the picker submits itself on change
    # a period not yet in the KPI cache is computed on this request: allow for a busy machine
    expect(page).to_have_url(
        re.compile(r"/dashboards/P-AE1\?as_of=2025-04-01&period=2024-Q4$"), timeout=60_000
    )
    expect(page.locator(".page-head")).to_contain_text("2024-Q4")
    expect(page.locator("#panel-results_trend [data-analytics-chart] canvas")).to_have_count(1)
    assert problems_of(page) == []


def test_the_scorecard_draws_a_sparkline_per_line(page: Page) -> None:
    sign_in(page, "rep", f"/scorecards?{Q1}")
    expect(page.locator("h1")).to_contain_text("Alex Kim")
    sparks = page.locator(".spark[data-analytics-chart]")
    assert sparks.count() >= 3
    expect(sparks.first.locator("canvas")).to_have_count(1)
    expect(page.locator("[data-lines=results] tr[data-item=new_business]")).to_contain_text("behind")
    assert problems_of(page) == []
