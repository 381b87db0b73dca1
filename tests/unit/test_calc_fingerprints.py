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


def test_rows_already_in_key_order_give_the_same_bytes_without_a_sort() -> None:
    """The store often hands rows back in key order; that shortcut must not change a byte."""
    table = pa.table(
        {
            "id": [f"T{i:04}" for i in range(300)],
            "amount": [None if i % 5 == 0 else i % 11 for i in range(300)],
        }
    )
    in_order = canonical_bytes(table, ["id"])
    assert in_order == canonical_bytes(_shuffled(table, 4), ["id"])
    assert canonical_table(table, ["id"]).equals(_by_every_column(table))
    one_null_key = pa.table({"id": ["B", None, "A"], "amount": [1, 2, 3]})
    assert canonical_table(one_null_key, ["id"]).column("amount").to_pylist() == [3, 1, 2]


def test_a_fingerprint_hashes_each_table_s_length_and_canonical_bytes() -> None:
    """The stream is hashed as it is written, never held whole; the digest is that of the bytes."""
    import hashlib

    from openspm.services.calc_fingerprints import fingerprint_tables

    table = pa.table({"id": [f"T{i:05}" for i in range(5000)], "amount": [i % 13 for i in range(5000)]})
    expected = hashlib.sha256()
    for name, t in (("absent", None), ("lines", table)):
        expected.update(f"table {name}\n".encode())
        if t is None:
            expected.update(b"absent\n")
            continue
        data = canonical_bytes(t, ["id"])
        expected.update(f"{len(data)}\n".encode() + data)
    expected.update(b"extra period=2025-03\n")
    got = fingerprint_tables(
        {"lines": _shuffled(table, 2), "absent": None}, {"lines": ["id"]}, extra=["period=2025-03"]
    )
    assert got == expected.hexdigest()


def test_a_unique_compound_key_orders_the_rows_exactly_as_every_column_would() -> None:
    table = pa.table(
        {
            "deal": [f"O{i // 3:03}" for i in range(300)],
            "person": [f"P{i % 3}" for i in range(300)],
            "percent": [(i * 7) % 100 for i in range(300)],
        }
    )
    for seed in range(3):
        assert canonical_table(_shuffled(table, seed), ["deal", "person"]).equals(_by_every_column(table))
    with_null = pa.table({"deal": ["O1", "O1", None], "person": ["P2", "P1", "P1"], "v": [1, 2, 3]})
    assert canonical_table(_shuffled(with_null, 3), ["deal", "person"]).column("v").to_pylist() == [2, 1, 3]
