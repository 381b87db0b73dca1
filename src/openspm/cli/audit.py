"""`spm audit`: check the audit log's hash chain."""

from __future__ import annotations

import typer

from openspm.store.audit import verify_chain

app = typer.Typer(help="Inspect the append-only audit log.", no_args_is_help=True)


@app.command()
def verify(ctx: typer.Context) -> None:
    """Recompute the hash chain; exit 1 and name each tampered event if any."""
    with ctx.obj.engine.connect() as conn:
        count, breaks = verify_chain(conn)
    for b in breaks:
        typer.echo(str(b), err=True)
    if breaks:
        typer.echo(f"audit log TAMPERED: {len(breaks)} problem(s) in {count} events", err=True)
        raise typer.Exit(1)
    typer.echo(f"audit log intact: {count} events verified")
