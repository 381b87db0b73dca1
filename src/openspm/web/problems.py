"""Errors as RFC 9457 problem details (`application/problem+json`), mapped in one place."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from openspm.domain.errors import Conflict, InvalidRequest, NotFound, OpenSPMError

PROBLEM_JSON = "application/problem+json"

_STATUS: list[tuple[type[OpenSPMError], int, str]] = [
    (NotFound, 404, "Not found"),
    (Conflict, 409, "Conflict"),
    (InvalidRequest, 422, "Invalid request"),
    (OpenSPMError, 400, "Bad request"),
]


def problem(status: int, title: str, detail: str | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def install(app: FastAPI) -> None:
    """Map every OpenSPM error and every HTTP error to a problem response."""

    async def domain_error(_request: Request, exc: Exception) -> Response:
        for kind, status, title in _STATUS:
            if isinstance(exc, kind):
                return problem(status, title, str(exc))
        return problem(500, "Internal error")  # pragma: no cover - _STATUS ends with the base class

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        headers = getattr(exc, "headers", None)
        if exc.status_code == 401 and _wants_html(request):
            wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return Response(status_code=303, headers={"Location": f"/login?next={quote(wanted, safe='/')}"})
        response = problem(exc.status_code, _title(exc.status_code), str(exc.detail) if exc.detail else None)
        if headers:
            response.headers.update(headers)
        return response

    async def validation_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", "")} for e in exc.errors()]
        return problem(422, "Invalid request", "the request does not match the schema", errors=errors)

    app.add_exception_handler(OpenSPMError, domain_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def _title(status: int) -> str:
    return {
        400: "Bad request",
        401: "Not signed in",
        403: "Forbidden",
        404: "Not found",
        405: "Method not allowed",
        409: "Conflict",
        422: "Invalid request",
        429: "Too many requests",
    }.get(status, "Error")
