"""How store columns are kept and read back as typed Arrow, and the SQL of one read, without the ORM.

What both the columnar read path (`columnar`) and the SQLite reader process (`sqlite_reads`) need,
importing neither SQLAlchemy nor a database driver, so the reader process starts quickly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import Enum
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

SQLITE_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # Arrow appends the microseconds of a timestamp[us]

Range = tuple[int | None, int | None]  # half-open [low, high) of rowids or heap pages; None: open


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


def typed_column(values: pa.ChunkedArray, column: StoredColumn) -> pa.ChunkedArray:
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
class Request:
    """What one read asks for (built by `columnar.read_arrow` from the store's metadata)."""

    table: str  # the table's name
    columns: tuple[StoredColumn, ...]  # selected: the requested ones, then any a late filter needs
    output: tuple[str, ...]
    date_column: StoredColumn | None
    start: date | None
    end: date | None
    where: tuple[tuple[StoredColumn, tuple[str, ...]], ...]  # filtered in SQL
    late: tuple[tuple[str, tuple[str, ...]], ...]  # filtered in Arrow (long lists)
    date_indexed: bool = False  # whether an index leads with the date column

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow_type) for c in self.columns])


def quote(name: str) -> str:
    """An identifier (always one from the model metadata) quoted for SQLite and PostgreSQL alike."""
    return '"' + name.replace('"', '""') + '"'


def conditions(
    request: Request, bind: Callable[[Any], str], *, sqlite: bool, scan: bool = False
) -> list[str]:
    """SQL conditions of the request; `bind` turns a value into a placeholder or a quoted literal."""
    out = []
    dated = request.date_column
    if dated is not None:
        name = ("+" if scan else "") + quote(dated.name)  # unary + keeps SQLite off the index
        if request.start is not None:
            out.append(f"{name} >= {bind(_bound(dated, request.start, sqlite=sqlite))}")
        if request.end is not None:
            out.append(f"{name} < {bind(_bound(dated, request.end, sqlite=sqlite))}")
    for column, values in request.where:
        out.append(f"{quote(column.name)} IN ({', '.join(bind(v) for v in values)})")
    return out


def _bound(column: StoredColumn, day: date, *, sqlite: bool) -> date | datetime | str:
    """A date bound as the column stores it (SQLite compares the stored text)."""
    if column.storage is Storage.DATETIME:
        moment = datetime.combine(day, time())
        return moment.strftime(SQLITE_DATETIME_FORMAT + ".%f") if sqlite else moment
    return day.isoformat() if sqlite else day


def select_sql(request: Request, where_sql: Sequence[str]) -> str:
    columns = ", ".join(quote(c.name) for c in request.columns)
    where = f" WHERE {' AND '.join(where_sql)}" if where_sql else ""
    return f"SELECT {columns} FROM {quote(request.table)}{where}"


def typed(raw: pa.Table, request: Request) -> pa.Table:
    arrays = [typed_column(raw.column(i), c) for i, c in enumerate(request.columns)]
    return pa.Table.from_arrays(arrays, schema=request.schema)


def in_parallel(jobs: Sequence[Callable[[], pa.Table]]) -> pa.Table:
    if len(jobs) == 1:
        return jobs[0]()
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        parts = [f.result() for f in [pool.submit(job) for job in jobs]]
    return pa.concat_tables(parts)


def ranges(low: int, high: int, parts: int) -> list[Range]:
    """`parts` half-open ranges covering every key: the first open below, the last open above."""
    step = max(1, (high - low + parts) // parts)
    cuts = [low + step * i for i in range(1, parts)]
    return list(zip([None, *cuts], [*cuts, None], strict=True))


def job(function: Callable[..., pa.Table], *args: Any) -> Callable[[], pa.Table]:
    return lambda: function(*args)


def min_max_sql(column: str, table: str) -> str:
    """Smallest and largest value, each found by one index lookup (together in one SELECT they are not)."""
    return f"SELECT (SELECT min({column}) FROM {table}), (SELECT max({column}) FROM {table})"
