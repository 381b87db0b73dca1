"""Entry point of `make bench`: run benchmark cases in subprocesses and write bench/results/<case>.json.

    .venv/bin/python -m bench.run [--quick] [--case NAME ...] [--list]

Each case runs its setup, its measured part and its teardown in three separate subprocesses, so one
case's memory never counts against another's: the peak RSS reported is that of the measured part's
process alone (from `os.wait4`). `--quick` runs every case at 1/100 of its size as a smoke test and
writes `<case>.quick.json` instead.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import CASES, Case, Context

#: Modules whose `@case` functions make up the suite, run in this order. Add new ones here, e.g.
#: "bench.imports" for importing 1M rows of canonical CSV through the importer.
MODULES = ("bench.store", "bench.imports", "bench.web", "bench.kpis", "bench.calc")
ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
QUICK_SCALE = 0.01


def load_cases() -> dict[str, Case]:
    for module in MODULES:
        importlib.import_module(module)
    return CASES


def machine() -> dict[str, Any]:
    import pyarrow as pa

    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "pyarrow": pa.__version__,
        "sqlite": sqlite3.sqlite_version,
        "postgresql": _postgres_version(),
    }


def _postgres_version() -> str | None:
    try:
        from sqlalchemy import create_engine, text

        from bench.store import POSTGRES_ADMIN_URL

        engine = create_engine(POSTGRES_ADMIN_URL)
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar()
        engine.dispose()
        return str(version)
    except Exception:  # unknown; the PostgreSQL cases say why they failed
        return None


# --- parent: orchestrate subprocesses ---------------------------------------------------------------
def _child(phase: str, case: Case, ctx: Context) -> tuple[dict[str, Any], float]:
    """Run one phase of `case` in a fresh interpreter; return what it printed and its peak RSS in MB."""
    command = [
        sys.executable, "-m", "bench.run", "--child", phase, case.name,
        "--scale", repr(ctx.scale), "--workdir", str(ctx.workdir), "--token", ctx.token,
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{case.name}: {phase} failed (exit code {process.returncode})")
    lines = output.strip().splitlines()
    return (json.loads(lines[-1]) if lines else {}), usage.ru_maxrss / 1024


def run_case(case: Case, scale: float) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix=f"spm_bench_{case.name}_"))
    ctx = Context(scale, workdir, f"{case.name}_{os.getpid()}_{uuid.uuid4().hex[:6]}")
    result: dict[str, Any] = {"case": case.name, "doc": case.doc, "scale": scale}
    try:
        if case.setup is not None:
            _child("setup", case, ctx)
        measured, peak_mb = _child("run", case, ctx)
        rows, seconds = int(measured["rows"]), float(measured["seconds"])
        result |= {
            "rows": rows,
            "seconds": round(seconds, 4),
            "rows_per_second": round(rows / seconds) if seconds else None,
            "peak_rss_mb": round(peak_mb, 1),
            "tries": measured.get("tries") or [round(seconds, 4)],
            "load_average_1m": measured.get("load_average"),  # of the machine as the run began
        }
    except Exception as exc:  # one failing case must not hide the others
        result["error"] = str(exc)
    finally:
        if case.teardown is not None:
            try:
                _child("teardown", case, ctx)
            except RuntimeError as exc:
                result.setdefault("error", str(exc))
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def write_result(result: dict[str, Any], info: dict[str, Any], *, quick: bool) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{result['case']}{'.quick' if quick else ''}.json"
    document = result | {"quick": quick, "machine": info, "timestamp": datetime.now(UTC).isoformat()}
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def _summary(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"{result['case']:<18} FAILED: {result['error']}"
    return (
        f"{result['case']:<18} {result['rows']:>11,} rows {result['seconds']:>8.3f} s "
        f"{result['rows_per_second']:>11,} rows/s {result['peak_rss_mb']:>8.1f} MB peak"
    )


# --- child: one phase of one case -------------------------------------------------------------------
def run_phase(phase: str, case: Case, ctx: Context) -> dict[str, Any]:
    if phase == "run":
        load = os.getloadavg()[0]
        measured = case.run(ctx)
        tries = [round(t, 4) for t in measured.tries]
        return {"rows": measured.rows, "seconds": measured.seconds, "tries": tries, "load_average": load}
    step = case.setup if phase == "setup" else case.teardown
    if step is not None:
        step(ctx)
    return {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every case at 1/100 size (a smoke test)")
    parser.add_argument("--case", action="append", default=[], help="run only this case (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--child", nargs=2, metavar=("PHASE", "CASE"), help=argparse.SUPPRESS)
    parser.add_argument("--scale", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--token", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    cases = load_cases()
    if args.child:
        phase, name = args.child
        print(json.dumps(run_phase(phase, cases[name], Context(args.scale, args.workdir, args.token))))
        return 0
    if args.list:
        for case in cases.values():
            print(f"{case.name:<18} {case.doc}")
        return 0
    unknown = [n for n in args.case if n not in cases]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; known: {sorted(cases)}")
    selected = [cases[n] for n in args.case] if args.case else list(cases.values())
    info = machine()
    failed = 0
    for case in selected:
        result = run_case(case, QUICK_SCALE if args.quick else 1.0)
        write_result(result, info, quick=args.quick)
        print(_summary(result), flush=True)
        failed += "error" in result
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
