"""Applying a mapping to an export directory: source files in, canonical `RawTable`s out."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from openspm.domain.canonical import ENTITIES, ENTITY_BY_NAME, Problem
from openspm.ingest.mapping.sources import Source, SourceReader
from openspm.ingest.mapping.spec import KEEP_ALL, ColumnSpec, Condition, FeedSpec, MappingSpec
from openspm.ingest.mapping.transforms import Frame, empty, evaluate
from openspm.ingest.tables import RawTable

_ROW = "__row__"


def apply_mapping(spec: MappingSpec, source_dir: Path) -> tuple[list[RawTable], list[Problem]]:
    """Read the export in `source_dir` through `spec`: one RawTable per entity, parents first.

    Every table keeps the export's file name and spreadsheet rows, so a problem found later names the
    user's own file and row. All problems are returned; none is raised.
    """
    reader = SourceReader(spec, source_dir)
    tables: list[RawTable] = []
    problems: list[Problem] = []
    for entity in ENTITIES:
        parts: list[RawTable] = []
        for feed in spec.entities.get(entity.name, []):
            table, feed_problems = _run_feed(entity.name, feed, reader)
            problems += feed_problems
            if table is not None:
                parts.append(table)
        if parts:
            tables.append(_combine(parts))
    if not tables and not any(p.severity == "error" for p in problems):
        problems.append(Problem(str(source_dir), None, None, "none of the files the mapping reads is here"))
    return tables, problems


def _run_feed(entity: str, feed: FeedSpec, reader: SourceReader) -> tuple[RawTable | None, list[Problem]]:
    source, problems = reader.read(feed.from_, purpose=entity)
    if source is None:
        return None, problems
    lookups, lookup_problems = _lookups(feed, reader, entity)
    missing = _missing_columns(entity, feed, source)
    problems += lookup_problems + missing
    if any(p.severity == "error" for p in lookup_problems + missing):
        return None, problems
    mask = _where(feed.where, source)
    table = source.table if mask is None else source.table.filter(mask)
    rows = source.rows if mask is None else source.rows.filter(mask)
    columns: dict[str, pa.Array] = {}
    for name in ENTITY_BY_NAME[entity].column_names:
        if name in feed.columns:
            frame = Frame(source, table, rows, f"{entity}.{name}", lookups.get)
            columns[name] = evaluate(feed.columns[name], frame)
            problems += frame.problems
    for name in _kept(feed, source, entity):
        columns[name] = pc.utf8_trim_whitespace(table.column(name).combine_chunks())
    out = pa.table(columns)
    if feed.distinct:
        out, rows = _first_per_key(entity, out, rows)
    return RawTable(entity, source.file, out, rows), problems


def _lookups(feed: FeedSpec, reader: SourceReader, entity: str) -> tuple[dict[str, Source], list[Problem]]:
    """The other sources this feed's lookups read, once each checked for the columns they need."""
    found: dict[str, Source] = {}
    problems: list[Problem] = []
    for target, spec in feed.columns.items():
        for lookup_spec in _specs(spec):
            if lookup_spec.lookup is None:
                continue
            lookup = lookup_spec.lookup
            other, read_problems = reader.read(lookup.source, purpose=f"the lookup of {entity}.{target}")
            problems += read_problems
            if other is None:
                continue
            missing = [c for c in (lookup.match, lookup.take) if c not in other.table.column_names]
            problems += [
                Problem(other.file, 1, c, f"column not found (needed by the lookup of {entity}.{target})")
                for c in missing
            ]
            if not missing:
                found[lookup.source] = other
    return found, problems


def _specs(spec: ColumnSpec) -> list[ColumnSpec]:
    """A column spec and the specs of its defaults, outermost first."""
    chain = [spec]
    while chain[-1].default is not None:
        chain.append(chain[-1].default)
    return chain


def _missing_columns(entity: str, feed: FeedSpec, source: Source) -> list[Problem]:
    """A problem for each source column the feed needs that the file's header lacks (row 1 = header)."""
    header = set(source.table.column_names)
    needed: dict[str, str] = {}
    for target, spec in feed.columns.items():
        for part in _specs(spec):
            for column, optional in part.source_columns():
                if not optional and column not in header:
                    needed.setdefault(column, f"{entity}.{target}")
    for cond in feed.where:
        if cond.column not in header:
            needed.setdefault(cond.column, f"the filter of {entity}")
    problems = [
        Problem(source.file, 1, c, f"column not found in the header (needed for {why})")
        for c, why in needed.items()
    ]
    problems += [
        Problem(source.file, 1, column, f"column to keep for {entity} not found", "warning")
        for column in feed.keep
        if column != KEEP_ALL and column not in header
    ]
    return problems


def _where(conditions: list[Condition], source: Source) -> pa.Array | None:
    """The rows that pass every condition, or None when there is no filter."""
    mask = None
    for cond in conditions:
        values = pc.utf8_trim_whitespace(source.table.column(cond.column).combine_chunks())
        test = _test(cond, values)
        mask = test if mask is None else pc.and_(mask, test)
    return mask


def _test(cond: Condition, values: pa.Array) -> pa.Array:
    if cond.equals is not None:
        return pc.equal(values, cond.equals)
    if cond.not_equals is not None:
        return pc.not_equal(values, cond.not_equals)
    if cond.in_ is not None:
        return pc.is_in(values, value_set=pa.array(cond.in_, pa.string()))
    if cond.not_in is not None:
        return pc.invert(pc.is_in(values, value_set=pa.array(cond.not_in, pa.string())))
    if cond.empty is not None:
        is_empty = pc.equal(values, "")
        return is_empty if cond.empty else pc.invert(is_empty)
    assert cond.matches is not None
    return pc.match_substring_regex(values, pattern=cond.matches)


def _kept(feed: FeedSpec, source: Source, entity: str) -> list[str]:
    """Source columns passed through as custom fields, under their own names."""
    header = source.table.column_names
    if KEEP_ALL not in feed.keep:
        return [c for c in feed.keep if c in header]
    used = {c for spec in feed.columns.values() for part in _specs(spec) for c, _ in part.source_columns()}
    canonical = set(ENTITY_BY_NAME[entity].column_names)
    return [c for c in header if c not in used and c not in canonical]


def _first_per_key(entity: str, table: pa.Table, rows: pa.Array) -> tuple[pa.Table, pa.Array]:
    """Keep the first row of each key (with its row number): entities derived from a detail file."""
    key = [c for c in ENTITY_BY_NAME[entity].key if c in table.column_names]
    if not key or table.num_rows == 0:
        return table, rows
    firsts = table.select(key).append_column(_ROW, rows).group_by(key, use_threads=False)
    first_rows = firsts.aggregate([(_ROW, "min")]).column(f"{_ROW}_min")
    keep = pc.is_in(rows, value_set=first_rows)
    return table.filter(keep), rows.filter(keep)


def _combine(parts: list[RawTable]) -> RawTable:
    """One RawTable of an entity fed by several feeds: rows in feed order, missing columns empty.

    The importer takes one table per entity. Rows from different files keep their own row numbers, and
    the table's `file` then names every file ("Task.csv + Event.csv").
    """
    if len(parts) == 1:
        return parts[0]
    files = list(dict.fromkeys(p.file for p in parts))
    names = list(dict.fromkeys(c for p in parts for c in p.table.column_names))
    tables = [
        pa.table({c: p.table.column(c) if c in p.table.column_names else empty(p.num_rows) for c in names})
        for p in parts
    ]
    rows = pa.concat_arrays([p.rows for p in parts])
    return RawTable(parts[0].entity, " + ".join(files), pa.concat_tables(tables), rows)
