"""People, their assignment as of the viewed date, and their assignment history (`PeopleViewer`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from openspm.services import records
from openspm.web.api.common import AS_OF, NOT_FOUND, Key, Pages
from openspm.web.deps import Conn, PeopleViewer

router = APIRouter(prefix="/people", tags=["people"], dependencies=[AS_OF])


@router.get("", summary="List people")
def list_people(
    viewer: PeopleViewer, conn: Conn, paging: Pages, where: Annotated[records.PeopleFilter, Query()]
) -> records.PersonPage:
    """The people the caller may see as of `as_of`, by `person_id`, each with their current assignment."""
    return paging.respond(records.list_people(conn, viewer.scope, where, paging.window))


@router.get("/{person_id}", summary="One person", responses=NOT_FOUND)
def get_person(viewer: PeopleViewer, conn: Conn, person_id: Key) -> records.PersonDetailPublic:
    """The person, their assignment as of `as_of` and their direct reports (those the caller may see)."""
    return records.get_person(conn, viewer.scope, person_id)


@router.get("/{person_id}/assignments", summary="A person's assignment history", responses=NOT_FOUND)
def list_person_assignments(
    viewer: PeopleViewer, conn: Conn, paging: Pages, person_id: Key
) -> records.AssignmentPage:
    """Every assignment of the person (role, org unit, manager, `[start_date, end_date)`), newest first."""
    return paging.respond(records.list_assignments(conn, viewer.scope, person_id, paging.window))
