"""The organisation drill-down: company → region → team → rep, as of the viewed date.

With the `HX-Request` header (an HTMX link inside the page) the response is only the `#org-view`
fragment; otherwise the whole page, so every link also works without JavaScript.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from openspm.domain.errors import NotFound
from openspm.services import org as org_service
from openspm.web.deps import Conn, OrgViewer
from openspm.web.security import Viewer
from openspm.web.templating import render
from openspm.web.ui.pages import as_of_query, error_page, is_htmx

router = APIRouter()


def chart_data(view: org_service.OrgView) -> dict[str, Any]:
    """Head count per child unit, for the bar chart (one series per unit kind, bars link to the units)."""
    series = org_service.headcount_by_unit(view)
    children = view.unit.children
    return {
        "categories": [c.name for c in children],
        "links": [c.org_unit_id for c in children],
        "series": [
            {"name": kind, "data": [c.headcount if c.kind == kind else None for c in children]}
            for kind in series
        ],
    }


def member_names(view: org_service.OrgView) -> dict[str, str]:
    """person_id → name of everyone shown under the unit (to name managers)."""
    names: dict[str, str] = {}
    stack = [view.unit]
    while stack:
        node = stack.pop()
        names.update((m.person_id, m.name) for m in node.members)
        stack.extend(node.children)
    return names


def _render(request: Request, viewer: Viewer, view: org_service.OrgView) -> Response:
    context = {
        "viewer": viewer,
        "view": view,
        "chart": chart_data(view),
        "names": member_names(view),
        "q": as_of_query(request),
        "effective_dated": True,
    }
    response = render(request, "org_fragment.html" if is_htmx(request) else "org.html", context)
    response.headers["Vary"] = "HX-Request"
    return response


@router.get("/org")
def org_root(request: Request, viewer: OrgViewer, conn: Conn) -> Response:
    try:
        view = org_service.org_view(conn, viewer.scope)
    except NotFound as exc:
        return error_page(request, viewer, 404, str(exc))
    return _render(request, viewer, view)


@router.get("/org/{org_unit_id}")
def org_unit(request: Request, viewer: OrgViewer, conn: Conn, org_unit_id: str) -> Response:
    try:
        view = org_service.org_view(conn, viewer.scope, org_unit_id)
    except NotFound as exc:
        return error_page(request, viewer, 404, str(exc))
    return _render(request, viewer, view)
