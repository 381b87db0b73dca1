"""Typed Arrow columns built from numpy arrays: ids, dates, timestamps, exact money and decimals.

The generator works in integers: days since 1970-01-01, microseconds since the epoch (naive UTC),
money in cents and decimals in fixed units. These helpers turn them into the Arrow types of
`canonical_schema` without a Python loop per row.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from openspm.ingest.tables import canonical_schema

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

EPOCH = date(1970, 1, 1)
US_PER_DAY = 86_400_000_000
US_PER_MINUTE = 60_000_000
NEVER = 10**7  # a day number far in the future: "no end"


def day_number(day: date) -> int:
    return (day - EPOCH).days


def to_date(number: int | np.integer) -> date:
    return EPOCH + timedelta(days=int(number))


def rng_for(seed: int, step: str) -> np.random.Generator:
    """An independent random stream per generation step, so one step's draws never shift another's."""
    return np.random.default_rng([seed, zlib.crc32(step.encode())])


def ids(prefix: str, numbers: Ints, width: int) -> pa.Array:
    """`prefix` + zero-padded number, e.g. ids("P", [7], 5) → "P00007"."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def pick(choices: Sequence[str | None] | pa.Array, index: Ints, valid: Bools | None = None) -> pa.Array:
    """choices[index] for every row; null where `valid` is false (or the index is negative)."""
    mask = index < 0 if valid is None else ~valid | (index < 0)
    indices = pa.array(np.where(mask, 0, index), pa.int64(), mask=mask)
    source = choices if isinstance(choices, pa.Array) else pa.array(list(choices), pa.string())
    return pc.take(source, indices)


def dates(days: Ints, valid: Bools | None = None) -> pa.Array:
    return pa.array(days.astype(np.int32), pa.date32(), mask=None if valid is None else ~valid)


def timestamps(micros: Ints) -> pa.Array:
    return pa.array(micros.astype(np.int64), pa.timestamp("us"))


def floats(values: Floats) -> pa.Array:
    return pa.array(values, pa.float64())


def bools(values: Bools) -> pa.Array:
    return pa.array(values, pa.bool_())


def _decimal(scaled: Ints, dtype: pa.DataType, valid: Bools | None) -> pa.Array:
    words = np.empty((len(scaled), 2), dtype=np.int64)
    words[:, 0] = scaled
    words[:, 1] = scaled >> 63  # two's-complement sign extension of the high 64 bits
    validity = None if valid is None else pa.array(valid, pa.bool_()).buffers()[1]
    return pa.Array.from_buffers(dtype, len(scaled), [validity, pa.py_buffer(words)], null_count=-1)


def money(cents: Ints, valid: Bools | None = None) -> pa.Array:
    """decimal128(18, 4) from whole cents."""
    return _decimal(cents.astype(np.int64) * 100, pa.decimal128(18, 4), valid)


def decimal(values: Ints, decimals: int, valid: Bools | None = None) -> pa.Array:
    """decimal128(28, 10) from integers counted in units of 10**-decimals."""
    return _decimal(values.astype(np.int64) * 10 ** (10 - decimals), pa.decimal128(28, 10), valid)


def json_objects(fields: Mapping[str, pa.Array]) -> pa.Array:
    """One JSON object per row from already-encoded JSON values (null values leave the key out)."""
    parts = [pc.binary_join_element_wise(f'"{name}": ', values, "") for name, values in fields.items()]
    body = pc.binary_join_element_wise(*parts, ", ", null_handling="skip")
    return pc.binary_join_element_wise("{", body, "}", "")


def json_strings(values: pa.Array) -> pa.Array:
    """JSON string literals of plain text (the demo's phrases contain no quote or backslash)."""
    return pc.binary_join_element_wise('"', values, '"', "")


def json_bools(values: Bools) -> pa.Array:
    return pick(["false", "true"], values.astype(np.int64))


def typed_table(entity: str, columns: Mapping[str, pa.Array], num_rows: int) -> pa.Table:
    """A table with exactly the canonical schema of `entity`; absent columns are all null."""
    schema = canonical_schema(entity)
    unknown = set(columns) - set(schema.names)
    if unknown:
        raise ValueError(f"{entity} has no column(s) {sorted(unknown)}")
    arrays = [
        columns[f.name].cast(f.type) if f.name in columns else pa.nulls(num_rows, f.type) for f in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)
