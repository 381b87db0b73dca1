"""Cells to typed values: every column of a `RawTable` parsed at once, every bad cell reported.

Each parser tries one vectorised Arrow pass (the common case: the whole column is clean) and only when
that fails walks the column in Python to name each bad cell. Problems are returned, never raised.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from openspm.domain.canonical import ENTITY_BY_NAME, FALSE_WORDS, TRUE_WORDS, Column, Entity, Kind, Problem
from openspm.domain.money import parse_decimal
from openspm.ingest.tables import ARROW_TYPES, EXTRA_COLUMN, RawTable, canonical_schema

_PLAIN_DECIMAL = r"^-?\d+(\.\d+)?$"
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
_SCALE = {Kind.MONEY: 4, Kind.DECIMAL: 10}


class ColumnProblems:
    """Collects problems of one column: the row numbers of bad cells and why."""

    def __init__(self, raw: RawTable, column: str) -> None:
        self.raw, self.column, self.problems = raw, column, list[Problem]()

    def add(self, indices: pa.Array | list[int], reason: str | Callable[[int], str]) -> None:
        index_list = indices.to_pylist() if isinstance(indices, pa.Array) else indices
        rows = self.raw.rows
        for i in index_list:
            text = reason(i) if callable(reason) else reason
            self.problems.append(Problem(self.raw.file, rows[i].as_py(), self.column, text))


def _bad_indices(ok: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Indices where `ok` is false (nulls count as fine: they were empty cells)."""
    return pc.indices_nonzero(pc.invert(pc.fill_null(ok, True)))


def _per_cell(
    values: pa.Array, parse: Callable[[str], object], target: pa.DataType, sink: ColumnProblems, describe: str
) -> pa.Array:
    parsed: list[object] = []
    for i, text in enumerate(values.to_pylist()):
        if text is None:
            parsed.append(None)
            continue
        try:
            parsed.append(parse(text))
        except (ValueError, ArithmeticError) as exc:
            sink.add(
                [i], f"{text!r} is not {describe} ({exc})" if str(exc) else f"{text!r} is not {describe}"
            )
            parsed.append(None)
    return pa.array(parsed, type=target)


def _parse_decimal_cell(scale: int) -> Callable[[str], Decimal]:
    def parse(text: str) -> Decimal:
        value = parse_decimal(text)
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > scale:
            raise ValueError(f"more than {scale} decimal places")
        return value

    return parse


def _parse_timestamp_cell(text: str) -> datetime:
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _parse_bool_cell(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError("use true/false, 1/0 or yes/no")


def _parse_int_cell(text: str) -> int:
    return int(text.strip())


def parse_column(values: pa.Array, column: Column, sink: ColumnProblems) -> pa.Array:  # noqa: PLR0911 - one fast path per kind
    """Parse one column of strings (nulls = empty cells) into its Arrow type."""
    target = ARROW_TYPES[column.kind]
    kind = column.kind
    if kind is Kind.TEXT:
        return values
    try:
        if kind in _SCALE:
            if pc.all(pc.fill_null(pc.match_substring_regex(values, _PLAIN_DECIMAL), True)).as_py():
                return pc.cast(values, target)
        elif kind is Kind.DATE:
            if pc.all(pc.fill_null(pc.match_substring_regex(values, _ISO_DATE), True)).as_py():
                return pc.cast(values, target)
        elif kind is Kind.TIMESTAMP:
            return _fast_timestamps(values)
        elif kind is Kind.NUMBER:
            if pc.all(pc.fill_null(pc.match_substring_regex(values, _PLAIN_DECIMAL), True)).as_py():
                return pc.cast(values, target)
        elif kind is Kind.INTEGER:
            return pc.cast(values, target)
        elif kind is Kind.BOOLEAN:
            lowered = pc.utf8_lower(pc.utf8_trim_whitespace(values))
            is_true = pc.is_in(lowered, pa.array(sorted(TRUE_WORDS)))
            is_false = pc.is_in(lowered, pa.array(sorted(FALSE_WORDS)))
            if pc.all(pc.or_(is_true, is_false)).as_py() in (True, None):
                return pc.if_else(pc.is_null(values), pa.scalar(None, pa.bool_()), is_true)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass  # some cell is bad: find which below
    return _slow_parse(values, column, sink)


def _fast_timestamps(values: pa.Array) -> pa.Array:
    zoned = pc.match_substring_regex(values, r"(Z|[+-]\d{2}:?\d{2})$")
    if not pc.any(pc.fill_null(zoned, False)).as_py():
        return pc.cast(values, pa.timestamp("us"))
    if pc.all(pc.fill_null(zoned, True)).as_py():
        return pc.cast(pc.cast(values, pa.timestamp("us", tz="UTC")), pa.timestamp("us"))
    raise pa.ArrowInvalid("mixed naive and zoned timestamps")


def _slow_parse(values: pa.Array, column: Column, sink: ColumnProblems) -> pa.Array:
    target = ARROW_TYPES[column.kind]
    kind = column.kind
    if kind in _SCALE:
        what = "a plain decimal number (like 1234.50)"
        return _per_cell(values, _parse_decimal_cell(_SCALE[kind]), target, sink, what)
    if kind is Kind.DATE:
        return _per_cell(values, lambda t: date.fromisoformat(t.strip()), target, sink, "a date (YYYY-MM-DD)")
    if kind is Kind.TIMESTAMP:
        return _per_cell(values, _parse_timestamp_cell, target, sink, "an ISO 8601 timestamp")
    if kind is Kind.NUMBER:
        return _per_cell(values, lambda t: float(parse_decimal(t)), target, sink, "a number")
    if kind is Kind.INTEGER:
        return _per_cell(values, _parse_int_cell, target, sink, "a whole number")
    return _per_cell(values, _parse_bool_cell, target, sink, "a boolean")


def _bounds(values: pa.Array, column: Column, sink: ColumnProblems) -> None:
    if column.min_value is not None:
        low = pa.scalar(Decimal(column.min_value)) if column.kind in _SCALE else float(column.min_value)
        sink.add(_bad_indices(pc.greater_equal(values, low)), f"must be ≥ {column.min_value}")
    if column.max_value is not None:
        high = pa.scalar(Decimal(column.max_value)) if column.kind in _SCALE else float(column.max_value)
        sink.add(_bad_indices(pc.less_equal(values, high)), f"must be ≤ {column.max_value}")
    if column.choices is not None:
        allowed = ", ".join(column.choices)
        sink.add(_bad_indices(pc.is_in(values, pa.array(column.choices))), f"must be one of: {allowed}")


def _extra_json(raw: RawTable, custom: list[str]) -> pa.Array:
    if not custom:
        return pa.nulls(raw.num_rows, pa.string())
    columns = [raw.table[name].to_pylist() for name in custom]
    out: list[str | None] = []
    for cells in zip(*columns, strict=True):
        fields = {n: v for n, v in zip(custom, cells, strict=True) if v not in (None, "")}
        out.append(json.dumps(fields, sort_keys=True, ensure_ascii=False) if fields else None)
    return pa.array(out, pa.string())


def parse_raw(raw: RawTable) -> tuple[pa.Table | None, list[Problem]]:
    """Parse and check one raw table cell by cell; None when its header makes it unusable."""
    entity = ENTITY_BY_NAME[raw.entity]
    header = raw.table.column_names
    problems = [
        Problem(raw.file, 1, name, "required column is missing")
        for name in entity.required_columns
        if name not in header
    ]
    problems += [
        Problem(raw.file, 1, name, "column appears more than once")
        for name in sorted(set(header))
        if header.count(name) > 1
    ]
    if problems:
        return None, problems
    present = [c for c in entity.columns if c.name in header]
    arrays: dict[str, pa.Array] = {}
    for column in present:
        sink = ColumnProblems(raw, column.name)
        cells = pc.utf8_trim_whitespace(raw.table[column.name].combine_chunks())
        empty = pc.equal(cells, "")
        if column.default is not None:
            cells = pc.if_else(empty, column.default, cells)
        elif column.required:
            sink.add(pc.indices_nonzero(empty), "required value is missing")
        values = parse_column(
            pc.if_else(pc.equal(cells, ""), pa.scalar(None, pa.string()), cells), column, sink
        )
        _bounds(values, column, sink)
        arrays[column.name] = values
        problems += sink.problems
    custom = [n for n in header if n not in entity.column_names and n != EXTRA_COLUMN]
    arrays[EXTRA_COLUMN] = _extra_json(raw, custom)
    schema = canonical_schema(entity)
    table = pa.table({f.name: arrays[f.name] for f in schema if f.name in arrays})
    problems += _row_rules(entity, table, raw)
    problems += _duplicate_keys(entity, table, raw)
    return table, problems


# --- rules across the columns of one row ---------------------------------------------------------
def _rule(raw: RawTable, table: pa.Table, ok: pa.Array, column: str, reason: str) -> list[Problem]:
    sink = ColumnProblems(raw, column)
    sink.add(_bad_indices(ok), reason)
    return sink.problems


def _row_rules(entity: Entity, table: pa.Table, raw: RawTable) -> list[Problem]:
    names = set(table.column_names)
    problems: list[Problem] = []
    for start, end in (("start_date", "end_date"), ("hire_date", "termination_date")):
        if {start, end} <= names:
            problems += _rule(raw, table, pc.greater(table[end], table[start]), end, f"must be after {start}")
    if entity.name == "opportunities" and {"is_won", "is_closed"} <= names:
        problems += _rule(
            raw,
            table,
            pc.or_(pc.invert(table["is_won"]), table["is_closed"]),
            "is_won",
            "a won deal must be closed (is_closed = true)",
        )
        if "close_date" in names:
            closed_without_date = pc.and_(table["is_closed"], pc.is_null(table["close_date"]))
            problems += _rule(
                raw, table, pc.invert(closed_without_date), "close_date", "a closed deal needs its close_date"
            )
    if entity.name == "transactions":
        negative_ok = pc.or_(pc.equal(table["kind"], "cancellation"), pc.greater_equal(table["amount"], 0))
        problems += _rule(
            raw, table, negative_ok, "amount", "must be ≥ 0 (only a cancellation may be negative)"
        )
    if "currency" in names:
        problems += _rule(
            raw,
            table,
            pc.match_substring_regex(table["currency"], r"^[A-Z]{3}$"),
            "currency",
            "must be a three-letter ISO 4217 code in capitals (USD, EUR, …)",
        )
    return problems


def _duplicate_keys(entity: Entity, table: pa.Table, raw: RawTable) -> list[Problem]:
    if table.num_rows == 0 or not set(entity.key) <= set(table.column_names):
        return []
    indexed = table.select(list(entity.key)).append_column("_i", pa.array(range(table.num_rows)))
    firsts = indexed.group_by(list(entity.key), use_threads=False).aggregate([("_i", "min"), ("_i", "count")])
    repeated = firsts.filter(pc.greater(firsts["_i_count"], 1))
    if repeated.num_rows == 0:
        return []
    first_index = dict(zip(_key_strings(repeated, entity.key), repeated["_i_min"].to_pylist(), strict=True))
    keys = _key_strings(table, entity.key)
    rows = raw.rows.to_pylist()
    return [
        Problem(
            raw.file,
            rows[i],
            entity.key[0],
            f"duplicate key {key!r}: the same row key already appears in row {rows[first_index[key]]}",
        )
        for i, key in enumerate(keys)
        if key in first_index and first_index[key] != i
    ]


def _key_strings(table: pa.Table, key: tuple[str, ...]) -> list[str]:
    parts = [pc.cast(table[k], pa.string()).to_pylist() for k in key]
    return ["|".join("" if p is None else p for p in values) for values in zip(*parts, strict=True)]


key_strings = _key_strings
