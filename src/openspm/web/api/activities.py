"""Activities (calls, emails, meetings, demos), scoped on the day they happened (`DealsViewer`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from openspm.services import records
from openspm.web.api.common import AS_OF, NOT_FOUND, Key, Pages
from openspm.web.deps import Conn, DealsViewer

router = APIRouter(prefix="/activities", tags=["activities"], dependencies=[AS_OF])


@router.get("", summary="List activities")
def list_activities(
    viewer: DealsViewer, conn: Conn, paging: Pages, where: Annotated[records.ActivityFilter, Query()]
) -> records.ActivityPage:
    """Activities of people who were in the caller's scope when they happened, by `activity_id`."""
    return paging.respond(records.list_activities(conn, viewer.scope, where, paging.window))


@router.get("/{activity_id}", summary="One activity", responses=NOT_FOUND)
def get_activity(viewer: DealsViewer, conn: Conn, activity_id: Key) -> records.ActivityPublic:
    return records.get_activity(conn, viewer.scope, activity_id)
