"""The SQLite reader process: reads store tables through ADBC's SQLite driver (see `columnar`'s docstring
for why it is a process of its own) and hands each back as a memory-mapped Arrow IPC file.

`columnar.read_arrow` sends one `SqliteRead` at a time (pickled, over the process's stdin): the request
built from the store's metadata, and the read settings in force in the parent (so a test's or a
caller's settings apply here too). This module imports neither SQLAlchemy nor the PostgreSQL driver,
so the process starts in about a second.
"""

from __future__ import annotations

import os
import pickle
import sys
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import adbc_driver_sqlite.dbapi
import pyarrow as pa

from openspm.store.storage import (
    Range,
    Request,
    Storage,
    StoredColumn,
    conditions,
    in_parallel,
    job,
    min_max_sql,
    quote,
    ranges,
    select_sql,
    typed,
)

_SHARED_MEMORY = Path("/dev/shm")  # noqa: S108 - tmpfs; files are created with mkstemp (0600)


@dataclass(frozen=True)
class Settings:
    """How a read is split and batched (`columnar`'s module constants, sent with each read)."""

    partitions: int  # parallel connections for one large read
    partition_min_rows: int  # rowid span below which one connection reads everything
    batch_rows: int
    scan_share: float  # a date range expected to hold more of the rows than this is read by a scan
    lock_seconds: float  # how long a partitioned read waits for the write lock to align snapshots


@dataclass(frozen=True)
class SqliteRead:
    path: str
    request: Request
    settings: Settings


def serve_sqlite_reads() -> None:
    """The SQLite reader process's loop: one pickled request in, one pickled reply out, until EOF."""
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            read = pickle.load(requests)  # noqa: S301 - requests come from our parent process
        except EOFError:
            return
        try:
            reply: tuple[bool, Any] = (True, read_to_file(read))
        except Exception as exc:  # handed back to the caller, who raises it
            reply = (False, exc)
        pickle.dump(reply, replies)
        replies.flush()


def read_to_file(read: SqliteRead) -> str:
    """Read, and write the typed table to an Arrow IPC file (in memory where possible)."""
    result = read_sqlite(Path(read.path), read.request, read.settings)
    folder = _SHARED_MEMORY if _SHARED_MEMORY.is_dir() and os.access(_SHARED_MEMORY, os.W_OK) else None
    handle, ipc_path = tempfile.mkstemp(prefix="openspm-read-", suffix=".arrow", dir=folder)
    with os.fdopen(handle, "wb") as sink, pa.ipc.new_file(sink, result.schema) as writer:
        writer.write_table(result)
    return ipc_path


def read_sqlite(path: Path, request: Request, settings: Settings) -> pa.Table:
    """Runs in the SQLite reader process only (never beside Python's sqlite3 on the same file)."""
    coordinator = _connect(path, settings, autocommit=True)
    connections = [_connect(path, settings)]
    try:
        scan = _prefers_scan(coordinator, request, settings)
        by_index = bool(request.where) or (_date_indexed(request) and not scan)
        low, high = _rowid_span(coordinator, request.table)
        if settings.partitions > 1 and not by_index and high - low >= settings.partition_min_rows:
            _same_snapshot(coordinator, path, connections, settings)
            low, high = _rowid_span(connections[0], request.table)
        parts = ranges(low, high, len(connections))
        return in_parallel(
            [
                job(_part, c, request, r, scan, settings.batch_rows)
                for c, r in zip(connections, parts, strict=True)
            ]
        )
    finally:
        coordinator.close()
        for connection in connections:
            connection.close()


def _sentinel(column: StoredColumn) -> str:
    if column.storage in (Storage.TEXT, Storage.DATE, Storage.DATETIME, Storage.JSON):
        return "''"
    return "0.0" if column.storage is Storage.FLOAT else "0"


def _statement(request: Request, rowids: Range, scan: bool) -> tuple[str, list[Any]]:
    """The request's SELECT after one typed row, from which ADBC infers every column's type.

    (ADBC's SQLite driver infers types from the first batch; a column that is NULL throughout it
    would otherwise be read as int64 and fail on the first string after it.)
    """
    params: list[Any] = []

    def bind(value: Any) -> str:
        params.append(value)
        return "?"

    low, high = rowids
    where = [f"rowid {op} {bind(v)}" for op, v in ((">=", low), ("<", high)) if v is not None]
    where += conditions(request, bind, sqlite=True, scan=scan)
    typed_row = ", ".join(f"{_sentinel(c)} AS {quote(c.name)}" for c in request.columns)
    return f"SELECT {typed_row} UNION ALL {select_sql(request, where)}", params


def _connect(path: Path, settings: Settings, *, autocommit: bool = False) -> Any:
    """A reader (autocommit off: all its reads in one transaction) or, with autocommit, the coordinator."""
    connection = adbc_driver_sqlite.dbapi.connect(str(path), autocommit=autocommit)
    _run(connection, f"PRAGMA busy_timeout = {int(settings.lock_seconds * 1000)}")
    return connection


def _run(connection: Any, statement: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)
        cursor.fetchall()


def _part(connection: Any, request: Request, rowids: Range, scan: bool, batch_rows: int) -> pa.Table:
    statement, params = _statement(request, rowids, scan)
    with connection.cursor() as cursor:
        cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(batch_rows)})
        cursor.execute(statement, params or None)
        raw = cursor.fetch_arrow_table()
    return typed(raw.slice(1), request)


def _rowid_span(connection: Any, table: str) -> tuple[int, int]:
    cursor = connection.cursor()
    try:
        cursor.execute(min_max_sql("rowid", quote(table)))
        low, high = cursor.fetchone()
    finally:
        cursor.close()
    return (int(low), int(high)) if low is not None else (0, 0)


def _same_snapshot(coordinator: Any, path: Path, connections: list[Any], settings: Settings) -> None:
    """Add connections reading the same snapshot as the first; none if the write lock cannot be had.

    While the coordinator holds the write lock nothing can commit, so read transactions begun then all
    see the same last commit.
    """
    try:
        _run(coordinator, "BEGIN IMMEDIATE")
    except adbc_driver_sqlite.dbapi.Error:  # a writer holds the lock: one connection reads everything
        return
    try:
        connections += [_connect(path, settings) for _ in range(settings.partitions - 1)]
        for connection in connections:
            with connection.cursor() as cursor:  # the first read fixes the transaction's snapshot
                cursor.execute("SELECT count(*) FROM sqlite_master")
                cursor.fetchall()
    finally:
        _run(coordinator, "ROLLBACK")


def _date_indexed(request: Request) -> bool:
    """Whether the request has a date range on a column that leads an index."""
    has_range = request.start is not None or request.end is not None
    return request.date_column is not None and has_range and request.date_indexed


def _prefers_scan(coordinator: Any, request: Request, settings: Settings) -> bool:
    """Whether the date range is wide enough that scanning the table beats walking its date index.

    SQLite (without STAT4) assumes a range on an index is selective; for half a table the index walk is
    several times slower than a scan. The share is estimated from the column's smallest and largest value.
    """
    dated = request.date_column
    if dated is None or not _date_indexed(request):
        return False
    name, table = quote(dated.name), quote(request.table)
    with coordinator.cursor() as cursor:
        cursor.execute(min_max_sql(name, table))
        low, high = cursor.fetchone()
    if low is None:
        return False
    first, after = date.fromisoformat(low[:10]), date.fromisoformat(high[:10]) + timedelta(days=1)
    start, end = max(request.start or first, first), min(request.end or after, after)
    return (end - start).days > settings.scan_share * (after - first).days
