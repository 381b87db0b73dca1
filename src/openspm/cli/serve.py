"""`spm serve`: the web app."""

from __future__ import annotations

import typer


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, help="Worker processes (use PostgreSQL when more than one)."),
    proxy_headers: bool = typer.Option(False, help="Trust X-Forwarded-* from a reverse proxy (HTTPS)."),
) -> None:
    """Serve the web app and the REST API against the store named by SPM_DATABASE_URL."""
    import uvicorn

    typer.echo(f"OpenSPM on http://{host}:{port}  (store: {ctx.obj.settings.database_url})")
    uvicorn.run(
        "openspm.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=proxy_headers,
        forwarded_allow_ips="*" if proxy_headers else None,
    )
