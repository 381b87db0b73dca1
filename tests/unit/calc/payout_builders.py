"""Short helpers for payout scenarios: a one-measure plan in YAML, a rep's bookings, lines as tuples."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import ibis

from openspm.engine.calc.run import CalcResult, calculate
from tests.unit.calc.builders import make_inputs

HEADER = """
name: {name}
version: 1
effective_from: 2025-01-01
currency: USD
period: {period}
crediting:
  - {{kind: direct, name: owner, owner: transaction}}
measures:
  - name: bookings
    aggregate: sum
    filter: "transaction.kind IN ('booking', 'cancellation')"
    quota: bookings
  - name: new_logos
    aggregate: count
    filter: "transaction.kind = 'booking' AND transaction.amount >= 50000"
"""


def plan(components: str, *, period: str = "{type: monthly}", extra: str = "", name: str = "ae") -> str:
    """A plan paying on `bookings` (sum, quota `bookings`) and `new_logos` (count of bookings ≥ 50,000)."""
    return HEADER.format(name=name, period=period) + "components:\n" + components + extra


def booking(
    tid: str, day: str, amount: int | str, person: str = "P1", kind: str = "booking", opp: str | None = None
) -> dict[str, Any]:
    return {
        "transaction_id": tid,
        "kind": kind,
        "date": day,
        "amount": amount,
        "currency": "USD",
        "owner_id": person,
        "opportunity_id": opp,
    }


def seat(
    person: str = "P1", start: str = "2025-01-01", ti: int = 60000, end: str | None = None, name: str = "ae"
) -> dict[str, Any]:
    return {
        "person_id": person,
        "plan": name,
        "version": 1,
        "start_date": start,
        "end_date": end,
        "target_incentive": ti,
        "currency": "USD",
    }


def quota(period: str, amount: int, person: str = "P1", measure: str = "bookings") -> dict[str, Any]:
    return {
        "subject_id": person,
        "subject_kind": "person",
        "measure": measure,
        "period": period,
        "amount": amount,
    }


def run(
    plans: Sequence[str],
    period: str,
    *,
    transactions: Iterable[dict[str, Any]] = (),
    seats: Iterable[dict[str, Any]] = (seat(),),
    quotas: Iterable[dict[str, Any]] = (),
    prior: Iterable[dict[str, Any]] | None = None,
    assignments: Iterable[dict[str, Any]] = (),
    backend: ibis.BaseBackend | None = None,
) -> CalcResult:
    inputs = make_inputs(
        plans=list(plans),
        plan_assignments=seats,
        transactions=transactions,
        quotas=quotas,
        prior_lines=prior,
        assignments=assignments,
    )
    return calculate(inputs, period, backend=backend)


def lines(result: CalcResult) -> list[tuple[str, str, str, str, Decimal]]:
    """(person, period, component, line kind, amount) per payout line, in the table's order."""
    return [
        (r["person_id"], r["period"], r["component"], r["line_kind"], r["amount"])
        for r in result.payout_lines.to_pylist()
    ]


def amounts(result: CalcResult) -> dict[tuple[str, str, str], Decimal]:
    """(person, period, component) → total amount (several lines of one component add up)."""
    out: dict[tuple[str, str, str], Decimal] = {}
    for person, period, component, _, amount in lines(result):
        key = (person, period, component)
        out[key] = out.get(key, Decimal(0)) + amount
    return out


def explanations(result: CalcResult) -> list[dict[str, Any]]:
    return [json.loads(r["explanation"]) for r in result.payout_lines.to_pylist()]


def as_prior(*results: CalcResult) -> list[dict[str, Any]]:
    """The payout lines of earlier runs, as prior_lines rows for the next run."""
    return [row for r in results for row in r.payout_lines.to_pylist()]
