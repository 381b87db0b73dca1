"""Opportunities (deals) with their history and splits (`DealsViewer`).

A closed deal is visible to whoever managed its owner on its close date; an open deal to the owner's
line as of the viewed date.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from openspm.services import records
from openspm.web.api.common import AS_OF, NOT_FOUND, Key, Pages
from openspm.web.deps import Conn, DealsViewer

router = APIRouter(prefix="/opportunities", tags=["opportunities"], dependencies=[AS_OF])


@router.get("", summary="List opportunities")
def list_opportunities(
    viewer: DealsViewer, conn: Conn, paging: Pages, where: Annotated[records.OpportunityFilter, Query()]
) -> records.OpportunityPage:
    """Deals the caller may see, by `opportunity_id`."""
    return paging.respond(records.list_opportunities(conn, viewer.scope, where, paging.window))


@router.get("/{opportunity_id}", summary="One opportunity with its history and splits", responses=NOT_FOUND)
def get_opportunity(viewer: DealsViewer, conn: Conn, opportunity_id: Key) -> records.OpportunityDetailPublic:
    return records.get_opportunity(conn, viewer.scope, opportunity_id)


@router.get("/{opportunity_id}/history", summary="An opportunity's changes", responses=NOT_FOUND)
def list_opportunity_history(
    viewer: DealsViewer, conn: Conn, paging: Pages, opportunity_id: Key
) -> records.OpportunityChangePage:
    """The deal's stage, amount, close date and forecast category after each change, oldest first."""
    return paging.respond(records.list_opportunity_history(conn, viewer.scope, opportunity_id, paging.window))
