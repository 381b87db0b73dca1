"""Fast writes of typed Arrow tables in the caller's transaction: executemany on SQLite, COPY on PostgreSQL.

Both functions take the caller's SQLAlchemy `Connection` and work on the DBAPI connection underneath it,
so the rows commit or roll back with everything else the caller did. A *large* load (at least
`LARGE_LOAD_ROWS` rows and at least a quarter of the rows already in the table) drops the table's
non-unique indexes first and builds them again afterwards; on PostgreSQL it also drops the table's foreign
keys and adds them back, which checks every row in one query instead of one trigger call per row. Both are
ordinary transactional DDL: a failure rolls them back with the rows. On PostgreSQL that DDL locks the
table against readers until the caller commits; on SQLite readers keep seeing the last commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import Connection, Table, func, literal, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from openspm.store.columnar import (
    SQLITE_DATETIME_FORMAT,
    Storage,
    StoredColumn,
    decimal_to_scaled,
    store_table,
    stored_columns,
)

__all__ = ["insert_arrow", "update_arrow"]

LARGE_LOAD_ROWS = 20_000
LARGE_LOAD_SHARE = 4  # a load is large when the table holds at most this many times the rows added
SQLITE_CHUNK_ROWS = 50_000  # rows turned into Python values at a time (bounds memory)
SQLITE_VALUES_PER_STATEMENT = 500  # rows per INSERT … VALUES (…), (…) ≈ this many values ÷ columns
COPY_CHUNK_ROWS = 100_000  # rows encoded as CSV per write into a COPY


def insert_arrow(conn: Connection, entity: str, data: pa.Table) -> int:
    """Insert every row of the typed table `data` into the table `entity`; return the number inserted.

    `data` holds a subset of the table's columns, typed as `canonical_schema` or `read_arrow` gives them
    (`extra`: a JSON object as a string, or null). A column it lacks gets the model's constant default,
    or NULL; leave out an integer surrogate `id` and the database assigns it. A row that breaks a key or a
    foreign key raises `sqlalchemy.exc.IntegrityError` (database errors come as SQLAlchemy's, as from
    `conn.execute`); the caller's rollback then leaves nothing behind.
    """
    table = store_table(entity)
    prepared = _with_defaults(table, data)
    if prepared.num_rows == 0:
        return 0
    sqlite = conn.dialect.name == "sqlite"
    stored = _to_storage(prepared, stored_columns(table), sqlite=sqlite)
    with _maintenance_deferred(conn, table, prepared):
        if sqlite:
            _sqlite_insert(conn, table, stored)
        else:
            _postgres_copy(conn, _quoted(conn, table.name), stored)
    return int(prepared.num_rows)


def update_arrow(conn: Connection, entity: str, key_columns: Sequence[str], data: pa.Table) -> int:
    """Set the other columns of `data` on the rows whose `key_columns` match; return the rows updated."""
    table = store_table(entity)
    keys = list(key_columns)
    _check_columns(table, data.column_names)
    missing = [k for k in keys if k not in data.column_names]
    if missing:
        raise KeyError(f"update of {entity!r} lacks its key columns {missing}")
    values = [n for n in data.column_names if n not in keys]
    if not values or data.num_rows == 0:
        return 0
    sqlite = conn.dialect.name == "sqlite"
    stored = _to_storage(data.select(values + keys), stored_columns(table), sqlite=sqlite)
    if sqlite:
        return _sqlite_update(conn, table, keys, values, stored)
    return _postgres_update(conn, table, keys, values, stored)


# --- preparing columns ------------------------------------------------------------------------------
def _check_columns(table: Table, names: Sequence[str]) -> None:
    unknown = [n for n in names if n not in table.columns]
    if unknown:
        raise KeyError(f"table {table.name!r} has no columns {unknown}")


def _with_defaults(table: Table, data: pa.Table) -> pa.Table:
    """`data` plus a constant column for each absent model column that has a constant default."""
    _check_columns(table, data.column_names)
    stored = stored_columns(table)
    for column in table.columns:
        default = column.default
        if column.name in data.column_names or default is None or not getattr(default, "is_scalar", False):
            continue
        value = pa.scalar(getattr(default, "arg", None), type=stored[column.name].arrow_type)
        data = data.append_column(column.name, pa.repeat(value, data.num_rows))
    return data


def _to_storage(data: pa.Table, stored: dict[str, StoredColumn], *, sqlite: bool) -> pa.Table:
    """The columns of `data` in the representation the database keeps (see `columnar.Storage`)."""
    arrays = [_column_to_storage(data.column(n), stored[n], sqlite=sqlite) for n in data.column_names]
    return pa.table(arrays, names=data.column_names)


def _column_to_storage(values: pa.ChunkedArray, column: StoredColumn, *, sqlite: bool) -> pa.ChunkedArray:
    storage = column.storage
    if storage is Storage.SCALED:
        return decimal_to_scaled(values, column.scale)
    typed = pc.cast(values, column.arrow_type)
    if not sqlite:
        return typed
    if storage is Storage.DATE:
        return pc.cast(typed, pa.string())
    if storage is Storage.DATETIME:
        return pc.strftime(typed, format=SQLITE_DATETIME_FORMAT)
    if storage is Storage.BOOLEAN:
        return pc.cast(typed, pa.int64())
    return typed


def _quoted(conn: Connection, name: str) -> str:
    return str(conn.dialect.identifier_preparer.quote(name))


def _column_list(conn: Connection, names: Sequence[str]) -> str:
    return ", ".join(_quoted(conn, n) for n in names)


@contextmanager
def _raw_cursor(conn: Connection) -> Iterator[Any]:
    """A cursor of the DBAPI connection under `conn`; its errors raised as SQLAlchemy's (IntegrityError…)."""
    dbapi_error = conn.dialect.loaded_dbapi.Error
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        yield cursor
    except dbapi_error as error:
        raise DBAPIError.instance(None, None, error, dbapi_error) from error
    finally:
        cursor.close()


# --- large loads: indexes (and PostgreSQL foreign keys) rebuilt once --------------------------------
def _is_large_load(conn: Connection, table: Table, rows: int) -> bool:
    if rows < LARGE_LOAD_ROWS:
        return False
    cap = rows * LARGE_LOAD_SHARE + 1
    bounded = select(literal(1)).select_from(table).limit(cap).subquery()
    existing = conn.execute(select(func.count()).select_from(bounded)).scalar_one()
    return int(existing) < cap


@contextmanager
def _maintenance_deferred(conn: Connection, table: Table, data: pa.Table) -> Iterator[None]:
    """Around a large load: drop non-unique indexes (and, on PostgreSQL, foreign keys), then restore them.

    An index on one column that the load fills with a single value (often NULL) is kept: its new
    entries all go to one place in key order, which costs less than building the index again.
    """
    sqlite = conn.dialect.name == "sqlite"
    if (sqlite and not _sqlite_transaction_open(conn)) or not _is_large_load(conn, table, data.num_rows):
        yield
        return
    indexes = sorted(
        (i for i in table.indexes if not i.unique and not _one_value(data, [c.name for c in i.columns])),
        key=lambda i: str(i.name),
    )
    foreign_keys = [] if sqlite else sorted(table.foreign_key_constraints, key=lambda c: str(c.name))
    for foreign_key in foreign_keys:
        conn.execute(DropConstraint(foreign_key))
    for index in indexes:
        conn.execute(DropIndex(index))
    try:
        yield
    except BaseException:
        if sqlite:  # the transaction is still usable there: leave the schema whole even if it commits
            for index in indexes:
                conn.execute(CreateIndex(index))
        raise
    for index in indexes:
        conn.execute(CreateIndex(index))
    for foreign_key in foreign_keys:
        conn.execute(AddConstraint(foreign_key))


def _one_value(data: pa.Table, columns: list[str]) -> bool:
    if len(columns) != 1 or columns[0] not in data.column_names:
        return len(columns) == 1  # a column the load leaves out is NULL (or its default) throughout
    return int(pc.count_distinct(data.column(columns[0]), mode="all").as_py()) <= 1


def _sqlite_transaction_open(conn: Connection) -> bool:
    """Make sure the sqlite3 connection is inside a transaction, so DDL rolls back with the rows.

    The sqlite3 module begins a transaction only before INSERT/UPDATE/DELETE; this begins it as that
    would. A connection in autocommit mode (isolation_level None) is left alone.
    """
    raw = conn.connection.driver_connection
    if getattr(raw, "isolation_level", None) is None:
        return False
    if not raw.in_transaction:  # type: ignore[union-attr]
        raw.execute("BEGIN")  # type: ignore[union-attr]
    return True


# --- SQLite: executemany on the sqlite3 connection -------------------------------------------------
def _flat_values(data: pa.Table, per_statement: int) -> Iterator[list[Any]]:
    """The values of `data` row by row, `per_statement` rows to a list (the last may be shorter)."""
    width = data.num_columns
    rows = max(1, SQLITE_CHUNK_ROWS // per_statement) * per_statement  # only the last list is shorter
    for start in range(0, data.num_rows, rows):
        chunk = data.slice(start, rows)
        flat: list[Any] = [None] * (chunk.num_rows * width)
        for i in range(width):
            flat[i::width] = chunk.column(i).to_pylist()
        step = per_statement * width
        for offset in range(0, len(flat), step):
            yield flat[offset : offset + step]


def _sqlite_insert(conn: Connection, table: Table, data: pa.Table) -> None:
    width = data.num_columns
    per_statement = max(1, SQLITE_VALUES_PER_STATEMENT // width)
    row = "(" + ", ".join("?" * width) + ")"
    head = f"INSERT INTO {_quoted(conn, table.name)} ({_column_list(conn, data.column_names)}) VALUES "
    full = head + ", ".join([row] * per_statement)
    whole = data.num_rows - data.num_rows % per_statement
    rest = data.slice(whole)
    with _raw_cursor(conn) as cursor:
        cursor.executemany(full, _flat_values(data.slice(0, whole), per_statement))
        if rest.num_rows:
            cursor.execute(head + ", ".join([row] * rest.num_rows), next(_flat_values(rest, rest.num_rows)))


def _rows(data: pa.Table) -> Iterator[tuple[Any, ...]]:
    for start in range(0, data.num_rows, SQLITE_CHUNK_ROWS):
        chunk = data.slice(start, SQLITE_CHUNK_ROWS)
        yield from zip(*(column.to_pylist() for column in chunk.columns), strict=True)


def _sqlite_update(conn: Connection, table: Table, keys: list[str], values: list[str], data: pa.Table) -> int:
    assignments = ", ".join(f"{_quoted(conn, n)} = ?" for n in values)
    match = " AND ".join(f"{_quoted(conn, n)} = ?" for n in keys)
    with _raw_cursor(conn) as cursor:
        cursor.executemany(f"UPDATE {_quoted(conn, table.name)} SET {assignments} WHERE {match}", _rows(data))
        return int(cursor.rowcount)


# --- PostgreSQL: COPY … FROM STDIN of CSV written by Arrow, through psycopg 3 -----------------------
def _csv_chunks(data: pa.Table) -> Iterator[pa.Buffer]:
    """`data` as CSV without a header: strings always quoted, so an empty string differs from NULL."""
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    for start in range(0, data.num_rows, COPY_CHUNK_ROWS):
        sink = pa.BufferOutputStream()
        pacsv.write_csv(data.slice(start, COPY_CHUNK_ROWS), sink, options)
        yield sink.getvalue()


def _postgres_copy(conn: Connection, target: str, data: pa.Table) -> None:
    sql = f"COPY {target} ({_column_list(conn, data.column_names)}) FROM STDIN (FORMAT csv)"
    with _raw_cursor(conn) as cursor, cursor.copy(sql) as copy:
        for chunk in _csv_chunks(data):
            copy.write(memoryview(chunk))


def _postgres_update(
    conn: Connection, table: Table, keys: list[str], values: list[str], data: pa.Table
) -> int:
    """COPY the new values into a temporary table shaped like `table`, then one UPDATE … FROM."""
    target = _quoted(conn, table.name)
    staging = _quoted(conn, f"spm_update_{uuid.uuid4().hex[:12]}")
    assignments = ", ".join(f"{_quoted(conn, n)} = s.{_quoted(conn, n)}" for n in values)
    match = " AND ".join(f"t.{_quoted(conn, n)} = s.{_quoted(conn, n)}" for n in keys)
    with _raw_cursor(conn) as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS "
            f"SELECT {_column_list(conn, data.column_names)} FROM {target} WITH NO DATA"
        )
        _postgres_copy(conn, staging, data)
        cursor.execute(f"UPDATE {target} AS t SET {assignments} FROM {staging} AS s WHERE {match}")
        updated = int(cursor.rowcount)
        cursor.execute(f"DROP TABLE {staging}")
        return updated
