"""What an import changes: new rows, changed rows and, field by field, the change history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from openspm.domain.canonical import ENTITY_BY_NAME, Kind
from openspm.ingest.csvfiles import format_cells
from openspm.ingest.parse import key_strings
from openspm.ingest.tables import EXTRA_COLUMN

CHANGE_SCHEMA = pa.schema(
    [("row_key", pa.string()), ("field", pa.string()), ("before", pa.string()), ("after", pa.string())]
)


@dataclass(frozen=True)
class EntityChanges:
    """The effect of importing one entity's rows onto what the store holds."""

    entity: str
    inserts: pa.Table
    updates: pa.Table  # key columns + every imported column, only rows that changed
    history: pa.Table  # CHANGE_SCHEMA: one row per changed field
    unchanged: int

    @property
    def counts(self) -> dict[str, int]:
        return {
            "inserted": self.inserts.num_rows,
            "updated": self.updates.num_rows,
            "unchanged": self.unchanged,
        }


def compared_columns(entity_name: str, new: pa.Table) -> list[str]:
    """Columns an import may change: those in the file (custom fields only when the file has some)."""
    key = ENTITY_BY_NAME[entity_name].key
    columns = [c for c in new.column_names if c not in key and c != EXTRA_COLUMN]
    if EXTRA_COLUMN in new.column_names and new[EXTRA_COLUMN].null_count < new.num_rows:
        columns.append(EXTRA_COLUMN)
    return columns


def _differs(a: pa.ChunkedArray, b: pa.ChunkedArray) -> pa.ChunkedArray:
    both_set_and_unequal = pc.fill_null(pc.not_equal(a, b), False)
    one_missing = pc.xor(pc.is_null(a), pc.is_null(b))
    return pc.or_(both_set_and_unequal, one_missing)


def diff(entity_name: str, new: pa.Table, old: pa.Table) -> EntityChanges:
    """Split `new` into inserts and updates against `old` (the stored rows), with per-field history."""
    entity = ENTITY_BY_NAME[entity_name]
    key = list(entity.key)
    columns = compared_columns(entity_name, new)
    new_idx = new.select(key).append_column("_n", pa.array(range(new.num_rows), pa.int64()))
    old_idx = old.select(key).append_column("_o", pa.array(range(old.num_rows), pa.int64()))
    pairs = new_idx.join(old_idx, keys=key, join_type="left outer", use_threads=False)
    matched = pairs.filter(pc.is_valid(pairs["_o"]))
    new_rows = pairs.filter(pc.is_null(pairs["_o"]))["_n"]
    inserts = new.take(pc.take(new_rows, pc.sort_indices(new_rows)))  # in file order
    n_rows, o_rows = new.take(matched["_n"]), old.take(matched["_o"])
    history: list[pa.Table] = []
    any_change = pa.array([False] * matched.num_rows, pa.bool_())
    row_keys = key_strings(n_rows, entity.key) if matched.num_rows else []
    for column in columns:
        changed = _differs(n_rows[column], o_rows[column])
        if not pc.any(changed).as_py():
            continue
        any_change = pc.or_(any_change, changed)
        history.append(
            _history(
                column,
                changed=changed,
                row_keys=row_keys,
                before=o_rows[column],
                after=n_rows[column],
                entity_name=entity_name,
            )
        )
    updates = n_rows.filter(any_change).select(key + columns)
    unchanged = matched.num_rows - updates.num_rows
    log = pa.concat_tables(history) if history else CHANGE_SCHEMA.empty_table()
    return EntityChanges(entity_name, inserts, updates, log, unchanged)


def _history(
    column: str,
    *,
    changed: pa.ChunkedArray,
    row_keys: list[str],
    before: pa.ChunkedArray,
    after: pa.ChunkedArray,
    entity_name: str,
) -> pa.Table:
    kind = Kind.TEXT if column == EXTRA_COLUMN else ENTITY_BY_NAME[entity_name].column(column).kind
    return pa.table(
        {
            "row_key": pa.array(row_keys, pa.string()).filter(changed.combine_chunks()),
            "field": pa.array([column] * int(pc.sum(changed).as_py()), pa.string()),
            "before": format_cells(before.filter(changed), kind),
            "after": format_cells(after.filter(changed), kind),
        },
        schema=CHANGE_SCHEMA,
    )


def inserted_rows(inserts: pa.Table, key: Sequence[str]) -> pa.Table:
    """CHANGE_SCHEMA rows saying each of `inserts` is new: its key, field `*`, no before or after."""
    n = inserts.num_rows
    return pa.table(
        {
            "row_key": pa.array(key_strings(inserts, tuple(key)), pa.string()),
            "field": pa.array(["*"] * n, pa.string()),
            "before": pa.nulls(n, pa.string()),
            "after": pa.nulls(n, pa.string()),
        },
        schema=CHANGE_SCHEMA,
    )
