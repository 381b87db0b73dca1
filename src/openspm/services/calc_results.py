"""Reading calculation results: current payout lines, a person's explanation, and the runs — every query
through the viewer's `Scope` (a rep sees their own pay, a manager their team's, finance everyone's).

One view model serves the API, the CLI and the pay page: `PayoutLinePublic` is the documented JSON shape
(`person_id, period, component, amount, currency, explanation`, plus the plan, version, line kind, the
period a delta corrects and the run). Money is a string in JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import Field
from sqlalchemy import ColumnElement, Connection, exists, func, select

from openspm.domain.errors import NotFound
from openspm.services.calc_inputs import current_lines_query, heads
from openspm.services.records import MoneyText, Page, Public, UtcTime, Window
from openspm.services.scopes import Scope
from openspm.store.models import CalcRun, CalcRunPayee, PayoutLineRow, Period


class PayoutLinePublic(Public):
    """One current payout line and its explanation."""

    person_id: str
    period: str = Field(description="the pay period the line is paid in")
    component: str = Field(description="plan component, or draw / draw_recovery / clawback / plan_cap")
    amount: MoneyText = Field(description="rounded half-up to the currency's minor unit; negative = owed")
    currency: str
    explanation: dict[str, Any] = Field(description="measure, quota, attainment, tiers, rates, cap, credits")
    plan: str
    version: int
    line_kind: str = Field(description="earning, advance, true_up, draw, draw_recovery, clawback or delta")
    corrects_period: str | None = Field(description="delta lines: the approved or locked period corrected")
    run_id: int


class PayoutPage(Page[PayoutLinePublic]):
    pass


class PayoutExplanation(Public):
    """A person's pay for one period: every line with its explanation, and the total per currency."""

    person_id: str
    period: str
    totals: dict[str, MoneyText]
    lines: list[PayoutLinePublic]


class CalcRunPublic(Public):
    """A calculation run. `payees` and `lines` count only what the viewer may see, unless they see all."""

    run_id: int
    period: str
    started_at: UtcTime
    finished_at: UtcTime
    by: str
    status: str
    inputs_fingerprint: str
    plans_fingerprint: str
    outputs_fingerprint: str
    payees: int
    lines: int
    options: dict[str, Any]


class CalcRunPage(Page[CalcRunPublic]):
    pass


class CalcRunDetail(CalcRunPublic):
    """A run and the lines it recorded that the viewer may see (current or since superseded)."""

    payout_lines: list[PayoutLinePublic]


def _line(row: Any) -> PayoutLinePublic:
    return PayoutLinePublic(
        person_id=row.person_id,
        period=row.period,
        component=row.component,
        amount=row.amount,
        currency=row.currency,
        explanation=json.loads(row.explanation) if row.explanation else {},
        plan=row.plan,
        version=row.version,
        line_kind=row.line_kind,
        corrects_period=row.corrects_period,
        run_id=row.run_id,
    )


def _paid_in_scope(scope: Scope, person_column: Any, period_column: Any) -> ColumnElement[bool]:
    """Pay follows the reporting line on the first day of the pay period it is for (like any fact on its
    own date), never the viewed date: after a reorganisation the old manager keeps the earlier months'
    pay and does not see the later ones. A period the store does not know is visible to no one scoped."""
    first_day = select(Period.start_date).where(Period.label == period_column).scalar_subquery()
    return scope.facts(person_column, first_day)


def _current_query(scope: Scope | None, *, period: str | None, people: Sequence[str] | None) -> Any:
    line = PayoutLineRow
    query = current_lines_query()
    if period is not None:
        query = query.where(line.period == period)
    if people is not None:
        query = query.where(line.person_id.in_(list(people)))
    if scope is not None:
        query = query.where(_paid_in_scope(scope, line.person_id, line.period))
    return query.order_by(
        line.person_id, line.period, line.plan, line.version, line.component, line.line_kind, line.id
    )


def _current(
    conn: Connection, scope: Scope | None, *, period: str | None, people: Sequence[str] | None
) -> list[PayoutLinePublic]:
    query = _current_query(scope, period=period, people=people)
    return [_line(r) for r in conn.execute(query).all()]


def current_payouts(
    conn: Connection, *, period: str | None = None, people: Sequence[str] | None = None
) -> list[PayoutLinePublic]:
    """Every current line of a pay period (and people), unscoped: for the command line."""
    return _current(conn, None, period=period, people=people)


def current_payouts_in_scope(conn: Connection, scope: Scope) -> list[PayoutLinePublic]:
    """Every current line the viewer may see."""
    return _current(conn, scope, period=None, people=None)


def paid_people(conn: Connection, scope: Scope) -> list[str]:
    """The people with current lines the viewer may see (one query, DISTINCT in the store)."""
    lines = _current_query(scope, period=None, people=None).order_by(None).subquery()
    return list(conn.execute(select(lines.c.person_id).distinct().order_by(lines.c.person_id)).scalars())


def person_lines(conn: Connection, scope: Scope, person_id: str, period: str) -> list[PayoutLinePublic]:
    """A person's current lines for one pay period, as far as the viewer may see them."""
    return _current(conn, scope, period=period, people=[person_id])


def paid_periods(conn: Connection, scope: Scope, person_id: str) -> list[str]:
    """The pay periods of a person's current lines the viewer may see, newest first."""
    lines = _current_query(scope, period=None, people=[person_id]).order_by(None).subquery()
    return list(conn.execute(select(lines.c.period).distinct().order_by(lines.c.period.desc())).scalars())


def list_payouts(
    conn: Connection, scope: Scope, *, period: str | None, person_id: str | None, window: Window
) -> PayoutPage:
    """A page of the current payout lines the viewer may see."""
    query = _current_query(scope, period=period, people=[person_id] if person_id else None)
    total = conn.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    rows = conn.execute(query.limit(window.limit).offset(window.offset)).all()  # one page, paged in SQL
    return PayoutPage(items=[_line(r) for r in rows], total=total, limit=window.limit, offset=window.offset)


def explain(conn: Connection, scope: Scope | None, person_id: str, period: str) -> PayoutExplanation:
    """A person's current lines for a pay period; NotFound when there are none the viewer may see."""
    lines = _current(conn, scope, period=period, people=[person_id])
    if not lines:
        raise NotFound(f"no payout lines for {person_id} in {period}")
    totals: dict[str, Decimal] = {}
    for line in lines:
        totals[line.currency] = totals.get(line.currency, Decimal(0)) + line.amount
    return PayoutExplanation(person_id=person_id, period=period, totals=totals, lines=lines)


# --- runs ---------------------------------------------------------------------------------------------
def _visible_run(scope: Scope) -> ColumnElement[bool]:
    payee = CalcRunPayee
    return exists(
        select(payee.id).where(
            payee.run_id == CalcRun.id, _paid_in_scope(scope, payee.person_id, payee.period)
        )
    )


def _run(conn: Connection, scope: Scope, row: Any) -> CalcRunPublic:
    values = {name: getattr(row, name) for name in CalcRunPublic.model_fields if name != "run_id"}
    values["run_id"] = row.id
    if not scope.sees_everything:
        payee, line = CalcRunPayee, PayoutLineRow
        # the run's options name whom it was asked to compute: not for those who see only some of them
        values["options"] = {k: v for k, v in (values.get("options") or {}).items() if k != "payees"}
        values["payees"] = conn.execute(
            select(func.count()).where(
                payee.run_id == row.id, _paid_in_scope(scope, payee.person_id, payee.period)
            )
        ).scalar_one()
        values["lines"] = conn.execute(
            select(func.count()).where(
                line.run_id == row.id, _paid_in_scope(scope, line.person_id, line.period)
            )
        ).scalar_one()
    return CalcRunPublic(**values)


def list_runs(conn: Connection, scope: Scope, *, period: str | None, window: Window) -> CalcRunPage:
    """Runs newest first: all of them for those who see everyone, else those that computed someone visible."""
    where = [] if scope.sees_everything else [_visible_run(scope)]
    if period is not None:
        where.append(CalcRun.period == period)
    total = conn.execute(select(func.count()).select_from(CalcRun).where(*where)).scalar_one()
    rows = conn.execute(
        select(CalcRun.__table__)
        .where(*where)
        .order_by(CalcRun.id.desc())
        .limit(window.limit)
        .offset(window.offset)
    ).all()
    return CalcRunPage(
        items=[_run(conn, scope, r) for r in rows], total=total, limit=window.limit, offset=window.offset
    )


def get_run(conn: Connection, scope: Scope, run_id: int) -> CalcRunDetail:
    """One run and its lines the viewer may see; NotFound for a run that computed nobody visible."""
    where = [CalcRun.id == run_id] + ([] if scope.sees_everything else [_visible_run(scope)])
    row = conn.execute(select(CalcRun.__table__).where(*where)).first()
    if row is None:
        raise NotFound(f"no calculation run {run_id}")
    line = PayoutLineRow
    rows = conn.execute(
        select(line.__table__)
        .where(line.run_id == run_id, _paid_in_scope(scope, line.person_id, line.period))
        .order_by(
            line.person_id, line.period, line.plan, line.version, line.component, line.line_kind, line.id
        )
    ).all()
    return CalcRunDetail(**_run(conn, scope, row).model_dump(), payout_lines=[_line(r) for r in rows])


def latest_run_at(conn: Connection) -> datetime | None:
    return conn.execute(select(func.max(CalcRun.finished_at))).scalar()


__all__ = [
    "CalcRunDetail",
    "CalcRunPage",
    "CalcRunPublic",
    "PayoutExplanation",
    "PayoutLinePublic",
    "PayoutPage",
    "current_payouts",
    "explain",
    "get_run",
    "heads",
    "list_payouts",
    "list_runs",
]
