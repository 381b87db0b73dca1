"""Deal inspection on hand-built deals: every verdict worked out by hand below.

The process (as_of 2025-06-30):

    Lead (stuck after 30 days)   contacted: a call or meeting on the deal
    Qualify                      budget: extra.budget filled;  meddicc: 2 of extra.pain/champion/timeline
    Propose                      next_step_dated: next step with a date;  forecast_set: Commit or Best Case
    Won, Lost (closed)

The deals:

    D1 Propose, 1000 USD — every criterion met; history Lead 01-01, Qualify 02-01, Propose 06-01.
    D2 Propose, 500 EUR — no activity, budget null, only `pain` of the checklist, no next step, forecast
       Pipeline; history Lead 03-01 → Propose 03-10 (Qualify skipped).
    D3 Lead, 200 USD — only an email (and a call on 07-02, after as_of) on it; in Lead since 04-01;
       next step dated 06-01 (overdue).
    D4 Closed Won — not inspected, but its history gives completed stays.
    D5 open in stage "Mystery", unknown to the process.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import ibis
import pyarrow as pa
import pytest

from openspm.engine.inspection import CRITERIA, DEALS, Inspection, inspect_pipeline
from openspm.ingest.sales_process import read_sales_process

AS_OF = date(2025, 6, 30)
PROCESS = """
name: Test process
stages:
  - name: Lead
    probability: 10
    stuck_after_days: 30
    exit_criteria:
      - {kind: activity, name: contacted, types: [call, Meeting]}
  - name: Qualify
    probability: 40
    crm_names: [Qualification]
    exit_criteria:
      - {kind: field, name: budget, field: extra.budget}
      - {kind: checklist, name: meddicc, fields: [extra.pain, extra.champion, extra.timeline], at_least: 2}
  - name: Propose
    probability: 70
    exit_criteria:
      - {kind: next_step, name: next_step_dated}
      - {kind: field, name: forecast_set, field: forecast_category, one_of: [Commit, Best Case]}
  - {name: Won, probability: 100, is_closed: true, is_won: true}
  - {name: Lost, probability: 0, is_closed: true}
"""

OPPORTUNITIES = pa.schema(
    [
        ("opportunity_id", pa.string()),
        ("owner_id", pa.string()),
        ("account_id", pa.string()),
        ("name", pa.string()),
        ("amount", pa.decimal128(18, 4)),
        ("currency", pa.string()),
        ("stage", pa.string()),
        ("created_date", pa.date32()),
        ("close_date", pa.date32()),
        ("is_closed", pa.bool_()),
        ("next_step", pa.string()),
        ("next_step_date", pa.date32()),
        ("forecast_category", pa.string()),
        ("extra", pa.string()),
    ]
)


def _deal(oid: str, stage: str, amount: str, currency: str = "USD", **kw: Any) -> dict[str, Any]:
    return {
        "opportunity_id": oid,
        "owner_id": "P1",
        "account_id": "A1",
        "name": oid,
        "amount": Decimal(amount),
        "currency": currency,
        "stage": stage,
        "created_date": date(2025, 1, 1),
        "close_date": date(2025, 9, 30),
        "is_closed": False,
        "next_step": None,
        "next_step_date": None,
        "forecast_category": "Pipeline",
        "extra": None,
        **kw,
    }


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day + "T09:00:00")


DEALS_IN = [
    _deal(
        "D1",
        "Propose",
        "1000",
        next_step="Sign",
        next_step_date=date(2025, 7, 5),
        forecast_category="Commit",
        extra='{"budget": "50k", "pain": true, "champion": "CTO", "timeline": false}',
    ),
    _deal("D2", "Propose", "500", "EUR", extra='{"budget": null, "pain": true}'),
    _deal("D3", "Lead", "200", next_step="Call back", next_step_date=date(2025, 6, 1)),
    _deal("D4", "Won", "900", is_closed=True),
    _deal("D5", "Mystery", "100"),
]
HISTORY = [
    ("D1", "2025-01-01", "Lead"),
    ("D1", "2025-02-01", "Qualification"),  # a CRM name of Qualify
    ("D1", "2025-06-01", "Propose"),
    ("D2", "2025-03-01", "Lead"),
    ("D2", "2025-03-10", "Propose"),
    ("D3", "2025-04-01", "Lead"),
    ("D4", "2025-01-01", "Lead"),
    ("D4", "2025-01-11", "Qualify"),
    ("D4", "2025-01-21", "Propose"),
    ("D4", "2025-02-20", "Won"),
]
ACTIVITIES = [
    ("D1", "call", "connected", "2025-01-15"),
    ("D3", "email", "sent", "2025-04-02"),
    ("D3", "call", "connected", "2025-07-02"),  # after as_of: not evidence yet
    (None, "meeting", "held", "2025-04-02"),
]


@pytest.fixture(scope="module")
def inspection() -> Inspection:
    process = read_sales_process(PROCESS).process
    assert process is not None
    history = pa.table(
        {
            "opportunity_id": [h[0] for h in HISTORY],
            "changed_at": pa.array([_at(h[1]) for h in HISTORY], pa.timestamp("us")),
            "stage": [h[2] for h in HISTORY],
        }
    )
    activities = pa.table(
        {
            "opportunity_id": pa.array([a[0] for a in ACTIVITIES], pa.string()),
            "type": [a[1] for a in ACTIVITIES],
            "outcome": [a[2] for a in ACTIVITIES],
            "occurred_at": pa.array([_at(a[3]) for a in ACTIVITIES], pa.timestamp("us")),
        }
    )
    fx = pa.table(
        {
            "currency": ["EUR", "EUR", "EUR"],
            "date": pa.array([date(2025, 1, 1), date(2025, 6, 1), date(2025, 7, 1)], pa.date32()),
            "rate": pa.array([Decimal("1.05"), Decimal("1.1"), Decimal(2)], pa.decimal128(28, 10)),
        }
    )
    return inspect_pipeline(
        process,
        opportunities=ibis.memtable(pa.Table.from_pylist(DEALS_IN, schema=OPPORTUNITIES)),
        history=ibis.memtable(history),
        activities=ibis.memtable(activities),
        as_of=AS_OF,
        fx_rates=ibis.memtable(fx),
        base_currency="USD",
        min_stays=1,
    )


def _deals(inspection: Inspection) -> dict[str, dict[str, Any]]:
    return {row["opportunity_id"]: row for row in inspection.deals.to_pylist()}


def test_only_open_deals_are_inspected_with_the_contract_schemas(inspection: Inspection) -> None:
    assert inspection.deals.schema == DEALS
    assert inspection.criteria.schema == CRITERIA
    assert inspection.deals["opportunity_id"].to_pylist() == ["D1", "D2", "D3", "D5"]


def test_a_deal_with_every_criterion_met_earned_its_stage(inspection: Inspection) -> None:
    """D1: a call (contacted), budget "50k", pain + champion = 2 of 3 (timeline false does not count),
    next step dated, forecast Commit: 5 of 5. In Propose since 06-01: 06-30 − 06-01 = 29 days, under the
    Propose p75 of 30 days (D4's only completed stay there: 01-21 → 02-20)."""
    d1 = _deals(inspection)["D1"]
    assert (d1["criteria_met"], d1["criteria_total"]) == (5, 5)
    assert d1["missing_criteria"] == []
    assert d1["earned_stage"] is True
    assert d1["advanced_without_evidence"] is False
    assert d1["skipped_stages"] == []
    assert (d1["stage_entered"], d1["days_in_stage"]) == (date(2025, 6, 1), 29)
    assert (d1["stuck_limit_days"], d1["stuck_limit_source"], d1["is_stuck"]) == (30.0, "p75", False)
    assert d1["has_gaps"] is False
    assert d1["value"] == Decimal(1000)


def test_a_deal_missing_evidence_skipped_a_stage_and_is_stuck(inspection: Inspection) -> None:
    """D2 shows nothing: contacted (no activity), budget (null), meddicc (pain only: 1 < 2),
    next_step_dated (no step), forecast_set (Pipeline) — all 5 missing, in process order; 3 of them
    (contacted, budget, meddicc) belong to stages it already left. History jumps Lead → Propose:
    Qualify skipped. In Propose since 03-10: 31−10 + 30 + 31 + 30 = 112 days > 30 → stuck.
    Value: 500 EUR × 1.1 (the latest rate on or before 06-30; the 07-01 rate is later) = 550 USD."""
    d2 = _deals(inspection)["D2"]
    assert d2["missing_criteria"] == ["contacted", "budget", "meddicc", "next_step_dated", "forecast_set"]
    assert (d2["criteria_met"], d2["missing_earlier"]) == (0, 3)
    assert d2["earned_stage"] is False
    assert d2["advanced_without_evidence"] is True
    assert d2["skipped_stages"] == ["Qualify"]
    assert (d2["days_in_stage"], d2["is_stuck"]) == (112, True)
    assert (d2["next_step_missing"], d2["next_step_undated"], d2["next_step_overdue"]) == (True, False, False)
    assert d2["value"] == Decimal(550)


def test_the_stage_limit_wins_over_history_and_later_evidence_does_not_count(inspection: Inspection) -> None:
    """D3: in Lead since 04-01: 30 + 31 + 30 − 1 = 90 days > the set limit of 30 → stuck (source "set").
    Only an email before as_of (the 07-02 call is later): `contacted` not met, but Lead is its current
    stage, so nothing was advanced without evidence. Next step dated 06-01 < 06-30: overdue."""
    d3 = _deals(inspection)["D3"]
    assert d3["missing_criteria"] == ["contacted"]
    assert (d3["earned_stage"], d3["advanced_without_evidence"]) == (False, False)
    assert (d3["days_in_stage"], d3["stuck_limit_days"], d3["stuck_limit_source"]) == (90, 30.0, "set")
    assert d3["is_stuck"] is True
    assert (d3["next_step_missing"], d3["next_step_overdue"]) == (False, True)


def test_a_stage_unknown_to_the_process_is_a_gap(inspection: Inspection) -> None:
    """D5 sits in "Mystery": no process stage, no criteria, never earned; with no history its days in
    stage count from its created date (01-01 → 06-30 = 180 days)."""
    d5 = _deals(inspection)["D5"]
    assert (d5["stage"], d5["crm_stage"], d5["is_unknown_stage"]) == (None, "Mystery", True)
    assert (d5["criteria_total"], d5["earned_stage"], d5["has_gaps"]) == (0, False, True)
    assert d5["days_in_stage"] == 180
    assert d5["is_stuck"] is False  # no limit for an unknown stage


def test_criteria_rows_cover_the_current_and_earlier_stages(inspection: Inspection) -> None:
    """D1 and D2 (Propose) have 5 rows each, D3 (Lead) 1, D5 none: 11 rows."""
    rows = inspection.criteria.to_pylist()
    assert len(rows) == 11
    d3 = [r for r in rows if r["opportunity_id"] == "D3"]
    assert d3 == [
        {
            "opportunity_id": "D3",
            "stage": "Lead",
            "stage_index": 0,
            "criterion": "contacted",
            "label": "Contacted",
            "kind": "activity",
            "met": False,
            "is_current_stage": True,
        }
    ]
    d1_current = [r["criterion"] for r in rows if r["opportunity_id"] == "D1" and r["is_current_stage"]]
    assert d1_current == ["next_step_dated", "forecast_set"]


def test_stage_limits_come_from_completed_stays(inspection: Inspection) -> None:
    """Completed stays: Lead — D1 31 d, D2 9 d, D4 10 d (3); Qualify — D1 120 d, D4 10 d (2);
    Propose — D4 30 d (1; D1, D2 still there). Lead's set limit (30) applies over its p75."""
    limits = {r["stage"]: r for r in inspection.stage_limits.to_pylist()}
    assert [limits[s]["stays"] for s in ("Lead", "Qualify", "Propose")] == [3, 2, 1]
    assert (limits["Lead"]["limit_days"], limits["Lead"]["limit_source"]) == (30.0, "set")
    assert limits["Propose"]["p75_days"] == pytest.approx(30.0)
    assert 10.0 <= limits["Qualify"]["p75_days"] <= 120.0
