"""docs/kpis.md lists exactly the KPI catalogue: its table is rendered from `openspm.domain.kpis`.

Regenerate the table after changing the catalogue:
    .venv/bin/python tests/unit/test_kpi_docs.py   (prints the section to paste between the markers)
"""

from __future__ import annotations

from pathlib import Path

from openspm.domain.kpis import CATALOGUE

DOC = Path(__file__).resolve().parents[2] / "docs" / "kpis.md"
START, END = "<!-- kpi-catalogue:start -->", "<!-- kpi-catalogue:end -->"


def render_catalogue() -> str:
    lines = [
        "| name | label | kind | unit | better | formula |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for k in CATALOGUE:
        better = "higher" if k.higher_is_better else "lower"
        lines.append(f"| `{k.name}` | {k.label} | {k.kind.value} | {k.unit.value} | {better} | {k.formula} |")
    return "\n".join(lines)


def test_the_catalogue_table_is_rendered_from_the_catalogue() -> None:
    text = DOC.read_text()
    section = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert section == render_catalogue()


def test_every_kpi_is_named_once_in_the_table() -> None:
    section = DOC.read_text().split(START, 1)[1].split(END, 1)[0]
    names = [line.split("`")[1] for line in section.splitlines() if line.startswith("| `")]
    assert names == [k.name for k in CATALOGUE]


if __name__ == "__main__":
    pass
