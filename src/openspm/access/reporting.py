"""Reporting lines over time: who is in whose subtree, when.

From effective-dated assignments (person, manager, `[start, end)`) this derives every
(ancestor, person, `[start, end)`) — the transitive closure of the management chain, interval by interval,
plus each person's line to themselves. Row scopes test facts against these windows *as of the fact's
date*, so after a reorganisation the old manager keeps the moved rep's earlier data and does not see
what the rep does under the new manager.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True, order=True)
class Line:
    """`person` is in `ancestor`'s subtree during `[start, end)` (end None = open)."""

    ancestor: str
    person: str
    start: date
    end: date | None


def _intersect(
    a_start: date, a_end: date | None, b_start: date, b_end: date | None
) -> tuple[date, date | None] | None:
    start = max(a_start, b_start)
    ends = [e for e in (a_end, b_end) if e is not None]
    end = min(ends) if ends else None
    return (start, end) if end is None or start < end else None


def _merge(windows: list[tuple[date, date | None]]) -> list[tuple[date, date | None]]:
    merged: list[tuple[date, date | None]] = []
    for start, end in sorted(windows, key=lambda w: w[0]):
        if merged:
            last_start, last_end = merged[-1]
            if last_end is None or start <= last_end:
                new_end = None if last_end is None or end is None else max(last_end, end)
                merged[-1] = (last_start, new_end)
                continue
        merged.append((start, end))
    return merged


def reporting_lines(assignments: Iterable[tuple[str, str | None, date, date | None]]) -> list[Line]:
    """Closure of (person, manager, start, end) rows into (ancestor, person, start, end) lines."""
    direct: dict[str, list[tuple[str, date, date | None]]] = defaultdict(list)  # person → managers
    windows: dict[tuple[str, str], list[tuple[date, date | None]]] = defaultdict(list)
    for person, manager, start, end in assignments:
        windows[(person, person)].append((start, end))
        if manager is not None and manager != person:
            direct[person].append((manager, start, end))
    frontier = [(m, p, s, e) for p, links in direct.items() for m, s, e in links]
    for _ in range(64):  # deeper than any real hierarchy; a cycle in the data stops here
        if not frontier:
            break
        next_frontier = []
        for ancestor, person, start, end in frontier:
            windows[(ancestor, person)].append((start, end))
            for higher, h_start, h_end in direct.get(ancestor, ()):
                overlap = _intersect(start, end, h_start, h_end)
                if overlap is not None and higher != person:
                    next_frontier.append((higher, person, *overlap))
        frontier = next_frontier
    return sorted(Line(a, p, s, e) for (a, p), spans in windows.items() for s, e in _merge(spans))
