"""`spm plan`: check compensation plan files and compare two versions (docs/plans.md)."""

from __future__ import annotations

from pathlib import Path

import typer

from openspm.domain.plans import Plan, PlanValidation, diff_plans
from openspm.engine.expressions import filter_problems
from openspm.ingest.plans import read_plan_file

app = typer.Typer(help="Compensation plans as code: validate and compare plan files.", no_args_is_help=True)


def _read(path: Path) -> PlanValidation:
    return read_plan_file(path, check_expression=filter_problems)


@app.command("validate")
def validate(files: list[Path] = typer.Argument(..., help="Plan YAML files to check.")) -> None:
    """Check plan files; list every problem with its path and exit 1 if any file is invalid."""
    failed = 0
    for path in files:
        result = _read(path)
        for problem in result.problems:
            typer.echo(f"error: {problem}", err=True)
        if result.ok and result.plan is not None:
            typer.echo(f"ok: {path} ({result.plan.name} v{result.plan.version})")
        else:
            failed += 1
    if failed:
        typer.echo(f"{failed} of {len(files)} plan file(s) invalid", err=True)
        raise typer.Exit(1)


@app.command("diff")
def diff(
    before: Path = typer.Argument(..., help="The earlier plan version."),
    after: Path = typer.Argument(..., help="The later plan version."),
) -> None:
    """Show what changed between two plan files, by path (+ added, - removed, ~ changed)."""
    plans: list[Plan] = []
    for path in (before, after):
        result = _read(path)
        for problem in result.problems:
            typer.echo(f"error: {problem}", err=True)
        if result.plan is None:
            raise typer.Exit(1)
        plans.append(result.plan)
    changes = diff_plans(plans[0], plans[1])
    for change in changes:
        typer.echo(str(change))
    if not changes:
        typer.echo("no differences")
