"""The calculation's entry point: `calculate(inputs, period)` → credits, measures and payout lines.

The whole pipeline, in order (each step a pure function of tables; payout.py documents rounding):
Ibis compiles one expression per materialised step and compiling, not executing, is most of the fixed
cost of a run; so steps are built once for all plans (plans become small parameter tables joined to the
data, not one expression per plan and component) and written as few selects as possible.

    credit            crediting.credit_pieces               facts → CREDITS, a few months at a time
    measure           measures.credit_and_measure           CREDITS → monthly totals (MONTHLY), and
                                                            MEASURE_CREDITS for what is read row by row
    schedule          schedule.plan_steps                   which pay periods, which plan periods
    clawback matches  adjustments.clawback_matches          cancellations of earlier bookings
    measure grid      payout.seats, payout.measure_grid     value to date, quota (prorated), attainment
    components        components.grid_components            gates → tiers → caps, every plan at once
                      components.commission_per_transaction (first pass)
    lines             adjustments.pay_lines                 advances, true-ups, rounding
    overrides         adjustments.override                  second pass, on the team's lines
    plan caps         adjustments.plan_caps                 every plan at once
    balances          adjustments.balances                  clawbacks carried forward, draws
    explanation       explain.explanations                  canonical JSON per line
"""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from openspm.domain.plans import Commission, Override, Plan
from openspm.domain.plans.model import DrawKind, OverrideBasis
from openspm.engine.calc import adjustments as adj
from openspm.engine.calc import components as comp
from openspm.engine.calc.explain import Waterfall, explain_person, payout_table
from openspm.engine.calc.inputs import CalcInputs, plan_assignments_table
from openspm.engine.calc.measures import STAGE_ALL_LINES, Detail, credit_and_measure, monthly_expr
from openspm.engine.calc.payout import KEY, latest_quotas, measure_grid, plan_measures, plan_policies, seats
from openspm.engine.calc.reach import reaching
from openspm.engine.calc.schedule import Step, bucket_table, plan_steps, steps_table, window_of
from openspm.engine.calc.session import Session, among, memtable, reusable, using
from openspm.engine.calc.tables import CREDITS, EXACT, MEASURE_CREDITS, PAYOUT_LINES
from openspm.engine.calc.tiers import exact, lit

MEASURES = pa.schema(
    [
        ("person_id", pa.string()),
        ("plan", pa.string()),
        ("version", pa.int32()),
        ("measure", pa.string()),
        ("plan_period", pa.string()),
        ("period", pa.string()),  # the pay period: value and attainment are to its end
        ("value", EXACT),
        ("credits", pa.int64()),
        ("quota", EXACT),
        ("attainment", EXACT),
    ]
)


@dataclass(frozen=True)
class CalcResult:
    credits: pa.Table  # CREDITS of the run's window (earlier months of open plan periods too), unordered
    measures: pa.Table  # MEASURES
    payout_lines: pa.Table  # PAYOUT_LINES, sorted
    measure_credits: pa.Table  # MEASURE_CREDITS behind the measures (for explanations)
    # (with `detail` off, `credits` is empty and `measure_credits` holds only the rows read one by one)


def calculate(
    inputs: CalcInputs,
    period: str,
    *,
    payees: Sequence[str] | None = None,
    backend: ibis.BaseBackend | None = None,
    detail: bool | None = None,
) -> CalcResult:
    """Credits, measures and payout lines of every pay period that ends inside `period`.

    With `payees`, the run reads only the rows that can credit them or the people below them
    (`reach.reaching`) and pays them exactly what a run for everyone would: a rep's run reads the rep's
    deals, not the company's.

    `detail` (default: when `payees` are named) keeps every credit and measure credit of the payees in
    the result, which explanations list. Without it the run reads the measure credits as monthly totals
    and the result's `credits` is empty and its `measure_credits` hold only the rows the calculation
    reads one by one (per-transaction rate tables, deals with a cancellation): a whole company's year
    is tens of millions of them.
    """
    with using(backend) as session:
        return _calculate(inputs, period, payees, backend, detail, session)


def _calculate(  # noqa: PLR0917 - calculate's arguments and its session
    inputs: CalcInputs,
    period: str,
    payees: Sequence[str] | None,
    backend: ibis.BaseBackend | None,
    detail: bool | None,
    session: Session,
) -> CalcResult:
    run = inputs.calendar.parse(period)
    inputs = dataclasses.replace(inputs, plan_assignments=plan_assignments_table(inputs.plan_assignments))
    if payees is not None:
        inputs = reaching(inputs, payees)  # only the rows that can credit them (or their teams)
    plans = sorted(inputs.plans.values(), key=lambda p: (p.name, p.version))
    lookback = max((p.clawback.window_days for p in plans if p.clawback is not None), default=0)
    steps = [s for plan in plans for s in plan_steps(plan, inputs.calendar, run, lookback)]
    window = window_of(steps)
    if window is None:
        return _empty()
    needs_team = any(isinstance(c, Override) for p in plans for c in p.components)
    scope = None if needs_team or payees is None else list(payees)
    keep_all = detail if detail is not None else payees is not None
    wanted = None if keep_all and payees is None else _detail(plans, payees if keep_all else None)
    staged = credit_and_measure(
        inputs, window[0], window[1], scope, plans=plans, backend=backend, detail=wanted
    )
    if inputs.transactions.num_rows > STAGE_ALL_LINES:
        gc.collect()  # crediting's intermediate tables sit in reference cycles (see measures._credit_window)
    credits = staged.credits.select(CREDITS.names).cast(CREDITS)
    mc = staged.measure_credits.select(MEASURE_CREDITS.names).cast(MEASURE_CREDITS)
    keep = Stages(session)
    out = _payout(
        inputs,
        plans,
        steps,
        _Staged(keep.arrow(mc), keep.arrow(staged.monthly), keep.arrow(staged.credit_days)),
        keep,
    )
    measures = out.grid.join(steps_emitted(steps), ["plan", "version", "period"])
    if payees is not None:
        measures = measures.filter(among(measures.person_id, payees))
    measures_t = session.to_pyarrow(measures.select(*MEASURES.names)).cast(MEASURES)
    payout = payout_table(session, out.lines, out.balance, out.claw_detail, out.details, out.gates)
    measures_t = measures_t.sort_by(
        [(n, "ascending") for n in ["person_id", "plan", "version", "measure", "period"]]
    )
    if payees is not None:
        payout = payout.filter(pc.is_in(payout["person_id"], pa.array(list(payees), pa.string())))
    return CalcResult(credits, measures_t, payout, mc)


def _detail(plans: Sequence[Plan], payees: Sequence[str] | None) -> Detail:
    """The measure credits a run reads one by one: per-transaction rate tables and cancelled deals."""
    return Detail(
        measures=frozenset(
            (p.name, p.version, c.measure)
            for p in plans
            for c in p.components
            if isinstance(c, Commission) and comp.is_per_transaction(c)
        ),
        cancelled=any(p.clawback is not None for p in plans),
        payees=tuple(payees or ()),
        credit_days=any(
            isinstance(c, Override) and c.basis is OverrideBasis.CREDITS for p in plans for c in p.components
        ),
    )


@dataclass(frozen=True)
class _Staged:
    measure_credits: ir.Table  # MEASURE_CREDITS: the `Detail` rows
    monthly: ir.Table  # measures.MONTHLY: every measure credit, summed per month
    credit_days: ir.Table  # measures.CREDIT_DAYS


def steps_emitted(steps: list[Step]) -> ir.Table:
    """(plan, version, pay period) of the steps the run pays (not the clawback shadows)."""
    rows = sorted({(s.plan, s.version, s.period.label) for s in steps if s.emit})
    schema = pa.schema([("plan", pa.string()), ("version", pa.int32()), ("period", pa.string())])
    return memtable(
        pa.Table.from_pylist([dict(zip(schema.names, r, strict=True)) for r in rows], schema=schema)
    )


class Stages:
    """Materialises intermediate steps (executed once, then read as Arrow), so each step compiles small.

    Ibis compiles one expression per result; a whole pipeline in one tree takes seconds to compile, a
    step over materialised inputs milliseconds. Arrow in, Arrow out: no backend DDL is needed. The
    session names each staged table, so a later run of the same shape reuses the compiled SQL.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def __call__(self, expr: ir.Table) -> ir.Table:
        return self.session.table(self.session.to_pyarrow(expr))

    def arrow(self, table: pa.Table) -> ir.Table:
        return self.session.table(table)


@dataclass(frozen=True)
class _Outputs:
    grid: ir.Table
    lines: ir.Table | None
    balance: ir.Table
    claw_detail: ir.Table | None
    details: ir.Table | None
    gates: ir.Table | None


def explain(result: CalcResult, person_id: str) -> list[Waterfall]:
    """The waterfall behind each of a person's payout lines: measure, quota, tiers, cap, gate, credits."""
    return explain_person(result.payout_lines, result.measure_credits, person_id)


def _empty() -> CalcResult:
    return CalcResult(
        CREDITS.empty_table(),
        MEASURES.empty_table(),
        PAYOUT_LINES.empty_table(),
        MEASURE_CREDITS.empty_table(),
    )


def _earlier_periods(steps: list[Step], inputs: CalcInputs, plans: Sequence[Plan]) -> pa.Table:
    """(plan, version, plan period, pay period label) for the pay periods paid before the run started."""
    from openspm.engine.calc.schedule import pay_kind

    by_key = {(p.name, p.version): p for p in plans}
    rows: list[dict[str, object]] = []
    seen: set[tuple[str, int, str]] = set()
    for step in steps:
        key = (step.plan, step.version, step.plan_period.label)
        if not step.emit or key in seen:
            continue
        seen.add(key)
        kind = pay_kind(by_key[(step.plan, step.version)])
        rows.extend(
            {"plan": step.plan, "version": step.version, "plan_period": key[2], "period": p.label}
            for p in inputs.calendar.periods_between(step.plan_period.start, step.period.start, kind)
        )
    schema = pa.schema(
        [
            ("plan", pa.string()),
            ("version", pa.int32()),
            ("plan_period", pa.string()),
            ("period", pa.string()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def _prior(inputs: CalcInputs) -> ir.Table:
    from openspm.engine.calc.tables import PAYOUT_LINES as SCHEMA

    table = inputs.prior_lines if inputs.prior_lines is not None else SCHEMA.empty_table()
    return memtable(table.cast(SCHEMA))


def _payout(
    inputs: CalcInputs,
    plans: list[Plan],
    steps: list[Step],
    staged: _Staged,
    keep: Stages,
) -> _Outputs:
    by_key = {(p.name, p.version): p for p in plans}
    steps_t = memtable(steps_table(steps, by_key, inputs.calendar))
    months = memtable(bucket_table(steps))
    policies = memtable(plan_policies(by_key))
    prior = _prior(inputs)
    claw_plans = [p for p in plans if p.clawback is not None]
    mc = staged.measure_credits
    matches = keep(adj.clawback_matches(mc, months, claw_plans, keep)) if claw_plans else None
    graded, monthly = mc, staged.monthly
    if matches is not None:
        # A clawed cancellation reverses the commission instead of reducing the measure: it leaves the
        # measure credits and its month's total (the detail holds every credit of a cancelled deal).
        key = ["person_id", "plan", "version", "measure", "source_id", "rule", "via"]
        gone = matches.select(*key[:-1], via=matches.via_person_id.fill_null("")).distinct()
        credited = mc.mutate(via=mc.via_person_id.fill_null(""))
        graded = credited.anti_join(gone, key).drop("via")
        removed = monthly_expr(credited.semi_join(gone, key).drop("via"))
        removed = removed.select(
            "person_id", "plan", "version", "measure", "month", value=-removed.value, credits=-removed.credits
        )
        both = monthly.union(removed)
        monthly = both.group_by(["person_id", "plan", "version", "measure", "month"]).aggregate(
            value=exact(both.value.sum()), credits=both.credits.sum()
        )
    seats_t = keep(seats(inputs.plan_assignments, steps_t, policies))
    quotas = latest_quotas(memtable(inputs.quotas))
    grid = keep(measure_grid(monthly, seats_t, months, memtable(plan_measures(by_key)), quotas))

    # First pass: every cumulative component of every plan in one step, per-transaction commissions
    # one step each (their running totals are per component), then one pay-lines step over them all.
    first: list[comp.Earned] = []
    params = comp.component_params(plans)
    if params[0].num_rows:
        first.append(_kept(comp.grid_components(grid, params, keep), keep))
    first.extend(
        _kept(comp.commission_per_transaction(graded, months, grid, plan, c, keep), keep)
        for plan in plans
        for c in plan.components
        if isinstance(c, Commission) and comp.is_per_transaction(c)
    )

    earlier = memtable(_earlier_periods(steps, inputs, plans))
    prior_paid = adj.paid_prior(prior, earlier)
    first_lines = (
        [keep(adj.pay_lines(_union([e.lines for e in first]), steps_t, policies, prior_paid))]
        if first
        else []
    )

    second: list[comp.Earned] = []
    overrides = [(p, c) for p in plans for c in p.components if isinstance(c, Override)]
    if overrides:
        member_lines = _member_lines(first_lines, prior, inputs, plans, steps_t)
        org = memtable(inputs.assignments).select("person_id", "manager_id", "start_date", "end_date")
        for plan, c in overrides:
            second.append(
                _kept(
                    adj.override(
                        seats_t, steps_t, grid, plan, c, member_lines, staged.credit_days, org, keep
                    ),
                    keep,
                )
            )
    later = [e.lines for e in second]
    capped = adj.plan_caps([e.earned for e in first + second], seats_t, plans)
    if capped is not None:
        later.append(capped)
    lines = first_lines + ([adj.pay_lines(_union(later), steps_t, policies, prior_paid)] if later else [])
    component_lines = keep(ibis.union(*lines)) if lines else None
    details = [e.details for e in first + second]
    gates = [e.gates for e in first + second if e.gates is not None]
    claw_detail, claw_due = (None, None)
    if matches is not None:
        claw_detail, claw_due = adj.clawback_due(matches, [e.earned for e in first], steps_t)
    balance = _balances(seats_t, steps_t, policies, component_lines, claw_due, prior)
    return _Outputs(
        grid,
        component_lines,
        balance,
        claw_detail,
        ibis.union(*details) if details else None,
        ibis.union(*gates) if gates else None,
    )


def _union(tables: list[ir.Table]) -> ir.Table:
    return ibis.union(*tables) if len(tables) > 1 else tables[0]


def _kept(e: comp.Earned, keep: Stages) -> comp.Earned:
    """Materialise a component's lines and earnings (read by several later steps); its explanation
    tables are read once, by `payout_table`, so they stay expressions."""
    lines = keep(e.lines)
    earned = lines if e.earned is e.lines else keep(e.earned)
    return comp.Earned(lines, earned, e.details, e.gates)


def _member_lines(
    first_lines: list[ir.Table], prior: ir.Table, inputs: CalcInputs, plans: list[Plan], steps_t: ir.Table
) -> ir.Table:
    """Team members' component lines: this run's and earlier pay periods' (from prior_lines)."""
    parts = [
        t.join(
            steps_t.select("plan", "version", "period", "pay_start", "pay_end"), ["plan", "version", "period"]
        ).select("person_id", "component", "pay_start", "pay_end", amount="amount")
        for t in first_lines
    ]
    labels = (
        sorted(set(inputs.prior_lines.column("period").to_pylist())) if inputs.prior_lines is not None else []
    )
    periods = [inputs.calendar.parse(label) for label in labels if label]
    spans = pa.table(
        {
            "period": pa.array([p.label for p in periods], pa.string()),
            "pay_start": pa.array([p.start for p in periods], pa.date32()),
            "pay_end": pa.array([p.end for p in periods], pa.date32()),
        }
    )
    skip = {"plan_cap"} | {c.name for p in plans for c in p.components if isinstance(c, Override)}
    p = prior.filter(prior.line_kind.isin(list(adj.EARNING_KINDS)) & ~prior.component.isin(sorted(skip)))
    p = p.join(memtable(spans), "period").select(
        "person_id", "component", "pay_start", "pay_end", amount=p.amount.cast(EXACT)
    )
    return ibis.union(*parts, p)


@reusable
def _balances(  # noqa: PLR0917 - the tables balances read
    seats_t: ir.Table,
    steps_t: ir.Table,
    policies: ir.Table,
    component_lines: ir.Table | None,
    claw_due: ir.Table | None,
    prior: ir.Table,
) -> ir.Table:
    s = steps_t.filter(steps_t.emit).select(
        "plan", "version", "period", "pay_end_day", "pay_start_month", "pay_months", "pay_offset"
    )
    periods = seats_t.join(s, ["plan", "version", "period"]).join(policies, ["plan", "version"])
    own = periods.own_draw_kind.notnull()  # the person's own draw replaces the plan's
    periods = periods.mutate(
        draw_amount=ibis.ifelse(own, periods.own_draw_amount.cast(EXACT), periods.draw_amount.cast(EXACT)),
        draw_periods=ibis.ifelse(own, periods.own_draw_periods, periods.draw_periods),
        draw_recoverable=ibis.ifelse(
            own, periods.own_draw_kind == DrawKind.RECOVERABLE.value, periods.draw_recoverable
        ),
    )
    start = ibis.ifelse(own, periods.own_draw_start_month, periods.start_month)  # the draw's term begins
    first_pay = start - ((start - periods.pay_offset) % periods.pay_months)
    in_term = (periods.draw_periods > 0) & (
        periods.pay_start_month < first_pay + periods.draw_periods * periods.pay_months
    )
    periods = periods.mutate(in_draw_term=in_term)
    key = ["person_id", "plan", "version", "period"]
    if component_lines is not None:
        sums = component_lines.group_by(key).aggregate(earnings=exact(component_lines.amount.sum()))
    else:
        sums = periods.select(*key, earnings=lit(0)).limit(0)
    b0 = prior.group_by("person_id").aggregate(
        b0_claw=exact(
            ibis.ifelse(prior.component == "clawback_carry_forward", prior.amount.cast(EXACT), lit(0)).sum()
        ),
        b0_draw=exact(
            ibis.ifelse(
                prior.component.isin(["draw", "draw_recovery"]), prior.amount.cast(EXACT), lit(0)
            ).sum()
        ),
    )
    return adj.balances(periods, sums, claw_due, b0)


__all__ = ["KEY", "MEASURES", "CalcResult", "calculate", "explain"]
