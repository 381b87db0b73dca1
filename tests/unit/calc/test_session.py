"""A run's SQL is compiled once per process and reused, and reusing it never changes what is paid.

`engine.calc.session` keys compiled SQL by the Ibis expression itself (its nodes compare by content),
names a run's tables by their order, and reads the people a run is for from a table. These tests hold
it to the promise that matters: a run served from the cache pays exactly what a run compiled from
scratch pays, for the same company, for other people, and for a plan whose rate changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import duckdb
import ibis
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from openspm.demo.synthetic import generate_synthetic
from openspm.engine.calc import session
from openspm.engine.calc.inputs import CalcInputs
from openspm.engine.calc.run import CalcResult, calculate
from openspm.services.calc_bench import synthetic_inputs
from tests.unit.calc.payout_builders import amounts, booking, plan, run

MONTH = "2026-01"


@pytest.fixture(scope="module")
def inputs() -> CalcInputs:
    data = generate_synthetic(36, 4_000)
    return synthetic_inputs({**data.tables, "plan_assignments": data.plan_assignments})


@pytest.fixture
def cold() -> Iterator[None]:
    """Each test starts from an empty cache (and leaves one), whatever ran before it."""
    session.clear_compiled()
    yield
    session.clear_compiled()


def _cold(inputs: CalcInputs, payees: list[str] | None = None) -> CalcResult:
    session.clear_compiled()
    return calculate(inputs, MONTH, payees=payees)


def _same(a: CalcResult, b: CalcResult) -> None:
    assert a.payout_lines.equals(b.payout_lines)
    assert a.measures.equals(b.measures)
    assert a.measure_credits.sort_by([(n, "ascending") for n in a.measure_credits.schema.names]).equals(
        b.measure_credits.sort_by([(n, "ascending") for n in b.measure_credits.schema.names])
    )


def _people(inputs: CalcInputs, role: str) -> list[str]:
    a = inputs.assignments
    return sorted(set(a.filter(pc.equal(a["role"], role))["person_id"].to_pylist()))


@pytest.mark.usefixtures("cold")
def test_a_second_run_compiles_nothing_and_pays_what_a_cold_run_pays(inputs: CalcInputs) -> None:
    first = calculate(inputs, MONTH)
    hits, misses = session.compiled_queries()
    assert misses > 10 and hits == 0
    assert first.payout_lines.num_rows > 0
    built_hits, built = session.built_expressions()
    assert built > 5 and built_hits == 0
    second = calculate(inputs, MONTH)
    assert session.compiled_queries() == (misses, misses), "every query of the second run is reused"
    built_hits, built_again = session.built_expressions()
    assert built_again == built and built_hits > 5, "every reusable expression is reused"
    _same(second, first)


@pytest.mark.usefixtures("cold")
def test_runs_for_other_people_reuse_the_queries_and_pay_what_cold_runs_pay(inputs: CalcInputs) -> None:
    reps = _people(inputs, "ae")
    first, other = [reps[0]], [reps[-1]]
    cold_other = _cold(inputs, other)
    calculate(inputs, MONTH, payees=first)
    before = session.compiled_queries()
    warm_other = calculate(inputs, MONTH, payees=other)
    hits, misses = session.compiled_queries()
    assert hits > before[0], "the second rep's run is served from the first rep's queries"
    assert misses == before[1], "who the run is for is data, not SQL"
    assert warm_other.payout_lines.num_rows > 0
    _same(warm_other, cold_other)


@pytest.mark.usefixtures("cold")
def test_a_manager_after_everyone_pays_what_a_cold_run_pays(inputs: CalcInputs) -> None:
    manager = _people(inputs, "manager")[:1]
    cold_manager = _cold(inputs, manager)
    calculate(inputs, MONTH)
    calculate(inputs, MONTH, payees=_people(inputs, "ae")[:2])
    warm_manager = calculate(inputs, MONTH, payees=manager)
    assert warm_manager.payout_lines.num_rows > 0
    _same(warm_manager, cold_manager)


@pytest.mark.usefixtures("cold")
def test_a_changed_rate_pays_the_new_rate_after_the_old_plan_ran() -> None:
    """Plans reach the SQL as parameter tables or literals; either way the old plan's rate is not paid."""

    def flat(rate: int) -> str:
        return plan(
            f"""  - kind: commission
    name: comm
    measure: bookings
    tiers_on: amount
    tiers:
      - {{from: 0, rate: {rate}}}
"""
        )

    march = [booking("T1", "2025-03-10", 70000), booking("T2", "2025-03-20", 50000)]
    ten = run([flat(10)], "2025-03", transactions=march)
    twenty = run([flat(20)], "2025-03", transactions=march)
    assert session.compiled_queries()[0] > 0, "the second plan's run reuses queries"
    # 10 % and 20 % of 120,000
    assert amounts(ten)[("P1", "2025-03", "comm")] == Decimal("12000.00")
    assert amounts(twenty)[("P1", "2025-03", "comm")] == Decimal("24000.00")


@pytest.mark.usefixtures("cold")
def test_a_query_over_in_memory_tables_is_not_kept() -> None:
    """Such a node holds its data: keeping it would keep the data, and it could never match again."""
    table = ibis.memtable(pa.table({"x": [1, 2, 3]}))
    with session.Session() as s:
        assert s.to_pyarrow(table.filter(table.x > 1)).column("x").to_pylist() == [2, 3]
        assert s.to_pyarrow(table.filter(table.x > 1)).num_rows == 2
    assert session.compiled_queries() == (0, 2)


def test_a_run_on_a_given_duckdb_connection_leaves_no_tables_behind(inputs: CalcInputs) -> None:
    con = ibis.duckdb.connect()

    def registered() -> list[str]:
        rows = con.con.execute("SELECT view_name FROM duckdb_views() WHERE view_name LIKE '_spm_%'")
        return [r[0] for r in rows.fetchall()]

    try:
        with session.Session(con) as s:
            s.table(pa.table({"x": [1]}))
            assert registered() == ["_spm_0"]  # what the check below would see
        assert registered() == []
        result = calculate(inputs, MONTH, backend=con, payees=_people(inputs, "ae")[:1])
        assert result.payout_lines.num_rows > 0
        assert registered() == []
    finally:
        con.disconnect()


def test_among_reads_the_people_from_a_table() -> None:
    with session.Session() as s:
        t = s.table(pa.table({"person_id": ["A", "B", None, "C"]}))
        kept = s.to_pyarrow(t.filter(session.among(t.person_id, ["C", "A", "A"])))
        assert sorted(kept.column("person_id").to_pylist()) == ["A", "C"]
        assert s.to_pyarrow(t.filter(session.among(t.person_id, []))).num_rows == 0


def test_every_window_of_a_year_reads_the_queries_its_first_window_compiled(
    inputs: CalcInputs, monkeypatch: pytest.MonkeyPatch, cold: None
) -> None:
    """A window's bounds are cut from the Arrow inputs, never written into the SQL: a year credited a
    few months at a time compiles what one window compiles, and every later window reuses it."""
    from openspm.engine.calc import measures

    monkeypatch.setattr(measures, "WINDOW_LINES", 500)
    monkeypatch.setattr(measures, "STAGE_ALL_LINES", 0)  # the path of a large run
    year = inputs.calendar.parse("FY2026")
    parts = measures.windows(inputs.transactions, year.start, year.end)
    assert len(parts) >= 6
    detail = measures.Detail(cancelled=True, credit_days=True)
    measures.credit_and_measure(inputs, *parts[0], detail=detail)
    one_window = session.compiled_queries()[1]
    session.clear_compiled()
    measures.credit_and_measure(inputs, year.start, year.end, detail=detail)
    hits, misses = session.compiled_queries()
    assert one_window > 0
    assert misses == one_window
    assert hits == (len(parts) - 1) * one_window


def test_a_callers_read_only_duckdb_database_can_run_a_session(tmp_path: object) -> None:
    """The exact-division macro is temporary: a caller's database file is not written to."""
    from pathlib import Path

    import duckdb

    path = Path(str(tmp_path)) / "facts.duckdb"
    duckdb.connect(str(path)).close()
    backend = ibis.duckdb.connect(str(path), read_only=True)
    try:
        with session.Session(backend) as s:
            t = s.table(pa.table({"n": pa.array([Decimal(1)], pa.decimal128(38, 10))}))
            from openspm.engine.calc.tiers import divide, lit

            out = s.to_pyarrow(t.select(q=divide(t.n, lit(3))))
        assert out["q"].to_pylist() == [Decimal("0.3333333333")]
    finally:
        backend.disconnect()


def test_queries_run_directly_give_what_duckdbs_public_path_gives() -> None:
    """`arrow_of` skips DuckDB's relation layer (`con.sql`); the rows and types must be the same, for
    exact decimals, dates, NULLs, an empty result and a string that looks like a parameter marker."""
    assert session._SUBMIT is not None, "the pinned DuckDB runs queries directly (see arrow_of)"
    con = duckdb.connect()
    con.register(
        "t",
        pa.table(
            {
                "who": ["a", "b", None],
                "amount": pa.array([Decimal("1.0000000001"), Decimal("-2.5"), None], pa.decimal128(38, 10)),
                "day": pa.array([date(2026, 1, 1), None, date(2026, 3, 31)], pa.date32()),
            }
        ),
    )
    queries = [
        "SELECT who, amount * 3 AS tripled, day, '$1 ?' AS marker FROM t ORDER BY who NULLS LAST",
        "SELECT who, sum(amount) AS total FROM t GROUP BY who ORDER BY who",
        "SELECT * FROM t WHERE amount > 100",
    ]
    for sql in queries:
        direct = session.arrow_of(con, sql)
        assert direct.equals(con.sql(sql).to_arrow_table()), sql
    assert session.arrow_of(con, queries[0]).column("tripled").to_pylist()[0] == Decimal("3.0000000003")
    with pytest.raises(duckdb.Error):
        session.arrow_of(con, "SELECT no_such_column FROM t")


@session.reusable
def _doubled(t: ibis.Table, factor: object) -> ibis.Table:
    return t.mutate(y=t.x * ibis.literal(factor))


@session.reusable
def _registers(t: ibis.Table) -> ibis.Table:
    return t.union(session.memtable(pa.table({"x": [1]})))


_OUTSIDE: list[ibis.Table] = []


@session.reusable
def _reads_outside(t: ibis.Table) -> ibis.Table:
    return t.union(_OUTSIDE[0])


@pytest.mark.usefixtures("cold")
def test_a_reusable_builder_is_built_once_per_arguments_and_must_be_pure() -> None:
    """Equal arguments (a table of the same name and schema in a later session) give the expression
    built before; other values, even equal ones of another type, build anew; a builder that registers
    a table is refused; outside a session nothing is kept."""
    data = pa.table({"x": [1, 2]})
    with session.Session():
        first = _doubled(session.memtable(data), 2)
    with session.Session():
        again = _doubled(session.memtable(data), 2)
        assert again is first
        assert _doubled(session.memtable(data), 3) is not first
        assert _doubled(session.memtable(data), 2.0) is not first  # 2 == 2.0, but not the same literal
        with pytest.raises(RuntimeError, match="registered a table"):
            _registers(session.memtable(data))
        _OUTSIDE[:] = [session.memtable(data)]
        with pytest.raises(RuntimeError, match="read a table it was not given"):
            _reads_outside(session.memtable(data))
    assert session.built_expressions() == (1, 5)
    outside = ibis.memtable(data)
    assert _doubled(outside, 2) is not _doubled(outside, 2)
