"""KPIs: every result and behaviour of the catalogue, for subjects at levels × periods, in one pass.

The calculation is an ordered list of relational steps written in Ibis (executed by DuckDB over Arrow by
default; nothing loops over rows in Python):

    facts ──measure──▶ MEASURES (person, period, day, measure, value) ──roll up──▶ subject sums
          ──formulas──▶ KPI_VALUES (subject_id, subject_level, period, kpi, value)

1. *measure*: each family of facts becomes additive measures keyed by the person it belongs to, the
   period it counts in and the day that decides who it rolls up to — closed deals on their close date,
   created deals on their created date, activities on their day, stage cohorts on the day the deal
   reached the stage, and snapshot measures (open deals, pipeline, next steps, stuck deals, slips) on
   the period's *snapshot day* `min(as_of, last day of the period)`.
2. *roll up*: a person's measures are summed per person; per org unit through the assignment in effect
   on the measure's day and the org tree above it; and for the company over everyone.
3. *formulas*: sums become KPIs (DESIGN.md §5): ratios, averages, attainment against the quota.

Money is summed exactly (decimal) after conversion to the base currency at the fact's date, and
converted to float only in the output. Only what is known by the end of `as_of` counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
from ibis import selectors

from openspm.domain.kpis import BY_NAME, CATALOGUE
from openspm.domain.periods import FiscalCalendar, Period
from openspm.engine.goodhart import suspect_flags

__all__ = [
    "KPI_VALUES",
    "KpiInputs",
    "bookings_quotas",
    "compute_kpis",
    "consecutive_periods",
    "levels_of",
]

EXACT = "decimal(38, 10)"
FAR = date(9999, 12, 31)
PERSON, COMPANY = "person", "company"
ATTAINMENT_MEASURE = "bookings"  # the quota measure won amount is compared with
MEETING, CALL, EMAIL, DEMO = "meeting", "call", "email", "demo"
FIRST_MEETING = "first_meeting"

KPI_VALUES = pa.schema(
    [
        ("subject_id", pa.string()),
        ("subject_level", pa.string()),
        ("period", pa.string()),
        ("kpi", pa.string()),
        ("value", pa.float64()),
    ]
)

#: The additive measures the KPIs are made of (each a decimal sum per subject and period).
MEASURES = (
    "won_n", "won_amt", "lost_n", "lost_amt", "cycle_sum",
    "created_amt",
    "act_n", "call_n", "email_n", "meeting_n", "demo_n", "first_meeting_n", "quality_n",
    "open_n", "age_sum", "pipe_amt", "next_set_n", "next_overdue_n", "stuck_n",
    "forecast_n", "slipped_n", "reached_n", "advanced_n",
)  # fmt: skip

#: Which family of measures each KPI needs (a request computes only the families its KPIs need).
FAMILIES: dict[str, set[str]] = {
    "closed": {
        "won_amount", "won_count", "lost_count", "win_rate", "win_rate_value", "avg_deal_size",
        "cycle_days", "attainment", "pipeline_coverage", "sales_velocity",
    },
    "created": {"pipeline_created"},
    "activities": {
        "activities", "activities_quality", "calls", "emails", "meetings", "demos", "first_meetings",
        "activity_to_meeting",
    },
    "snapshot": {
        "open_pipeline", "pipeline_coverage", "sales_velocity", "next_step_set", "next_step_overdue",
        "stuck_deals", "deal_age_days",
    },
    "slip": {"slip_rate"},
    "conversion": {"stage_conversion"},
}  # fmt: skip


@dataclass(frozen=True)
class KpiInputs:
    """The facts KPIs are computed from: typed Arrow tables with the canonical columns (DESIGN.md §8).

    opportunities: opportunity_id, owner_id, amount, currency, stage, created_date, close_date,
        is_closed, is_won, next_step, next_step_date
    opportunity_history: opportunity_id, changed_at, stage, amount, close_date
    activities: activity_id, person_id, type, occurred_at, duration_minutes, account_id,
        opportunity_id, outcome
    assignments: person_id, org_unit_id, start_date, end_date
    org_units: org_unit_id, kind, parent_id
    quotas: subject_id, subject_kind, measure, period, amount, version
    fx_rates: currency, date, rate (base currency per unit, effective from `date`)
    """

    opportunities: pa.Table
    opportunity_history: pa.Table
    activities: pa.Table
    assignments: pa.Table
    org_units: pa.Table
    quotas: pa.Table
    fx_rates: pa.Table
    base_currency: str = "USD"


# --- subjects and periods -----------------------------------------------------------------------------
def levels_of(org_units: pa.Table) -> list[str]:
    """The levels KPIs can be asked for: person, every org-unit kind, and company."""
    kinds = sorted(set(pc.unique(org_units.column("kind")).to_pylist()) - {COMPANY, None})
    return [PERSON, *kinds, COMPANY]


def company_id(org_units: pa.Table) -> str:
    """The company's subject id: the org unit of kind company (the first by id), else "company"."""
    ids = org_units.filter(pc.equal(org_units.column("kind"), COMPANY)).column("org_unit_id").to_pylist()
    return min(ids) if ids else COMPANY


def consecutive_periods(calendar: FiscalCalendar, last: str, count: int) -> list[str]:
    """`count` periods of the kind of `last`, ending with it, oldest first (a trend's x axis)."""
    period = calendar.parse(last)
    labels = [period.label]
    while len(labels) < count:
        period = calendar.containing(period.start - timedelta(days=1), period.kind)
        labels.append(period.label)
    return labels[::-1]


def _closure(org_units: pa.Table) -> pa.Table:
    """(org_unit_id, ancestor_id, ancestor_kind) for every unit and each unit above it, itself included.

    A dimension of a few hundred rows: walked in Python once, like the calendar.
    """
    parent = dict(zip(*(org_units.column(c).to_pylist() for c in ("org_unit_id", "parent_id")), strict=True))
    kind = dict(zip(*(org_units.column(c).to_pylist() for c in ("org_unit_id", "kind")), strict=True))
    rows: list[tuple[str, str, str]] = []
    for unit in parent:
        cursor: str | None = unit
        seen: set[str] = set()
        while cursor is not None and cursor in parent and cursor not in seen:
            seen.add(cursor)
            rows.append((unit, cursor, kind[cursor]))
            cursor = parent[cursor]
    names = ("org_unit_id", "ancestor_id", "ancestor_kind")
    return pa.table({n: pa.array([r[i] for r in rows], pa.string()) for i, n in enumerate(names)})


def _periods(calendar: FiscalCalendar, labels: Sequence[str], as_of: date) -> pa.Table:
    periods: list[Period] = [calendar.parse(label) for label in dict.fromkeys(labels)]
    snaps = [min(as_of, p.end - timedelta(days=1)) for p in periods]
    return pa.table(
        {
            "period": pa.array([p.label for p in periods], pa.string()),
            "p_start": pa.array([p.start for p in periods], pa.date32()),
            "p_end": pa.array([p.end for p in periods], pa.date32()),
            "snap": pa.array(snaps, pa.date32()),
            "snap_end": pa.array(
                [datetime.combine(s + timedelta(days=1), time()) for s in snaps], pa.timestamp("us")
            ),
            "is_current": pa.array([s == as_of for s in snaps], pa.bool_()),
        }
    )


def _quota_periods(calendar: FiscalCalendar, quotas: pa.Table) -> pa.Table:
    """Start and end of every period label quotas are set for (labels that do not parse are left out)."""
    rows = []
    for label in pc.unique(quotas.column("period")).to_pylist():
        try:
            period = calendar.parse(label)
        except ValueError:
            continue
        rows.append((label, period.start, period.end))
    return pa.table(
        {
            "q_period": pa.array([r[0] for r in rows], pa.string()),
            "q_start": pa.array([r[1] for r in rows], pa.date32()),
            "q_end": pa.array([r[2] for r in rows], pa.date32()),
        }
    )


# --- step 1: measures ----------------------------------------------------------------------------------
def _long(t: ir.Table, measures: dict[str, ir.Value]) -> ir.Table:
    """Wide measures of `t` (keyed person_id, period, day) as rows (…, measure, value)."""
    wide = t.select(
        "person_id", "period", "day", **{name: value.cast(EXACT) for name, value in measures.items()}
    )
    return wide.pivot_longer(selectors.cols(*measures), names_to="measure", values_to="value")


def _in_period(t: ir.Table, periods: ir.Table, day: ir.Value) -> ir.Table:
    return t.join(periods, [day >= periods.p_start, day < periods.p_end, day <= periods.snap])


def _to_base(t: ir.Table, fx: ir.Table, base: str, day: str, amount: str) -> ir.Table:
    """`t` with `base_amt`: `amount` in the base currency at the rate in effect on `day` (null: no rate)."""
    joined = t.asof_join(fx, on=t[day] >= fx.fx_date, predicates=[t.currency == fx.fx_currency])
    rate = (joined.currency == base).ifelse(ibis.literal(1).cast(EXACT), joined.fx_rate.cast(EXACT))
    out = joined.mutate(base_amt=(joined[amount].cast(EXACT) * rate).cast(EXACT))
    return out.drop("fx_currency", "fx_date", "fx_rate")


def _closed_measures(deals: ir.Table, periods: ir.Table, fx: ir.Table, base: str) -> ir.Table:
    closed = deals.filter(deals.is_closed, deals.close_date.notnull())
    closed = closed.mutate(money=closed.is_won.ifelse(closed.amount, closed.last_open_amount))
    closed = _to_base(closed, fx, base, "close_date", "money")
    t = _in_period(closed, periods, closed.close_date)
    t = t.mutate(day=t.close_date, person_id=t.owner_id)
    won = t.is_won.ifelse(1, 0)
    return _long(
        t,
        {
            "won_n": won,
            "won_amt": t.is_won.ifelse(t.base_amt, 0),
            "lost_n": 1 - won,
            "lost_amt": t.is_won.ifelse(0, t.base_amt),
            "cycle_sum": t.is_won.ifelse(t.close_date.delta(t.created_date, unit="day"), 0),
        },
    )


def _created_measures(deals: ir.Table, periods: ir.Table, fx: ir.Table, base: str) -> ir.Table:
    money = (deals.is_closed & ~deals.is_won).ifelse(deals.last_open_amount, deals.amount)
    created = _to_base(deals.mutate(money=money), fx, base, "created_date", "money")
    t = _in_period(created, periods, created.created_date)
    t = t.mutate(day=t.created_date, person_id=t.owner_id)
    return _long(t, {"created_amt": t.base_amt})


def _activity_measures(activities: ir.Table, periods: ir.Table, *, quality: bool) -> ir.Table:
    """Activities per person and day: all, by type, first meetings and (with `quality`) not suspect."""
    keys = {"person_id": activities.person_id, "day": activities.occurred_at.date()}
    keys |= {"kind": activities.type, "outcome": activities.outcome}
    if quality:
        keys["suspect"] = activities.suspect
    grouped = activities.group_by(**keys).aggregate(n=activities.count())
    grouped = grouped.mutate(kind=grouped.kind.lower(), outcome=grouped.outcome.lower())
    is_meeting = grouped.kind == MEETING
    zero = ibis.literal(0).cast("int64")
    flags = {
        "act_n": grouped.n,
        "call_n": (grouped.kind == CALL).ifelse(grouped.n, zero),
        "email_n": (grouped.kind == EMAIL).ifelse(grouped.n, zero),
        "meeting_n": is_meeting.ifelse(grouped.n, zero),
        "demo_n": (grouped.kind == DEMO).ifelse(grouped.n, zero),
        "first_meeting_n": (is_meeting & (grouped.outcome == FIRST_MEETING))
        .fill_null(False)
        .ifelse(grouped.n, zero),
    }
    if quality:
        flags["quality_n"] = grouped.suspect.ifelse(zero, grouped.n)
    daily = grouped.group_by("person_id", "day").aggregate(
        **{name: flag.sum() for name, flag in flags.items()}
    )
    t = _in_period(daily, periods, daily.day)
    return _long(t, {name: t[name] for name in flags})


def _history_states(deals: ir.Table, history: ir.Table) -> ir.Table:
    """Each deal's state after each change, with the start of the stage stint the change belongs to.

    A deal without history gets one state on its created date (its current amount and close date; its
    stage when open). `is_final` marks the closing rows of a closed deal (its final stage).
    """
    known = deals.select("opportunity_id", "stage", "is_closed", "is_won", "created_date")
    h = history.join(known.rename(final_stage="stage"), "opportunity_id")
    h = h.select(
        "opportunity_id", "changed_at", "stage", "amount", "close_date",
        is_final=(h.is_closed & (h.stage == h.final_stage)).fill_null(False),
        is_won_row=(h.is_won & (h.stage == h.final_stage)).fill_null(False),
    )  # fmt: skip
    bare = deals.anti_join(history, "opportunity_id")
    synthetic = bare.select(
        "opportunity_id",
        changed_at=bare.created_date.cast(h.changed_at.type()),
        stage=bare.is_closed.ifelse(ibis.null(str), bare.stage),
        amount=bare.amount,
        close_date=bare.close_date,
        is_final=ibis.literal(False),
        is_won_row=ibis.literal(False),
    )
    states = h.union(synthetic)
    order = [states.changed_at]
    changed = (states.stage != states.stage.lag().over(group_by="opportunity_id", order_by=order)).fill_null(
        True
    )
    states = states.mutate(_start=changed.ifelse(states.changed_at, ibis.null(states.changed_at.type())))
    # changes come in time order, so the stint's start is the latest stint start so far
    started = states._start.max().over(ibis.cumulative_window(group_by="opportunity_id", order_by=order))
    return states.mutate(stint_start=started).drop("_start")


def _stage_p75(states: ir.Table, as_of_end: datetime) -> ir.Table:
    """p75 of the days deals spent in each stage, over stints that ended by `as_of`."""
    stints = states.select("opportunity_id", "stint_start", "stage").distinct()
    nxt = stints.stint_start.lead().over(group_by="opportunity_id", order_by=stints.stint_start)
    stints = stints.mutate(stint_end=nxt)
    done = stints.filter(stints.stint_end.notnull(), stints.stint_end < as_of_end, stints.stage.notnull())
    days = (done.stint_end.epoch_seconds() - done.stint_start.epoch_seconds()) / 86400.0
    return done.group_by(p75_stage="stage").aggregate(p75=days.quantile(0.75))


def _at_snapshot(deals: ir.Table, states: ir.Table, periods: ir.Table) -> ir.Table:
    """Every (deal, period) with the deal created by the snapshot day, and the deal's state at that day."""
    pairs = deals.cross_join(periods)
    closed_before = (pairs.is_closed & (pairs.close_date < pairs.p_start)).fill_null(False)
    pairs = pairs.filter(pairs.created_date <= pairs.snap, ~closed_before)
    s = states.select(
        s_opp="opportunity_id", s_at="changed_at", stage_s="stage", amount_s="amount", close_s="close_date",
        stint_s="stint_start",
    )  # fmt: skip
    joined = pairs.asof_join(s, on=pairs.snap_end > s.s_at, predicates=[pairs.opportunity_id == s.s_opp])
    return joined.mutate(
        open_s=~(joined.is_closed & (joined.close_date <= joined.snap)).fill_null(False),
        stage_s=joined.stage_s.coalesce(joined.stage),
        amount_s=joined.amount_s.coalesce(joined.amount),
        close_s=joined.close_s.coalesce(joined.close_date),
    )


def _snapshot_measures(at: ir.Table, p75: ir.Table, fx: ir.Table, base: str) -> ir.Table:
    open_ = at.filter(at.open_s)
    open_ = _to_base(open_, fx, base, "snap", "amount_s")
    open_ = open_.left_join(p75, open_.stage_s == p75.p75_stage)
    in_stage = (open_.snap_end.epoch_seconds() - open_.stint_s.epoch_seconds()) / 86400.0
    closing = (open_.close_s >= open_.p_start) & (open_.close_s < open_.p_end)
    has_next = open_.next_step.notnull() & open_.next_step_date.notnull()
    t = open_.mutate(day=open_.snap, person_id=open_.owner_id)
    return _long(
        t,
        {
            "open_n": ibis.literal(1),
            "age_sum": t.snap.delta(t.created_date, unit="day"),
            "pipe_amt": closing.fill_null(False).ifelse(t.base_amt, 0),
            "next_set_n": has_next.ifelse(1, 0),
            "next_overdue_n": (t.next_step_date < t.snap).fill_null(False).ifelse(1, 0),
            "stuck_n": (in_stage > t.p75).fill_null(False).ifelse(1, 0),
        },
    )


def _slip_measures(states: ir.Table, at: ir.Table, periods: ir.Table) -> ir.Table:
    """Deals forecast (by the snapshot day) to close in the period, and those that did not close in it."""
    s = states.filter(~states.is_final, states.close_date.notnull())
    forecast = (
        s.join(
            periods,
            [s.close_date >= periods.p_start, s.close_date < periods.p_end, s.changed_at < periods.snap_end],
        )
        .select("opportunity_id", "period")
        .distinct()
    )
    t = at.semi_join(forecast, ["opportunity_id", "period"])
    closed_in = t.is_closed & (t.close_date >= t.p_start) & (t.close_date <= t.snap)
    on_track = t.open_s & (t.close_s > t.snap) & (t.close_s < t.p_end)
    slipped = ~(closed_in.fill_null(False) | on_track.fill_null(False))
    t = t.mutate(day=t.snap, person_id=t.owner_id)
    return _long(t, {"forecast_n": ibis.literal(1), "slipped_n": slipped.ifelse(1, 0)})


def _stage_order(states: ir.Table, con: ibis.BaseBackend) -> pa.Table:
    """Open stages in the order deals go through them (mean position of the stint), then the won stage."""
    stints = states.filter(~states.is_final | states.is_won_row, states.stage.notnull())
    stints = stints.select("opportunity_id", "stint_start", "stage", "is_won_row").distinct()
    position = ibis.row_number().over(group_by="opportunity_id", order_by=stints.stint_start)
    stints = stints.mutate(position=position)
    order = stints.group_by("stage").aggregate(won=stints.is_won_row.max(), pos=stints.position.mean())
    rows = con.to_pyarrow(order).to_pylist()
    ranked = sorted(rows, key=lambda r: (bool(r["won"]), float(r["pos"]), str(r["stage"])))
    open_stages = [r["stage"] for r in ranked if not r["won"]]
    won = [r["stage"] for r in ranked if r["won"]]
    names = open_stages + won[:1]
    return pa.table(
        {
            "stage_name": pa.array(names + won[1:], pa.string()),
            "stage_index": pa.array(list(range(len(names))) + [len(names) - 1] * len(won[1:]), pa.int64()),
        }
    )


def _conversion_measures(
    deals: ir.Table, states: ir.Table, stages: ir.Table, periods: ir.Table, as_of_end: datetime
) -> ir.Table:
    """Stage cohorts: per deal and stage it reached (by the day it reached it), whether it went further."""
    s = states.filter(states.changed_at < as_of_end, ~states.is_final | states.is_won_row)
    s = s.join(stages, s.stage == stages.stage_name)
    first = s.group_by("opportunity_id", "stage_index").aggregate(at=s.changed_at.min())
    top = first.group_by(t_opp="opportunity_id").aggregate(top=first.stage_index.max())
    last = stages.stage_index.max().as_scalar()
    steps = stages.filter(stages.stage_index < last).select(k="stage_index").distinct()
    reached = first.join(steps, first.stage_index >= steps.k)
    reached = reached.group_by("opportunity_id", "k").aggregate(at=reached.at.min())
    reached = reached.join(top, reached.opportunity_id == top.t_opp)
    owners = deals.select(d_opp="opportunity_id", person_id="owner_id")
    reached = reached.join(owners, reached.opportunity_id == owners.d_opp)
    reached = reached.mutate(day=reached.at.date())
    t = _in_period(reached, periods, reached.day)
    return _long(t, {"reached_n": ibis.literal(1), "advanced_n": (t.top > t.k).ifelse(1, 0)})


# --- step 2: roll up -------------------------------------------------------------------------------------
def _effective_assignments(assignments: ir.Table) -> ir.Table:
    """One org unit per person and day: where assignments overlap, the later-starting one wins."""
    a = assignments.select("person_id", "org_unit_id", "start_date", end=assignments.end_date.coalesce(FAR))
    nxt = a.start_date.lead().over(group_by="person_id", order_by=[a.start_date, a.org_unit_id])
    a = a.mutate(end=ibis.least(a.end, nxt.coalesce(FAR)))
    return a.filter(a.end > a.start_date).rename(a_person="person_id")


def _sum_by(t: ir.Table, subject: ir.Value, level: ir.Value) -> ir.Table:
    keys = {"subject_id": subject, "subject_level": level, "period": t.period, "measure": t.measure}
    return t.group_by(**keys).aggregate(value=t.value.sum())


def _roll_up(
    facts: ir.Table, assignments: ir.Table, closure: ir.Table, levels: Sequence[str], company: str
) -> ir.Table:
    """Measure sums per (subject_id, subject_level, period, measure)."""
    parts = []
    if PERSON in levels:
        parts.append(_sum_by(facts, facts.person_id, ibis.literal(PERSON)))
    units = [level for level in levels if level not in (PERSON, COMPANY)]
    if units:
        a = assignments
        on_day = [facts.person_id == a.a_person, facts.day >= a.start_date, facts.day < a.end]
        placed = facts.join(a, on_day)
        direct = placed.group_by("org_unit_id", "period", "measure").aggregate(value=placed.value.sum())
        up = direct.join(closure.filter(closure.ancestor_kind.isin(units)), "org_unit_id")
        parts.append(_sum_by(up, up.ancestor_id, up.ancestor_kind))
    if COMPANY in levels:
        parts.append(_sum_by(facts, ibis.literal(company), ibis.literal(COMPANY)))
    return ibis.union(*parts)


def _grid(  # noqa: PLR0917 - the pieces of one query, each named
    assignments: ir.Table,
    org_units: ir.Table,
    periods: ir.Table,
    sums: ir.Table,
    levels: Sequence[str],
    company: str,
) -> ir.Table:
    """Every subject that exists in each period: people assigned in it (or with facts), units, company."""
    parts = [sums.select("subject_id", "subject_level", "period")]
    if PERSON in levels:
        active = assignments.join(
            periods, [assignments.start_date < periods.p_end, assignments.end > periods.p_start]
        )
        parts.append(
            active.select(
                subject_id=active.a_person, subject_level=ibis.literal(PERSON), period=active.period
            )
        )
    units = [level for level in levels if level not in (PERSON, COMPANY)]
    if units:
        chosen = org_units.filter(org_units.kind.isin(units)).cross_join(periods)
        parts.append(
            chosen.select(subject_id=chosen.org_unit_id, subject_level=chosen.kind, period=chosen.period)
        )
    if COMPANY in levels:
        parts.append(
            periods.select(
                subject_id=ibis.literal(company), subject_level=ibis.literal(COMPANY), period=periods.period
            )
        )
    return ibis.union(*parts, distinct=True)


# --- step 3: formulas ------------------------------------------------------------------------------------
def _quotas(quotas: ir.Table, quota_periods: ir.Table, periods: ir.Table) -> ir.Table:
    """The latest version of each bookings quota, per subject and asked period.

    A period with no quota of its own takes the sum of the quotas set for periods inside it (a fiscal
    year the sum of its quarters).
    """
    q = quotas.filter(quotas.measure == ATTAINMENT_MEASURE)
    latest = q.version.max().over(group_by=["subject_kind", "subject_id", "measure", "period"])
    q = q.filter(q.version == latest)
    q = q.mutate(q_level=(q.subject_kind == PERSON).ifelse(PERSON, "unit"))
    exact = q.join(periods, q.period == periods.period).select(
        q_subject="subject_id", q_level="q_level", q_label=periods.period, amount="amount"
    )
    exact = exact.group_by("q_subject", "q_level", "q_label").aggregate(exact=exact.amount.sum())
    q = q.join(quota_periods, q.period == quota_periods.q_period)
    asked = periods.select(asked="period", a_start="p_start", a_end="p_end")
    inside = q.join(asked, [q.q_start >= asked.a_start, q.q_end <= asked.a_end, q.period != asked.asked])
    inside = inside.group_by(q_subject="subject_id", q_level="q_level", q_label="asked").aggregate(
        parts=inside.amount.sum()
    )
    both = exact.outer_join(inside, ["q_subject", "q_level", "q_label"])
    return both.select(
        q_subject=both.q_subject.coalesce(both.q_subject_right),
        q_level=both.q_level.coalesce(both.q_level_right),
        q_label=both.q_label.coalesce(both.q_label_right),
        quota=both.exact.coalesce(both.parts).cast(EXACT),
    )


def _quota_inputs(quotas: pa.Table, calendar: FiscalCalendar, periods: ir.Table) -> ir.Table:
    """`_quotas` over a quotas table as stored or in the canonical format (which has no version)."""
    if "version" not in quotas.column_names:  # the canonical format has one version per row
        quotas = quotas.append_column("version", pa.repeat(pa.scalar(1, pa.int64()), quotas.num_rows))
    return _quotas(ibis.memtable(quotas), ibis.memtable(_quota_periods(calendar, quotas)), periods)


def bookings_quotas(quotas: pa.Table, calendar: FiscalCalendar, labels: Sequence[str]) -> pa.Table:
    """The exact bookings quota attainment is measured against, per subject and period label:
    (subject_id, subject_level `person` or `unit`, period, quota decimal); periods without one left out."""
    periods = ibis.memtable(_periods(calendar, labels, date.max - timedelta(days=1)))
    q = _quota_inputs(quotas, calendar, periods)
    q = q.filter(q.quota.notnull()).select(
        subject_id="q_subject", subject_level="q_level", period="q_label", quota="quota"
    )
    return ibis.duckdb.connect().to_pyarrow(q.order_by(["subject_id", "period"]))


def _ratio(numerator: ir.FloatingValue, denominator: ir.FloatingValue) -> ir.FloatingValue:
    return ibis.ifelse(denominator > 0, numerator / denominator.nullif(0), ibis.null("float64"))


def _formulas(wide: ir.Table) -> dict[str, ir.Value]:
    m = {name: wide[name] for name in MEASURES}
    win_rate = _ratio(m["won_n"], m["won_n"] + m["lost_n"])
    avg_deal = _ratio(m["won_amt"], m["won_n"])
    cycle = _ratio(m["cycle_sum"], m["won_n"])
    gap = wide.quota - m["won_amt"]
    current = wide.is_current
    return {
        "won_amount": m["won_amt"],
        "won_count": m["won_n"],
        "lost_count": m["lost_n"],
        "win_rate": win_rate,
        "win_rate_value": _ratio(m["won_amt"], m["won_amt"] + m["lost_amt"]),
        "avg_deal_size": avg_deal,
        "cycle_days": cycle,
        "attainment": _ratio(m["won_amt"], wide.quota),
        "open_pipeline": m["pipe_amt"],
        "pipeline_coverage": _ratio(m["pipe_amt"], gap),
        "sales_velocity": _ratio(m["open_n"] * win_rate * avg_deal, cycle),
        "slip_rate": _ratio(m["slipped_n"], m["forecast_n"]),
        "pipeline_created": m["created_amt"],
        "activities": m["act_n"],
        "activities_quality": m["quality_n"],
        "calls": m["call_n"],
        "emails": m["email_n"],
        "meetings": m["meeting_n"],
        "demos": m["demo_n"],
        "first_meetings": m["first_meeting_n"],
        "activity_to_meeting": _ratio(m["meeting_n"], m["call_n"] + m["email_n"]),
        "next_step_set": current.ifelse(_ratio(m["next_set_n"], m["open_n"]), ibis.null("float64")),
        "next_step_overdue": current.ifelse(_ratio(m["next_overdue_n"], m["open_n"]), ibis.null("float64")),
        "stuck_deals": m["stuck_n"],
        "deal_age_days": _ratio(m["age_sum"], m["open_n"]),
        "stage_conversion": _ratio(m["advanced_n"], m["reached_n"]),
    }


# --- the pipeline ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Run:
    """What the steps of one request share."""

    con: ibis.BaseBackend
    inputs: KpiInputs
    names: list[str]
    periods: ir.Table
    fx: ir.Table
    as_of_end: datetime
    stages: Sequence[str] | None


def compute_kpis(
    inputs: KpiInputs,
    *,
    calendar: FiscalCalendar,
    levels: Sequence[str],
    periods: Sequence[str],
    as_of: date,
    kpis: Sequence[str] | None = None,
    stages: Sequence[str] | None = None,
) -> pa.Table:
    """Every KPI of `kpis` (default: the catalogue) for every subject at `levels` × `periods` (KPI_VALUES).

    `levels`: `person`, org-unit kinds (`team`, `region`, …) and/or `company` (see `levels_of`).
    `stages`: the open stages in order, then the won stage (default: inferred from the history).
    Rows come sorted by level, subject, period and the catalogue's order of KPIs.
    """
    names = list(kpis) if kpis is not None else [k.name for k in CATALOGUE]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown KPI(s) {unknown} (known: {', '.join(BY_NAME)})")
    known_levels = levels_of(inputs.org_units)
    if bad := [level for level in levels if level not in known_levels]:
        raise ValueError(f"unknown level(s) {bad} (known: {', '.join(known_levels)})")
    if not periods or not levels or not names:
        return KPI_VALUES.empty_table()
    run = _Run(
        con=ibis.duckdb.connect(),
        inputs=inputs,
        names=names,
        periods=ibis.memtable(_periods(calendar, periods, as_of)),
        fx=ibis.memtable(inputs.fx_rates).select(fx_currency="currency", fx_date="date", fx_rate="rate"),
        as_of_end=datetime.combine(as_of + timedelta(days=1), time()),
        stages=stages,
    )
    facts = _measures(run)
    assignments = _effective_assignments(ibis.memtable(inputs.assignments))
    company = company_id(inputs.org_units)
    sums = _roll_up(facts, assignments, ibis.memtable(_closure(inputs.org_units)), levels, company)
    sums = run.con.create_table("sums", sums, temp=True)
    units = ibis.memtable(inputs.org_units.select(["org_unit_id", "kind"]))
    grid = _grid(assignments, units, run.periods, sums, levels, company)
    wide = _wide(run, sums, grid, calendar)
    formulas = _formulas(wide)
    out = wide.select(
        "subject_id", "subject_level", "period", **{n: formulas[n].cast("float64") for n in names}
    )
    out = out.pivot_longer(selectors.cols(*names), names_to="kpi", values_to="value")
    rank = ibis.cases(*[(out.kpi == n, i) for i, n in enumerate(names)], else_=len(names))
    out = out.order_by([out.subject_level, out.subject_id, out.period, rank])
    return run.con.to_pyarrow(out).cast(KPI_VALUES)


def _measures(run: _Run) -> ir.Table:
    """Step 1: the measures of the families the asked KPIs need (materialised)."""
    con, periods, fx, base = run.con, run.periods, run.fx, run.inputs.base_currency
    deals, states = _deals(con, run.inputs, run.as_of_end)
    wanted = {family for family, members in FAMILIES.items() if members & set(run.names)}
    parts = []
    if "closed" in wanted:
        parts.append(_closed_measures(deals, periods, fx, base))
    if "created" in wanted:
        parts.append(_created_measures(deals, periods, fx, base))
    if "activities" in wanted:
        quality = "activities_quality" in run.names
        activities = _activities(run.inputs.activities, run.as_of_end, quality=quality)
        parts.append(_activity_measures(activities, periods, quality=quality))
    if wanted & {"snapshot", "slip"}:
        at = con.create_table("at_snapshot", _at_snapshot(deals, states, periods), temp=True)
        if "snapshot" in wanted:
            parts.append(_snapshot_measures(at, _stage_p75(states, run.as_of_end), fx, base))
        if "slip" in wanted:
            parts.append(_slip_measures(states, at, periods))
    if "conversion" in wanted:
        stage_table = _stage_table(run.stages, states, con)
        parts.append(_conversion_measures(deals, states, stage_table, periods, run.as_of_end))
    facts = ibis.union(*parts)
    return con.create_table("facts", facts.filter(facts.person_id.notnull()), temp=True)


def _wide(run: _Run, sums: ir.Table, grid: ir.Table, calendar: FiscalCalendar) -> ir.Table:
    """Step 3's input: one row per subject and period, a float column per measure, the quota."""
    wide = sums.pivot_wider(
        names_from="measure", values_from="value", names=list(MEASURES), values_agg="sum", values_fill=0
    )
    wide = grid.left_join(wide, ["subject_id", "subject_level", "period"])
    measures = {n: wide[n].cast("float64").fill_null(0.0) for n in MEASURES}
    wide = wide.select("subject_id", "subject_level", "period", **measures)
    wide = wide.join(run.periods.select("period", "is_current"), "period")
    quotas = _quota_inputs(run.inputs.quotas, calendar, run.periods)
    quotas = quotas.mutate(quota=quotas.quota.cast("float64"))
    level = (wide.subject_level == PERSON).ifelse(PERSON, "unit")
    on = [wide.subject_id == quotas.q_subject, level == quotas.q_level, wide.period == quotas.q_label]
    return wide.left_join(quotas, on)


def _deals(con: ibis.BaseBackend, inputs: KpiInputs, as_of_end: datetime) -> tuple[ir.Table, ir.Table]:
    """Deals created by `as_of` (with `last_open_amount`) and their history states (both materialised)."""
    deals = ibis.memtable(inputs.opportunities)
    deals = deals.filter(deals.created_date < as_of_end.date()).mutate(
        currency=deals.currency.coalesce(inputs.base_currency)
    )
    history = ibis.memtable(
        inputs.opportunity_history.select(["opportunity_id", "changed_at", "stage", "amount", "close_date"])
    )
    states = con.create_table("states", _history_states(deals, history), temp=True)
    open_rows = states.filter(~states.is_final, states.amount.notnull())
    last_open = open_rows.group_by(l_opp="opportunity_id").aggregate(
        last_open=open_rows.amount.argmax(open_rows.changed_at)
    )
    deals = deals.left_join(last_open, deals.opportunity_id == last_open.l_opp)
    deals = deals.mutate(last_open_amount=deals.last_open.coalesce(deals.amount)).drop("l_opp", "last_open")
    return con.create_table("deals", deals, temp=True), states


#: The activity columns the measures read (`suspect_flags` needs the rest for quality-adjusted counts).
_ACTIVITY_COLUMNS = ["person_id", "type", "occurred_at", "outcome"]
_QUALITY_COLUMNS = ["activity_id", "duration_minutes", "account_id", "opportunity_id"]


def _activities(activities: pa.Table, as_of_end: datetime, *, quality: bool) -> ir.Table:
    """Activities known by `as_of` (with `suspect` under `quality`), only the columns the measures read."""
    columns = _ACTIVITY_COLUMNS + (_QUALITY_COLUMNS if quality else [])
    t = ibis.memtable(activities.select(columns))
    t = t.filter(t.occurred_at < as_of_end)
    if not quality:
        return t
    flagged = suspect_flags(t)
    return flagged.select(*_ACTIVITY_COLUMNS, "suspect")


def _stage_table(stages: Sequence[str] | None, states: ir.Table, con: ibis.BaseBackend) -> ir.Table:
    if stages is None:
        return ibis.memtable(_stage_order(states, con))
    names = list(stages)
    return ibis.memtable(
        pa.table(
            {
                "stage_name": pa.array(names, pa.string()),
                "stage_index": pa.array(range(len(names)), pa.int64()),
            }
        )
    )
