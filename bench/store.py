"""Store benchmarks: bulk insert (`insert_arrow`) and columnar read (`read_arrow`), SQLite and PostgreSQL."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import create_engine, text

from bench import Context, Measurement, case
from openspm.store.bulk import insert_arrow
from openspm.store.columnar import read_arrow, scaled_to_decimal
from openspm.store.db import make_engine
from openspm.store.migrate import upgrade

INSERT_ROWS = 1_000_000
READ_ROWS = 10_000_000
READ_COLUMNS = ["transaction_id", "owner_id", "date", "amount", "product_id"]
READ_TRIES = 3  # reads are repeated and the best time kept; inserts run once into a fresh store
POSTGRES_ADMIN_URL = os.environ.get(
    "SPM_BENCH_POSTGRES_URL",
    os.environ.get("SPM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
)
DATA = Path(__file__).parent / "data"  # generated inputs, kept between runs (git-ignored)

PEOPLE, ACCOUNTS, PRODUCTS = 200, 1_000, 20
KINDS = ("booking", "renewal", "cancellation", "invoice")
FIRST_DAY, DAYS = 19_723, 731  # 2024-01-01 as days since 1970-01-01; two years of dates


# --- synthetic typed tables, generated with Arrow compute (no Python loop per row) -------------------
def _ids(prefix: str, count: int, width: int, start: int = 0) -> pa.Array:
    numbers = pc.cast(pa.arange(start, start + count), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(numbers, width, "0"), "")


def _uniform(count: int, low: int, high: int, seed: int) -> pa.Array:
    """Pseudo-random integers in [low, high), the same for the same seed."""
    draws = pc.random(count, initializer=seed)
    return pc.cast(pc.floor(pc.add(pc.multiply(draws, float(high - low)), float(low))), pa.int64())


def _pick(choices: pa.Array, count: int, seed: int) -> pa.Array:
    return pc.take(choices, _uniform(count, 0, len(choices), seed))


def parents() -> dict[str, pa.Table]:
    """People, accounts and products for the transactions to reference (parents first)."""
    tables = {}
    for entity, key, prefix, count, width in (
        ("people", "person_id", "P", PEOPLE, 5),
        ("accounts", "account_id", "A", ACCOUNTS, 6),
        ("products", "product_id", "PR", PRODUCTS, 3),
    ):
        ids = _ids(prefix, count, width)
        tables[entity] = pa.table({key: ids, "name": pc.binary_join_element_wise("Name ", ids, "")})
    return tables


def transactions(count: int, seed: int = 1) -> pa.Table:
    """`count` typed transaction lines (canonical types) referencing `parents()`; no opportunity."""
    days = pc.add(_uniform(count, 0, DAYS, seed), FIRST_DAY)
    amounts = _uniform(count, -10_000_000, 500_000_000, seed + 1)  # 1/10,000 units: -1,000 … 50,000
    return pa.table({
        "transaction_id": _ids("T", count, 9),
        "kind": _pick(pa.array(KINDS), count, seed + 2),
        "date": pc.cast(pc.cast(days, pa.int32()), pa.date32()),
        "amount": scaled_to_decimal(amounts, 4),
        "currency": pa.repeat(pa.scalar("USD"), count),
        "account_id": _pick(_ids("A", ACCOUNTS, 6), count, seed + 3),
        "product_id": _pick(_ids("PR", PRODUCTS, 3), count, seed + 4),
        "owner_id": _pick(_ids("P", PEOPLE, 5), count, seed + 5),
    })  # fmt: skip


def transactions_file(count: int) -> Path:
    """The Parquet file of `transactions(count)`, generated once and kept in bench/data/."""
    path = DATA / f"transactions_{count}.parquet"
    if not path.exists():
        DATA.mkdir(exist_ok=True)
        partial = path.with_suffix(f".{uuid.uuid4().hex[:6]}.tmp")
        pq.write_table(transactions(count), partial)
        partial.rename(path)
    return path


# --- stores -----------------------------------------------------------------------------------------
def sqlite_url(ctx: Context) -> str:
    return f"sqlite:///{ctx.workdir / 'store.db'}"


def postgres_url(ctx: Context) -> str:
    return f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/spm_bench_{ctx.token}"


def _postgres_admin(sql: str) -> None:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(sql))
    finally:
        admin.dispose()


def new_store(url: str, table: pa.Table | None = None) -> None:
    """Create (PostgreSQL: as a scratch database), migrate and fill a store with parents and `table`."""
    if not url.startswith("sqlite"):
        _postgres_admin(f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"')
    engine = make_engine(url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            for entity, rows in parents().items():
                insert_arrow(conn, entity, rows)
            if table is not None:
                insert_arrow(conn, "transactions", table)
        if table is not None and engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM (ANALYZE) transactions")  # as autovacuum would after a load
    finally:
        engine.dispose()


def drop_postgres(ctx: Context) -> None:
    _postgres_admin(f'DROP DATABASE IF EXISTS "spm_bench_{ctx.token}" WITH (FORCE)')


# --- cases ------------------------------------------------------------------------------------------
def _timed_insert(url: str, rows: int) -> Measurement:
    table = transactions(rows)
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        with engine.begin() as conn:  # the commit is part of the measurement
            insert_arrow(conn, "transactions", table)
        return Measurement(rows, time.perf_counter() - started)
    finally:
        engine.dispose()


@case("insert_sqlite", setup=lambda ctx: new_store(sqlite_url(ctx)))
def insert_sqlite(ctx: Context) -> Measurement:
    """insert_arrow of 1M typed transaction lines into a fresh SQLite store, commit included."""
    return _timed_insert(sqlite_url(ctx), ctx.rows(INSERT_ROWS))


@case("insert_postgres", setup=lambda ctx: new_store(postgres_url(ctx)), teardown=drop_postgres)
def insert_postgres(ctx: Context) -> Measurement:
    """insert_arrow of 1M typed transaction lines into a fresh PostgreSQL database, commit included."""
    return _timed_insert(postgres_url(ctx), ctx.rows(INSERT_ROWS))


def _best_of(tries: int, read: Callable[[], pa.Table], rows: int) -> Measurement:
    """Time `read` `tries` times; the best time is the one least disturbed by anything else running."""
    seconds = []
    for _ in range(tries):
        started = time.perf_counter()
        table = read()
        seconds.append(time.perf_counter() - started)
        if table.num_rows != rows:
            raise AssertionError(f"read {table.num_rows} rows, expected {rows}")
        del table
    return Measurement(rows, min(seconds), tuple(seconds))


def _timed_read(url: str, rows: int) -> Measurement:
    return _best_of(READ_TRIES, lambda: read_arrow(url, "transactions", READ_COLUMNS), rows)


def _generated(ctx: Context) -> pa.Table:
    return pq.read_table(transactions_file(ctx.rows(READ_ROWS)))


@case("read_sqlite", setup=lambda ctx: new_store(sqlite_url(ctx), _generated(ctx)))
def read_sqlite(ctx: Context) -> Measurement:
    """read_arrow of 10M transaction lines (5 columns) from SQLite into typed Arrow."""
    return _timed_read(sqlite_url(ctx), ctx.rows(READ_ROWS))


@case(
    "read_postgres", setup=lambda ctx: new_store(postgres_url(ctx), _generated(ctx)), teardown=drop_postgres
)
def read_postgres(ctx: Context) -> Measurement:
    """read_arrow of 10M transaction lines (5 columns) from PostgreSQL into typed Arrow."""
    return _timed_read(postgres_url(ctx), ctx.rows(READ_ROWS))


@case("read_parquet", setup=lambda ctx: _generated(ctx) and None)
def read_parquet(ctx: Context) -> Measurement:
    """The floor: the same 10M lines scanned from a Parquet file."""
    rows = ctx.rows(READ_ROWS)
    path = transactions_file(rows)
    return _best_of(READ_TRIES, lambda: pq.read_table(path, columns=READ_COLUMNS), rows)
