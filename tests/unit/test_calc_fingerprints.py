"""Canonical bytes behind run fingerprints: the same rows give the same bytes in any order."""

from __future__ import annotations

import random

import pyarrow as pa

from openspm.services.calc_fingerprints import canonical_bytes, canonical_table


def _shuffled(table: pa.Table, seed: int) -> pa.Table:
    order = list(range(table.num_rows))
    random.Random(seed).shuffle(order)
    return table.take(pa.array(order))


def _by_every_column(table: pa.Table) -> pa.Table:
    return table.sort_by([(n, "ascending") for n in table.column_names]).combine_chunks()


def test_a_unique_key_orders_the_rows_exactly_as_every_column_would() -> None:
    """With a unique key only the key is sorted on (no ties are left): the bytes are the same as before."""
    table = pa.table({"id": [f"T{i:04}" for i in range(500)], "amount": [i % 7 for i in range(500)]})
    for seed in range(3):
        assert canonical_table(_shuffled(table, seed), ["id"]).equals(_by_every_column(table))
        assert canonical_bytes(_shuffled(table, seed), ["id"]) == canonical_bytes(table, ["id"])


def test_a_repeated_or_null_key_falls_back_to_every_column() -> None:
    """Two rows with one key (or null keys) are told apart by their other columns, in any input order."""
    table = pa.table(
        {
            "id": ["A", "A", "B", None, None, "C"],
            "amount": [2, 1, 5, 4, 3, 0],
            "kind": ["x", "y", "x", "x", "y", "x"],
        }
    )
    expected = canonical_table(table, ["id"])
    for seed in range(5):
        assert canonical_table(_shuffled(table, seed), ["id"]).equals(expected)
    assert expected.column("amount").to_pylist() == [1, 2, 5, 0, 3, 4]
    pair = pa.table({"a": [1, 1, 1], "b": ["x", "x", "y"], "v": [9, 8, 7]})
    assert canonical_table(_shuffled(pair, 1), ["a", "b"]).column("v").to_pylist() == [8, 9, 7]
