"""The payouts and calc-runs API and the pay page, as each role sees them.

The small company with examples/plans/ae_2025_v1.yaml for P-AE1 and P-AE2 (60,000 a year), run for
2025-03 through `POST /calc-runs`. Worked in tests/e2e/test_calc_cli.py: P-AE1's bookings commission is
4,032.70 (82,307.77125 credited, 54.87 % of 150,000, marginal tiers) and P-AE2's 2,160.00 (48 % of
100,000 at 4.5 %); each also has a 0.00 new-logo SPIF line. P-MGR manages both; P-SE is in nobody's team.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from openspm.domain.periods import PeriodStatus
from openspm.services import company, plans
from openspm.store.db import make_engine
from tests.e2e.conftest import Web

V1 = Path(__file__).parent.parent.parent / "examples" / "plans" / "ae_2025_v1.yaml"


@pytest.fixture(scope="module")
def paid(web: Web) -> dict[str, Any]:
    engine = make_engine(web.url)
    with engine.begin() as conn:
        plans.publish_plan(conn, V1.read_text(), actor="revops")
        for person in ("P-AE1", "P-AE2"):
            assignment = plans.Assignment(
                person, "account_executive", 1, date(2025, 1, 1), date(2025, 7, 1), Decimal(60000), "USD"
            )
            plans.assign_plan(conn, assignment, actor="revops")
    engine.dispose()
    response = web.client("revops").post("/api/v1/calc-runs", json={"period": "2025-03"})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def commission(items: list[dict[str, Any]]) -> dict[str, str]:
    return {x["person_id"]: x["amount"] for x in items if x["component"] == "bookings_commission"}


def test_a_run_is_recorded_and_summarised(paid: dict[str, Any]) -> None:
    assert (paid["run_id"], paid["period"], paid["payees"], paid["lines"], paid["deltas"]) == (
        1,
        "2025-03",
        2,
        4,
        0,
    )
    assert paid["totals"] == {"USD": "6192.70"}  # 4,032.70 + 2,160.00
    assert paid["status"] == "calculated" and paid["dry_run"] is False
    assert len(paid["outputs_fingerprint"]) == 64


def test_a_dry_run_gives_the_same_fingerprint_and_records_nothing(web: Web, paid: dict[str, Any]) -> None:
    dry = web.client("admin").post("/api/v1/calc-runs", json={"period": "2025-03", "dry_run": True}).json()
    assert dry["run_id"] is None
    assert dry["outputs_fingerprint"] == paid["outputs_fingerprint"]
    assert web.client("finance").get("/api/v1/calc-runs").json()["total"] == 1


def test_a_run_of_what_changed_recomputes_nobody_after_nothing_changed(
    web: Web, paid: dict[str, Any]
) -> None:
    client = web.client("revops")
    body = {"period": "2025-03", "changed": True, "dry_run": True}
    dry = client.post("/api/v1/calc-runs", json=body).json()
    assert (
        dry["payees"] == 0 and dry["selection"] == f"0 people affected by changes since run #{paid['run_id']}"
    )
    both = client.post("/api/v1/calc-runs", json=body | {"person_ids": ["P-AE1"]})
    assert both.status_code == 422 and "cannot be combined" in both.text
    assert web.client("finance").get("/api/v1/calc-runs").json()["total"] == 1


def test_each_role_sees_the_pay_in_their_scope(web: Web, paid: dict[str, Any]) -> None:
    expected = {
        "rep": {"P-AE1": "4032.70"},
        "rep2": {"P-AE2": "2160.00"},
        "manager": {"P-AE1": "4032.70", "P-AE2": "2160.00"},
        "finance": {"P-AE1": "4032.70", "P-AE2": "2160.00"},
    }
    for user, pay in expected.items():
        page = web.client(user).get("/api/v1/payouts", params={"period": "2025-03"}).json()
        assert commission(page["items"]) == pay, user
    line = web.client("rep").get("/api/v1/payouts", params={"person_id": "P-AE1"}).json()["items"][0]
    assert {"person_id", "period", "component", "amount", "currency", "explanation"} <= set(line)
    assert web.client("rep").get("/api/v1/payouts", params={"person_id": "P-AE2"}).json()["items"] == []


def test_pay_follows_the_reporting_line_of_its_period_not_the_viewed_date(
    web: Web, paid: dict[str, Any]
) -> None:
    """P-AE2 joined P-MGR's team on 2024-07-15. Viewed "as of" 2024-01-01 (before that), the manager still
    sees P-AE2's 2025-03 pay, because pay follows the reporting line on the first day of its own period;
    choosing an earlier or later viewing date can neither hide nor reveal another manager's months."""
    manager = web.client("manager")
    page = manager.get("/api/v1/payouts", params={"period": "2025-03", "as_of": "2024-01-01"}).json()
    assert commission(page["items"]) == {"P-AE1": "4032.70", "P-AE2": "2160.00"}
    run = manager.get("/api/v1/calc-runs/1", params={"as_of": "2024-01-01"}).json()
    assert (run["payees"], run["lines"]) == (2, 4)
    assert "payees" not in run["options"]  # whom a run was asked for is not shown to scoped viewers


def test_the_explanation_traces_the_pay_to_its_transactions(web: Web, paid: dict[str, Any]) -> None:
    response = web.client("manager").get("/api/v1/payouts/P-AE1/2025-03/explanation")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["totals"] == {"USD": "4032.70"} and body["reproduced"] is True
    line = next(x for x in body["lines"] if x["line"]["component"] == "bookings_commission")
    assert [(c["source_id"], c["rule"], c["value"]) for c in line["credits"]] == [
        ("TX1", "revenue_split", "72000"),
        ("TX3", "owner", "10307.77125"),
    ]
    steps = {s["label"]: s["value"] for s in line["steps"]}
    assert steps["quota"] == "150000" and steps["attainment %"] == "54.8718475"
    assert web.client("rep").get("/api/v1/payouts/P-AE2/2025-03/explanation").status_code == 404
    assert web.client("rep").get("/api/v1/payouts/P-AE1/2025-02/explanation").status_code == 404


def test_runs_show_others_only_their_own_lines(web: Web, paid: dict[str, Any]) -> None:
    finance = web.client("finance").get("/api/v1/calc-runs/1").json()
    assert (finance["payees"], finance["lines"], len(finance["payout_lines"])) == (2, 4, 4)
    rep = web.client("rep").get("/api/v1/calc-runs/1").json()
    assert (rep["payees"], rep["lines"]) == (1, 2)
    assert {x["person_id"] for x in rep["payout_lines"]} == {"P-AE1"}
    assert rep["outputs_fingerprint"] == finance["outputs_fingerprint"]
    assert web.client("rep").get("/api/v1/calc-runs").json()["total"] == 1
    assert web.client("rep").get("/api/v1/calc-runs/99").status_code == 404


def test_only_data_managers_start_runs_and_locked_periods_are_refused(web: Web, paid: dict[str, Any]) -> None:
    assert web.client("finance").post("/api/v1/calc-runs", json={"period": "2025-03"}).status_code == 403
    assert web.client("manager").post("/api/v1/calc-runs", json={"period": "2025-03"}).status_code == 403
    engine = make_engine(web.url)
    with engine.begin() as conn:
        for status in (PeriodStatus.CALCULATED, PeriodStatus.APPROVED, PeriodStatus.LOCKED):
            company.set_period_status(conn, "2025-01", status, actor="finance")
    engine.dispose()
    refused = web.client("revops").post("/api/v1/calc-runs", json={"period": "2025-01"})
    assert refused.status_code == 409
    assert "locked" in refused.json()["detail"]
    assert web.client("revops").post("/api/v1/calc-runs", json={"period": "2025-13"}).status_code == 422


def test_the_pay_page_shows_the_waterfall(web: Web, paid: dict[str, Any]) -> None:
    page = web.client("rep").get("/pay")
    assert page.status_code == 200
    assert "4032.70 USD" in page.text and "total 4032.70 USD" in page.text
    assert "P-AE2" not in page.text  # the rep sees only their own pay
    assert "attainment %" in page.text and "54.8718475" in page.text
    manager = web.client("manager").get("/pay", params={"person_id": "P-AE2"})
    assert "P-AE2" in manager.text and "2160.00 USD" in manager.text
    # the pickers: the people the manager may see (selected: the one asked for) and that person's periods
    assert re.findall(r'<option value="(P-[A-Z0-9-]+)"', manager.text) == ["P-AE1", "P-AE2"]
    assert '<option value="P-AE2" selected>' in manager.text
    assert '<option value="2025-03" selected>' in manager.text
    assert "2160" not in web.client("rep").get("/pay", params={"person_id": "P-AE2"}).text


def test_payouts_are_paged_in_the_store(web: Web, paid: dict[str, Any]) -> None:
    """Four current lines for 2025-03 (two per AE): a page of two after skipping one is lines 2 and 3 of the
    full, ordered list, and the total still counts all four."""
    finance = web.client("finance")
    everything = finance.get("/api/v1/payouts", params={"period": "2025-03"}).json()
    page = finance.get("/api/v1/payouts", params={"period": "2025-03", "limit": 2, "offset": 1}).json()
    assert everything["total"] == page["total"] == 4
    assert page["items"] == everything["items"][1:3]
