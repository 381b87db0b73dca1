"""Calculation benchmarks: the demo plans over synthetic data (10,000 payees × 10,000,000 lines a year).

Each case's setup generates the data (`demo.synthetic`) in its own subprocess, as Arrow IPC files in the
case's scratch directory, and for the store cases loads it into a scratch SQLite or PostgreSQL store; the
measured run then calculates FY2026 (`spm bench calc` measures the same things from the command line).
"""

from __future__ import annotations

import time

from bench import Context, Measurement, case
from openspm.services.calc_bench import (
    POSTGRES_ADMIN_URL,
    Spec,
    create_postgres,
    drop_postgres,
    load_store,
    month_of,
    read_tables,
    synthetic_inputs,
    write_synthetic,
)

PAYEES = 10_000
LINES = 10_000_000
PERIOD = "FY2026"
MONTH = month_of(PERIOD)  # 2026-01: the year's last month, as a month-end close runs it
BY = "bench"


def _spec(ctx: Context) -> Spec:
    return Spec(max(12, ctx.rows(PAYEES)), ctx.rows(LINES))


def _data(ctx: Context) -> None:
    write_synthetic(_spec(ctx), ctx.workdir / "data")


def _sqlite_url(ctx: Context) -> str:
    return f"sqlite:///{ctx.workdir / 'store.db'}"


def _postgres_name(ctx: Context) -> str:
    return f"spm_bench_{ctx.token}"


def _sqlite_store(ctx: Context) -> None:
    _data(ctx)
    load_store(_sqlite_url(ctx), read_tables(ctx.workdir / "data"))


def _postgres_store(ctx: Context) -> None:
    _data(ctx)
    load_store(create_postgres(_postgres_name(ctx)), read_tables(ctx.workdir / "data"))


def _postgres_url(ctx: Context) -> str:
    return f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{_postgres_name(ctx)}"


def _drop(ctx: Context) -> None:
    drop_postgres(_postgres_name(ctx))


def _calculated_sqlite_store(ctx: Context) -> None:
    """A SQLite store whose year has been calculated once: the month's run is then incremental."""
    _sqlite_store(ctx)
    _run(_sqlite_url(ctx), PERIOD)


def _run(url: str, period: str) -> float:
    from openspm.services.calc import run_calculation
    from openspm.store.db import make_engine

    engine = make_engine(url)
    try:
        started = time.perf_counter()
        run_calculation(engine, period, by=BY)
        return time.perf_counter() - started
    finally:
        engine.dispose()


@case("calc_engine", setup=_data)
def calc_engine(ctx: Context) -> Measurement:
    """Engine only: FY2026 for 10k payees over 10M credited lines, from in-memory Arrow."""
    from openspm.engine.calc.run import calculate

    inputs = synthetic_inputs(read_tables(ctx.workdir / "data"))
    started = time.perf_counter()
    calculate(inputs, PERIOD)
    return Measurement(_spec(ctx).lines, time.perf_counter() - started)


@case("calc_engine_month", setup=_data)
def calc_engine_month(ctx: Context) -> Measurement:
    """Engine only: one month (2026-01) of the same data."""
    from openspm.engine.calc.run import calculate

    inputs = synthetic_inputs(read_tables(ctx.workdir / "data"))
    started = time.perf_counter()
    calculate(inputs, MONTH)
    return Measurement(_spec(ctx).lines, time.perf_counter() - started)


@case("calc_sqlite", setup=_sqlite_store)
def calc_sqlite(ctx: Context) -> Measurement:
    """End to end from SQLite: run_calculation of FY2026 (read the store, calculate, record the lines)."""
    return Measurement(_spec(ctx).lines, _run(_sqlite_url(ctx), PERIOD))


@case("calc_postgres", setup=_postgres_store, teardown=_drop)
def calc_postgres(ctx: Context) -> Measurement:
    """End to end from PostgreSQL: run_calculation of FY2026."""
    return Measurement(_spec(ctx).lines, _run(_postgres_url(ctx), PERIOD))


@case("calc_month_sqlite", setup=_calculated_sqlite_store)
def calc_month_sqlite(ctx: Context) -> Measurement:
    """One month's incremental run from SQLite (2026-01, after the year was calculated)."""
    return Measurement(_spec(ctx).lines, _run(_sqlite_url(ctx), MONTH))
