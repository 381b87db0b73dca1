"""`spm demo`: the demo company."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from openspm.cli.progress import progress_bar
from openspm.services.demo import DEMO_PASSWORD, DemoUser, load_demo, store_summary

app = typer.Typer(help="The demo company: a realistic sales organisation to explore.", no_args_is_help=True)
console = Console()


@app.command()
def load(
    ctx: typer.Context,
    scale: float = typer.Option(1.0, help="Size multiplier: 1 ≈ 120 reps, 10 ≈ 1,200 reps (benchmarks)."),
    seed: int = typer.Option(2025, help="Random seed; the same seed always gives the same company."),
) -> None:
    """Generate the demo company and load it into the store (run `spm db upgrade` first)."""
    with progress_bar("loading demo company") as progress:
        result = load_demo(ctx.obj.engine, scale=scale, seed=seed, progress=progress)
    if not result.report.ok:
        for problem in result.report.errors[:50]:
            console.print(f"[red]error[/]: {problem}", highlight=False)
        raise typer.Exit(1)
    table = Table("entity", "inserted", "updated", "unchanged", title=f"demo company: {result.settings.name}")
    for entity, counts in result.report.counts.items():
        table.add_row(entity, *(f"{counts[k]:,}" for k in ("inserted", "updated", "unchanged")))
    console.print(table)
    pay = result.pay
    console.print(
        f"plans: {pay.plans_published} of {pay.plans} published, "
        f"{pay.assigned} of {pay.assignments} assignments added"
    )
    if pay.calculated or pay.already_calculated:
        console.print(
            f"pay calculated for {len(pay.calculated)} month(s), {pay.already_calculated} already done"
        )
    if pay.skipped_calculation:
        console.print(f"[yellow]no pay calculated[/]: {pay.skipped_calculation}", highlight=False)
    for conflict in pay.conflicts:
        console.print(f"[yellow]assignment kept as it was[/]: {conflict}", highlight=False)
    _print_sign_ins(result.users)


def _print_sign_ins(sign_ins: list[DemoUser]) -> None:
    table = Table("user name", "password", "role", "sees", title="demo sign-ins (http://127.0.0.1:8000)")
    for user in sign_ins:
        table.add_row(user.username, DEMO_PASSWORD, user.role.value, user.description)
    console.print(table)


@app.command()
def summary(ctx: typer.Context) -> None:
    """Count what the store holds."""
    table = Table("entity", "rows", title=f"store: {ctx.obj.engine.url.render_as_string()}")
    for entity, rows in store_summary(ctx.obj.engine).items():
        table.add_row(entity, f"{rows:,}")
    console.print(table)
