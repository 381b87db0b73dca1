"""Rate tables as Ibis expressions: marginal, retroactive and interpolated tiers (DESIGN.md §5).

Every method is written for a value placed on the table from `before` to `after` (in the measure's
units): the period's total is `before = 0, after = total`; a credit placed per transaction is
`before = running total without it, after = running total with it`. Tiers on attainment are turned into
measure units by multiplying their boundaries by quota ÷ 100, so comparisons stay exact decimals.

- marginal: each tier pays its slice of `(before, after]` at its own rate (boundary ownership is moot);
- retroactive: the whole `after − before` is paid at the rate of the tier `after` reaches;
- interpolated: likewise, at the rate interpolated between the reached tier's `from` rate and the next
  tier's rate (the last tier is flat).

`percent_of_credit` pays rate % of the amount; `multiple_of_target_incentive_per_point` pays
rate × target incentive per point of attainment (amount × 100 ÷ quota points).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from openspm.domain.plans import Commission
from openspm.domain.plans.model import Boundary, RateUnit, TierAxis, TierMethod
from openspm.engine.calc.session import EXACT_DIVIDE, divides_exactly

EXACT = "decimal(38, 10)"
ZERO = Decimal(0)


def lit(value: Decimal | int) -> ir.DecimalScalar:
    """An exact decimal literal."""
    return ibis.literal(Decimal(value), type=EXACT)


def exact(expr: ir.Value) -> ir.DecimalValue:
    """Cast to the calculation's exact money type, rounding at its 10th decimal.

    Backends widen the scale of a product of decimals (DuckDB: 10 + 10) while Ibis infers the operand
    type, so a plain cast to the same type would be dropped and the next product overflow; the detour
    through decimal(37, 10) makes every backend narrow the value back to 10 decimals.
    """
    return expr.cast("decimal(37, 10)").cast(EXACT)


#: `x × PERCENT` is x ÷ 100, exactly: a product of decimals widens its scale instead of rounding.
PERCENT = ibis.literal(Decimal("0.01"), type=dt.Decimal(3, 2))


@ibis.udf.scalar.builtin(name=EXACT_DIVIDE)  # type: ignore[untyped-decorator]
def _exact_quotient(n: dt.Decimal(38, 10), d: dt.Decimal(38, 10)) -> dt.Decimal(38, 10):  # type: ignore[valid-type]
    """The DuckDB session's exact division macro (`session.EXACT_DIVIDE`)."""


def divide(numerator: ir.NumericValue, denominator: ir.NumericValue) -> ir.DecimalValue:
    """numerator ÷ denominator at 10 decimals (half away from zero), null when the denominator is null or
    zero.

    Never through a float: on DuckDB (whose `/` on DECIMALs is a DOUBLE division) by the session's exact
    macro; on other backends by their own decimal division (PostgreSQL's numeric division is exact to
    at least 16 decimals before the cast rounds it).
    """
    safe = ibis.ifelse(denominator == 0, ibis.null(EXACT), exact(denominator))
    if divides_exactly():
        return _exact_quotient(exact(numerator), safe)
    return exact(numerator / safe)


@dataclass(frozen=True)
class TierResult:
    """One tier evaluated for every row: what it was applied to, at what rate, for how much."""

    index: int
    lower: Decimal
    upper: Decimal | None
    base: ir.DecimalValue  # amount in the tier, or points of attainment (per-point rates)
    rate: ir.DecimalValue
    amount: ir.DecimalValue


def _boundary(value: Decimal, quota: ir.DecimalValue, axis: TierAxis) -> ir.DecimalValue:
    if axis is TierAxis.AMOUNT:
        return lit(value)
    return exact(quota * lit(value / 100))


def _reached(x: ir.DecimalValue, lower: ir.DecimalValue, index: int, boundary: Boundary) -> ir.BooleanValue:
    if index == 0:
        return ibis.literal(True)
    return x >= lower if boundary is Boundary.UPPER else x > lower


def evaluate_tiers(
    c: Commission,
    before: ir.DecimalValue,
    after: ir.DecimalValue,
    quota: ir.DecimalValue,
    target_incentive: ir.DecimalValue,
) -> list[TierResult]:
    """Every tier of `c` applied to the value placed from `before` to `after`; amounts sum to the raw pay."""
    per_point = c.rate_unit is RateUnit.MULTIPLE_OF_TARGET_INCENTIVE_PER_POINT
    lowers = [_boundary(t.from_, quota, c.tiers_on) for t in c.tiers]
    uppers = [None if t.to is None else _boundary(t.to, quota, c.tiers_on) for t in c.tiers]
    results: list[TierResult] = []
    for i, tier in enumerate(c.tiers):
        lo, hi = lowers[i], uppers[i]
        if c.tier_method is TierMethod.MARGINAL:
            base = exact(_slice(after, lo, hi) - _slice(before, lo, hi))
            rate = lit(tier.rate)
        else:
            in_tier = _reached(after, lo, i, c.boundary)
            if i + 1 < len(c.tiers):
                in_tier = in_tier & ~_reached(after, lowers[i + 1], i + 1, c.boundary)
            base = exact(ibis.ifelse(in_tier, after - before, lit(ZERO)))
            rate = lit(tier.rate)
            if c.tier_method is TierMethod.INTERPOLATED and hi is not None:
                step = lit(c.tiers[i + 1].rate - tier.rate)
                rate = exact(lit(tier.rate) + exact(divide(after - lo, hi - lo) * step))
        if per_point:
            base = divide(base * lit(100), quota)
            amount = exact(exact(base * rate) * target_incentive)
        else:
            amount = exact(base * rate * PERCENT)
        results.append(
            TierResult(
                i, tier.from_, tier.to, exact(base.fill_null(ZERO)), rate, exact(amount.fill_null(ZERO))
            )
        )
    return results


def _slice(x: ir.DecimalValue, lo: ir.DecimalValue, hi: ir.DecimalValue | None) -> ir.DecimalValue:
    top = x if hi is None else ibis.least(x, hi)
    return exact(ibis.greatest(lit(ZERO), top - lo))
