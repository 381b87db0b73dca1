"""Transactions (bookings, renewals, cancellations, invoices), scoped on their own date (`DealsViewer`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from openspm.services import records
from openspm.web.api.common import AS_OF, NOT_FOUND, Key, Pages
from openspm.web.deps import Conn, DealsViewer

router = APIRouter(prefix="/transactions", tags=["transactions"], dependencies=[AS_OF])


@router.get("", summary="List transactions")
def list_transactions(
    viewer: DealsViewer, conn: Conn, paging: Pages, where: Annotated[records.TransactionFilter, Query()]
) -> records.TransactionPage:
    """Lines whose owner was in the caller's scope on the line's date, by `transaction_id`."""
    return paging.respond(records.list_transactions(conn, viewer.scope, where, paging.window))


@router.get("/{transaction_id}", summary="One transaction", responses=NOT_FOUND)
def get_transaction(viewer: DealsViewer, conn: Conn, transaction_id: Key) -> records.TransactionPublic:
    return records.get_transaction(conn, viewer.scope, transaction_id)
