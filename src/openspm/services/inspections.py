"""Deal inspection and the Goodhart guard as use cases: read the store, run the engine, scope, summarise.

`inspect_deals` checks every open deal in the viewer's scope against the sales process and returns an
`InspectionReport`: the deals (most valuable first), a summary per rep and per org unit (team, region,
company) and the stuck limits of each stage. `goodhart_report` flags gamed activity and deals per rep,
with behaviour counts raw and quality-adjusted. Both are the one view model behind `spm inspect`,
`/api/v1/inspections` and the inspection pages (docs/inspection.md).

Scopes: an open deal is visible to whoever may see its owner as of the inspection day; an activity to
whoever may see its person on the activity's own day (as `services.records` does).
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field
from sqlalchemy import Connection, Engine, select

from openspm.access.roles import Reach
from openspm.domain.errors import InvalidRequest, NotFound
from openspm.domain.money import round_money
from openspm.domain.sales_process import SalesProcess, criterion_label
from openspm.engine import goodhart
from openspm.engine.inspection import Inspection, inspect_pipeline
from openspm.ingest.sales_process import load_sales_process
from openspm.services import company
from openspm.services.kpis import data_version
from openspm.services.org import in_effect
from openspm.services.records import MoneyText, Page, Public, Window
from openspm.services.scopes import Scope
from openspm.store.columnar import read_arrow
from openspm.store.models import Assignment, OrgUnit, Person, ReportingLine

PERSON, COMPANY = "person", "company"
GOODHART_DAYS = 90  # default activity window of the Goodhart report: the 90 days up to as_of


# --- view models -----------------------------------------------------------------------------------------


class MissingCriterion(Public):
    criterion: str = Field(description="the criterion's name in the sales process")
    label: str
    stage: str = Field(description="the stage whose exit criterion it is")


class InspectedDeal(Public):
    """One open deal as inspected (docs/inspection.md explains each verdict)."""

    opportunity_id: str
    name: str | None
    owner_id: str
    owner_name: str | None
    account_id: str | None
    stage: str | None = Field(description="the process stage (null: the CRM stage is not in the process)")
    crm_stage: str
    amount: MoneyText
    currency: str
    value: MoneyText | None = Field(description="amount in the base currency (null: no exchange rate)")
    close_date: date | None
    stage_entered: date
    days_in_stage: int
    stuck_limit_days: float | None
    stuck_limit_source: str | None = Field(description="set (the stage's limit) or p75 (from history)")
    is_stuck: bool
    skipped_stages: list[str]
    criteria_met: int
    criteria_total: int
    missing: list[MissingCriterion]
    earned_stage: bool
    advanced_without_evidence: bool
    next_step: str | None
    next_step_date: date | None
    next_step_missing: bool
    next_step_undated: bool
    next_step_overdue: bool
    has_gaps: bool


class GapCounts(Public):
    open_deals: int
    deals_with_gaps: int
    not_earned: int
    advanced_without_evidence: int
    stuck: int
    skipped_stage: int
    next_step_missing: int
    next_step_overdue: int
    open_value: MoneyText = Field(description="value of the open deals, base currency")
    gap_value: MoneyText = Field(description="value of the deals with gaps, base currency")


class RepInspection(GapCounts):
    person_id: str
    name: str | None


class UnitInspection(GapCounts):
    org_unit_id: str
    name: str
    kind: str


class StageLimit(Public):
    stage: str
    completed_stays: int
    p75_days: float | None
    set_limit_days: int | None
    limit_days: float | None
    limit_source: str | None


class InspectionReport(Public):
    as_of: date
    process: str
    base_currency: str
    level: str
    subjects: list[str]
    deals: list[InspectedDeal] = Field(description="open deals, most valuable first")
    reps: list[RepInspection]
    units: list[UnitInspection] = Field(description="org units holding the reps, by kind then name")
    stage_limits: list[StageLimit]


class InspectionPage(Page[InspectedDeal]):
    """One page of an inspection's deals (most valuable first) with the whole report's summaries."""

    as_of: date
    process: str
    base_currency: str
    reps: list[RepInspection]
    units: list[UnitInspection]
    stage_limits: list[StageLimit]


def page_of(report: InspectionReport, window: Window) -> InspectionPage:
    """The report with only the deals inside `window`."""
    return InspectionPage(
        items=window.slice(report.deals),
        total=len(report.deals),
        limit=window.limit,
        offset=window.offset,
        as_of=report.as_of,
        process=report.process,
        base_currency=report.base_currency,
        reps=report.reps,
        units=report.units,
        stage_limits=report.stage_limits,
    )


class BehaviourCount(Public):
    type: str
    raw: int
    suspect: int
    quality_adjusted: int


class RepFlags(Public):
    person_id: str
    name: str | None
    activities: int
    suspect_activities: int
    suspect_share: float | None
    short_calls: int
    burst_activities: int
    unlinked_activities: int
    open_deals: int
    advanced_without_evidence: int
    next_steps_in_past: int
    flagged_deals: int
    is_flagged: bool
    behaviours: list[BehaviourCount]


class FlaggedDeal(Public):
    opportunity_id: str
    owner_id: str
    reasons: list[str]


class GoodhartReport(Public):
    as_of: date
    start: date = Field(description="activities from this day …")
    end: date = Field(description="… up to, not including, this day")
    reps: list[RepFlags] = Field(description="flagged reps first, then by suspect share")
    deals: list[FlaggedDeal]


# --- the use cases ---------------------------------------------------------------------------------------


def inspect_deals(
    engine: Engine,
    *,
    subjects: Sequence[str] | None = None,
    level: str = PERSON,
    scope: Scope | None = None,
    as_of: date | None = None,
    process: SalesProcess | None = None,
    only_gaps: bool = False,
) -> InspectionReport:
    """Inspect the open deals of `subjects` (people, or org units at `level`) that `scope` may see.

    - level: ``person`` (subjects are person ids), ``company``, or an org-unit kind such as ``team`` or
      ``region`` (subjects are org unit ids; their whole subtree counts). No subjects: everyone in scope.
    - scope: the viewer's row scope; None (the CLI, run by an administrator) sees everything.
    - as_of: the inspection day (default: today, UTC); ages and overdue dates are counted to it.
    - process: the sales process (default: the shipped one); only_gaps: leave out deals without gaps.
    """
    day = as_of or _today()
    frame = _frame(engine, subjects=subjects, level=level, scope=scope, day=day)
    process = process or load_sales_process()
    result = _run(engine, process, frame, day)
    deals = _deal_rows(result, process, frame)
    shown = [d for d in deals if d.has_gaps] if only_gaps else deals
    return InspectionReport(
        as_of=day,
        process=process.name,
        base_currency=frame.base_currency,
        level=level,
        subjects=list(subjects or ()),
        deals=shown,
        reps=_rep_summaries(deals, frame),
        units=_unit_summaries(deals, frame),
        stage_limits=[StageLimit.model_validate(r) for r in _stage_limit_rows(result.stage_limits)],
    )


def goodhart_report(
    engine: Engine,
    *,
    subjects: Sequence[str] | None = None,
    level: str = PERSON,
    scope: Scope | None = None,
    as_of: date | None = None,
    start: date | None = None,
    process: SalesProcess | None = None,
) -> GoodhartReport:
    """Suspect activity per rep over [`start`, `as_of` + 1 day) (default: the 90 days up to as_of), with the
    deals flagged by the inspection (advanced without evidence, next step in the past)."""
    day = as_of or _today()
    first = start or day - timedelta(days=GOODHART_DAYS - 1)
    end = day + timedelta(days=1)
    if first >= end:
        raise InvalidRequest("start must be on or before as_of")
    frame = _frame(engine, subjects=subjects, level=level, scope=scope, day=day)
    process = process or load_sales_process()
    inspection = _run(engine, process, frame, day)
    activities = _activities_in_scope(engine, frame, first, end)
    flagged = ibis.memtable(goodhart.flag_activities(ibis.memtable(activities)).to_pyarrow())  # read 3 times
    deals = ibis.memtable(inspection.deals)
    summary = goodhart.rep_summary(flagged, deals).to_pyarrow().to_pylist()
    behaviours = goodhart.behaviour_counts(flagged).order_by(["person_id", "type"]).to_pyarrow().to_pylist()
    by_person: dict[str, list[BehaviourCount]] = defaultdict(list)
    for row in behaviours:
        by_person[row["person_id"]].append(BehaviourCount.model_validate(row))
    reps = [
        RepFlags.model_validate(
            {**row, "name": frame.names.get(row["person_id"]), "behaviours": by_person[row["person_id"]]}
        )
        for row in summary
    ]
    reps.sort(key=lambda r: (not r.is_flagged, -(r.suspect_share or 0.0), r.person_id))
    reasons: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in goodhart.flag_deals(deals).order_by(["opportunity_id", "reason"]).to_pyarrow().to_pylist():
        reasons[(row["opportunity_id"], row["owner_id"])].append(row["reason"])
    flagged_deals = [FlaggedDeal(opportunity_id=o, owner_id=p, reasons=r) for (o, p), r in reasons.items()]
    return GoodhartReport(as_of=day, start=first, end=end, reps=reps, deals=flagged_deals)


def _today() -> date:
    return datetime.now(UTC).date()


# --- who is in the frame ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """The people whose deals are inspected, their names and org units, and the store's URL."""

    url: str
    base_currency: str
    owners: frozenset[str] | None  # None: everyone
    visible: pa.Table | None  # activities: (person_id, start, end) lines the viewer sees; None: all
    names: dict[str, str]
    units_of: dict[str, list[str]]  # person → their org unit and its ancestors, as of the day
    units: dict[str, tuple[str, str]]  # org unit → (name, kind)


def _frame(
    engine: Engine, *, subjects: Sequence[str] | None, level: str, scope: Scope | None, day: date
) -> Frame:
    with engine.connect() as conn:
        units = {u.org_unit_id: (u.name, u.kind, u.parent_id) for u in conn.execute(select(OrgUnit)).all()}
        placed = conn.execute(
            select(Assignment.person_id, Assignment.org_unit_id).where(in_effect(day))
        ).all()
        names = {row.person_id: row.name for row in conn.execute(select(Person.person_id, Person.name))}
        chosen = _chosen(level, subjects, units, placed)
        visible = None if scope is None else _visible_lines(conn, scope)
        base_currency = company.get_settings(conn).base_currency
    allowed = None if visible is None else _visible_on(visible, day)
    owners = chosen if allowed is None else (allowed if chosen is None else chosen & allowed)
    units_of: dict[str, list[str]] = defaultdict(list)
    for person_id, unit in placed:
        for ancestor in _ancestors(unit, units):
            if ancestor not in units_of[person_id]:
                units_of[person_id].append(ancestor)
    return Frame(
        url=engine.url.render_as_string(hide_password=False),
        base_currency=base_currency,
        owners=owners,
        visible=visible,
        names=names,
        units_of=dict(units_of),
        units={k: (v[0], v[1]) for k, v in units.items()},
    )


def _chosen(
    level: str,
    subjects: Sequence[str] | None,
    units: dict[str, tuple[str, str, str | None]],
    placed: Iterable[Any],
) -> frozenset[str] | None:
    """The people the subjects name (None: no restriction)."""
    if level == COMPANY or not subjects:
        return None
    if level == PERSON:
        return frozenset(subjects)
    kinds = {kind for _, kind, _ in units.values()}
    if level not in kinds:
        raise InvalidRequest(
            f"level must be person, company or an org unit kind ({', '.join(sorted(kinds))})"
        )
    for subject in subjects:
        if subject not in units:
            raise NotFound(f"no org unit {subject!r}")
    wanted = set(subjects)
    return frozenset(p for p, unit in placed if wanted & set(_ancestors(unit, units)))


def _ancestors(unit: str, units: dict[str, tuple[str, str, str | None]]) -> list[str]:
    chain: list[str] = []
    current: str | None = unit
    while current is not None and current in units and current not in chain:
        chain.append(current)
        current = units[current][2]
    return chain


def _visible_lines(conn: Connection, scope: Scope) -> pa.Table | None:
    """(person_id, start, end) intervals in which the viewer may see a person; None: everyone, always."""
    schema = pa.schema([("person_id", pa.string()), ("start", pa.date32()), ("end", pa.date32())])
    reach, me = scope.reach, scope.principal.person_id
    if reach is Reach.ALL:
        return None
    if reach is None or me is None:
        return schema.empty_table()
    if reach is Reach.SELF:
        return pa.table({"person_id": [me], "start": [date.min], "end": [None]}, schema=schema)
    line = ReportingLine
    rows = conn.execute(
        select(line.person_id, line.start_date, line.end_date).where(line.ancestor_id == me)
    ).all()
    return pa.Table.from_pylist([{"person_id": p, "start": s, "end": e} for p, s, e in rows], schema=schema)


def _visible_on(lines: pa.Table, day: date) -> frozenset[str]:
    started = pc.less_equal(lines["start"], pa.scalar(day, pa.date32()))
    running = pc.or_kleene(pc.is_null(lines["end"]), pc.greater(lines["end"], pa.scalar(day, pa.date32())))
    return frozenset(lines.filter(pc.and_kleene(started, running))["person_id"].to_pylist())


# --- running the engine ----------------------------------------------------------------------------------


class _Cache:
    """Inspections of every open deal, per (store, data version, day, sales process), newest kept.

    A deal's inspection does not depend on which other deals are inspected (stage limits come from the
    history of every deal), so one run answers every viewer and subject: a page filters it. The data
    version (`services.kpis.data_version`) changes with every import, so nothing needs clearing.
    """

    ENTRIES = 8

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.runs: OrderedDict[tuple[object, ...], Inspection] = OrderedDict()


_CACHE = _Cache()


def clear_cache() -> None:
    """Forget the cached inspections (tests; the data version makes it unnecessary otherwise)."""
    with _CACHE.lock:
        _CACHE.runs.clear()


def _run(engine: Engine, process: SalesProcess, frame: Frame, day: date) -> Inspection:
    """Inspect the frame's open deals (from the cached inspection of all of them)."""
    with engine.connect() as conn:
        version = data_version(conn)
    key = (frame.url, version, day, process.model_dump_json())
    with _CACHE.lock:
        everything = _CACHE.runs.get(key)
        if everything is None:
            everything = _inspect_all(process, frame.url, day, frame.base_currency)
            _CACHE.runs[key] = everything
            while len(_CACHE.runs) > _CACHE.ENTRIES:
                _CACHE.runs.popitem(last=False)
        _CACHE.runs.move_to_end(key)
    if frame.owners is None:
        return everything
    mine = pc.is_in(everything.deals["owner_id"], pa.array(sorted(frame.owners), pa.string()))
    deals = everything.deals.filter(mine)
    ids = pa.array(deals["opportunity_id"].to_pylist(), pa.string())
    criteria = everything.criteria.filter(pc.is_in(everything.criteria["opportunity_id"], ids))
    return Inspection(deals, criteria, everything.stage_limits)


def _inspect_all(process: SalesProcess, url: str, day: date, base_currency: str) -> Inspection:
    """Inspect every open deal; stage limits come from the history of every deal."""
    deals = read_arrow(url, "opportunities")
    history = read_arrow(url, "opportunity_history", ["opportunity_id", "changed_at", "stage"])
    activities = read_arrow(url, "activities", ["opportunity_id", "type", "outcome", "occurred_at"])
    fx = read_arrow(url, "fx_rates", ["currency", "date", "rate"])
    return inspect_pipeline(
        process,
        opportunities=ibis.memtable(deals),
        history=ibis.memtable(history),
        activities=ibis.memtable(activities),
        as_of=day,
        fx_rates=ibis.memtable(fx),
        base_currency=base_currency,
    )


def _activities_in_scope(engine: Engine, frame: Frame, start: date, end: date) -> pa.Table:
    """Activities in [start, end) of people in the frame, each visible on its own day."""
    del engine
    columns = [
        "activity_id",
        "person_id",
        "type",
        "occurred_at",
        "duration_minutes",
        "account_id",
        "opportunity_id",
        "outcome",
    ]
    where: dict[str, Sequence[str]] | None = (
        None if frame.owners is None else {"person_id": sorted(frame.owners)}
    )
    rows = read_arrow(
        frame.url, "activities", columns, date_column="occurred_at", start=start, end=end, where=where
    )
    if frame.visible is None:
        return rows
    return goodhart.seen_by(ibis.memtable(rows), ibis.memtable(frame.visible)).to_pyarrow()


# --- shaping the report ----------------------------------------------------------------------------------


def _deal_rows(result: Inspection, process: SalesProcess, frame: Frame) -> list[InspectedDeal]:
    where = {c.name: (stage.name, criterion_label(c)) for _, stage, c in process.criteria()}
    rows = result.deals.sort_by([("value", "descending"), ("opportunity_id", "ascending")]).to_pylist()
    deals = []
    for row in rows:
        missing = [
            MissingCriterion(criterion=name, label=where[name][1], stage=where[name][0])
            for name in row.pop("missing_criteria")
        ]
        value = row.pop("value")
        deals.append(
            InspectedDeal.model_validate(
                {
                    **row,
                    "owner_name": frame.names.get(row["owner_id"]),
                    "value": None if value is None else round_money(value, frame.base_currency),
                    "missing": missing,
                }
            )
        )
    return deals


def _counts(deals: Sequence[InspectedDeal], currency: str) -> dict[str, Any]:
    zero = Decimal(0)
    return {
        "open_deals": len(deals),
        "deals_with_gaps": sum(d.has_gaps for d in deals),
        "not_earned": sum(not d.earned_stage for d in deals),
        "advanced_without_evidence": sum(d.advanced_without_evidence for d in deals),
        "stuck": sum(d.is_stuck for d in deals),
        "skipped_stage": sum(bool(d.skipped_stages) for d in deals),
        "next_step_missing": sum(d.next_step_missing for d in deals),
        "next_step_overdue": sum(d.next_step_overdue for d in deals),
        "open_value": round_money(sum((d.value or zero for d in deals), zero), currency),
        "gap_value": round_money(sum((d.value or zero for d in deals if d.has_gaps), zero), currency),
    }


def _rep_summaries(deals: Sequence[InspectedDeal], frame: Frame) -> list[RepInspection]:
    by_owner: dict[str, list[InspectedDeal]] = defaultdict(list)
    for deal in deals:
        by_owner[deal.owner_id].append(deal)
    reps = [
        RepInspection(person_id=p, name=frame.names.get(p), **_counts(owned, frame.base_currency))
        for p, owned in by_owner.items()
    ]
    return sorted(reps, key=lambda r: (-r.gap_value, r.person_id))


def _unit_summaries(deals: Sequence[InspectedDeal], frame: Frame) -> list[UnitInspection]:
    by_unit: dict[str, list[InspectedDeal]] = defaultdict(list)
    for deal in deals:
        for unit in frame.units_of.get(deal.owner_id, ()):
            by_unit[unit].append(deal)
    order = {"company": 0, "region": 1, "team": 2}
    units = [
        UnitInspection(
            org_unit_id=u,
            name=frame.units[u][0],
            kind=frame.units[u][1],
            **_counts(held, frame.base_currency),
        )
        for u, held in by_unit.items()
    ]
    return sorted(units, key=lambda u: (order.get(u.kind, 3), u.kind, u.name, u.org_unit_id))


def _stage_limit_rows(table: pa.Table) -> list[dict[str, Any]]:
    return [
        {
            "stage": r["stage"],
            "completed_stays": r["stays"],
            "p75_days": r["p75_days"],
            "set_limit_days": r["set_limit_days"],
            "limit_days": r["limit_days"],
            "limit_source": r["limit_source"],
        }
        for r in table.to_pylist()
    ]
