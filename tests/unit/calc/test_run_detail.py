"""A whole-company run reads its measure credits as monthly totals; a run with `detail` keeps every one.

Both must pay exactly the same: the monthly path subtracts clawed cancellations from their month's total,
feeds overrides on the credits basis from per-day sums, and keeps per-transaction rate tables and deals
with a cancellation one row each. The synthetic company exercises all of it (the demo plans: tiers, a
cap, a SPIF, an SE overlay, a manager override, new hires on a draw, clawbacks of cancelled deals).
"""

from __future__ import annotations

import itertools

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from openspm.demo.synthetic import generate_synthetic
from openspm.engine.calc import measures
from openspm.engine.calc.inputs import CalcInputs
from openspm.engine.calc.run import CalcResult, calculate
from openspm.services.calc_bench import synthetic_inputs

PERIOD = "FY2026"


@pytest.fixture(scope="module")
def inputs() -> CalcInputs:
    data = generate_synthetic(36, 4_000)
    return synthetic_inputs({**data.tables, "plan_assignments": data.plan_assignments})


@pytest.fixture(scope="module")
def runs(inputs: CalcInputs) -> tuple[CalcResult, CalcResult]:
    return calculate(inputs, PERIOD), calculate(inputs, PERIOD, detail=True)


def test_monthly_totals_pay_exactly_what_every_credit_pays(runs: tuple[CalcResult, CalcResult]) -> None:
    summed, detailed = runs
    assert summed.payout_lines.num_rows > 100
    assert summed.payout_lines.equals(detailed.payout_lines)
    assert summed.measures.equals(detailed.measures)


def test_crediting_a_few_months_at_a_time_pays_the_same(
    inputs: CalcInputs, runs: tuple[CalcResult, CalcResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With windows of ~500 lines the year is credited in about eight parts (4,000 lines): same cents."""
    monkeypatch.setattr(measures, "WINDOW_LINES", 500)
    year = inputs.calendar.parse(PERIOD)
    parts = measures.windows(inputs.transactions, year.start, year.end)
    assert len(parts) >= 6
    assert parts[0][0] == year.start and parts[-1][1] == year.end
    assert all(a[1] == b[0] and b[0].day == 1 for a, b in itertools.pairwise(parts))  # contiguous, at months
    windowed = calculate(inputs, PERIOD)
    assert windowed.payout_lines.equals(runs[0].payout_lines)
    assert windowed.measures.equals(runs[0].measures)
    assert windowed.measure_credits.num_rows == runs[0].measure_credits.num_rows


def test_staging_the_credits_once_or_recomputing_them_pays_the_same(
    inputs: CalcInputs, runs: tuple[CalcResult, CalcResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small run stages its credits and measure credits once; a large one recomputes them per query."""
    assert inputs.transactions.num_rows <= measures.STAGE_ALL_LINES  # the fixture's runs staged them
    monkeypatch.setattr(measures, "STAGE_ALL_LINES", 0)
    recomputed = calculate(inputs, PERIOD)
    assert recomputed.payout_lines.equals(runs[0].payout_lines)
    assert recomputed.measures.equals(runs[0].measures)

    def rows(t: pa.Table) -> pa.Table:
        return t.sort_by([(n, "ascending") for n in t.column_names])

    assert rows(recomputed.measure_credits).equals(rows(runs[0].measure_credits))


def test_the_run_exercises_clawbacks_overrides_and_draws(runs: tuple[CalcResult, CalcResult]) -> None:
    """Otherwise the equality above would prove nothing about the paths that differ."""
    kinds = set(runs[0].payout_lines["line_kind"].to_pylist())
    components = set(runs[0].payout_lines["component"].to_pylist())
    assert "clawback" in kinds
    assert any("override" in c for c in components), components


def test_without_detail_only_the_rows_read_one_by_one_are_kept(runs: tuple[CalcResult, CalcResult]) -> None:
    summed, detailed = runs
    assert summed.credits.num_rows == 0
    assert 0 < summed.measure_credits.num_rows < detailed.measure_credits.num_rows
    assert detailed.credits.num_rows >= detailed.measure_credits.num_rows // 4
    cancelled = set(
        detailed.measure_credits.filter(pc.equal(detailed.measure_credits["kind"], "cancellation"))[
            "opportunity_id"
        ].to_pylist()
    )
    kept = set(summed.measure_credits["opportunity_id"].to_pylist())
    assert cancelled and cancelled <= kept


def test_the_order_of_input_rows_changes_nothing(
    inputs: CalcInputs, runs: tuple[CalcResult, CalcResult]
) -> None:
    """Byte-identical results may not depend on which row a thread happens to see first: the same
    facts with every table's rows reversed pay exactly the same (a pick among tied rows would not)."""
    from dataclasses import replace

    import pyarrow as pa

    def reversed_rows(table: pa.Table | None) -> pa.Table | None:
        return None if table is None else table.take(pa.array(range(table.num_rows - 1, -1, -1)))

    names = ["transactions", "opportunities", "opportunity_splits", "assignments", "plan_assignments"]
    flipped = replace(inputs, **{n: reversed_rows(getattr(inputs, n)) for n in names})
    again = calculate(flipped, PERIOD)
    assert again.payout_lines.equals(runs[0].payout_lines)
    assert again.measures.equals(runs[0].measures)


def test_a_large_window_keeps_each_detail_row_once_whichever_reasons_keep_it(
    inputs: CalcInputs, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large window reads the rows a Detail keeps with one query per reason (the cancelled deals' from
    their own credits): exactly the measure credits that meet one reason or more, each once. The
    reference is every measure credit, filtered here by the three reasons with SQL's null logic (an
    activity credit has no transaction kind, and the team has someone paid on activities)."""
    year = inputs.calendar.parse(PERIOD)
    ae = min(p.name for p in inputs.plans.values() if p.name.startswith("account_executive"))
    version = min(p.version for p in inputs.plans.values() if p.name == ae)
    seats = inputs.plan_assignments
    team = sorted(
        min(pc.filter(seats["person_id"], pc.equal(seats["plan"], plan)).to_pylist())
        for plan in (ae, "sales_development", "first_line_manager")
    )
    detail = measures.Detail(
        measures=frozenset({(ae, version, "bookings")}), cancelled=True, payees=tuple(team), credit_days=False
    )

    def ordered(t: pa.Table) -> pa.Table:
        return t.sort_by([(n, "ascending") for n in t.column_names])

    every = measures.credit_and_measure(inputs, year.start, year.end).measure_credits
    deals = measures._cancelled_deals(inputs, year.start, year.end)
    reasons = {
        "measured": pc.and_kleene(
            pc.and_kleene(pc.equal(every["plan"], ae), pc.equal(every["version"], version)),
            pc.equal(every["measure"], "bookings"),
        ),
        "cancelled": pc.and_kleene(
            pc.is_in(every["kind"], pa.array(["booking", "cancellation"]), skip_nulls=True),
            pc.is_in(every["opportunity_id"], deals, skip_nulls=True),
        ),
        "payees": pc.is_in(every["person_id"], pa.array(team)),
    }
    any_reason = pc.or_kleene(pc.or_kleene(reasons["measured"], reasons["cancelled"]), reasons["payees"])
    reference = ordered(every.filter(any_reason))
    assert all(pc.any(r).as_py() for r in reasons.values())  # every reason keeps rows
    assert pc.any(pc.and_(reasons["measured"], reasons["payees"])).as_py()  # some for two reasons
    assert pc.any(pc.and_(pc.is_null(every["kind"]), reasons["payees"])).as_py()  # activity credits kept

    def kept() -> pa.Table:
        return ordered(
            measures.credit_and_measure(inputs, year.start, year.end, detail=detail).measure_credits
        )

    assert kept().equals(reference)  # a small window: one query
    monkeypatch.setattr(measures, "STAGE_ALL_LINES", 0)  # the path of a large run
    assert kept().equals(reference)
