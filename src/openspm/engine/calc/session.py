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
from collections.abc import Callable, Hashable, Iterable
from contextlib import AbstractContextManager, nullcontext
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, Generic, ParamSpec, TypeVar

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


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Lru(Generic[K, V]):
    """A process-wide least-recently-used map (thread-safe), counting hits and misses."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0


#: DuckDB SQL by expression node (only nodes that read no in-memory table: those hold data).
_COMPILED: _Lru[ops.Node, str] = _Lru(CACHE_SIZE)
#: Expressions `reusable` builders made, by builder and arguments.
_BUILT: _Lru[tuple[Hashable, ...], Any] = _Lru(CACHE_SIZE)
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
        self.queries = 0  # queries run (`reusable` checks a builder runs none)
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

        self.queries += 1
        node = expr.op()
        sql = _COMPILED.get(node)
        if sql is None:
            self.backend._run_pre_execute_hooks(expr)
            sql = self.backend.compile(expr.as_table())
            if not node.find(ops.InMemoryTable):
                _COMPILED.put(node, sql)
        table = arrow_of(self._duck, sql)
        return expr.__pyarrow_result__(table, data_mapper=DuckDBPyArrowData)

    def effects(self) -> tuple[int, int]:
        """(tables registered, queries run) so far: what a pure expression builder never changes."""
        return len(self._names), self.queries

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


def arrow_of(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    """The rows of one SELECT `sql` as an Arrow table: how the engine runs every query on DuckDB.

    DuckDB's public `con.sql(sql).to_arrow_table()` first makes a lazy relation: since DuckDB 2 it
    tokenizes the text in Python for parameter markers and binds (plans) the query, then plans it again to
    run it. The engine's queries are 10-20 KB each and take no parameters, and for a small run that
    overhead was a third of the time DuckDB spent (0.13 s of 0.42 s over a run's 25 queries). So the
    query is submitted directly through `duckdb._seam.submit`, the one call DuckDB's own relation layer
    runs a statement with (Arrow out, no extra copy); a DuckDB without it gets the public path
    (`tests/unit/calc/test_session.py` checks the two agree, and that the pinned DuckDB has it).
    """
    if _SUBMIT is None:
        return con.sql(sql).to_arrow_table()
    return _SUBMIT(con, sql, None, "arrow", _BATCH_ROWS).arrow_table()


def _direct_submit() -> Callable[..., Any] | None:
    try:
        from duckdb import _seam
    except ImportError:  # pragma: no cover - DuckDB before 2.0: `con.sql` has no Python layer to skip
        return None
    submit = getattr(_seam, "submit", None)
    return submit if callable(submit) else None


_SUBMIT = _direct_submit()
_BATCH_ROWS = 131_072  # DuckDB's own default Arrow batch size


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


P = ParamSpec("P")
R = TypeVar("R")


def reusable(build: Callable[P, R]) -> Callable[P, R]:
    """Decorate an expression builder whose result is a function of its arguments alone: equal
    arguments give the expression it built before, without building it again.

    The SQL cache (`_COMPILED`) spares a run of the same shape compiling; building the expressions it
    looks them up by still took half a second of a small run, spread over a dozen builders. A builder
    may be `reusable` when it only combines the Ibis tables and values it is given: it registers no
    table (`memtable`, `among`), runs no query and reads no table it was not given, which is checked on
    every build (a builder that does any of these raises). Arguments are keyed by content: Ibis
    expressions by their node (a session's tables are named by their place, so equal nodes read the same
    tables), lists and tuples item by item, other values by type and value (plans are frozen). Outside
    a DuckDB session (no session, or another backend, whose in-memory tables carry data) the builder
    simply runs.
    """

    @functools.wraps(build)
    def built(*args: P.args, **kwargs: P.kwargs) -> R:
        current = _ACTIVE.get()
        if current is None or current.duckdb() is None:
            return build(*args, **kwargs)
        key = (build.__module__, build.__qualname__, _key(args), _key(tuple(sorted(kwargs.items()))))
        found = _BUILT.get(key)
        if found is not None:
            return found  # type: ignore[no-any-return]
        before = current.effects()
        made = build(*args, **kwargs)
        if current.effects() != before:
            raise RuntimeError(
                f"{build.__qualname__} registered a table or ran a query, so it cannot be reusable"
            )
        if not _tables_in(made) <= _tables_in((args, kwargs)):
            raise RuntimeError(
                f"{build.__qualname__} read a table it was not given, so it cannot be reusable"
            )
        _BUILT.put(key, made)
        return made

    return built


def _tables_in(value: object) -> set[ops.Node]:
    """The named tables the expressions in `value` (an expression, or nested tuples, lists and dicts
    of them) read."""
    if isinstance(value, ir.Expr):
        return set(value.op().find(ops.UnboundTable))
    if isinstance(value, list | tuple):
        return set().union(*(_tables_in(v) for v in value))
    if isinstance(value, dict):
        return _tables_in(list(value.values()))
    return set()


def _key(value: object) -> Hashable:
    """`value` as a cache key: by content, and typed (so that True, 1 and Decimal(1) differ)."""
    if isinstance(value, ir.Expr):
        return ("expr", value.op())
    if isinstance(value, list | tuple):
        return (type(value).__name__, *(_key(v) for v in value))
    hash(value)  # an unhashable argument is a builder that cannot be reusable: fail loudly
    return (type(value), value)


def compiled_queries() -> tuple[int, int]:
    """(hits, misses) of the process's compiled-query cache since it was last cleared."""
    return _COMPILED.hits, _COMPILED.misses


def built_expressions() -> tuple[int, int]:
    """(hits, misses) of the process's `reusable` builders since they were last cleared."""
    return _BUILT.hits, _BUILT.misses


def clear_compiled() -> None:
    """Forget every compiled query and reusable expression (tests; a process never needs to)."""
    _COMPILED.clear()
    _BUILT.clear()
