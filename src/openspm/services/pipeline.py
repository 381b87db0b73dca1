"""The pipeline's shapes behind the KPI totals, for one subject and period: open deals by stage, the
funnel of the deals created in the period, and the sales cycles of the deals won (the dashboard's
distribution panels; the KPI catalogue holds only their totals).

Read from the store with SQL (each is a grouped query over deals and their stage history), in the
viewer's scope, and cached per data version like the KPIs.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, exists, func, not_, or_, select, true
from sqlalchemy.orm import aliased

from openspm.domain.money import round_money
from openspm.domain.periods import Period
from openspm.domain.sales_process import SalesProcess
from openspm.services.kpis import data_version
from openspm.services.scopes import Scope
from openspm.store.models import Assignment, FxRate, Opportunity, OpportunityHistory, OrgUnit

__all__ = ["Distributions", "distributions"]

PERSON, COMPANY = "person", "company"


@dataclass(frozen=True, slots=True)
class Distributions:
    """What the KPI catalogue does not hold: the shapes behind its totals, for one subject and period."""

    snapshot: date  # the day open pipeline is seen on: the period's last day, or the viewed day if earlier
    stages: list[tuple[str, int, Decimal]]  # open deals by stage on `snapshot`: (stage, deals, value)
    unconverted: int  # open deals left out of `stages` for want of an exchange rate
    funnel: list[tuple[str, int]]  # deals created in the period: how many reached each stage by as_of
    cycles: list[int]  # days from created to won, of the deals won in the period


_DISTRIBUTIONS: OrderedDict[tuple[object, ...], Distributions] = OrderedDict()
_DISTRIBUTIONS_LOCK = threading.Lock()
DISTRIBUTION_CACHE = 512


def distributions(
    conn: Connection,
    *,
    subject_id: str,
    level: str,
    period: Period,
    scope: Scope,
    process: SalesProcess,
    currency: str,
) -> Distributions:
    """The distributions of a subject (person, org unit at `level`, or the company) for `period`, as the
    viewer's scope lets them see the deals (as of `scope.as_of`); money in `currency` (the base currency).

    Cached per data version, like the KPIs themselves.
    """
    key = (
        conn.engine.url.render_as_string(hide_password=False),
        data_version(conn),
        scope.as_of,
        subject_id,
        level,
        period.label,
        scope.principal.person_id,
        scope.reach,
        process.model_dump_json(),
        currency,
    )
    with _DISTRIBUTIONS_LOCK:
        if key in _DISTRIBUTIONS:
            _DISTRIBUTIONS.move_to_end(key)
            return _DISTRIBUTIONS[key]
    found = _distributions(conn, subject_id, level, period, scope, process, currency)
    with _DISTRIBUTIONS_LOCK:
        _DISTRIBUTIONS[key] = found
        while len(_DISTRIBUTIONS) > DISTRIBUTION_CACHE:
            _DISTRIBUTIONS.popitem(last=False)
    return found


def _distributions(  # noqa: PLR0917 - distributions' arguments
    conn: Connection,
    subject_id: str,
    level: str,
    period: Period,
    scope: Scope,
    process: SalesProcess,
    currency: str,
) -> Distributions:
    as_of = scope.as_of
    snapshot = min(as_of, period.end - timedelta(days=1))
    units = _subtree_ids(conn, subject_id, level)

    def owned(day: Any) -> ColumnElement[bool]:
        return and_(_owned_by(subject_id, level, units, day), scope.facts(Opportunity.owner_id, day))

    stages, unconverted = _open_by_stage(conn, process, snapshot, owned(snapshot), currency)
    last = min(period.end, as_of + timedelta(days=1))
    return Distributions(
        snapshot,
        stages,
        unconverted,
        _funnel(conn, process, period.start, last, as_of, owned(Opportunity.created_date)),
        _cycles(conn, period.start, last, owned(Opportunity.close_date)),
    )


def _subtree_ids(conn: Connection, subject_id: str, level: str) -> list[str]:
    if level in {PERSON, COMPANY}:
        return []
    edges = conn.execute(select(OrgUnit.org_unit_id, OrgUnit.parent_id)).all()
    found, todo = [], [subject_id]
    while todo:
        unit = todo.pop()
        found.append(unit)
        todo.extend(u for u, parent in edges if parent == unit)
    return found


def _owned_by(subject_id: str, level: str, units: list[str], day: Any) -> ColumnElement[bool]:
    """Deals of the subject: the person's own, or those whose owner was in the units on `day`."""
    if level == PERSON:
        return Opportunity.owner_id == subject_id
    if level == COMPANY:
        return true()
    a = Assignment
    return exists(
        select(a.id).where(
            a.person_id == Opportunity.owner_id,
            a.org_unit_id.in_(units),
            a.start_date <= day,
            or_(a.end_date.is_(None), a.end_date > day),
        )
    )


def _day_end(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time())


def _open_by_stage(
    conn: Connection, process: SalesProcess, snapshot: date, owned: ColumnElement[bool], currency: str
) -> tuple[list[tuple[str, int, Decimal]], int]:
    h, o = OpportunityHistory, Opportunity
    last = (
        select(h.opportunity_id, func.max(h.changed_at).label("at"))
        .where(h.changed_at < _day_end(snapshot))
        .group_by(h.opportunity_id)
        .subquery()
    )
    state = aliased(OpportunityHistory)
    rows = conn.execute(
        select(state.stage, o.currency, func.count(), func.sum(func.coalesce(state.amount, o.amount)))
        .select_from(o)
        .join(last, last.c.opportunity_id == o.opportunity_id)
        .join(state, and_(state.opportunity_id == o.opportunity_id, state.changed_at == last.c.at))
        .where(o.created_date <= snapshot, not_(and_(o.is_closed, o.close_date <= snapshot)), owned)
        .group_by(state.stage, o.currency)
    ).all()
    rates = _rates(conn, {r[1] for r in rows} - {currency}, snapshot)
    names = process.stage_names()
    closed = {s.name for s in process.stages if s.is_closed}
    order = {s.name: i for i, s in enumerate(process.stages)}
    totals: dict[str, list[Any]] = {}
    unconverted = 0
    for stage, deal_currency, deals, amount in rows:
        name = names.get(stage, stage)
        rate = Decimal(1) if deal_currency == currency else rates.get(deal_currency)
        if name in closed:
            continue
        if rate is None:
            unconverted += deals
            continue
        entry = totals.setdefault(name, [0, Decimal(0)])
        entry[0] += deals
        entry[1] += Decimal(amount or 0) * rate
    ranked = sorted(totals.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))
    return [(name, n, round_money(value, currency)) for name, (n, value) in ranked], unconverted


def _rates(conn: Connection, currencies: set[str], day: date) -> dict[str, Decimal]:
    """The latest rate on or before `day` of each currency (base currency per unit)."""
    if not currencies:
        return {}
    rows = conn.execute(
        select(FxRate.currency, FxRate.rate)
        .where(FxRate.currency.in_(sorted(currencies)), FxRate.date <= day)
        .order_by(FxRate.currency, FxRate.date)
    ).all()
    return {row.currency: row.rate for row in rows}  # by date: each currency's latest rate comes last


def _funnel(  # noqa: PLR0917 - the period, the day and the deals' filter
    conn: Connection, process: SalesProcess, start: date, end: date, as_of: date, owned: ColumnElement[bool]
) -> list[tuple[str, int]]:
    """Deals created in [start, end): how many reached each open stage, and won, by the end of `as_of`."""
    h, o = OpportunityHistory, Opportunity
    steps = [*process.open_stages, *[s for s in process.stages if s.is_won][:1]]
    index = {crm: i for i, s in enumerate(steps) for crm in (s.name, *s.crm_names)}
    top = func.max(case(index, value=h.stage, else_=-1)).label("top")
    per_deal = (
        select(top)
        .select_from(h)
        .join(o, o.opportunity_id == h.opportunity_id)
        .where(o.created_date >= start, o.created_date < end, h.changed_at < _day_end(as_of), owned)
        .group_by(h.opportunity_id)
        .subquery()
    )
    found = conn.execute(select(per_deal.c.top, func.count()).group_by(per_deal.c.top)).all()
    counts: dict[int, int] = {int(top): int(n) for top, n in found}
    return [(s.name, sum(n for t, n in counts.items() if t >= i)) for i, s in enumerate(steps)]


def _cycles(conn: Connection, start: date, end: date, owned: ColumnElement[bool]) -> list[int]:
    o = Opportunity
    rows = conn.execute(
        select(o.created_date, o.close_date).where(
            o.is_won, o.is_closed, o.close_date >= start, o.close_date < end, owned
        )
    ).all()
    return sorted((closed - created).days for created, closed in rows if closed is not None)
