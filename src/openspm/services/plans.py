"""Publishing plan versions and assigning people to them.

A published version is immutable: it is stored with its YAML source and the source's fingerprint, and
publishing the same name and version again is accepted only if the source is byte-identical (so a
script can publish idempotently). A change is a new version. Assignments are effective-dated, may not
overlap for one person, and must lie within the plan version's effective dates.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, true

from openspm.domain.errors import Conflict, InvalidRequest, NotFound
from openspm.domain.plans import Plan, PlanProblem
from openspm.domain.plans.model import Draw, DrawKind
from openspm.engine.expressions import filter_problems
from openspm.ingest.plans import read_plan
from openspm.store.audit import record_event
from openspm.store.models import Currency, Person, PlanAssignmentRow, PlanVersion


class PlanRejected(InvalidRequest):
    """A plan source that does not validate; `problems` holds every one, with its path."""

    def __init__(self, problems: tuple[PlanProblem, ...]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@dataclass(frozen=True, slots=True)
class PublishedPlan:
    id: int
    name: str
    version: int
    effective_from: date
    effective_to: date | None
    currency: str
    fingerprint: str
    published_at: datetime
    published_by: str
    created: bool  # False when the identical version was already published


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def validate_source(source: str, *, file: str | None = None) -> Plan:
    result = read_plan(source, check_expression=filter_problems, file=file)
    if not result.ok or result.plan is None:
        raise PlanRejected(result.problems)
    return result.plan


def publish_plan(conn: Connection, source: str, *, actor: str, file: str | None = None) -> PublishedPlan:
    """Validate and store a plan version (audited); refuse to change a version already published."""
    plan = validate_source(source, file=file)
    fingerprint = hashlib.sha256(source.encode()).hexdigest()
    existing = _version_row(conn, plan.name, plan.version)
    if existing is not None:
        if existing.fingerprint != fingerprint:
            raise Conflict(
                f"plan {plan.name} v{plan.version} is already published with a different source: "
                f"publish the change as v{plan.version + 1}"
            )
        return _published(existing, created=False)
    values = {
        "name": plan.name,
        "version": plan.version,
        "effective_from": plan.effective_from,
        "effective_to": plan.effective_to,
        "currency": plan.currency,
        "source": source,
        "fingerprint": fingerprint,
        "published_at": _now(),
        "published_by": actor,
    }
    conn.execute(insert(PlanVersion).values(**values))
    record_event(
        conn,
        actor=actor,
        action="plan.publish",
        entity="plan",
        entity_key=f"{plan.name} v{plan.version}",
        after={k: v for k, v in values.items() if k != "source"},
    )
    return _published(_version_row(conn, plan.name, plan.version), created=True)


def _version_row(conn: Connection, name: str, version: int) -> Any:
    table = PlanVersion.__table__
    return conn.execute(select(table).where(table.c.name == name, table.c.version == version)).first()


def _published(row: object, *, created: bool) -> PublishedPlan:
    fields = (
        "id",
        "name",
        "version",
        "effective_from",
        "effective_to",
        "currency",
        "fingerprint",
        "published_at",
        "published_by",
    )
    return PublishedPlan(**{f: getattr(row, f) for f in fields}, created=created)


def list_plans(conn: Connection) -> list[PublishedPlan]:
    rows = conn.execute(select(PlanVersion.__table__).order_by(PlanVersion.name, PlanVersion.version)).all()
    return [_published(r, created=False) for r in rows]


def plan_source(conn: Connection, name: str, version: int) -> str:
    source = conn.execute(
        select(PlanVersion.source).where(PlanVersion.name == name, PlanVersion.version == version)
    ).scalar()
    if source is None:
        raise NotFound(f"no plan {name} v{version}")
    return source


@dataclass(frozen=True, slots=True)
class Assignment:
    person_id: str
    plan: str
    version: int
    start: date
    end: date | None
    target_incentive: Decimal
    currency: str
    draw: Draw | None = None  # the person's own draw, replacing the plan's (in the plan currency)


def assign_plan(conn: Connection, assignment: Assignment, *, actor: str) -> int:
    """Put a person on a plan version over `[start, end)` (audited)."""
    a = assignment
    if a.end is not None and a.end <= a.start:
        raise InvalidRequest(f"the assignment ends ({a.end}) on or before it starts ({a.start})")
    if a.target_incentive < 0:
        raise InvalidRequest("the target incentive must be ≥ 0")
    if conn.execute(select(Person.person_id).where(Person.person_id == a.person_id)).first() is None:
        raise NotFound(f"no person {a.person_id!r}")
    if conn.execute(select(Currency.code).where(Currency.code == a.currency)).first() is None:
        raise InvalidRequest(f"unknown currency {a.currency!r}")
    plan = conn.execute(
        select(PlanVersion.id, PlanVersion.effective_from, PlanVersion.effective_to).where(
            PlanVersion.name == a.plan, PlanVersion.version == a.version
        )
    ).first()
    if plan is None:
        raise NotFound(f"no plan {a.plan} v{a.version}: publish it first")
    outside_plan = a.start < plan.effective_from or (
        plan.effective_to is not None and (a.end is None or a.end > plan.effective_to)
    )
    if outside_plan:
        raise InvalidRequest(
            f"{a.plan} v{a.version} is effective [{plan.effective_from}, {plan.effective_to or '…'}): "
            f"the assignment [{a.start}, {a.end or '…'}) must lie within it"
        )
    _refuse_overlap(conn, a)
    assignment_id = conn.execute(
        insert(PlanAssignmentRow)
        .values(
            person_id=a.person_id,
            plan_version_id=plan.id,
            start_date=a.start,
            end_date=a.end,
            target_incentive=a.target_incentive,
            currency=a.currency,
            draw_kind=a.draw.kind.value if a.draw is not None else None,
            draw_amount=a.draw.amount if a.draw is not None else None,
            draw_periods=a.draw.periods if a.draw is not None else None,
        )
        .returning(PlanAssignmentRow.id)
    ).scalar_one()
    record_event(
        conn,
        actor=actor,
        action="plan.assign",
        entity="plan_assignment",
        entity_key=str(assignment_id),
        after={
            "person_id": a.person_id,
            "plan": a.plan,
            "version": a.version,
            "start": a.start,
            "end": a.end,
            "target_incentive": a.target_incentive,
            "currency": a.currency,
            "draw": a.draw.model_dump(mode="json") if a.draw is not None else None,
        },
    )
    return assignment_id


def _refuse_overlap(conn: Connection, a: Assignment) -> None:
    row = PlanAssignmentRow
    starts_before_new_ends = true() if a.end is None else row.start_date < a.end
    clash = conn.execute(
        select(row.id, row.start_date, row.end_date).where(
            row.person_id == a.person_id,
            and_(starts_before_new_ends, or_(row.end_date.is_(None), row.end_date > a.start)),
        )
    ).first()
    if clash is not None:
        raise Conflict(
            f"{a.person_id} already has a plan over [{clash.start_date}, {clash.end_date or '…'}): "
            "end it before the new one starts"
        )


def assignments_of(conn: Connection, person_id: str) -> list[Assignment]:
    rows = conn.execute(
        select(
            PlanAssignmentRow.person_id,
            PlanVersion.name,
            PlanVersion.version,
            PlanAssignmentRow.start_date,
            PlanAssignmentRow.end_date,
            PlanAssignmentRow.target_incentive,
            PlanAssignmentRow.currency,
            PlanAssignmentRow.draw_kind,
            PlanAssignmentRow.draw_amount,
            PlanAssignmentRow.draw_periods,
        )
        .join(PlanVersion, PlanVersion.id == PlanAssignmentRow.plan_version_id)
        .where(PlanAssignmentRow.person_id == person_id)
        .order_by(PlanAssignmentRow.start_date)
    ).all()
    return [Assignment(*r[:7], draw=_draw(r.draw_kind, r.draw_amount, r.draw_periods)) for r in rows]


def _draw(kind: str | None, amount: Decimal | None, periods: int | None) -> Draw | None:
    if kind is None or amount is None or periods is None:
        return None
    return Draw(kind=DrawKind(kind), amount=amount, periods=periods)
