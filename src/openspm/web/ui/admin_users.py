"""User management (admin only): list users, add one, change a user's roles. Errors show inline."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import Connection
from starlette.responses import Response

from openspm.access.roles import Role, parse_roles
from openspm.domain.errors import Conflict, InvalidRequest, NotFound, OpenSPMError
from openspm.services import users
from openspm.web.deps import Conn, UserManager
from openspm.web.security import Viewer
from openspm.web.templating import render

router = APIRouter()
_STATUS: list[tuple[type[OpenSPMError], int]] = [(NotFound, 404), (Conflict, 409), (InvalidRequest, 422)]


def _page(
    request: Request, viewer: Viewer, conn: Connection, *, status_code: int = 200, **extra: Any
) -> Response:
    """The users page; `extra` may set `error` (on top, or under `error_user`'s row), `form`, `message`."""
    context: dict[str, Any] = {
        "viewer": viewer,
        "users": users.list_users(conn),
        "roles": list(Role),
        "error": None,
        "error_user": None,
        "form": {"roles": []},
        "message": None,
        **extra,
    }
    return render(request, "admin_users.html", context, status_code=status_code)


def _status(exc: OpenSPMError) -> int:
    return next((status for kind, status in _STATUS if isinstance(exc, kind)), 400)


def _roles(names: list[str] | None) -> frozenset[Role]:
    try:
        return parse_roles(names or [])
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None


@router.get("/admin/users")
def list_users(
    request: Request, viewer: UserManager, conn: Conn, created: str = "", updated: str = ""
) -> Response:
    message = f"Added user {created}." if created else f"Changed the roles of {updated}." if updated else None
    return _page(request, viewer, conn, message=message)


@router.post("/admin/users")
def add_user(
    *,
    request: Request,
    viewer: UserManager,
    conn: Conn,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    display_name: Annotated[str, Form()] = "",
    person_id: Annotated[str, Form()] = "",
    roles: Annotated[list[str] | None, Form()] = None,
) -> Response:
    form = {"username": username, "display_name": display_name, "person_id": person_id, "roles": roles or []}
    try:
        users.create_user(
            conn,
            username=username,
            password=password,
            roles=_roles(roles),
            actor=viewer.principal.username,
            display_name=display_name.strip() or None,
            person_id=person_id.strip() or None,
        )
    except OpenSPMError as exc:
        conn.rollback()
        return _page(request, viewer, conn, status_code=_status(exc), error=str(exc), form=form)
    conn.commit()
    created = urlencode({"created": username.strip().lower()})
    return RedirectResponse(f"/admin/users?{created}", status_code=303)


@router.post("/admin/users/{username}/roles")
def change_roles(
    request: Request,
    viewer: UserManager,
    conn: Conn,
    username: str,
    roles: Annotated[list[str] | None, Form()] = None,
) -> Response:
    try:
        users.set_roles(conn, username, _roles(roles), actor=viewer.principal.username)
    except OpenSPMError as exc:
        conn.rollback()
        inline = None if isinstance(exc, NotFound) else username  # no row to show it under
        return _page(request, viewer, conn, status_code=_status(exc), error=str(exc), error_user=inline)
    conn.commit()
    return RedirectResponse("/admin/users?" + urlencode({"updated": username}), status_code=303)
