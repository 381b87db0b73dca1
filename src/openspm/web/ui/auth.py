"""Sign in, sign out, change password, API tokens: the pages of one's own account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from openspm.access.tokens import new_secret, same
from openspm.domain.errors import OpenSPMError
from openspm.services import users
from openspm.web.deps import Conn, SelfViewer
from openspm.web.security import SESSION_COOKIE
from openspm.web.templating import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect a sign-in to another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _is_https(request: Request) -> bool:
    return request.url.scheme == "https"


LOGIN_CSRF_COOKIE = "spm_login_csrf"


def _login_form(request: Request, next_path: str, error: str | None, status_code: int = 200) -> Response:
    """The sign-in form with a fresh double-submit CSRF token (there is no session yet to hold one)."""
    csrf = new_secret()
    response = render(
        request,
        "login.html",
        {"viewer": None, "next": next_path, "error": error, "csrf_token": csrf},
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=_is_https(request), path="/login"
    )
    return response


def _set_session_cookie(response: Response, request: Request, session: users.Session) -> None:
    """The session cookie: HttpOnly, SameSite=Lax, Secure whenever the request came over HTTPS."""
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        httponly=True,
        samesite="lax",
        secure=_is_https(request),
        max_age=int(users.SESSION_LIFETIME.total_seconds()),
        path="/",
    )


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    return _login_form(request, _safe_next(next), None)


@router.post("/login")
def login(
    request: Request,
    conn: Conn,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not same(csrf_token, expected):
        return _login_form(
            request, _safe_next(next), "the form expired; please sign in again", status_code=403
        )
    result = users.authenticate(conn, username, password)
    if result.principal is None:
        conn.commit()  # keep the failure count even though the response is an error page
        return _login_form(request, _safe_next(next), result.reason, status_code=401)
    session = users.start_session(conn, result.principal)
    conn.commit()
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    _set_session_cookie(response, request, session)
    return response


@router.post("/logout")
def logout(request: Request, viewer: SelfViewer, conn: Conn) -> Response:
    if token := request.cookies.get(SESSION_COOKIE):
        users.end_session(conn, viewer.principal, token)
        conn.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account")
def account(request: Request, viewer: SelfViewer, conn: Conn) -> Response:
    tokens = users.list_tokens(conn, viewer.principal)
    return render(
        request,
        "account.html",
        {"viewer": viewer, "tokens": tokens, "message": None, "error": None, "new_token": None},
    )


@router.post("/account/password")
def change_password(
    request: Request,
    viewer: SelfViewer,
    conn: Conn,
    current_password: Annotated[str, Form()],
    new_password: Annotated[str, Form()],
) -> Response:
    try:
        users.change_own_password(conn, viewer.principal, current_password, new_password)
    except OpenSPMError as exc:
        conn.rollback()
        return render(
            request,
            "account.html",
            {
                "viewer": viewer,
                "tokens": users.list_tokens(conn, viewer.principal),
                "error": str(exc),
                "message": None,
                "new_token": None,
            },
            status_code=422,
        )
    session = users.start_session(conn, viewer.principal)  # other sessions ended; keep this browser signed in
    conn.commit()
    response = RedirectResponse("/account?changed=1", status_code=303)
    _set_session_cookie(response, request, session)
    return response


@router.post("/account/tokens")
def create_token(request: Request, viewer: SelfViewer, conn: Conn, name: Annotated[str, Form()]) -> Response:
    _, token = users.create_token(conn, viewer.principal, name)
    conn.commit()
    return render(
        request,
        "account.html",
        {
            "viewer": viewer,
            "tokens": users.list_tokens(conn, viewer.principal),
            "new_token": token,
            "message": None,
            "error": None,
        },
    )


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(viewer: SelfViewer, conn: Conn, token_id: int) -> Response:
    users.revoke_token(conn, viewer.principal, token_id)
    conn.commit()
    return RedirectResponse("/account", status_code=303)
