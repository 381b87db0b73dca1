"""Micro benchmark of crediting and measures: per-step timings as JSON (not a `make bench` case).

    python -m bench.calc_crediting --payees 1000 --lines 1000000 [--period FY2026] [--cache DIR]

Generates the synthetic data (`demo.synthetic`, the demo plans) in memory — or reads it from `--cache`
(Arrow IPC files, written there on the first run) — and times, on one in-process DuckDB:

- `legacy_*`: what `engine.calc.run.calculate` did before: `credit_expr` executed, then
  `measure_credits_expr` over the credits as a memtable, then the totals;
- `fast_*`: `measures.credit_and_measure` (credits materialised once, every measure in one pass) and
  `measure_totals` over its result.

`--skip-legacy` leaves the legacy path out (it is slow at 10 M lines).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa

from openspm.demo.synthetic import generate_synthetic
from openspm.engine.calc.inputs import CalcInputs
from openspm.engine.calc.schedule import plan_steps, window_of
from openspm.services.calc_bench import Spec, read_tables, synthetic_inputs, write_synthetic


def _timed(timings: dict[str, float], name: str, work: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    out = work()
    timings[name] = round(time.perf_counter() - started, 3)
    return out


def _inputs(payees: int, lines: int, cache: Path | None) -> CalcInputs:
    if cache is None:
        data = generate_synthetic(payees, lines)
        return synthetic_inputs({**data.tables, "plan_assignments": data.plan_assignments})
    folder = cache / f"synthetic_{payees}_{lines}"
    if not (folder / "transactions.arrow").exists():
        write_synthetic(Spec(payees, lines), folder)
    return synthetic_inputs(read_tables(folder))


def _window(inputs: CalcInputs, period: str) -> tuple[Any, Any]:
    run = inputs.calendar.parse(period)
    plans = sorted(inputs.plans.values(), key=lambda p: (p.name, p.version))
    lookback = max((p.clawback.window_days for p in plans if p.clawback is not None), default=0)
    window = window_of(s for plan in plans for s in plan_steps(plan, inputs.calendar, run, lookback))
    assert window is not None
    return window


def legacy(inputs: CalcInputs, start: Any, end: Any, t: dict[str, float]) -> tuple[pa.Table, pa.Table]:
    from openspm.engine.calc.crediting import credit_expr
    from openspm.engine.calc.measures import measure_credits_expr, measure_totals_expr

    con = ibis.duckdb.connect()
    plans = sorted(inputs.plans.values(), key=lambda p: (p.name, p.version))
    expr = _timed(t, "legacy_credit_build_s", lambda: credit_expr(inputs, start, end, None, plans=plans))
    full = _timed(t, "legacy_credit_exec_s", lambda: con.to_pyarrow(expr))
    mexpr = _timed(t, "legacy_measures_build_s", lambda: measure_credits_expr(ibis.memtable(full), plans))
    mc = _timed(t, "legacy_measures_exec_s", lambda: con.to_pyarrow(mexpr))
    totals = _timed(t, "legacy_totals_s", lambda: con.to_pyarrow(measure_totals_expr(ibis.memtable(mc))))
    t["legacy_total_s"] = round(
        sum(v for k, v in t.items() if k.startswith("legacy_") and k != "legacy_total_s"), 3
    )
    t["legacy_credits"] = full.num_rows
    t["legacy_measure_credits"] = mc.num_rows
    return mc, totals


def fast(inputs: CalcInputs, start: Any, end: Any, t: dict[str, float]) -> tuple[pa.Table, pa.Table]:
    from openspm.engine.calc import measures

    con = ibis.duckdb.connect()
    steps: dict[str, float] = {}
    started = time.perf_counter()
    result = measures.credit_and_measure(inputs, start, end, backend=con, timings=steps)
    t["fast_credit_and_measure_s"] = round(time.perf_counter() - started, 3)
    t.update({f"fast_{k}_s": round(v, 3) for k, v in steps.items()})
    totals = _timed(
        t, "fast_totals_s", lambda: measures.measure_totals(result.measure_credits, con, sort=False)
    )
    t["fast_total_s"] = round(t["fast_credit_and_measure_s"] + t["fast_totals_s"], 3)
    t["fast_credits"] = result.credits.num_rows
    t["fast_measure_credits"] = result.measure_credits.num_rows
    return result.measure_credits, totals


def _same(a: pa.Table, b: pa.Table) -> bool:
    keys = [(n, "ascending") for n in a.column_names if not pa.types.is_decimal(a.schema.field(n).type)]
    keys += [(n, "ascending") for n in a.column_names if pa.types.is_decimal(a.schema.field(n).type)]
    left = a.select(b.column_names).cast(b.schema) if a.schema != b.schema else a
    return bool(left.sort_by(keys).equals(b.select(a.column_names).sort_by(keys)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--payees", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--period", default="FY2026")
    parser.add_argument("--cache", type=Path, default=None, help="folder to keep the generated data in")
    parser.add_argument("--skip-legacy", action="store_true")
    parser.add_argument("--skip-fast", action="store_true")
    args = parser.parse_args()

    t: dict[str, Any] = {"payees": args.payees, "lines": args.lines, "period": args.period}
    inputs = _timed(t, "data_s", lambda: _inputs(args.payees, args.lines, args.cache))
    start, end = _window(inputs, args.period)
    t["window"] = [start.isoformat(), end.isoformat()]
    old = None if args.skip_legacy else legacy(inputs, start, end, t)
    new = None if args.skip_fast else fast(inputs, start, end, t)
    if old is not None and new is not None:
        t["same_measure_credits"] = _same(old[0], new[0])
        t["same_totals"] = _same(old[1], new[1])
    t["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(t, indent=2))


if __name__ == "__main__":
    main()
