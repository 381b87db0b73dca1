"""Which behaviours matter, from the company's own history: the read-side of docs/scorecards.md.

`behaviour_evidence(engine, scope=…)` reads closed deals, activities and assignments from the store,
runs the three analyses of `engine.behaviours` (win rate with vs without each deal behaviour, a
regularised logistic regression, lagged rep-level correlations) and returns one `BehaviourReport`, which
the API and the page both render.

Who may see it: everyone with `view_deals`. The report holds company-wide statistics only — counts, rates,
coefficients and correlations over all deals and reps — and never a row about a person, so it is the
same for every viewer and needs no row scope.

Caching: the analysis is a pure function of the facts, the fiscal calendar, the day and the settings,
so its result is kept in memory keyed on the store URL, the *data version* (the id of the latest import
batch: every write of facts, including the demo load, is one), the fiscal-year start, `as_of` and the
settings. A new import changes the version, and the next request recomputes.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from datetime import date, timedelta

import ibis
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, func, select

from openspm.domain.errors import NotFound
from openspm.domain.periods import FiscalCalendar, PeriodKind
from openspm.engine import behaviours as analysis
from openspm.engine.goodhart import flag_activities
from openspm.services import company
from openspm.services.scopes import Scope
from openspm.store.columnar import read_arrow
from openspm.store.models import ImportBatch

MAX_QUARTERS = 8  # the lagged analysis looks at most this many complete quarters back
CACHE_SIZE = 8

OPPORTUNITY_COLUMNS = (
    "opportunity_id",
    "owner_id",
    "amount",
    "created_date",
    "close_date",
    "is_closed",
    "is_won",
    "next_step",
    "extra",
)
ACTIVITY_COLUMNS = (
    "activity_id",
    "person_id",
    "type",
    "occurred_at",
    "duration_minutes",
    "account_id",
    "opportunity_id",
    "outcome",
)
ASSIGNMENT_COLUMNS = ("person_id", "role", "start_date", "end_date")


class BehaviourReport(BaseModel):
    """Which behaviours predict results in this company's data (company-wide; no person-level rows)."""

    model_config = ConfigDict(frozen=True)

    as_of: date
    data_version: int
    closed_deals: int
    won_deals: int
    quarters: list[str]  # the quarters of the lagged analysis (each followed by the next)
    win_rates: list[analysis.WinRateComparison]
    win_model: analysis.WinModel | None
    lagged: list[analysis.LaggedCorrelation]
    not_predictive: list[str]  # deal behaviours that predict nothing here (or too little data to tell)
    quality_adjusted: bool  # suspect activities (Goodhart guard) were left out of the evidence
    computed_seconds: float


_cache: OrderedDict[tuple[object, ...], BehaviourReport] = OrderedDict()
_lock = threading.Lock()


def data_version(engine: Engine) -> int:
    """The id of the latest import batch: it changes whenever facts are written (0: nothing imported)."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(ImportBatch.id), 0))).scalar_one())


def behaviour_evidence(
    engine: Engine,
    *,
    scope: Scope,
    as_of: date | None = None,
    quality_adjusted: bool = True,
    min_deals: int = analysis.MIN_DEALS,
    min_lift: float = analysis.MIN_LIFT,
    alpha: float = analysis.ALPHA,
) -> BehaviourReport:
    """The behaviour evidence as of `as_of` (default: the scope's day), cached per data version.

    Only what had happened by the end of `as_of` counts: deals closed and activities logged by then,
    quarters complete by then. With `quality_adjusted`, activities the Goodhart guard flags as suspect
    (empty calls, bursts, activities touching nothing) are not evidence. `min_deals`, `min_lift` and
    `alpha` set the verdicts (docs/scorecards.md). Raises NotFound for a scope that grants no reach.
    """
    if scope.reach is None:
        raise NotFound("no behaviour evidence")
    day = as_of or scope.as_of
    url = engine.url.render_as_string(hide_password=False)
    with engine.connect() as conn:
        calendar = company.get_settings(conn).calendar
    version = data_version(engine)
    key = (url, version, calendar.start_month, day, quality_adjusted, min_deals, min_lift, alpha)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    report = _analyse(
        url,
        calendar,
        day,
        version=version,
        quality_adjusted=quality_adjusted,
        min_deals=min_deals,
        min_lift=min_lift,
        alpha=alpha,
    )
    with _lock:
        _cache[key] = report
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return report


def _analyse(
    url: str,
    calendar: FiscalCalendar,
    day: date,
    *,
    version: int,
    quality_adjusted: bool,
    min_deals: int,
    min_lift: float,
    alpha: float,
) -> BehaviourReport:
    started = time.perf_counter()
    end = day + timedelta(days=1)
    opportunities = read_arrow(url, "opportunities", OPPORTUNITY_COLUMNS, date_column="created_date", end=end)
    activities = read_arrow(url, "activities", ACTIVITY_COLUMNS, date_column="occurred_at", end=end)
    assignments = read_arrow(url, "assignments", ASSIGNMENT_COLUMNS)
    return build_report(
        opportunities,
        activities,
        assignments,
        calendar=calendar,
        as_of=day,
        version=version,
        quality_adjusted=quality_adjusted,
        min_deals=min_deals,
        min_lift=min_lift,
        alpha=alpha,
        started=started,
    )


def build_report(
    opportunities: pa.Table,
    activities: pa.Table,
    assignments: pa.Table,
    *,
    calendar: FiscalCalendar,
    as_of: date,
    version: int = 0,
    quality_adjusted: bool = True,
    min_deals: int = analysis.MIN_DEALS,
    min_lift: float = analysis.MIN_LIFT,
    alpha: float = analysis.ALPHA,
    started: float | None = None,
) -> BehaviourReport:
    """The report from Arrow tables already read (canonical columns; `extra` as JSON text)."""
    started = time.perf_counter() if started is None else started
    closed_by = pc.and_kleene(opportunities["is_closed"], pc.less_equal(opportunities["close_date"], as_of))
    # a deal closed after `as_of` was still open then: it is no evidence yet
    known = opportunities.set_column(
        opportunities.schema.get_field_index("is_closed"), "is_closed", pc.fill_null(closed_by, False)
    )
    con = ibis.duckdb.connect()
    deals, acts, people = (ibis.memtable(t) for t in (known, activities, assignments))
    if quality_adjusted:
        acts = flag_activities(acts)
    acts = con.create_table("activities", acts, temp=True)
    evidence = con.to_pyarrow(analysis.deal_evidence(deals, acts))
    quarters = _complete_quarters(calendar, evidence, activities, as_of)
    table = (
        con.to_pyarrow(analysis.rep_quarters(deals, acts, people, quarters)) if len(quarters) > 1 else None
    )
    win_rates = analysis.compare_win_rates(evidence, alpha=alpha, min_deals=min_deals, min_lift=min_lift)
    lagged = analysis.lagged_correlations(table, alpha=alpha) if table is not None else []
    won = int(pc.sum(evidence["is_won"]).as_py() or 0)
    return BehaviourReport(
        as_of=as_of,
        data_version=version,
        closed_deals=evidence.num_rows,
        won_deals=won,
        quarters=[q.label for q in quarters[:-1]],
        win_rates=win_rates,
        win_model=analysis.fit_win_model(evidence),
        lagged=lagged,
        not_predictive=[
            c.behaviour
            for c in win_rates
            if c.verdict in {analysis.Verdict.NOT_PREDICTIVE, analysis.Verdict.TOO_FEW}
        ],
        quality_adjusted=quality_adjusted,
        computed_seconds=round(time.perf_counter() - started, 3),
    )


def _complete_quarters(
    calendar: FiscalCalendar, evidence: pa.Table, activities: pa.Table, as_of: date
) -> list[analysis.Quarter]:
    """Whole fiscal quarters with history, complete by `as_of` (the latest `MAX_QUARTERS`).

    History starts with the later of the first activity and the first closed deal (an import that starts
    on a day keeps earlier activities of deals still open then, which would make early quarters look idle).
    """
    firsts = [pc.min(evidence["close_date"]).as_py(), pc.min(activities["occurred_at"]).as_py()]
    if None in firsts:
        return []
    first = max(firsts[0], firsts[1].date())
    periods = calendar.periods_between(first, as_of + timedelta(days=1), PeriodKind.QUARTER)
    complete = [p for p in periods if p.start >= first and p.end <= as_of + timedelta(days=1)]
    return [analysis.Quarter(p.label, p.start, p.end) for p in complete[-MAX_QUARTERS:]]


def clear_cache() -> None:
    """Forget every cached report (tests; a new import makes them stale anyway)."""
    with _lock:
        _cache.clear()
