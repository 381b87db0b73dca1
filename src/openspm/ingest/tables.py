"""The two in-memory shapes an import passes through.

1. `RawTable`: cells as strings, exactly as a file (or a mapping of a CRM export) gave them, with the
   file name and spreadsheet row of every row so a problem can name where it came from.
2. A *typed* table: `pa.Table` with the Arrow types of `canonical_schema(entity)` — what validation
   produces, what the demo generator emits directly, and what the store loads.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from openspm.domain.canonical import ENTITY_BY_NAME, Entity, Kind

ARROW_TYPES: dict[Kind, pa.DataType] = {
    Kind.TEXT: pa.string(),
    Kind.DATE: pa.date32(),
    Kind.TIMESTAMP: pa.timestamp("us"),  # naive UTC
    Kind.MONEY: pa.decimal128(18, 4),
    Kind.DECIMAL: pa.decimal128(28, 10),
    Kind.NUMBER: pa.float64(),
    Kind.INTEGER: pa.int64(),
    Kind.BOOLEAN: pa.bool_(),
}

EXTRA_COLUMN = "extra"  # custom fields of a row, as a JSON object in a string (or null)


def canonical_schema(entity: Entity | str, *, with_extra: bool = True) -> pa.Schema:
    """Arrow schema of a typed table of `entity`: its canonical columns, then `extra`."""
    spec = ENTITY_BY_NAME[entity] if isinstance(entity, str) else entity
    fields = [pa.field(c.name, ARROW_TYPES[c.kind]) for c in spec.columns]
    if with_extra:
        fields.append(pa.field(EXTRA_COLUMN, pa.string()))
    return pa.schema(fields)


@dataclass(frozen=True)
class RawTable:
    """String cells of one entity, with where each row came from.

    `table` has one string column per source column present (canonical names after any mapping);
    `rows` holds, for each row, its spreadsheet row number in `file` (header = row 1).
    """

    entity: str
    file: str
    table: pa.Table
    rows: pa.Array

    @classmethod
    def from_table(cls, entity: str, file: str, table: pa.Table, first_row: int = 2) -> RawTable:
        rows = pa.array(range(first_row, first_row + table.num_rows), type=pa.int64())
        return cls(entity, file, table, rows)

    @property
    def num_rows(self) -> int:
        return int(self.table.num_rows)
