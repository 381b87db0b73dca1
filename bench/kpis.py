"""KPI benchmarks: the full refresh (every KPI, subject and quarter) and the dashboard page's server time.

The store is the demo company at `--scale 10` (≈ 1,200 reps, 300k deals, 1.4M stage changes, 5M
activities; 0.1 with `--quick`), built once by `bench.web.cached_store`. The measured part is the engine
(`engine.kpis.compute_kpis`, Ibis over DuckDB) on facts already in memory; reading them from the store
with `read_arrow` is timed apart and written with the engine's time to
`bench/results/kpis_refresh[.quick].detail.json`. The suite's peak memory is that of the whole process
(read and engine). Target (issue 4): a full refresh in ≤ 10 s.

`web_dashboard` times the dashboard page (`/dashboards/{unit}`: results against quota, trends, pipeline
by stage, funnel, cycle lengths, activity mix) in-process for the company, every region and 16 teams, as
an admin and as a regional director (who gets 404 for units outside their region, as the org case does):
the admin's first request (the cache is empty: facts read, KPIs computed) apart, then 1,000 requests
per role with the KPI cache warm. Target: p95 ≤ 300 ms.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date
from http import HTTPStatus

import httpx

from bench import Context, Measurement, case
from bench.web import DEMO_SCALE, REQUESTS, Site, _in_process, _site, cached_store, prepare, write_detail
from openspm.domain.periods import FiscalCalendar
from openspm.engine.kpis import KpiInputs, compute_kpis
from openspm.services.kpis import COLUMNS
from openspm.settings import Settings
from openspm.store.columnar import read_arrow
from openspm.web.app import create_app

QUARTERS = [f"{year}-Q{q}" for year in (2025, 2026) for q in (1, 2, 3, 4)]  # the demo's eight quarters
LEVELS = ["person", "team", "region", "company"]
AS_OF = date(2025, 10, 15)  # the demo's "today"


def _store(ctx: Context) -> None:
    cached_store(DEMO_SCALE * ctx.scale)


@case("kpis_refresh", setup=_store)
def refresh(ctx: Context) -> Measurement:
    """All KPIs × all subjects (person, team, region, company) × 8 quarters on the scale-10 demo."""
    url = f"sqlite:///{cached_store(DEMO_SCALE * ctx.scale)}"
    started = time.perf_counter()
    tables = {name: read_arrow(url, name, columns) for name, columns in COLUMNS.items()}
    load = time.perf_counter() - started
    inputs = KpiInputs(**tables, base_currency="USD")
    started = time.perf_counter()
    out = compute_kpis(inputs, calendar=FiscalCalendar(2), levels=LEVELS, periods=QUARTERS, as_of=AS_OF)
    seconds = time.perf_counter() - started
    facts = sum(t.num_rows for t in tables.values())
    write_detail(
        ctx,
        "kpis_refresh",
        {
            "load_seconds": round(load, 3),
            "engine_seconds": round(seconds, 3),
            "fact_rows": facts,
            "kpi_values": out.num_rows,
            "rows_per_table": {name: t.num_rows for name, t in tables.items()},
        },
    )
    return Measurement(rows=facts, seconds=seconds, tries=(seconds,))


@case("web_dashboard", setup=prepare)
def dashboard(ctx: Context) -> Measurement:
    """Server time of the dashboard page at demo scale 10, warm KPI cache: admin and manager, 1,000 each."""
    from openspm.services.kpis import clear_cache

    site = _site(ctx)
    paths = [f"/dashboards/{unit}" for unit in site.units]
    clear_cache()
    cold, _ = _in_process(ctx, {"admin": paths[:1]}, requests=1, warmup=0)
    mine = _visible_paths(site, paths, "manager")
    detail, seconds = _in_process(ctx, {"admin": paths, "manager": mine}, warmup=len(paths))
    write_detail(ctx, "web_dashboard", {"units": site.units, "first_request": cold, **detail})
    return Measurement(REQUESTS * len(detail), seconds)


def _visible_paths(site: Site, paths: list[str], role: str) -> list[str]:
    """The paths `role` may open (a regional director: their region and its teams), found by asking."""
    app = create_app(Settings(database_url=site.url, kpi_warm_seconds=0))
    headers = {"Authorization": f"Bearer {site.tokens[role]}"}

    async def probe() -> list[str]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            return [p for p in paths if (await client.get(p, headers=headers)).status_code == HTTPStatus.OK]

    try:
        return asyncio.run(probe())
    finally:
        app.state.engine.dispose()
