"""Parsing canonical cells: every bad cell is found, named by file, row and column, in one pass."""

from datetime import date, datetime
from decimal import Decimal

import pyarrow as pa

from openspm.domain.canonical import ENTITIES
from openspm.ingest.parse import parse_raw
from openspm.ingest.tables import RawTable, canonical_schema


def raw(entity: str, **columns: list[str]) -> RawTable:
    return RawTable.from_table(
        entity, f"{entity}.csv", pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})
    )


def transactions(**overrides: list[str]) -> RawTable:
    columns = {
        "transaction_id": ["T1", "T2"],
        "kind": ["booking", "cancellation"],
        "date": ["2025-01-31", "2025-02-01"],
        "amount": ["1200.50", "-99.9999"],
    }
    columns.update(overrides)
    return raw("transactions", **columns)


def test_clean_file_parses_to_the_canonical_types() -> None:
    table, problems = parse_raw(transactions(currency=["", "EUR"], region=["North", ""]))
    assert problems == []
    assert table is not None
    assert table.column_names == ["transaction_id", "kind", "date", "amount", "currency", "extra"]
    assert table["date"].to_pylist() == [date(2025, 1, 31), date(2025, 2, 1)]
    assert table["amount"].to_pylist() == [Decimal("1200.5000"), Decimal("-99.9999")]
    assert table["currency"].to_pylist() == ["USD", "EUR"]  # the default fills an empty cell
    assert table["extra"].to_pylist() == ['{"region": "North"}', None]  # unknown columns are custom fields


def test_every_bad_cell_is_reported_with_row_and_column() -> None:
    table, problems = parse_raw(
        transactions(
            kind=["booking", "refund"],
            date=["2025-02-30", "31/01/2025"],
            amount=["1.23456", "-5"],
        )
    )
    assert table is not None
    found = {(p.row, p.column) for p in problems}
    assert found == {(3, "kind"), (2, "date"), (3, "date"), (2, "amount"), (3, "amount")}
    reasons = {(p.row, p.column): p.reason for p in problems}
    assert "more than 4 decimal places" in reasons[(2, "amount")]
    assert "only a cancellation may be negative" in reasons[(3, "amount")]
    assert all(p.file == "transactions.csv" for p in problems)


def test_missing_required_column_stops_that_file_only() -> None:
    table, problems = parse_raw(
        raw("transactions", transaction_id=["T1"], kind=["booking"], date=["2025-01-01"])
    )
    assert table is None
    assert [(p.row, p.column, p.reason) for p in problems] == [(1, "amount", "required column is missing")]


def test_missing_required_value_and_duplicate_keys() -> None:
    _, problems = parse_raw(
        raw("people", person_id=["P1", "P2", "P1", ""], name=["Ann", "", "Ann again", "Nobody"])
    )
    messages = sorted((p.row, p.column, p.reason.split(":")[0]) for p in problems)
    assert messages == [
        (3, "name", "required value is missing"),
        (4, "person_id", "duplicate key 'P1'"),
        (5, "person_id", "required value is missing"),
    ]


def test_booleans_timestamps_and_row_rules() -> None:
    table, problems = parse_raw(
        raw(
            "opportunities",
            opportunity_id=["O1", "O2", "O3"],
            account_id=["A", "A", "A"],
            owner_id=["P", "P", "P"],
            amount=["10", "20", "30"],
            stage=["Won", "Open", "Won"],
            created_date=["2025-01-01"] * 3,
            close_date=["2025-02-01", "", ""],
            is_closed=["TRUE", "no", "1"],
            is_won=["yes", "0", "maybe"],
        )
    )
    assert table is not None
    assert table["is_closed"].to_pylist() == [True, False, True]
    assert [(p.row, p.column) for p in problems] == [(4, "is_won"), (4, "close_date")]

    history, problems = parse_raw(
        raw(
            "opportunity_history",
            opportunity_id=["O1", "O1"],
            stage=["A", "B"],
            changed_at=["2025-01-01T10:00:00Z", "2025-01-02T10:00:00+02:00"],
        )
    )
    assert problems == []
    assert history is not None
    assert history["changed_at"].to_pylist() == [datetime(2025, 1, 1, 10), datetime(2025, 1, 2, 8)]


def test_every_entity_parses_an_empty_file() -> None:
    for entity in ENTITIES:
        table, problems = parse_raw(raw(entity.name, **{c: [] for c in entity.column_names}))
        assert problems == []
        assert table is not None and table.schema == canonical_schema(entity)
