"""What the page modules share: HTMX detection, the as_of query suffix, and friendly error pages."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from starlette.responses import Response

from openspm.web.security import Viewer
from openspm.web.templating import render

_TITLES = {403: "Not allowed", 404: "Not found", 409: "Conflict", 422: "Invalid request"}


def is_htmx(request: Request) -> bool:
    """An HTMX swap asks for a fragment; a history restore (cache miss) asks for the whole page."""
    headers = request.headers
    return headers.get("hx-request") == "true" and headers.get("hx-history-restore-request") != "true"


def as_of_query(request: Request) -> str:
    """`?as_of=…` when the viewer chose a date, so links keep it; empty when viewing today."""
    chosen = request.query_params.get("as_of")
    return "?" + urlencode({"as_of": chosen}) if chosen else ""


def error_page(request: Request, viewer: Viewer | None, status: int, detail: str) -> Response:
    """A page for an error a person can understand (used for 404s from services, and by `errors`)."""
    context = {"viewer": viewer, "status": status, "title": _TITLES.get(status, "Error"), "detail": detail}
    return render(request, "error.html", context, status_code=status)
