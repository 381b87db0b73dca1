"""Which pay periods a run computes for each plan version, and the plan period each one belongs to.

A plan has a *plan period* (monthly, quarterly or annual: the period of quota and attainment) and a *pay
period*: the plan period itself, or a month / quarter inside it when the plan pays advances. A run for a
period label computes, for every plan version, the pay periods that **end inside** that label's period
(so `2025-Q1` computes the three monthly advances of a quarterly plan, and `FY2025` a whole year); the
plan periods they belong to are computed to date (their start up to the pay period's end).

*Shadow* steps are the final pay periods of earlier plan periods inside the clawback look-back: computed
only for the commission rate a cancelled booking earned, never paid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pyarrow as pa

from openspm.domain.periods import FiscalCalendar, Period, PeriodKind
from openspm.domain.plans import Plan
from openspm.domain.plans.model import Advances, PeriodType

_PLAN_KIND = {
    PeriodType.MONTHLY: PeriodKind.MONTH,
    PeriodType.QUARTERLY: PeriodKind.QUARTER,
    PeriodType.ANNUAL: PeriodKind.YEAR,
}
_ADVANCE_KIND = {Advances.MONTHLY: PeriodKind.MONTH, Advances.QUARTERLY: PeriodKind.QUARTER}
_MONTHS = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.YEAR: 12}
_EPOCH = date(1970, 1, 1)


def day_number(day: date) -> int:
    """Days since 1970-01-01 (Arrow's date32): date arithmetic as integers, portable to every backend."""
    return (day - _EPOCH).days


def month_number(day: date) -> int:
    """year × 12 + month − 1: the months of a plan's periods are whole, so buckets are month ranges."""
    return day.year * 12 + day.month - 1


def plan_kind(plan: Plan) -> PeriodKind:
    return _PLAN_KIND[plan.period.type]


def pay_kind(plan: Plan) -> PeriodKind:
    """The grain a plan pays at: its advances' grain, or the plan period when it pays no advances."""
    return _ADVANCE_KIND.get(plan.period.advances, plan_kind(plan))


@dataclass(frozen=True)
class Step:
    """One pay period of one plan version, with the plan period it belongs to."""

    plan: str
    version: int
    period: Period  # the pay period
    plan_period: Period
    is_final: bool  # the last pay period of its plan period (a true-up when the plan pays advances)
    emit: bool  # False: a shadow step (clawback rates only)


def _overlaps(period: Period, plan: Plan) -> bool:
    return period.end > plan.effective_from and (
        plan.effective_to is None or period.start < plan.effective_to
    )


def plan_steps(plan: Plan, calendar: FiscalCalendar, run: Period, lookback_days: int) -> list[Step]:
    """The steps of one plan version for a run over `run`, shadow steps first, in time order."""
    steps: list[Step] = []
    pkind, gkind = plan_kind(plan), pay_kind(plan)
    paid = [
        p
        for p in calendar.periods_between(run.start, run.end, gkind)
        if run.start < p.end <= run.end and _overlaps(calendar.containing(p.start, pkind), plan)
    ]
    if lookback_days and paid:
        first_start = calendar.containing(paid[0].start, pkind).start
        earlier = calendar.periods_between(run.start - timedelta(days=lookback_days), first_start, pkind)
        steps.extend(
            Step(plan.name, plan.version, shadow, shadow, is_final=True, emit=False)
            for shadow in earlier
            if shadow.end <= first_start and _overlaps(shadow, plan)
        )
    for pay in paid:
        plan_period = calendar.containing(pay.start, pkind)
        steps.append(Step(plan.name, plan.version, pay, plan_period, pay.end == plan_period.end, emit=True))
    return steps


def steps_table(
    steps: Iterable[Step], plans: Mapping[tuple[str, int], Plan], calendar: FiscalCalendar
) -> pa.Table:
    """The steps as a table: labels, dates, day and month numbers, advance policy and TI share."""
    calendar_offset = calendar.start_month - 1
    cols: dict[str, list[object]] = {k: [] for k in _STEP_SCHEMA.names}
    for order, step in enumerate(steps):
        plan = plans[(step.plan, step.version)]
        advances = plan.period.advances is not Advances.NONE
        months = _MONTHS[step.plan_period.kind]
        values: dict[str, object] = {
            "plan": step.plan,
            "version": step.version,
            "period": step.period.label,
            "plan_period": step.plan_period.label,
            "step_order": order,
            "pay_start": step.period.start,
            "pay_end": step.period.end,
            "plan_start": step.plan_period.start,
            "pay_start_day": day_number(step.period.start),
            "pay_end_day": day_number(step.period.end),
            "plan_start_day": day_number(step.plan_period.start),
            "plan_end_day": day_number(step.plan_period.end),
            "plan_days": step.plan_period.days,
            "pay_start_month": month_number(step.period.start),
            "pay_months": _MONTHS[step.period.kind],
            "pay_offset": 0 if step.period.kind is PeriodKind.MONTH else calendar_offset,
            "is_final": step.is_final,
            "emit": step.emit,
            "advance_percent": Decimal(100) if step.is_final or not advances else plan.period.advance_percent,
            "line_kind": "earning" if not advances else ("true_up" if step.is_final else "advance"),
            "plan_months": months,
        }
        for key, value in values.items():
            cols[key].append(value)
    return pa.table(cols, schema=_STEP_SCHEMA)


_STEP_SCHEMA = pa.schema(
    [
        ("plan", pa.string()),
        ("version", pa.int32()),
        ("period", pa.string()),
        ("plan_period", pa.string()),
        ("step_order", pa.int32()),
        ("pay_start", pa.date32()),
        ("pay_end", pa.date32()),
        ("plan_start", pa.date32()),
        ("pay_start_day", pa.int32()),
        ("pay_end_day", pa.int32()),
        ("plan_start_day", pa.int32()),
        ("plan_end_day", pa.int32()),
        ("plan_days", pa.int32()),
        ("pay_start_month", pa.int32()),
        ("pay_months", pa.int32()),
        ("pay_offset", pa.int32()),
        ("is_final", pa.bool_()),
        ("emit", pa.bool_()),
        ("advance_percent", pa.decimal128(38, 10)),
        ("line_kind", pa.string()),
        ("plan_months", pa.int32()),
    ]
)


def bucket_table(steps: Iterable[Step]) -> pa.Table:
    """(plan, version, month number) → where a credit of that month counts.

    `bucket` is the first step whose to-date value includes the month (a month earlier in its plan period
    than the run counts in the run's first step; later steps add it through the running total); `pay` is
    the step whose pay period contains the month (null before the run) and `pay_emit` whether it pays.
    """
    cols: dict[str, list[object]] = {name: [] for name in _BUCKET_SCHEMA.names}
    by_plan: dict[tuple[str, int], list[Step]] = {}
    for step in steps:
        by_plan.setdefault((step.plan, step.version), []).append(step)
    for (name, version), plan_steps_ in by_plan.items():
        months: dict[int, dict[str, object]] = {}
        for step in sorted(plan_steps_, key=lambda s: s.period.end):
            first, pay_first = month_number(step.plan_period.start), month_number(step.period.start)
            for month in range(first, month_number(step.period.end)):
                row = months.setdefault(
                    month,
                    {
                        "plan_period": step.plan_period.label,
                        "plan_start_month": first,
                        "bucket": step.period.label,
                        "pay": None,
                        "pay_emit": False,
                    },
                )
                if month >= pay_first:
                    row["pay"], row["pay_emit"] = step.period.label, step.emit
        for month, row in sorted(months.items()):
            for key, value in {"plan": name, "version": version, "month": month, **row}.items():
                cols[key].append(value)
    return pa.table(cols, schema=_BUCKET_SCHEMA)


_BUCKET_SCHEMA = pa.schema(
    [
        ("plan", pa.string()),
        ("version", pa.int32()),
        ("month", pa.int32()),
        ("plan_period", pa.string()),
        ("plan_start_month", pa.int32()),
        ("bucket", pa.string()),
        ("pay", pa.string()),
        ("pay_emit", pa.bool_()),
    ]
)


def window_of(steps: Iterable[Step]) -> tuple[date, date] | None:
    """The dates whose credits a run reads: from the earliest plan-period start to the latest pay end."""
    steps = list(steps)
    if not steps:
        return None
    return min(s.plan_period.start for s in steps), max(s.period.end for s in steps)
