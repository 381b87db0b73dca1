"""Quotas of people and org units, every published version (`PeopleViewer`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from openspm.services import records
from openspm.web.api.common import AS_OF, NOT_FOUND, Pages
from openspm.web.deps import Conn, PeopleViewer

router = APIRouter(prefix="/quotas", tags=["quotas"], dependencies=[AS_OF])


@router.get("", summary="List quotas")
def list_quotas(
    viewer: PeopleViewer, conn: Conn, paging: Pages, where: Annotated[records.QuotaFilter, Query()]
) -> records.QuotaPage:
    """Quotas of the people the caller may see (and of org units, for managers and wider), by `id`."""
    return paging.respond(records.list_quotas(conn, viewer.scope, where, paging.window))


@router.get("/{quota_id}", summary="One quota", responses=NOT_FOUND)
def get_quota(
    viewer: PeopleViewer, conn: Conn, quota_id: Annotated[int, Path(ge=1, le=2**62)]
) -> records.QuotaPublic:
    return records.get_quota(conn, viewer.scope, quota_id)
