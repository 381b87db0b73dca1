"""Calculation benchmarks: the demo plans over synthetic data (10,000 payees × 10,000,000 lines a year).

Each case's setup generates the data (`demo.synthetic`) in its own subprocess, as Arrow IPC files in the
case's scratch directory, and for the store cases loads it into a scratch SQLite or PostgreSQL store; the
measured run then calculates FY2026 (`spm bench calc` measures the same things from the command line).
"""

from __future__ import annotations

import time

from bench import Context, Measurement, case
from openspm.services.calc_bench import (
    LATE_BOOKING,
    POSTGRES_ADMIN_URL,
    Spec,
    add_late_booking,
    create_postgres,
    drop_postgres,
    incremental_run,
    load_store,
    month_of,
    read_tables,
    synthetic_inputs,
    team_lead,
    write_synthetic,
)
from openspm.store.db import make_engine

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


@case("calc_engine_manager", setup=_data)
def calc_engine_manager(ctx: Context) -> Measurement:
    """Engine only: the month for one first-line manager (their team's rows: rollup and override)."""
    from openspm.engine.calc.run import calculate

    inputs = synthetic_inputs(read_tables(ctx.workdir / "data"))
    started = time.perf_counter()
    calculate(inputs, MONTH, payees=[team_lead(inputs)])
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
    """The month-end close from SQLite: 2026-01 for everyone, after the year was calculated."""
    return Measurement(_spec(ctx).lines, _run(_sqlite_url(ctx), MONTH))


def _late_booking_store(ctx: Context) -> None:
    """The calculated store, then a late booking dated in the month: the change to recalculate for."""
    _calculated_sqlite_store(ctx)
    engine = make_engine(_sqlite_url(ctx))
    try:
        add_late_booking(engine, MONTH)
    finally:
        engine.dispose()


@case("calc_incremental_sqlite", setup=_late_booking_store)
def calc_incremental_sqlite(ctx: Context) -> Measurement:
    """One month's incremental run from SQLite: the people a late booking can affect, and their month."""
    engine = make_engine(_sqlite_url(ctx))
    try:
        started = time.perf_counter()
        incremental_run(engine, MONTH, LATE_BOOKING)
        return Measurement(_spec(ctx).lines, time.perf_counter() - started)
    finally:
        engine.dispose()


@case("calc_incremental_sqlite_warm", setup=_late_booking_store)
def calc_incremental_sqlite_warm(ctx: Context) -> Measurement:
    """The same in a long-lived process (the web app, a worker): readied as the web app readies itself
    at start-up, then a second late booking, on another deal, after a first incremental run (the SQLite
    reader started, the engine's queries compiled)."""
    from openspm.services.calc import prepare_process

    prepare_process()  # as the web app does at start-up
    engine = make_engine(_sqlite_url(ctx))
    try:
        incremental_run(engine, MONTH, LATE_BOOKING)
        second = add_late_booking(engine, MONTH, "LATE-BOOKING-2", nth=1000)
        started = time.perf_counter()
        incremental_run(engine, MONTH, second)
        return Measurement(_spec(ctx).lines, time.perf_counter() - started)
    finally:
        engine.dispose()


#: The AE plans' crediting and measures written by hand as one DuckDB query: revenue splits, seats,
#: a one-level rollup to the manager, and bookings, renewals and platform bookings per person and month.
#: Not what the engine runs (no direct fallback, overlays, SDR deals and activities, FX, first-match
#: precedence, explanations), but a lower bound for any relational engine doing this work. Exact like the
#: engine: `percent * 0.01`, not `/ 100`, which DuckDB computes in DOUBLE (float money, and slower).
FLOOR_SQL = """
with conforming as (
  select opportunity_id from splits where kind = 'revenue' group by 1 having sum(percent) = 100
),
s as (
  select opportunity_id, person_id, percent from splits
  where kind = 'revenue' and person_id is not null
    and opportunity_id in (select opportunity_id from conforming)
),
c as (
  select s.person_id, tx.date, tx.kind, tx.amount * s.percent * 0.01 as amount, p.family
  from tx join s on tx.opportunity_id = s.opportunity_id left join products p on p.product_id = tx.product_id
  where tx.date >= DATE '2025-02-01' and tx.date < DATE '2026-02-01'
),
seated as (
  select c.*, pa.plan, pa.version from c join pa on c.person_id = pa.person_id
   and c.date >= pa.start_date and c.date < coalesce(pa.end_date, DATE '9999-12-31')
),
rolled as (
  select a.manager_id as person_id, s.date, s.kind, s.amount, s.family, s.plan, s.version
  from seated s join org a on a.person_id = s.person_id
   and s.date >= a.start_date and s.date < coalesce(a.end_date, DATE '9999-12-31')
  where a.role = 'ae'
),
everything as (select person_id, date, kind, amount, family, plan, version from seated
               union all select * from rolled)
select person_id, plan, version, year(date) * 12 + month(date) - 1 as month,
  sum(case when kind in ('booking', 'cancellation') then amount end) as bookings,
  sum(case when kind = 'renewal' then amount end) as renewals,
  count(case when kind = 'booking' and family = 'Platform' then 1 end) as platform_bookings
from everything group by all
"""


@case("calc_floor_sql", setup=_data)
def calc_floor_sql(ctx: Context) -> Measurement:
    """Reference: the AE plans' crediting and monthly measures as one hand-written DuckDB query."""
    import duckdb

    tables = read_tables(ctx.workdir / "data")
    con = duckdb.connect()
    for name, table in {
        "tx": tables["transactions"],
        "splits": tables["opportunity_splits"],
        "products": tables["products"],
        "pa": tables["plan_assignments"],
        "org": tables["assignments"],
    }.items():
        con.register(name, table)
    tries = []
    for _ in range(3):
        started = time.perf_counter()
        con.sql(FLOOR_SQL).to_arrow_table()
        tries.append(time.perf_counter() - started)
    return Measurement(_spec(ctx).lines, min(tries), tuple(tries))
