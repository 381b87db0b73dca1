"""From MEASURE_CREDITS to PAYOUT_LINES: the second half of the calculation, as ordered relational steps.

    seats        plan assignments × steps (schedule.py) → who is on which plan in which pay period,
                 with the prorated target incentive and quota factor
    measure_grid MEASURE_CREDITS → value to date per person, plan, measure, plan period and pay period,
                 quota (prorated) and attainment
    components   gates → tiers → caps per component (components.py, tiers.py): the earnings to date
    lines        earnings to date × advance percent − already paid → one line per component; the plan
                 cap; clawbacks (carried forward); draws (adjustments.py)
    explanation  canonical JSON per line (explain.py)

Rounding: money is exact (decimal(38, 10)) throughout and is rounded **once**, half-up (half away from
zero, `domain.money.round_money` semantics) to the plan currency's minor unit, where a payout line is
made: `amount = round(due to date − already paid)`. What was already paid is itself a sum of rounded
lines, so the lines of a plan period always add up to the rounded earnings of the period. Every
explanation carries the rounding difference, so its numbers add up to the line to the last digit.

Every step is an Ibis expression (no backend SQL, no per-row Python); Python loops only over plans,
components and tiers.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from openspm.domain.money import minor_units
from openspm.domain.plans import Plan
from openspm.domain.plans.model import Aggregate, DrawKind, ProrationBasis
from openspm.engine.calc.session import memtable, reusable
from openspm.engine.calc.tiers import EXACT, divide, exact, lit

KEY = ["person_id", "plan", "version", "plan_period", "period"]
MEASURE_KEY = [*KEY, "measure"]


def round_half_up(amount: ir.DecimalValue, scale: ir.DecimalValue, unit: ir.DecimalValue) -> ir.DecimalValue:
    """Half away from zero to `unit` = 1/`scale` (a plan's `scale` and `unit` columns: 100 and 0.01 for
    USD): `domain.money.round_money`, as a portable expression, by exact decimal products (no division)."""
    magnitude = exact(exact(amount.abs() * scale) + lit(Decimal("0.5"))).floor()
    return exact(exact(amount.sign().cast(EXACT) * exact(magnitude)) * unit)


# --- seats: who is on which plan in which step --------------------------------------------------------


def _day_numbers(plan_assignments: pa.Table) -> pa.Table:
    start = pc.cast(plan_assignments["start_date"], pa.int32())
    end = pc.cast(plan_assignments["end_date"], pa.int32())
    return pa.table(
        {
            "person_id": plan_assignments["person_id"],
            "plan": plan_assignments["plan"],
            "version": pc.cast(plan_assignments["version"], pa.int32()),
            "start_day": start,
            "end_day": pc.fill_null(end, 2**31 - 1),
            "start_month": pc.add(
                pc.multiply(pc.cast(pc.year(plan_assignments["start_date"]), pa.int32()), 12),
                pc.subtract(pc.cast(pc.month(plan_assignments["start_date"]), pa.int32()), 1),
            ),
            "target_incentive": pc.cast(plan_assignments["target_incentive"], pa.decimal128(38, 10)),
            "a_draw_kind": plan_assignments["draw_kind"],
            "a_draw_amount": pc.cast(plan_assignments["draw_amount"], pa.decimal128(38, 10)),
            "a_draw_periods": pc.cast(plan_assignments["draw_periods"], pa.int32()),
        }
    )


def plan_policies(plans: Mapping[tuple[str, int], Plan]) -> pa.Table:
    """Per plan version: proration, rounding scale, clawback and draw policy (scalars the steps join)."""
    rows = []
    for (name, version), plan in sorted(plans.items()):
        prorate = plan.proration.basis is not ProrationBasis.NONE
        draw, clawback = plan.draw, plan.clawback
        rows.append(
            {
                "plan": name,
                "version": version,
                "prorate_ti": prorate and plan.proration.target_incentive,
                "prorate_quota": prorate and plan.proration.quota,
                "scale": Decimal(10) ** minor_units(plan.currency),
                "unit": Decimal(10) ** -minor_units(plan.currency),
                "currency": plan.currency,
                "clawback_carry": clawback is not None and clawback.carry_forward,
                "draw_recoverable": draw is not None and draw.kind is DrawKind.RECOVERABLE,
                "draw_amount": draw.amount if draw is not None else Decimal(0),
                "draw_periods": draw.periods if draw is not None else 0,
            }
        )
    return pa.Table.from_pylist(rows, schema=_POLICY_SCHEMA)


_POLICY_SCHEMA = pa.schema(
    [
        ("plan", pa.string()),
        ("version", pa.int32()),
        ("prorate_ti", pa.bool_()),
        ("prorate_quota", pa.bool_()),
        ("scale", pa.decimal128(38, 10)),
        ("unit", pa.decimal128(38, 10)),  # 1 / scale: the currency's minor unit
        ("currency", pa.string()),
        ("clawback_carry", pa.bool_()),
        ("draw_recoverable", pa.bool_()),
        ("draw_amount", pa.decimal128(38, 10)),
        ("draw_periods", pa.int32()),
    ]
)


def seats(plan_assignments: pa.Table, steps: ir.Table, policies: ir.Table) -> ir.Table:
    """One row per person and step: the prorated plan-period target incentive and the quota factor, and
    the person's own draw (`own_draw_*`: that of their latest assignment in the step with one, and its
    first month; `own_draw_kind` null without one), which replaces the plan's.

    A person counts in a step when an assignment overlaps the plan period up to the pay period's end (a
    leaver keeps getting the true-up of the plan period they left). Proration (calendar days): days of
    assignment in the plan period ÷ days in the plan period, applied to the target incentive (annual,
    times the plan period's share of a year) and to the quota.
    """
    return _seats(memtable(_day_numbers(plan_assignments)), steps, policies)


@reusable
def _seats(a: ir.Table, steps: ir.Table, policies: ir.Table) -> ir.Table:
    """`seats` of the assignments with their day numbers (`_day_numbers`)."""
    j = a.join(steps, ["plan", "version"]).filter(
        lambda t: (t.start_day < t.pay_end_day) & (t.end_day > t.plan_start_day)
    )
    j = j.join(policies, ["plan", "version"])
    days = ibis.greatest(
        0, ibis.least(j.end_day, j.plan_end_day) - ibis.greatest(j.start_day, j.plan_start_day)
    )
    j = j.mutate(days=days, ti_days=exact(j.target_incentive * days.cast(EXACT)))
    # the person's own draw: that of their latest assignment in the step that has one, with its start
    has_draw = j.a_draw_kind.notnull() & j.a_draw_amount.notnull() & j.a_draw_periods.notnull()
    j = j.mutate(draw_key=ibis.ifelse(has_draw, j.start_day, -1))
    g = j.group_by(KEY).aggregate(
        step_order=j.step_order.max(),
        days=j.days.sum(),
        ti_days=j.ti_days.sum(),
        ti_max=j.target_incentive.max(),
        plan_days=j.plan_days.max(),
        plan_months=j.plan_months.max(),
        prorate_ti=j.prorate_ti.max(),
        prorate_quota=j.prorate_quota.max(),
        start_month=j.start_month.min(),
        own_draw_kind=j.a_draw_kind.argmax(j.draw_key),
        own_draw_amount=j.a_draw_amount.argmax(j.draw_key),
        own_draw_periods=j.a_draw_periods.argmax(j.draw_key),
        own_draw_start_month=j.start_month.argmax(j.draw_key),
        own_draws=has_draw.cast("int32").sum(),
    )
    months = g.plan_months.cast(EXACT)
    prorated = divide(exact(g.ti_days * months), exact(g.plan_days.cast(EXACT) * lit(12)))
    ti = ibis.ifelse(g.prorate_ti, prorated, divide(exact(g.ti_max * months), lit(12)))
    return g.select(
        *KEY,
        "step_order",
        "start_month",
        "plan_days",
        "own_draw_amount",
        "own_draw_periods",
        "own_draw_start_month",
        own_draw_kind=ibis.ifelse(g.own_draws > 0, g.own_draw_kind, ibis.null().cast("string")),
        target_incentive=exact(ti),
        quota_days=ibis.ifelse(g.prorate_quota, g.days, g.plan_days),
    )


# --- measures: value to date, quota, attainment ---------------------------------------------------------


def plan_measures(plans: Mapping[tuple[str, int], Plan]) -> pa.Table:
    rows = [
        {
            "plan": name,
            "version": version,
            "measure": m.name,
            "quota_name": m.quota,
            "is_count": m.aggregate is Aggregate.COUNT,
        }
        for (name, version), plan in sorted(plans.items())
        for m in plan.measures
    ]
    schema = pa.schema(
        [
            ("plan", pa.string()),
            ("version", pa.int32()),
            ("measure", pa.string()),
            ("quota_name", pa.string()),
            ("is_count", pa.bool_()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def month_of(table: ir.Table) -> ir.IntegerValue:
    """year × 12 + month − 1 of each row's `date`: the month bucket the schedule uses."""
    return (table.date.year() * 12 + table.date.month() - 1).cast("int32")


def with_month(credits: ir.Table) -> ir.Table:
    """Adds `month` (year × 12 + month − 1) so credits meet the schedule's month buckets."""
    return credits.mutate(month=month_of(credits))


def latest_quotas(quotas: ir.Table) -> ir.Table:
    """Person quotas, the highest version of each (subject, measure, period)."""
    q = quotas.filter(quotas.subject_kind == "person")
    key = ["subject_id", "measure", "period"]
    if "version" in q.columns:
        q = q.mutate(version=q.version.fill_null(0))
        top = q.group_by(key).aggregate(top=q.version.max())
        q = q.join(top, key).filter(lambda t: t.version == t.top)
    q = q.group_by(key).aggregate(quota=exact(q.amount.sum()))
    return q.rename(person_id="subject_id", quota_name="measure", plan_period="period")


@reusable
def measure_grid(
    monthly: ir.Table,
    seats_: ir.Table,
    buckets: ir.Table,
    measures: ir.Table,
    quotas: ir.Table,
) -> ir.Table:
    """Per person, step and measure of their plan: value and credit count to date, quota, attainment.

    `monthly` holds the measure credits summed per month (`measures.MONTHLY`: the one pass over the
    credited lines); each month is placed in the step it first counts in (`schedule.bucket_table`) and
    accumulated over the steps of each plan period.
    """
    bucketed = monthly.join(buckets, ["plan", "version", "month"])
    sums = (
        bucketed.group_by(["person_id", "plan", "version", "measure", "bucket"])
        .aggregate(step_value=exact(bucketed.value.sum()), step_credits=bucketed.credits.sum())
        .rename(period="bucket")
    )
    grid = seats_.join(measures, ["plan", "version"])
    grid = grid.left_join(sums, ["person_id", "plan", "version", "measure", "period"]).select(
        grid, step_value=sums.step_value.fill_null(lit(0)), step_credits=sums.step_credits.fill_null(0)
    )
    running = ibis.window(
        group_by=["person_id", "plan", "version", "measure", "plan_period"],
        order_by="step_order",
        rows=(None, 0),
    )
    grid = grid.mutate(
        value=exact(grid.step_value.sum().over(running)), credits=grid.step_credits.sum().over(running)
    )
    grid = grid.left_join(quotas, ["person_id", "quota_name", "plan_period"]).select(
        grid, quota_full=quotas.quota
    )
    quota = divide(exact(grid.quota_full * grid.quota_days.cast(EXACT)), grid.plan_days.cast(EXACT))
    return grid.mutate(quota=quota, attainment=divide(grid.value * lit(100), quota)).drop(
        "step_value", "step_credits"
    )
