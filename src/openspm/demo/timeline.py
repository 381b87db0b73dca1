"""The demo's calendar: which two fiscal years it covers and the dates of what happens in them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from openspm.demo.catalogue import FISCAL_YEAR_START_MONTH
from openspm.demo.columns import Floats, Ints, day_number
from openspm.domain.periods import FiscalCalendar, Period

DEFAULT_TODAY = date(2025, 10, 15)
BURN_IN_DAYS = 180  # deals are opened this long before the data starts, so the first quarter has a pipeline
SEASONALITY = (0.85, 1.00, 1.20, 1.00)  # deal creation by fiscal quarter: Q4 is the heaviest
GROWTH_PER_YEAR = 0.10  # the business grows: deals and meetings a tenth more each year
QUOTA_WEIGHTS = (0.22, 0.24, 0.25, 0.29)  # share of the annual quota in each fiscal quarter


def _monday_on_or_after(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7)


@dataclass(frozen=True)
class Timeline:
    """Every date is also kept as a day number (days since 1970-01-01), which the arrays use."""

    today: date
    calendar: FiscalCalendar
    fiscal_years: tuple[int, int]
    data_start: date  # first day of the earlier fiscal year
    burn_start: date
    reorg_date: date  # mid-year: first day of a third fiscal quarter
    replacement_date: date  # a leaver's last day is the day before; the replacement starts on it
    expansion_date: date  # new headcount joins

    @property
    def quarters(self) -> tuple[Period, ...]:
        return tuple(self.calendar.quarter(fy, q) for fy in self.fiscal_years for q in (1, 2, 3, 4))

    @property
    def today_n(self) -> int:
        return day_number(self.today)

    def workdays(self, start: date | None = None) -> Ints:
        """Monday-to-Friday day numbers from `start` (default: the burn-in start) up to yesterday."""
        first = day_number(start or self.burn_start)
        days = np.arange(first, self.today_n, dtype=np.int64)
        return days[(days + 3) % 7 < 5]  # 1970-01-01 was a Thursday

    def quarter_of(self, days: Ints) -> Ints:
        """Index into `quarters` (0–7) of each day; -1 outside the two fiscal years."""
        starts = np.array([day_number(q.start) for q in self.quarters] + [day_number(self.quarters[-1].end)])
        index = np.searchsorted(starts, days, side="right") - 1
        return np.where((index >= 0) & (index < len(self.quarters)), index, -1).astype(np.int64)

    def fiscal_quarter_number(self, days: Ints) -> Ints:
        """1–4: the fiscal quarter of each day, for any year."""
        months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1
        return ((months - self.calendar.start_month) % 12) // 3 + 1

    def quarter_end(self, days: Ints) -> Ints:
        """The first day after the fiscal quarter containing each day."""
        months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        offset = ((months % 12 + 1 - self.calendar.start_month) % 12) % 3
        return (months - offset + 3).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)

    def season(self, days: Ints) -> Floats:
        """Demand on each day: the fiscal quarter's seasonality times the growth trend."""
        years = (days - day_number(self.data_start)) / 365.0
        return np.asarray(SEASONALITY, dtype=np.float64)[self.fiscal_quarter_number(days) - 1] * (
            1.0 + GROWTH_PER_YEAR * years
        )


def build_timeline(today: date) -> Timeline:
    calendar = FiscalCalendar(FISCAL_YEAR_START_MONTH)
    current = calendar.fiscal_year_of(today)
    data_start = calendar.year(current - 1).start
    reorg = calendar.quarter(current, 3).start
    if reorg > today - timedelta(days=60):
        reorg = calendar.quarter(current - 1, 3).start
    replacement = _monday_on_or_after(calendar.quarter(current - 1, 3).start + timedelta(days=1))
    return Timeline(
        today=today,
        calendar=calendar,
        fiscal_years=(current - 1, current),
        data_start=data_start,
        burn_start=data_start - timedelta(days=BURN_IN_DAYS),
        reorg_date=reorg,
        replacement_date=replacement,
        expansion_date=replacement + timedelta(days=14),
    )
