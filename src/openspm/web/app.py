"""The web application factory: settings in, app out. Nothing connects at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openspm import __version__
from openspm.services import calc
from openspm.settings import Settings
from openspm.store.db import make_engine
from openspm.web import problems
from openspm.web.templating import make_templates

STATIC = Path(__file__).parent / "static"


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)


class SecurityHeaders:
    """No inline scripts, no framing, no sniffing: headers every response carries (plain ASGI)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with_policy = not scope["path"].startswith("/api/docs")  # Swagger UI runs an inline script

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if with_policy:
                    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("X-Frame-Options", "DENY")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for the store named by `settings.database_url`."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        calc.prepare_process()  # before serving: the engine imported, its libraries frozen for the GC
        warmer = None
        if settings.kpi_warm_seconds > 0:
            from openspm.ingest.sales_process import load_sales_process
            from openspm.services.warmer import CacheWarmer

            process = load_sales_process(settings.sales_process_file)
            warmer = CacheWarmer(app.state.engine, settings.kpi_warm_seconds, process=process)
            warmer.start()
        app.state.cache_warmer = warmer
        yield
        if warmer is not None:
            warmer.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="OpenSPM",
        version=__version__,
        summary="Sales performance management: behaviours, results, planning and pay.",
        docs_url="/api/docs",
        openapi_url="/openapi.json",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url)
    app.state.templates = make_templates()
    problems.install(app)
    from openspm.web.ui import errors as ui_errors

    ui_errors.install(app)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    from openspm.web.api import router as api_router
    from openspm.web.ui import router as ui_router

    app.include_router(api_router)
    app.include_router(ui_router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
