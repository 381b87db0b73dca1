"""Calculation runs in the store (SQLite and PostgreSQL): recording, fingerprints, locking, deltas, audit.

These tests are about the service, not the engine's arithmetic, so most use `flat_commission`, a
hand-written calculator whose results are easy to compute by hand: each person is paid 10 % (or their plan's
first tier rate) of the USD transactions they own in the month (any kind). The small company
(tests/fixtures/canonical/small) has TX1 booking 2025-03-20 120,000 USD (P-AE1), TX2 cancellation
2025-04-15 −20,000 USD (P-AE1) and TX3 renewal 2025-03-31 9,500.25 EUR (P-AE1: not USD, not paid).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from sqlalchemy import Engine, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from openspm.domain.errors import Conflict, PeriodLocked
from openspm.domain.money import round_money
from openspm.domain.periods import PeriodStatus
from openspm.domain.plans import Commission
from openspm.engine.calc.inputs import CalcInputs
from openspm.engine.calc.tables import PAYOUT_LINES
from openspm.services import calc, company, plans
from openspm.services.calc_deltas import dumps, table_of
from openspm.services.calc_results import current_payouts
from openspm.services.imports import import_directory
from openspm.store.audit import verify_chain
from openspm.store.models import AuditEvent, CalcRun, OpportunitySplit, PayoutLineRow, Transaction

SMALL = Path(__file__).parent.parent / "fixtures" / "canonical" / "small"
EXAMPLES = Path(__file__).parent.parent.parent / "examples" / "plans"
RATE = Decimal("0.10")


def flat_commission(inputs: CalcInputs, period: str, payees: Sequence[str] | None) -> pa.Table:
    """Each owner's USD transactions dated in the month at their plan's first tier rate (else 10 %)."""
    month = inputs.calendar.parse(period)
    tx = inputs.transactions
    in_month = pc.and_(
        pc.and_(
            pc.greater_equal(tx["date"], pa.scalar(month.start, pa.date32())),
            pc.less(tx["date"], pa.scalar(month.end, pa.date32())),
        ),
        pc.equal(tx["currency"], "USD"),
    )
    rows: dict[str, list[tuple[str, Decimal]]] = {}
    for r in tx.filter(in_month).sort_by("transaction_id").to_pylist():
        if payees is None or r["owner_id"] in payees:
            rows.setdefault(r["owner_id"], []).append((r["transaction_id"], r["amount"]))
    lines = []
    for person, credits in sorted(rows.items()):
        measure = sum((a for _, a in credits), Decimal(0))
        plan, version, rate = _plan_of(inputs, person, month.start)
        explanation = {
            "measure": str(measure),
            "rate": str(rate),
            "credits": [{"source_id": s, "amount": str(a)} for s, a in credits],
        }
        amount = round_money(measure * rate / 100, "USD")
        lines.append(
            (person, period, plan, version, "commission", "earning", amount, "USD", None, dumps(explanation))
        )
    return table_of(lines, PAYOUT_LINES)


def _plan_of(inputs: CalcInputs, person: str, day: date) -> tuple[str, int, Decimal]:
    """The person's plan version on `day` and the rate of its first commission tier (else flat, v1, 10 %)."""
    for a in inputs.plan_assignments.to_pylist():
        if (
            a["person_id"] == person
            and a["start_date"] <= day
            and (a["end_date"] is None or day < a["end_date"])
        ):
            plan = inputs.plans[(a["plan"], a["version"])]
            commission = next(c for c in plan.components if isinstance(c, Commission))
            return plan.name, plan.version, commission.tiers[0].rate
    return "flat", 1, RATE * 100


@pytest.fixture
def small(engine: Engine) -> Engine:
    assert import_directory(engine, SMALL).ok
    return engine


def run(engine: Engine, period: str, **options: object) -> calc.CalcRunSummary:
    return calc.run_calculation(engine, period, by="ops", calculator=flat_commission, **options)  # type: ignore[arg-type]


def amounts(engine: Engine, period: str) -> list[tuple[str, str, str, str | None, Decimal]]:
    with engine.connect() as conn:
        return [
            (line.person_id, line.period, line.line_kind, line.corrects_period, line.amount)
            for line in current_payouts(conn, period=period)
        ]


def set_status(engine: Engine, period: str, *statuses: PeriodStatus) -> None:
    with engine.begin() as conn:
        for status in statuses:
            company.set_period_status(conn, period, status, actor="finance")


def add_transaction(engine: Engine, transaction_id: str, day: date, amount: str, owner: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(Transaction).values(
                transaction_id=transaction_id,
                kind="booking",
                date=day,
                amount=Decimal(amount),
                currency="USD",
                owner_id=owner,
            )
        )


def test_a_run_records_its_lines_fingerprints_status_and_audit_event(small: Engine) -> None:
    summary = run(small, "2025-03")
    # P-AE1: TX1 120,000 × 10 % = 12,000.00 (TX3 is EUR: the flat calculator skips it)
    assert (summary.run_id, summary.payees, summary.lines, summary.deltas) == (1, 1, 1, 0)
    assert summary.totals == {"USD": Decimal("12000.00")}
    assert amounts(small, "2025-03") == [("P-AE1", "2025-03", "earning", None, Decimal("12000.00"))]
    with small.connect() as conn:
        assert company.period_status(conn, "2025-03").status is PeriodStatus.CALCULATED
        row = conn.execute(select(CalcRun.__table__)).one()
        assert (row.period, row.by, row.status, row.payees, row.lines) == (
            "2025-03",
            "ops",
            "completed",
            1,
            1,
        )
        assert row.outputs_fingerprint == summary.outputs_fingerprint
        assert len(row.inputs_fingerprint) == len(row.plans_fingerprint) == 64
        actions = conn.execute(select(AuditEvent.action, AuditEvent.entity_key).order_by(AuditEvent.id)).all()
        assert actions[-2:] == [("period.status", "2025-03"), ("calc.run", "1")]
        assert verify_chain(conn)[1] == []
        explanation = json.loads(conn.execute(select(PayoutLineRow.explanation)).scalar_one())
        assert explanation["credits"] == [{"source_id": "TX1", "amount": "120000.0000"}]


def test_rerunning_with_the_same_inputs_gives_byte_identical_lines(small: Engine) -> None:
    first, second = run(small, "2025-03"), run(small, "2025-03")
    assert second.run_id == 2
    assert second.inputs_fingerprint == first.inputs_fingerprint
    assert second.plans_fingerprint == first.plans_fingerprint
    assert second.outputs_fingerprint == first.outputs_fingerprint
    assert second.payout_lines.equals(first.payout_lines)
    with small.connect() as conn:
        stored = conn.execute(
            select(PayoutLineRow.run_id, PayoutLineRow.amount, PayoutLineRow.explanation).order_by(
                PayoutLineRow.id
            )
        ).all()
    assert [(r.run_id, r.amount) for r in stored] == [(1, Decimal("12000.00")), (2, Decimal("12000.00"))]
    assert stored[0].explanation == stored[1].explanation
    # the newer run supersedes the older: one current line, not two
    assert amounts(small, "2025-03") == [("P-AE1", "2025-03", "earning", None, Decimal("12000.00"))]
    add_transaction(small, "TX9", date(2025, 3, 25), "5000", "P-AE2")
    assert run(small, "2025-03").inputs_fingerprint != first.inputs_fingerprint


def test_a_dry_run_writes_nothing(small: Engine) -> None:
    summary = run(small, "2025-03", dry_run=True)
    assert (summary.run_id, summary.lines, summary.status) == (None, 1, "open")
    with small.connect() as conn:
        assert conn.execute(select(func.count()).select_from(CalcRun)).scalar_one() == 0
        assert company.period_status(conn, "2025-03").status is PeriodStatus.OPEN
    assert run(small, "2025-03").outputs_fingerprint == summary.outputs_fingerprint


def test_a_locked_or_approved_period_is_refused_and_nothing_is_written(small: Engine) -> None:
    run(small, "2025-03")
    set_status(small, "2025-03", PeriodStatus.APPROVED)
    with pytest.raises(Conflict, match="approved"):
        run(small, "2025-03")
    set_status(small, "2025-03", PeriodStatus.LOCKED)
    with pytest.raises(PeriodLocked, match="locked"):
        run(small, "2025-03")
    with small.connect() as conn:
        assert conn.execute(select(func.count()).select_from(CalcRun)).scalar_one() == 1


def test_payout_lines_and_runs_are_append_only(small: Engine) -> None:
    run(small, "2025-03")
    for statement in (
        "UPDATE payout_lines SET amount = 0",
        "DELETE FROM payout_lines",
        "DELETE FROM calc_runs",
    ):
        with pytest.raises(DBAPIError, match="append-only"), small.begin() as conn:
            conn.execute(text(statement))


def test_a_run_for_some_payees_leaves_the_others_lines_current(small: Engine) -> None:
    run(small, "2025-03")
    add_transaction(small, "TX9", date(2025, 3, 25), "5000", "P-AE2")
    summary = run(small, "2025-03", payees=["P-AE2"])
    assert (summary.payees, summary.lines) == (1, 1)
    # P-AE1 still from run 1 (12,000.00); P-AE2 from run 2: 5,000 × 10 % = 500.00
    with small.connect() as conn:
        lines = current_payouts(conn, period="2025-03")
    assert [(x.person_id, x.run_id, x.amount) for x in lines] == [
        ("P-AE1", 1, Decimal("12000.00")),
        ("P-AE2", 2, Decimal("500.00")),
    ]


def test_a_late_deal_in_a_locked_month_becomes_a_delta_in_the_open_month(small: Engine) -> None:
    run(small, "2025-03")
    set_status(small, "2025-03", PeriodStatus.APPROVED, PeriodStatus.LOCKED)
    add_transaction(small, "TX9", date(2025, 3, 25), "5000", "P-AE2")  # late: March is already locked
    april = run(small, "2025-04")
    # April: P-AE1's cancellation TX2 −20,000 × 10 % = −2,000.00; March recomputed: P-AE2 gains 500.00
    assert april.corrected_periods == ("2025-03",)
    assert amounts(small, "2025-04") == [
        ("P-AE1", "2025-04", "earning", None, Decimal("-2000.00")),
        ("P-AE2", "2025-04", "delta", "2025-03", Decimal("500.00")),
    ]
    assert amounts(small, "2025-03") == [("P-AE1", "2025-03", "earning", None, Decimal("12000.00"))]
    with small.connect() as conn:
        delta = next(x for x in current_payouts(conn, period="2025-04") if x.line_kind == "delta")
    assert delta.explanation["recorded"] == "0.00" and delta.explanation["recomputed"] == "500.00"
    assert delta.explanation["lines"][0]["explanation"]["credits"][0]["source_id"] == "TX9"
    # re-running April replaces its delta rather than adding a second one
    assert run(small, "2025-04").outputs_fingerprint == april.outputs_fingerprint
    assert [a for a in amounts(small, "2025-04") if a[2] == "delta"] == [
        ("P-AE2", "2025-04", "delta", "2025-03", Decimal("500.00"))
    ]
    # once April is locked too, May owes nothing more for March: the delta was paid in April
    set_status(small, "2025-04", PeriodStatus.APPROVED, PeriodStatus.LOCKED)
    may = run(small, "2025-05")
    assert may.corrected_periods == ("2025-03", "2025-04")
    assert (may.lines, may.deltas) == (0, 0)


def test_a_changed_amount_in_a_locked_month_is_corrected_by_a_negative_delta(small: Engine) -> None:
    run(small, "2025-03")
    set_status(small, "2025-03", PeriodStatus.APPROVED, PeriodStatus.LOCKED)
    with small.begin() as conn:
        conn.execute(
            Transaction.__table__.update()
            .where(Transaction.transaction_id == "TX1")
            .values(amount=Decimal(100000))
        )
    run(small, "2025-04")
    # March recomputed: 100,000 × 10 % = 10,000.00 against 12,000.00 recorded → delta −2,000.00
    assert ("P-AE1", "2025-04", "delta", "2025-03", Decimal("-2000.00")) in amounts(small, "2025-04")
    with small.connect() as conn:
        march = (
            conn.execute(select(PayoutLineRow.amount).where(PayoutLineRow.period == "2025-03"))
            .scalars()
            .all()
        )
        events = (
            conn.execute(select(AuditEvent.action).where(AuditEvent.action == "calc.run")).scalars().all()
        )
    assert march == [Decimal("12000.00")]  # the locked line is never rewritten
    assert events == ["calc.run", "calc.run"]


def test_a_corrected_plan_for_a_locked_month_becomes_deltas_in_the_open_month(small: Engine) -> None:
    """P-AE1 is on a plan paying 4.5 % (ae_2025_v1's first tier, read by `flat_commission`) from January.
    March is paid (120,000 × 4.5 % = 5,400.00) and locked; then v2 is published from 2025-03-01 paying 9 %
    and P-AE1 moved onto it. April: March now comes to 120,000 × 9 % = 10,800.00 under v2, so two deltas —
    −5,400.00 taking back the v1 line and +10,800.00 paying the v2 one — and April's own line,
    −20,000 × 9 % = −1,800.00."""
    source = (EXAMPLES / "ae_2025_v1.yaml").read_text()
    corrected = source.replace("version: 1", "version: 2").replace(
        "effective_from: 2025-01-01", "effective_from: 2025-03-01"
    )
    corrected = corrected.replace("{from: 0, to: 50, rate: 4.5}", "{from: 0, to: 50, rate: 9}")
    with small.begin() as conn:
        plans.publish_plan(conn, source, actor="revops")
        first = plans.Assignment(
            "P-AE1", "account_executive", 1, date(2025, 1, 1), date(2025, 7, 1), Decimal(60000), "USD"
        )
        plans.assign_plan(conn, first, actor="revops")
    assert run(small, "2025-03").totals == {"USD": Decimal("5400.00")}
    set_status(small, "2025-03", PeriodStatus.APPROVED, PeriodStatus.LOCKED)
    with small.begin() as conn:
        plans.publish_plan(conn, corrected, actor="revops")
        conn.execute(text("UPDATE plan_assignments SET end_date = '2025-03-01' WHERE person_id = 'P-AE1'"))
        second = plans.Assignment(
            "P-AE1", "account_executive", 2, date(2025, 3, 1), date(2025, 7, 1), Decimal(60000), "USD"
        )
        plans.assign_plan(conn, second, actor="revops")
    run(small, "2025-04")
    with small.connect() as conn:
        april = [
            (x.plan, x.version, x.line_kind, x.corrects_period, x.amount)
            for x in current_payouts(conn, period="2025-04")
        ]
        march = conn.execute(
            select(PayoutLineRow.version, PayoutLineRow.amount).where(PayoutLineRow.period == "2025-03")
        ).all()
    assert sorted(april) == [
        ("account_executive", 1, "delta", "2025-03", Decimal("-5400.00")),
        ("account_executive", 2, "delta", "2025-03", Decimal("10800.00")),
        ("account_executive", 2, "earning", None, Decimal("-1800.00")),
    ]
    assert [tuple(r) for r in march] == [(1, Decimal("5400.00"))]  # the locked line is untouched


def test_a_changed_split_in_a_locked_month_moves_pay_between_the_reps_by_deltas(small: Engine) -> None:
    """The real engine and the example AE plan (revenue splits; Q1 tiers 0–50 % @ 4.5, 50–100 % @ 9).
    March is paid with O1's booking (TX1, 120,000) split 60/40, then locked:
      P-AE1 72,000 + TX3 10,307.77125 = 82,307.77125 of 150,000 → 75,000 × 4.5 % + 7,307.77125 × 9 %
            = 3,375 + 657.6994125 = 4,032.70;   P-AE2 48,000 of 100,000 → × 4.5 % = 2,160.00.
    The split is corrected to 50/50, so March now comes to
      P-AE1 70,307.77125 (46.9 %) × 4.5 % = 3,163.85 → delta −868.85;
      P-AE2 60,000 (60 %) → 50,000 × 4.5 % + 10,000 × 9 % = 2,250 + 900 = 3,150.00 → delta +990.00,
    both in April, pointing at March, while the locked March lines stay as they were."""
    with small.begin() as conn:
        plans.publish_plan(conn, (EXAMPLES / "ae_2025_v1.yaml").read_text(), actor="revops")
        for person in ("P-AE1", "P-AE2"):
            seat = plans.Assignment(
                person, "account_executive", 1, date(2025, 1, 1), date(2025, 7, 1), Decimal(60000), "USD"
            )
            plans.assign_plan(conn, seat, actor="revops")
    calc.run_calculation(small, "2025-03", by="ops")
    with small.connect() as conn:
        march = {(x.person_id, x.component): x.amount for x in current_payouts(conn, period="2025-03")}
    assert march[("P-AE1", "bookings_commission")] == Decimal("4032.70")
    assert march[("P-AE2", "bookings_commission")] == Decimal("2160.00")
    set_status(small, "2025-03", PeriodStatus.APPROVED, PeriodStatus.LOCKED)
    with small.begin() as conn:
        for person, percent in (("P-AE1", 50), ("P-AE2", 50)):
            conn.execute(
                update(OpportunitySplit)
                .where(OpportunitySplit.opportunity_id == "O1", OpportunitySplit.person_id == person)
                .values(percent=Decimal(percent))
            )
    summary = calc.run_calculation(small, "2025-04", by="ops")
    assert summary.deltas >= 2
    with small.connect() as conn:
        deltas = [x for x in current_payouts(conn, period="2025-04") if x.line_kind == "delta"]
        locked = {
            (r.person_id, r.component): r.amount
            for r in conn.execute(select(PayoutLineRow).where(PayoutLineRow.period == "2025-03"))
        }
    by_person: dict[str, Decimal] = {}
    for d in deltas:
        assert d.corrects_period == "2025-03"
        assert Decimal(d.explanation["recomputed"]) - Decimal(d.explanation["recorded"]) == d.amount
        assert Decimal(d.explanation["recorded"]) == march.get((d.person_id, d.component), Decimal(0))
        by_person[d.person_id] = by_person.get(d.person_id, Decimal(0)) + d.amount
    assert by_person == {"P-AE1": Decimal("-868.85"), "P-AE2": Decimal("990.00")}
    assert locked == march  # the locked lines are never rewritten
