"""`spm calc`: run a period's calculation, list its results, explain a person's pay (docs/calc.md)."""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from openspm.cli.progress import progress_bar
from openspm.domain.errors import OpenSPMError
from openspm.services.records import money_text

if TYPE_CHECKING:  # the services load the engine: imported by the commands that use them
    from openspm.services import calc_results

app = typer.Typer(
    help="Incentive calculation: run a period, list payout lines, explain a person's pay.",
    no_args_is_help=True,
)
console = Console()


@app.command("run")
def run(
    ctx: typer.Context,
    period: str = typer.Option(..., help="Pay period, e.g. 2025-03."),
    person: list[str] = typer.Option([], "--person", help="Recompute only these people (repeatable)."),
    changed: bool = typer.Option(
        False,
        "--changed",
        help="Recompute only the people whose pay the changes since the period's last run for "
        "everyone can move (everyone, if they cannot be narrowed).",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Calculate and report, but record nothing."),
    actor: str = typer.Option("cli", help="Who is running it (audit log)."),
) -> None:
    """Calculate a period and record its payout lines (corrections to locked periods become deltas)."""
    if changed and person:
        typer.echo("error: --changed and --person cannot be combined", err=True)
        raise typer.Exit(2)
    try:
        from openspm.services import calc as calc_service
        from openspm.services import calc_changes

        payees: list[str] | None = person or None
        through = None
        if changed:
            with ctx.obj.engine.connect() as conn:
                found = calc_changes.changed_payees(conn, period)
            typer.echo(f"{period}: {found.reason}")
            if found.people == []:
                typer.echo("nothing to recompute")
                return
            payees, through = found.people, found.seen
        with progress_bar(f"calc {period}") as progress:
            summary = calc_service.run_calculation(
                ctx.obj.engine,
                period,
                payees=payees,
                dry_run=dry_run,
                by=actor,
                progress=progress,
                changes_through=through,
            )
    except OpenSPMError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    head = "dry run (nothing recorded)" if summary.dry_run else f"run #{summary.run_id} recorded"
    counts = f"{summary.payees} payee(s), {summary.lines} line(s), {summary.deltas} delta(s)"
    typer.echo(f"{summary.period}: {head}: {counts}")
    for currency, total in summary.totals.items():
        typer.echo(f"  total {money_text(total)} {currency}")
    if summary.corrected_periods:
        typer.echo(f"  rechecked closed periods: {', '.join(summary.corrected_periods)}")
    typer.echo(f"  inputs  {summary.inputs_fingerprint}")
    typer.echo(f"  plans   {summary.plans_fingerprint}")
    typer.echo(f"  outputs {summary.outputs_fingerprint}")
    typer.echo(f"  period status: {summary.status}")


def _rows(lines: list[calc_results.PayoutLinePublic]) -> list[dict[str, Any]]:
    return [line.model_dump(mode="json") for line in lines]


@app.command("results")
def results(
    ctx: typer.Context,
    period: str = typer.Option(..., help="Pay period, e.g. 2025-03."),
    person: list[str] = typer.Option([], "--person", help="Only these people (repeatable)."),
    output: str = typer.Option("table", "--format", help="table, json or csv."),
) -> None:
    """The current payout lines of a period: a table, JSON (with explanations) or CSV."""
    if output not in ("table", "json", "csv"):
        typer.echo("error: --format must be table, json or csv", err=True)
        raise typer.Exit(2)
    with ctx.obj.engine.connect() as conn:
        from openspm.services import calc_results

        lines = calc_results.current_payouts(conn, period=period, people=person or None)
    if output == "json":
        typer.echo(json.dumps(_rows(lines), indent=2, ensure_ascii=False))
    elif output == "csv":
        typer.echo(_csv(lines), nl=False)
    else:
        _table(lines, period)


def _csv(lines: list[calc_results.PayoutLinePublic]) -> str:
    out = io.StringIO()
    names = [
        "person_id",
        "period",
        "plan",
        "version",
        "component",
        "line_kind",
        "amount",
        "currency",
        "corrects_period",
        "run_id",
        "explanation",
    ]
    writer = csv.DictWriter(out, names, lineterminator="\n")
    writer.writeheader()
    for row in _rows(lines):
        row["explanation"] = json.dumps(row["explanation"], sort_keys=True, separators=(",", ":"))
        writer.writerow({name: row[name] for name in names})
    return out.getvalue()


def _table(lines: list[calc_results.PayoutLinePublic], period: str) -> None:
    if not lines:
        typer.echo(f"no payout lines for {period}: run `spm calc run --period {period}` first")
        return
    table = Table(title=f"Payout lines {period}")
    for name in ("person", "plan", "component", "kind", "corrects", "amount"):
        table.add_column(name, justify="right" if name == "amount" else "left")
    for line in lines:
        table.add_row(
            line.person_id,
            f"{line.plan} v{line.version}",
            line.component,
            line.line_kind,
            line.corrects_period or "",
            f"{money_text(line.amount)} {line.currency}",
        )
    console.print(table)


@app.command("explain")
def explain(
    ctx: typer.Context,
    person: str = typer.Option(..., "--person", help="person_id"),
    period: str = typer.Option(..., help="Pay period, e.g. 2025-03."),
) -> None:
    """A person's pay for a period as a waterfall: credits → measure → attainment → tiers → cap → line."""
    try:
        from openspm.services.calc_explain import explain_pay, waterfall

        explained = explain_pay(ctx.obj.engine, None, person, period)
    except OpenSPMError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    for text in waterfall(explained):
        typer.echo(text)
