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
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

import adbc_driver_postgresql.dbapi
import adbc_driver_sqlite.dbapi
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql
from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Float, Integer, String, Table
from sqlalchemy.engine import make_url

from openspm.store.db import is_sqlite, normalise_url
from openspm.store.models import Base
from openspm.store.types import ExactDecimal, Money

__all__ = [
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
SQLITE_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # Arrow appends the microseconds of a timestamp[us]

_Range = tuple[int | None, int | None]  # half-open [low, high) of rowids or heap pages; None: open


class Storage(Enum):
    """How a column's values are kept in the database."""

    TEXT = "text"
    INTEGER = "integer"
    FLOAT = "float"
    SCALED = "scaled"  # Money / ExactDecimal: BIGINT of 10**-scale units
    DATE = "date"  # TEXT 'YYYY-MM-DD' on SQLite, DATE on PostgreSQL
    DATETIME = "datetime"  # TEXT 'YYYY-MM-DD HH:MM:SS.ffffff' on SQLite, TIMESTAMP on PostgreSQL
    BOOLEAN = "boolean"  # 0/1 on SQLite, BOOLEAN on PostgreSQL
    JSON = "json"  # JSON text


#: Arrow type of a scaled column by its scale: the MONEY and DECIMAL types of `canonical_schema`.
DECIMAL_TYPES: dict[int, pa.DataType] = {4: pa.decimal128(18, 4), 10: pa.decimal128(28, 10)}
_ARROW_TYPES: dict[Storage, pa.DataType] = {
    Storage.TEXT: pa.string(),
    Storage.INTEGER: pa.int64(),
    Storage.FLOAT: pa.float64(),
    Storage.DATE: pa.date32(),
    Storage.DATETIME: pa.timestamp("us"),
    Storage.BOOLEAN: pa.bool_(),
    Storage.JSON: pa.string(),
}
_SQL_TYPES: tuple[tuple[type[Any], Storage], ...] = (
    (DateTime, Storage.DATETIME),
    (Date, Storage.DATE),
    (Boolean, Storage.BOOLEAN),
    (JSON, Storage.JSON),
    (Float, Storage.FLOAT),
    (Integer, Storage.INTEGER),
    (String, Storage.TEXT),
)


@dataclass(frozen=True, slots=True)
class StoredColumn:
    """One column of a store table: its name, how it is stored, and the Arrow type it is read as."""

    name: str
    storage: Storage
    scale: int = 0

    @property
    def arrow_type(self) -> pa.DataType:
        if self.storage is Storage.SCALED:
            return DECIMAL_TYPES.get(self.scale) or pa.decimal128(18, self.scale)
        return _ARROW_TYPES[self.storage]


def store_table(name: str) -> Table:
    """The table `name` of the store schema: an entity's table or any other (e.g. `audit_events`)."""
    try:
        return Base.metadata.tables[name]
    except KeyError:
        raise KeyError(f"the store has no table {name!r}") from None


def _stored(column: Column[Any]) -> StoredColumn:
    kind = column.type
    if isinstance(kind, Money | ExactDecimal):
        return StoredColumn(column.name, Storage.SCALED, kind.scale)
    for sql_type, storage in _SQL_TYPES:
        if isinstance(kind, sql_type):
            return StoredColumn(column.name, storage)
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


# --- scaled integers <-> decimal128, exactly and without Python objects ------------------------------
def scaled_to_decimal(values: pa.Array | pa.ChunkedArray, scale: int) -> pa.ChunkedArray:
    """int64 counts of 10**-scale units → decimal128 of that scale: the same integers, reinterpreted."""
    target = StoredColumn("", Storage.SCALED, scale).arrow_type
    out = []
    for chunk in _chunks(values):
        wide = pc.cast(chunk, pa.decimal128(19, 0))  # exact: every int64 has at most 19 digits
        out.append(pa.Array.from_buffers(target, len(wide), wide.buffers(), offset=wide.offset))
    return pa.chunked_array(out, type=target)


def decimal_to_scaled(values: pa.Array | pa.ChunkedArray, scale: int) -> pa.ChunkedArray:
    """decimal128 → int64 counts of 10**-scale units; raises if a value has more decimals or overflows."""
    out = []
    for chunk in _chunks(values):
        exact = pc.cast(chunk, pa.decimal128(38, scale))  # refuses to drop digits
        whole = pa.Array.from_buffers(pa.decimal128(38, 0), len(exact), exact.buffers(), offset=exact.offset)
        out.append(pc.cast(whole, pa.int64()))  # refuses values beyond int64
    return pa.chunked_array(out, type=pa.int64())


def _chunks(values: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    return [c.storage if isinstance(c.type, pa.ExtensionType) else c for c in chunks]


def _typed_column(values: pa.ChunkedArray, column: StoredColumn) -> pa.ChunkedArray:
    """A column as a driver returned it → its typed representation."""
    chunks = _chunks(values)
    if column.storage is Storage.SCALED:
        integers = pa.chunked_array([pc.cast(c, pa.int64()) for c in chunks], pa.int64())
        return scaled_to_decimal(integers, column.scale)
    typed = pa.chunked_array([pc.cast(c, column.arrow_type) for c in chunks], column.arrow_type)
    if column.storage is Storage.JSON:  # SQLAlchemy stores a Python None as the JSON text 'null'
        return pc.if_else(pc.equal(typed, "null"), pa.scalar(None, pa.string()), typed)
    return typed


# --- what to read ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Request:
    table: Table
    columns: tuple[StoredColumn, ...]  # selected: the requested ones, then any a late filter needs
    output: tuple[str, ...]
    date_column: StoredColumn | None
    start: date | None
    end: date | None
    where: tuple[tuple[StoredColumn, tuple[str, ...]], ...]  # filtered in SQL
    late: tuple[tuple[str, tuple[str, ...]], ...]  # filtered in Arrow (long lists)

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow_type) for c in self.columns])


def _request(
    name: str,
    *,
    columns: Sequence[str] | None,
    date_column: str | None,
    start: date | None,
    end: date | None,
    where: dict[str, Sequence[str]] | None,
) -> _Request:
    table = store_table(name)
    stored = stored_columns(table)
    output = tuple(stored) if columns is None else tuple(columns)
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
            late.append((key, tuple(str(v) for v in values)))
            selected += [] if key in output else [column]
        else:
            pushed.append((column, tuple(str(v) for v in values)))
    return _Request(table, tuple(selected), output, dated, start, end, tuple(pushed), tuple(late))


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
        spec = (entity_or_table, request.columns, date_column, start, end, request.where)
        raw = _SQLITE_WORKER.read(str(_sqlite_path(url)), spec)
    else:
        raw = _read_postgres(url, request)
    for key, values in request.late:
        wanted = pc.cast(pa.array(values, pa.string()), raw.schema.field(key).type)
        raw = raw.filter(pc.is_in(raw.column(key), value_set=wanted))
    return raw.select(list(request.output))


def _quote(name: str) -> str:
    """An identifier (always one from the model metadata) quoted for SQLite and PostgreSQL alike."""
    return '"' + name.replace('"', '""') + '"'


def _conditions(
    request: _Request, bind: Callable[[Any], str], *, sqlite: bool, scan: bool = False
) -> list[str]:
    """SQL conditions of the request; `bind` turns a value into a placeholder or a quoted literal."""
    conditions = []
    dated = request.date_column
    if dated is not None:
        name = ("+" if scan else "") + _quote(dated.name)  # unary + keeps SQLite off the index
        if request.start is not None:
            conditions.append(f"{name} >= {bind(_bound(dated, request.start, sqlite=sqlite))}")
        if request.end is not None:
            conditions.append(f"{name} < {bind(_bound(dated, request.end, sqlite=sqlite))}")
    for column, values in request.where:
        conditions.append(f"{_quote(column.name)} IN ({', '.join(bind(v) for v in values)})")
    return conditions


def _bound(column: StoredColumn, day: date, *, sqlite: bool) -> date | datetime | str:
    """A date bound as the column stores it (SQLite compares the stored text)."""
    if column.storage is Storage.DATETIME:
        moment = datetime.combine(day, time())
        return moment.strftime(SQLITE_DATETIME_FORMAT + ".%f") if sqlite else moment
    return day.isoformat() if sqlite else day


def _select(request: _Request, conditions: Sequence[str]) -> str:
    columns = ", ".join(_quote(c.name) for c in request.columns)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return f"SELECT {columns} FROM {_quote(request.table.name)}{where}"


def _typed(raw: pa.Table, request: _Request) -> pa.Table:
    arrays = [_typed_column(raw.column(i), c) for i, c in enumerate(request.columns)]
    return pa.Table.from_arrays(arrays, schema=request.schema)


def _in_parallel(jobs: Sequence[Callable[[], pa.Table]]) -> pa.Table:
    if len(jobs) == 1:
        return jobs[0]()
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        parts = [f.result() for f in [pool.submit(job) for job in jobs]]
    return pa.concat_tables(parts)


def _ranges(low: int, high: int, parts: int) -> list[_Range]:
    """`parts` half-open ranges covering every key: the first open below, the last open above."""
    step = max(1, (high - low + parts) // parts)
    cuts = [low + step * i for i in range(1, parts)]
    return list(zip([None, *cuts], [*cuts, None], strict=True))


# --- SQLite ----------------------------------------------------------------------------------------
def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError("read_arrow needs an SQLite database file, not an in-memory database")
    path = Path(database)
    if not path.exists():
        raise FileNotFoundError(f"no SQLite store at {path}")
    return path


_SqliteSpec = tuple[
    str,
    tuple[StoredColumn, ...],
    str | None,
    date | None,
    date | None,
    tuple[tuple[StoredColumn, tuple[str, ...]], ...],
]


_WORKER_MAIN = "from openspm.store.columnar import serve_sqlite_reads; serve_sqlite_reads()"


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
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "from openspm.store.columnar import serve_sqlite_reads; serve_sqlite_reads()",
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            self._owner = os.getpid()
        assert self._process is not None
        return self._process

    def read(self, path: str, spec: _SqliteSpec) -> pa.Table:
        with self._lock:
            child = self._child()
            assert child.stdin is not None
            assert child.stdout is not None
            pickle.dump((path, spec), child.stdin)
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


def serve_sqlite_reads() -> None:
    """The SQLite reader process's loop: one pickled request in, one pickled reply out, until EOF."""
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            path, spec = pickle.load(requests)  # noqa: S301 - requests come from our parent process
        except EOFError:
            return
        try:
            reply: tuple[bool, Any] = (True, _sqlite_read_to_file(path, spec))
        except Exception as exc:  # handed back to the caller, who raises it
            reply = (False, exc)
        pickle.dump(reply, replies)
        replies.flush()


_SQLITE_WORKER = _SqliteWorker()
atexit.register(_SQLITE_WORKER.close)
_SHARED_MEMORY = Path("/dev/shm")  # noqa: S108 - tmpfs; files are created with mkstemp (0600)


def _sqlite_read_to_file(path: str, spec: _SqliteSpec) -> str:
    """In the worker: read, and write the typed table to an Arrow IPC file (in memory where possible)."""
    name, columns, date_column, start, end, where = spec
    table = store_table(name)
    dated = stored_columns(table)[date_column] if date_column is not None else None
    request = _Request(table, columns, tuple(c.name for c in columns), dated, start, end, where, ())
    result = _read_sqlite(Path(path), request)
    folder = _SHARED_MEMORY if _SHARED_MEMORY.is_dir() and os.access(_SHARED_MEMORY, os.W_OK) else None
    handle, ipc_path = tempfile.mkstemp(prefix="openspm-read-", suffix=".arrow", dir=folder)
    with os.fdopen(handle, "wb") as sink, pa.ipc.new_file(sink, result.schema) as writer:
        writer.write_table(result)
    return ipc_path


def _sqlite_sentinel(column: StoredColumn) -> str:
    if column.storage in (Storage.TEXT, Storage.DATE, Storage.DATETIME, Storage.JSON):
        return "''"
    return "0.0" if column.storage is Storage.FLOAT else "0"


def _sqlite_statement(request: _Request, rowids: _Range, scan: bool) -> tuple[str, list[Any]]:
    """The request's SELECT after one typed row, from which ADBC infers every column's type.

    (ADBC's SQLite driver infers types from the first batch; a column that is NULL throughout it
    would otherwise be read as int64 and fail on the first string after it.)
    """
    params: list[Any] = []

    def bind(value: Any) -> str:
        params.append(value)
        return "?"

    low, high = rowids
    conditions = [f"rowid {op} {bind(v)}" for op, v in ((">=", low), ("<", high)) if v is not None]
    conditions += _conditions(request, bind, sqlite=True, scan=scan)
    typed_row = ", ".join(f"{_sqlite_sentinel(c)} AS {_quote(c.name)}" for c in request.columns)
    return f"SELECT {typed_row} UNION ALL {_select(request, conditions)}", params


def _sqlite_connect(path: Path, *, autocommit: bool = False) -> Any:
    """A reader (autocommit off: all its reads in one transaction) or, with autocommit, the coordinator."""
    connection = adbc_driver_sqlite.dbapi.connect(str(path), autocommit=autocommit)
    _sqlite_run(connection, f"PRAGMA busy_timeout = {int(SQLITE_LOCK_SECONDS * 1000)}")
    return connection


def _sqlite_run(connection: Any, statement: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)
        cursor.fetchall()


def _sqlite_part(connection: Any, request: _Request, rowids: _Range, scan: bool) -> pa.Table:
    statement, params = _sqlite_statement(request, rowids, scan)
    with connection.cursor() as cursor:
        cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(SQLITE_BATCH_ROWS)})
        cursor.execute(statement, params or None)
        raw = cursor.fetch_arrow_table()
    return _typed(raw.slice(1), request)


def _read_sqlite(path: Path, request: _Request) -> pa.Table:
    """Runs in the SQLite worker process only (never beside Python's sqlite3 on the same file)."""
    coordinator = _sqlite_connect(path, autocommit=True)
    connections = [_sqlite_connect(path)]
    try:
        scan = _sqlite_prefers_scan(coordinator, request)
        by_index = bool(request.where) or (_date_indexed(request) and not scan)
        low, high = _rowid_span(coordinator, request.table)
        if PARTITIONS > 1 and not by_index and high - low >= PARTITION_MIN_ROWS:
            _sqlite_same_snapshot(coordinator, path, connections)
            low, high = _rowid_span(connections[0], request.table)
        ranges = _ranges(low, high, len(connections))
        return _in_parallel(
            [_job(_sqlite_part, c, request, r, scan) for c, r in zip(connections, ranges, strict=True)]
        )
    finally:
        coordinator.close()
        for connection in connections:
            connection.close()


def _job(function: Callable[..., pa.Table], *args: Any) -> Callable[[], pa.Table]:
    return lambda: function(*args)


def _min_max_sql(column: str, table: str) -> str:
    """Smallest and largest value, each found by one index lookup (together in one SELECT they are not)."""
    return f"SELECT (SELECT min({column}) FROM {table}), (SELECT max({column}) FROM {table})"


def _rowid_span(connection: Any, table: Table) -> tuple[int, int]:
    cursor = connection.cursor()
    try:
        cursor.execute(_min_max_sql("rowid", _quote(table.name)))
        low, high = cursor.fetchone()
    finally:
        cursor.close()
    return (int(low), int(high)) if low is not None else (0, 0)


def _sqlite_same_snapshot(coordinator: Any, path: Path, connections: list[Any]) -> None:
    """Add connections reading the same snapshot as the first; none if the write lock cannot be had.

    While the coordinator holds the write lock nothing can commit, so read transactions begun then all
    see the same last commit.
    """
    try:
        _sqlite_run(coordinator, "BEGIN IMMEDIATE")
    except adbc_driver_sqlite.dbapi.Error:  # a writer holds the lock: one connection reads everything
        return
    try:
        connections += [_sqlite_connect(path) for _ in range(PARTITIONS - 1)]
        for connection in connections:
            with connection.cursor() as cursor:  # the first read fixes the transaction's snapshot
                cursor.execute("SELECT count(*) FROM sqlite_master")
                cursor.fetchall()
    finally:
        _sqlite_run(coordinator, "ROLLBACK")


def _date_indexed(request: _Request) -> bool:
    """Whether the request has a date range on a column that leads an index."""
    dated = request.date_column
    if dated is None or (request.start is None and request.end is None):
        return False
    return any(next(iter(i.columns)).name == dated.name for i in request.table.indexes)


def _sqlite_prefers_scan(coordinator: Any, request: _Request) -> bool:
    """Whether the date range is wide enough that scanning the table beats walking its date index.

    SQLite (without STAT4) assumes a range on an index is selective; for half a table the index walk is
    several times slower than a scan. The share is estimated from the column's smallest and largest value.
    """
    dated = request.date_column
    if dated is None or not _date_indexed(request):
        return False
    name, table = _quote(dated.name), _quote(request.table.name)
    with coordinator.cursor() as cursor:
        cursor.execute(_min_max_sql(name, table))
        low, high = cursor.fetchone()
    if low is None:
        return False
    first, after = date.fromisoformat(low[:10]), date.fromisoformat(high[:10]) + timedelta(days=1)
    start, end = max(request.start or first, first), min(request.end or after, after)
    return (end - start).days > SCAN_SHARE * (after - first).days


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


def _postgres_part(connection: Any, request: _Request, blocks: _Range) -> pa.Table:
    low, high = blocks
    conditions = [f"ctid {op} '({int(v)},0)'::tid" for op, v in ((">=", low), ("<", high)) if v is not None]
    conditions += _conditions(request, _literal, sqlite=False)
    with connection.cursor() as cursor:
        cursor.execute(_select(request, conditions))
        raw = cursor.fetch_arrow_table()
    return _typed(raw, request)


def _read_postgres(url: str, request: _Request) -> pa.Table:
    uri = _libpq_uri(url)
    connections = [_postgres_connect(uri)]
    try:
        _run(connections[0], "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        size = f"pg_relation_size(to_regclass({_literal(_quote(request.table.name))}))"
        blocks = int(_value(connections[0], f"SELECT {size} / current_setting('block_size')::bigint") or 0)
        if PARTITIONS > 1 and not request.where and blocks >= PARTITION_MIN_BLOCKS:
            _postgres_same_snapshot(uri, connections)
        ranges = _ranges(0, blocks, len(connections))
        return _in_parallel(
            [_job(_postgres_part, c, request, r) for c, r in zip(connections, ranges, strict=True)]
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
