"""Fiscal periods and their compensation status (`SelfViewer`: everyone signed in may see them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from openspm.services import records
from openspm.web.api.common import NOT_FOUND, Key, Pages
from openspm.web.deps import Conn, SelfViewer

router = APIRouter(prefix="/periods", tags=["periods"])


@router.get("", summary="List periods with a status")
def list_periods(
    viewer: SelfViewer, conn: Conn, paging: Pages, where: Annotated[records.PeriodFilter, Query()]
) -> records.PeriodPage:
    """Periods whose status was ever set, by start date; any other period is `open`."""
    return paging.respond(records.list_periods(conn, where, paging.window))


@router.get("/{label}", summary="One period's status", responses=NOT_FOUND)
def get_period(viewer: SelfViewer, conn: Conn, label: Key) -> records.PeriodPublic:
    """Any period by its label (`2025-03`, `2025-Q1`, `FY2025`, `2025-W07`); 404 for text that is not one."""
    return records.get_period(conn, label)
