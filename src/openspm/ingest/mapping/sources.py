"""Finding and reading the files of a CRM export: every cell as a string, every row with its number."""

from __future__ import annotations

import csv
import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from openspm.domain.canonical import Problem
from openspm.ingest.mapping.spec import MappingSpec, SourceSpec

FIRST_DATA_ROW = 2  # spreadsheet numbering: the header is row 1


@dataclass(frozen=True)
class Source:
    """One export file read into memory: string columns (header names trimmed) and spreadsheet rows."""

    name: str  # the source's name in the mapping
    file: str  # the file name as found in the export directory
    table: pa.Table
    rows: pa.Array


@dataclass
class SourceReader:
    """Reads each source of a mapping at most once; problems of a source are reported once."""

    spec: MappingSpec
    directory: Path
    _cache: dict[str, Source | None] = field(default_factory=dict)

    def read(self, name: str, purpose: str) -> tuple[Source | None, list[Problem]]:
        """The source named `name` (None if it cannot be read), and its problems the first time."""
        if name in self._cache:
            return self._cache[name], []
        source_spec = self.spec.sources[name]
        path, problems = find_file(self.directory, source_spec, name, purpose)
        source = None
        if path is not None:
            source, read_problems = read_source(name, path, source_spec)
            problems += read_problems
        self._cache[name] = source
        return source, problems


def find_file(
    directory: Path, spec: SourceSpec, name: str, purpose: str
) -> tuple[Path | None, list[Problem]]:
    """The one file in `directory` matching the first pattern of `spec.file` that matches any."""
    if not directory.is_dir():
        return None, [Problem(str(directory), None, None, "not a directory")]
    files = sorted(p for p in directory.iterdir() if p.is_file())
    for pattern in spec.file:
        exact = [p for p in files if p.name == pattern]
        found = exact or [p for p in files if fnmatch.fnmatchcase(p.name.lower(), pattern.lower())]
        if len(found) == 1:
            return found[0], []
        if len(found) > 1:
            names = ", ".join(p.name for p in found)
            return None, [Problem(pattern, None, None, f"several files match ({names}); keep one")]
    severity = "warning" if spec.optional else "error"
    what = " or ".join(spec.file)
    reason = f"not found in {directory} (source {name!r} of the mapping, for {purpose})"
    if spec.optional:
        reason += "; skipped"
    return None, [Problem(what, None, None, reason, severity)]


def read_source(name: str, path: Path, spec: SourceSpec) -> tuple[Source | None, list[Problem]]:
    """Read a CSV file with every column as text; quoted fields may hold delimiters and newlines."""
    header, problems = _read_header(path, spec)
    if header is None:
        return None, problems
    invalid: list[Problem] = []

    def on_invalid_row(row: pacsv.InvalidRow) -> str:
        where = f"line {row.number}: " if row.number is not None else ""
        invalid.append(
            Problem(
                path.name,
                None,
                None,
                f"{where}{row.actual_columns} fields where the header has {row.expected_columns}: "
                f"{row.text[:80]!r}",
            )
        )
        return "skip"

    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=spec.encoding, use_threads=True),
            parse_options=pacsv.ParseOptions(
                delimiter=spec.delimiter, newlines_in_values=True, invalid_row_handler=on_invalid_row
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeError) as exc:
        return None, [*problems, Problem(path.name, None, None, f"cannot read as {spec.encoding} CSV: {exc}")]
    if invalid:
        return None, problems + invalid
    table, rename_problems = _clean_header(path.name, table)
    rows = pa.array(range(FIRST_DATA_ROW, FIRST_DATA_ROW + table.num_rows), type=pa.int64())
    return Source(name, path.name, table, rows), problems + rename_problems


def _read_header(path: Path, spec: SourceSpec) -> tuple[list[str] | None, list[Problem]]:
    encoding = "utf-8-sig" if spec.encoding.lower().replace("_", "-") in ("utf-8", "utf8") else spec.encoding
    try:
        with path.open(encoding=encoding, newline="") as handle:
            header = next(csv.reader(handle, delimiter=spec.delimiter), None)
    except (OSError, UnicodeError, LookupError, csv.Error) as exc:
        return None, [Problem(path.name, 1, None, f"cannot read the header as {spec.encoding} CSV: {exc}")]
    if not header:
        return None, [Problem(path.name, 1, None, "the file is empty: expected a header row")]
    return header, []


def _clean_header(file: str, table: pa.Table) -> tuple[pa.Table, list[Problem]]:
    """Trim header names; a name seen twice gets a suffix " (2)" and a warning."""
    names: list[str] = []
    problems = []
    for raw in table.column_names:
        name = raw.strip()
        if name in names:
            n = 2
            while f"{name} ({n})" in names:
                n += 1
            problems.append(
                Problem(
                    file,
                    1,
                    name,
                    f"appears twice in the header; the second is read as '{name} ({n})'",
                    "warning",
                )
            )
            name = f"{name} ({n})"
        names.append(name)
    return table.rename_columns(names), problems
