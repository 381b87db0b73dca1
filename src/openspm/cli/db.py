"""`spm db`: schema migrations."""

from __future__ import annotations

import typer

from openspm.store import migrate

app = typer.Typer(help="Create or migrate the store (SPM_DATABASE_URL).", no_args_is_help=True)


@app.command()
def upgrade(ctx: typer.Context, revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Migrate the store to the newest schema (creates it if empty)."""
    engine = ctx.obj.engine
    reached = migrate.upgrade(engine, revision)
    typer.echo(f"store at {engine.url.render_as_string()} is at revision {reached}")


@app.command()
def current(ctx: typer.Context) -> None:
    """Show the store's schema revision and the newest one available."""
    engine = ctx.obj.engine
    typer.echo(f"current: {migrate.current_revision(engine)}  newest: {migrate.head_revision(engine)}")
