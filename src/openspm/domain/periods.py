"""Fiscal calendar and period labels (DESIGN.md §8, a public contract).

Labels: month ``2025-03``, quarter ``2025-Q1``, fiscal year ``FY2025``, ISO week ``2025-W07``.
With a fiscal year that starts in a month other than January, quarters and years are fiscal —
the fiscal year is named by the calendar year in which it *ends* — and months stay calendar months.
Every period is a half-open interval of days ``[start, end)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class PeriodKind(StrEnum):
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class PeriodStatus(StrEnum):
    """Life cycle of a compensation period: ``open → calculated → approved → locked``."""

    OPEN = "open"
    CALCULATED = "calculated"
    APPROVED = "approved"
    LOCKED = "locked"

    @property
    def is_locked(self) -> bool:
        return self is PeriodStatus.LOCKED


_NEXT_STATUS = {
    PeriodStatus.OPEN: {PeriodStatus.CALCULATED},
    PeriodStatus.CALCULATED: {PeriodStatus.OPEN, PeriodStatus.APPROVED},
    PeriodStatus.APPROVED: {PeriodStatus.CALCULATED, PeriodStatus.LOCKED},
    PeriodStatus.LOCKED: set(),
}


def can_move(current: PeriodStatus, target: PeriodStatus) -> bool:
    """Whether a period may go from `current` to `target` (a locked period never changes)."""
    return target in _NEXT_STATUS[current]


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A named fiscal period: ``[start, end)``."""

    start: date
    end: date
    kind: PeriodKind
    label: str

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_YEAR = re.compile(r"^FY(\d{4})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class FiscalCalendar:
    """A fiscal calendar: the month (1–12) in which the fiscal year starts."""

    start_month: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.start_month <= 12:
            raise ValueError(f"fiscal year start month must be 1..12, got {self.start_month}")

    # -- naming ---------------------------------------------------------------------------
    def fiscal_year_of(self, day: date) -> int:
        """The fiscal year containing `day`, named by the calendar year in which it ends."""
        if self.start_month == 1:
            return day.year
        return day.year + 1 if day.month >= self.start_month else day.year

    def year(self, fiscal_year: int) -> Period:
        start = date(fiscal_year if self.start_month == 1 else fiscal_year - 1, self.start_month, 1)
        return Period(start, _add_months(start, 12), PeriodKind.YEAR, f"FY{fiscal_year}")

    def quarter(self, fiscal_year: int, number: int) -> Period:
        if not 1 <= number <= 4:
            raise ValueError(f"quarter must be 1..4, got {number}")
        start = _add_months(self.year(fiscal_year).start, 3 * (number - 1))
        return Period(start, _add_months(start, 3), PeriodKind.QUARTER, f"{fiscal_year}-Q{number}")

    @staticmethod
    def month(year: int, month: int) -> Period:
        start = date(year, month, 1)
        return Period(start, _add_months(start, 1), PeriodKind.MONTH, f"{year:04d}-{month:02d}")

    @staticmethod
    def week(iso_year: int, iso_week: int) -> Period:
        start = date.fromisocalendar(iso_year, iso_week, 1)
        return Period(start, start + timedelta(days=7), PeriodKind.WEEK, f"{iso_year:04d}-W{iso_week:02d}")

    # -- lookup ---------------------------------------------------------------------------
    def parse(self, label: str) -> Period:
        """The period a label names; raise ValueError naming the accepted forms otherwise."""
        text = label.strip()
        try:
            if m := _MONTH.match(text):
                return self.month(int(m[1]), int(m[2]))
            if m := _QUARTER.match(text):
                return self.quarter(int(m[1]), int(m[2]))
            if m := _YEAR.match(text):
                return self.year(int(m[1]))
            if m := _WEEK.match(text):
                return self.week(int(m[1]), int(m[2]))
        except ValueError as exc:
            raise ValueError(f"not a valid period: {label!r} ({exc})") from exc
        raise ValueError(f"not a period label: {label!r} (expected 2025-03, 2025-Q1, FY2025 or 2025-W07)")

    def containing(self, day: date, kind: PeriodKind) -> Period:
        """The period of `kind` that contains `day`."""
        if kind is PeriodKind.MONTH:
            return self.month(day.year, day.month)
        if kind is PeriodKind.WEEK:
            iso = day.isocalendar()
            return self.week(iso.year, iso.week)
        fiscal_year = self.fiscal_year_of(day)
        if kind is PeriodKind.YEAR:
            return self.year(fiscal_year)
        months_in = (day.month - self.start_month) % 12
        return self.quarter(fiscal_year, months_in // 3 + 1)

    def periods_between(self, start: date, end: date, kind: PeriodKind) -> list[Period]:
        """Every period of `kind` that overlaps `[start, end)`, in order."""
        periods: list[Period] = []
        cursor = start
        while cursor < end:
            period = self.containing(cursor, kind)
            periods.append(period)
            cursor = period.end
        return periods

    def children(self, period: Period, kind: PeriodKind) -> list[Period]:
        """The periods of a finer `kind` whose start falls inside `period` (e.g. months of a quarter)."""
        return [p for p in self.periods_between(period.start, period.end, kind) if p.start >= period.start]
