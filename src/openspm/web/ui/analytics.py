"""Analytics pages: dashboards, deal inspection, scorecards and which behaviours matter (issue 4, parts 2–6).

Each page declares one permission (`DealsViewer`), reads through the viewer's `Scope`, builds its view
model once, and renders it as HTML — every chart with its numbers in a table under it — or, with
`?format=csv|xlsx&table=NAME`, as a download of the same tables (`web/tabular.py`).

Whom a page is about is its *subject*: the company, a region, a team or a person, reached by drilling down
from the top the viewer may see (everything for admin, revops and finance; the smallest unit holding their
reporting line for a manager; themselves for a rep). A subject outside that answers 404.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from sqlalchemy import Connection, Engine
from starlette.responses import Response

from openspm.access.roles import Reach
from openspm.domain.errors import InvalidRequest, NotFound
from openspm.domain.kpis import BY_NAME, Unit
from openspm.domain.money import round_money
from openspm.domain.periods import FiscalCalendar, Period, PeriodKind
from openspm.domain.sales_process import SalesProcess
from openspm.engine.behaviours import OUTCOMES
from openspm.ingest.sales_process import load_sales_process
from openspm.services import behaviours, company, inspections, org, pipeline, scorecards
from openspm.services import kpis as kpi_service
from openspm.services.scopes import Scope
from openspm.web import tabular
from openspm.web.deps import Conn, DealsViewer
from openspm.web.security import Viewer
from openspm.web.templating import render
from openspm.web.ui.pages import error_page

router = APIRouter()

FormatParam = Annotated[tabular.Format, Query(alias="format")]
TableParam = Annotated[str | None, Query(alias="table", max_length=60)]
PeriodParam = Annotated[str | None, Query(alias="period", max_length=12)]
TREND_LENGTH = 8


# --- whom a page is about ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Subject:
    subject_id: str
    name: str
    level: str  # "person", or the org unit's kind: company, region, team, …

    @property
    def is_person(self) -> bool:
        return self.level == "person"


@dataclass(frozen=True, slots=True)
class Focus:
    """The subject, the path to it from the viewer's top, the subjects one level down, and its people."""

    subject: Subject
    path: tuple[Subject, ...]
    children: tuple[Subject, ...]
    people: tuple[Subject, ...]  # everyone in the subject's subtree the viewer sees (the subject if a person)
    partial: bool  # True: the viewer sees only part of the subject (a manager above their own line)


def _walk(node: org.OrgNode) -> Iterator[org.OrgNode]:
    yield node
    for child in node.children:
        yield from _walk(child)


def _unit(node: org.OrgNode) -> Subject:
    return Subject(node.org_unit_id, node.name, node.kind)


def _members(node: org.OrgNode) -> list[Subject]:
    return [Subject(m.person_id, m.name, "person") for m in node.members]


def _below(node: org.OrgNode) -> tuple[Subject, ...]:
    units = [_unit(c) for c in node.children if c.headcount]
    return (*units, *_members(node))


def _top(node: org.OrgNode, scope: Scope) -> org.OrgNode:
    """A manager's top: go down while the line fits in one unit with nobody visible directly in it."""
    if scope.sees_everything:
        return node
    while not node.members:
        filled = [c for c in node.children if c.headcount]
        if len(filled) != 1:
            break
        node = filled[0]
    return node


def _everyone(node: org.OrgNode) -> tuple[Subject, ...]:
    seen: dict[str, Subject] = {}
    for n in _walk(node):
        for s in _members(n):
            seen.setdefault(s.subject_id, s)
    return tuple(sorted(seen.values(), key=lambda s: s.name))


def focus_for(conn: Connection, scope: Scope, subject_id: str | None) -> Focus:
    """The subject `subject_id` (default: the viewer's top) if the viewer may see it; NotFound otherwise."""
    view = org.org_view(conn, scope)
    if scope.reach is Reach.SELF:
        me = scope.principal.person_id
        if me is None or subject_id not in (None, me):
            raise NotFound(f"there is no subject {subject_id!r} that you can see")
        names = {m.person_id: m.name for n in _walk(view.unit) for m in n.members}
        person = Subject(me, names.get(me, me), "person")
        return Focus(person, (person,), (), (person,), partial=False)
    top = _top(view.unit, scope)
    trail: list[org.OrgNode] = []

    def find(node: org.OrgNode) -> Focus | None:
        trail.append(node)
        path = tuple(_unit(n) for n in trail)
        if subject_id in (None, node.org_unit_id):
            return Focus(_unit(node), path, _below(node), _everyone(node), not scope.sees_everything)
        for member in _members(node):
            if member.subject_id == subject_id:
                return Focus(member, (*path, member), (), (member,), partial=False)
        for child in node.children:
            if child.headcount and (found := find(child)):
                return found
        trail.pop()
        return None

    found = find(top)
    if found is None:
        raise NotFound(f"there is no subject {subject_id!r} that you can see")
    return found


# --- which period -----------------------------------------------------------------------------------------
def period_for(calendar: FiscalCalendar, label: str | None, as_of: date) -> Period:
    """The period named by `label`; default: the fiscal quarter containing the viewed date."""
    if not label:
        return calendar.containing(as_of, PeriodKind.QUARTER)
    try:
        return calendar.parse(label)
    except ValueError as exc:
        raise NotFound(str(exc)) from None


def trailing(calendar: FiscalCalendar, period: Period, count: int = TREND_LENGTH) -> list[Period]:
    """`count` periods of the same kind ending with `period`, oldest first."""
    periods = [period]
    while len(periods) < count:
        periods.insert(0, calendar.containing(periods[0].start - timedelta(days=1), period.kind))
    return periods


def period_choices(calendar: FiscalCalendar, as_of: date, chosen: Period) -> list[tuple[str, list[str]]]:
    """The period picker's options: recent quarters, fiscal years and months around the viewed date."""
    quarter = calendar.containing(as_of, PeriodKind.QUARTER)
    year = calendar.containing(as_of, PeriodKind.YEAR)
    month = calendar.containing(as_of, PeriodKind.MONTH)
    nxt = calendar.containing(quarter.end, PeriodKind.QUARTER)
    groups = [
        ("Fiscal quarters", [p.label for p in reversed([*trailing(calendar, quarter), nxt])]),
        ("Fiscal years", [p.label for p in reversed(trailing(calendar, year, 3))]),
        ("Months", [p.label for p in reversed(trailing(calendar, month, 12))]),
    ]
    if not any(chosen.label in labels for _, labels in groups):
        groups.insert(0, ("Chosen", [chosen.label]))
    return groups


# --- what every analytics page shares ---------------------------------------------------------------------
@dataclass(slots=True)
class PageBase:
    """The context every analytics page renders with: who views, whom and which period it is about."""

    request: Request
    viewer: Viewer
    calendar: FiscalCalendar
    currency: str
    route: str  # "/dashboards", …: links to other subjects are route + "/" + subject_id
    focus: Focus | None = None  # None: the page is about the whole company's data (behaviours)
    period: Period | None = None  # None: the page is about the viewed day (inspection)
    tables: list[tabular.Table] = field(default_factory=list)

    def href(self, subject_id: str | None = None, **params: str | None) -> str:
        """A link to `subject_id` on this page keeping the viewed date and the period."""
        period = self.period.label if self.period else None
        query = {"as_of": self.request.query_params.get("as_of"), "period": period, **params}
        text = urlencode({k: v for k, v in query.items() if v})
        path = f"{self.route}/{subject_id}" if subject_id else self.request.url.path
        return f"{path}?{text}" if text else path

    def download(self, table: str | None, fmt: str) -> str:
        """The current page's address, asking for `table` (None: every table) as `fmt`."""
        params = {k: v for k, v in self.request.query_params.items() if k not in {"format", "table"}}
        params.update({"format": fmt, **({"table": table} if table else {})})
        return f"{self.request.url.path}?{urlencode(params)}"

    def show(self, value: Any, unit: str) -> str:
        return tabular.display(value, unit, self.currency)

    @staticmethod
    def raw(value: Any) -> str:
        return tabular.raw(value)

    @property
    def subject(self) -> Subject:
        if self.focus is None:
            raise NotFound("this page is about no subject")
        return self.focus.subject

    @property
    def last_day(self) -> date | None:
        return self.period.end - timedelta(days=1) if self.period else None

    @property
    def stem(self) -> str:
        who = self.focus.subject.subject_id if self.focus else "company"
        when = self.period.label if self.period else self.viewer.as_of.isoformat()
        return tabular.filename(self.route.strip("/"), who, when)

    @property
    def heading(self) -> str:
        who = self.focus.subject.name if self.focus else "the company"
        when = f"{self.period.label}, " if self.period else ""
        return f"{who}, {when}as of {self.viewer.as_of.isoformat()}"


def page_base(
    request: Request,
    viewer: Viewer,
    conn: Connection,
    route: str,
    *,
    subject_id: str | None = None,
    period: str | None = None,
    with_subject: bool = True,
    with_period: bool = True,
) -> PageBase:
    """Resolve the page's subject and period for the viewer (NotFound for ones they may not see)."""
    settings = company.get_settings(conn)
    calendar = settings.calendar
    chosen = period_for(calendar, period, viewer.as_of) if with_period else None
    focus = focus_for(conn, viewer.scope, subject_id) if with_subject else None
    return PageBase(request, viewer, calendar, settings.base_currency, route, focus, chosen)


def respond(
    base: PageBase, template: str, fmt: tabular.Format, table: str | None, **context: Any
) -> Response:
    """The page, or one of its tables as CSV / every (or one) table as XLSX."""
    if fmt is not tabular.Format.HTML:
        return tabular.download(base.tables, fmt=fmt, table=table, stem=base.stem, heading=base.heading)
    page = {
        "viewer": base.viewer,
        "base": base,
        "effective_dated": True,
        "periods": period_choices(base.calendar, base.viewer.as_of, base.period) if base.period else [],
        **context,
    }
    return render(base.request, template, page)


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


@dataclass(frozen=True, slots=True)
class Panel:
    """A chart (optional) and the table of its numbers."""

    table: tabular.Table
    chart: dict[str, Any] | None = None
    note: str = ""
    size: str = ""  # "", "tall" or "short"
    wide: bool = False  # a full-width card rather than one of a pair
    empty: str = ""  # shown instead of the chart when there is nothing to draw


@dataclass(frozen=True, slots=True)
class Tile:
    label: str
    value: Any
    unit: str
    key: str = ""
    delta: str = ""  # change from the previous period, as text
    tone: str = ""  # "good", "bad" or "" (no judgement)
    formula: str = ""


def columns(*spec: tuple[str, str] | tuple[str, str, str]) -> tuple[tabular.Column, ...]:
    return tuple(tabular.Column(*s) for s in spec)


def rows_of(items: Any, cols: tuple[tabular.Column, ...]) -> tuple[tuple[Any, ...], ...]:
    """Table rows from objects whose attributes are named like the columns."""
    return tuple(tuple(getattr(item, c.key) for c in cols) for item in items)


def number(value: Any) -> float | None:
    """A chart value (charts draw floats; the exact numbers are in the table)."""
    return None if value is None else float(value)


def bar_chart(table: tabular.Table, series: list[str], unit: str, **options: Any) -> dict[str, Any]:
    """A bar chart of `series` columns of `table`, one bar group per row (first column names the row)."""
    names = {c.key: c.label for c in table.columns}
    return {
        "kind": "bar",
        "unit": unit,
        "categories": [str(r[0]) for r in table.rows],
        "series": [{"name": names[key], "data": [number(v) for v in table.values(key)]} for key in series],
        **({"links": list(table.links)} if table.links else {}),
        **options,
    }


# --- inspection -------------------------------------------------------------------------------------------
GAP_COUNTS = (
    ("open_deals", "Open deals", "count"),
    ("deals_with_gaps", "Deals with gaps", "count"),
    ("gap_value", "Value of deals with gaps", "money"),
    ("open_value", "Open value", "money"),
    ("not_earned", "Stage not earned", "count"),
    ("advanced_without_evidence", "Advanced without evidence", "count"),
    ("stuck", "Stuck", "count"),
    ("skipped_stage", "Skipped a stage", "count"),
    ("next_step_missing", "Next step missing", "count"),
    ("next_step_overdue", "Next step overdue", "count"),
)
GAP_SERIES = ["not_earned", "stuck", "skipped_stage", "next_step_missing", "next_step_overdue"]
GOODHART_COLUMNS = columns(
    ("name", "Rep"),
    ("activities", "Activities", "count"),
    ("suspect_activities", "Suspect activities", "count"),
    ("suspect_share", "Suspect share", "ratio"),
    ("short_calls", "Empty calls", "count"),
    ("burst_activities", "In bursts", "count"),
    ("unlinked_activities", "Touching nothing", "count"),
    ("advanced_without_evidence", "Advanced without evidence", "count"),
    ("next_steps_in_past", "Next step in the past", "count"),
    ("verdict", "Flag"),
)
DEALS_SHOWN = 100


@dataclass(frozen=True, slots=True)
class InspectionView:
    tiles: list[Tile]
    panels: list[Panel]
    deals: tabular.Table
    deals_total: int
    goodhart: Panel
    behaviour_mix: Panel
    limits: tabular.Table
    goodhart_window: tuple[date, date]


def _gap_text(deal: inspections.InspectedDeal) -> str:
    gaps = [f"missing: {m.label}" for m in deal.missing]
    if deal.is_stuck:
        gaps.insert(0, f"stuck {deal.days_in_stage} days")
    if deal.skipped_stages:
        gaps.append("skipped " + ", ".join(deal.skipped_stages))
    if deal.next_step_missing:
        gaps.append("no next step")
    elif deal.next_step_undated:
        gaps.append("next step undated")
    elif deal.next_step_overdue:
        gaps.append("next step overdue")
    return "; ".join(gaps)


def _deals_table(report: inspections.InspectionReport) -> tabular.Table:
    cols = columns(
        ("name", "Deal"),
        ("opportunity_id", "Id"),
        ("owner_name", "Owner"),
        ("stage", "Stage"),
        ("value", "Value", "money"),
        ("close_date", "Close date", "date"),
        ("days_in_stage", "Days in stage", "count"),
        ("criteria", "Criteria met"),
        ("gaps", "Gaps"),
    )
    rows = tuple(
        (
            d.name or d.opportunity_id,
            d.opportunity_id,
            d.owner_name or d.owner_id,
            d.stage or d.crm_stage,
            d.value,
            d.close_date,
            d.days_in_stage,
            f"{d.criteria_met} of {d.criteria_total}",
            _gap_text(d),
        )
        for d in report.deals
    )
    return tabular.Table("deals", "Deals with gaps, most valuable first", cols, rows)


def _gap_table(
    base: PageBase, name: str, title: str, first: tuple[str, str], items: list[Any], key: str
) -> tabular.Table:
    cols = columns(first, *GAP_COUNTS)
    rows = tuple(
        (getattr(i, first[0]) or getattr(i, key), *(getattr(i, c[0]) for c in GAP_COUNTS)) for i in items
    )
    links = tuple(base.href(getattr(i, key)) for i in items)
    return tabular.Table(name, title, cols, rows, links)


def _summary(report: inspections.InspectionReport, subject: Subject) -> Any:
    rows: list[Any] = report.reps if subject.is_person else report.units
    key = "person_id" if subject.is_person else "org_unit_id"
    found = next((r for r in rows if getattr(r, key) == subject.subject_id), None)
    if found is None and not subject.is_person and report.units:
        found = report.units[0] if report.units[0].kind == "company" else None
    return found


def inspection_view(
    base: PageBase, report: inspections.InspectionReport, flags: inspections.GoodhartReport
) -> InspectionView:
    subject = base.subject
    summary = _summary(report, subject)
    tiles = [
        Tile(label, getattr(summary, key) if summary else 0, unit, key) for key, label, unit in GAP_COUNTS
    ]
    panels: list[Panel] = []
    if not subject.is_person:
        reps = sorted(report.reps, key=lambda r: (-r.gap_value, r.name or r.person_id))
        table = _gap_table(base, "reps", "Gaps per rep", ("name", "Rep"), reps, "person_id")
        chart = bar_chart(table, GAP_SERIES, "count", stack=True, horizontal=True) if reps else None
        panels.append(
            Panel(
                table,
                chart,
                "Reps with the most value at risk first; click a rep to open their deals.",
                "tall",
                wide=True,
            )
        )
        below = {c.subject_id for c in base.focus.children} if base.focus else set()
        units = [u for u in report.units if u.org_unit_id in below]
        if units:
            panels.append(
                Panel(
                    _gap_table(base, "units", "Gaps per unit", ("name", "Unit"), units, "org_unit_id"),
                    wide=True,
                )
            )
    deals = _deals_table(report)
    shown = tabular.Table(deals.name, deals.title, deals.columns, deals.rows[:DEALS_SHOWN])
    goodhart_rows = tuple(
        (
            r.name or r.person_id,
            r.activities,
            r.suspect_activities,
            r.suspect_share,
            r.short_calls,
            r.burst_activities,
            r.unlinked_activities,
            r.advanced_without_evidence,
            r.next_steps_in_past,
            "flagged" if r.is_flagged else "",
        )
        for r in flags.reps
    )
    goodhart = tabular.Table(
        "goodhart", "Goodhart guard: gamed or low-quality work per rep", GOODHART_COLUMNS, goodhart_rows
    )
    mix = _behaviour_mix(flags)
    limits = tabular.Table(
        "stage_limits",
        "When a deal counts as stuck",
        columns(
            ("stage", "Stage"),
            ("completed_stays", "Completed stays", "count"),
            ("p75_days", "p75 of days in stage", "days"),
            ("set_limit_days", "Set limit (days)", "days"),
            ("limit_days", "Stuck after (days)", "days"),
            ("limit_source", "Limit from"),
        ),
        rows_of(
            report.stage_limits,
            columns(
                ("stage", ""),
                ("completed_stays", ""),
                ("p75_days", ""),
                ("set_limit_days", ""),
                ("limit_days", ""),
                ("limit_source", ""),
            ),
        ),
    )
    summary_table = tabular.Table(
        "summary",
        "Inspection summary",
        columns(("measure", "Measure"), ("value", "Value", "number")),
        tuple((t.label, t.value) for t in tiles),
    )
    base.tables.extend([summary_table, *(p.table for p in panels), deals, goodhart, mix.table, limits])
    gh_panel = Panel(goodhart, note="A rep is flagged when more than 10 % of their activities look gamed.")
    return InspectionView(
        tiles, panels, shown, len(deals.rows), gh_panel, mix, limits, (flags.start, flags.end)
    )


def _behaviour_mix(flags: inspections.GoodhartReport) -> Panel:
    totals: dict[str, list[int]] = {}
    for rep in flags.reps:
        for b in rep.behaviours:
            counts = totals.setdefault(b.type, [0, 0, 0])
            counts[0] += b.raw
            counts[1] += b.suspect
            counts[2] += b.quality_adjusted
    cols = columns(
        ("type", "Activity type"),
        ("raw", "Logged", "count"),
        ("suspect", "Suspect", "count"),
        ("quality_adjusted", "Quality-adjusted", "count"),
    )
    table = tabular.Table(
        "activity_quality",
        "Activities logged vs quality-adjusted",
        cols,
        tuple((t, *c) for t, c in sorted(totals.items())),
    )
    chart = bar_chart(table, ["raw", "quality_adjusted"], "count") if table.rows else None
    return Panel(
        table, chart, "Quality-adjusted leaves out empty calls, bursts and activities touching nothing."
    )


def _inspection(
    request: Request,
    viewer: Viewer,
    conn: Connection,
    subject_id: str | None,
    fmt: tabular.Format,
    table: str | None,
) -> Response:
    try:
        base = page_base(request, viewer, conn, "/inspection", subject_id=subject_id, with_period=False)
        subject = base.subject
        engine = engine_of(request)
        level = subject.level
        subjects = [subject.subject_id] if subject.subject_id else None
        report = inspections.inspect_deals(
            engine, subjects=subjects, level=level, scope=viewer.scope, as_of=viewer.as_of, only_gaps=True
        )
        flags = inspections.goodhart_report(
            engine, subjects=subjects, level=level, scope=viewer.scope, as_of=viewer.as_of
        )
    except NotFound as exc:
        return error_page(request, viewer, 404, str(exc))
    view = inspection_view(base, report, flags)
    return respond(base, "inspection.html", fmt, table, view=view, report=report)


@router.get("/inspection")
def inspection_home(
    request: Request,
    viewer: DealsViewer,
    conn: Conn,
    fmt: FormatParam = tabular.Format.HTML,
    table: TableParam = None,
) -> Response:
    return _inspection(request, viewer, conn, None, fmt, table)


@router.get("/inspection/{subject_id}")
def inspection_of(
    request: Request,
    viewer: DealsViewer,
    conn: Conn,
    subject_id: str,
    fmt: FormatParam = tabular.Format.HTML,
    table: TableParam = None,
) -> Response:
    return _inspection(request, viewer, conn, subject_id, fmt, table)


# --- which behaviours matter ---------------------------------------------------------------------------
VERDICTS: dict[str, tuple[str, str]] = {
    "predictive": ("predicts winning", "good"),
    "predicts_worse": ("goes with worse results", "bad"),
    "not_predictive": ("not predictive here", "muted-chip"),
    "too_few": ("too little data", "warn"),
}
VERDICT_ORDER = {"predictive": 0, "predicts_worse": 1, "not_predictive": 2, "too_few": 3}


@dataclass(frozen=True, slots=True)
class Finding:
    label: str
    verdict: str
    verdict_text: str
    tone: str
    sentence: str
    sample: str
    interval: tuple[float, float] | None = None  # 95 % CI of the effect, drawn on a −50…+50 point scale
    point: float | None = None

    @property
    def css(self) -> str:
        return {"predictive": "predictive", "predicts_worse": "predictive"}.get(
            self.verdict, "not-predictive"
        )

    def position(self, value: float) -> float:
        """Where `value` (a win-rate difference) sits on the −0.5…+0.5 scale, in percent of the width."""
        return max(0.0, min(100.0, (value + 0.5) * 100))


@dataclass(frozen=True, slots=True)
class BehavioursView:
    report: behaviours.BehaviourReport
    findings: list[Finding]
    lagged: list[Finding]
    not_predictive: list[str]
    win_rates: Panel
    model: Panel | None
    lagged_table: tabular.Table


def _verdict(value: Any) -> tuple[str, str, str]:
    name = str(getattr(value, "value", value))
    text, tone = VERDICTS.get(name, (name, ""))
    return name, text, tone


def behaviours_view(base: PageBase, report: behaviours.BehaviourReport) -> BehavioursView:
    comparisons = sorted(
        report.win_rates, key=lambda c: (VERDICT_ORDER.get(str(c.verdict), 9), -(c.difference or 0))
    )
    findings = [
        Finding(
            c.label,
            *_verdict(c.verdict),
            c.finding,
            f"{c.deals_with:,} deals with, {c.deals_without:,} without",
            c.difference_ci,
            c.difference,
        )
        for c in comparisons
    ]
    cols = columns(
        ("label", "Behaviour"),
        ("verdict", "Verdict"),
        ("deals_with", "Deals with", "count"),
        ("win_rate_with", "Win rate with", "ratio"),
        ("ci_with_low", "CI low (with)", "ratio"),
        ("ci_with_high", "CI high (with)", "ratio"),
        ("deals_without", "Deals without", "count"),
        ("win_rate_without", "Win rate without", "ratio"),
        ("difference", "Difference", "ratio"),
        ("difference_low", "CI low (difference)", "ratio"),
        ("difference_high", "CI high (difference)", "ratio"),
        ("p_adjusted", "p (Holm-adjusted)", "number"),
    )
    rows = tuple(
        (
            c.label,
            _verdict(c.verdict)[1],
            c.deals_with,
            c.win_rate_with,
            *(c.ci_with or (None, None)),
            c.deals_without,
            c.win_rate_without,
            c.difference,
            *(c.difference_ci or (None, None)),
            c.p_adjusted,
        )
        for c in comparisons
    )
    table = tabular.Table("win_rates", "Win rate with vs without each behaviour", cols, rows)
    chart = bar_chart(table, ["win_rate_with", "win_rate_without"], "ratio", horizontal=True)
    win_rates = Panel(
        table,
        chart if rows else None,
        "Closed deals; 95 % confidence intervals in the table.",
        "tall",
        wide=True,
    )
    model = _model_panel(report.win_model)
    lagged_rows = sorted(
        report.lagged, key=lambda c: (c.role, VERDICT_ORDER.get(str(c.verdict), 9), c.behaviour)
    )
    lagged = [
        Finding(
            f"{c.label} → {OUTCOMES.get(c.outcome, c.outcome)}",
            *_verdict(c.verdict),
            c.finding,
            f"{c.rep_quarters:,} rep-quarters, {c.reps:,} people ({c.role})",
        )
        for c in lagged_rows
    ]
    lagged_table = tabular.Table(
        "lagged",
        "A rep's weekly behaviour vs the next quarter",
        columns(
            ("role", "Role"),
            ("label", "Behaviour"),
            ("outcome", "Next-quarter result"),
            ("rho", "Spearman ρ", "number"),
            ("p_adjusted", "p (Holm-adjusted)", "number"),
            ("rep_quarters", "Rep-quarters", "count"),
            ("reps", "People", "count"),
            ("verdict", "Verdict"),
        ),
        tuple(
            (c.role, c.label, c.outcome, c.rho, c.p_adjusted, c.rep_quarters, c.reps, _verdict(c.verdict)[1])
            for c in lagged_rows
        ),
    )
    labels = {c.behaviour: c.label for c in report.win_rates}
    base.tables.extend([table, *([model.table] if model else []), lagged_table])
    return BehavioursView(
        report,
        findings,
        lagged,
        [labels.get(n, n) for n in report.not_predictive],
        win_rates,
        model,
        lagged_table,
    )


def _model_panel(model: Any) -> Panel | None:
    if model is None:
        return None
    cols = columns(
        ("label", "Behaviour"),
        ("odds_ratio", "Odds ratio", "multiple"),
        ("coefficient", "Coefficient", "number"),
    )
    table = tabular.Table(
        "win_model", "All behaviours together (logistic regression)", cols, rows_of(model.coefficients, cols)
    )
    chart = bar_chart(
        table, ["odds_ratio"], "multiple", horizontal=True, target=1.0, target_label="no effect"
    )
    return Panel(table, chart if table.rows else None, model.finding, "tall")


@router.get("/behaviours")
def behaviours_page(
    request: Request,
    viewer: DealsViewer,
    conn: Conn,
    fmt: FormatParam = tabular.Format.HTML,
    table: TableParam = None,
) -> Response:
    try:
        base = page_base(request, viewer, conn, "/behaviours", with_subject=False, with_period=False)
        report = behaviours.behaviour_evidence(engine_of(request), scope=viewer.scope, as_of=viewer.as_of)
    except NotFound as exc:
        return error_page(request, viewer, 404, str(exc))
    return respond(base, "behaviours.html", fmt, table, view=behaviours_view(base, report))


# --- the dashboard's distributions: open pipeline by stage, the funnel, cycle lengths ----------------------
# --- dashboards -------------------------------------------------------------------------------------------
RESULT_TILES = (
    "won_amount",
    "attainment",
    "won_count",
    "win_rate",
    "avg_deal_size",
    "cycle_days",
    "open_pipeline",
    "pipeline_coverage",
    "sales_velocity",
    "slip_rate",
)
LEADING_TILES = (
    "pipeline_created",
    "activities",
    "activities_quality",
    "meetings",
    "first_meetings",
    "activity_to_meeting",
    "next_step_set",
    "next_step_overdue",
    "stuck_deals",
    "stage_conversion",
    "deal_age_days",
)
MIX = (("calls", "Calls"), ("emails", "Emails"), ("meetings", "Meetings"), ("demos", "Demos"))
CHILD_KPIS = ("won_amount", "attainment", "win_rate", "open_pipeline", "pipeline_created", "meetings")
DASHBOARD_KPIS = tuple(dict.fromkeys((*RESULT_TILES, *LEADING_TILES, *(k for k, _ in MIX), "lost_count")))
CYCLE_BINS = (7, 14, 30, 60, 90, 180)
_Values = dict[str, dict[str, float | None]]  # period → kpi → value


@dataclass(frozen=True, slots=True)
class DashboardView:
    results: list[Tile]
    leading: list[Tile]
    headline: tabular.Table
    panels: list[Panel]


def _kpi_values(rows: list[kpi_service.KpiValue]) -> dict[str, _Values]:
    """subject → period → kpi → value."""
    out: dict[str, _Values] = {}
    for row in rows:
        out.setdefault(row.subject_id, {}).setdefault(row.period, {})[row.kpi] = row.value
    return out


def _typed(base: PageBase, kpi: str, value: float | None) -> Any:
    """A KPI value for a table: money as an exact amount rounded to the currency's minor unit."""
    if value is None or BY_NAME[kpi].unit not in {Unit.MONEY, Unit.MONEY_PER_DAY}:
        return value
    return round_money(Decimal(str(value)), base.currency)


def _change(kpi: str, now: float | None, before: float | None) -> tuple[str, str]:
    """The change from the previous period as text (points for ratios), and whether it is good."""
    if now is None or before is None:
        return "", ""
    spec = BY_NAME[kpi]
    if spec.unit is Unit.RATIO:
        diff, text = now - before, f"{(now - before) * 100:+.1f} pts"
    elif before == 0:
        return ("new" if now else "no change"), ""
    else:
        diff, text = now - before, f"{(now - before) / abs(before) * 100:+.0f} %"
    if abs(diff) < 1e-12:
        return "no change", ""
    good = (diff > 0) == spec.higher_is_better
    return f"{text} vs previous", "good" if good else "bad"


def _tiles(
    base: PageBase, names: tuple[str, ...], now: dict[str, float | None], before: dict[str, float | None]
) -> list[Tile]:
    tiles = []
    for name in names:
        spec = BY_NAME[name]
        delta, tone = _change(name, now.get(name), before.get(name))
        tiles.append(
            Tile(
                spec.label,
                _typed(base, name, now.get(name)),
                spec.unit.value,
                name,
                delta,
                tone,
                spec.formula,
            )
        )
    return tiles


def dashboard_view(conn: Connection, base: PageBase, engine: Engine, process: SalesProcess) -> DashboardView:
    assert base.period is not None
    assert base.focus is not None
    subject, scope, as_of = base.subject, base.viewer.scope, base.viewer.as_of
    trend = trailing(base.calendar, base.period)
    labels = [p.label for p in trend]
    rows = kpi_service.compute_kpis(
        engine,
        level=subject.level,
        periods=labels,
        subjects=[subject.subject_id],
        kpis=DASHBOARD_KPIS,
        scope=scope,
        as_of=as_of,
    )
    series = _kpi_values(rows).get(subject.subject_id, {})
    now, before = series.get(labels[-1], {}), series.get(labels[-2], {})
    stored = kpi_service.bookings_quotas(conn, [subject.subject_id], labels) if series else {}
    quotas = {label: amount for (_, label), amount in stored.items()}
    results = _tiles(base, RESULT_TILES, now, before)
    quota = quotas.get(labels[-1])
    results.insert(
        1,
        Tile(
            "Quota (bookings)", quota, "money", "quota", formula="the subject's bookings quota for the period"
        ),
    )
    leading = _tiles(base, LEADING_TILES, now, before)
    headline = _headline(base, [*results, *leading], before)
    panels = [
        *_children_panels(conn, base, engine),
        *_trend_panels(base, labels, series, quotas),
        *_distribution_panels(
            base,
            pipeline.distributions(
                conn,
                subject_id=base.subject.subject_id,
                level=base.subject.level,
                period=base.period,
                scope=base.viewer.scope,
                process=process,
                currency=base.currency,
            ),
            now,
        ),
    ]
    base.tables.extend([headline, *(p.table for p in panels)])
    return DashboardView(results, leading, headline, panels)


def _headline(base: PageBase, tiles: list[Tile], before: dict[str, float | None]) -> tabular.Table:
    cols = (
        tabular.Column("label", "KPI"),
        tabular.Column("kind", "Kind"),
        tabular.Column("unit", "Unit"),
        tabular.Column("value", base.period.label if base.period else "Value", unit_key="unit"),
        tabular.Column("previous", "Previous period", unit_key="unit"),
    )
    rows = tuple(
        (
            t.label,
            BY_NAME[t.key].kind.value if t.key in BY_NAME else "result",
            t.unit,
            t.value,
            _typed(base, t.key, before.get(t.key)) if t.key in BY_NAME else None,
        )
        for t in tiles
    )
    return tabular.Table("headline", "Results and leading indicators", cols, rows)


def _children_panels(conn: Connection, base: PageBase, engine: Engine) -> list[Panel]:
    assert base.period is not None
    assert base.focus is not None
    children = base.focus.children
    if not children:
        return []
    values: dict[str, _Values] = {}
    for level in dict.fromkeys(c.level for c in children):
        ids = [c.subject_id for c in children if c.level == level]
        rows = kpi_service.compute_kpis(
            engine,
            level=level,
            periods=[base.period.label],
            subjects=ids,
            kpis=CHILD_KPIS,
            scope=base.viewer.scope,
            as_of=base.viewer.as_of,
        )
        values.update(_kpi_values(rows))
    cols = columns(
        ("name", "Subject"),
        ("level", "Level"),
        ("won_amount", "Won amount", "money"),
        ("quota", "Quota", "money"),
        ("attainment", "Attainment", "ratio"),
        ("win_rate", "Win rate", "ratio"),
        ("open_pipeline", "Open pipeline", "money"),
        ("pipeline_created", "Pipeline created", "money"),
        ("meetings", "Meetings", "count"),
    )
    # quotas as stored, exact (only of the children whose KPIs the viewer may see)
    quotas = kpi_service.bookings_quotas(conn, sorted(values), [base.period.label])
    table_rows = []
    for child in children:
        v = values.get(child.subject_id, {}).get(base.period.label, {})
        quota = quotas.get((child.subject_id, base.period.label))
        table_rows.append(
            (
                child.name,
                child.level,
                *(_typed(base, k, v.get(k)) for k in ("won_amount",)),
                quota,
                *(_typed(base, k, v.get(k)) for k in CHILD_KPIS[1:]),
            )
        )
    level = children[0].level if len({c.level for c in children}) == 1 else "subject"
    title = f"Results vs target by {level}"
    table = tabular.Table(
        "by_subject", title, cols, tuple(table_rows), tuple(base.href(c.subject_id) for c in children)
    )
    chart = bar_chart(table, ["won_amount", "quota"], "money")
    chart["series"].append(
        {
            "name": "Attainment",
            "type": "line",
            "unit": "ratio",
            "data": [number(v) for v in table.values("attainment")],
        }
    )
    note = (
        "Won amount and quota (bars), attainment (diamonds, right axis). Click a bar or a name to drill down."
    )
    return [Panel(table, chart, note, "tall", wide=True)]


def _trend_panels(
    base: PageBase, labels: list[str], series: _Values, quotas: dict[str, Decimal]
) -> list[Panel]:
    def value(label: str, kpi: str) -> Any:
        return _typed(base, kpi, series.get(label, {}).get(kpi))

    results = tabular.Table(
        "results_trend",
        f"Results over the last {len(labels)} periods",
        columns(
            ("period", "Period"),
            ("won_amount", "Won amount", "money"),
            ("quota", "Quota", "money"),
            ("attainment", "Attainment", "ratio"),
            ("win_rate", "Win rate", "ratio"),
            ("won_count", "Deals won", "count"),
        ),
        tuple(
            (
                p,
                value(p, "won_amount"),
                quotas.get(p),
                value(p, "attainment"),
                value(p, "win_rate"),
                value(p, "won_count"),
            )
            for p in labels
        ),
    )
    leading = tabular.Table(
        "leading_trend",
        f"Leading indicators over the last {len(labels)} periods",
        columns(
            ("period", "Period"),
            ("pipeline_created", "Pipeline created", "money"),
            ("meetings", "Meetings", "count"),
            ("first_meetings", "First meetings", "count"),
            ("activities", "Activities", "count"),
            ("activities_quality", "Activities (quality-adjusted)", "count"),
        ),
        tuple(
            (
                p,
                *(
                    value(p, k)
                    for k in (
                        "pipeline_created",
                        "meetings",
                        "first_meetings",
                        "activities",
                        "activities_quality",
                    )
                ),
            )
            for p in labels
        ),
    )
    results_chart = {
        "kind": "line",
        "unit": "money",
        "categories": labels,
        "series": [
            {"name": "Won amount", "type": "bar", "data": [number(v) for v in results.values("won_amount")]},
            {"name": "Quota", "dashed": True, "data": [number(v) for v in results.values("quota")]},
            {
                "name": "Attainment",
                "unit": "ratio",
                "data": [number(v) for v in results.values("attainment")],
            },
        ],
    }
    leading_chart = {
        "kind": "line",
        "unit": "money",
        "categories": labels,
        "series": [
            {"name": "Pipeline created", "data": [number(v) for v in leading.values("pipeline_created")]},
            {"name": "Meetings", "unit": "count", "data": [number(v) for v in leading.values("meetings")]},
            {
                "name": "First meetings",
                "unit": "count",
                "data": [number(v) for v in leading.values("first_meetings")],
            },
        ],
    }
    return [
        Panel(results, results_chart, "Won amount against quota, and attainment (right axis)."),
        Panel(leading, leading_chart, "Pipeline created (left axis) and meetings (right axis)."),
    ]


def _cycle_bins(cycles: list[int]) -> list[tuple[str, int]]:
    if not cycles:
        return []
    top = max(cycles)
    width = next((w for w in CYCLE_BINS if top / w <= 12), CYCLE_BINS[-1])
    counts = [0] * (top // width + 1)
    for days in cycles:
        counts[days // width] += 1
    return [(f"{i * width}–{(i + 1) * width - 1}", n) for i, n in enumerate(counts)]


def _distribution_panels(
    base: PageBase, found: pipeline.Distributions, now: dict[str, float | None]
) -> list[Panel]:
    stages = tabular.Table(
        "pipeline_by_stage",
        "Open pipeline by stage",
        columns(("stage", "Stage"), ("deals", "Open deals", "count"), ("value", "Value", "money")),
        tuple(found.stages),
    )
    left_out = (
        f" {found.unconverted} deals without an exchange rate are left out." if found.unconverted else ""
    )
    stage_chart = bar_chart(stages, ["value"], "money", horizontal=True) if stages.rows else None
    funnel_rows = [
        (name, n, (n / found.funnel[i - 1][1]) if i and found.funnel[i - 1][1] else None)
        for i, (name, n) in enumerate(found.funnel)
    ]
    funnel = tabular.Table(
        "funnel",
        "Funnel: how far deals created in the period got",
        columns(
            ("stage", "Stage"),
            ("deals", "Deals that reached it", "count"),
            ("conversion", "From the stage before", "ratio"),
        ),
        tuple(funnel_rows),
    )
    funnel_chart = (
        {
            "kind": "funnel",
            "unit": "count",
            "stages": [{"name": r[0], "value": r[1]} for r in funnel_rows],
            "rates": [r[2] for r in funnel_rows],
        }
        if funnel_rows and funnel_rows[0][1]
        else None
    )
    bins = _cycle_bins(found.cycles)
    cycles = tabular.Table(
        "cycle_lengths",
        "Sales cycle of the deals won",
        columns(("days", "Days from created to won"), ("deals", "Deals won", "count")),
        tuple(bins),
    )
    cycle_chart = (
        {**bar_chart(cycles, ["deals"], "count"), "kind": "histogram", "axis_label": "days"} if bins else None
    )
    mean = (
        f"Mean {sum(found.cycles) / len(found.cycles):.1f} days over {len(found.cycles)} deals."
        if found.cycles
        else ""
    )
    known = [(label, now.get(kpi)) for kpi, label in MIX]
    total = now.get("activities")
    other = None if total is None else total - sum(v or 0 for _, v in known)
    mix = tabular.Table(
        "activity_mix",
        "Activity mix",
        columns(("type", "Type"), ("activities", "Activities", "count")),
        (*known, ("Other", other)),
    )
    quality = now.get("activities_quality")
    mix_note = (
        f"{base.show(quality, 'count')} of {base.show(total, 'count')} activities pass the Goodhart guard."
        if total
        else ""
    )
    return [
        Panel(
            stages,
            stage_chart,
            f"Open deals on {found.snapshot.isoformat()}, in {base.currency}.{left_out}",
            empty="" if stages.rows else "No open deals.",
        ),
        Panel(
            funnel,
            funnel_chart,
            "Deals created in the period, and how far each got by the viewed date.",
            empty="" if funnel_chart else "No deals created in the period.",
        ),
        Panel(cycles, cycle_chart, mean, empty="" if bins else "No deals won in the period."),
        Panel(
            mix,
            bar_chart(mix, ["activities"], "count") if total else None,
            mix_note,
            empty="" if total else "No activities in the period.",
        ),
    ]


_PROCESSES: dict[str | None, SalesProcess] = {}


def sales_process(request: Request) -> SalesProcess:
    path = request.app.state.settings.sales_process_file
    if path not in _PROCESSES:
        _PROCESSES[path] = load_sales_process(path)
    return _PROCESSES[path]


def _dashboard(
    request: Request,
    viewer: Viewer,
    conn: Connection,
    subject_id: str | None,
    period: str | None,
    fmt: tabular.Format,
    table: str | None,
) -> Response:
    try:
        base = page_base(request, viewer, conn, "/dashboards", subject_id=subject_id, period=period)
        view = dashboard_view(conn, base, engine_of(request), sales_process(request))
    except (NotFound, InvalidRequest) as exc:
        return error_page(request, viewer, 404, str(exc))
    return respond(base, "dashboards.html", fmt, table, view=view)


@router.get("/dashboards")
def dashboards_home(
    request: Request,
    viewer: DealsViewer,
    conn: Conn,
    period: PeriodParam = None,
    fmt: FormatParam = tabular.Format.HTML,
    table: TableParam = None,
) -> Response:
    return _dashboard(request, viewer, conn, None, period, fmt, table)


@router.get("/dashboards/{subject_id}")
def dashboards_of(
    request: Request,
    viewer: DealsViewer,
    conn: Conn,
    subject_id: str,
    period: PeriodParam = None,
    fmt: FormatParam = tabular.Format.HTML,
    table: TableParam = None,
) -> Response:
    return _dashboard(request, viewer, conn, subject_id, period, fmt, table)


# --- scorecards -----------------------------------------------------------------------------------------
STATUS_TEXT = {
    "on_track": ("on track", "on"),
    "behind": ("behind", "off"),
    "no_target": ("no target", "none"),
    "no_data": ("no data", "none"),
}
SORTS = ("attention", "name")


@dataclass(frozen=True, slots=True)
class ScorecardView:
    card: scorecards.Scorecard
    results: tabular.Table
    behaviours: tabular.Table
    members: tabular.Table | None
    items: list[tuple[str, str, str]]  # member columns: (item name, label, unit)
    sort: str
    descending: bool

    def status(self, line: scorecards.Line) -> tuple[str, str]:
        return STATUS_TEXT.get(str(line.status), (str(line.status), "none"))

    def spark(self, line: scorecards.Line) -> dict[str, Any]:
        return {
            "kind": "sparkline",
            "categories": [p.period for p in line.trend],
            "series": [{"name": line.label, "data": [number(p.value) for p in line.trend]}],
            "target": number(line.target),
        }

    def sort_link(self, base: PageBase, key: str) -> tuple[str, str | None]:
        """The header link sorting by `key` (the other way round if sorted by it already), and aria-sort."""
        descending = not self.descending if self.sort == key else key != "name"
        current = ("descending" if self.descending else "ascending") if self.sort == key else None
        return base.href(None, sort=key, dir="desc" if descending else "asc"), current


def _line_table(name: str, title: str, lines: list[scorecards.Line]) -> tabular.Table:
    periods = [p.period for p in lines[0].trend] if lines else []
    cols = (
        tabular.Column("label", "Item"),
        tabular.Column("unit", "Unit"),
        tabular.Column("value", "Value", unit_key="unit"),
        tabular.Column("target", "Target", unit_key="unit"),
        tabular.Column("expected", "Target so far", unit_key="unit"),
        tabular.Column("status", "Status"),
        *(tabular.Column(f"trend_{p}", p, unit_key="unit") for p in periods),
    )
    rows = tuple(
        (
            line.label,
            line.unit,
            line.value,
            line.target,
            line.expected,
            STATUS_TEXT.get(str(line.status), (str(line.status), ""))[0],
            *({p.period: p.value for p in line.trend}.get(period) for period in periods),
        )
        for line in lines
    )
    return tabular.Table(name, title, cols, rows)


def _member_table(
    base: PageBase, card: scorecards.Scorecard
) -> tuple[tabular.Table, list[tuple[str, str, str]]]:
    items: dict[str, tuple[str, str, str]] = {}
    for row in card.members:
        for line in row.lines:
            items.setdefault(line.name, (line.name, line.label, line.unit))
    cols = (
        tabular.Column("name", "Name"),
        tabular.Column("role", "Role"),
        *(tabular.Column(name, label, unit) for name, label, unit in items.values()),
        tabular.Column("behind", "Behaviours behind target", "count"),
        tabular.Column("judged", "Behaviours with a target", "count"),
        tabular.Column("suspect_share", "Suspect activity share", "ratio"),
        tabular.Column("attention", "Needs attention"),
    )
    rows = []
    for row in card.members:
        values = {line.name: line.value for line in row.lines}
        rows.append(
            (
                row.name,
                row.role,
                *(values.get(name) for name in items),
                row.behaviours_behind,
                row.behaviours_with_target,
                row.suspect_share,
                "; ".join(row.reasons) if row.needs_attention else "",
            )
        )
    links = tuple(base.href(row.person_id) for row in card.members)
    return tabular.Table("members", "Every rep", cols, tuple(rows), links), list(items.values())


def scorecard_view(base: PageBase, card: scorecards.Scorecard, sort: str, descending: bool) -> ScorecardView:
    if sort == "name":  # A to Z unless descending (the service reads `descending` the other way for names)
        card = card.model_copy(
            update={"members": sorted(card.members, key=lambda r: r.name, reverse=descending)}
        )
    results = _line_table("results", "Results (monitored)", card.results)
    behaviour_table = _line_table("behaviours", "Behaviours (managed)", card.behaviours)
    members, items = _member_table(base, card) if card.level == "team" else (None, [])
    base.tables.extend([results, behaviour_table, *([members] if members else [])])
    return ScorecardView(card, results, behaviour_table, members, items, sort, descending)


def _scorecard(
    request: Request,
    viewer: Viewer,
    conn: Connection,
    subject_id: str | None,
    period: str | None,
    sort: str,
    direction: str,
    fmt: tabular.Format,
    table: str | None,
) -> Response:
    descending = direction != "asc"
    try:
        base = page_base(request, viewer, conn, "/scorecards", subject_id=subject_id, period=period)
        subject = base.subject
        config = scorecards.load_scorecards(request.app.state.settings.scorecards_file)
        who = {"person_id": subject.subject_id} if subject.is_person else {"org_unit_id": subject.subject_id}
        card = scorecards.scorecard(
            engine_of(request),
            period=base.period.label if base.period else None,
            scope=viewer.scope,
            scorecards=config,
            sort=sort,
            descending=descending,
            **who,
        )
    except (NotFound, InvalidRequest) as exc:
        return error_page(request, viewer, 404, str(exc))
    view = scorecard_view(base, card, sort, descending)
    return respond(
        base, "scorecard.html" if card.level == "person" else "scorecards.html", fmt, table, view=view
    )


SortParam = Annotated[str, Query(alias="sort", max_length=60, pattern=r"^[a-z][a-z0-9_]*$")]
DirectionParam = Annotated[str, Query(alias="dir", pattern=r"^(asc|desc)$")]


@router.get("/scorecards")
def scorecards_home(
    request: Request,
    viewer: DealsViewer,
    conn: Conn,
    period: PeriodParam = None,
    sort: SortParam = "attention",
    direction: DirectionParam = "desc",
    fmt: FormatParam = tabular.Format.HTML,
    table: TableParam = None,
) -> Response:
    return _scorecard(request, viewer, conn, None, period, sort, direction, fmt, table)


@router.get("/scorecards/{subject_id}")
def scorecards_of(
    request: Request,
    viewer: DealsViewer,
    conn: Conn,
    subject_id: str,
    period: PeriodParam = None,
    sort: SortParam = "attention",
    direction: DirectionParam = "desc",
    fmt: FormatParam = tabular.Format.HTML,
    table: TableParam = None,
) -> Response:
    return _scorecard(request, viewer, conn, subject_id, period, sort, direction, fmt, table)
