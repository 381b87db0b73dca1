"""`spm import` and `spm export`: the canonical CSV format of DESIGN.md §8."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from openspm.cli.progress import progress_bar
from openspm.services.imports import ImportReport, export_directory, import_directory

console = Console()


class ReportFormat(StrEnum):
    text = "text"
    json = "json"


def import_command(
    ctx: typer.Context,
    directory: Path = typer.Argument(
        ..., help="Folder of canonical CSV files, or of a CRM export with --mapping."
    ),
    mapping: str | None = typer.Option(
        None,
        "--mapping",
        "-m",
        help="Mapping file (YAML) or a shipped mapping: salesforce, hubspot, maven-crm.",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check and count changes, write nothing."),
    actor: str = typer.Option("cli", help="Who is importing (recorded in the audit log)."),
    output: ReportFormat = typer.Option(ReportFormat.text, "--format", help="Report as text or JSON."),
) -> None:
    """Import CRM data. All or nothing: any bad row rejects the import and lists every problem."""
    with progress_bar("importing") as progress:
        report = import_directory(
            ctx.obj.engine, directory, mapping=mapping, actor=actor, dry_run=dry_run, progress=progress
        )
    if output is ReportFormat.json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        _print_report(report)
    if not report.ok:
        raise typer.Exit(1)


def _print_report(report: ImportReport) -> None:
    for problem in report.problems:
        style = "red" if problem.severity == "error" else "yellow"
        console.print(f"[{style}]{problem.severity}[/]: {problem}", highlight=False, soft_wrap=True)
    if not report.ok:
        console.print(f"[bold red]import rejected[/]: {len(report.errors)} error(s); nothing was written.")
        return
    table = Table(
        "entity", "inserted", "updated", "unchanged", title="would import" if report.dry_run else None
    )
    for entity, counts in report.counts.items():
        table.add_row(entity, *(f"{counts[k]:,}" for k in ("inserted", "updated", "unchanged")))
    console.print(table)
    if report.import_id is not None:
        console.print(f"import #{report.import_id} committed ({len(report.warnings)} warning(s)).")


def export_command(
    ctx: typer.Context,
    directory: Path = typer.Argument(..., help="Folder to write the canonical CSV files into."),
) -> None:
    """Export the store as canonical CSV files (re-importable: `spm import DIR`)."""
    with progress_bar("exporting") as progress:
        written = export_directory(ctx.obj.engine, directory, progress=progress)
    for name, rows in written.items():
        typer.echo(f"{name}: {rows:,} rows")
