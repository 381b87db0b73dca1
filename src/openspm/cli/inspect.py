"""`spm inspect`: open deals checked against the sales process (docs/inspection.md)."""

from __future__ import annotations

import csv
import io
from datetime import date
from enum import StrEnum
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from openspm.domain.errors import OpenSPMError
from openspm.ingest.sales_process import load_sales_process
from openspm.services.inspections import InspectedDeal, inspect_deals
from openspm.services.records import money_text

CSV_COLUMNS = (
    "opportunity_id",
    "name",
    "owner_id",
    "stage",
    "amount",
    "currency",
    "value",
    "days_in_stage",
    "is_stuck",
    "skipped_stages",
    "earned_stage",
    "missing",
    "next_step_date",
    "next_step_missing",
    "next_step_overdue",
    "has_gaps",
)


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def inspect_command(
    ctx: typer.Context,
    subject: list[str] = typer.Option(
        [], "--subject", help="Person or org unit id (repeatable); default: everyone."
    ),
    level: str = typer.Option("person", help="What --subject names: person, team, region or company."),
    as_of: str | None = typer.Option(None, "--as-of", help="Inspection day YYYY-MM-DD (default: today)."),
    only_gaps: bool = typer.Option(False, "--only-gaps", help="List only deals with a gap."),
    output: Format = typer.Option(Format.TABLE, "--format", help="table, json (the full report) or csv."),
) -> None:
    """Inspect open deals against the sales process: earned stage, missing evidence, stuck, skipped
    stages, next step missing or overdue — most valuable deals first (docs/inspection.md)."""
    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError as exc:
        raise typer.BadParameter(f"not a date (YYYY-MM-DD): {as_of}", param_hint="--as-of") from exc
    try:
        report = inspect_deals(
            ctx.obj.engine,
            subjects=subject or None,
            level=level,
            as_of=day,
            process=load_sales_process(ctx.obj.settings.sales_process_file),
            only_gaps=only_gaps,
        )
    except OpenSPMError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    if output is Format.JSON:
        typer.echo(report.model_dump_json(indent=2))
    elif output is Format.CSV:
        typer.echo(_csv(report.deals), nl=False)
    else:
        _print_table(report.deals, title=f"{report.process}: open deals as of {report.as_of}")
        typer.echo(f"{sum(d.has_gaps for d in report.deals)} of {len(report.deals)} deals have gaps")


def _cells(deal: InspectedDeal) -> dict[str, Any]:
    row = {k: str(v).lower() if isinstance(v, bool) else v for k, v in deal.model_dump(mode="json").items()}
    row["skipped_stages"] = "; ".join(deal.skipped_stages)
    row["missing"] = "; ".join(m.criterion for m in deal.missing)
    return {name: row[name] for name in CSV_COLUMNS}


def _csv(deals: list[InspectedDeal]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(_cells(d) for d in deals)
    return out.getvalue()


def _print_table(deals: list[InspectedDeal], *, title: str) -> None:
    table = Table(title=title)
    for heading in ("deal", "owner", "stage", "value", "days", "earned", "missing", "flags"):
        table.add_column(heading, justify="right" if heading in ("value", "days") else "left")
    for deal in deals:
        flags = [
            name
            for name, on in (
                ("stuck", deal.is_stuck),
                ("skipped " + ", ".join(deal.skipped_stages), bool(deal.skipped_stages)),
                ("no next step", deal.next_step_missing),
                ("next step undated", deal.next_step_undated),
                ("next step overdue", deal.next_step_overdue),
            )
            if on
        ]
        table.add_row(
            deal.opportunity_id,
            deal.owner_id,
            deal.stage or f"? {deal.crm_stage}",
            "" if deal.value is None else money_text(deal.value),
            str(deal.days_in_stage),
            "yes" if deal.earned_stage else "no",
            ", ".join(m.criterion for m in deal.missing),
            "; ".join(flags),
        )
    Console().print(table)
