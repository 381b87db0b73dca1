"""The organisation as of a date: the org tree with head counts, drill-down, and a person's history.

One read-side function per view; the JSON API and the HTML pages render the same view models.
Every query of people-data goes through the viewer's `Scope`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, or_, select

from openspm.domain.errors import NotFound
from openspm.services.scopes import Scope
from openspm.store.models import Assignment, OrgUnit, Person


@dataclass(frozen=True, slots=True)
class Member:
    person_id: str
    name: str
    role: str
    manager_id: str | None


@dataclass(slots=True)
class OrgNode:
    org_unit_id: str
    name: str
    kind: str
    parent_id: str | None
    children: list[OrgNode] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)  # people assigned directly to this unit (in scope)
    headcount: int = 0  # people in this unit and below (in scope)


@dataclass(frozen=True, slots=True)
class OrgView:
    as_of: date
    unit: OrgNode  # the unit asked for, with its subtree
    path: list[tuple[str, str]]  # (id, name) from the root down to the unit, for breadcrumbs


def in_effect(day: date) -> ColumnElement[bool]:
    """Assignments in effect on `day` (`start_date <= day < end_date`)."""
    return and_(Assignment.start_date <= day, or_(Assignment.end_date.is_(None), Assignment.end_date > day))


def org_view(conn: Connection, scope: Scope, org_unit_id: str | None = None) -> OrgView:
    """The tree under `org_unit_id` (default: the root) as of the scope's date, with the visible people."""
    units = conn.execute(
        select(OrgUnit.org_unit_id, OrgUnit.name, OrgUnit.kind, OrgUnit.parent_id).order_by(OrgUnit.name)
    ).all()
    nodes = {u.org_unit_id: OrgNode(u.org_unit_id, u.name, u.kind, u.parent_id) for u in units}
    roots = [n for n in nodes.values() if n.parent_id is None or n.parent_id not in nodes]
    for node in nodes.values():
        if node.parent_id in nodes and node not in roots:
            nodes[node.parent_id].children.append(node)
    members = conn.execute(
        select(Assignment.org_unit_id, Person.person_id, Person.name, Assignment.role, Assignment.manager_id)
        .join(Person, Person.person_id == Assignment.person_id)
        .where(in_effect(scope.as_of), scope.people(Assignment.person_id))
        .order_by(Person.name)
    ).all()
    for m in members:
        if m.org_unit_id in nodes:
            nodes[m.org_unit_id].members.append(Member(m.person_id, m.name, m.role, m.manager_id))
    for root in roots:
        _count(root)
    if org_unit_id is None:
        if not roots:
            raise NotFound("the organisation is empty: import org_units.csv first")
        top = (
            roots[0]
            if len(roots) == 1
            else OrgNode("", "All", "company", None, roots, [], sum(r.headcount for r in roots))
        )
        return OrgView(scope.as_of, top, [])
    if org_unit_id not in nodes:
        raise NotFound(f"no org unit {org_unit_id!r}")
    return OrgView(scope.as_of, nodes[org_unit_id], _path(nodes, org_unit_id))


def _count(node: OrgNode) -> int:
    node.headcount = len({m.person_id for m in node.members}) + sum(_count(c) for c in node.children)
    return node.headcount


def _path(nodes: dict[str, OrgNode], org_unit_id: str) -> list[tuple[str, str]]:
    path: list[tuple[str, str]] = []
    cursor: str | None = org_unit_id
    while cursor is not None and cursor in nodes and len(path) <= len(nodes):
        path.append((cursor, nodes[cursor].name))
        cursor = nodes[cursor].parent_id
    return list(reversed(path))


def assignment_rows(*leading: Any) -> Select[Any]:
    """Assignments with their unit's and manager's names: `leading` columns, then `AssignmentRow`'s fields."""
    manager = Person.__table__.alias("manager")
    return (
        select(
            *leading,
            Assignment.role,
            Assignment.org_unit_id,
            OrgUnit.name,
            Assignment.manager_id,
            manager.c.name,
            Assignment.start_date,
            Assignment.end_date,
        )
        .join(OrgUnit, OrgUnit.org_unit_id == Assignment.org_unit_id)
        .outerjoin(manager, manager.c.person_id == Assignment.manager_id)
    )


@dataclass(frozen=True, slots=True)
class AssignmentRow:
    role: str
    org_unit_id: str
    org_unit_name: str
    manager_id: str | None
    manager_name: str | None
    start_date: date
    end_date: date | None


@dataclass(frozen=True, slots=True)
class PersonView:
    person_id: str
    name: str
    email: str | None
    hire_date: date | None
    termination_date: date | None
    current: AssignmentRow | None  # as of the viewed date
    history: list[AssignmentRow]  # newest first
    reports: list[Member]  # direct reports as of the viewed date (in scope)


def person_view(conn: Connection, scope: Scope, person_id: str) -> PersonView:
    """A person's page; NotFound when the person does not exist *or* is outside the viewer's scope."""
    person = conn.execute(
        select(Person.person_id, Person.name, Person.email, Person.hire_date, Person.termination_date).where(
            Person.person_id == person_id, scope.people(Person.person_id)
        )
    ).first()
    if person is None:
        raise NotFound(f"no person {person_id!r}")
    rows = conn.execute(
        assignment_rows().where(Assignment.person_id == person_id).order_by(Assignment.start_date.desc())
    ).all()
    history = [AssignmentRow(*r) for r in rows]
    day = scope.as_of
    current = next(
        (a for a in history if a.start_date <= day and (a.end_date is None or day < a.end_date)), None
    )
    reports = conn.execute(
        select(Person.person_id, Person.name, Assignment.role, Assignment.manager_id)
        .join(Person, Person.person_id == Assignment.person_id)
        .where(Assignment.manager_id == person_id, in_effect(day), scope.people(Assignment.person_id))
        .order_by(Person.name)
    ).all()
    return PersonView(
        person.person_id,
        person.name,
        person.email,
        person.hire_date,
        person.termination_date,
        current,
        history,
        [Member(*r) for r in reports],
    )


def headcount_by_unit(view: OrgView) -> dict[str, list[tuple[str, int]]]:
    """Chart data: head count of each child unit (for the drill-down's bar chart)."""
    series: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for child in view.unit.children:
        series[child.kind].append((child.name, child.headcount))
    return dict(series)
