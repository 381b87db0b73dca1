"""Keep `reporting_lines` (who is in whose subtree, when) in step with assignments."""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select

from openspm.access.reporting import reporting_lines
from openspm.store.models import Assignment, ReportingLine


def rebuild_reporting_lines(conn: Connection) -> int:
    """Recompute every line from the assignments, in the caller's transaction; return how many."""
    rows = conn.execute(
        select(Assignment.person_id, Assignment.manager_id, Assignment.start_date, Assignment.end_date)
    ).all()
    lines = reporting_lines((r.person_id, r.manager_id, r.start_date, r.end_date) for r in rows)
    conn.execute(delete(ReportingLine))
    if lines:
        conn.execute(
            insert(ReportingLine),
            [
                {
                    "ancestor_id": ln.ancestor,
                    "person_id": ln.person,
                    "start_date": ln.start,
                    "end_date": ln.end,
                }
                for ln in lines
            ],
        )
    return len(lines)
