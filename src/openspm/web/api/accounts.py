"""Accounts (customers), scoped by their owner as of the viewed date (`DealsViewer`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from openspm.services import records
from openspm.web.api.common import AS_OF, NOT_FOUND, Key, Pages
from openspm.web.deps import Conn, DealsViewer

router = APIRouter(prefix="/accounts", tags=["accounts"], dependencies=[AS_OF])


@router.get("", summary="List accounts")
def list_accounts(
    viewer: DealsViewer, conn: Conn, paging: Pages, where: Annotated[records.AccountFilter, Query()]
) -> records.AccountPage:
    """Accounts whose owner the caller may see as of `as_of`, by `account_id`."""
    return paging.respond(records.list_accounts(conn, viewer.scope, where, paging.window))


@router.get("/{account_id}", summary="One account", responses=NOT_FOUND)
def get_account(viewer: DealsViewer, conn: Conn, account_id: Key) -> records.AccountPublic:
    return records.get_account(conn, viewer.scope, account_id)
