"""Component earnings to date, per person and step: gates → tiers → caps.

Cumulative commissions, SPIFs and bonuses of every plan are evaluated in **one** step
(`grid_components`, over parameter tables built from the plans); per-transaction commissions and
overrides (adjustments.py) one step each. Each returns an `Earned` of Ibis tables: `lines` (the rows
that become payout lines, in the columns of `LINE_COLUMNS`), `earned` (earnings to date per person and
step, used by the plan cap, the overrides and clawback rates), `details` (the tiers, milestones or team
basis behind each line, summing to its `raw`) and `gates` (each gate's measure, attainment and whether
it opened).

- gates: every gate must be open (attainment of its measure ≥ `min_attainment`, with a quota); a closed
  gate sets `gate_adjustment = −raw`, so the explanation still shows what the tiers would have paid;
- caps: `amount`, or `multiple_of_target_incentive` × the component's target incentive (the plan-period
  target incentive, prorated, × the component's `weight` %); `cap_adjustment = −max(0, gated − cap)`;
- per-transaction commissions: one line per credit, placed on the running total (date, source_id order);
  a cap is consumed in the same order; gates are read at the end of the credit's pay period; the
  earnings are final when the credit is placed, so they are paid in full (no advance percent).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from openspm.domain.plans import Bonus, Cap, Commission, Gate, Plan, Spif
from openspm.domain.plans.model import Boundary, RateUnit, TierAxis, TierBasis, TierMethod
from openspm.engine.calc.payout import KEY, with_month
from openspm.engine.calc.session import memtable, reusable
from openspm.engine.calc.tiers import EXACT, PERCENT, ZERO, divide, evaluate_tiers, exact, lit

LINE_COLUMNS: dict[str, str] = {
    "person_id": "string",
    "plan": "string",
    "version": "int32",
    "plan_period": "string",
    "period": "string",
    "step_order": "int32",
    "component": "string",
    "component_kind": "string",
    "source_id": "string",
    "date": "date",
    "rule": "string",
    "measure": "string",
    "value": EXACT,
    "credits": "int64",
    "quota": EXACT,
    "attainment": EXACT,
    "running_before": EXACT,
    "running_after": EXACT,
    "target_incentive": EXACT,
    "raw": EXACT,
    "gate_adjustment": EXACT,
    "cap": EXACT,
    "cap_adjustment": EXACT,
    "earned": EXACT,
    "paid_in_full": "boolean",  # spif, bonus, per-transaction: no advance percent
}

DETAIL_COLUMNS: dict[str, str] = {
    "person_id": "string",
    "plan": "string",
    "version": "int32",
    "plan_period": "string",
    "period": "string",
    "component": "string",
    "source_id": "string",
    "idx": "int32",
    "lower": EXACT,
    "upper": EXACT,
    "rate": EXACT,
    "base": EXACT,
    "amount": EXACT,
}

GATE_COLUMNS: dict[str, str] = {
    "person_id": "string",
    "plan": "string",
    "version": "int32",
    "plan_period": "string",
    "period": "string",
    "component": "string",
    "idx": "int32",
    "measure": "string",
    "min_attainment": EXACT,
    "attainment": EXACT,
    "is_open": "boolean",
}


@dataclass(frozen=True)
class Earned:
    lines: ir.Table
    earned: ir.Table
    details: ir.Table
    gates: ir.Table | None


def conform(t: ir.Table, columns: dict[str, str], **values: ir.Value | None) -> ir.Table:
    """Select `columns` in order and type, taking each from `values`, else from `t`, else null."""
    out = {}
    for name, dtype in columns.items():
        value = values.get(name, t[name] if name in t.columns else None)
        out[name] = ibis.null(dtype) if value is None else value.cast(dtype)
    return t.select(**out)


def _plan_rows(grid: ir.Table, plan: Plan, measure: str) -> ir.Table:
    return grid.filter((grid.plan == plan.name) & (grid.version == plan.version) & (grid.measure == measure))


def component_ti(ti: ir.DecimalValue, weight: Decimal | None) -> ir.DecimalValue:
    return ti if weight is None else exact(ti * lit(weight / 100))


def cap_amount(cap: Cap | None, ti: ir.DecimalValue) -> ir.DecimalValue | None:
    if cap is None:
        return None
    if cap.amount is not None:
        return lit(cap.amount)
    return exact(ti * lit(cap.multiple_of_target_incentive or Decimal(0)))


def gate_table(
    grid: ir.Table, plan: Plan, name: str, own: str | None, gates: tuple[Gate, ...]
) -> ir.Table | None:
    """Per person and step: whether every gate of the component is open, and each gate's reading."""
    if not gates:
        return None
    table: ir.Table | None = None
    for i, gate in enumerate(gates):
        rows = _plan_rows(grid, plan, gate.measure or own or "")
        is_open = (rows.quota > 0) & (rows.value * lit(100) >= exact(rows.quota * lit(gate.min_attainment)))
        part = rows.select(*KEY, **{f"g{i}_att": rows.attainment, f"g{i}_open": is_open.fill_null(False)})
        table = part if table is None else table.join(part, KEY)
    assert table is not None
    cols = [table[f"g{i}_open"] for i in range(len(gates))]
    all_open = cols[0]
    for col in cols[1:]:
        all_open = all_open & col
    return table.mutate(gate_open=all_open)


def gate_details(
    gates_: ir.Table | None, name: str, own: str | None, gates: tuple[Gate, ...]
) -> ir.Table | None:
    if gates_ is None:
        return None
    parts = [
        conform(
            gates_,
            GATE_COLUMNS,
            component=ibis.literal(name),
            idx=ibis.literal(i),
            measure=ibis.literal(gate.measure or own or ""),
            min_attainment=lit(gate.min_attainment),
            attainment=gates_[f"g{i}_att"],
            is_open=gates_[f"g{i}_open"],
        )
        for i, gate in enumerate(gates)
    ]
    return ibis.union(*parts) if len(parts) > 1 else parts[0]


def _gate_and_cap(t: ir.Table, gates_: ir.Table | None, cap: ir.DecimalValue | None) -> ir.Table:
    """Adds gate_adjustment, cap, cap_adjustment and earned to a table with `raw`."""
    if gates_ is not None:
        t = t.join(gates_.select(*KEY, "gate_open"), KEY)
        t = t.mutate(gate_adjustment=exact(ibis.ifelse(t.gate_open, lit(0), -t.raw)))
    else:
        t = t.mutate(gate_adjustment=lit(0))
    gated = exact(t.raw + t.gate_adjustment)
    if cap is None:
        return t.mutate(cap=ibis.null(EXACT), cap_adjustment=lit(0), earned=gated)
    t = t.mutate(cap=cap)
    cap_adjustment = exact(-ibis.greatest(lit(0), gated - t.cap))
    return t.mutate(cap_adjustment=cap_adjustment, earned=exact(gated + cap_adjustment))


def _tier_details(
    t: ir.Table, name: str, tiers: list[tuple[int, Decimal, Decimal | None, ir.Value, ir.Value, ir.Value]]
) -> ir.Table:
    parts = [
        conform(
            t,
            DETAIL_COLUMNS,
            component=ibis.literal(name),
            idx=ibis.literal(i),
            lower=lit(lower),
            upper=None if upper is None else lit(upper),
            rate=rate,
            base=base,
            amount=amount,
        )
        for i, lower, upper, base, rate, amount in tiers
    ]
    return ibis.union(*parts) if len(parts) > 1 else parts[0]


def _sum(values: list[ir.DecimalValue]) -> ir.DecimalValue:
    total = values[0]
    for v in values[1:]:
        total = exact(total + v)
    return exact(total)


def commission_per_transaction(  # noqa: PLR0917 - the tables a per-transaction commission reads
    measure_credits: ir.Table,
    months: ir.Table,
    grid: ir.Table,
    plan: Plan,
    c: Commission,
    keep: Callable[[ir.Table], ir.Table] = lambda t: t,
) -> Earned:
    """A rate table on which each credit is placed against the running total: one line per credit.

    `keep` materialises the placed credits, which the lines, the earnings and the explanation read.
    """
    mc = measure_credits.filter(
        (measure_credits.plan == plan.name)
        & (measure_credits.version == plan.version)
        & (measure_credits.measure == c.measure)
    )
    mc = with_month(mc).join(months, ["plan", "version", "month"])
    order = [mc.date, mc.source_id, mc.rule, mc.via_person_id]
    running = ibis.window(
        group_by=["person_id", "plan", "version", "plan_period"], order_by=order, rows=(None, 0)
    )
    mc = mc.mutate(running_after=exact(mc.value.sum().over(running)))
    mc = mc.mutate(running_before=exact(mc.running_after - mc.value))
    rows = _plan_rows(grid, plan, c.measure)
    step = rows.select(
        "person_id",
        "plan",
        "version",
        "plan_period",
        bucket="period",
        quota="quota",
        attainment="attainment",
        component_ti=component_ti(rows.target_incentive, c.weight),
    )
    t = mc.join(step, ["person_id", "plan", "version", "plan_period", "bucket"])
    tiers = evaluate_tiers(c, t.running_before, t.running_after, t.quota, t.component_ti)
    t = t.mutate(
        **{f"t{r.index}_base": r.base for r in tiers},
        **{f"t{r.index}_rate": r.rate for r in tiers},
        **{f"t{r.index}_amount": r.amount for r in tiers},
    )
    t = t.mutate(raw=_sum([t[f"t{r.index}_amount"] for r in tiers]))
    gates_ = gate_table(grid, plan, c.name, c.measure, c.gates)
    if gates_ is not None:
        g = gates_.select(
            "person_id", "plan", "version", "plan_period", bucket="period", gate_open="gate_open"
        )
        t = t.join(g, ["person_id", "plan", "version", "plan_period", "bucket"])
        t = t.mutate(gate_adjustment=exact(ibis.ifelse(t.gate_open, lit(0), -t.raw)))
    else:
        t = t.mutate(gate_adjustment=lit(0))
    t = t.mutate(gated=exact(t.raw + t.gate_adjustment))
    cap = cap_amount(c.cap, t.component_ti)
    if cap is None:
        t = t.mutate(cap=ibis.null(EXACT), cap_adjustment=lit(0), earned=t.gated)
    else:
        t = t.mutate(cap=cap, cum_after=exact(t.gated.sum().over(running)))
        capped = exact(ibis.least(t.cum_after, t.cap) - ibis.least(exact(t.cum_after - t.gated), t.cap))
        t = t.mutate(earned=capped, cap_adjustment=exact(capped - t.gated))
    t = keep(t)
    emitted = t.filter(t.pay_emit)
    lines = conform(
        emitted,
        LINE_COLUMNS,
        period=emitted.pay,
        component=ibis.literal(c.name),
        component_kind=ibis.literal("commission"),
        target_incentive=emitted.component_ti,
        credits=ibis.literal(1),
        paid_in_full=ibis.literal(True),
        attainment=divide(emitted.running_after * lit(100), emitted.quota),
    )
    details = _tier_details(
        emitted.mutate(period=emitted.pay),
        c.name,
        [
            (
                r.index,
                r.lower,
                r.upper,
                emitted[f"t{r.index}_base"],
                emitted[f"t{r.index}_rate"],
                emitted[f"t{r.index}_amount"],
            )
            for r in tiers
        ],
    )
    by_bucket = t.group_by(["person_id", "plan", "version", "plan_period", "bucket"]).aggregate(
        e=exact(t.earned.sum())
    )
    earned = rows.left_join(
        by_bucket,
        [
            rows.person_id == by_bucket.person_id,
            rows.plan == by_bucket.plan,
            rows.version == by_bucket.version,
            rows.plan_period == by_bucket.plan_period,
            rows.period == by_bucket.bucket,
        ],
    ).select(rows, e=by_bucket.e.fill_null(lit(0)))
    to_date = ibis.window(
        group_by=["person_id", "plan", "version", "plan_period"], order_by="step_order", rows=(None, 0)
    )
    earned = earned.mutate(earned=exact(earned.e.sum().over(to_date)))
    earned = conform(
        earned,
        LINE_COLUMNS,
        component=ibis.literal(c.name),
        component_kind=ibis.literal("commission"),
        raw=earned.earned,
        gate_adjustment=lit(0),
        cap_adjustment=lit(0),
        paid_in_full=ibis.literal(True),
    )
    return Earned(lines, earned, details, gate_details(gates_, c.name, c.measure, c.gates))


def is_per_transaction(c: Commission) -> bool:
    return c.tier_basis is TierBasis.PER_TRANSACTION


# --- every cumulative component at once -------------------------------------------------------------------
#
# Commissions on the cumulative basis, SPIFs and bonuses are evaluated in one relational step for every
# plan and component: the plans become three small parameter tables (components, their tiers or
# milestones, their gates) joined to the measure grid, so the step compiles once whatever the number of
# plans. Each row computes exactly the expression the per-component functions above compute with
# literals (the same operations on the same decimal types), so the cents are the same.

_PARAM_DECIMAL = pa.decimal128(38, 10)
_QUANTUM = Decimal(1).scaleb(-10)

COMPONENT_PARAMS = pa.schema(
    [
        ("plan", pa.string()),
        ("version", pa.int32()),
        ("component", pa.string()),
        ("component_kind", pa.string()),
        ("measure", pa.string()),
        ("weight_factor", _PARAM_DECIMAL),  # weight ÷ 100, null = the whole target incentive
        ("has_cap", pa.bool_()),
        ("cap_amount", _PARAM_DECIMAL),
        ("cap_multiple", _PARAM_DECIMAL),
        ("paid_in_full", pa.bool_()),
    ]
)

TIER_PARAMS = pa.schema(
    [
        ("plan", pa.string()),
        ("version", pa.int32()),
        ("component", pa.string()),
        ("idx", pa.int32()),
        ("method", pa.string()),  # marginal | retroactive | interpolated | spif | bonus
        ("per_point", pa.bool_()),
        ("on_attainment", pa.bool_()),
        ("upper_boundary", pa.bool_()),  # boundary: upper (x ≥ lower reaches the tier) or lower (x > lower)
        ("is_first", pa.bool_()),
        ("is_last", pa.bool_()),
        ("has_upper", pa.bool_()),
        ("lo", _PARAM_DECIMAL),  # lower boundary: amount, or attainment ÷ 100 (× quota); bonus: attainment
        ("hi", _PARAM_DECIMAL),
        ("next_lo", _PARAM_DECIMAL),
        ("rate", _PARAM_DECIMAL),  # tier rate, SPIF amount, milestone amount
        ("rate_step", _PARAM_DECIMAL),  # interpolated: next tier's rate − this rate
        ("multiple", _PARAM_DECIMAL),  # milestone multiple of target incentive
        ("detail_lower", _PARAM_DECIMAL),
        ("detail_upper", _PARAM_DECIMAL),
    ]
)

GATE_PARAMS = pa.schema(
    [
        ("plan", pa.string()),
        ("version", pa.int32()),
        ("component", pa.string()),
        ("idx", pa.int32()),
        ("measure", pa.string()),
        ("min_attainment", _PARAM_DECIMAL),
    ]
)


def _d(value: Decimal | int | None) -> Decimal | None:
    """A parameter as the literal `lit` would make it: rounded to 10 decimals (half away from zero)."""
    if value is None:
        return None
    from decimal import ROUND_HALF_UP

    return Decimal(value).quantize(_QUANTUM, rounding=ROUND_HALF_UP)


def is_cumulative(c: object) -> bool:
    """Components `grid_components` evaluates: cumulative commissions, SPIFs and bonuses."""
    return isinstance(c, Spif | Bonus) or (isinstance(c, Commission) and not is_per_transaction(c))


def component_params(plans: list[Plan]) -> tuple[pa.Table, pa.Table, pa.Table]:
    """The cumulative components of `plans` as parameter tables: components, tiers (milestones), gates."""
    comps: list[dict[str, object]] = []
    tiers: list[dict[str, object]] = []
    gates: list[dict[str, object]] = []
    for plan in plans:
        key = {"plan": plan.name, "version": plan.version}
        for c in plan.components:
            if not is_cumulative(c):
                continue
            assert isinstance(c, Commission | Spif | Bonus)
            name = {**key, "component": c.name}
            weight = c.weight if isinstance(c, Commission) else None
            comps.append(
                {
                    **name,
                    "component_kind": c.kind,
                    "measure": c.measure,
                    "weight_factor": None if weight is None else _d(weight / 100),
                    "has_cap": c.cap is not None,
                    "cap_amount": None if c.cap is None else _d(c.cap.amount),
                    "cap_multiple": None
                    if c.cap is None or c.cap.amount is not None
                    else _d(c.cap.multiple_of_target_incentive or Decimal(0)),
                    "paid_in_full": not isinstance(c, Commission),
                }
            )
            gates.extend(
                {**name, "idx": i, "measure": g.measure or c.measure, "min_attainment": _d(g.min_attainment)}
                for i, g in enumerate(c.gates)
            )
            tiers.extend(_tier_rows(name, c))
    return (
        pa.Table.from_pylist(comps, schema=COMPONENT_PARAMS),
        pa.Table.from_pylist(tiers, schema=TIER_PARAMS),
        pa.Table.from_pylist(gates, schema=GATE_PARAMS),
    )


def _tier_rows(name: dict[str, object], c: Commission | Spif | Bonus) -> list[dict[str, object]]:
    blank = {
        "per_point": False,
        "on_attainment": False,
        "upper_boundary": True,
        "has_upper": False,
        "hi": None,
        "next_lo": None,
        "rate_step": None,
        "multiple": None,
        "detail_upper": None,
    }
    if isinstance(c, Spif):
        row = {**blank, "idx": 0, "method": "spif", "is_first": True, "is_last": True}
        return [{**name, **row, "lo": _d(0), "rate": _d(c.amount), "detail_lower": _d(0)}]
    if isinstance(c, Bonus):
        n = len(c.milestones)
        return [
            {
                **name,
                **blank,
                "idx": i,
                "method": "bonus",
                "is_first": i == 0,
                "is_last": i == n - 1,
                "lo": _d(m.attainment),
                "rate": _d(m.amount),
                "multiple": None if m.amount is not None else _d(m.multiple_of_target_incentive or 0),
                "detail_lower": _d(m.attainment),
            }
            for i, m in enumerate(c.milestones)
        ]
    on_attainment = c.tiers_on is not TierAxis.AMOUNT

    def bound(value: Decimal) -> Decimal | None:
        return _d(value / 100) if on_attainment else _d(value)

    rows = []
    for i, tier in enumerate(c.tiers):
        nxt = c.tiers[i + 1] if i + 1 < len(c.tiers) else None
        interpolated = c.tier_method is TierMethod.INTERPOLATED and tier.to is not None and nxt is not None
        rows.append(
            {
                **name,
                "idx": i,
                "method": c.tier_method.value,
                "per_point": c.rate_unit is RateUnit.MULTIPLE_OF_TARGET_INCENTIVE_PER_POINT,
                "on_attainment": on_attainment,
                "upper_boundary": c.boundary is Boundary.UPPER,
                "is_first": i == 0,
                "is_last": nxt is None,
                "has_upper": tier.to is not None,
                "lo": bound(tier.from_),
                "hi": None if tier.to is None else bound(tier.to),
                "next_lo": None if nxt is None else bound(nxt.from_),
                "rate": _d(tier.rate),
                "rate_step": _d(nxt.rate - tier.rate) if interpolated and nxt is not None else None,
                "multiple": None,
                "detail_lower": _d(tier.from_),
                "detail_upper": _d(tier.to),
            }
        )
    return rows


def _in_units(t: ir.Table, column: ir.DecimalValue) -> ir.DecimalValue:
    """A tier boundary in measure units: as is, or attainment ÷ 100 × quota."""
    return ibis.ifelse(t.on_attainment, exact(t.quota * column), column)


def grid_components(
    grid: ir.Table,
    params: tuple[pa.Table, pa.Table, pa.Table],
    keep: Callable[[ir.Table], ir.Table] = lambda t: t,
) -> Earned:
    """Every cumulative commission, SPIF and bonus of every plan, on the measure grid, in one step.

    `keep` materialises the tier and gate rows (each is read twice: by the lines and the explanation).
    """
    comps_t, tiers_t, gates_t = (memtable(p) for p in params)
    details = keep(_grid_tier_details(grid, comps_t, tiers_t))
    gate_rows = keep(_grid_gate_rows(grid, gates_t))
    lines = _grid_lines(grid, comps_t, details, gate_rows)
    return Earned(lines, lines, details, gate_rows)


def _with_component_ti(grid: ir.Table, comps_t: ir.Table) -> ir.Table:
    """The grid's rows per component, with the component's share of the target incentive."""
    rows = grid.join(comps_t, ["plan", "version", "measure"])
    return rows.mutate(
        component_ti=ibis.ifelse(
            rows.weight_factor.isnull(),
            rows.target_incentive,
            exact(rows.target_incentive * rows.weight_factor),
        )
    )


@reusable
def _grid_tier_details(grid: ir.Table, comps_t: ir.Table, tiers_t: ir.Table) -> ir.Table:
    """One row per grid row, component and tier: the tier's base, rate and amount (DETAIL_COLUMNS)."""
    rows = _with_component_ti(grid, comps_t)
    t = rows.join(tiers_t, ["plan", "version", "component"])
    value, quota, cti = t.value, t.quota, t.component_ti
    lo, hi, next_lo = _in_units(t, t.lo), _in_units(t, t.hi), _in_units(t, t.next_lo)

    def cut(x: ir.DecimalValue) -> ir.DecimalValue:
        top = ibis.ifelse(t.has_upper, ibis.least(x, hi), x)
        return exact(ibis.greatest(lit(ZERO), top - lo))

    def reaches(x: ir.DecimalValue, lower: ir.DecimalValue) -> ir.BooleanValue:
        return ibis.ifelse(t.upper_boundary, x >= lower, x > lower)

    marginal_base = exact(cut(value) - cut(lit(ZERO)))
    in_tier = ibis.ifelse(t.is_first, ibis.literal(True), reaches(value, lo)) & ibis.ifelse(
        t.is_last, ibis.literal(True), ~reaches(value, next_lo)
    )
    reached_base = exact(ibis.ifelse(in_tier, value - lit(ZERO), lit(ZERO)))
    tier_base = ibis.ifelse(t.method == "marginal", marginal_base, reached_base)
    tier_rate = ibis.ifelse(
        t.rate_step.isnull(), t.rate, exact(t.rate + exact(divide(value - lo, hi - lo) * t.rate_step))
    )
    point_base = divide(tier_base * lit(100), quota)
    tier_amount = ibis.ifelse(
        t.per_point, exact(exact(point_base * tier_rate) * cti), exact(tier_base * tier_rate * PERCENT)
    )
    milestone = ((quota > 0) & (value * lit(100) >= exact(quota * t.lo))).fill_null(False)
    pay = ibis.ifelse(t.rate.isnull(), exact(cti * t.multiple), t.rate)
    base = ibis.cases(
        (t.method == "spif", value),
        (t.method == "bonus", ibis.ifelse(milestone, lit(1), lit(0))),
        else_=exact(ibis.ifelse(t.per_point, point_base, tier_base).fill_null(ZERO)),
    )
    rate = ibis.cases((t.method == "spif", t.rate), (t.method == "bonus", exact(pay)), else_=tier_rate)
    amount = ibis.cases(
        (t.method == "spif", exact(value * t.rate)),
        (t.method == "bonus", exact(ibis.ifelse(milestone, pay, lit(0)))),
        else_=exact(tier_amount.fill_null(ZERO)),
    )
    return conform(
        t,
        DETAIL_COLUMNS,
        lower=t.detail_lower,
        upper=t.detail_upper,
        rate=rate,
        base=base,
        amount=amount,
    )


@reusable
def _grid_gate_rows(grid: ir.Table, gates_t: ir.Table) -> ir.Table:
    """One row per grid row and gate: the gate's attainment and whether it is open (GATE_COLUMNS)."""
    g = grid.join(gates_t, ["plan", "version", "measure"])
    is_open = ((g.quota > 0) & (g.value * lit(100) >= exact(g.quota * g.min_attainment))).fill_null(False)
    return conform(g, GATE_COLUMNS, attainment=g.attainment, is_open=is_open)


@reusable
def _grid_lines(grid: ir.Table, comps_t: ir.Table, details: ir.Table, gate_rows: ir.Table) -> ir.Table:
    """A line per grid row and component: the tiers' sum, less a shut gate, capped (LINE_COLUMNS)."""
    rows = _with_component_ti(grid, comps_t)
    ckey = [*KEY, "component"]
    raw = details.group_by(ckey).aggregate(raw=exact(details.amount.sum()))
    shut = gate_rows.group_by(ckey).aggregate(shut=ibis.ifelse(gate_rows.is_open, 0, 1).sum())
    r = rows.join(raw, ckey).left_join(shut, ckey).select(rows, raw=raw.raw, shut=shut.shut)
    gate_adjustment = ibis.ifelse(r.shut.isnull(), lit(0), exact(ibis.ifelse(r.shut == 0, lit(0), -r.raw)))
    gated = exact(r.raw + gate_adjustment)
    cap = ibis.ifelse(r.cap_amount.isnull(), exact(r.component_ti * r.cap_multiple), r.cap_amount)
    cap_adjustment = ibis.ifelse(r.has_cap, exact(-ibis.greatest(lit(0), gated - cap)), lit(0))
    return conform(
        r,
        LINE_COLUMNS,
        target_incentive=r.component_ti,
        raw=r.raw,
        gate_adjustment=gate_adjustment,
        cap=ibis.ifelse(r.has_cap, cap, ibis.null(EXACT)),
        cap_adjustment=cap_adjustment,
        earned=ibis.ifelse(r.has_cap, exact(gated + cap_adjustment), gated),
    )
