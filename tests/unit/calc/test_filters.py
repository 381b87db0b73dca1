"""The filter translator: every node kind of the filter language becomes the Ibis expression it means.

Each case filters five transactions joined to their deal and keeps the ids written next to it; the
expected ids are read off the table below by hand.

    id  transaction.kind  transaction.amount  transaction.date  opportunity.name  opportunity.is_won
    T1  booking           100.50              2025-01-10        Acme New Logo     true
    T2  renewal           250                 2025-02-20        acme renewal      false
    T3  cancellation      -100.50             2025-03-05        Globex            null
    T4  invoice           0                   2025-03-31        null              true
    T5  null              1000                2025-04-01        Initech NEW LOGO  false
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import ibis
import pyarrow as pa
import pytest
from sqlglot import exp

from openspm.domain.plans.model import MeasureSource
from openspm.engine.calc.filters import FilterError, column_name, filter_expression, table_resolver, to_ibis

ROWS = pa.table(
    {
        "id": ["T1", "T2", "T3", "T4", "T5"],
        "transaction__kind": ["booking", "renewal", "cancellation", "invoice", None],
        "transaction__amount": pa.array(
            [Decimal("100.50"), Decimal(250), Decimal("-100.50"), Decimal(0), Decimal(1000)],
            pa.decimal128(18, 4),
        ),
        "transaction__date": pa.array(
            [date(2025, 1, 10), date(2025, 2, 20), date(2025, 3, 5), date(2025, 3, 31), date(2025, 4, 1)]
        ),
        "opportunity__name": ["Acme New Logo", "acme renewal", "Globex", None, "Initech NEW LOGO"],
        "opportunity__is_won": [True, False, None, True, False],
        "rule": ["owner", "owner", "revenue_split", "owner", "owner"],
    }
)
CON = ibis.duckdb.connect()


def kept(text: str) -> list[str]:
    table = ibis.memtable(ROWS)
    predicate = filter_expression(text, MeasureSource.CREDITS, table)
    return sorted(CON.to_pyarrow(table.filter(predicate)).column("id").to_pylist())


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("transaction.kind = 'booking'", ["T1"]),  # EQ
        ("transaction.kind <> 'booking'", ["T2", "T3", "T4"]),  # NEQ: null kind (T5) is unknown, not kept
        ("transaction.amount > 100.5", ["T2", "T5"]),  # GT with an exact decimal literal
        ("transaction.amount >= 100.5", ["T1", "T2", "T5"]),  # GTE
        ("transaction.amount < 0", ["T3"]),  # LT with a whole-number literal
        ("transaction.amount <= 0", ["T3", "T4"]),  # LTE
        ("transaction.amount = -100.50", ["T3"]),  # Neg literal
        ("transaction.kind = 'booking' AND transaction.amount > 100", ["T1"]),  # AND
        ("transaction.kind = 'booking' OR transaction.amount > 500", ["T1", "T5"]),  # OR
        ("NOT transaction.kind = 'booking'", ["T2", "T3", "T4"]),  # NOT (null stays unknown)
        ("(transaction.kind = 'invoice' OR transaction.kind = 'renewal') AND transaction.amount = 0", ["T4"]),
        ("transaction.kind IN ('booking', 'renewal')", ["T1", "T2"]),  # IN
        ("transaction.kind NOT IN ('booking', 'renewal')", ["T3", "T4"]),  # NOT IN
        ("transaction.amount BETWEEN 0 AND 250", ["T1", "T2", "T4"]),  # BETWEEN is inclusive
        ("transaction.amount NOT BETWEEN 0 AND 250", ["T3", "T5"]),
        ("transaction.kind IS NULL", ["T5"]),  # IS NULL
        ("opportunity.name IS NOT NULL", ["T1", "T2", "T3", "T5"]),  # IS NOT NULL
        ("opportunity.name LIKE '%New Logo%'", ["T1"]),  # LIKE is case-sensitive
        ("opportunity.name NOT LIKE 'acme%'", ["T1", "T3", "T5"]),  # NOT LIKE (null name out)
        ("opportunity.name ILIKE '%new logo%'", ["T1", "T5"]),  # ILIKE
        ("LOWER(opportunity.name) LIKE '%new logo%'", ["T1", "T5"]),  # LOWER
        ("UPPER(opportunity.name) = 'GLOBEX'", ["T3"]),  # UPPER
        ("COALESCE(opportunity.name, 'none') = 'none'", ["T4"]),  # COALESCE
        ("opportunity.is_won", ["T1", "T4"]),  # a boolean column on its own
        ("opportunity.is_won = FALSE", ["T2", "T5"]),  # Boolean literal
        ("opportunity.is_won IS TRUE", ["T1", "T4"]),
        ("opportunity.is_won IS FALSE", ["T2", "T5"]),  # null is neither
        ("transaction.date >= DATE '2025-03-05'", ["T3", "T4", "T5"]),  # DATE cast literal
        ("transaction.date BETWEEN DATE '2025-02-01' AND DATE '2025-03-31'", ["T2", "T3", "T4"]),
        ("kind = 'renewal'", ["T2"]),  # a bare name resolves to transaction.kind
        ("credit.rule = 'revenue_split'", ["T3"]),  # a field of the credit itself
        ("transaction.kind = NULL", []),  # comparing with NULL is never true
    ],
)
def test_each_node_kind_filters_as_sql_would(text: str, ids: list[str]) -> None:
    assert kept(text) == ids


def test_column_names_of_the_joined_table() -> None:
    assert column_name("opportunity", "name") == "opportunity__name"
    assert column_name("credit", "amount") == "amount"


def test_an_invalid_filter_is_refused_with_its_problems() -> None:
    table = ibis.memtable(ROWS)
    with pytest.raises(FilterError, match="unknown field"):
        filter_expression("transaction.nope = 1", MeasureSource.CREDITS, table)
    with pytest.raises(FilterError, match="not allowed"):
        filter_expression("transaction.kind = (SELECT 1)", MeasureSource.CREDITS, table)


def test_a_node_outside_the_language_raises() -> None:
    table = ibis.memtable(ROWS)
    tree = exp.Anonymous(this="SLEEP", expressions=[exp.Literal.number(1)])
    with pytest.raises(FilterError, match="not supported"):
        to_ibis(tree, table_resolver(table))


def test_a_field_missing_from_the_table_is_named() -> None:
    table = ibis.memtable(ROWS).drop("opportunity__name")
    with pytest.raises(FilterError, match=r"opportunity\.name"):
        filter_expression("opportunity.name = 'x'", MeasureSource.CREDITS, table)


def test_decimal_literals_keep_every_digit() -> None:
    """100.5000001 > 100.50 by 1e-7: a literal typed DECIMAL(18, 3) would round it to 100.500 and keep T1."""
    assert kept("transaction.amount >= 100.5000001") == ["T2", "T5"]


def test_between_with_decimal_bounds() -> None:
    """-100.5 ≤ amount ≤ 100.5 keeps T1 (100.50), T3 (−100.50) and T4 (0)."""
    assert kept("transaction.amount BETWEEN -100.5 AND 100.5") == ["T1", "T3", "T4"]
