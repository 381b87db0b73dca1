"""`spm company` and `spm period`: settings, fiscal calendar and period statuses."""

from __future__ import annotations

import typer

from openspm.domain.errors import OpenSPMError
from openspm.domain.periods import PeriodStatus
from openspm.services import company

company_app = typer.Typer(
    help="Company settings: name, base currency, fiscal year start.", no_args_is_help=True
)
period_app = typer.Typer(
    help="Fiscal periods and their status (open → calculated → approved → locked).", no_args_is_help=True
)


@company_app.command("show")
def show(ctx: typer.Context) -> None:
    """Show the company settings."""
    with ctx.obj.engine.connect() as conn:
        s = company.get_settings(conn)
    typer.echo(
        f"name: {s.name}\nbase currency: {s.base_currency}\nfiscal year starts in month: "
        f"{s.fiscal_year_start_month}"
    )


@company_app.command("set")
def set_(
    ctx: typer.Context,
    name: str | None = typer.Option(None, help="Company name."),
    base_currency: str | None = typer.Option(None, help="ISO code of the base currency, e.g. USD."),
    fiscal_year_start_month: int | None = typer.Option(
        None, min=1, max=12, help="Month the fiscal year starts."
    ),
    actor: str = typer.Option("cli", help="Who is making the change (audit log)."),
) -> None:
    """Change company settings (audited)."""
    try:
        with ctx.obj.engine.begin() as conn:
            company.configure(
                conn,
                actor=actor,
                name=name,
                base_currency=base_currency,
                fiscal_year_start_month=fiscal_year_start_month,
            )
    except OpenSPMError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    show(ctx)


@period_app.command("show")
def period_show(
    ctx: typer.Context, label: str = typer.Argument(..., help="2025-03, 2025-Q1, FY2025…")
) -> None:
    """Show a period's dates and status."""
    try:
        with ctx.obj.engine.connect() as conn:
            p = company.period_status(conn, label)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{p.label} ({p.kind}) [{p.start} – {p.end}): {p.status}")


@period_app.command("list")
def period_list(ctx: typer.Context) -> None:
    """List periods whose status has been set (all others are open)."""
    with ctx.obj.engine.connect() as conn:
        for p in company.list_periods(conn):
            typer.echo(f"{p.label}\t{p.kind}\t{p.start}\t{p.end}\t{p.status}")


@period_app.command("set-status")
def period_set_status(
    ctx: typer.Context,
    label: str = typer.Argument(..., help="Period label."),
    status: PeriodStatus = typer.Argument(..., help="open, calculated, approved or locked."),
    actor: str = typer.Option("cli", help="Who is making the change (audit log)."),
) -> None:
    """Move a period to a new status (audited). A locked period can never change again."""
    try:
        with ctx.obj.engine.begin() as conn:
            p = company.set_period_status(conn, label, status, actor=actor)
    except OpenSPMError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{p.label}: {p.status}")
