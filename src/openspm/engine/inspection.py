"""Deal inspection: every open deal checked against the exit criteria of its sales process (DESIGN.md §4, §5).

    opportunities ─┐
    activities ────┼─ criterion_results ──┐
    history ── stage_stays ─┬─ stage_limits ──┼─ deal_inspection ─▶ DEALS (one row per open deal)
                            └─ skipped_stages ┘                   CRITERIA (one row per deal × criterion)

Every step is an Ibis expression (DuckDB over Arrow by default); loops run over the process's stages and
criteria (a handful), never over deals. `inspect_pipeline` runs the steps and returns typed Arrow tables.

Definitions (docs/inspection.md):
- a deal *earned its stage* when every criterion of its current stage and of every earlier stage is met;
  it *advanced without evidence* when a criterion of an earlier stage is not met;
- a stage was *skipped* when it lies before the current stage and the deal's history never shows it;
- a deal is *stuck* when its days in the current stage exceed the stage's `stuck_after_days`, or, when
  that is not set, the p75 of the days completed stays in that stage lasted (needs `min_stays` of them);
- the next step is *missing* (no text), *undated* (text, no date) or *overdue* (date before `as_of`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from openspm.domain.sales_process import (
    CUSTOM_PREFIX,
    ActivityCriterion,
    ChecklistCriterion,
    Criterion,
    FieldCriterion,
    NextStepCriterion,
    SalesProcess,
    Scalar,
    criterion_label,
)
from openspm.engine.goodhart import normalised_text

MONEY = pa.decimal128(18, 4)
EXACT = pa.decimal128(38, 10)
MIN_STAYS = 5  # completed stays in a stage needed before its p75 can call a deal stuck
STUCK_QUANTILE = 0.75

#: One row per open deal (the contract the services and pages read).
DEALS = pa.schema(
    [
        ("opportunity_id", pa.string()),
        ("owner_id", pa.string()),
        ("account_id", pa.string()),
        ("name", pa.string()),
        ("crm_stage", pa.string()),  # the stage as the CRM names it
        ("stage", pa.string()),  # the process stage (null: the CRM stage is not in the process)
        ("stage_index", pa.int32()),
        ("amount", MONEY),  # in the deal's currency
        ("currency", pa.string()),
        ("value", EXACT),  # amount in the base currency at the latest rate on or before as_of (null: no rate)
        ("created_date", pa.date32()),
        ("close_date", pa.date32()),
        ("stage_entered", pa.date32()),
        ("days_in_stage", pa.int64()),
        ("stuck_limit_days", pa.float64()),
        ("stuck_limit_source", pa.string()),  # set | p75 | null (no limit known)
        ("is_stuck", pa.bool_()),
        ("skipped_stages", pa.list_(pa.string())),
        ("criteria_total", pa.int64()),
        ("criteria_met", pa.int64()),
        ("missing_criteria", pa.list_(pa.string())),  # criterion names, in process order
        ("missing_earlier", pa.int64()),  # of them, criteria of stages before the current one
        ("earned_stage", pa.bool_()),
        ("advanced_without_evidence", pa.bool_()),
        ("next_step", pa.string()),
        ("next_step_date", pa.date32()),
        ("next_step_missing", pa.bool_()),
        ("next_step_undated", pa.bool_()),
        ("next_step_overdue", pa.bool_()),
        ("is_unknown_stage", pa.bool_()),
        ("has_gaps", pa.bool_()),
    ]
)

#: One row per open deal × criterion of its current or an earlier stage.
CRITERIA = pa.schema(
    [
        ("opportunity_id", pa.string()),
        ("stage", pa.string()),  # the stage whose exit criterion this is
        ("stage_index", pa.int32()),
        ("criterion", pa.string()),
        ("label", pa.string()),
        ("kind", pa.string()),
        ("met", pa.bool_()),
        ("is_current_stage", pa.bool_()),
    ]
)

#: One row per open stage: how long completed stays lasted and the limit that makes a deal stuck.
STAGE_LIMITS = pa.schema(
    [
        ("stage", pa.string()),
        ("stage_index", pa.int32()),
        ("stays", pa.int64()),
        ("p75_days", pa.float64()),
        ("set_limit_days", pa.int64()),
        ("limit_days", pa.float64()),
        ("limit_source", pa.string()),
    ]
)


@dataclass(frozen=True, slots=True)
class Inspection:
    """The inspection's Arrow tables (schemas `DEALS`, `CRITERIA`, `STAGE_LIMITS`)."""

    deals: pa.Table
    criteria: pa.Table
    stage_limits: pa.Table


def inspect_pipeline(
    process: SalesProcess,
    *,
    opportunities: ir.Table,
    history: ir.Table,
    activities: ir.Table,
    as_of: date,
    fx_rates: ir.Table | None = None,
    base_currency: str | None = None,
    min_stays: int = MIN_STAYS,
) -> Inspection:
    """Inspect every open deal of `opportunities` as of the end of `as_of`; execute and return Arrow.

    The intermediate tables (open deals, criteria, stays, limits) are executed once each and handed on as
    Arrow (`_checkpoint`): each is read by several later steps, and small queries compile much faster in
    Ibis than one query holding the whole pipeline several times over.
    """
    end = as_of + timedelta(days=1)
    history = history.filter(history.changed_at < end)
    activities = activities.filter(activities.occurred_at < end)
    deals = _checkpoint(open_deals(process, opportunities))
    criteria_table = criterion_results(process, deals, activities).to_pyarrow()
    criteria = ibis.memtable(criteria_table)
    stays = _checkpoint(stage_stays(process, history))
    limits_table = stage_limits(process, stays, as_of, min_stays=min_stays).to_pyarrow()
    limits = ibis.memtable(limits_table)
    table = deal_inspection(
        deals,
        criteria=criteria,
        stays=stays,
        limits=limits,
        skipped=skipped_stages(process, deals, stays),
        values=deal_values(deals, fx_rates, base_currency, as_of),
        as_of=as_of,
    )
    ordered = criteria_table.sort_by(
        [("opportunity_id", "ascending"), ("stage_index", "ascending"), ("_order", "ascending")]
    )
    return Inspection(
        deals=_typed(table.order_by("opportunity_id"), DEALS),
        criteria=ordered.select(CRITERIA.names).cast(CRITERIA),
        stage_limits=limits_table.sort_by("stage_index").select(STAGE_LIMITS.names).cast(STAGE_LIMITS),
    )


def _checkpoint(table: ir.Table) -> ir.Table:
    return ibis.memtable(table.to_pyarrow())


def _typed(table: ir.Table, schema: pa.Schema) -> pa.Table:
    return table.select(*schema.names).to_pyarrow().cast(schema)


# --- the process as tables ---------------------------------------------------------------------------


def stage_table(process: SalesProcess) -> ir.Table:
    """CRM stage name → process stage, its index, whether it is closed, and its set stuck limit."""
    index = {stage.name: i for i, stage in enumerate(process.stages)}
    by_name = {stage.name: stage for stage in process.stages}
    rows = [
        {
            "crm_stage": crm,
            "stage": name,
            "stage_index": index[name],
            "is_closed_stage": by_name[name].is_closed,
            "set_limit_days": by_name[name].stuck_after_days,
        }
        for crm, name in process.stage_names().items()
    ]
    schema = pa.schema(
        [
            ("crm_stage", pa.string()),
            ("stage", pa.string()),
            ("stage_index", pa.int32()),
            ("is_closed_stage", pa.bool_()),
            ("set_limit_days", pa.int64()),
        ]
    )
    return ibis.memtable(pa.Table.from_pylist(rows, schema=schema))


def open_deals(process: SalesProcess, opportunities: ir.Table) -> ir.Table:
    """Open deals: `crm_stage` as the CRM names it, `stage` and `stage_index` in the process (or null)."""
    stages = stage_table(process).select(_crm="crm_stage", _stage="stage", stage_index="stage_index")
    deals = opportunities.filter(~opportunities.is_closed.fill_null(False))
    joined = deals.left_join(stages, deals.stage == stages._crm)
    return joined.mutate(crm_stage=joined.stage, stage=joined._stage).drop("_crm", "_stage")


# --- criteria ------------------------------------------------------------------------------------------


def criterion_results(process: SalesProcess, deals: ir.Table, activities: ir.Table) -> ir.Table:
    """(opportunity_id, stage, stage_index, criterion, label, kind, met, is_current_stage, _order)."""
    parts = []
    for order, (index, stage, criterion) in enumerate(process.criteria()):
        reached = deals.filter(deals.stage_index >= index)
        met = _met(criterion, reached, activities)
        parts.append(
            met.select(
                "opportunity_id",
                stage=ibis.literal(stage.name),
                stage_index=ibis.literal(index).cast("int32"),
                criterion=ibis.literal(criterion.name),
                label=ibis.literal(criterion_label(criterion)),
                kind=ibis.literal(criterion.kind),
                met=met._met.fill_null(False),
                is_current_stage=met.stage_index == index,
                _order=ibis.literal(order),
            )
        )
    if not parts:
        empty = pa.schema([*CRITERIA, ("_order", pa.int64())]).empty_table()
        return ibis.memtable(empty)
    return ibis.union(*parts, distinct=False)


def _met(criterion: Criterion, deals: ir.Table, activities: ir.Table) -> ir.Table:
    """`deals` with `_met`: whether each deal shows the criterion's evidence."""
    if isinstance(criterion, ActivityCriterion):
        return _activity_met(criterion, deals, activities)
    if isinstance(criterion, FieldCriterion):
        return deals.mutate(_met=_field_met(deals, criterion))
    if isinstance(criterion, ChecklistCriterion):
        filled = [_filled(deals, name).cast("int64") for name in criterion.fields]
        return deals.mutate(_met=sum(filled[1:], filled[0]) >= criterion.at_least)
    if isinstance(criterion, NextStepCriterion):
        has_step = _text_filled(deals.next_step)
        return deals.mutate(_met=has_step & deals.next_step_date.notnull() if criterion.dated else has_step)
    raise TypeError(f"unknown criterion kind {criterion!r}")  # pragma: no cover - the union is closed


def _activity_met(criterion: ActivityCriterion, deals: ir.Table, activities: ir.Table) -> ir.Table:
    wanted = normalised_text(activities.type).isin([_normalised(t) for t in criterion.types])
    if criterion.outcomes is not None:
        outcomes = [_normalised(o) for o in criterion.outcomes]
        wanted &= normalised_text(activities.outcome).isin(outcomes).fill_null(False)
    counts = (
        activities.filter(wanted & activities.opportunity_id.notnull())
        .group_by(_opp=activities.opportunity_id)
        .aggregate(_n=ibis._.count())
    )
    joined = deals.left_join(counts, deals.opportunity_id == counts._opp)
    return joined.mutate(_met=joined._n.fill_null(0) >= criterion.min_count).drop("_opp", "_n")


def _normalised(text: str) -> str:
    return text.lower().strip().replace(" ", "_").replace("-", "_")


def _field_met(deals: ir.Table, criterion: FieldCriterion) -> ir.BooleanValue:
    if criterion.equals is None and criterion.one_of is None:
        return _filled(deals, criterion.field)
    wanted = [criterion.equals] if criterion.equals is not None else list(criterion.one_of or ())
    text = _as_text(deals, criterion.field)
    return text.isin([_scalar_text(v) for v in wanted]).fill_null(False)


def _filled(deals: ir.Table, field: str) -> ir.BooleanValue:
    """A field is filled unless it is missing, null, empty text or (custom fields) JSON null/false."""
    if field.startswith(CUSTOM_PREFIX):
        text = _as_text(deals, field)
        return (text.notnull() & ~text.isin(["null", "false", ""])).fill_null(False)
    column = deals[field]
    if column.type().is_string():
        return _text_filled(column)
    return column.notnull()


def _text_filled(column: ir.StringValue) -> ir.BooleanValue:
    return (column.notnull() & (column.strip() != "")).fill_null(False)


def _as_text(deals: ir.Table, field: str) -> ir.StringValue:
    """The field as text: custom fields unquoted from the `extra` JSON, booleans as true/false."""
    if field.startswith(CUSTOM_PREFIX):
        if "extra" not in deals.columns:
            return ibis.null(str)
        value = deals.extra.cast("json")[field[len(CUSTOM_PREFIX) :]]
        return ibis.coalesce(value.str, value.cast("string"))
    column = deals[field]
    if column.type().is_boolean():
        return column.ifelse("true", "false")
    return column.cast("string")


def _scalar_text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- stage history -------------------------------------------------------------------------------------


def stage_stays(process: SalesProcess, history: ir.Table) -> ir.Table:
    """Every stay of a deal in a process stage: (opportunity_id, stage, stage_index, entered_at, left_at).

    A stay starts at a history row whose stage differs from the row before it; it ends when the next
    stay starts (null: the deal is still there). Rows of stages unknown to the process are ignored.
    """
    stages = stage_table(process)
    rows = history.inner_join(stages, history.stage == stages.crm_stage).select(
        "opportunity_id", "changed_at", stage=stages.stage, stage_index=stages.stage_index
    )
    order = [rows.changed_at]
    previous = rows.stage.lag().over(group_by=rows.opportunity_id, order_by=order)
    entries = rows.filter(previous.isnull() | (previous != rows.stage))
    left_at = entries.changed_at.lead().over(group_by=entries.opportunity_id, order_by=[entries.changed_at])
    return entries.select("opportunity_id", "stage", "stage_index", entered_at="changed_at", left_at=left_at)


def stage_limits(
    process: SalesProcess, stays: ir.Table, as_of: date, *, min_stays: int = MIN_STAYS
) -> ir.Table:
    """Per open stage: completed stays, their p75 in days, the set limit and the limit that applies."""
    done = stays.filter(stays.left_at.notnull())
    days = (done.left_at.epoch_seconds() - done.entered_at.epoch_seconds()) / 86400.0
    measured = (
        done.mutate(_days=days)
        .group_by("stage")
        .aggregate(stays=ibis._.count(), p75_days=ibis._._days.quantile(STUCK_QUANTILE))
    )
    stages = stage_table(process)
    open_stages = stages.filter(~stages.is_closed_stage & (stages.stage == stages.crm_stage))
    joined = open_stages.left_join(measured, open_stages.stage == measured.stage)
    stays_n = joined.stays.fill_null(0)
    p75 = (stays_n >= min_stays).ifelse(joined.p75_days.cast("float64"), ibis.null("float64"))
    limit = ibis.coalesce(joined.set_limit_days.cast("float64"), p75)
    source = ibis.cases(
        (joined.set_limit_days.notnull(), "set"), (p75.notnull(), "p75"), else_=ibis.null(str)
    )
    return joined.select(
        stage=open_stages.stage,
        stage_index=open_stages.stage_index,
        stays=stays_n,
        p75_days=p75,
        set_limit_days=joined.set_limit_days,
        limit_days=limit,
        limit_source=source,
    )


def skipped_stages(process: SalesProcess, deals: ir.Table, stays: ir.Table) -> ir.Table:
    """(opportunity_id, skipped_stages): open stages before the current one the history never shows.

    Deals without any history are left out: nothing is known about the stages they went through.
    """
    stages = stage_table(process)
    open_stages = stages.filter(~stages.is_closed_stage & (stages.stage == stages.crm_stage)).select(
        _stage="stage", _index="stage_index"
    )
    known = deals.filter(deals.stage_index.notnull()).select("opportunity_id", _current="stage_index")
    with_history = known.semi_join(stays, known.opportunity_id == stays.opportunity_id)
    expected = with_history.cross_join(open_stages).filter(ibis._._index < ibis._._current)
    visited = stays.select(_v_opp="opportunity_id", _v_stage="stage").distinct()
    missed = expected.anti_join(
        visited, (expected.opportunity_id == visited._v_opp) & (expected._stage == visited._v_stage)
    )
    return missed.group_by("opportunity_id").aggregate(
        skipped_stages=missed._stage.collect(order_by=missed._index)
    )


def deal_values(
    deals: ir.Table, fx_rates: ir.Table | None, base_currency: str | None, as_of: date
) -> ir.Table:
    """(opportunity_id, value): the amount in the base currency at the latest rate on or before `as_of`."""
    amount = deals.amount.cast("decimal(38, 10)")
    same = deals.currency == base_currency if base_currency else ibis.literal(False)
    if fx_rates is None:
        value = same.ifelse(amount, ibis.null("decimal(38, 10)"))
        return deals.select("opportunity_id", value=value)
    latest = (
        fx_rates.filter(fx_rates.date <= as_of)
        .group_by(_currency=fx_rates.currency)
        .aggregate(_rate=fx_rates.rate.argmax(fx_rates.date))
    )
    joined = deals.left_join(latest, deals.currency == latest._currency)
    product = (joined.amount.cast("decimal(38, 10)") * joined._rate.cast("decimal(38, 10)")).cast(
        "decimal(38, 10)"
    )
    value = (joined.currency == base_currency if base_currency else ibis.literal(False)).ifelse(
        joined.amount.cast("decimal(38, 10)"), product
    )
    return joined.select("opportunity_id", value=value)


# --- the deal row ----------------------------------------------------------------------------------------


def deal_inspection(
    deals: ir.Table,
    *,
    criteria: ir.Table,
    stays: ir.Table,
    limits: ir.Table,
    skipped: ir.Table,
    values: ir.Table,
    as_of: date,
) -> ir.Table:
    """One row per open deal (schema `DEALS`)."""
    summary = criteria.group_by(_c_opp=criteria.opportunity_id).aggregate(
        criteria_total=criteria.count(),
        criteria_met=criteria.met.cast("int64").sum(),
        missing_criteria=criteria.criterion.collect(where=~criteria.met, order_by=criteria._order),
        missing_earlier=(~criteria.met & ~criteria.is_current_stage).cast("int64").sum(),
    )
    current = stays.filter(stays.left_at.isnull()).select(
        _s_opp="opportunity_id", _s_stage="stage", _entered="entered_at"
    )
    limit = limits.select(_l_stage="stage", _limit="limit_days", _source="limit_source")
    skips = skipped.select(_k_opp="opportunity_id", _skipped="skipped_stages")
    value = values.select(_v_opp="opportunity_id", value="value")
    t = deals.left_join(summary, deals.opportunity_id == summary._c_opp)
    t = t.left_join(current, (t.opportunity_id == current._s_opp) & (t.stage == current._s_stage))
    t = t.left_join(limit, t.stage == limit._l_stage)
    t = t.left_join(skips, t.opportunity_id == skips._k_opp)
    t = t.left_join(value, t.opportunity_id == value._v_opp)
    entered = ibis.coalesce(t._entered.date(), t.created_date)
    days = ibis.literal(as_of).delta(entered, unit="day")
    total = t.criteria_total.fill_null(0)
    met = t.criteria_met.fill_null(0)
    unknown = t.stage_index.isnull()
    has_text = _text_filled(t.next_step)
    t = t.mutate(
        stage_entered=entered,
        days_in_stage=days,
        stuck_limit_days=t._limit,
        stuck_limit_source=t._source,
        is_stuck=(days > t._limit).fill_null(False),
        skipped_stages=ibis.coalesce(t._skipped, ibis.literal([], type="array<string>")),
        criteria_total=total,
        criteria_met=met,
        missing_criteria=ibis.coalesce(t.missing_criteria, ibis.literal([], type="array<string>")),
        missing_earlier=t.missing_earlier.fill_null(0),
        earned_stage=~unknown & (met == total),
        advanced_without_evidence=t.missing_earlier.fill_null(0) > 0,
        next_step_missing=~has_text,
        next_step_undated=has_text & t.next_step_date.isnull(),
        next_step_overdue=(t.next_step_date < as_of).fill_null(False),
        is_unknown_stage=unknown,
    )
    gaps = (
        ~t.earned_stage
        | t.is_stuck
        | (t.skipped_stages.length() > 0)
        | t.next_step_missing
        | t.next_step_undated
        | t.next_step_overdue
    )
    return t.mutate(has_gaps=gaps)
