"""Scorecards: a person's or a team's results (monitored) and behaviours (managed) against their targets.

`scorecard(engine, person_id=… | org_unit_id=…, period=…, scope=…)` returns one `Scorecard` view model,
which the JSON API and the pages both render (docs/scorecards.md):

- a **person** is shown with the scorecard of their role on the period's snapshot day (the last day of
  the period, or `as_of` if earlier); every line has its value, target, the target *so far* in a running
  period, a status and a trend over the periods before it (for sparklines);
- a **team** (any org unit) is shown with the scorecard of `team_role` computed over the unit, plus a
  row per member (everyone assigned under the unit whose role has a scorecard, except the `team_role`
  itself), each flagged `needs_attention` when behind target on a third or more of their behaviours that
  have a target, or when a fifth or more of their activities look suspect to the Goodhart guard.

Values come from the KPI service (`services.kpis.compute_kpis`), which scopes the facts; this module
checks that the person or team asked for is visible at all (a rep sees only their own scorecard, a
manager those of their subtree; anyone else's is "not found").
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, PlainSerializer, WithJsonSchema
from sqlalchemy import Connection, Engine, and_, or_, select

from openspm.access.roles import Reach
from openspm.domain.errors import InvalidRequest, NotFound
from openspm.domain.kpis import Unit
from openspm.domain.money import round_money
from openspm.domain.periods import FiscalCalendar, Period, PeriodKind
from openspm.domain.scorecards import (
    Behaviour,
    Direction,
    Item,
    Result,
    RoleScorecard,
    ScorecardSet,
    Status,
    attention_reasons,
    elapsed_share,
    judge,
    suspect_share,
)
from openspm.ingest.scorecards import read_scorecards_file
from openspm.services import company
from openspm.services import kpis as kpi_service
from openspm.services.records import money_text
from openspm.services.scopes import Scope
from openspm.store.models import Assignment, OrgUnit, Person

#: How many periods a trend shows, ending with the period asked for.
TREND_POINTS = {PeriodKind.WEEK: 8, PeriodKind.MONTH: 6, PeriodKind.QUARTER: 6, PeriodKind.YEAR: 3}
QUALITY_KPIS = ("activities", "activities_quality")

Level = Literal["person", "team"]
JUDGED = frozenset({Status.ON_TRACK, Status.BEHIND})
Sort = str  # "attention", "name" or an item name


def _value_json(value: Decimal | float | None) -> str | float | None:
    return money_text(value) if isinstance(value, Decimal) else value


#: A value: money (a `Decimal`) as exact text in JSON ("1200.50"), everything else a number or null.
Value = Annotated[
    Decimal | float | None,
    PlainSerializer(_value_json, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^-?\d+\.\d{2,}$", "examples": ["1200.50"]},
                {"type": "number"},
                {"type": "null"},
            ]
        }
    ),
]


class _Public(BaseModel):
    model_config = ConfigDict(frozen=True)


class Point(_Public):
    period: str
    value: Value


class Line(_Public):
    """One result or behaviour of a scorecard for one subject and period."""

    name: str
    label: str
    kpi: str
    kind: Literal["result", "behaviour"]
    unit: str
    direction: Direction
    value: Value
    target: Value  # the target for the period's kind
    expected: Value  # the target so far: pro-rated by the elapsed share of a running period for totals
    status: Status
    drives: list[str]  # behaviours: the results they drive; results: the behaviours driving them
    trend: list[Point]  # the last periods of the same kind, oldest first (empty on team member rows)


class MemberRow(_Public):
    """A team member's row on the team scorecard."""

    person_id: str
    name: str
    role: str
    lines: list[Line]
    behaviours_behind: int
    behaviours_with_target: int
    suspect_share: float | None  # share of activities the Goodhart guard flags (None: too few)
    needs_attention: bool
    reasons: list[str]


class Scorecard(_Public):
    subject_id: str
    subject_name: str
    level: Level
    role: str
    period: str
    as_of: date
    elapsed: float  # share of the period that has passed by `as_of` (1.0 for a past period)
    results: list[Line]
    behaviours: list[Line]
    suspect_share: float | None
    needs_attention: bool
    reasons: list[str]
    members: list[MemberRow]  # teams only, sorted as asked


# --- configuration -----------------------------------------------------------------------------------

_configs: dict[tuple[str | None, float], ScorecardSet] = {}
_config_lock = threading.Lock()


def load_scorecards(path: str | Path | None = None) -> ScorecardSet:
    """The scorecards of `path` (None: the shipped ones), re-read when the file changes.

    Raises InvalidRequest listing every problem when the file is not valid.
    """
    stamp = Path(path).stat().st_mtime if path is not None and Path(path).exists() else 0.0
    key = (str(path) if path is not None else None, stamp)
    with _config_lock:
        if key in _configs:
            return _configs[key]
    validation = read_scorecards_file(path)
    if validation.scorecards is None:
        raise InvalidRequest("the scorecard file is not valid: " + "; ".join(map(str, validation.problems)))
    with _config_lock:
        _configs[key] = validation.scorecards
    return validation.scorecards


# --- judging a value ---------------------------------------------------------------------------------


def _typed(item: Item, number: Decimal | float | None, currency: str) -> Value:
    """Money as an exact amount rounded to the currency's minor unit; anything else a float."""
    if number is None:
        return None
    if item.kpi_spec.unit is Unit.MONEY:
        return round_money(Decimal(str(number)), currency)
    return float(number)


def attention(lines: Sequence[Line], share: float | None) -> list[str]:
    """Why the subject of `lines` needs attention (`domain.scorecards.attention_reasons`)."""
    judged = [line for line in lines if line.kind == "behaviour" and line.status in JUDGED]
    behind = [line.label.lower() for line in judged if line.status is Status.BEHIND]
    return attention_reasons(behind, len(judged), share)


def sort_members(
    rows: Iterable[MemberRow], sort: Sort = "attention", *, descending: bool = True
) -> list[MemberRow]:
    """Rows by `attention` (who needs it first, most behaviours behind first), `name`, or an item's value.

    Sorting by an item puts rows without that item or value last, whatever the direction.
    """
    rows = list(rows)
    if sort == "attention":
        return sorted(rows, key=lambda r: (not r.needs_attention, -r.behaviours_behind, r.name))
    if sort == "name":
        return sorted(rows, key=lambda r: r.name, reverse=descending)

    def value(row: MemberRow) -> float | None:
        line = next((line for line in row.lines if line.name == sort), None)
        return None if line is None or line.value is None else float(line.value)

    known = sorted(
        (r for r in rows if value(r) is not None), key=lambda r: (value(r), r.name), reverse=descending
    )
    return known + sorted((r for r in rows if value(r) is None), key=lambda r: r.name)


# --- the view ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Subject:
    subject_id: str
    name: str
    role: str
    level: str  # the KPI level: person, or the org unit's kind


def scorecard(
    engine: Engine,
    *,
    period: str | None,
    scope: Scope,
    person_id: str | None = None,
    org_unit_id: str | None = None,
    scorecards: ScorecardSet | None = None,
    sort: Sort = "attention",
    descending: bool = True,
) -> Scorecard:
    """The scorecard of one person or one org unit for `period` (a label: 2025-Q1, 2025-03, 2025-W07, FY2026;
    None: the fiscal quarter of the scope's day).

    Exactly one of `person_id` and `org_unit_id`. `scorecards` defaults to the shipped configuration.
    Raises NotFound when the subject does not exist, is outside the scope, or has no scorecard for its
    role; InvalidRequest for a bad period label or both/neither subject given.
    """
    if (person_id is None) == (org_unit_id is None):
        raise InvalidRequest("give exactly one of person_id and org_unit_id")
    config = scorecards or load_scorecards()
    with engine.connect() as conn:
        settings = company.get_settings(conn)
        the_period = (
            _parse(settings.calendar, period)
            if period is not None
            else settings.calendar.containing(scope.as_of, PeriodKind.QUARTER)
        )
        day = min(scope.as_of, the_period.end - timedelta(days=1))
        if person_id is not None:
            subject = _person(conn, scope, person_id, day)
            members: list[_Subject] = []
        else:
            assert org_unit_id is not None
            subject, members = _team(conn, scope, org_unit_id, day, config)
    card = config.team if person_id is None else config.for_role(subject.role)
    if card is None:
        raise NotFound(f"no scorecard for the role {subject.role!r}")
    elapsed = elapsed_share(the_period, scope.as_of)
    trend = _trend_periods(settings.calendar, the_period)
    values = _values(engine, scope, subject.level, [subject.subject_id], periods=trend, kpis=_kpis(card))
    lines = _lines(
        card,
        values,
        subject.subject_id,
        the_period,
        trend=trend,
        elapsed=elapsed,
        currency=settings.base_currency,
    )
    mine = values.get(subject.subject_id, {}).get(the_period.label, {})
    share = suspect_share(*(mine.get(k) for k in QUALITY_KPIS))
    rows = _member_rows(
        engine, scope, config, members, the_period, elapsed=elapsed, currency=settings.base_currency
    )
    reasons = attention(lines, share)
    return Scorecard(
        subject_id=subject.subject_id,
        subject_name=subject.name,
        level="person" if person_id is not None else "team",
        role=card.role,
        period=the_period.label,
        as_of=scope.as_of,
        elapsed=round(elapsed, 4),
        results=[line for line in lines if line.kind == "result"],
        behaviours=[line for line in lines if line.kind == "behaviour"],
        suspect_share=share,
        needs_attention=bool(reasons),
        reasons=reasons,
        members=sort_members(rows, sort, descending=descending),
    )


def _parse(calendar: FiscalCalendar, label: str) -> Period:
    try:
        return calendar.parse(label)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None


def _trend_periods(calendar: FiscalCalendar, period: Period) -> list[str]:
    labels = [period.label]
    cursor = period
    while len(labels) < TREND_POINTS[period.kind]:
        cursor = calendar.containing(cursor.start - timedelta(days=1), period.kind)
        labels.append(cursor.label)
    return labels[::-1]


def _kpis(card: RoleScorecard) -> list[str]:
    names = [i.kpi for i in (*card.results, *card.behaviours)]
    return list(dict.fromkeys([*names, *QUALITY_KPIS]))


_Values = dict[str, dict[str, dict[str, float | None]]]  # subject → period → kpi → value


def _values(
    engine: Engine, scope: Scope, level: str, subjects: list[str], *, periods: list[str], kpis: list[str]
) -> _Values:
    rows = kpi_service.compute_kpis(
        engine, level=level, periods=periods, subjects=subjects, kpis=kpis, scope=scope, as_of=scope.as_of
    )
    out: _Values = {}
    for row in rows:
        value = None if row.value is None else float(row.value)
        out.setdefault(row.subject_id, {}).setdefault(row.period, {})[row.kpi] = value
    return out


def _lines(
    card: RoleScorecard,
    values: _Values,
    subject_id: str,
    period: Period,
    *,
    trend: list[str],
    elapsed: float,
    currency: str,
) -> list[Line]:
    by_period = values.get(subject_id, {})
    lines = []
    for item in (*card.results, *card.behaviours):
        value = by_period.get(period.label, {}).get(item.kpi)
        judged = judge(item, value, period.kind, elapsed)
        is_result = isinstance(item, Result)
        lines.append(
            Line(
                name=item.name,
                label=item.title,
                kpi=item.kpi,
                kind="result" if is_result else "behaviour",
                unit=item.kpi_spec.unit.value,
                direction=item.good_direction,
                value=_typed(item, value, currency),
                target=_typed(item, judged.target, currency),
                expected=_typed(item, judged.expected, currency),
                status=judged.status,
                drives=list(item.drives)
                if isinstance(item, Behaviour)
                else [b.name for b in card.drivers_of(item.name)],
                trend=[
                    Point(period=p, value=_typed(item, by_period.get(p, {}).get(item.kpi), currency))
                    for p in trend
                ]
                if trend
                else [],
            )
        )
    return lines


def _member_rows(
    engine: Engine,
    scope: Scope,
    config: ScorecardSet,
    members: list[_Subject],
    period: Period,
    *,
    elapsed: float,
    currency: str,
) -> list[MemberRow]:
    if not members:
        return []
    kpis = list(dict.fromkeys(k for m in members for k in _kpis(_card(config, m.role))))
    values = _values(
        engine, scope, "person", [m.subject_id for m in members], periods=[period.label], kpis=kpis
    )
    rows = []
    for member in members:
        card = _card(config, member.role)
        lines = _lines(card, values, member.subject_id, period, trend=[], elapsed=elapsed, currency=currency)
        mine = values.get(member.subject_id, {}).get(period.label, {})
        share = suspect_share(*(mine.get(k) for k in QUALITY_KPIS))
        judged = [line for line in lines if line.kind == "behaviour" and line.status in JUDGED]
        reasons = attention(lines, share)
        rows.append(
            MemberRow(
                person_id=member.subject_id,
                name=member.name,
                role=member.role,
                lines=lines,
                behaviours_behind=sum(line.status is Status.BEHIND for line in judged),
                behaviours_with_target=len(judged),
                suspect_share=share,
                needs_attention=bool(reasons),
                reasons=reasons,
            )
        )
    return rows


def _card(config: ScorecardSet, role: str) -> RoleScorecard:
    card = config.for_role(role)
    assert card is not None  # members are chosen among roles with a scorecard
    return card


# --- subjects, through the scope ---------------------------------------------------------------------


def _person(conn: Connection, scope: Scope, person_id: str, day: date) -> _Subject:
    person = conn.execute(
        select(Person.person_id, Person.name).where(
            Person.person_id == person_id, scope.people(Person.person_id)
        )
    ).first()
    if person is None:
        raise NotFound(f"no person {person_id!r}")
    role = conn.execute(
        select(Assignment.role)
        .where(Assignment.person_id == person_id, Assignment.start_date <= day)
        .order_by(Assignment.start_date.desc())
        .limit(1)
    ).scalar()
    if role is None:
        raise NotFound(f"{person_id} has no role on {day.isoformat()}, so no scorecard")
    return _Subject(person.person_id, person.name, role, "person")


def _team(
    conn: Connection, scope: Scope, org_unit_id: str, day: date, config: ScorecardSet
) -> tuple[_Subject, list[_Subject]]:
    units = conn.execute(select(OrgUnit.org_unit_id, OrgUnit.name, OrgUnit.kind, OrgUnit.parent_id)).all()
    unit = next((u for u in units if u.org_unit_id == org_unit_id), None)
    if unit is None or scope.reach in {None, Reach.SELF}:
        raise NotFound(f"no org unit {org_unit_id!r}")
    subtree = _subtree(org_unit_id, [(u.org_unit_id, u.parent_id) for u in units])
    rows = conn.execute(
        select(Assignment.person_id, Person.name, Assignment.role)
        .join(Person, Person.person_id == Assignment.person_id)
        .where(
            Assignment.org_unit_id.in_(subtree),
            and_(Assignment.start_date <= day, or_(Assignment.end_date.is_(None), Assignment.end_date > day)),
            scope.people(Assignment.person_id),
        )
        .order_by(Person.name, Assignment.person_id)
    ).all()
    if not rows and not scope.sees_everything:
        raise NotFound(f"no org unit {org_unit_id!r}")
    roles = set(config.roles) - {config.team_role}
    members = [_Subject(r.person_id, r.name, r.role, "person") for r in rows if r.role in roles]
    return _Subject(unit.org_unit_id, unit.name, config.team_role, unit.kind), _unique(members)


def _subtree(root: str, edges: list[tuple[str, str | None]]) -> list[str]:
    children: dict[str | None, list[str]] = {}
    for child, parent in edges:
        children.setdefault(parent, []).append(child)
    found, todo = [], [root]
    while todo:
        unit = todo.pop()
        found.append(unit)
        todo.extend(children.get(unit, []))
    return found


def _unique(members: list[_Subject]) -> list[_Subject]:
    """One row per person (someone holding two assignments under the unit keeps the first)."""
    first: dict[str, _Subject] = {}
    for member in members:
        first.setdefault(member.subject_id, member)
    return list(first.values())
