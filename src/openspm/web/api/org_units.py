"""Org units: the list with head counts, and one unit's subtree as the drill-down shows it (`OrgViewer`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from openspm.services import records
from openspm.web.api.common import AS_OF, NOT_FOUND, Key, Pages
from openspm.web.deps import Conn, OrgViewer

router = APIRouter(prefix="/org-units", tags=["org units"], dependencies=[AS_OF])


@router.get("", summary="List org units")
def list_org_units(
    viewer: OrgViewer, conn: Conn, paging: Pages, where: Annotated[records.OrgUnitFilter, Query()]
) -> records.OrgUnitPage:
    """Every org unit, by `org_unit_id`, with the head count the caller may see as of `as_of`."""
    return paging.respond(records.list_org_units(conn, viewer.scope, where, paging.window))


@router.get("/{org_unit_id}", summary="One org unit and its subtree", responses=NOT_FOUND)
def get_org_unit(viewer: OrgViewer, conn: Conn, org_unit_id: Key) -> records.OrgTreePublic:
    """The unit, its breadcrumb path and its subtree with members and head counts, as of `as_of`."""
    return records.get_org_unit(conn, viewer.scope, org_unit_id)
