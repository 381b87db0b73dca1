"""Effective dating: half-open intervals `[start, end)` and as-of selection."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Protocol, TypeVar


@dataclass(frozen=True, slots=True)
class Interval:
    """A half-open interval of days, `[start, end)`; `end=None` means open-ended."""

    start: date
    end: date | None = None

    def __post_init__(self) -> None:
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"interval ends ({self.end}) on or before it starts ({self.start})")

    def contains(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)

    def overlaps(self, other: Interval) -> bool:
        starts_before_other_ends = other.end is None or self.start < other.end
        ends_after_other_starts = self.end is None or other.start < self.end
        return starts_before_other_ends and ends_after_other_starts


class EffectiveDated(Protocol):
    @property
    def start_date(self) -> date: ...

    @property
    def end_date(self) -> date | None: ...


T = TypeVar("T", bound=EffectiveDated)


def as_of(rows: Iterable[T], day: date) -> list[T]:
    """The rows in effect on `day` (start <= day < end)."""
    return [r for r in rows if r.start_date <= day and (r.end_date is None or day < r.end_date)]
