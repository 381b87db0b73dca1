"""docs/import.md stays true: the column reference is rendered from the catalogue; every key is documented.

Regenerate the reference section after changing `openspm.domain.canonical`:
    .venv/bin/python tests/unit/test_mapping_docs.py   (prints the section to paste between the markers)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from openspm.domain.canonical import ENTITIES, Column, Entity
from openspm.ingest.mapping import (
    ColumnSpec,
    Condition,
    FeedSpec,
    LookupSpec,
    MappingSpec,
    SourceSpec,
    shipped_mappings,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "import.md"
START, END = "<!-- canonical-reference:start -->", "<!-- canonical-reference:end -->"


def _allowed(column: Column) -> str:
    parts = []
    if column.choices:
        parts.append(", ".join(f"`{c}`" for c in column.choices))
    if column.min_value is not None and column.max_value is not None:
        parts.append(f"{column.min_value} to {column.max_value}")
    elif column.min_value is not None:
        parts.append(f"≥ {column.min_value}")
    elif column.max_value is not None:
        parts.append(f"≤ {column.max_value}")
    return "; ".join(parts)


def _entity_section(entity: Entity) -> str:
    key = ", ".join(f"`{k}`" for k in entity.key)
    lines = [f"### `{entity.file_name}`", "", f"{entity.doc} Key: {key}."]
    if entity.parent_column:
        lines[-1] += f" A tree through `{entity.parent_column}`: parents are loaded before their children."
    lines += [
        "",
        "| column | type | required | references | allowed values | default | notes |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in entity.columns:
        ref = f"`{c.references}`" if c.references else ""
        default = f"`{c.default}`" if c.default is not None else ""
        required = "yes" if c.required else ""
        lines.append(
            f"| `{c.name}` | {c.kind.value} | {required} | {ref} | {_allowed(c)} | {default} | {c.doc} |"
        )
    return "\n".join(lines)


def render_reference() -> str:
    """The canonical column reference of docs/import.md, from `openspm.domain.canonical`."""
    return "\n\n".join(_entity_section(e) for e in ENTITIES)


def _doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def test_reference_section_is_rendered_from_the_catalogue() -> None:
    text = _doc_text()
    assert START in text
    assert END in text
    section = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert section == render_reference(), (
        "docs/import.md is stale: regenerate it (see this module's docstring)"
    )


def test_every_file_and_column_is_mentioned() -> None:
    text = _doc_text()
    for entity in ENTITIES:
        assert f"`{entity.file_name}`" in text
        for column in entity.columns:
            assert f"`{column.name}`" in text, f"{entity.name}.{column.name}"


def _keys(model: type) -> set[str]:
    fields = model.model_fields  # type: ignore[attr-defined]
    return {f.alias or name for name, f in fields.items()}


def test_every_mapping_key_is_documented() -> None:
    text = _doc_text()
    reference = text.split("## 3.", 1)[1].split("## 4.", 1)[0]
    for model in (MappingSpec, SourceSpec, FeedSpec, ColumnSpec, Condition, LookupSpec):
        for key in _keys(model):
            assert re.search(rf"`{re.escape(key)}[`:]", reference), (
                f"{model.__name__}.{key} is not documented"
            )


def test_worked_example_commands_are_documented() -> None:
    text = _doc_text()
    for command in ("spm db upgrade", "spm import /path/to/maven-crm --mapping maven-crm", "spm export out/"):
        assert command in text


def test_worked_example_shows_the_shipped_maven_mapping() -> None:
    shipped = shipped_mappings()["maven-crm"].read_text(encoding="utf-8").rstrip()
    assert f"```yaml\n{shipped}\n```" in _doc_text()


if __name__ == "__main__":
    sys.stdout.write(f"{START}\n{render_reference()}\n{END}\n")
