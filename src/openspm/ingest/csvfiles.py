"""Reading and writing the canonical CSV files (DESIGN.md §8): UTF-8, header row, one file per entity."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from openspm.domain.canonical import ENTITIES, ENTITY_BY_NAME, Entity, Kind, Problem
from openspm.ingest.tables import EXTRA_COLUMN, RawTable


def read_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return next(csv.reader(handle), [])


def read_strings(path: Path) -> tuple[pa.Table, pa.Array, list[Problem]]:
    """Every cell of a CSV file as a string ('' for empty), with each row's spreadsheet row number.

    The fast path is pyarrow's multi-threaded reader. A row with the wrong number of cells is a problem
    (reported, row skipped); then the file is re-read with the csv module to number rows exactly.
    """
    header = read_header(path)
    ragged: list[object] = []

    def on_invalid_row(_row: object) -> str:
        ragged.append(_row)
        return "skip"

    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=8 << 20),
        parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid_row),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    if not ragged:
        return table, pa.array(range(2, table.num_rows + 2), pa.int64()), []
    return _read_ragged(path, header)


def _read_ragged(path: Path, header: list[str]) -> tuple[pa.Table, pa.Array, list[Problem]]:
    kept: list[list[str]] = []
    rows: list[int] = []
    problems: list[Problem] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        for row_number, record in enumerate(reader, start=2):
            if not record:
                continue
            if len(record) != len(header):
                reason = f"has {len(record)} cells but the header has {len(header)} (an unquoted comma?)"
                problems.append(Problem(path.name, row_number, None, reason))
                continue
            kept.append(record)
            rows.append(row_number)
    columns = {name: pa.array([r[i] for r in kept], pa.string()) for i, name in enumerate(header)}
    return pa.table(columns), pa.array(rows, pa.int64()), problems


def read_directory(directory: Path) -> tuple[list[RawTable], list[Problem]]:
    """The canonical files present in `directory` (any subset), in load order, as string tables."""
    problems: list[Problem] = []
    if not directory.is_dir():
        return [], [Problem(str(directory), None, None, "is not a directory")]
    tables: list[RawTable] = []
    for entity in ENTITIES:
        path = directory / entity.file_name
        if not path.exists():
            continue
        try:
            table, rows, file_problems = read_strings(path)
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            problems.append(Problem(entity.file_name, None, None, f"cannot be read as UTF-8 CSV: {exc}"))
            continue
        problems += file_problems
        tables.append(RawTable(entity.name, entity.file_name, table, rows))
    known = {e.file_name for e in ENTITIES}
    problems.extend(
        Problem(p.name, None, None, "is not a canonical file name and was ignored", severity="warning")
        for p in sorted(directory.glob("*.csv"))
        if p.name not in known
    )
    if not tables and not problems:
        problems.append(Problem(str(directory), None, None, "holds none of the canonical CSV files"))
    return tables, problems


# --- writing ------------------------------------------------------------------------------------
_TRAILING_ZEROS = r"(\.\d{2}\d*?)0+$"  # 1234.5000 → 1234.50, 0.1230 → 0.123: canonical and stable


def format_cells(array: pa.ChunkedArray, kind: Kind) -> pa.ChunkedArray:
    """Typed values as canonical CSV text (dates ISO, amounts without float, booleans true/false)."""
    if kind in (Kind.MONEY, Kind.DECIMAL):
        text = pc.cast(array, pa.string())
        if pc.any(pc.match_substring(text, "E")).as_py():  # Arrow writes zero as 0E-10
            text = pa.chunked_array(
                [pa.array([None if d is None else format(d, "f") for d in array.to_pylist()], pa.string())]
            )
        return pc.replace_substring_regex(text, _TRAILING_ZEROS, r"\1")
    if kind is Kind.TIMESTAMP:
        return pc.strftime(array, format="%Y-%m-%dT%H:%M:%S")
    if kind is Kind.BOOLEAN:
        return pc.if_else(array, "true", "false")
    return pc.cast(array, pa.string())


def _custom_columns(extra: pa.ChunkedArray) -> dict[str, list[str | None]]:
    decoded = [json.loads(v) if v else {} for v in extra.to_pylist()]
    names = sorted({k for d in decoded for k in d})
    return {n: [_custom_cell(d.get(n)) for d in decoded] for n in names}


def _custom_cell(value: object) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def format_table(entity: Entity, table: pa.Table) -> pa.Table:
    """A typed table as canonical CSV cells: spec column order, then custom fields by name."""
    present = [c for c in entity.columns if c.name in table.column_names]
    columns = {c.name: format_cells(table[c.name], c.kind) for c in present}
    if EXTRA_COLUMN in table.column_names:
        for name, values in _custom_columns(table[EXTRA_COLUMN]).items():
            if name not in columns:
                columns[name] = pa.chunked_array([pa.array(values, pa.string())])
    return pa.table(columns)


def write_table(path: Path, entity_name: str, table: pa.Table) -> int:
    """Write one typed table as a canonical CSV file, rows sorted by key; return the row count."""
    entity = ENTITY_BY_NAME[entity_name]
    ordered = table.sort_by([(k, "ascending") for k in entity.key]) if table.num_rows else table
    cells = format_table(entity, ordered)
    pacsv.write_csv(cells, path, write_options=pacsv.WriteOptions(quoting_style="needed"))
    return int(cells.num_rows)
