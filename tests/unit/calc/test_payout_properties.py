"""Invariants of the payout calculation, on generated bookings (hypothesis).

A calculation takes a few seconds to compile, so each property runs on a handful of generated examples;
the generated amounts cover several tiers, the cap and the rounding half-way cases.
"""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openspm.domain.money import round_money
from tests.unit.calc.payout_builders import booking, plan, quota, run

INCREASING = """  - kind: commission
    name: comm
    measure: bookings
    tier_method: {method}
    tier_basis: {basis}
    cap: {{amount: 9000}}
    tiers:
      - {{from: 0, to: 50, rate: 3}}
      - {{from: 50, to: 100, rate: 7.5}}
      - {{from: 100, rate: 12.25}}
"""

amounts_ = st.lists(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal(60000), places=2), min_size=1, max_size=4
)
SLOW = settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _payout(values: list[Decimal], method: str = "marginal", basis: str = "cumulative") -> Decimal:
    tx = [booking(f"T{i}", f"2025-03-{i + 1:02d}", v) for i, v in enumerate(values)]
    result = run(
        [plan(INCREASING.format(method=method, basis=basis))],
        "2025-03",
        transactions=tx,
        quotas=[quota("2025-03", 100000)],
    )
    return sum((r["amount"] for r in result.payout_lines.to_pylist()), Decimal(0))


@SLOW
@given(
    amounts_,
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal(60000), places=2),
    st.sampled_from(["marginal", "retroactive", "interpolated"]),
)
def test_adding_a_credit_never_lowers_pay(values: list[Decimal], extra: Decimal, method: str) -> None:
    """Non-negative, increasing rates and a cap: one more booking never pays less."""
    assert _payout([*values, extra], method) >= _payout(values, method)


@SLOW
@given(amounts_)
def test_marginal_never_pays_more_than_retroactive(values: list[Decimal]) -> None:
    """With increasing rates every slice's rate ≤ the reached tier's rate."""
    assert _payout(values, "marginal") <= _payout(values, "retroactive")


@SLOW
@given(amounts_, st.sampled_from(["cumulative", "per_transaction"]))
def test_explanations_add_up_and_results_are_deterministic(values: list[Decimal], basis: str) -> None:
    """Σ tiers = raw; raw + gate + cap adjustments = earned; earned + held back − paid + rounding = amount."""
    tx = [booking(f"T{i}", f"2025-03-{i + 1:02d}", v) for i, v in enumerate(values)]
    args = ([plan(INCREASING.format(method="interpolated", basis=basis))], "2025-03")
    first = run(*args, transactions=tx, quotas=[quota("2025-03", 100000)])
    again = run(*args, transactions=tx, quotas=[quota("2025-03", 100000)])
    assert first.payout_lines.equals(again.payout_lines)
    assert first.payout_lines.to_pylist() == again.payout_lines.to_pylist()
    for row in first.payout_lines.to_pylist():
        e = json.loads(row["explanation"])
        assert sum((Decimal(t["amount"]) for t in e["tiers"]), Decimal(0)) == Decimal(e["raw"])
        assert Decimal(e["raw"]) + Decimal(e["gate_adjustment"]) + Decimal(e["cap_adjustment"]) == Decimal(
            e["earned"]
        )
        total = (
            Decimal(e["earned"])
            + Decimal(e["held_back"])
            - Decimal(e["already_paid"])
            + Decimal(e["rounding"])
        )
        assert total == row["amount"] == Decimal(e["amount"])
        assert row["amount"] == round_money(Decimal(e["earned"]) - Decimal(e["already_paid"]), "USD")
