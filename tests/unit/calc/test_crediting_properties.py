"""Properties of crediting over random companies (hypothesis).

- splits conserve the credited amount: with everybody on the plan, the credits of each transaction sum
  to its amount whether the deal is split (percents totalling 100) or credited to its owner;
- crediting is deterministic: the same inputs give an identical Arrow table;
- adding a transaction never removes a credit.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openspm.engine.calc.crediting import credit
from openspm.engine.calc.inputs import CalcInputs
from tests.unit.calc.builders import booking, deal, make_inputs, plan_doc, seat

Q1 = (date(2025, 1, 1), date(2025, 4, 1))
PEOPLE = ["P1", "P2", "P3", "P4"]
AE = plan_doc(
    "ae",
    crediting=[{"kind": "split", "name": "revenue_split"}, {"kind": "direct", "name": "owner"}],
    measures=[{"name": "bookings", "aggregate": "sum"}],
)
SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def shares(draw: st.DrawFn) -> list[tuple[str, Decimal]]:
    """People and percents (2 decimals) that total exactly 100."""
    people = draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=3, unique=True))
    cuts = sorted(draw(st.lists(st.integers(1, 9999), min_size=len(people) - 1, max_size=len(people) - 1)))
    bounds = [0, *cuts, 10000]
    return [(p, Decimal(bounds[i + 1] - bounds[i]) / 100) for i, p in enumerate(people)]


@st.composite
def companies(draw: st.DrawFn) -> dict[str, Any]:
    n_deals = draw(st.integers(1, 4))
    deals, splits, transactions = [], [], []
    for d in range(n_deals):
        deals.append(deal(f"O{d}", draw(st.sampled_from(PEOPLE))))
        if draw(st.booleans()):
            for person, percent in draw(shares()):
                splits.append({"opportunity_id": f"O{d}", "person_id": person, "percent": percent})
    for t in range(draw(st.integers(1, 6))):
        cents = draw(st.integers(-(10**9), 10**9))
        day = Q1[0] + timedelta(days=draw(st.integers(0, 89)))
        transactions.append(
            booking(
                f"T{t}",
                day.isoformat(),
                str(Decimal(cents) / 100),
                opportunity_id=f"O{draw(st.integers(0, n_deals - 1))}",
            )
        )
    return {"opportunities": deals, "splits": splits, "transactions": transactions}


def _inputs(company: dict[str, Any]) -> CalcInputs:
    return make_inputs(plans=[AE], plan_assignments=[seat(p, "ae") for p in PEOPLE], **company)


@SETTINGS
@given(companies())
def test_credits_of_each_transaction_sum_to_its_amount(company: dict[str, Any]) -> None:
    credits = credit(_inputs(company), *Q1)
    by_transaction: dict[str, Decimal] = {}
    for row in credits.to_pylist():
        by_transaction[row["source_id"]] = by_transaction.get(row["source_id"], Decimal(0)) + row["amount"]
    assert by_transaction == {t["transaction_id"]: Decimal(t["amount"]) for t in company["transactions"]}


@SETTINGS
@given(companies())
def test_crediting_is_deterministic(company: dict[str, Any]) -> None:
    first = credit(_inputs(company), *Q1)
    again = credit(_inputs(company), *Q1)
    assert first.equals(again)
    assert first.num_rows >= len(company["transactions"])  # every transaction is credited to someone


@SETTINGS
@given(companies(), st.integers(-(10**6), 10**6), st.integers(0, 89), st.sampled_from(PEOPLE))
def test_adding_a_transaction_never_removes_credits(
    company: dict[str, Any], cents: int, offset: int, owner: str
) -> None:
    before = credit(_inputs(company), *Q1)
    extra = dict(company)
    extra["opportunities"] = [*company["opportunities"], deal("ONEW", owner)]
    day = (Q1[0] + timedelta(days=offset)).isoformat()
    extra["transactions"] = [
        *company["transactions"],
        booking("TNEW", day, str(Decimal(cents) / 100), opportunity_id="ONEW"),
    ]
    after = credit(_inputs(extra), *Q1)
    kept = after.filter(pc.not_equal(after.column("source_id"), "TNEW"))
    assert kept.equals(before)
    assert after.num_rows == before.num_rows + 1  # the new deal has no splits: its owner only
