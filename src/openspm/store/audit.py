"""The audit log: append-only and hash-chained.

Every mutation calls `record_event` inside the transaction that makes the change, so the event and the
change commit or roll back together. Each event's hash covers its content and the previous event's
hash; `verify_chain` recomputes the chain and names the first event that no longer matches, which is how
an edited, deleted or inserted row is detected even by someone who bypassed the database triggers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select, text

from openspm.store.models import AuditEvent

GENESIS = "0" * 64
_AUDIT_LOCK = 0x5350_4D41  # "SPMA": serialises appends on PostgreSQL


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _digest(prev_hash: str, fields: Mapping[str, Any]) -> str:
    body = json.dumps({"prev": prev_hash, **fields}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def _hashed_fields(  # noqa: PLR0917 - the hashed fields, in their fixed order
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_key: str | None,
    before: Any,
    after: Any,
) -> dict[str, Any]:
    return {
        "at": at.isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_key": entity_key,
        "before": before,
        "after": after,
    }


def record_event(
    conn: Connection,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_key: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> str:
    """Append one event to the chain in the caller's transaction; return its hash."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _AUDIT_LOCK})
    else:
        # A write statement (matching no row) takes SQLite's write lock before the previous hash is read,
        # so two transactions can never chain onto the same predecessor.
        conn.execute(text("UPDATE audit_events SET id = id WHERE 0"))
    prev = conn.execute(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).scalar()
    prev_hash = prev or GENESIS
    moment = (at or datetime.now(UTC)).replace(tzinfo=None)
    before_json, after_json = _jsonable(before), _jsonable(after)
    fields = _hashed_fields(moment, actor, action, entity, entity_key, before_json, after_json)
    digest = _digest(prev_hash, fields)
    conn.execute(
        insert(AuditEvent).values(
            at=moment,
            actor=actor,
            action=action,
            entity=entity,
            entity_key=entity_key,
            before=before_json,
            after=after_json,
            prev_hash=prev_hash,
            hash=digest,
        )
    )
    return digest


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """Where the chain stops matching, and why."""

    event_id: int
    reason: str

    def __str__(self) -> str:
        return f"audit event {self.event_id}: {self.reason}"


def verify_chain(conn: Connection) -> tuple[int, list[ChainBreak]]:
    """Recompute every hash; return the number of events checked and each break found."""
    breaks: list[ChainBreak] = []
    expected_prev = GENESIS
    count = 0
    rows = conn.execution_options(yield_per=5000).execute(
        select(
            AuditEvent.id,
            AuditEvent.at,
            AuditEvent.actor,
            AuditEvent.action,
            AuditEvent.entity,
            AuditEvent.entity_key,
            AuditEvent.before,
            AuditEvent.after,
            AuditEvent.prev_hash,
            AuditEvent.hash,
        ).order_by(AuditEvent.id)
    )
    for row in rows:
        count += 1
        if row.prev_hash != expected_prev:
            breaks.append(ChainBreak(row.id, "does not follow the event before it (deleted or inserted row)"))
        fields = _hashed_fields(
            row.at, row.actor, row.action, row.entity, row.entity_key, row.before, row.after
        )
        if _digest(row.prev_hash, fields) != row.hash:
            breaks.append(ChainBreak(row.id, "content does not match its hash (edited row)"))
        expected_prev = row.hash
    return count, breaks
