"""The audit log is append-only, hash-chained, and tampering is detected."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from openspm.domain.errors import InvalidRequest, PeriodLocked
from openspm.domain.periods import PeriodStatus
from openspm.services import company
from openspm.store.audit import record_event, verify_chain


def _three_events(engine: Engine) -> None:
    with engine.begin() as conn:
        for n in range(3):
            record_event(
                conn,
                actor="ann",
                action="test.edit",
                entity="thing",
                entity_key=str(n),
                before={"amount": "1.00"},
                after={"amount": f"{n}.50"},
            )


def test_chain_verifies_when_untouched(engine: Engine) -> None:
    _three_events(engine)
    with engine.connect() as conn:
        assert verify_chain(conn) == (3, [])


def test_updates_and_deletes_are_refused_by_the_database(engine: Engine) -> None:
    _three_events(engine)
    for statement in ("UPDATE audit_events SET actor = 'mallory'", "DELETE FROM audit_events WHERE id = 2"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))


def _disable_protection(conn, dialect: str) -> None:  # type: ignore[no-untyped-def]
    if dialect == "sqlite":
        conn.execute(text("DROP TRIGGER audit_events_no_update"))
        conn.execute(text("DROP TRIGGER audit_events_no_delete"))
    else:
        conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))


def test_an_edited_event_is_detected_even_without_the_triggers(engine: Engine) -> None:
    _three_events(engine)
    with engine.begin() as conn:
        _disable_protection(conn, engine.dialect.name)
        conn.execute(text("UPDATE audit_events SET after = :v WHERE id = 2"), {"v": '{"amount": "999.50"}'})
    with engine.connect() as conn:
        count, breaks = verify_chain(conn)
    assert count == 3
    assert [(b.event_id, "edited" in b.reason) for b in breaks] == [(2, True)]


def test_a_deleted_event_is_detected(engine: Engine) -> None:
    _three_events(engine)
    with engine.begin() as conn:
        _disable_protection(conn, engine.dialect.name)
        conn.execute(text("DELETE FROM audit_events WHERE id = 2"))
    with engine.connect() as conn:
        count, breaks = verify_chain(conn)
    assert count == 2
    assert [b.event_id for b in breaks] == [3]


def test_period_status_moves_are_audited_and_a_locked_period_never_changes(engine: Engine) -> None:
    with engine.begin() as conn:
        company.configure(conn, actor="admin", name="Acme", fiscal_year_start_month=2)
    for status in ("calculated", "approved", "locked"):
        with engine.begin() as conn:
            company.set_period_status(conn, "2026-Q1", PeriodStatus(status), actor="finance")
    with pytest.raises(PeriodLocked), engine.begin() as conn:
        company.set_period_status(conn, "2026-Q1", PeriodStatus.CALCULATED, actor="finance")
    with pytest.raises(InvalidRequest, match="cannot go from open to locked"), engine.begin() as conn:
        company.set_period_status(conn, "2026-Q2", PeriodStatus.LOCKED, actor="finance")
    with pytest.raises(PeriodLocked, match="fiscal calendar"), engine.begin() as conn:
        company.configure(conn, actor="admin", fiscal_year_start_month=1)
    with engine.connect() as conn:
        state = company.period_status(conn, "2026-Q1")
        events = conn.execute(text("SELECT action, entity_key FROM audit_events ORDER BY id")).all()
        assert verify_chain(conn)[1] == []
    assert (state.start, state.end, state.status) == ("2025-02-01", "2025-05-01", PeriodStatus.LOCKED)
    assert [tuple(e) for e in events] == [("company.configure", "1")] + [("period.status", "2026-Q1")] * 3
