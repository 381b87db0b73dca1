"""The landing page: what the signed-in user can reach, shaped by their roles.

Admin, revops and finance get the organisation's counts and links; a manager gets their team; anyone
linked to a person gets a summary of their own assignment. Each part is read through a `Scope` for the
permission it shows, and only when the principal holds that permission.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import APIRouter, Request
from sqlalchemy import Connection
from starlette.responses import Response

from openspm.access.roles import Permission, Reach
from openspm.domain.errors import NotFound
from openspm.services import audit_log, org, users
from openspm.services.scopes import Scope
from openspm.web.deps import Conn, SelfViewer
from openspm.web.security import Viewer
from openspm.web.templating import render

router = APIRouter()


@dataclass(frozen=True, slots=True)
class Overview:
    """The whole organisation in numbers (viewers who see everything)."""

    people: int
    units_by_kind: list[tuple[str, int]]
    audit_events: int | None  # None: the viewer may not read the audit log
    users: int | None  # None: the viewer may not manage users


@dataclass(frozen=True, slots=True)
class Team:
    """A manager's people as of the viewed date: how many, and in which roles."""

    headcount: int
    by_role: list[tuple[str, int]]  # most common role first


@dataclass(frozen=True, slots=True)
class Home:
    me: org.PersonView | None  # the signed-in person's own assignment (None: not linked to a person)
    overview: Overview | None
    team: Team | None
    sees_everything: bool  # True for admin, revops and finance (an empty overview: nothing imported yet)


def _scope(viewer: Viewer, permission: Permission) -> Scope | None:
    return Scope(viewer.principal, permission, viewer.as_of) if viewer.principal.may(permission) else None


def _walk(node: org.OrgNode) -> Iterator[org.OrgNode]:
    yield node
    for child in node.children:
        yield from _walk(child)


def _overview(conn: Connection, viewer: Viewer, scope: Scope) -> Overview:
    view = org.org_view(conn, scope)
    kinds = Counter(n.kind for n in _walk(view.unit) if n.org_unit_id)
    may = viewer.principal.may
    audit_total = None
    if may(Permission.VIEW_AUDIT):
        audit_total = audit_log.browse(conn, audit_log.AuditFilter(), limit=1).total
    user_count = len(users.list_users(conn)) if may(Permission.MANAGE_USERS) else None
    return Overview(view.unit.headcount, sorted(kinds.items()), audit_total, user_count)


def _team(conn: Connection, scope: Scope) -> Team:
    view = org.org_view(conn, scope)
    roles = Counter({m.person_id: m.role for n in _walk(view.unit) for m in n.members}.values())
    return Team(view.unit.headcount, sorted(roles.items(), key=lambda item: (-item[1], item[0])))


def _me(conn: Connection, viewer: Viewer) -> org.PersonView | None:
    scope = _scope(viewer, Permission.VIEW_PEOPLE)
    if scope is None or viewer.principal.person_id is None:
        return None
    try:
        return org.person_view(conn, scope, viewer.principal.person_id)
    except NotFound:
        return None


def home_view(conn: Connection, viewer: Viewer) -> Home:
    org_scope = _scope(viewer, Permission.VIEW_ORG)
    reach = org_scope.reach if org_scope else None
    try:
        overview = _overview(conn, viewer, org_scope) if org_scope and reach is Reach.ALL else None
        team = _team(conn, org_scope) if org_scope and reach is Reach.SUBTREE else None
    except NotFound:  # an empty organisation: nothing imported yet
        overview, team = None, None
    return Home(_me(conn, viewer), overview, team, reach is Reach.ALL)


@router.get("/")
def home(request: Request, viewer: SelfViewer, conn: Conn) -> Response:
    return render(request, "home.html", {"viewer": viewer, "home": home_view(conn, viewer)})
