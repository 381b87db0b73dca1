"""The company's settings (name, base currency, fiscal calendar) and its period statuses."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from openspm.domain.errors import InvalidRequest, PeriodLocked
from openspm.domain.periods import FiscalCalendar, PeriodStatus, can_move
from openspm.store.audit import record_event
from openspm.store.models import Company, Currency
from openspm.store.models import Period as PeriodRow


@dataclass(frozen=True, slots=True)
class CompanySettings:
    name: str
    base_currency: str
    fiscal_year_start_month: int

    @property
    def calendar(self) -> FiscalCalendar:
        return FiscalCalendar(self.fiscal_year_start_month)


DEFAULT = CompanySettings("My company", "USD", 1)


def get_settings(conn: Connection) -> CompanySettings:
    row = conn.execute(select(Company.__table__).where(Company.id == 1)).first()
    if row is None:
        return DEFAULT
    return CompanySettings(row.name, row.base_currency, row.fiscal_year_start_month)


def configure(
    conn: Connection,
    *,
    actor: str,
    name: str | None = None,
    base_currency: str | None = None,
    fiscal_year_start_month: int | None = None,
) -> CompanySettings:
    """Change the company settings (audited); unspecified fields keep their value."""
    before = get_settings(conn)
    after = CompanySettings(
        name or before.name,
        (base_currency or before.base_currency).upper(),
        fiscal_year_start_month or before.fiscal_year_start_month,
    )
    FiscalCalendar(after.fiscal_year_start_month)  # validates the month
    stored = conn.execute(select(Company.id)).first() is not None
    if stored and after == before:
        return after  # nothing changes, so nothing is written or audited
    if conn.execute(select(Currency.code).where(Currency.code == after.base_currency)).first() is None:
        raise InvalidRequest(f"unknown currency {after.base_currency!r}")
    locked = conn.execute(select(PeriodRow.label).where(PeriodRow.status == PeriodStatus.LOCKED)).first()
    if locked and after.fiscal_year_start_month != before.fiscal_year_start_month:
        raise PeriodLocked(f"period {locked.label} is locked: the fiscal calendar can no longer change")
    values = {
        "name": after.name,
        "base_currency": after.base_currency,
        "fiscal_year_start_month": after.fiscal_year_start_month,
    }
    if not stored:
        conn.execute(insert(Company).values(id=1, **values))
    else:
        conn.execute(update(Company).where(Company.id == 1).values(**values))
    record_event(
        conn,
        actor=actor,
        action="company.configure",
        entity="company",
        entity_key="1",
        before=_asdict(before),
        after=_asdict(after),
    )
    return after


def _asdict(settings: CompanySettings) -> dict[str, object]:
    return {
        "name": settings.name,
        "base_currency": settings.base_currency,
        "fiscal_year_start_month": settings.fiscal_year_start_month,
    }


@dataclass(frozen=True, slots=True)
class PeriodState:
    label: str
    kind: str
    start: str
    end: str
    status: PeriodStatus


def period_status(conn: Connection, label: str) -> PeriodState:
    calendar = get_settings(conn).calendar
    period = calendar.parse(label)
    row = conn.execute(select(PeriodRow.status).where(PeriodRow.label == period.label)).first()
    status = PeriodStatus(row.status) if row else PeriodStatus.OPEN
    return PeriodState(period.label, period.kind, period.start.isoformat(), period.end.isoformat(), status)


def list_periods(conn: Connection) -> list[PeriodState]:
    rows = conn.execute(select(PeriodRow.__table__).order_by(PeriodRow.start_date, PeriodRow.kind)).all()
    return [
        PeriodState(r.label, r.kind, r.start_date.isoformat(), r.end_date.isoformat(), PeriodStatus(r.status))
        for r in rows
    ]


def set_period_status(conn: Connection, label: str, status: PeriodStatus, *, actor: str) -> PeriodState:
    """Move a period along `open → calculated → approved → locked` (audited); a locked period never moves."""
    try:
        period = get_settings(conn).calendar.parse(label)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc
    current = period_status(conn, label)
    if current.status.is_locked:
        raise PeriodLocked(f"period {period.label} is locked and cannot change")
    if not can_move(current.status, status):
        raise InvalidRequest(f"period {period.label} cannot go from {current.status} to {status}")
    exists = conn.execute(select(PeriodRow.label).where(PeriodRow.label == period.label)).first()
    if exists:
        conn.execute(update(PeriodRow).where(PeriodRow.label == period.label).values(status=status.value))
    else:
        conn.execute(
            insert(PeriodRow).values(
                label=period.label,
                kind=period.kind.value,
                start_date=period.start,
                end_date=period.end,
                status=status.value,
            )
        )
    record_event(
        conn,
        actor=actor,
        action="period.status",
        entity="period",
        entity_key=period.label,
        before={"status": current.status.value},
        after={"status": status.value},
    )
    return period_status(conn, label)


def require_open(conn: Connection, label: str) -> None:
    """Raise PeriodLocked if `label` is locked: the guard every mutation of period results calls."""
    if period_status(conn, label).status.is_locked:
        raise PeriodLocked(f"period {label} is locked and cannot change")
