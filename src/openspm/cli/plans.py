"""`spm plan`: check compensation plan files and compare two versions (docs/plans.md)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from openspm.domain.errors import InvalidRequest, OpenSPMError
from openspm.domain.plans import Plan, PlanValidation, diff_plans
from openspm.domain.plans.model import Draw, DrawKind
from openspm.engine.expressions import filter_problems
from openspm.ingest.plans import read_plan_file
from openspm.services import plans as plan_service
from openspm.services.calc_impact import plan_impact
from openspm.services.records import money_text

app = typer.Typer(
    help="Compensation plans as code: validate, compare, publish and assign plan versions.",
    no_args_is_help=True,
)


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
    ctx: typer.Context,
    before: Path = typer.Argument(..., help="The earlier plan version."),
    after: Path = typer.Argument(..., help="The later plan version."),
    against: str | None = typer.Option(
        None,
        "--against",
        help="Also re-run this period (e.g. 2025-Q1) under both versions and show the cost.",
    ),
) -> None:
    """Show what changed between two plan files, by path (+ added, - removed, ~ changed).

    With --against, everyone on the first plan is paid for the period under each version in turn (nothing
    is recorded), and each person's payout difference and the total cost change are listed.
    """
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
    if against is not None:
        _impact(ctx, before, after, against)


def _impact(ctx: typer.Context, before: Path, after: Path, period: str) -> None:
    try:
        impact = plan_impact(
            ctx.obj.engine, before.read_text(encoding="utf-8"), after.read_text(encoding="utf-8"), period
        )
    except OpenSPMError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    table = Table(title=f"{impact.plan_a} → {impact.plan_b}, {impact.period}")
    for name in ("person", impact.plan_a, impact.plan_b, "change"):
        table.add_column(name, justify="left" if name == "person" else "right")
    for p in impact.people:
        table.add_row(
            p.person_id,
            f"{money_text(p.before)} {p.currency}",
            f"{money_text(p.after)} {p.currency}",
            f"{_signed(p.change)} {p.currency}",
        )
    for currency, (cost_a, cost_b, change) in impact.totals().items():
        table.add_row(
            "total",
            f"{money_text(cost_a)} {currency}",
            f"{money_text(cost_b)} {currency}",
            f"{_signed(change)} {currency}",
            style="bold",
        )
    if not impact.people:
        typer.echo(f"nobody on {impact.plan_a.split()[0]} is paid in {impact.period}: no cost to compare")
        return
    Console(width=120).print(table)


def _signed(amount: Decimal) -> str:
    return ("+" if amount > 0 else "") + money_text(amount)


@app.command("publish")
def publish(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., help="Plan YAML files to publish."),
    actor: str = typer.Option("cli", help="Who is publishing (audit log)."),
) -> None:
    """Validate and store plan versions with their source; a published version never changes."""

    failed = 0
    for path in files:
        try:
            with ctx.obj.engine.begin() as conn:
                published = plan_service.publish_plan(
                    conn, path.read_text(encoding="utf-8"), actor=actor, file=str(path)
                )
        except plan_service.PlanRejected as exc:
            failed += 1
            for problem in exc.problems:
                typer.echo(f"error: {problem}", err=True)
            continue
        except OpenSPMError as exc:
            failed += 1
            typer.echo(f"error: {path}: {exc}", err=True)
            continue
        state = "published" if published.created else "already published (identical)"
        typer.echo(f"{published.name} v{published.version}: {state}")
    if failed:
        raise typer.Exit(1)


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List published plan versions."""

    with ctx.obj.engine.connect() as conn:
        for p in plan_service.list_plans(conn):
            until = p.effective_to.isoformat() if p.effective_to else "…"
            typer.echo(
                f"{p.name}\tv{p.version}\t[{p.effective_from}, {until})\t{p.currency}\t{p.fingerprint[:12]}"
            )


@app.command("assign")
def assign(
    ctx: typer.Context,
    person: str = typer.Argument(..., help="person_id"),
    plan: str = typer.Argument(..., help="Plan name"),
    version: int = typer.Option(..., help="Plan version."),
    start: str = typer.Option(..., "--from", help="First day (YYYY-MM-DD)."),
    end: str | None = typer.Option(None, "--to", help="First day no longer on the plan (exclusive)."),
    target_incentive: str = typer.Option(..., help="Variable pay at 100 % attainment, e.g. 60000."),
    currency: str = typer.Option("USD", help="Currency of the target incentive."),
    draw: str | None = typer.Option(
        None, help="The person's own draw per pay period (plan currency), replacing the plan's draw."
    ),
    draw_periods: int | None = typer.Option(None, help="How many pay periods the draw runs (with --draw)."),
    draw_kind: DrawKind = typer.Option(
        DrawKind.RECOVERABLE, help="recoverable (recovered from later earnings) or non_recoverable."
    ),
    actor: str = typer.Option("cli", help="Who is assigning (audit log)."),
) -> None:
    """Put a person on a plan version over [from, to) with a target incentive (and a draw of their own)."""

    try:
        if (draw is None) != (draw_periods is None):
            raise InvalidRequest("--draw and --draw-periods go together")
        own = (
            Draw(kind=draw_kind, amount=Decimal(draw), periods=draw_periods)
            if draw is not None and draw_periods is not None
            else None
        )
        assignment = plan_service.Assignment(
            person,
            plan,
            version,
            date.fromisoformat(start),
            date.fromisoformat(end) if end else None,
            Decimal(target_incentive),
            currency.upper(),
            own,
        )
        with ctx.obj.engine.begin() as conn:
            plan_service.assign_plan(conn, assignment, actor=actor)
    except (OpenSPMError, ValueError, InvalidOperation) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"{person} on {plan} v{version} from {start}"
        + (f" to {end}" if end else "")
        + (f", own {draw_kind.value} draw {draw} × {draw_periods}" if draw else "")
    )
