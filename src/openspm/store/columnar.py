"""The columnar seam: store tables read as typed Arrow tables (ADBC), and how each column is stored.

`read_arrow` is the one way the engine's inputs leave the store. It opens its own ADBC connections from
the same URL `make_engine` takes, selects columns of one table (optionally a half-open date range and
`IN` filters on text columns; never SQL from the caller) and returns the *typed* representation: money
as `decimal128` rebuilt from the stored scaled integers, dates as `date32`, timestamps as
`timestamp[us]`, booleans as `bool`. A large table is read in `PARTITIONS` key ranges on as many
connections in parallel, all on one snapshot: on PostgreSQL an exported snapshot, on SQLite read
transactions started while the write lock is held for a moment (if it cannot be had, one connection
reads everything).

SQLite reads run in a worker process. ADBC's SQLite driver carries its own copy of the SQLite library,
and two copies in one process must never open the same database file: POSIX locks belong to the
process, so when one copy closes its file descriptor the other copy's locks silently vanish (the SQLite
documentation's "multiple copies of SQLite linked into the same application"; here it showed as
`disk I/O error` on the WAL index). The app and the importer use Python's `sqlite3` through SQLAlchemy,
so the ADBC copy lives in its own process, and the table comes back through a memory-mapped Arrow IPC
file: no copy of the data is made on the way.
"""

from __future__ import annotations

import atexit
import os
import pickle
import re
import subprocess
import sys
import threading
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import adbc_driver_postgresql.dbapi
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql
from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Float, Integer, String, Table
from sqlalchemy.engine import make_url

from openspm.store.db import is_sqlite, normalise_url
from openspm.store.models import Base
from openspm.store.sqlite_reads import Settings, SqliteRead
from openspm.store.storage import (
    SQLITE_DATETIME_FORMAT,
    Range,
    Request,
    Storage,
    StoredColumn,
    decimal_to_scaled,
    in_parallel,
    job,
    quote,
    ranges,
    scaled_to_decimal,
    select_sql,
    typed,
)
from openspm.store.storage import conditions as sql_conditions
from openspm.store.types import ExactDecimal, Money

__all__ = [
    "SQLITE_DATETIME_FORMAT",
    "Storage",
    "StoredColumn",
    "decimal_to_scaled",
    "read_arrow",
    "scaled_to_decimal",
    "store_table",
    "stored_columns",
    "typed_schema",
]

PARTITIONS = max(1, min(4, os.cpu_count() or 1))  # parallel connections for one large read
PARTITION_MIN_ROWS = 200_000  # SQLite: rowid span below which one connection reads everything
PARTITION_MIN_BLOCKS = 2_000  # PostgreSQL: heap pages (8 kB) below which one connection reads
MAX_IN_VALUES = 5_000  # a longer `where` list is applied in Arrow after reading
SCAN_SHARE = 0.2  # SQLite: a date range expected to hold more of the rows than this is read by a scan
SQLITE_BATCH_ROWS = 65_536
SQLITE_LOCK_SECONDS = 2.0  # how long a partitioned SQLite read waits for the write lock to align snapshots


_SQL_TYPES: tuple[tuple[type[Any], Storage], ...] = (
    (DateTime, Storage.DATETIME),
    (Date, Storage.DATE),
    (Boolean, Storage.BOOLEAN),
    (JSON, Storage.JSON),
    (Float, Storage.FLOAT),
    (Integer, Storage.INTEGER),
    (String, Storage.TEXT),
)


def store_table(name: str) -> Table:
    """The table `name` of the store schema: an entity's table or any other (e.g. `audit_events`)."""
    try:
        return Base.metadata.tables[name]
    except KeyError:
        raise KeyError(f"the store has no table {name!r}") from None


def _stored(column: Column[Any]) -> StoredColumn:
    # str(): SQLAlchemy names are its `quoted_name`, which would make the reader process import
    # SQLAlchemy (half a second) just to unpickle a request
    kind, name = column.type, str(column.name)
    if isinstance(kind, Money | ExactDecimal):
        return StoredColumn(name, Storage.SCALED, kind.scale)
    for sql_type, storage in _SQL_TYPES:
        if isinstance(kind, sql_type):
            return StoredColumn(name, storage)
    raise TypeError(f"{column.table.name}.{column.name}: no columnar mapping for {kind!r}")


def stored_columns(table: Table) -> dict[str, StoredColumn]:
    """Every column of `table` by name, with how it is stored."""
    return {c.name: _stored(c) for c in table.columns}


def typed_schema(name: str, columns: Sequence[str] | None = None) -> pa.Schema:
    """The Arrow schema `read_arrow` returns for `columns` (default: all) of the table `name`."""
    stored = stored_columns(store_table(name))
    names = list(stored) if columns is None else list(columns)
    return pa.schema([pa.field(n, _lookup(stored, name, n).arrow_type) for n in names])


def _lookup(stored: dict[str, StoredColumn], table: str, name: str) -> StoredColumn:
    try:
        return stored[name]
    except KeyError:
        raise KeyError(f"table {table!r} has no column {name!r}") from None


# --- what to read ------------------------------------------------------------------------------------
def _request(
    name: str,
    *,
    columns: Sequence[str] | None,
    date_column: str | None,
    start: date | None,
    end: date | None,
    where: dict[str, Sequence[str]] | None,
) -> Request:
    table = store_table(name)
    stored = stored_columns(table)
    output = tuple(str(n) for n in (stored if columns is None else columns))
    selected = [_lookup(stored, name, n) for n in output]
    dated = _lookup(stored, name, date_column) if date_column is not None else None
    if dated is None and (start is not None or end is not None):
        raise ValueError("a date range needs date_column")
    if dated is not None and dated.storage not in (Storage.DATE, Storage.DATETIME):
        raise TypeError(f"{name}.{date_column} is not a date or timestamp column")
    pushed, late = [], []
    for key, values in (where or {}).items():
        column = _lookup(stored, name, key)
        if column.storage not in (Storage.TEXT, Storage.INTEGER):
            raise TypeError(f"where filters text or integer columns; {name}.{key} is neither")
        if len(values) > MAX_IN_VALUES:
            late.append((str(key), tuple(str(v) for v in values)))
            selected += [] if key in output else [column]
        else:
            pushed.append((column, tuple(str(v) for v in values)))
    indexed = dated is not None and any(next(iter(i.columns)).name == dated.name for i in table.indexes)
    return Request(
        str(table.name), tuple(selected), output, dated, start, end, tuple(pushed), tuple(late), indexed
    )


def read_arrow(
    url: str,
    entity_or_table: str,
    columns: Sequence[str] | None = None,
    *,
    date_column: str | None = None,
    start: date | None = None,
    end: date | None = None,
    where: dict[str, Sequence[str]] | None = None,
) -> pa.Table:
    """Rows of one store table as a typed Arrow table (schema: `typed_schema`).

    `columns` selects and orders columns (default: all). With `date_column`, only rows whose value lies
    in `[start, end)` are read (either bound may be omitted). `where` keeps rows whose column value is
    one of the given strings (text or integer columns). Rows come in storage order.
    """
    request = _request(
        entity_or_table, columns=columns, date_column=date_column, start=start, end=end, where=where
    )
    if any(not values for _, values in request.where + request.late):
        return request.schema.empty_table().select(list(request.output))
    url = normalise_url(url)
    if is_sqlite(url):
        raw = _SQLITE_WORKER.read(SqliteRead(str(_sqlite_path(url)), request, _sqlite_settings()))
    else:
        raw = _read_postgres(url, request)
    for key, values in request.late:
        wanted = pc.cast(pa.array(values, pa.string()), raw.schema.field(key).type)
        raw = raw.filter(pc.is_in(raw.column(key), value_set=wanted))
    return raw.select(list(request.output))


def start_reader(url: str) -> None:
    """Start the process that reads an SQLite store (`url`), if none runs, and return at once.

    The reader is a second interpreter, and importing ADBC and pyarrow there takes about a second. A
    caller with other work to do first (importing the engine, reading plans) starts it early, so the two
    overlap and the first `read_arrow` does not wait. Nothing happens for another kind of store, or
    for an SQLite URL without a database file (`read_arrow` refuses it).
    """
    url = normalise_url(url)
    if not is_sqlite(url):
        return
    try:
        _sqlite_path(url)
    except (ValueError, FileNotFoundError):
        return  # nothing the reader could read: `read_arrow` says why when asked
    _SQLITE_WORKER.start()


# --- SQLite ----------------------------------------------------------------------------------------
def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError("read_arrow needs an SQLite database file, not an in-memory database")
    path = Path(database)
    if not path.exists():
        raise FileNotFoundError(f"no SQLite store at {path}")
    return path


def _sqlite_settings() -> Settings:
    """This module's read settings, sent with each read (the reader process has its own module copy)."""
    return Settings(PARTITIONS, PARTITION_MIN_ROWS, SQLITE_BATCH_ROWS, SCAN_SHARE, SQLITE_LOCK_SECONDS)


_WORKER_MAIN = "from openspm.store.sqlite_reads import serve_sqlite_reads; serve_sqlite_reads()"


class _SqliteWorker:
    """The process that owns every ADBC SQLite connection of this process (see the module docstring).

    A plain child interpreter (`python -c …`), so it works from scripts and notebooks alike; requests and
    replies are pickled over its stdin/stdout, and tables come back as memory-mapped IPC files.
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._owner = 0
        self._lock = threading.Lock()

    def _child(self) -> subprocess.Popen[bytes]:
        alive = self._process is not None and self._process.poll() is None
        if not alive or self._owner != os.getpid():  # none yet, dead, or inherited through fork
            self._process = subprocess.Popen(  # noqa: S603 - this interpreter, a fixed command
                [sys.executable, "-c", _WORKER_MAIN],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            self._owner = os.getpid()
        assert self._process is not None
        return self._process

    def start(self) -> None:
        """Start the process if none runs, without waiting for it to be ready (nor for a read another
        thread is making: then it runs already)."""
        if self._lock.acquire(blocking=False):
            try:
                self._child()
            finally:
                self._lock.release()

    def read(self, read: SqliteRead) -> pa.Table:
        with self._lock:
            child = self._child()
            assert child.stdin is not None
            assert child.stdout is not None
            pickle.dump(read, child.stdin)
            child.stdin.flush()
            try:
                ok, payload = pickle.load(child.stdout)  # noqa: S301 - our own child's reply
            except EOFError:
                raise RuntimeError("the SQLite reader process ended unexpectedly") from None
        if not ok:
            raise payload
        try:
            with pa.memory_map(payload) as source:
                return pa.ipc.open_file(source).read_all()
        finally:
            os.unlink(payload)  # the mapping stays valid until the table is freed

    def close(self) -> None:
        with self._lock:
            if self._process is not None and self._owner == os.getpid() and self._process.poll() is None:
                assert self._process.stdin is not None
                self._process.stdin.close()  # end of input: the child exits
                self._process.wait(timeout=10)
            self._process = None


_SQLITE_WORKER = _SqliteWorker()
atexit.register(_SQLITE_WORKER.close)
# --- PostgreSQL -------------------------------------------------------------------------------------
_SNAPSHOT_ID = re.compile(r"^[0-9A-F]+-[0-9A-F]+-[0-9]+$")


def _libpq_uri(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL (any driver) as a libpq connection URI."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _literal(value: Any) -> str:
    """A value as a PostgreSQL literal, quoted by psycopg (ADBC reads bound queries far slower)."""
    return sql.Literal(value).as_string(None)


def _postgres_connect(uri: str) -> Any:
    return adbc_driver_postgresql.dbapi.connect(uri, autocommit=True)  # transactions begun explicitly


def _run(connection: Any, statement: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)


def _value(connection: Any, statement: str) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(statement)
        return cursor.fetchone()[0]


def _postgres_part(connection: Any, request: Request, blocks: Range) -> pa.Table:
    low, high = blocks
    conditions = [f"ctid {op} '({int(v)},0)'::tid" for op, v in ((">=", low), ("<", high)) if v is not None]
    conditions += sql_conditions(request, _literal, sqlite=False)
    with connection.cursor() as cursor:
        cursor.execute(select_sql(request, conditions))
        raw = cursor.fetch_arrow_table()
    return typed(raw, request)


def _read_postgres(url: str, request: Request) -> pa.Table:
    uri = _libpq_uri(url)
    connections = [_postgres_connect(uri)]
    try:
        _run(connections[0], "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        size = f"pg_relation_size(to_regclass({_literal(quote(request.table))}))"
        blocks = int(_value(connections[0], f"SELECT {size} / current_setting('block_size')::bigint") or 0)
        if PARTITIONS > 1 and not request.where and blocks >= PARTITION_MIN_BLOCKS:
            _postgres_same_snapshot(uri, connections)
        parts = ranges(0, blocks, len(connections))
        return in_parallel(
            [job(_postgres_part, c, request, r) for c, r in zip(connections, parts, strict=True)]
        )
    finally:
        for connection in connections:
            connection.close()


def _postgres_same_snapshot(uri: str, connections: list[Any]) -> None:
    """Add connections that read the snapshot of the first (exported, then imported by each)."""
    snapshot = str(_value(connections[0], "SELECT pg_export_snapshot()"))
    if not _SNAPSHOT_ID.match(snapshot):
        raise RuntimeError(f"unexpected snapshot id {snapshot!r}")
    for _ in range(PARTITIONS - 1):
        connections.append(_postgres_connect(uri))
        _run(connections[-1], "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        _run(connections[-1], f"SET TRANSACTION SNAPSHOT '{snapshot}'")
