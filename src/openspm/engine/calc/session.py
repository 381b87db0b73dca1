"""Where a calculation's Ibis expressions run: one connection, named input tables, SQL compiled once.

Ibis compiles every expression to SQL before the backend runs it, and for a small run (a rep's month,
an incremental run for the people one change affects) compiling was half the time: about a second for
the two dozen queries of any run, whatever its size. Compiled SQL is a pure function of the expression,
and Ibis expressions are values (their nodes hash and compare by content), so runs that build the same
expressions can share the SQL. In-memory tables would defeat that: `ibis.memtable` names each table at
random. A `Session` instead names the Arrow tables it is given in order (`_spm_0`, `_spm_1`, …) and
registers them with its DuckDB connection: the n-th table of two runs of the same shape (the same plans,
the same kind of period) has the same name and schema, so their queries are equal and the second run's
SQL comes from `_COMPILED`. What a query reads is never part of the SQL, only which table it reads, so
a cached query is always the one Ibis would compile for that expression.

Engine code makes its tables with `memtable` and runs queries with `Session.to_pyarrow`; people to
filter on go in a table too (`among`), so a run for other people compiles to the same SQL. Without an
active session, `memtable` is `ibis.memtable`. On another backend (PostgreSQL, in the portability tests)
a session keeps Ibis's in-memory tables and compiles every query as Ibis does.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from contextvars import ContextVar, Token
from types import TracebackType

import duckdb
import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pyarrow as pa
from ibis.backends.duckdb import Backend as DuckDBBackend

#: Compiled queries kept per process (least recently used first out); one run compiles about 25.
CACHE_SIZE = 512

#: DuckDB divides DECIMALs as DOUBLEs (`1234567.005 × 100 ÷ 100` gives `1234567.0049999998`), so on
#: DuckDB the engine divides with this macro instead (`tiers.divide`): n ÷ d at 10 decimals, rounded
#: half away from zero, in 128-bit integers (exact for |n| below about 10^16; beyond, DuckDB raises an
#: overflow error rather than return a wrong number). Its arguments are bound once (a one-element list's
#: lambda): a macro's parameters are pasted where they appear, and nested divisions would multiply.
#: Every session's DuckDB connection defines it, as a temporary macro (a caller's database file is
#: neither changed nor required to be writable).
EXACT_DIVIDE = "spm_divide"
_DIVIDE_MACRO = f"""
CREATE OR REPLACE TEMP MACRO {EXACT_DIVIDE}(n, d) AS (list_transform([{{'n': n, 'd': d}}], lambda x:
  CASE WHEN x.d = 0 THEN NULL ELSE CAST(
    CAST(
      sign(x.n) * sign(x.d) * (
        (2 * abs(CAST(x.n * 10000000000 AS HUGEINT)) * 10000000000 + abs(CAST(x.d * 10000000000 AS HUGEINT)))
        // (2 * abs(CAST(x.d * 10000000000 AS HUGEINT)))
      ) AS DECIMAL(38, 0)
    ) * 0.0000000001 AS DECIMAL(38, 10)
  ) END
)[1])
"""


class _Compiled:
    """DuckDB SQL by expression node (only nodes that read no in-memory table: those hold data)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._sql: OrderedDict[ops.Node, str] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, node: ops.Node) -> str | None:
        with self._lock:
            sql = self._sql.get(node)
            if sql is None:
                self.misses += 1
                return None
            self._sql.move_to_end(node)
            self.hits += 1
            return sql

    def put(self, node: ops.Node, sql: str) -> None:
        with self._lock:
            self._sql[node] = sql
            while len(self._sql) > self.size:
                self._sql.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._sql.clear()
            self.hits = self.misses = 0


_COMPILED = _Compiled(CACHE_SIZE)
_ACTIVE: ContextVar[Session | None] = ContextVar("openspm_calc_session", default=None)


class Session(AbstractContextManager["Session"]):
    """One run's connection and tables; `with Session(backend):` makes it the one `memtable` uses.

    Without a backend the session opens an in-process DuckDB and closes it at the end (freeing every
    table registered with it). With a DuckDB backend it registers its tables there and unregisters
    them at the end.
    """

    def __init__(self, backend: ibis.BaseBackend | None = None) -> None:
        self.backend = backend if backend is not None else ibis.duckdb.connect()
        self._owned = backend is None
        self._duck = self.backend.con if isinstance(self.backend, DuckDBBackend) else None
        if self._duck is not None:
            self._duck.execute(_DIVIDE_MACRO)
        self._names: list[str] = []
        self._token: Token[Session | None] | None = None

    def __enter__(self) -> Session:
        self._token = _ACTIVE.set(self)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._token is not None:
            _ACTIVE.reset(self._token)
            self._token = None
        self.close()

    def table(self, data: pa.Table) -> ir.Table:
        """`data` as a table expressions can read, named by its place in the session."""
        if self._duck is None:
            return ibis.memtable(data)
        name = f"_spm_{len(self._names)}"
        self._duck.register(name, data)
        self._names.append(name)
        return ibis.table(_ibis_schema(data.schema), name=name)

    def to_pyarrow(self, expr: ir.Table) -> pa.Table:
        """Execute `expr` (its SQL compiled once per process) and return Ibis's Arrow result."""
        if self._duck is None:
            return self.backend.to_pyarrow(expr)
        from ibis.backends.duckdb.converter import DuckDBPyArrowData

        node = expr.op()
        sql = _COMPILED.get(node)
        if sql is None:
            self.backend._run_pre_execute_hooks(expr)
            sql = self.backend.compile(expr.as_table())
            if not node.find(ops.InMemoryTable):
                _COMPILED.put(node, sql)
        table = self._duck.sql(sql).to_arrow_table()
        return expr.__pyarrow_result__(table, data_mapper=DuckDBPyArrowData)

    def duckdb(self) -> duckdb.DuckDBPyConnection | None:
        """The session's DuckDB connection (None on another backend)."""
        return self._duck

    def close(self) -> None:
        """Release the session's tables (and its connection, if it opened one)."""
        if self._owned:
            self.backend.disconnect()
        elif self._duck is not None:
            for name in self._names:
                self._duck.unregister(name)
        self._names.clear()


@functools.lru_cache(maxsize=1024)
def _ibis_schema(schema: pa.Schema) -> ibis.Schema:
    """Ibis's schema of an Arrow schema (a run registers dozens of tables of a few dozen schemas)."""
    return ibis.Schema.from_pyarrow(schema)


def using(backend: ibis.BaseBackend | None) -> AbstractContextManager[Session]:
    """The active session if it runs on `backend` (or `backend` is None), else a new one on `backend`."""
    current = _ACTIVE.get()
    if current is not None and (backend is None or current.backend is backend):
        return nullcontext(current)
    return Session(backend)


def divides_exactly() -> bool:
    """Whether expressions built now run on a DuckDB session (which defines `EXACT_DIVIDE`)."""
    current = _ACTIVE.get()
    return current is not None and current.duckdb() is not None


def memtable(data: pa.Table) -> ir.Table:
    """`data` as an Ibis table: named by the active session, or an `ibis.memtable` outside one."""
    current = _ACTIVE.get()
    return current.table(data) if current is not None else ibis.memtable(data)


def among(column: ir.StringColumn, people: Iterable[str]) -> ir.BooleanValue:
    """`column` is one of `people`, read from a table so the query's SQL does not depend on who they are."""
    names = pa.table({"person_id": pa.array(sorted(set(people)), pa.string())})
    return column.isin(memtable(names).person_id)


def compiled_queries() -> tuple[int, int]:
    """(hits, misses) of the process's compiled-query cache since it was last cleared."""
    return _COMPILED.hits, _COMPILED.misses


def clear_compiled() -> None:
    """Forget every compiled query (tests; a process never needs to)."""
    _COMPILED.clear()
