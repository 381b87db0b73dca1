"""Checks across rows and files: references resolve, splits total 100, trees have no cycles, near duplicates.

`known_keys` supplies the keys already in the store, so a file may refer to rows imported earlier.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from openspm.domain.canonical import ENTITY_BY_NAME, Problem
from openspm.domain.periods import FiscalCalendar
from openspm.ingest.tables import RawTable

KnownKeys = Callable[[str], pa.Array]
"""Keys of a single-key entity already in the store (e.g. every person_id)."""

HUNDRED = Decimal(100)


def _index_problems(
    raw: RawTable, indices: list[int], column: str, reason: Callable[[int], str]
) -> list[Problem]:
    rows = raw.rows
    return [Problem(raw.file, rows[i].as_py(), column, reason(i)) for i in indices]


def check_references(typed: Mapping[str, tuple[RawTable, pa.Table]], known_keys: KnownKeys) -> list[Problem]:
    """Every reference names a row in this import or already in the store."""
    cache: dict[str, pa.Array] = {}

    def keys_of(entity: str) -> pa.Array:
        if entity not in cache:
            key = ENTITY_BY_NAME[entity].key[0]
            here = typed[entity][1][key].combine_chunks() if entity in typed else pa.array([], pa.string())
            cache[entity] = pa.concat_arrays([here.cast(pa.string()), known_keys(entity).cast(pa.string())])
        return cache[entity]

    problems: list[Problem] = []
    for entity_name, (raw, table) in typed.items():
        entity = ENTITY_BY_NAME[entity_name]
        for column in entity.columns:
            if column.references is None or column.name not in table.column_names:
                continue
            target = column.references
            problems += _unknown(raw, table[column.name], keys_of(target), column.name, target)
        if entity_name == "quotas":
            problems += _check_quota_subjects(raw, table, keys_of)
    return problems


def _unknown(
    raw: RawTable, values: pa.ChunkedArray, known: pa.Array, column: str, target: str
) -> list[Problem]:
    found = pc.or_(pc.is_null(values), pc.is_in(values, value_set=known))
    bad = pc.indices_nonzero(pc.invert(found)).to_pylist()
    cells = values.to_pylist()
    label = ENTITY_BY_NAME[target].file_name
    return _index_problems(raw, bad, column, lambda i: f"{cells[i]!r} is not in {label} nor in the store")


def _check_quota_subjects(
    raw: RawTable, table: pa.Table, keys_of: Callable[[str], pa.Array]
) -> list[Problem]:
    problems: list[Problem] = []
    for kind, entity in (("person", "people"), ("org_unit", "org_units")):
        mask = pc.equal(table["subject_kind"], kind)
        indices = pc.indices_nonzero(pc.fill_null(mask, False))
        subset = raw.rows.take(indices)
        sub_raw = RawTable(raw.entity, raw.file, raw.table.take(indices), subset)
        problems += _unknown(
            sub_raw, table["subject_id"].take(indices), keys_of(entity), "subject_id", entity
        )
    calendar = FiscalCalendar()
    labels = table["period"].to_pylist()
    for i, label in enumerate(labels):
        try:
            calendar.parse(label)
        except ValueError as exc:
            problems += _index_problems(raw, [i], "period", lambda _i, e=exc: str(e))  # type: ignore[misc]
    return problems


def check_splits(raw: RawTable, table: pa.Table) -> list[Problem]:
    """Revenue splits of each deal must total exactly 100 percent."""
    revenue = table.filter(pc.equal(table["kind"], "revenue"))
    if revenue.num_rows == 0:
        return []
    totals = revenue.group_by("opportunity_id", use_threads=False).aggregate([("percent", "sum")])
    bad = totals.filter(pc.not_equal(totals["percent_sum"], pa.scalar(HUNDRED, totals["percent_sum"].type)))
    problems = []
    first_row = dict(zip(table["opportunity_id"].to_pylist(), raw.rows.to_pylist(), strict=True))
    for opportunity, total in zip(
        bad["opportunity_id"].to_pylist(), bad["percent_sum"].to_pylist(), strict=True
    ):
        problems.append(
            Problem(
                raw.file,
                first_row.get(opportunity),
                "percent",
                f"revenue splits of {opportunity!r} total {total.normalize()}, not 100",
            )
        )
    return problems


def check_tree(
    raw: RawTable, table: pa.Table, key: str, parent: str, known_parents: Mapping[str, str | None]
) -> list[Problem]:
    """No row may be its own ancestor (the tree formed with rows already stored)."""
    parents = dict(known_parents)
    parents.update(zip(table[key].to_pylist(), table[parent].to_pylist(), strict=True))
    rows = dict(zip(table[key].to_pylist(), raw.rows.to_pylist(), strict=True))
    problems = []
    for node, row in rows.items():
        seen = {node}
        cursor = parents.get(node)
        while cursor is not None:
            if cursor in seen:
                problems.append(Problem(raw.file, row, parent, f"{node!r} is its own ancestor (a cycle)"))
                break
            seen.add(cursor)
            cursor = parents.get(cursor)
    return problems


def parents_first(table: pa.Table, key: str, parent: str) -> pa.Table:
    """Order the rows of a tree so every parent precedes its children (foreign keys load cleanly)."""
    ids = table[key].to_pylist()
    parent_of = dict(zip(ids, table[parent].to_pylist(), strict=True))
    depth: dict[str, int] = {}

    def depth_of(node: str) -> int:
        chain, cursor = [], node
        while cursor in parent_of and cursor not in depth:
            chain.append(cursor)
            cursor = parent_of[cursor]
            if len(chain) > len(parent_of):  # a cycle; check_tree reports it
                break
        base = depth.get(cursor, 0) if cursor is not None else 0
        for offset, item in enumerate(reversed(chain), start=1):
            depth[item] = base + offset
        return depth[node]

    order = sorted(range(len(ids)), key=lambda i: depth_of(ids[i]))
    return table.take(pa.array(order, pa.int64()))


_SUFFIXES = re.compile(
    r"\b(incorporated|inc|corp|corporation|co|company|ltd|limited|llc|llp|plc|gmbh|ag|sa|sarl|bv|nv|oy|ab|pty)\b"
)


def normalise_name(name: str) -> str:
    """Lower case, punctuation and legal suffixes removed: 'ACME, Inc.' → 'acme'."""
    lowered = re.sub(r"[^\w\s]", " ", name.lower())
    return " ".join(_SUFFIXES.sub(" ", lowered).split())


def near_duplicate_accounts(raw: RawTable, table: pa.Table, stored: Mapping[str, str]) -> list[Problem]:
    """Warn about accounts whose normalised names collide (likely the same customer twice)."""
    seen: dict[str, str] = {normalise_name(n): i for i, n in stored.items()}
    problems = []
    for account_id, name, row in zip(
        table["account_id"].to_pylist(), table["name"].to_pylist(), raw.rows.to_pylist(), strict=True
    ):
        if name is None:
            continue
        norm = normalise_name(name)
        other = seen.get(norm)
        if other is not None and other != account_id:
            problems.append(
                Problem(
                    raw.file,
                    row,
                    "name",
                    f"{name!r} looks like account {other!r} (same name once normalised to {norm!r})",
                    severity="warning",
                )
            )
        else:
            seen.setdefault(norm, account_id)
    return problems
