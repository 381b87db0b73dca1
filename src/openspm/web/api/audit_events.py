"""The audit log: every mutation with its before and after, newest first (`AuditViewer`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from openspm.services import records
from openspm.web.api.common import Pages
from openspm.web.deps import AuditViewer, Conn

router = APIRouter(prefix="/audit-events", tags=["audit events"])


@router.get("", summary="Browse the audit log")
def list_audit_events(
    viewer: AuditViewer, conn: Conn, paging: Pages, where: Annotated[records.AuditEventFilter, Query()]
) -> records.AuditEventPage:
    """Audit events, newest first, filtered by actor, action, entity, key and day."""
    return paging.respond(records.list_audit_events(conn, where, paging.window))
