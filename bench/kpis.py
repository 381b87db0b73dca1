"""KPI benchmarks: every KPI for every person, team, region and the company over eight quarters.

The store is the demo company at `--scale 10` (≈ 1,200 reps, 300k deals, 1.4M stage changes, 5M
activities; 0.1 with `--quick`), built once by `bench.web.cached_store`. The measured part is the engine
(`engine.kpis.compute_kpis`, Ibis over DuckDB) on facts already in memory; reading them from the store
with `read_arrow` is timed apart and written with the engine's time to
`bench/results/kpis_refresh[.quick].detail.json`. The suite's peak memory is that of the whole process
(read and engine). Target (issue 4): a full refresh in ≤ 10 s.
"""

from __future__ import annotations

import time
from datetime import date

from bench import Context, Measurement, case
from bench.web import DEMO_SCALE, cached_store, write_detail
from openspm.domain.periods import FiscalCalendar
from openspm.engine.kpis import KpiInputs, compute_kpis
from openspm.services.kpis import COLUMNS
from openspm.store.columnar import read_arrow

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
