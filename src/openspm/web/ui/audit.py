"""The audit log page: filter by actor, action, entity, key and dates; newest first; before and after."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from openspm.services import audit_log
from openspm.web.deps import AuditViewer, Conn
from openspm.web.templating import render

router = APIRouter()
PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class EventRow:
    """An audit entry as shown: its before and after as indented JSON, and which keys changed."""

    entry: audit_log.AuditEntry
    before_json: str | None
    after_json: str | None
    changed: list[str]


def _pretty(value: dict[str, Any] | None) -> str | None:
    if value is None:
        return None
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def event_row(entry: audit_log.AuditEntry) -> EventRow:
    before, after = entry.before or {}, entry.after or {}
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    return EventRow(entry, _pretty(entry.before), _pretty(entry.after), changed)


def _day(text: str, label: str, errors: list[str]) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        errors.append(f"{label} must be a date (YYYY-MM-DD), not {text!r}")
        return None


@router.get("/audit")
def audit(
    *,
    request: Request,
    viewer: AuditViewer,
    conn: Conn,
    actor: str = "",
    action: str = "",
    entity: str = "",
    key: str = "",
    since: str = "",
    until: str = "",
    page: int = 1,
) -> Response:
    errors: list[str] = []
    where = audit_log.AuditFilter(
        actor=actor.strip() or None,
        action=action or None,
        entity=entity.strip() or None,
        entity_key=key.strip() or None,
        since=_day(since, "since", errors),
        until=_day(until, "until", errors),
    )
    page = max(page, 1)
    found = audit_log.browse(conn, where, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    form = {"actor": actor, "action": action, "entity": entity, "key": key, "since": since, "until": until}
    base = urlencode({k: v for k, v in form.items() if v})
    context = {
        "viewer": viewer,
        "found": found,
        "rows": [event_row(e) for e in found.entries],
        "form": form,
        "errors": errors,
        "page": page,
        "pages": max(1, -(-found.total // PAGE_SIZE)),
        "page_link": lambda n: "/audit?" + "&".join(p for p in (base, f"page={n}") if p),
    }
    return render(request, "audit.html", context)
