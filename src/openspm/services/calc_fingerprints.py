"""Fingerprints of a calculation: SHA-256 over canonical Arrow IPC bytes, so equal data hashes equal.

A table is made canonical before it is hashed: schema metadata dropped, rows sorted by its key columns
(all columns when it has none), chunks combined into one record batch, then written as an Arrow IPC
stream. Two tables with the same columns, types and rows therefore give the same bytes however they were
read or built, and any change of a value, a row or a type changes the fingerprint.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def canonical_table(table: pa.Table, keys: Sequence[str] | None = None) -> pa.Table:
    """`table` without metadata, its rows in key order (then by every other column), in one chunk."""
    plain = table.replace_schema_metadata(None)
    plain = pa.Table.from_arrays(  # chunks are combined by `take` (or at the end): copied once
        plain.columns, schema=pa.schema([field.remove_metadata() for field in plain.schema])
    )
    if plain.num_rows > 0:  # even one row: `take` also settles the bytes under null slots
        order = list(keys) if keys else []
        indices = _unique_key_order(plain, order) if order else None
        if indices is None:
            if not order or not _unique(plain, order):  # unique keys leave no ties for other columns
                order += [
                    n for n in plain.column_names if n not in order and _sortable(plain.schema.field(n))
                ]
            indices = pc.sort_indices(plain, sort_keys=[(n, "ascending") for n in order])
        if indices is IN_ORDER:  # only columns with (possibly nested) null slots need rewriting
            plain = pa.Table.from_arrays(
                [_settled(c) if c.null_count or pa.types.is_nested(c.type) else c for c in plain.columns],
                schema=plain.schema,
            )
        else:
            plain = plain.take(indices)
    return plain.combine_chunks()


#: `_unique_key_order`'s answer for rows already in key order (none need moving).
IN_ORDER = pa.array([], pa.int64())


def _settled(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return column.take(pa.array(np.arange(len(column), dtype=np.int64)))


def _unique_key_order(table: pa.Table, keys: Sequence[str]) -> pa.Array | None:
    """The rows in key order when no two share their keys, else None (then every column breaks ties).

    Sorting first and comparing neighbours is an order of magnitude faster than counting distinct
    strings (10M transaction ids: 0.8 s against 7 s), and rows read in key order need no sort at all.
    A null key may repeat: one is allowed for a single key, none for several (they take the long way).
    """
    columns = [table.column(k).combine_chunks() for k in keys]
    if any(pa.types.is_floating(c.type) for c in columns):  # NaN is never equal to itself
        return None
    n = table.num_rows
    nulls = sum(c.null_count for c in columns)
    if nulls > (1 if len(keys) == 1 else 0):
        return None
    if (
        len(keys) == 1
        and nulls == 0
        and pc.all(pc.less(columns[0].slice(0, n - 1), columns[0].slice(1))).as_py()
    ):
        return IN_ORDER  # strictly increasing already: read in key order
    indices = pc.sort_indices(pa.table(columns, names=list(keys)), sort_keys=[(k, "ascending") for k in keys])
    same = None
    for column in columns:
        ordered = column.take(indices)
        equal = pc.equal(ordered.slice(0, n - 1), ordered.slice(1))
        same = equal if same is None else pc.and_(same, equal)
    if same is not None and pc.any(same).as_py():
        return None
    return indices


def _unique(table: pa.Table, keys: Sequence[str]) -> bool:
    """Whether no two rows share their `keys` (a null key counts as a value that may repeat)."""
    distinct = table.group_by(list(keys), use_threads=False).aggregate([]).num_rows
    return bool(distinct == table.num_rows)


def _sortable(field: pa.Field) -> bool:
    return not pa.types.is_nested(field.type)


def canonical_bytes(table: pa.Table, keys: Sequence[str] | None = None) -> bytes:
    """The canonical table as one Arrow IPC stream."""
    sink = pa.BufferOutputStream()
    _write_stream(canonical_table(table, keys), sink)
    return bytes(sink.getvalue())


def _write_stream(canonical: pa.Table, sink: pa.NativeFile) -> None:
    with pa.ipc.new_stream(sink, canonical.schema) as writer:
        for batch in canonical.to_batches():
            writer.write_batch(batch)


class _Digesting:
    """A write-only file that feeds what is written to a hash (the IPC stream is never held whole)."""

    closed = False

    def __init__(self, digest: Any) -> None:
        self.digest = digest

    def write(self, data: Any) -> int:
        self.digest.update(data)
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered."""

    def close(self) -> None:
        self.closed = True


def _hash_stream(digest: Any, table: pa.Table, keys: Sequence[str] | None) -> None:
    """Hash the table's canonical IPC stream preceded by its length, as `canonical_bytes` would give."""
    canonical = canonical_table(table, keys)
    counter = pa.MockOutputStream()
    _write_stream(canonical, counter)
    digest.update(f"{counter.size()}\n".encode())
    _write_stream(canonical, pa.PythonFile(_Digesting(digest), mode="w"))


def fingerprint_tables(
    tables: Mapping[str, pa.Table | None],
    keys: Mapping[str, Sequence[str]] | None = None,
    *,
    extra: Iterable[str] = (),
) -> str:
    """SHA-256 over each table's name and canonical bytes (in name order), then the `extra` text."""
    digest = hashlib.sha256()
    for name in sorted(tables):
        table = tables[name]
        digest.update(f"table {name}\n".encode())
        if table is None:
            digest.update(b"absent\n")
            continue
        _hash_stream(digest, table, (keys or {}).get(name))
    for text in extra:
        digest.update(f"extra {text}\n".encode())
    return digest.hexdigest()


def fingerprint_sources(sources: Iterable[tuple[str, int, str]]) -> str:
    """SHA-256 over the plan versions used, each as name, version and the SHA-256 of its source."""
    digest = hashlib.sha256()
    for name, version, source in sorted(sources):
        source_hash = hashlib.sha256(source.encode()).hexdigest()
        digest.update(f"{name}\t{version}\t{source_hash}\n".encode())
    return digest.hexdigest()
