"""Worked examples on a second Ibis backend (PostgreSQL at 127.0.0.1, db `test`) give the same cents.

The calculation sends the same Ibis expressions to both backends; this runs scenarios that exercise
every step (tiers per transaction, advances, clawback carry-forward, draws, overrides) on DuckDB and on
PostgreSQL and compares the payout lines (amounts to the cent, components and kinds).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal

import ibis
import pytest

from openspm.engine.calc.run import CalcResult
from tests.unit.calc import test_payout_scenarios as s
from tests.unit.calc.payout_builders import booking, plan, quota, run, seat


@pytest.fixture(scope="module")
def postgres() -> Iterator[ibis.BaseBackend]:
    try:
        con = ibis.postgres.connect(host="127.0.0.1", user="postgres", database="test")
    except Exception as exc:
        pytest.skip(f"PostgreSQL at 127.0.0.1/test is not reachable: {exc}")
    yield con
    con.disconnect()


def _cents(result: CalcResult) -> list[tuple[str, str, str, str, Decimal]]:
    return [
        (r["person_id"], r["period"], r["component"], r["line_kind"], r["amount"])
        for r in result.payout_lines.to_pylist()
    ]


QUARTER = plan(
    s.commission("interpolated", "cumulative", "    cap: {multiple_of_target_incentive: 1.5}\n"),
    period=s.QUARTERLY,
)
CASES: dict[str, Callable[[ibis.BaseBackend | None], CalcResult]] = {
    "per_transaction_retroactive": lambda b: run(
        [plan(s.commission("retroactive", "per_transaction"))],
        "2025-03",
        transactions=s.MARCH,
        quotas=s.MARCH_QUOTA,
        backend=b,
    ),
    "quarter_advances_cap_odd_cents": lambda b: run(
        [QUARTER],
        "2025-Q1",
        transactions=[*s.Q1, booking("T9", "2025-02-03", "3333.33")],
        quotas=[quota("2025-Q1", 300001)],
        seats=[seat(start="2025-01-17", ti=61111)],
        backend=b,
    ),
    "clawback_and_draw_year": lambda b: run(
        [
            plan(
                s.FLAT_10,
                extra="clawback: {window_days: 90}\ndraw: {kind: recoverable, amount: 1500, periods: 2}\n",
            )
        ],
        "2025-Q2",
        transactions=[
            booking("T1", "2025-03-10", 100000, opp="O1"),
            booking("C1", "2025-04-05", -100000, kind="cancellation", opp="O1"),
            booking("T2", "2025-05-10", 7000, opp="O2"),
            booking("T3", "2025-06-10", 90000, opp="O3"),
        ],
        seats=[seat(start="2025-03-01")],
        backend=b,
    ),
    "override": lambda b: run(
        [plan(s.FLAT_10), s.MANAGER],
        "2025-03",
        transactions=[booking("T1", "2025-03-10", 40000, "P1"), booking("T2", "2025-03-12", 60000, "P2")],
        seats=[seat("P1"), seat("P2"), seat("M1", name="mgr")],
        assignments=[
            {
                "person_id": "P1",
                "role": "ae",
                "org_unit_id": "T",
                "manager_id": "M1",
                "start_date": "2024-01-01",
            },
            {
                "person_id": "P2",
                "role": "ae",
                "org_unit_id": "T",
                "manager_id": "M1",
                "start_date": "2024-01-01",
            },
        ],
        backend=b,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_cents_on_duckdb_and_postgres(case: str, postgres: ibis.BaseBackend) -> None:
    on_duckdb = CASES[case](None)
    on_postgres = CASES[case](postgres)
    assert _cents(on_duckdb), "a case must produce lines"
    assert _cents(on_postgres) == _cents(on_duckdb)
