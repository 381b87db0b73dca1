"""Fiscal calendar and period labels: the public contract of DESIGN.md §8."""

from datetime import date
from itertools import pairwise

import pytest

from openspm.domain.periods import FiscalCalendar, PeriodKind, PeriodStatus, can_move


def test_calendar_year_quarters_are_calendar_quarters() -> None:
    q = FiscalCalendar(1).parse("2025-Q2")
    assert (q.start, q.end, q.kind) == (date(2025, 4, 1), date(2025, 7, 1), PeriodKind.QUARTER)


def test_fiscal_year_is_named_by_the_calendar_year_in_which_it_ends() -> None:
    """FY starting in February: FY2026 = 2025-02-01 … 2026-01-31; its Q1 is Feb–Apr 2025."""
    calendar = FiscalCalendar(2)
    fy = calendar.parse("FY2026")
    assert (fy.start, fy.end) == (date(2025, 2, 1), date(2026, 2, 1))
    q1 = calendar.parse("2026-Q1")
    assert (q1.start, q1.end) == (date(2025, 2, 1), date(2025, 5, 1))
    assert calendar.containing(date(2026, 1, 31), PeriodKind.QUARTER).label == "2026-Q4"
    assert calendar.containing(date(2025, 1, 31), PeriodKind.YEAR).label == "FY2025"


def test_months_stay_calendar_months_in_a_fiscal_calendar() -> None:
    m = FiscalCalendar(7).parse("2025-03")
    assert (m.start, m.end, m.label) == (date(2025, 3, 1), date(2025, 4, 1), "2025-03")


def test_iso_weeks() -> None:
    w = FiscalCalendar().parse("2025-W01")
    assert (w.start, w.end) == (date(2024, 12, 30), date(2025, 1, 6))
    assert FiscalCalendar().containing(date(2025, 2, 14), PeriodKind.WEEK).label == "2025-W07"


@pytest.mark.parametrize("label", ["2025-13", "2025-Q5", "FY25", "2025-W54", "Q1-2025", ""])
def test_bad_labels_are_refused_with_the_accepted_forms(label: str) -> None:
    with pytest.raises(ValueError, match=r"2025-Q1|not a valid period"):
        FiscalCalendar().parse(label)


@pytest.mark.parametrize("start_month", [1, 2, 4, 7, 10, 12])
def test_quarters_tile_the_fiscal_year(start_month: int) -> None:
    calendar = FiscalCalendar(start_month)
    year = calendar.year(2026)
    quarters = calendar.children(year, PeriodKind.QUARTER)
    assert [q.label for q in quarters] == [f"2026-Q{n}" for n in range(1, 5)]
    assert quarters[0].start == year.start and quarters[-1].end == year.end
    assert all(a.end == b.start for a, b in pairwise(quarters))
    assert len(calendar.children(year, PeriodKind.MONTH)) == 12


def test_a_locked_period_never_moves() -> None:
    assert can_move(PeriodStatus.OPEN, PeriodStatus.CALCULATED)
    assert can_move(PeriodStatus.APPROVED, PeriodStatus.LOCKED)
    assert not can_move(PeriodStatus.OPEN, PeriodStatus.LOCKED)
    assert not any(can_move(PeriodStatus.LOCKED, s) for s in PeriodStatus)
