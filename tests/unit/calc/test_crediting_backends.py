"""Crediting and measures are portable Ibis: DuckDB and PostgreSQL give the same credits to the cent.

One company holds every worked example at once (splits, overlay, territory move, rollups through a
reorganisation, two currencies, filtered and counted measures, activities and deals). The engine's
expression runs on the in-process DuckDB (the default) and on Ibis's PostgreSQL backend (127.0.0.1,
database `test`; Ibis uploads the inputs as temporary tables), and the two results must be identical
Arrow tables — and match the hand-computed totals below.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import ibis
import pyarrow as pa
import pytest

from openspm.engine.calc.crediting import credit_expr, to_arrow
from openspm.engine.calc.inputs import CalcInputs
from openspm.engine.calc.measures import (
    MEASURE_TOTALS,
    credit_and_measure,
    measure_credit_expr,
    measure_totals_expr,
)
from openspm.engine.calc.tables import CREDITS, MEASURE_CREDITS
from tests.unit.calc.builders import booking, deal, make_inputs, plan_doc, rows, seat
from tests.unit.calc.test_crediting import FX_RATES, ORG

Q1 = (date(2025, 1, 1), date(2025, 4, 1))
D = Decimal


def company() -> CalcInputs:
    ae = plan_doc(
        "ae",
        crediting=[{"kind": "split", "name": "revenue_split"}, {"kind": "direct", "name": "owner"}],
        measures=[
            {
                "name": "bookings",
                "aggregate": "sum",
                "filter": "transaction.kind IN ('booking', 'cancellation')",
            },
            {
                "name": "new_logos",
                "aggregate": "count",
                "filter": "LOWER(opportunity.name) LIKE '%new logo%'",
            },
        ],
    )
    mgr = plan_doc(
        "mgr",
        crediting=[
            {"kind": "rollup", "name": "team", "levels": 1, "from_roles": ["ae"]},
            {"kind": "territory", "name": "territory_owner", "percent": "12.5"},
        ],
        measures=[{"name": "team", "aggregate": "sum"}],
    )
    director = plan_doc(
        "dir",
        crediting=[{"kind": "rollup", "name": "org", "percent": "33.3333333333"}],
        measures=[{"name": "org", "aggregate": "sum"}],
    )
    se = plan_doc(
        "se",
        crediting=[{"kind": "overlay", "name": "deal_team", "roles": ["se"]}],
        measures=[{"name": "supported", "aggregate": "sum", "filter": "credit.rule = 'deal_team'"}],
        currency="EUR",
    )
    sdr = plan_doc(
        "sdr",
        crediting=[{"kind": "direct", "name": "sourced_by"}],
        measures=[
            {
                "name": "meetings",
                "aggregate": "count",
                "source": "activities",
                "filter": "activity.type = 'meeting'",
            },
            {
                "name": "pipeline",
                "aggregate": "sum",
                "source": "opportunities",
                "filter": "opportunity.amount > 0",
            },
        ],
        period="monthly",
    )
    return make_inputs(
        plans=[ae, mgr, director, se, sdr],
        plan_assignments=[
            seat("R1", "ae"),
            seat("R2", "ae"),
            seat("M1", "mgr"),
            seat("M2", "mgr"),
            seat("D1", "dir"),
            seat("S1", "se", currency="EUR"),
            seat("Y1", "sdr"),
        ],
        assignments=[
            *ORG,
            {
                "person_id": "S1",
                "role": "se",
                "org_unit_id": "U1",
                "manager_id": "M1",
                "start_date": "2024-01-01",
            },
        ],
        territories=[
            {"territory_id": "EAST", "name": "East", "owner_id": "M1"},
            {"territory_id": "WEST", "name": "West", "owner_id": "M2"},
        ],
        account_assignments=[
            {
                "account_id": "A1",
                "territory_id": "EAST",
                "start_date": "2024-01-01",
                "end_date": "2025-02-15",
            },
            {"account_id": "A1", "territory_id": "WEST", "start_date": "2025-02-15"},
        ],
        opportunities=[
            deal("O1", "R1", name="Acme new logo", amount="1000", created_date="2025-01-03"),
            deal("O2", "R1", name="Acme upsell"),
            deal("O3", "Y1", amount="777.77", created_date="2025-02-07"),
        ],
        splits=[
            {"opportunity_id": "O2", "person_id": "R1", "percent": "60"},
            {"opportunity_id": "O2", "person_id": "R2", "percent": "40"},
            {"opportunity_id": "O1", "person_id": "S1", "percent": "0", "kind": "overlay"},
        ],
        transactions=[
            booking("T1", "2025-02-01", "1000", opportunity_id="O1", account_id="A1"),
            booking("T2", "2025-03-01", "333.33", opportunity_id="O2", account_id="A1", currency="EUR"),
            booking("T3", "2025-03-10", "-1000", opportunity_id="O1", kind="cancellation", account_id="A1"),
        ],
        activities=[
            {"activity_id": "M1", "person_id": "Y1", "type": "meeting", "occurred_at": "2025-02-03T09:00:00"},
            {"activity_id": "C1", "person_id": "Y1", "type": "call", "occurred_at": "2025-02-04T09:00:00"},
        ],
        fx_rates=FX_RATES,
    )


@pytest.fixture(scope="module")
def postgres() -> Iterator[ibis.BaseBackend]:
    con = ibis.postgres.connect(host="127.0.0.1", user="postgres", database="test")
    yield con
    con.disconnect()


def _all(backend: ibis.BaseBackend) -> tuple[pa.Table, pa.Table, pa.Table]:
    inputs = company()
    credits = to_arrow(credit_expr(inputs, *Q1), CREDITS, backend)
    measured_expr = measure_credit_expr(inputs, *Q1)
    measured = to_arrow(measured_expr, MEASURE_CREDITS, backend)
    totals = to_arrow(measure_totals_expr(measured_expr), MEASURE_TOTALS, backend)
    return credits, measured, totals


def test_duckdb_and_postgres_agree_to_the_cent(postgres: ibis.BaseBackend) -> None:
    on_duckdb = _all(ibis.duckdb.connect())
    on_postgres = _all(postgres)
    for mine, theirs in zip(on_duckdb, on_postgres, strict=True):
        assert mine.num_rows > 0
        assert mine.equals(theirs), (mine.to_pylist(), theirs.to_pylist())


def test_the_shared_company_totals_by_hand() -> None:
    """Measure totals of the shared company, on the default backend.

    - R1 bookings: T1 1,000 (owner) + T2 60 % × 333.33 EUR × 1.20 = 239.9976 + T3 −1,000 = 239.9976
    - R2 bookings: T2 40 % × 333.33 × 1.20 = 159.9984
    - R1 new_logos: T1 +1, T3 (cancellation of O1, a new logo) −1 = 0
    - M1 team: T1 rollup 1,000 + territory 12.5 % × 1,000 = 125 → 1,125 (T1 is before the 02-15 reorg)
    - M2 team: T2 rollup of R1 239.9976 + territory 12.5 % × 399.996 = 49.9995, and T3 rollup −1,000 +
      territory −125 → 239.9976 + 49.9995 − 1,125 = −835.0029
    - D1 org (rollup of every credit up the whole chain, 33.3333333333 %; the rolled-up percent is kept at
      10 places, so 60 % → 19.99999999998 → 20 %, 100 % → 33.3333333333 %, 12.5 % → 4.1666666667 %).
      R2 has no org assignment, so nothing of R2 rolls up:
        R1 T1 + T3: ±1,000 × 0.333333333333 cancel; R1 T2: 333.33 × 20 % × 1.20 = 79.9992
        M1 T1 territory 1,000 × 4.1666666667 % = 41.666666667, cancelled by M2's T3 −41.666666667
        M2 T2 territory 333.33 × 1.20 × 4.1666666667 % = 16.66650000013… → 16.6665000001
        S1 (via M1) T1 and T3 overlay credits ±333.333333333 cancel
      → 79.9992 + 16.6665000001 = 96.6657000001
    - S1 supported (EUR plan; the FX factor is kept at 10 places): T1 1,000 USD × (1 ÷ 1.10 = 0.9090909091)
      = 909.0909091; T3 −1,000 × (1 ÷ 1.20 = 0.8333333333) = −833.3333333 → 75.7575758
    - Y1 meetings 1 (2025-02), pipeline 777.77 (2025-02; O3 created 2025-02-07)
    """
    _, _, totals = _all(ibis.duckdb.connect())
    got = {(r[0], r[1]): r[2] for r in rows(totals, "person_id", "measure", "value")}
    assert got[("R1", "bookings")] == D("239.9976")
    assert got[("R2", "bookings")] == D("159.9984")
    assert got[("R1", "new_logos")] == 0
    assert got[("M1", "team")] == D(1125)
    assert got[("M2", "team")] == D("-835.0029")
    assert got[("D1", "org")] == D("96.6657000001")
    assert got[("S1", "supported")] == D("75.7575758")
    assert got[("Y1", "meetings")] == 1
    assert got[("Y1", "pipeline")] == D("777.77")


@pytest.mark.parametrize("backend_name", ["duckdb", "postgres"])
def test_staged_crediting_gives_the_rows_of_the_lazy_expression(
    backend_name: str, request: pytest.FixtureRequest
) -> None:
    """`credit_and_measure` (steps materialised once, measures in one pass) returns exactly the credits
    and measure credits of the single lazy expressions, on each backend."""
    backend = ibis.duckdb.connect() if backend_name == "duckdb" else request.getfixturevalue("postgres")
    credits, measured, _ = _all(backend)
    staged = credit_and_measure(company(), *Q1, backend=backend)
    assert staged.credits.num_rows == credits.num_rows > 0
    assert to_arrow(ibis.memtable(staged.credits), CREDITS).equals(credits)
    assert to_arrow(ibis.memtable(staged.measure_credits), MEASURE_CREDITS).equals(measured)


def test_staged_crediting_narrows_to_the_payees_after_rolling_up() -> None:
    """Only M1's credits are returned, and M1 still gets the rollup of R1's T1 (1,000, before the
    2025-02-15 reorganisation) and the EAST territory credit 12.5 % × 1,000 = 125: team = 1,125."""
    staged = credit_and_measure(company(), *Q1, payees=["M1"])
    assert set(staged.credits.column("person_id").to_pylist()) == {"M1"}
    team = [r["value"] for r in staged.measure_credits.to_pylist() if r["measure"] == "team"]
    assert sum(team) == D(1125)
