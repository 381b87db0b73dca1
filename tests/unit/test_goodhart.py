"""The Goodhart guard on hand-built activities and inspected deals: each flag worked out by hand.

Activities (all on 2025-05-05):

    A1  P1 call 09:00, 0.2 min, outcome connected, deal O1     → short_call (connected in 12 s?)
    A2  P1 call 09:30, 0.2 min, outcome "No Answer", deal O1   → clean: no answer explains a short call
    A3  P1 call 10:00, no duration logged, no outcome, deal O1 → clean: an unlogged duration is not judged
    A4  P1 email 11:00, no account, no deal, no outcome         → unlinked
    B1…B4 P2 calls 14:00, 14:02, 14:04, 14:06, 3 min each, connected, account A9 → a burst of 4 (min 4)
    B5  P2 call 14:20 (14 min after B4)                         → clean: the gap breaks the run
    B6  P2 email 14:03 (another type, inside the burst)          → clean, and it does not break the burst
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import ibis
import pyarrow as pa
import pytest

from openspm.engine import goodhart

SCHEMA = pa.schema(
    [
        ("activity_id", pa.string()),
        ("person_id", pa.string()),
        ("type", pa.string()),
        ("occurred_at", pa.timestamp("us")),
        ("duration_minutes", pa.decimal128(28, 10)),
        ("account_id", pa.string()),
        ("opportunity_id", pa.string()),
        ("outcome", pa.string()),
        ("subject", pa.string()),
    ]
)


def _activity(
    aid: str, person: str, kind: str, clock: str, minutes: str | None, outcome: str | None, **kw: Any
) -> dict[str, Any]:
    return {
        "activity_id": aid,
        "person_id": person,
        "type": kind,
        "occurred_at": datetime.fromisoformat(f"2025-05-05T{clock}:00"),
        "duration_minutes": None if minutes is None else Decimal(minutes),
        "account_id": kw.get("account_id", "A1"),
        "opportunity_id": kw.get("opportunity_id"),
        "outcome": outcome,
        "subject": "kept as it was",
    }


ROWS = [
    _activity("A1", "P1", "call", "09:00", "0.2", "connected", opportunity_id="O1"),
    _activity("A2", "P1", "call", "09:30", "0.2", "No Answer", opportunity_id="O1"),
    _activity("A3", "P1", "call", "10:00", None, None, opportunity_id="O1"),
    _activity("A4", "P1", "email", "11:00", None, None, account_id=None),
    *(
        _activity(f"B{i + 1}", "P2", "call", f"14:0{2 * i}", "3", "connected", account_id="A9")
        for i in range(4)
    ),
    _activity("B5", "P2", "call", "14:20", "3", "connected", account_id="A9"),
    _activity("B6", "P2", "email", "14:03", None, "sent", account_id="A9"),
]


@pytest.fixture(scope="module")
def flagged() -> dict[str, dict[str, Any]]:
    table = ibis.memtable(pa.Table.from_pylist(ROWS, schema=SCHEMA))
    out = goodhart.flag_activities(table, burst_min_size=4).to_pyarrow()
    assert out.column_names == [*SCHEMA.names, "suspect", "suspect_reason"]  # every column passes through
    return {row["activity_id"]: row for row in out.to_pylist()}


def test_each_rule_flags_what_it_should_and_nothing_else(flagged: dict[str, dict[str, Any]]) -> None:
    reasons = {aid: row["suspect_reason"] for aid, row in flagged.items()}
    assert reasons == {
        "A1": "short_call",
        "A2": None,
        "A3": None,
        "A4": "unlinked",
        "B1": "burst",
        "B2": "burst",
        "B3": "burst",
        "B4": "burst",
        "B5": None,
        "B6": None,
    }
    assert {aid for aid, row in flagged.items() if row["suspect"]} == {"A1", "A4", "B1", "B2", "B3", "B4"}


def test_reasons_combine_and_thresholds_are_arguments() -> None:
    """With short_call_minutes 5 the 3-minute burst calls are short too; with burst_min_size 6 the run of
    4 is no burst; with no explaining outcomes A2 (0.2 min, no answer) is short as well."""
    table = ibis.memtable(pa.Table.from_pylist(ROWS, schema=SCHEMA))
    combined = goodhart.flag_activities(table, short_call_minutes=5, burst_min_size=4).to_pyarrow()
    reason = dict(
        zip(combined["activity_id"].to_pylist(), combined["suspect_reason"].to_pylist(), strict=True)
    )
    assert reason["B1"] == "short_call, burst"
    assert reason["B5"] == "short_call"
    strict = goodhart.flag_activities(table, burst_min_size=6, short_call_outcomes=()).to_pyarrow()
    suspects = set(strict.filter(strict["suspect"])["activity_id"].to_pylist())
    assert suspects == {"A1", "A2", "A4"}


def test_behaviour_counts_raw_and_quality_adjusted(flagged: dict[str, dict[str, Any]]) -> None:
    """P1 calls: 3 raw, 1 suspect (A1) → 2; P1 emails 1 raw, 1 suspect → 0; P2 calls 5 raw, 4 suspect → 1."""
    table = ibis.memtable(pa.Table.from_pylist(list(flagged.values())))
    rows = goodhart.behaviour_counts(table).order_by(["person_id", "type"]).to_pyarrow().to_pylist()
    assert [(r["person_id"], r["type"], r["raw"], r["suspect"], r["quality_adjusted"]) for r in rows] == [
        ("P1", "call", 3, 1, 2),
        ("P1", "email", 1, 1, 0),
        ("P2", "call", 5, 4, 1),
        ("P2", "email", 1, 0, 1),
    ]


DEALS = pa.table(
    {
        "opportunity_id": ["O1", "O2", "O3"],
        "owner_id": ["P1", "P1", "P3"],
        "advanced_without_evidence": [True, False, False],
        "next_step_overdue": [True, True, False],
    }
)


def test_deal_flags_name_each_rule() -> None:
    rows = goodhart.flag_deals(ibis.memtable(DEALS)).order_by(["opportunity_id", "reason"]).to_pyarrow()
    assert rows.to_pylist() == [
        {"opportunity_id": "O1", "owner_id": "P1", "reason": "advanced_without_evidence"},
        {"opportunity_id": "O1", "owner_id": "P1", "reason": "next_step_in_past"},
        {"opportunity_id": "O2", "owner_id": "P1", "reason": "next_step_in_past"},
    ]


def test_rep_summary(flagged: dict[str, dict[str, Any]]) -> None:
    """P1: 4 activities, 2 suspect = 0.5; P2: 6 activities, 4 suspect = 0.667; P3: deals only (share null).
    With min_activities 5 only P2 is flagged (P1 has too few activities to judge, though 0.5 > 0.10).
    P1's deals: O1 advanced without evidence and overdue, O2 overdue → 2 flagged deals."""
    table = ibis.memtable(pa.Table.from_pylist(list(flagged.values())))
    rows = goodhart.rep_summary(table, ibis.memtable(DEALS), min_activities=5).order_by("person_id")
    by_person = {r["person_id"]: r for r in rows.to_pyarrow().to_pylist()}
    p1, p2, p3 = by_person["P1"], by_person["P2"], by_person["P3"]
    assert (p1["activities"], p1["suspect_activities"], p1["suspect_share"], p1["is_flagged"]) == (
        4,
        2,
        0.5,
        False,
    )
    assert (p1["short_calls"], p1["unlinked_activities"], p1["burst_activities"]) == (1, 1, 0)
    assert (p1["open_deals"], p1["advanced_without_evidence"], p1["next_steps_in_past"]) == (2, 1, 2)
    assert p1["flagged_deals"] == 2
    assert p2["suspect_share"] == pytest.approx(4 / 6)
    assert (p2["burst_activities"], p2["is_flagged"], p2["open_deals"]) == (4, True, 0)
    assert (p3["activities"], p3["suspect_share"], p3["is_flagged"], p3["open_deals"]) == (0, None, False, 1)


def test_activities_are_seen_only_inside_reporting_lines() -> None:
    """P1 is visible from 05-01 to 05-05 (exclusive): all of P1's activities fall on 05-05 → none seen;
    P2 from 05-05 on → all 6 seen."""
    lines = pa.table(
        {
            "person_id": ["P1", "P2"],
            "start": pa.array([datetime(2025, 5, 1).date(), datetime(2025, 5, 5).date()], pa.date32()),
            "end": pa.array([datetime(2025, 5, 5).date(), None], pa.date32()),
        }
    )
    seen = goodhart.seen_by(ibis.memtable(pa.Table.from_pylist(ROWS, schema=SCHEMA)), ibis.memtable(lines))
    assert sorted(seen.to_pyarrow()["activity_id"].to_pylist()) == ["B1", "B2", "B3", "B4", "B5", "B6"]
