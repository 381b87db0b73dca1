"""A run for some payees reads only the rows that can credit them, and pays them what a full run pays.

`reach.reaching` keeps a superset of the rows that can credit the payees or the people below them; the
first tests build each path by hand (a row kept for its transaction owner, its deal owner, a split, a
territory on the row's or the deal's account, an activity) and one unrelated row that must go. The rest
run the synthetic company's year (the demo plans: splits, overlays, rollups, overrides, clawbacks,
draws) for a rep, a manager, the top of the org and a mix of roles, with one rep moved to another team
mid-year, and compare each with the full run's lines for the same people, explanations included.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from openspm.demo.synthetic import generate_synthetic
from openspm.engine.calc.inputs import CalcInputs
from openspm.engine.calc.reach import reach, reaching
from openspm.engine.calc.run import CalcResult, calculate
from openspm.services.calc_bench import synthetic_inputs
from tests.unit.calc.builders import make_inputs, make_plan, plan_doc, seat, table

PERIOD = "FY2026"


def _ids(t: pa.Table, column: str) -> set[str]:
    return set(t.column(column).to_pylist())


def test_reach_follows_every_reporting_line_down_at_any_date() -> None:
    org = table(
        "assignments",
        [
            {"person_id": "M", "manager_id": "D", "start_date": "2025-01-01"},
            {"person_id": "A", "manager_id": "M", "start_date": "2025-01-01", "end_date": "2025-06-01"},
            {"person_id": "A", "manager_id": "N", "start_date": "2025-06-01"},  # moved to N's team
            {"person_id": "B", "manager_id": "A", "start_date": "2025-01-01"},
            {"person_id": "C", "manager_id": "N", "start_date": "2025-01-01"},
        ],
    )
    assert reach(org, ["M"]) == {"M", "A", "B"}
    assert reach(org, ["N"]) == {"N", "A", "B", "C"}
    assert reach(org, ["D"]) == {"D", "M", "A", "B"}
    assert reach(org, ["C"]) == {"C"}
    # below only the payees on a plan that reads a team, but then the whole way down
    assert reach(org, ["N", "M"], leads=["N"]) == {"N", "A", "B", "C", "M"}
    assert reach(org, ["D"], leads=["D"]) == {"D", "M", "A", "B"}
    assert reach(org, ["D"], leads=["M"]) == {"D"}
    # a payee inside a lead's team is no wall: B, below both M and A, is in M's team
    assert reach(org, ["M", "A"], leads=["M"]) == {"M", "A", "B"}
    assert reach(org, ["A", "M"], leads=["M"]) == {"M", "A", "B"}


TERRITORY_PLAN = plan_doc(
    "mgr",
    crediting=[{"kind": "direct", "name": "owner"}, {"kind": "territory", "name": "territory_owner"}],
    measures=[{"name": "bookings", "aggregate": "sum"}],
)
AE_PLAN = plan_doc(
    "mgr",
    crediting=[{"kind": "direct", "name": "owner"}],
    measures=[{"name": "bookings", "aggregate": "sum"}],
)
ROLLUP_PLAN = plan_doc(
    "team",
    crediting=[{"kind": "rollup", "name": "team"}],
    measures=[{"name": "bookings", "aggregate": "sum"}],
)


def test_reaching_keeps_each_row_that_can_credit_the_payee_and_drops_the_rest() -> None:
    inputs = make_inputs(
        plans=[TERRITORY_PLAN, ROLLUP_PLAN],
        plan_assignments=[seat("P", "mgr"), seat("M", "team"), seat("X", "mgr")],
        assignments=[{"person_id": "P", "manager_id": "M", "start_date": "2025-01-01"}],
        territories=[{"territory_id": "TP", "owner_id": "P"}, {"territory_id": "TX", "owner_id": "X"}],
        account_assignments=[
            {"account_id": "AP", "territory_id": "TP", "start_date": "2025-01-01", "end_date": "2025-02-01"},
            {"account_id": "AX", "territory_id": "TX", "start_date": "2025-01-01"},
        ],
        opportunities=[
            {"opportunity_id": "O-owned", "owner_id": "P", "account_id": "AX"},
            {"opportunity_id": "O-split", "owner_id": "X", "account_id": "AX"},
            {"opportunity_id": "O-territory", "owner_id": "X", "account_id": "AP"},
            {"opportunity_id": "O-other", "owner_id": "X", "account_id": "AX"},
            {"opportunity_id": "O-asked", "owner_id": "X", "account_id": "AX"},
            {"opportunity_id": "O-met", "owner_id": "X", "account_id": "AX"},
        ],
        splits=[
            {"opportunity_id": "O-split", "person_id": "P", "percent": 40, "kind": "overlay"},
            {"opportunity_id": "O-other", "person_id": "X", "percent": 100, "kind": "revenue"},
        ],
        transactions=[
            {"transaction_id": "T-deal-owner", "opportunity_id": "O-owned", "owner_id": "X"},
            {"transaction_id": "T-split", "opportunity_id": "O-split", "owner_id": "X"},
            {"transaction_id": "T-deal-territory", "opportunity_id": "O-territory", "owner_id": "X"},
            {"transaction_id": "T-own-territory", "account_id": "AP", "owner_id": "X"},
            {"transaction_id": "T-tx-owner", "opportunity_id": "O-asked", "owner_id": "P"},
            {"transaction_id": "T-other", "opportunity_id": "O-other", "account_id": "AX", "owner_id": "X"},
            {"transaction_id": "T-no-deal", "owner_id": "X"},
        ],
        activities=[
            {"activity_id": "A-mine", "person_id": "P", "opportunity_id": "O-met"},
            {"activity_id": "A-theirs", "person_id": "X", "opportunity_id": "O-other"},
        ],
    )
    kept = reaching(inputs, ["P"])
    assert _ids(kept.transactions, "transaction_id") == {
        "T-deal-owner",
        "T-split",
        "T-deal-territory",
        "T-own-territory",
        "T-tx-owner",
    }
    assert _ids(kept.activities, "activity_id") == {"A-mine"}
    # deals that can credit P, and the deals a kept row refers to (their fields stay readable)
    assert _ids(kept.opportunities, "opportunity_id") == {
        "O-owned",
        "O-split",
        "O-territory",
        "O-asked",
        "O-met",
    }
    # every split of a kept deal stays (X's 100 % on O-other goes with the deal); territories stay whole
    assert _ids(kept.opportunity_splits, "opportunity_id") == {"O-split"}
    assert kept.account_assignments.equals(inputs.account_assignments)
    # the manager reaches everything P reaches
    managers = reaching(inputs, ["M"])
    assert _ids(managers.transactions, "transaction_id") == _ids(kept.transactions, "transaction_id")
    # without a territory rule, owning a territory credits nothing: those rows need not be read
    only_direct = {k: v for k, v in inputs.plans.items() if k[0] != "mgr"}
    plain = reaching(
        dataclasses.replace(inputs, plans={**only_direct, ("mgr", 1): make_plan(AE_PLAN)}), ["P"]
    )
    assert _ids(plain.transactions, "transaction_id") == {"T-deal-owner", "T-split", "T-tx-owner"}
    # a plan without a rollup or an override reads no team, and nor does having no plan
    flat = dataclasses.replace(inputs, plan_assignments=table("plan_assignments", [seat("M", "mgr")]))
    assert reaching(flat, ["M"]).transactions.num_rows == 0
    assert (
        reaching(
            dataclasses.replace(inputs, plan_assignments=table("plan_assignments")), ["M"]
        ).transactions.num_rows
        == 0
    )


# --- the synthetic company: a run for some payees pays them what the full run pays -------------------


def _set(t: pa.Table, column: str, value: pa.Array) -> pa.Table:
    return t.set_column(t.schema.get_field_index(column), column, value)


def _moved(assignments: pa.Table, person: str, to: str, on: date) -> pa.Table:
    """`person`'s reporting line ends on `on`; from then they report to `to`."""
    mine = pc.equal(assignments["person_id"], person)
    theirs = assignments.filter(mine)
    day = pa.array([on], pa.date32())
    ended = _set(theirs, "end_date", day)
    after = _set(_set(theirs, "start_date", day), "manager_id", pa.array([to], pa.string()))
    return pa.concat_tables([assignments.filter(pc.invert(mine)), ended, after])


@pytest.fixture(scope="module")
def inputs() -> CalcInputs:
    data = generate_synthetic(36, 4_000)
    tables = {**data.tables, "plan_assignments": data.plan_assignments}
    managers = data.tables["assignments"].filter(pc.equal(data.tables["assignments"]["role"], "manager"))
    first, second = managers["person_id"][0].as_py(), managers["person_id"][1].as_py()
    team = data.tables["assignments"].filter(pc.equal(data.tables["assignments"]["manager_id"], first))
    rep = team.filter(pc.equal(team["role"], "ae"))["person_id"][0].as_py()
    tables["assignments"] = _moved(data.tables["assignments"], rep, second, date(2025, 8, 1))
    return synthetic_inputs(tables)


@pytest.fixture(scope="module")
def full(inputs: CalcInputs) -> CalcResult:
    return calculate(inputs, PERIOD)


def _people(inputs: CalcInputs, role: str) -> list[str]:
    a = inputs.assignments
    return sorted(set(a.filter(pc.equal(a["role"], role))["person_id"].to_pylist()))


def _moved_rep(inputs: CalcInputs) -> str:
    counts = inputs.assignments.group_by("person_id").aggregate([("manager_id", "count_distinct")])
    return counts.filter(pc.greater(counts["manager_id_count_distinct"], 1))["person_id"][0].as_py()


def _payees(inputs: CalcInputs, which: str) -> list[str]:
    managers = _people(inputs, "manager")
    return {
        "the moved rep": [_moved_rep(inputs)],
        "the rep's first manager": managers[:1],
        "the rep's second manager": managers[1:2],
        "the top of the org and every manager": _people(inputs, "vp") + managers,
        "an SE, an SDR and an AE of another team": [
            _people(inputs, "se")[-1],
            _people(inputs, "sdr")[-1],
            _people(inputs, "ae")[-1],
        ],
    }[which]


@pytest.mark.parametrize(
    "which",
    [
        "the moved rep",
        "the rep's first manager",
        "the rep's second manager",
        "the top of the org and every manager",
        "an SE, an SDR and an AE of another team",
    ],
)
def test_a_run_for_some_payees_pays_them_exactly_what_the_full_run_pays(
    inputs: CalcInputs, full: CalcResult, which: str
) -> None:
    payees = _payees(inputs, which)
    expected = full.payout_lines.filter(pc.is_in(full.payout_lines["person_id"], pa.array(payees)))
    assert expected.num_rows > 0, "the comparison must cover some lines"
    got = calculate(inputs, PERIOD, payees=payees)
    assert got.payout_lines.equals(expected)
    measures = full.measures.filter(pc.is_in(full.measures["person_id"], pa.array(payees)))
    assert got.measures.equals(measures)


def test_a_rep_s_run_reads_a_fraction_of_the_rows(inputs: CalcInputs) -> None:
    """Otherwise the equality above would hold trivially, every row being read."""
    rep = reaching(inputs, _payees(inputs, "the moved rep"))
    assert 0 < rep.transactions.num_rows < inputs.transactions.num_rows // 4
    top = reaching(inputs, _payees(inputs, "the top of the org and every manager"))
    assert top.transactions.num_rows > inputs.transactions.num_rows * 9 // 10
