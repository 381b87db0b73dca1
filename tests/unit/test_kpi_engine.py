"""Every KPI of the catalogue on a small hand-built company, each expected value worked out by hand.

The company (fiscal year = calendar year; as of 2025-03-31, so 2025-Q1 is the current quarter):

    CO (company) └─ R1 (region) ├─ T1 (team): A; B until 2025-02-15
                                └─ T2 (team): C; B from 2025-02-15      M: manager at R1 (no facts)

Deals (USD unless said; EUR at 1.10 from 2025-01-01, 1.20 from 2025-03-01). History rows are
(day: stage → expected close):

- D1, A, 100, created 01-06, won 02-10: 01-06 Discovery → 02-28; 01-20 Proposal → 02-28; 02-10 Won.
- D2, A, 50 EUR, created 01-10, lost 03-05 (amount zeroed on loss): 01-10 Discovery → 03-15; 03-05 Lost.
- D3, B, 200, created 2024-12-01, won 02-20: 12-01 Discovery → 01-31; 01-05 Proposal → 01-31;
  01-25 Proposal → 02-28 (a push); 02-20 Won.
- D4, B, 80, created 01-15, open in Proposal, next step dated 03-25: 01-15 Discovery → 03-20;
  02-01 Proposal → 03-20.
- D5, C, 300, created 03-01, open in Discovery, next step without a date: 03-01 Discovery → 04-30;
  03-20 Discovery → 05-15.
- D6, C, 40, created 02-01, lost 03-10: 02-01 Discovery → 03-31; 03-10 Lost.

Activities: A — call 01-07, email 01-08, meeting (discovery) 01-09, meeting (first_meeting) 02-03 and a
6-second call on 03-15 with no outcome, account or deal (suspect); B — calls 02-10 (in T1) and 02-20 (in
T2), demo 02-21; C — email 03-02, meeting 03-03, and a call on 04-02 (after as_of: never counted).

Quotas (bookings): A 2025-Q1 250 (v1) then 200 (v2), A 2025-Q2 300; B 2025-Q1 400; T1 500; T2 600; R1 and
CO 1000 for 2025-Q1.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from openspm.domain.kpis import CATALOGUE
from openspm.domain.periods import FiscalCalendar
from openspm.engine.kpis import KPI_VALUES, KpiInputs, compute_kpis, consecutive_periods, levels_of
from openspm.ingest.tables import canonical_schema

AS_OF = date(2025, 3, 31)
STAGES = ["Discovery", "Proposal", "Closed Won"]
LEVELS = ["person", "team", "region", "company"]
Q1, Q2 = "2025-Q1", "2025-Q2"


def _table(entity: str, rows: list[dict[str, Any]]) -> pa.Table:
    schema = canonical_schema(entity, with_extra=False)
    return pa.Table.from_pylist([{f.name: r.get(f.name) for f in schema} for r in rows], schema=schema)


def _d(text: str) -> date:
    return date.fromisoformat(text)


def _deal(oid: str, owner: str, amount: str, created: str, stage: str, **more: Any) -> dict[str, Any]:
    return {
        "opportunity_id": oid, "account_id": "X", "owner_id": owner, "amount": Decimal(amount),
        "currency": more.pop("currency", "USD"), "stage": stage, "created_date": _d(created),
        "is_closed": stage.startswith("Closed"), "is_won": stage == "Closed Won", **more,
    }  # fmt: skip


def _change(oid: str, day: str, stage: str, amount: str, close: str) -> dict[str, Any]:
    return {
        "opportunity_id": oid,
        "changed_at": datetime.fromisoformat(day),
        "stage": stage,
        "amount": Decimal(amount),
        "close_date": _d(close),
    }


def _activity(aid: str, person: str, kind: str, at: str, outcome: str | None, **more: Any) -> dict[str, Any]:
    return {
        "activity_id": aid, "person_id": person, "type": kind, "occurred_at": datetime.fromisoformat(at),
        "outcome": outcome, "account_id": more.pop("account_id", "X"),
        "duration_minutes": Decimal(more.pop("minutes", "5")), **more,
    }  # fmt: skip


def inputs() -> KpiInputs:
    deals = [
        _deal("D1", "A", "100", "2025-01-06", "Closed Won", close_date=_d("2025-02-10")),
        _deal("D2", "A", "0", "2025-01-10", "Closed Lost", close_date=_d("2025-03-05"), currency="EUR"),
        _deal("D3", "B", "200", "2024-12-01", "Closed Won", close_date=_d("2025-02-20")),
        _deal(
            "D4",
            "B",
            "80",
            "2025-01-15",
            "Proposal",
            close_date=_d("2025-03-20"),
            next_step="Call the CFO",
            next_step_date=_d("2025-03-25"),
        ),
        _deal("D5", "C", "300", "2025-03-01", "Discovery", close_date=_d("2025-05-15"), next_step="Demo"),
        _deal("D6", "C", "40", "2025-02-01", "Closed Lost", close_date=_d("2025-03-10")),
    ]
    history = [
        _change("D1", "2025-01-06", "Discovery", "100", "2025-02-28"),
        _change("D1", "2025-01-20", "Proposal", "100", "2025-02-28"),
        _change("D1", "2025-02-10", "Closed Won", "100", "2025-02-10"),
        _change("D2", "2025-01-10", "Discovery", "50", "2025-03-15"),
        _change("D2", "2025-03-05", "Closed Lost", "0", "2025-03-05"),
        _change("D3", "2024-12-01", "Discovery", "200", "2025-01-31"),
        _change("D3", "2025-01-05", "Proposal", "200", "2025-01-31"),
        _change("D3", "2025-01-25", "Proposal", "200", "2025-02-28"),
        _change("D3", "2025-02-20", "Closed Won", "200", "2025-02-20"),
        _change("D4", "2025-01-15", "Discovery", "80", "2025-03-20"),
        _change("D4", "2025-02-01", "Proposal", "80", "2025-03-20"),
        _change("D5", "2025-03-01", "Discovery", "300", "2025-04-30"),
        _change("D5", "2025-03-20", "Discovery", "300", "2025-05-15"),
        _change("D6", "2025-02-01", "Discovery", "40", "2025-03-31"),
        _change("D6", "2025-03-10", "Closed Lost", "40", "2025-03-10"),
    ]
    activities = [
        _activity("a1", "A", "call", "2025-01-07T10:00", "connected"),
        _activity("a2", "A", "email", "2025-01-08T10:00", "sent"),
        _activity("a3", "A", "meeting", "2025-01-09T10:00", "discovery", opportunity_id="D1"),
        _activity("a4", "A", "meeting", "2025-02-03T10:00", "first_meeting"),
        _activity("a5", "A", "call", "2025-03-15T10:00", None, account_id=None, minutes="0.1"),
        _activity("b1", "B", "call", "2025-02-10T10:00", "connected"),
        _activity("b2", "B", "call", "2025-02-20T10:00", "connected"),
        _activity("b3", "B", "demo", "2025-02-21T10:00", "completed", opportunity_id="D3"),
        _activity("c1", "C", "email", "2025-03-02T10:00", "sent"),
        _activity("c2", "C", "meeting", "2025-03-03T10:00", "held", opportunity_id="D5"),
        _activity("c3", "C", "call", "2025-04-02T10:00", "connected"),
    ]
    org = [
        {"org_unit_id": "CO", "name": "Co", "kind": "company"},
        {"org_unit_id": "R1", "name": "R1", "kind": "region", "parent_id": "CO"},
        {"org_unit_id": "T1", "name": "T1", "kind": "team", "parent_id": "R1"},
        {"org_unit_id": "T2", "name": "T2", "kind": "team", "parent_id": "R1"},
    ]
    assignments = [
        {"person_id": "A", "role": "ae", "org_unit_id": "T1", "start_date": _d("2024-01-01")},
        {
            "person_id": "B",
            "role": "ae",
            "org_unit_id": "T1",
            "start_date": _d("2024-01-01"),
            "end_date": _d("2025-02-15"),
        },
        {"person_id": "B", "role": "ae", "org_unit_id": "T2", "start_date": _d("2025-02-15")},
        {"person_id": "C", "role": "ae", "org_unit_id": "T2", "start_date": _d("2024-06-01")},
        {"person_id": "M", "role": "manager", "org_unit_id": "R1", "start_date": _d("2024-01-01")},
    ]
    quota_rows = [
        ("A", "person", Q1, "250", 1), ("A", "person", Q1, "200", 2), ("A", "person", Q2, "300", 1),
        ("B", "person", Q1, "400", 1), ("T1", "org_unit", Q1, "500", 1), ("T2", "org_unit", Q1, "600", 1),
        ("R1", "org_unit", Q1, "1000", 1), ("CO", "org_unit", Q1, "1000", 1),
        ("C", "person", Q1, "999", 1),  # another measure: never compared with bookings
    ]  # fmt: skip
    quotas = pa.table(
        {
            "subject_id": [q[0] for q in quota_rows],
            "subject_kind": [q[1] for q in quota_rows],
            "measure": ["bookings"] * 8 + ["meetings"],
            "period": [q[2] for q in quota_rows],
            "amount": pa.array([Decimal(q[3]) for q in quota_rows], pa.decimal128(18, 4)),
            "version": pa.array([q[4] for q in quota_rows], pa.int64()),
        }
    )
    fx = [
        {"currency": "EUR", "date": _d("2025-01-01"), "rate": Decimal("1.10")},
        {"currency": "EUR", "date": _d("2025-03-01"), "rate": Decimal("1.20")},
    ]
    return KpiInputs(
        opportunities=_table("opportunities", deals),
        opportunity_history=_table("opportunity_history", history),
        activities=_table("activities", activities),
        assignments=_table("assignments", assignments),
        org_units=_table("org_units", org),
        quotas=quotas,
        fx_rates=_table("fx_rates", fx),
        base_currency="USD",
    )


@pytest.fixture(scope="module")
def values() -> dict[tuple[str, str, str], float | None]:
    out = compute_kpis(
        inputs(),
        calendar=FiscalCalendar(1),
        levels=LEVELS,
        periods=[Q1, Q2, "FY2025"],
        as_of=AS_OF,
        stages=STAGES,
    )
    assert out.schema == KPI_VALUES
    rows = out.to_pylist()
    keyed = {(r["subject_id"], r["period"], r["kpi"]): r["value"] for r in rows}
    assert len(keyed) == len(rows), "one row per subject, period and KPI"
    return keyed


def check(
    values: dict[tuple[str, str, str], float | None], period: str, kpi: str, expected: dict[str, Any]
) -> None:
    got = {subject: values[(subject, period, kpi)] for subject in expected}
    assert got == {s: (None if v is None else pytest.approx(v)) for s, v in expected.items()}, kpi


def test_every_subject_period_and_kpi_has_a_row(values) -> None:  # type: ignore[no-untyped-def]
    """Persons A, B, C, M; teams T1, T2; region R1; company CO — × 3 periods × every catalogue KPI."""
    subjects = {"A", "B", "C", "M", "T1", "T2", "R1", "CO"}
    assert {s for s, _, _ in values} == subjects
    assert len(values) == len(subjects) * 3 * len(CATALOGUE)
    assert values[("M", Q1, "won_count")] == 0.0  # assigned, no deals: zero, not missing
    assert values[("M", Q1, "win_rate")] is None  # nothing closed: a ratio has no value


def test_results_count_on_the_close_date_and_roll_up_by_the_assignment_that_day(values) -> None:  # type: ignore[no-untyped-def]
    """Closed in Q1: D1 (A, won 100), D2 (A, lost at its last open amount 50 EUR × 1.20 = 60 USD),
    D3 (B, won 200 on 02-20 — B is in T2 by then), D6 (C, lost 40). Q2: nothing closed by as_of."""
    check(values, Q1, "won_amount", {"A": 100, "B": 200, "C": 0, "T1": 100, "T2": 200, "R1": 300, "CO": 300})
    check(values, Q1, "won_count", {"A": 1, "B": 1, "C": 0, "T1": 1, "T2": 1, "R1": 2, "CO": 2})
    check(values, Q1, "lost_count", {"A": 1, "B": 0, "C": 1, "T1": 1, "T2": 1, "R1": 2})
    # won ÷ (won + lost)
    check(values, Q1, "win_rate", {"A": 0.5, "B": 1.0, "C": 0.0, "T1": 0.5, "T2": 0.5, "R1": 0.5})
    # A 100/(100+60); C 0/40; T2 200/(200+40); R1 300/(300+100)
    check(values, Q1, "win_rate_value", {"A": 100 / 160, "C": 0.0, "T2": 200 / 240, "R1": 0.75})
    check(values, Q1, "avg_deal_size", {"A": 100, "B": 200, "C": None, "R1": 150})
    # D1: 02-10 − 01-06 = 35 days; D3: 02-20 − 2024-12-01 = 31 + 31 + 19 = 81 days; R1 (35+81)/2
    check(values, Q1, "cycle_days", {"A": 35, "B": 81, "C": None, "T2": 81, "R1": 58})
    check(values, Q2, "won_amount", {"A": 0, "R1": 0})


def test_attainment_uses_the_latest_quota_version_and_sums_quarters_for_a_year(values) -> None:  # type: ignore[no-untyped-def]
    """A: 100 ÷ 200 (v2 replaces v1's 250); B 200 ÷ 400; T1 100 ÷ 500; T2 200 ÷ 600; R1, CO 300 ÷ 1000;
    C has no bookings quota (only meetings). FY2025: A's quarters 200 + 300 = 500, won 100 → 0.2."""
    check(
        values,
        Q1,
        "attainment",
        {"A": 0.5, "B": 0.5, "C": None, "T1": 0.2, "T2": 1 / 3, "R1": 0.3, "CO": 0.3},
    )
    check(values, "FY2025", "attainment", {"A": 0.2, "B": 0.5, "M": None})


def test_pipeline_created_counts_on_the_created_date(values) -> None:  # type: ignore[no-untyped-def]
    """Created in Q1: D1 A 100; D2 A lost → last open 50 EUR × 1.10 (rate of 01-10) = 55; D4 B 80 on 01-15
    while B is in T1; D5 C 300; D6 C 40 (lost, amount kept). D3 was created in 2024."""
    check(values, Q1, "pipeline_created", {"A": 155, "B": 80, "C": 340, "T1": 235, "T2": 340, "R1": 575})


def test_open_deal_kpis_describe_the_deals_on_the_snapshot_day(values) -> None:  # type: ignore[no-untyped-def]
    """Open on 03-31: D4 (B, now in T2; created 01-15, 80, expected 03-20, next step overdue since 03-25,
    in Proposal since 02-01) and D5 (C; created 03-01, 300, expected 05-15 after a push, next step with
    no date, in Discovery since 03-01)."""
    check(values, Q1, "open_pipeline", {"A": 0, "B": 80, "C": 0, "T1": 0, "T2": 80, "R1": 80})
    check(values, Q2, "open_pipeline", {"B": 0, "C": 300, "T2": 300})
    # open closing in Q1 ÷ (quota − won): B 80/(400−200); T2 80/(600−200); R1 80/(1000−300); A 0/(200−100)
    check(values, Q1, "pipeline_coverage", {"A": 0.0, "B": 0.4, "C": None, "T2": 0.2, "R1": 80 / 700})
    # 03-31 − 01-15 = 16 + 28 + 31 = 75 days; 03-31 − 03-01 = 30 days
    check(values, Q1, "deal_age_days", {"A": None, "B": 75, "C": 30, "T2": 52.5})
    check(values, Q1, "next_step_set", {"B": 1.0, "C": 0.0, "T2": 0.5, "A": None})
    check(values, Q1, "next_step_overdue", {"B": 1.0, "C": 0.0, "T2": 0.5})


def test_stuck_deals_exceed_the_p75_of_finished_stints_in_their_stage(values) -> None:  # type: ignore[no-untyped-def]
    """Finished Discovery stints: D1 14, D4 17, D3 35, D6 37, D2 54 days → p75 = 37 (linear, position 3 of
    0..4). Proposal: D1 21, D3 46 (the push does not restart the stint) → p75 = 21 + 0.75 × 25 = 39.75.
    D4 has been in Proposal 59 days (02-01 → end of 03-31): stuck. D5 31 days in Discovery: not stuck."""
    check(values, Q1, "stuck_deals", {"A": 0, "B": 1, "C": 0, "T1": 0, "T2": 1, "R1": 1})


def test_sales_velocity(values) -> None:  # type: ignore[no-untyped-def]
    """open deals × win rate × average deal size ÷ cycle: B 1 × 1.0 × 200 ÷ 81; T2 2 × 0.5 × 200 ÷ 81;
    R1 2 × 0.5 × 150 ÷ 58; A has no open deal (0); C has no won deal (no cycle: no value)."""
    check(values, Q1, "sales_velocity", {"B": 200 / 81, "T2": 200 / 81, "R1": 150 / 58, "A": 0.0, "C": None})


def test_slip_rate(values) -> None:  # type: ignore[no-untyped-def]
    """Forecast to close in Q1 at some point by 03-31: D1, D2, D3, D4, D6 (D5 never was). All closed in
    Q1 but D4, open and past its expected close: slipped. Attributed on the snapshot day (B in T2).
    Q2: D5 is still expected on 05-15 → on track, 0 of 1."""
    check(values, Q1, "slip_rate", {"A": 0.0, "B": 0.5, "C": 0.0, "T1": 0.0, "T2": 1 / 3, "R1": 0.2})
    check(values, Q2, "slip_rate", {"C": 0.0, "A": None})


def test_stage_conversion_is_cohort_based(values) -> None:  # type: ignore[no-untyped-def]
    """Reached in Q1 (day reached → did it go further): A — D1 Discovery ✓, D1 Proposal ✓ (won), D2
    Discovery ✗; B — D3 Proposal 01-05 ✓ (its Discovery was in 2024), D4 Discovery ✓, D4 Proposal ✗ (all
    before 02-15, so in T1); C — D5 and D6 Discovery ✗. A 2/3, B 2/3, C 0/2, T1 4/6, T2 0/2, R1 4/8."""
    check(
        values, Q1, "stage_conversion", {"A": 2 / 3, "B": 2 / 3, "C": 0.0, "T1": 4 / 6, "T2": 0.0, "R1": 0.5}
    )


def test_activities_count_by_day_type_and_quality(values) -> None:  # type: ignore[no-untyped-def]
    """A 5 (2 calls, 1 email, 2 meetings of which 1 first meeting; the 6-second unlinked call is
    suspect); B 3 (calls 02-10 in T1 and 02-20 in T2, a demo in T2); C 2 (the 04-02 call is after as_of)."""
    check(values, Q1, "activities", {"A": 5, "B": 3, "C": 2, "T1": 6, "T2": 4, "R1": 10})
    check(values, Q1, "activities_quality", {"A": 4, "B": 3, "C": 2, "R1": 9})
    check(values, Q1, "calls", {"A": 2, "B": 2, "C": 0, "T1": 3, "T2": 1})
    check(values, Q1, "emails", {"A": 1, "C": 1, "R1": 2})
    check(values, Q1, "meetings", {"A": 2, "B": 0, "C": 1, "R1": 3})
    check(values, Q1, "demos", {"B": 1, "T2": 1, "T1": 0})
    check(values, Q1, "first_meetings", {"A": 1, "C": 0, "R1": 1})
    # meetings ÷ (calls + emails): A 2/(2+1); B 0/2; C 1/1; R1 3/(4 calls + 2 emails)
    check(values, Q1, "activity_to_meeting", {"A": 2 / 3, "B": 0.0, "C": 1.0, "R1": 0.5})
    check(values, Q2, "activities", {"C": 0})


def test_snapshot_of_a_past_period_has_no_next_step_values() -> None:
    """Next steps are not kept in history: seen from 2025-05-31, Q1 (snapshot 03-31) has no value, while
    its stuck deals are still reconstructed from the history (D4: 59 days in Proposal on 03-31)."""
    out = compute_kpis(
        inputs(), calendar=FiscalCalendar(1), levels=["person"], periods=[Q1], as_of=date(2025, 5, 31),
        kpis=["next_step_set", "stuck_deals"], stages=STAGES,
    )  # fmt: skip
    got = {(r["subject_id"], r["kpi"]): r["value"] for r in out.to_pylist()}
    assert got[("B", "next_step_set")] is None
    assert got[("B", "stuck_deals")] == 1.0


def test_levels_periods_and_unknown_names() -> None:
    data = inputs()
    assert levels_of(data.org_units) == ["person", "region", "team", "company"]
    assert consecutive_periods(FiscalCalendar(2), "2025-Q1", 3) == ["2024-Q3", "2024-Q4", "2025-Q1"]
    with pytest.raises(ValueError, match="unknown KPI"):
        compute_kpis(
            data, calendar=FiscalCalendar(1), levels=["team"], periods=[Q1], as_of=AS_OF, kpis=["winrate"]
        )
    with pytest.raises(ValueError, match="unknown level"):
        compute_kpis(data, calendar=FiscalCalendar(1), levels=["galaxy"], periods=[Q1], as_of=AS_OF)
