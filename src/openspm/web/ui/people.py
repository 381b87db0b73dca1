"""A person's page: current assignment, assignment history and direct reports, as of the viewed date."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from openspm.access.roles import Permission
from openspm.domain.errors import NotFound
from openspm.services import org as org_service
from openspm.web.deps import Conn, PeopleViewer
from openspm.web.templating import render
from openspm.web.ui.pages import as_of_query, error_page

router = APIRouter()


@router.get("/people/{person_id}")
def person(request: Request, viewer: PeopleViewer, conn: Conn, person_id: str) -> Response:
    try:
        view = org_service.person_view(conn, viewer.scope, person_id)
    except NotFound:  # missing and out of scope look the same
        return error_page(request, viewer, 404, f"There is no person {person_id!r} that you can see.")
    context = {
        "viewer": viewer,
        "person": view,
        "q": as_of_query(request),
        "effective_dated": True,
        "links_units": viewer.principal.may(Permission.VIEW_ORG),
        "links_managers": viewer.scope.sees_everything,  # a manager's own manager may be out of their scope
    }
    return render(request, "person.html", context)
