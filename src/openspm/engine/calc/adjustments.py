"""What turns earnings into pay: advances and true-ups, the plan cap, overrides, clawbacks and draws.

- **lines**: `due = earned to date × advance percent` (100 % in a plan period's last pay period, for
  SPIFs, bonuses and per-transaction lines); `amount = round(due − already paid)`, where already paid is
  the plan period's earlier lines (from `prior_lines`, or the rounded due of the run's previous step).
- **plan cap**: `−max(0, Σ components' earnings to date − cap)`, paid like a component (`plan_cap`).
- **override** (second pass): `rate` % of the team's basis — members' component lines (earnings before
  plan caps, draws and clawbacks) or credits — over `levels` of the management chain as of the last day of
  each member line's pay period (credits: as of the credit's date), within the plan period to date.
- **clawback**: a cancellation credited in the pay period, of a deal booked in an *earlier* plan period
  no more than `window_days` before, reverses what the booking earned — its credited value (at most the
  booking's) × the component's effective rate in the booking's plan period (earnings ÷ measure value) —
  and leaves the measure. With `carry_forward` what exceeds the pay period's earnings is deferred
  (`clawback_carry_forward`, +) and recovered from later earnings (−); the balance is the sum of those
  lines, so it is read back from `prior_lines`.
- **draws**: in each of the draw's `periods` pay periods from the assignment start, earnings below the
  draw amount are topped up (`draw` recoverable, `guarantee` non-recoverable). A recoverable draw's
  balance (Σ prior `draw` + `draw_recovery` lines) is recovered from later positive earnings
  (`draw_recovery`, −). A plan assignment's own draw (`draw_kind`, `draw_amount`, `draw_periods`)
  replaces the plan's for that person.

Balances carried from one pay period to the next follow B_t = max(0, B_{t−1} + x_t), computed without a
loop as B_t = S_t − min(−B_0, min_{k≤t} S_k) with S the running sum of x (a window over pay periods).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pyarrow as pa

from openspm.domain.plans import Override, Plan
from openspm.domain.plans.model import OverrideBasis
from openspm.engine.calc.components import (
    LINE_COLUMNS,
    Earned,
    _d,
    _gate_and_cap,
    _tier_details,
    cap_amount,
    conform,
    gate_details,
    gate_table,
)
from openspm.engine.calc.payout import KEY, round_half_up
from openspm.engine.calc.session import memtable, reusable
from openspm.engine.calc.tiers import EXACT, PERCENT, divide, exact, lit

EARNING_KINDS = ("earning", "advance", "true_up")
EXACT_ARROW = pa.decimal128(38, 10)


# --- component lines -------------------------------------------------------------------------------------


@reusable
def pay_lines(rows: ir.Table, steps: ir.Table, policies: ir.Table, paid_prior: ir.Table) -> ir.Table:
    """Component rows → line rows with due, held back, already paid, rounded amount and rounding."""
    s = steps.filter(steps.emit).select(
        "plan",
        "version",
        "period",
        "advance_percent",
        step_kind="line_kind",
        pay_end_day="pay_end_day",
    )
    pol = policies.select("plan", "version", "scale", "unit", "currency")
    prior_key = ["person_id", "plan", "version", "plan_period", "component"]
    t = rows.join(s, ["plan", "version", "period"]).join(pol, ["plan", "version"])
    t = t.left_join(paid_prior, prior_key).select(t, prior=paid_prior.paid)
    pct = ibis.ifelse(t.paid_in_full, lit(100), t.advance_percent)
    due = exact(t.earned * pct * PERCENT)
    w = ibis.window(
        group_by=["person_id", "plan", "version", "component", "source_id", "plan_period"],
        order_by="step_order",
    )
    # A per-transaction line (one per credit, paid in full in its own step) has nothing paid before
    # it: another line of the same source is another credit of it (a rollup through two reps), not
    # an earlier payment of this one.
    prev_due = ibis.ifelse(t.source_id.isnull(), due.lag().over(w), ibis.null(EXACT))
    first = ibis.ifelse(t.source_id.isnull(), t.prior.fill_null(lit(0)), lit(0))
    already = exact(ibis.ifelse(prev_due.isnull(), first, round_half_up(prev_due, t.scale, t.unit)))
    amount = round_half_up(exact(due - already), t.scale, t.unit)
    return t.mutate(
        line_kind=ibis.ifelse(t.paid_in_full, ibis.literal("earning"), t.step_kind),
        applied_percent=exact(pct),
        due=due,
        prev_due=prev_due,
        held_back=exact(due - t.earned),
        already_paid=already,
        amount=amount,
        rounding=exact(amount - exact(due - already)),
    )


@reusable
def paid_prior(prior_lines: ir.Table, earlier: ir.Table) -> ir.Table:
    """Σ prior line amounts per person, plan version, plan period and component (earlier pay periods)."""
    p = prior_lines.join(earlier, ["plan", "version", "period"])
    return p.group_by(["person_id", "plan", "version", "plan_period", "component"]).aggregate(
        paid=exact(p.amount.cast(EXACT).sum())
    )


# --- plan cap ----------------------------------------------------------------------------------------


def plan_caps(earned: list[ir.Table], seats: ir.Table, plans: list[Plan]) -> ir.Table | None:
    """Every plan-level cap in one step (a `plan_cap` component row per capped plan, person and step)."""
    rows = [
        {
            "plan": p.name,
            "version": p.version,
            "cap_amount": _d(p.cap.amount),
            "cap_multiple": None
            if p.cap.amount is not None
            else _d(p.cap.multiple_of_target_incentive or Decimal(0)),
        }
        for p in plans
        if p.cap is not None
    ]
    if not rows or not earned:
        return None
    caps = memtable(pa.Table.from_pylist(rows, schema=_CAP_SCHEMA))
    parts = [e.select(*KEY, "earned") for e in earned]
    total = ibis.union(*parts) if len(parts) > 1 else parts[0]
    total = total.group_by(KEY).aggregate(total=exact(total.earned.sum()))
    t = total.join(caps, ["plan", "version"]).join(seats.select(*KEY, "step_order", "target_incentive"), KEY)
    cap = ibis.ifelse(t.cap_amount.isnull(), exact(t.target_incentive * t.cap_multiple), t.cap_amount)
    excess = exact(-ibis.greatest(lit(0), t.total - cap))
    return conform(
        t,
        LINE_COLUMNS,
        component=ibis.literal("plan_cap"),
        component_kind=ibis.literal("plan_cap"),
        value=t.total,
        cap=cap,
        raw=lit(0),
        gate_adjustment=lit(0),
        cap_adjustment=excess,
        earned=excess,
        paid_in_full=ibis.literal(False),
    )


_CAP_SCHEMA = pa.schema(
    [
        ("plan", pa.string()),
        ("version", pa.int32()),
        ("cap_amount", EXACT_ARROW),
        ("cap_multiple", EXACT_ARROW),
    ]
)


# --- override ------------------------------------------------------------------------------------------


def team(rows: ir.Table, org: ir.Table, levels: int, day: str) -> ir.Table:
    """rows (person_id, …, `day`) → the same rows once per manager up to `levels` levels, as `manager_id`."""
    out = []
    current = rows.mutate(member_id=rows.person_id, reports_to=rows.person_id)
    keep = [c for c in current.columns if c != "reports_to"]
    for _ in range(levels):
        # A view of `org` named by what it joins, not by Ibis's process-wide counter (`org.view()`), so
        # the same override compiles to the same SQL in every run (see `session`).
        o = ops.SelfReference(org.op(), identifier=hash(current.op()) & 0x7FFFFFFF).to_expr()
        j = current.join(
            o,
            [
                current.reports_to == o.person_id,
                o.start_date <= current[day],
                o.end_date.isnull() | (o.end_date > current[day]),
            ],
        )
        current = j.select(*[current[c] for c in keep], reports_to=o.manager_id)
        current = current.filter(current.reports_to.notnull())
        out.append(current.mutate(manager_id=current.reports_to))
    return ibis.union(*out) if len(out) > 1 else out[0]


def override(  # noqa: PLR0917 - the tables an override reads
    seats: ir.Table,
    steps: ir.Table,
    grid: ir.Table,
    plan: Plan,
    c: Override,
    member_lines: ir.Table,
    credits: ir.Table,  # measures.CREDIT_DAYS: the credited amount per person and day
    org: ir.Table,
    keep: Callable[[ir.Table], ir.Table] = lambda t: t,
) -> Earned:
    """A manager's share of the team's earnings (or credits) in the plan period to date.

    `keep` materialises the computed rows, which the lines and the explanation both read.
    """
    t = keep(_override_rows(seats, steps, grid, plan, c, member_lines, credits, org))
    gates_ = gate_table(grid, plan, c.name, None, c.gates)
    rows = conform(
        t,
        LINE_COLUMNS,
        component=ibis.literal(c.name),
        component_kind=ibis.literal("override"),
        paid_in_full=ibis.literal(False),
    )
    details = _tier_details(t, c.name, [(0, Decimal(0), None, t.value, lit(c.rate), t.raw)])
    return Earned(rows, rows, details, gate_details(gates_, c.name, None, c.gates))


@reusable
def _override_rows(  # noqa: PLR0917 - override's tables
    seats: ir.Table,
    steps: ir.Table,
    grid: ir.Table,
    plan: Plan,
    c: Override,
    member_lines: ir.Table,
    credits: ir.Table,
    org: ir.Table,
) -> ir.Table:
    """Per manager and step: the team's earnings (or credits) to date, the override, gated and capped."""
    if c.basis is OverrideBasis.EARNINGS:
        lines = member_lines
        if c.components:
            lines = lines.filter(lines.component.isin(list(c.components)))
        lines = lines.mutate(as_of=lines.pay_end - ibis.interval(days=1))
        members = team(
            lines.select("person_id", "amount", "pay_start", "pay_end", "as_of", n=ibis.literal(1, "int64")),
            org,
            c.levels,
            "as_of",
        )
        start, end = members.pay_start, members.pay_end
    else:
        cr = credits.select("person_id", amount=credits.amount.cast(EXACT), n=credits.n, as_of=credits.date)
        members = team(cr, org, c.levels, "as_of")
        start, end = members.as_of, members.as_of + ibis.interval(days=1)
    members = members.mutate(m_start=start, m_end=end)
    s = seats.filter((seats.plan == plan.name) & (seats.version == plan.version))
    s = s.join(
        steps.select("plan", "version", "period", "plan_start", "pay_end"), ["plan", "version", "period"]
    )
    j = s.left_join(
        members,
        [s.person_id == members.manager_id, members.m_start >= s.plan_start, members.m_end <= s.pay_end],
    )
    base = j.group_by([*KEY, "step_order", "target_incentive"]).aggregate(
        value=exact(j.amount.sum()).fill_null(lit(0)), credits=j.n.sum().fill_null(0)
    )
    t = base.mutate(raw=exact(base.value * lit(c.rate) * PERCENT))
    gates_ = gate_table(grid, plan, c.name, None, c.gates)
    return _gate_and_cap(t, gates_, cap_amount(c.cap, t.target_incentive))


# --- clawbacks -----------------------------------------------------------------------------------------


def clawback_matches(
    measure_credits: ir.Table,
    months: ir.Table,
    plans: list[Plan],
    keep: Callable[[ir.Table], ir.Table] = lambda t: t,
) -> ir.Table | None:
    """Cancellations in the run's pay periods of deals booked in an earlier plan period within the window.

    `keep` materialises the cancellations and their deals' bookings, which every clawback plan reads.
    """

    # Cancellations are few: only the bookings of the deals they cancel are read (a semi join on the
    # measure credits before anything else), so the step costs one scan, not an aggregation of them all.
    claw_plans = memtable(
        pa.table(
            {
                "plan": pa.array([p.name for p in plans], pa.string()),
                "version": pa.array([p.version for p in plans], pa.int32()),
            }
        )
    )
    cancels = keep(_cancellations(measure_credits, months, claw_plans))
    bookings = keep(_cancelled_bookings(measure_credits, months, cancels))
    return _clawback_pairs(cancels, bookings, plans)


@reusable
def _cancellations(measure_credits: ir.Table, months: ir.Table, claw_plans: ir.Table) -> ir.Table:
    """The cancellation credits of clawback plans paid in the run's pay periods."""
    from openspm.engine.calc.payout import with_month

    raw = measure_credits
    cancels = with_month(
        raw.filter(raw.kind == "cancellation").semi_join(claw_plans, ["plan", "version"])
    ).join(months, ["plan", "version", "month"])
    # A rollup credits a manager once per team member credited with the row: each such credit is a
    # credit of its own (`via`), cancelled against what was booked through the same member.
    cancels = cancels.mutate(via=cancels.via_person_id.fill_null(""))
    return cancels.filter(cancels.pay_emit)


@reusable
def _cancelled_bookings(measure_credits: ir.Table, months: ir.Table, cancels: ir.Table) -> ir.Table:
    """What each person booked on each cancelled deal, per measure, via and plan period."""
    from openspm.engine.calc.payout import with_month

    raw = measure_credits
    cancelled = cancels.select("person_id", "opportunity_id", "measure", "via").distinct()
    booked = raw.filter(raw.kind == "booking")
    booked = booked.mutate(via=booked.via_person_id.fill_null(""))
    booked = booked.semi_join(cancelled, ["person_id", "opportunity_id", "measure", "via"])
    bookings = with_month(booked).join(months, ["plan", "version", "month"])
    bookings = bookings.group_by(
        ["person_id", "opportunity_id", "measure", "via", "plan", "version", "plan_period"]
    ).aggregate(b_value=exact(bookings.value.sum()), b_date=bookings.date.min(), b_month=bookings.month.min())
    return bookings.rename(b_plan="plan", b_version="version", b_plan_period="plan_period")


@reusable
def _clawback_pairs(cancels: ir.Table, b: ir.Table, plans: list[Plan]) -> ir.Table | None:
    """Each cancellation credit with the latest booking it claws back (within the plan's window)."""
    parts = []
    for plan in plans:
        assert plan.clawback is not None
        c = cancels.filter((cancels.plan == plan.name) & (cancels.version == plan.version))
        j = c.join(
            b,
            [
                c.person_id == b.person_id,
                c.opportunity_id == b.opportunity_id,
                c.measure == b.measure,
                c.via == b.via,
                b.b_month < c.plan_start_month,
                c.date <= b.b_date + ibis.interval(days=plan.clawback.window_days),
            ],
        )
        parts.append(
            j.select(
                c.person_id,
                c.plan,
                c.version,
                c.plan_period,
                c.measure,
                c.source_id,
                c.rule,
                c.via_person_id,
                c.opportunity_id,
                c.date,
                c.value,
                b.b_plan,
                b.b_version,
                b.b_plan_period,
                b.b_value,
                b.b_date,
                period=c.pay,
            )
        )
    if not parts:
        return None
    m = ibis.union(*parts) if len(parts) > 1 else parts[0]
    # One match per cancellation credit (a credit is its source row, rule and via): the latest booking.
    latest = ibis.window(
        group_by=["person_id", "plan", "version", "measure", "source_id", "rule", "via_person_id"],
        order_by=[ibis.desc("b_date"), "b_plan_period", "b_plan", "b_version"],
    )
    m = m.mutate(n=ibis.row_number().over(latest))
    return m.filter(m.n == 0).drop("n")


@reusable
def clawback_due(matches: ir.Table, earned: list[ir.Table], steps: ir.Table) -> tuple[ir.Table, ir.Table]:
    """Per cancellation the commission reversed, and per person and pay period the total due."""
    parts = [
        e.select("person_id", "plan", "version", "plan_period", "period", "measure", "value", "earned")
        for e in earned
    ]
    e = ibis.union(*parts) if len(parts) > 1 else parts[0]
    finals = steps.filter(steps.is_final).select("plan", "version", "period")
    e = e.join(finals, ["plan", "version", "period"])
    by_measure = e.group_by(["person_id", "plan", "version", "plan_period", "measure"]).aggregate(
        earned=exact(e.earned.sum()), value=exact(e.value.max())
    )
    rates = by_measure.mutate(
        rate=exact(ibis.ifelse(by_measure.value == 0, lit(0), divide(by_measure.earned, by_measure.value)))
    ).rename(b_plan="plan", b_version="version", b_plan_period="plan_period")
    j = matches.left_join(rates, ["person_id", "b_plan", "b_version", "b_plan_period", "measure"]).select(
        matches, rate=rates.rate.fill_null(lit(0))
    )
    reversed_ = exact(exact(ibis.least(-j.value, j.b_value)) * j.rate)
    detail = j.mutate(reversed=reversed_)
    due = detail.group_by(["person_id", "plan", "version", "plan_period", "period"]).aggregate(
        due=exact(detail.reversed.sum()), cancellations=detail.count()
    )
    return detail, due


# --- balances: clawback carried forward and draws ----------------------------------------------------------


@reusable
def balances(
    periods: ir.Table,
    line_sums: ir.Table,
    clawbacks: ir.Table | None,
    prior: ir.Table,
) -> ir.Table:
    """Clawback carry-forward and draw lines per person and pay period (amounts already in cents).

    periods: person_id, plan, version, period, plan_period, pay_end_day, in_draw_term, draw_amount,
    draw_recoverable, clawback_carry, scale, currency. line_sums: Σ component line amounts per person,
    plan, version, period. clawbacks: due per person, plan, version, period.
    prior: person_id, b0_claw, b0_draw.
    """
    key = ["person_id", "plan", "version", "period"]
    # Each select below is one level of window functions (a window cannot read another in the same
    # select); row-wise values are written inline, so the step compiles as a handful of selects.
    c = clawbacks.select(*key, "due") if clawbacks is not None else None
    t = periods.left_join(line_sums, key)
    if c is not None:
        t = t.left_join(c, key)
    t = t.left_join(prior, "person_id")
    t = t.select(
        periods,
        earnings=line_sums.earnings.fill_null(lit(0)),
        due=c.due.fill_null(lit(0)) if c is not None else lit(0),
        b0_claw=prior.b0_claw.fill_null(lit(0)),
        b0_draw=prior.b0_draw.fill_null(lit(0)),
    )
    order = [t.pay_end_day, t.plan, t.version]
    w = ibis.window(group_by="person_id", order_by=order, rows=(None, 0))
    prev = ibis.window(group_by="person_id", order_by=order)
    clawback = exact(-round_half_up(t.due, t.scale, t.unit))
    available = exact(ibis.greatest(lit(0), t.earnings))
    x = exact(ibis.ifelse(t.clawback_carry, exact(-clawback - available), lit(0)))
    t = t.mutate(
        clawback=clawback, claw_rounding=exact(clawback + t.due), x_claw=x, s_claw=exact(x.sum().over(w))
    )
    t = t.mutate(claw_after=exact(t.s_claw - ibis.least(-t.b0_claw, t.s_claw.min().over(w))))
    claw_before = exact(t.claw_after.lag().over(prev).fill_null(t.b0_claw))
    carry = exact(ibis.ifelse(t.clawback_carry, exact(t.claw_after - claw_before), lit(0)))
    net = exact(t.earnings + t.clawback + carry)
    positive = exact(ibis.greatest(lit(0), net))
    amount = exact(ibis.ifelse(t.in_draw_term, t.draw_amount, lit(0)))
    y = exact(
        ibis.ifelse(
            t.in_draw_term & ~t.draw_recoverable,
            lit(0),
            exact(ibis.ifelse(t.in_draw_term, amount - positive, -positive)),
        )
    )
    t = t.mutate(claw_before=claw_before, carry=carry, net=net, y_draw=y, draw_level=amount)
    t = t.mutate(s_draw=exact(t.y_draw.sum().over(w)))
    t = t.mutate(draw_after=exact(t.s_draw - ibis.least(-t.b0_draw, t.s_draw.min().over(w))))
    draw_before = exact(t.draw_after.lag().over(prev).fill_null(t.b0_draw))
    positive = exact(ibis.greatest(lit(0), t.net))
    top_up = exact(ibis.greatest(lit(0), t.draw_level - positive))
    draw = exact(ibis.ifelse(t.in_draw_term & t.draw_recoverable, top_up, lit(0)))
    return t.mutate(
        draw_before=draw_before,
        draw=draw,
        guarantee=exact(ibis.ifelse(t.in_draw_term & ~t.draw_recoverable, top_up, lit(0))),
        draw_recovery=exact(-(draw_before + draw - t.draw_after)),
    )
