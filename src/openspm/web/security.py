"""The one authorisation mechanism: every route declares `Depends(require(Permission.X))`.

`require` resolves who is asking (session cookie or `Authorization: Bearer <API token>`), refuses with 401
when nobody is, with 403 when the principal's roles do not grant the permission, and checks the CSRF
token on every state-changing request that a cookie authenticated. What it returns, a `Viewer`, carries
the row scope that every query of the handler must use. A test enumerates the app's routes and fails
for any route that does not declare exactly one `require(...)` (or is not listed in `PUBLIC_ROUTES`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from openspm.access import tokens
from openspm.access.roles import Permission, Principal
from openspm.services import users
from openspm.services.scopes import Scope
from openspm.web.db import get_conn

SESSION_COOKIE = "spm_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: Paths anyone may reach without signing in.
PUBLIC_ROUTES = frozenset({"/login", "/healthz", "/static", "/openapi.json", "/api/docs"})


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in principal, seen through one permission, as of one date."""

    principal: Principal
    permission: Permission
    as_of: date
    csrf_token: str | None  # None for API-token requests (no cookie, so no CSRF risk)

    @property
    def scope(self) -> Scope:
        return Scope(self.principal, self.permission, self.as_of)


@dataclass(frozen=True, slots=True)
class Identity:
    principal: Principal
    csrf_token: str | None


def identify(request: Request, conn: Connection) -> Identity | None:
    """Who is asking, from a bearer token or a session cookie (cached on the request)."""
    if hasattr(request.state, "identity"):
        cached: Identity | None = request.state.identity
        return cached
    identity = None
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        principal = users.resolve_token(conn, header[7:].strip())
        identity = Identity(principal, None) if principal else None
    elif cookie := request.cookies.get(SESSION_COOKIE):
        found = users.resolve_session(conn, cookie)
        identity = Identity(found[0], found[1]) if found else None
    request.state.identity = identity
    return identity


async def _submitted_csrf(request: Request) -> str:
    if token := request.headers.get(CSRF_HEADER):
        return token
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


class require:  # noqa: N801 - reads as a verb at the call site: Depends(require(Permission.VIEW_DEALS))
    """A dependency that authorises a request for one permission and returns the `Viewer`."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(self, request: Request, conn: Annotated[Connection, Depends(get_conn)]) -> Viewer:
        identity = await run_in_threadpool(identify, request, conn)  # database I/O off the event loop
        if identity is None:
            raise HTTPException(401, "sign in first", headers={"WWW-Authenticate": "Bearer"})
        if not identity.principal.may(self.permission):
            raise HTTPException(403, f"your roles do not allow {self.permission.value}")
        if identity.csrf_token is not None and request.method not in SAFE_METHODS:
            submitted = await _submitted_csrf(request)
            if not submitted or not tokens.same(submitted, identity.csrf_token):
                raise HTTPException(403, "missing or wrong CSRF token; reload the page and try again")
        as_of = _as_of(request)
        return Viewer(identity.principal, self.permission, as_of, identity.csrf_token)


#: The days a viewer may look at the organisation as of: windows and periods are counted back and
#: forward from it, so the ends of the calendar (year 1, year 9999) are refused rather than overflowed.
AS_OF_RANGE = (date(1900, 1, 1), date(2999, 12, 31))


def _as_of(request: Request) -> date:
    text = request.query_params.get("as_of")
    if not text:
        return date.today()  # noqa: DTZ011 - the viewer's calendar day
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise HTTPException(422, f"as_of must be a date (YYYY-MM-DD), not {text!r}") from None
    first, last = AS_OF_RANGE
    if not first <= day <= last:
        raise HTTPException(422, f"as_of must be between {first} and {last}, not {text}")
    return day
