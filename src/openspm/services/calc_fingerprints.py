"""Fingerprints of a calculation: SHA-256 over canonical Arrow IPC bytes, so equal data hashes equal.

A table is made canonical before it is hashed: schema metadata dropped, rows sorted by its key columns
(all columns when it has none), chunks combined into one record batch, then written as an Arrow IPC
stream. Two tables with the same columns, types and rows therefore give the same bytes however they were
read or built, and any change of a value, a row or a type changes the fingerprint.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc


def canonical_table(table: pa.Table, keys: Sequence[str] | None = None) -> pa.Table:
    """`table` without metadata, its rows in key order (then by every other column), in one chunk."""
    plain = table.replace_schema_metadata(None)
    plain = pa.Table.from_arrays(
        [column.combine_chunks() for column in plain.columns],
        schema=pa.schema([field.remove_metadata() for field in plain.schema]),
    )
    if plain.num_rows > 0:  # even one row: `take` also settles the bytes under null slots
        order = list(keys) if keys else []
        if not order or not _unique(plain, order):  # unique keys leave no ties for other columns to break
            order += [n for n in plain.column_names if n not in order and _sortable(plain.schema.field(n))]
        plain = plain.sort_by([(n, "ascending") for n in order])
    return plain.combine_chunks()


def _unique(table: pa.Table, keys: Sequence[str]) -> bool:
    """Whether no two rows share their `keys` (a null key counts as a value that may repeat)."""
    if len(keys) == 1:
        distinct = pc.count_distinct(table.column(keys[0]), mode="all").as_py()
    else:
        distinct = table.group_by(list(keys), use_threads=False).aggregate([]).num_rows
    return bool(distinct == table.num_rows)


def _sortable(field: pa.Field) -> bool:
    return not pa.types.is_nested(field.type)


def canonical_bytes(table: pa.Table, keys: Sequence[str] | None = None) -> bytes:
    """The canonical table as one Arrow IPC stream."""
    canonical = canonical_table(table, keys)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, canonical.schema) as writer:
        for batch in canonical.to_batches():
            writer.write_batch(batch)
    return bytes(sink.getvalue())


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
        data = canonical_bytes(table, (keys or {}).get(name))
        digest.update(f"{len(data)}\n".encode())
        digest.update(data)
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
