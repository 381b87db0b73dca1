"""KPIs for people, org units and the company: read the facts, run the engine, scope and cache the result.

`compute_kpis` answers the §8 contract (`KpiValue` rows); `kpi_series` gives one KPI over consecutive
periods (trends); `drilldown` gives the KPIs of a subject's children (company → regions → teams → reps).

**Cache.** Computing KPIs reads every deal, change and activity, so results are kept in memory, one
entry per (store, data version, as-of day, level, period) holding every KPI of every subject. The data
version is a fingerprint read in one cheap query: the last import's id, the last change-log id, the
last quota id and the company's settings (calendar and base currency). Every import — the only way facts
change — adds an import row, so the next request after an import sees a new fingerprint and recomputes;
nothing has to be cleared by hand. The facts read from the store are kept too (one data version at a
time), so a request for periods not cached yet only reruns the engine. A miss computes every level
at once (a drill-down asks for the next level down anyway). Scopes are applied after the cache: cached
rows are the same for everybody. The web server keeps the cache warm: `warm_cache` runs in the
background whenever the data version changes, so the first viewer after an import does not wait.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Engine, and_, func, or_, select

from openspm.access.roles import Reach
from openspm.domain.errors import InvalidRequest, NotFound
from openspm.domain.kpis import BY_NAME, CATALOGUE
from openspm.domain.periods import FiscalCalendar, PeriodKind
from openspm.engine import kpis as engine_kpis
from openspm.services.company import CompanySettings, get_settings
from openspm.services.scopes import Scope
from openspm.store.columnar import read_arrow
from openspm.store.models import Assignment, ChangeRecord, ImportBatch, OrgUnit, Quota, ReportingLine

__all__ = [
    "KpiValue",
    "bookings_quotas",
    "clear_cache",
    "compute_kpis",
    "drilldown",
    "kpi_series",
    "levels",
    "warm_cache",
]

CACHE_ENTRIES = 2_048  # (level, period) results kept, least recently used dropped first
TREND_QUARTERS = 8  # what a dashboard shows first: the current quarter and the seven before it

#: The columns the engine reads from each store table.
COLUMNS: dict[str, list[str]] = {
    "opportunities": [
        "opportunity_id", "owner_id", "amount", "currency", "stage", "created_date", "close_date",
        "is_closed", "is_won", "next_step", "next_step_date",
    ],
    "opportunity_history": ["opportunity_id", "changed_at", "stage", "amount", "close_date"],
    "activities": [
        "activity_id", "person_id", "type", "occurred_at", "duration_minutes", "account_id",
        "opportunity_id", "outcome",
    ],
    "assignments": ["person_id", "org_unit_id", "start_date", "end_date"],
    "org_units": ["org_unit_id", "kind", "parent_id"],
    "quotas": ["subject_id", "subject_kind", "measure", "period", "amount", "version"],
    "fx_rates": ["currency", "date", "rate"],
}  # fmt: skip


@dataclass(frozen=True)
class KpiValue:
    """One KPI of one subject in one period: a row of the §8 JSON list."""

    subject_id: str
    subject_level: str
    period: str
    kpi: str
    value: float | None


# --- the cache --------------------------------------------------------------------------------------------
_Key = tuple[str, tuple[object, ...], date, str, str]  # url, data version, as_of, level, period


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.results: OrderedDict[_Key, pa.Table] = OrderedDict()
        self.inputs: dict[str, tuple[tuple[object, ...], engine_kpis.KpiInputs]] = {}

    def clear(self) -> None:
        with self.lock:
            self.results.clear()
            self.inputs.clear()


_CACHE = _Cache()


def clear_cache() -> None:
    """Forget every cached result and input (tests; the fingerprint makes it unnecessary otherwise)."""
    _CACHE.clear()


def data_version(conn: Connection) -> tuple[object, ...]:
    """A fingerprint that changes whenever facts, quotas or the company's calendar change."""
    row = conn.execute(
        select(
            select(func.max(ImportBatch.id)).scalar_subquery(),
            select(func.max(ChangeRecord.id)).scalar_subquery(),
            select(func.max(Quota.id)).scalar_subquery(),
        )
    ).one()
    settings = get_settings(conn)
    return (*row, settings.base_currency, settings.fiscal_year_start_month)


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _inputs(engine: Engine, version: tuple[object, ...], settings: CompanySettings) -> engine_kpis.KpiInputs:
    url = _url(engine)
    cached = _CACHE.inputs.get(url)
    if cached is not None and cached[0] == version:
        return cached[1]
    tables = {name: read_arrow(url, name, columns) for name, columns in COLUMNS.items()}
    inputs = engine_kpis.KpiInputs(**tables, base_currency=settings.base_currency)
    _CACHE.inputs[url] = (version, inputs)
    return inputs


def _results(engine: Engine, level: str, periods: Sequence[str], as_of: date) -> tuple[pa.Table, list[str]]:
    """Every KPI of every subject at `level` for `periods` (from the cache where it can) and the labels."""
    with engine.connect() as conn:
        version = data_version(conn)
        settings = get_settings(conn)
    calendar = settings.calendar
    labels = _labels(calendar, periods)
    url = _url(engine)
    with _CACHE.lock:
        keys = {label: (url, version, as_of, level, label) for label in labels}
        missing = [label for label, key in keys.items() if key not in _CACHE.results]
        if missing:
            inputs = _inputs(engine, version, settings)
            known = engine_kpis.levels_of(inputs.org_units)
            if level not in known:
                raise InvalidRequest(f"unknown level {level!r} (known: {', '.join(known)})")
            # every level at once: one pass over the facts costs little more than one level, and a
            # dashboard or a drill-down asks for the levels below next
            table = engine_kpis.compute_kpis(
                inputs, calendar=calendar, levels=known, periods=missing, as_of=as_of
            )
            for (each, label), part in _split(table).items():
                _CACHE.results[(url, version, as_of, each, label)] = part
            for each in known:  # subjects with no row at all in a period still have a (cached) empty answer
                for label in missing:
                    _CACHE.results.setdefault((url, version, as_of, each, label), KPI_EMPTY)
        parts = []
        for key in keys.values():
            _CACHE.results.move_to_end(key)
            parts.append(_CACHE.results[key])
        while len(_CACHE.results) > CACHE_ENTRIES:
            _CACHE.results.popitem(last=False)
    return pa.concat_tables(parts), labels


KPI_EMPTY = engine_kpis.KPI_VALUES.empty_table()


def _split(table: pa.Table) -> dict[tuple[str, str], pa.Table]:
    """The engine's rows per (level, period); each part keeps the engine's order."""
    out: dict[tuple[str, str], pa.Table] = {}
    keys = pc.binary_join_element_wise(table.column("subject_level"), table.column("period"), "\x1f")
    for key in pc.unique(keys).to_pylist():
        level, label = key.split("\x1f")
        out[(level, label)] = table.filter(pc.equal(keys, key))
    return out


def warm_cache(engine: Engine, *, as_of: date | None = None) -> list[str]:
    """Compute what a dashboard shows first — every level, the current quarter and the seven before it —
    so the first viewer after an import does not wait for the engine. Returns the periods computed.

    The web server calls this in the background whenever the data version changes (`services.warmer`;
    `SPM_KPI_WARM_SECONDS`). Cached results are the same for every viewer; scopes apply after the cache.
    """
    # the day a page is viewed as of by default: the server's calendar day, as `web.security` takes it
    day = as_of or date.today()  # noqa: DTZ011
    with engine.connect() as conn:
        calendar = get_settings(conn).calendar
    quarter = calendar.containing(day, PeriodKind.QUARTER)
    labels = engine_kpis.consecutive_periods(calendar, quarter.label, TREND_QUARTERS)
    _results(engine, engine_kpis.COMPANY, labels, day)
    return labels


def bookings_quotas(
    conn: Connection, subject_ids: Sequence[str], labels: Sequence[str]
) -> dict[tuple[str, str], Decimal]:
    """The bookings quota of each subject (person or org unit) per period label, exact, as attainment
    uses it (`engine.kpis.bookings_quotas`: the latest version set for the period, else the sum of those
    set for periods inside it). Subjects and periods with neither are left out. Not scoped: ask only for
    subjects the viewer may see."""
    if not subject_ids or not labels:
        return {}
    calendar = get_settings(conn).calendar
    stored = read_arrow(_url(conn.engine), "quotas", COLUMNS["quotas"])
    stored = stored.filter(
        pc.is_in(stored.column("subject_id"), pa.array(sorted(set(subject_ids)), pa.string()))
    )
    found = engine_kpis.bookings_quotas(stored, calendar, _labels(calendar, labels))
    return {(r["subject_id"], r["period"]): r["quota"] for r in found.to_pylist()}


def _labels(calendar: FiscalCalendar, periods: Sequence[str]) -> list[str]:
    if not periods:
        raise InvalidRequest("name at least one period (e.g. 2025-Q2)")
    try:
        return list(dict.fromkeys(calendar.parse(p).label for p in periods))
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc


def _check_kpis(kpis: Sequence[str] | None) -> list[str]:
    names = list(kpis) if kpis else [k.name for k in CATALOGUE]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise InvalidRequest(f"unknown KPI(s) {', '.join(unknown)} (known: {', '.join(BY_NAME)})")
    return names


# --- scopes -----------------------------------------------------------------------------------------------
def _visible(  # noqa: PLR0917 - the scope and the periods it is applied to
    engine: Engine,
    scope: Scope | None,
    level: str,
    calendar: FiscalCalendar,
    labels: Sequence[str],
    as_of: date,
) -> dict[str, set[str]] | None:
    """Per period, the subjects the scope may see at `level` (None: everything).

    A manager sees a period's KPIs of the people who report to them on the period's *last counted day*
    (its last day, or `as_of` if earlier), and of the org units they are assigned to that day and those
    below. A rep who moved mid-quarter is the new manager's for that quarter (the quota and the number
    moved with them), and the old manager does not see what the rep did after leaving. Org-unit KPIs
    still roll up each fact to the unit of its own date.
    """
    if scope is None or scope.sees_everything:
        return None
    me = scope.principal.person_id
    if scope.reach is None or me is None:
        return {label: set() for label in labels}
    if level == engine_kpis.PERSON and scope.reach is Reach.SELF:
        return {label: {me} for label in labels}
    if scope.reach is Reach.SELF:
        return {label: set() for label in labels}
    visible: dict[str, set[str]] = {}
    with engine.connect() as conn:
        units = conn.execute(select(OrgUnit.org_unit_id, OrgUnit.parent_id)).all()
        for label in labels:
            period = calendar.parse(label)
            day = min(as_of, period.end - timedelta(days=1))
            if level == engine_kpis.PERSON:
                line = ReportingLine
                rows = conn.execute(
                    select(line.person_id).where(
                        line.ancestor_id == me,
                        line.start_date <= day,
                        or_(line.end_date.is_(None), line.end_date > day),
                    )
                ).scalars()
                visible[label] = set(rows)
            else:
                own = conn.execute(
                    select(Assignment.org_unit_id).where(
                        Assignment.person_id == me,
                        and_(
                            Assignment.start_date <= day,
                            or_(Assignment.end_date.is_(None), Assignment.end_date > day),
                        ),
                    )
                ).scalars()
                visible[label] = _below(units, set(own))
    return visible


def _below(units: Sequence[tuple[str, str | None]], roots: set[str]) -> set[str]:
    """`roots` and every org unit under them."""
    children: dict[str | None, list[str]] = {}
    for unit, parent in units:
        children.setdefault(parent, []).append(unit)
    found, stack = set(), list(roots)
    while stack:
        unit = stack.pop()
        if unit not in found:
            found.add(unit)
            stack.extend(children.get(unit, []))
    return found


# --- the use cases ------------------------------------------------------------------------------------------
def compute_kpis(
    engine: Engine,
    *,
    level: str,
    periods: Sequence[str],
    subjects: Sequence[str] | None = None,
    kpis: Sequence[str] | None = None,
    scope: Scope | None = None,
    as_of: date | None = None,
) -> list[KpiValue]:
    """KPIs of the subjects at `level` (all, or `subjects`) the scope may see, for each period.

    `as_of` (default: the scope's day, else today) is the day the data is seen as of: later facts do not
    count, and open-deal KPIs describe the deals as they stood then. Rows come by subject, period and
    the catalogue's order of KPIs.
    """
    table = _scoped_table(
        engine, level=level, periods=periods, subjects=subjects, kpis=kpis, scope=scope, as_of=as_of
    )
    return [KpiValue(**row) for row in table.to_pylist()]


def _scoped_table(
    engine: Engine,
    *,
    level: str,
    periods: Sequence[str],
    subjects: Sequence[str] | None,
    kpis: Sequence[str] | None,
    scope: Scope | None,
    as_of: date | None,
) -> pa.Table:
    names = _check_kpis(kpis)
    day = as_of or (scope.as_of if scope is not None else datetime.now(UTC).date())
    table, labels = _results(engine, level, periods, day)
    table = table.filter(pc.is_in(table.column("kpi"), pa.array(names, pa.string())))
    if subjects is not None:
        table = table.filter(pc.is_in(table.column("subject_id"), pa.array(list(subjects), pa.string())))
    with engine.connect() as conn:
        calendar = get_settings(conn).calendar
    visible = _visible(engine, scope, level, calendar, labels, day)
    if visible is not None:
        mask = pa.repeat(pa.scalar(False), table.num_rows)
        for label, ids in visible.items():
            mine = pc.and_(
                pc.equal(table.column("period"), label),
                pc.is_in(table.column("subject_id"), pa.array(sorted(ids), pa.string())),
            )
            mask = pc.or_(mask, mine)
        table = table.filter(mask)
    table = table.append_column("_p", pc.index_in(table.column("period"), pa.array(labels, pa.string())))
    table = table.append_column("_k", pc.index_in(table.column("kpi"), pa.array(names, pa.string())))
    order = pc.sort_indices(table, [("subject_id", "ascending"), ("_p", "ascending"), ("_k", "ascending")])
    return table.take(order).drop_columns(["_p", "_k"])


def levels(engine: Engine) -> list[str]:
    """The levels KPIs can be asked for: person, the org-unit kinds, company."""
    url = _url(engine)
    return engine_kpis.levels_of(read_arrow(url, "org_units", ["org_unit_id", "kind", "parent_id"]))


def kpi_series(
    engine: Engine,
    *,
    kpi: str,
    level: str,
    end: str,
    start: str | None = None,
    count: int = 8,
    subjects: Sequence[str] | None = None,
    scope: Scope | None = None,
    as_of: date | None = None,
) -> list[KpiValue]:
    """One KPI over consecutive periods of the kind of `end`: from `start`, else the `count` up to `end`."""
    with engine.connect() as conn:
        calendar = get_settings(conn).calendar
    labels = _series_labels(calendar, end, start, count)
    return compute_kpis(
        engine, level=level, periods=labels, subjects=subjects, kpis=[kpi], scope=scope, as_of=as_of
    )


def _series_labels(calendar: FiscalCalendar, end: str, start: str | None, count: int) -> list[str]:
    try:
        last = calendar.parse(end)
        if start is None:
            if not 1 <= count <= 120:
                raise InvalidRequest("count must be 1..120")
            return engine_kpis.consecutive_periods(calendar, last.label, count)
        first = calendar.parse(start)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc
    if first.kind is not last.kind or first.start > last.start:
        raise InvalidRequest(f"{start} … {end} is not a range of periods of one kind")
    labels = [p.label for p in calendar.periods_between(first.start, last.end, last.kind)]
    if len(labels) > 120:
        raise InvalidRequest("a series has at most 120 periods")
    return labels


def drilldown(
    engine: Engine,
    *,
    subject_id: str,
    periods: Sequence[str],
    kpis: Sequence[str] | None = None,
    scope: Scope | None = None,
    as_of: date | None = None,
) -> list[KpiValue]:
    """KPIs of the children of an org unit: its child units (company → regions → teams), or for a unit
    without child units the people assigned to it during the periods (team → reps)."""
    with engine.connect() as conn:
        units = conn.execute(select(OrgUnit.org_unit_id, OrgUnit.kind, OrgUnit.parent_id)).all()
        calendar = get_settings(conn).calendar
        labels = _labels(calendar, periods)
        kinds = {u.org_unit_id: u.kind for u in units}
        if subject_id not in kinds:
            raise NotFound(f"no org unit {subject_id!r}")
        children = [u for u in units if u.parent_id == subject_id]
        if children:
            by_kind: dict[str, list[str]] = {}
            for child in children:
                by_kind.setdefault(child.kind, []).append(child.org_unit_id)
            requests = list(by_kind.items())
        else:
            spans = [calendar.parse(label) for label in labels]
            first, last = min(p.start for p in spans), max(p.end for p in spans)
            people = conn.execute(
                select(Assignment.person_id)
                .where(
                    Assignment.org_unit_id == subject_id,
                    Assignment.start_date < last,
                    or_(Assignment.end_date.is_(None), Assignment.end_date > first),
                )
                .distinct()
            ).scalars()
            requests = [(engine_kpis.PERSON, sorted(people))]
    values: list[KpiValue] = []
    for level, ids in requests:
        values += compute_kpis(
            engine, level=level, periods=labels, subjects=ids, kpis=kpis, scope=scope, as_of=as_of
        )
    return values
