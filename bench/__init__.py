"""Benchmarks (`make bench`): a registry of named cases, each timed in a subprocess of its own.

A case is a function `(Context) -> Measurement` registered with `@case("name")` in a module listed in
`bench.run.MODULES`; it may have a `setup` (run first, in another subprocess, untimed and not counted
in the case's memory) and a `teardown`. See bench/README.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Context:
    """What a case gets: its size factor (1 full, 0.01 with --quick) and a scratch directory of its own."""

    scale: float
    workdir: Path
    token: str  # unique per run of a case: names scratch databases

    def rows(self, full: int) -> int:
        return max(1, round(full * self.scale))


@dataclass(frozen=True)
class Measurement:
    """What a case measured: rows handled and the seconds the measured part took (the best of `tries`)."""

    rows: int
    seconds: float
    tries: tuple[float, ...] = ()


@dataclass(frozen=True)
class Case:
    name: str
    run: Callable[[Context], Measurement]
    setup: Callable[[Context], object] | None = None
    teardown: Callable[[Context], object] | None = None

    @property
    def doc(self) -> str:
        return (self.run.__doc__ or "").strip().splitlines()[0] if self.run.__doc__ else ""


CASES: dict[str, Case] = {}


def case(
    name: str,
    *,
    setup: Callable[[Context], object] | None = None,
    teardown: Callable[[Context], object] | None = None,
) -> Callable[[Callable[[Context], Measurement]], Callable[[Context], Measurement]]:
    """Register the decorated function as the benchmark case `name`."""

    def register(run: Callable[[Context], Measurement]) -> Callable[[Context], Measurement]:
        if name in CASES:
            raise ValueError(f"benchmark case {name!r} is registered twice")
        CASES[name] = Case(name, run, setup, teardown)
        return run

    return register
