"""`spm kpi`: KPIs for people, teams, regions or the company, as a table, JSON (DESIGN.md §8) or CSV."""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import asdict
from datetime import date
from enum import StrEnum

import typer
from rich.console import Console
from rich.table import Table

from openspm.domain.errors import OpenSPMError
from openspm.domain.kpis import CATALOGUE, Unit
from openspm.services import kpis as kpi_service


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def kpi_command(
    ctx: typer.Context,
    level: str = typer.Option(
        "company", "--level", help="person, an org-unit kind (team, region, …) or company."
    ),
    subject: list[str] = typer.Option([], "--subject", help="Only this person or org unit (repeatable)."),
    period: list[str] = typer.Option(
        [], "--period", help="A period label: 2025-Q2, 2025-03, FY2025, 2025-W07 (repeatable)."
    ),
    kpi: list[str] = typer.Option([], "--kpi", help="Only this KPI (repeatable; default: all, see --list)."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="See the data as of this day, YYYY-MM-DD (default: today)."
    ),
    output: Format = typer.Option(
        Format.TABLE, "--format", help="table, json (the list of DESIGN.md §8) or csv."
    ),
    list_kpis: bool = typer.Option(False, "--list", help="Print the KPI catalogue and exit."),
) -> None:
    """Compute KPIs for people, teams, regions or the company (docs/kpis.md)."""
    if list_kpis:
        _print_catalogue(output)
        return
    if not period:
        typer.echo("error: name at least one --period (e.g. --period 2025-Q2)", err=True)
        raise typer.Exit(2)
    try:
        day = date.fromisoformat(as_of) if as_of else None
        values = kpi_service.compute_kpis(
            ctx.obj.engine, level=level, periods=period, subjects=subject or None, kpis=kpi or None, as_of=day
        )
    except (OpenSPMError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    rows = [asdict(v) for v in values]
    if output is Format.JSON:
        typer.echo(json.dumps(rows, indent=2))
    elif output is Format.CSV:
        writer = csv.DictWriter(
            sys.stdout, fieldnames=["subject_id", "subject_level", "period", "kpi", "value"]
        )
        writer.writeheader()
        writer.writerows({**r, "value": "" if r["value"] is None else repr(r["value"])} for r in rows)
    else:
        _print_table(values)


def _shown(value: float | None, unit: Unit) -> str:
    if value is None:
        return "—"
    if unit is Unit.RATIO:
        return f"{value:.1%}"
    if unit is Unit.COUNT:
        return f"{value:,.0f}"
    if unit is Unit.MULTIPLE:
        return f"{value:.2f}×"
    return f"{value:,.2f}"


def _print_table(values: list[kpi_service.KpiValue]) -> None:
    units = {k.name: k.unit for k in CATALOGUE}
    labels = {k.name: k.label for k in CATALOGUE}
    table = Table("subject", "level", "period", "KPI", "value")
    for v in values:
        table.add_row(v.subject_id, v.subject_level, v.period, labels[v.kpi], _shown(v.value, units[v.kpi]))
    Console(width=120).print(table)


def _print_catalogue(output: Format) -> None:
    rows = [
        {
            "name": k.name,
            "label": k.label,
            "kind": k.kind.value,
            "unit": k.unit.value,
            "higher_is_better": k.higher_is_better,
            "formula": k.formula,
        }
        for k in CATALOGUE
    ]
    if output is Format.JSON:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    elif output is Format.CSV:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    else:
        table = Table("name", "label", "kind", "unit", "formula")
        for r in rows:
            table.add_row(str(r["name"]), str(r["label"]), str(r["kind"]), str(r["unit"]), str(r["formula"]))
        Console(width=160).print(table)
