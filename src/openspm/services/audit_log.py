"""Browsing the audit log: filter, page, and show each event's before and after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from openspm.store.models import AuditEvent


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    entity: str | None = None
    entity_key: str | None = None
    since: date | None = None  # inclusive
    until: date | None = None  # inclusive


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_key: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    hash: str


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: list[AuditEntry]
    total: int
    limit: int
    offset: int
    actions: list[str]  # every action in the log, for the filter's choices


def browse(conn: Connection, where: AuditFilter, *, limit: int = 50, offset: int = 0) -> AuditPage:
    """Newest first."""
    conditions = []
    if where.actor:
        conditions.append(AuditEvent.actor == where.actor)
    if where.action:
        conditions.append(AuditEvent.action == where.action)
    if where.entity:
        conditions.append(AuditEvent.entity == where.entity)
    if where.entity_key:
        conditions.append(AuditEvent.entity_key == where.entity_key)
    if where.since:
        conditions.append(AuditEvent.at >= datetime.combine(where.since, datetime.min.time()))
    if where.until:
        conditions.append(
            AuditEvent.at < datetime.combine(where.until + timedelta(days=1), datetime.min.time())
        )
    total = conn.execute(select(func.count()).select_from(AuditEvent).where(*conditions)).scalar_one()
    rows = conn.execute(
        select(
            AuditEvent.id,
            AuditEvent.at,
            AuditEvent.actor,
            AuditEvent.action,
            AuditEvent.entity,
            AuditEvent.entity_key,
            AuditEvent.before,
            AuditEvent.after,
            AuditEvent.hash,
        )
        .where(*conditions)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    actions = list(conn.execute(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).scalars())
    return AuditPage([AuditEntry(*r) for r in rows], total, limit, offset, actions)
