"""Import and export use cases: validate everything first, then write everything in one transaction.

An import is all or nothing. Every file is parsed and checked (cells, rows, references to this import
and to the store, splits, trees) and *every* problem is collected; if any is an error nothing is written.
Otherwise the rows are upserted by key in load order inside one transaction that also writes the
change history (one row per changed field) and an audit event, so they commit or roll back together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection, Engine, func, insert, select

from openspm.domain.canonical import ENTITIES, ENTITY_BY_NAME, Problem
from openspm.ingest import integrity
from openspm.ingest.changes import EntityChanges, compared_columns, diff, inserted_rows
from openspm.ingest.csvfiles import read_directory, write_table
from openspm.ingest.parse import parse_raw
from openspm.ingest.tables import EXTRA_COLUMN, RawTable, canonical_schema
from openspm.services.reporting import rebuild_reporting_lines
from openspm.store import bulk
from openspm.store.audit import record_event
from openspm.store.columnar import read_arrow
from openspm.store.models import ENTITY_MODELS, ImportBatch

Progress = Callable[[str, int, int], None]
"""Called as (step description, steps done, steps in all) while an import runs."""


def _no_progress(_step: str, _done: int, _total: int) -> None:
    return None


@dataclass
class ImportReport:
    """What an import found and did. `ok` is false when any problem is an error: then nothing was written."""

    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    import_id: int | None = None
    dry_run: bool = False

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "import_id": self.import_id,
            "dry_run": self.dry_run,
            "counts": self.counts,
            "problems": [
                {"file": p.file, "row": p.row, "column": p.column, "reason": p.reason, "severity": p.severity}
                for p in self.problems
            ],
        }


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.severity != "error", p.file, p.row or 0, p.column or ""))


class _Store:
    """Reads of what the store already holds, each done once per import."""

    def __init__(self, engine: Engine) -> None:
        self.url = engine.url.render_as_string(hide_password=False)
        self._cache: dict[tuple[str, tuple[str, ...]], pa.Table] = {}

    def rows(self, entity: str, columns: list[str]) -> pa.Table:
        cache_key = (entity, tuple(columns))
        if cache_key not in self._cache:
            self._cache[cache_key] = read_arrow(self.url, entity, columns)
        return self._cache[cache_key]

    def keys(self, entity: str) -> pa.Array:
        key = ENTITY_BY_NAME[entity].key[0]
        return self.rows(entity, [key])[key].combine_chunks()


def import_directory(
    engine: Engine,
    directory: Path,
    *,
    mapping: str | Path | None = None,
    actor: str = "cli",
    dry_run: bool = False,
    progress: Progress = _no_progress,
) -> ImportReport:
    """Import the canonical files in `directory` (or a CRM export through a mapping file)."""
    if mapping is not None:
        from openspm.ingest.mapping import MappingError, apply_mapping, load_mapping, resolve_mapping

        try:
            spec = load_mapping(resolve_mapping(str(mapping)))
        except MappingError as exc:
            return ImportReport(_sorted(exc.problems))
        raw_tables, problems = apply_mapping(spec, directory)
        source = f"{directory} (mapping {mapping})"
    else:
        raw_tables, problems = read_directory(directory)
        source = str(directory)
    progress("read files", 1, 1)
    return import_raw(
        engine,
        raw_tables,
        source=source,
        mapping=None if mapping is None else str(mapping),
        actor=actor,
        dry_run=dry_run,
        progress=progress,
        problems=problems,
    )


def import_raw(
    engine: Engine,
    raw_tables: list[RawTable],
    *,
    source: str,
    actor: str,
    mapping: str | None = None,
    dry_run: bool = False,
    progress: Progress = _no_progress,
    problems: list[Problem] | None = None,
) -> ImportReport:
    """Parse, check and (when clean) write string tables; the path of `spm import`."""
    found = list(problems or [])
    typed: dict[str, tuple[RawTable, pa.Table]] = {}
    for step, raw in enumerate(raw_tables, start=1):
        table, table_problems = parse_raw(raw)
        found += table_problems
        if table is not None:
            typed[raw.entity] = (raw, table)
        progress(f"check {raw.file}", step, len(raw_tables))
    return _check_and_write(
        engine, typed, found, source=source, actor=actor, mapping=mapping, dry_run=dry_run, progress=progress
    )


def load_tables(
    engine: Engine,
    tables: Mapping[str, pa.Table],
    *,
    source: str,
    actor: str,
    progress: Progress = _no_progress,
) -> ImportReport:
    """Write already-typed tables (e.g. the demo company) through the same checks and the same writes."""
    typed = {
        name: (
            RawTable.from_table(name, ENTITY_BY_NAME[name].file_name, table),
            table.cast(canonical_schema(name)),
        )
        for name, table in tables.items()
    }
    return _check_and_write(
        engine, typed, [], source=source, actor=actor, mapping=None, dry_run=False, progress=progress
    )


def _check_and_write(
    engine: Engine,
    typed: dict[str, tuple[RawTable, pa.Table]],
    problems: list[Problem],
    *,
    source: str,
    actor: str,
    mapping: str | None,
    dry_run: bool,
    progress: Progress,
) -> ImportReport:
    store = _Store(engine)
    problems = problems + _integrity_problems(typed, store)
    report = ImportReport(_sorted(problems), dry_run=dry_run)
    if not report.ok:
        return report
    ordered = [e.name for e in ENTITIES if e.name in typed]
    changes: list[EntityChanges] = []
    for step, name in enumerate(ordered, start=1):
        table = typed[name][1]
        existing = store.rows(name, [*ENTITY_BY_NAME[name].key, *compared_columns(name, table)])
        changes.append(diff(name, table, existing))
        progress(f"compare {name}", step, len(ordered))
    report.counts = {c.entity: c.counts for c in changes}
    if dry_run:
        return report
    with engine.begin() as conn:
        report.import_id = _write(
            conn,
            changes,
            source=source,
            mapping=mapping,
            actor=actor,
            counts=report.counts,
            progress=progress,
        )
    return report


def _integrity_problems(typed: dict[str, tuple[RawTable, pa.Table]], store: _Store) -> list[Problem]:
    problems = integrity.check_references(typed, store.keys)
    if "opportunity_splits" in typed:
        problems += integrity.check_splits(*typed["opportunity_splits"])
    for name, (raw, table) in typed.items():
        entity = ENTITY_BY_NAME[name]
        if entity.parent_column and entity.parent_column in table.column_names:
            key = entity.key[0]
            stored = store.rows(name, [key, entity.parent_column])
            known = dict(zip(stored[key].to_pylist(), stored[entity.parent_column].to_pylist(), strict=True))
            problems += integrity.check_tree(raw, table, key, entity.parent_column, known)
    if "accounts" in typed:
        stored = store.rows("accounts", ["account_id", "name"])
        names = dict(zip(stored["account_id"].to_pylist(), stored["name"].to_pylist(), strict=True))
        problems += integrity.near_duplicate_accounts(*typed["accounts"], names)
    return problems


#: An import logs each row it inserts (`change_log`, field `*`) when it inserts at most this many of an
#: entity: what `spm calc run --changed` reads to recompute only the people new rows can credit. A larger
#: import (a first load, a re-sync) is not logged row by row; a `--changed` run then recomputes everyone.
LOGGED_INSERTS = 100_000

#: The key of an import's summary saying up to how many inserted rows per entity it logged.
INSERTS_LOGGED = "inserts_logged_up_to"


def _write(
    conn: Connection,
    changes: list[EntityChanges],
    *,
    source: str,
    mapping: str | None,
    actor: str,
    counts: dict[str, dict[str, int]],
    progress: Progress,
) -> int:
    started = datetime.now(UTC).replace(tzinfo=None)
    summary = {**counts, INSERTS_LOGGED: LOGGED_INSERTS}
    import_id = conn.execute(
        insert(ImportBatch)
        .values(started_at=started, actor=actor, source=source, mapping=mapping, summary=summary)
        .returning(ImportBatch.id)
    ).scalar_one()
    for step, change in enumerate(changes, start=1):
        entity = ENTITY_BY_NAME[change.entity]
        inserts = change.inserts
        if entity.parent_column and entity.parent_column in inserts.column_names:
            inserts = integrity.parents_first(inserts, entity.key[0], entity.parent_column)
        if inserts.num_rows:
            bulk.insert_arrow(conn, change.entity, inserts)
        if change.updates.num_rows:
            bulk.update_arrow(conn, change.entity, list(entity.key), change.updates)
        history = change.history
        if 0 < inserts.num_rows <= LOGGED_INSERTS:
            history = pa.concat_tables([history, inserted_rows(inserts, entity.key)])
        if history.num_rows:
            n = history.num_rows
            rows = history.append_column("entity", pa.array([change.entity] * n, pa.string()))
            bulk.insert_arrow(conn, "change_log", rows.append_column("import_id", pa.array([import_id] * n)))
        progress(f"write {change.entity}", step, len(changes))
    if any(c.entity == "assignments" and (c.inserts.num_rows or c.updates.num_rows) for c in changes):
        rebuild_reporting_lines(conn)
    record_event(
        conn,
        actor=actor,
        action="import",
        entity="import",
        entity_key=str(import_id),
        after={"source": source, "mapping": mapping, "counts": counts},
        at=started,
    )
    return import_id


# --- export ---------------------------------------------------------------------------------------
def export_directory(engine: Engine, directory: Path, *, progress: Progress = _no_progress) -> dict[str, int]:
    """Write every entity the store holds as canonical CSV files; return rows written per file."""
    directory.mkdir(parents=True, exist_ok=True)
    url = engine.url.render_as_string(hide_password=False)
    written: dict[str, int] = {}
    for step, entity in enumerate(ENTITIES, start=1):
        columns = [*entity.column_names, EXTRA_COLUMN]
        table = read_arrow(url, entity.name, columns)
        if table.num_rows:
            written[entity.file_name] = write_table(directory / entity.file_name, entity.name, table)
        progress(f"export {entity.name}", step, len(ENTITIES))
    return written


def count_rows(conn: Connection) -> dict[str, int]:
    """Rows per canonical entity in the store."""
    return {
        name: conn.execute(select(func.count()).select_from(model)).scalar_one()
        for name, model in ENTITY_MODELS.items()
    }
