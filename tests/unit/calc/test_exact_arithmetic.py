"""Money arithmetic inside the engine is exact decimal arithmetic, never a float, whatever the magnitude.

DuckDB divides DECIMALs as DOUBLEs: `1234567.005 × 100 ÷ 100` came back as `1234567.0049999998`, and
rounding 987,654,321.125 to cents gave .12. The engine divides with the session's exact macro and takes
percentages by exact multiplication; these tests compare it with Python's `Decimal` on the values where a
float is wrong.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from openspm.engine.calc.payout import round_half_up
from openspm.engine.calc.session import Session
from openspm.engine.calc.tiers import divide, lit

EXACT = pa.decimal128(38, 10)
TENTH_OF_A_BILLIONTH = Decimal("1e-10")


def _evaluate(columns: dict[str, list[Decimal]], build: object) -> list[Decimal]:
    with Session() as session:
        table = session.table(pa.table({k: pa.array(v, EXACT) for k, v in columns.items()}))
        expr = table.select(out=build(table))  # type: ignore[operator]
        return session.to_pyarrow(expr).column("out").to_pylist()


def _quotient(n: Decimal, d: Decimal) -> Decimal:
    with localcontext() as context:
        context.prec = 80
        return (n / d).quantize(TENTH_OF_A_BILLIONTH, rounding=ROUND_HALF_UP)


def test_rounding_to_cents_is_half_up_at_any_magnitude() -> None:
    values = [
        Decimal("987654321.125"),  # a float rounded this down to .12
        Decimal("1234567.89"),  # a float gave 1234567.8899999998
        Decimal("12345678901.005"),
        Decimal("-2500000.005"),
        Decimal("0.005"),
        Decimal("-0.0049999999"),
        Decimal("45035996273.7049999999"),
    ]
    rounded = _evaluate({"x": values}, lambda t: round_half_up(t.x, lit(100), lit(Decimal("0.01"))))
    expected = [v.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) for v in values]
    assert rounded == expected


magnitudes = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=10, allow_nan=False)
divisors = st.decimals(
    min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=10, allow_nan=False
).filter(lambda d: d != 0)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(magnitudes, divisors), min_size=1, max_size=40))
def test_division_is_the_exact_quotient_rounded_half_up_at_ten_decimals(
    pairs: list[tuple[Decimal, Decimal]],
) -> None:
    ns, ds = [n for n, _ in pairs], [d for _, d in pairs]
    got = _evaluate({"n": ns, "d": ds}, lambda t: divide(t.n, t.d))
    assert got == [_quotient(n, d) for n, d in pairs]


def test_division_by_zero_is_null_not_an_error() -> None:
    assert _evaluate({"n": [Decimal(5)], "d": [Decimal(0)]}, lambda t: divide(t.n, t.d)) == [None]
