"""Friendly HTML error pages for people in a browser; API clients keep their problem+json.

`install(app)` wraps the handlers that `problems.install` registered: a request that accepts HTML and is
not under `/api/` gets an error page for 403, 404, 405, 409 and 422; everything else (including the 401
redirect to the sign-in page) goes to the problem handlers unchanged.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from openspm.domain.errors import Conflict, InvalidRequest, NotFound, OpenSPMError
from openspm.web.ui.pages import error_page

Handler = Callable[[Request, Any], Response | Awaitable[Response]]
_PAGES = frozenset({403, 404, 405, 409, 422})
_DOMAIN_STATUS: list[tuple[type[OpenSPMError], int]] = [
    (NotFound, 404),
    (Conflict, 409),
    (InvalidRequest, 422),
]


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def _status(exc: Exception) -> int:
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code
    return next((status for kind, status in _DOMAIN_STATUS if isinstance(exc, kind)), 400)


def _detail(exc: Exception) -> str:
    return str(exc.detail) if isinstance(exc, StarletteHTTPException) else str(exc)


def _wrap(fallback: Handler) -> Handler:
    async def handler(request: Request, exc: Exception) -> Response:
        status = _status(exc)
        if status in _PAGES and wants_html(request):
            return error_page(request, None, status, _detail(exc))
        response = fallback(request, exc)
        return await response if inspect.isawaitable(response) else response

    return handler


def install(app: FastAPI) -> None:
    """Call after `problems.install(app)`."""
    for kind in (HTTPException, StarletteHTTPException, OpenSPMError):
        if fallback := app.exception_handlers.get(kind):
            app.add_exception_handler(kind, _wrap(fallback))
