"""The calculation benchmark behind `spm bench calc` and bench/calc.py (docs: bench/README.md).

    spm bench calc --payees 10000 --lines 10000000 --store sqlite --format json

The data (`demo.synthetic.generate_synthetic`: the demo plans, N payees, M credited lines over a year) is
generated — and for `sqlite`/`postgresql` loaded into a scratch store — in a child process, and handed
over as Arrow IPC files, so the peak memory reported is that of the measured work: engine-only reads
the files memory-mapped and runs `engine.calc.run.calculate` for the period, its last month, and that
month for one first-line manager (whose run reads their team's rows); the store modes run
`services.calc.run_calculation` (read the store, calculate, record the lines) for the period, then for
the month (a month-end close for everyone), then add a late booking and recalculate the month for the
people it can affect (`calc_impact.affected_payees`: an incremental run).
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, create_engine, func, insert, select, text

from openspm.demo.compensation import demo_plans, plan_sources
from openspm.demo.synthetic import FISCAL_YEAR_START_MONTH, generate_synthetic
from openspm.domain.canonical import ENTITY_BY_NAME
from openspm.domain.periods import FiscalCalendar, PeriodKind
from openspm.engine.calc.inputs import CalcInputs
from openspm.services import company
from openspm.services.plans import publish_plan
from openspm.services.reporting import rebuild_reporting_lines
from openspm.store.bulk import insert_arrow
from openspm.store.db import make_engine
from openspm.store.migrate import upgrade
from openspm.store.models import PlanVersion, Transaction

POSTGRES_ADMIN_URL = os.environ.get(
    "SPM_BENCH_POSTGRES_URL",
    os.environ.get("SPM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
)
PLAN_ASSIGNMENTS_FILE = "plan_assignments"
BY = "bench"


class Store(StrEnum):
    MEMORY = "memory"
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


@dataclass(frozen=True)
class Spec:
    payees: int
    lines: int
    seed: int = 7
    fiscal_year: int = 2026


# --- preparing the data (in a child process) -------------------------------------------------------------


def write_synthetic(spec: Spec, folder: Path) -> dict[str, int]:
    """Generate the synthetic data and write each table to `folder/<name>.arrow` (Arrow IPC)."""
    data = generate_synthetic(spec.payees, spec.lines, fiscal_year=spec.fiscal_year, seed=spec.seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in [*data.tables.items(), (PLAN_ASSIGNMENTS_FILE, data.plan_assignments)]:
        with (
            pa.OSFile(str(folder / f"{name}.arrow"), "wb") as sink,
            pa.ipc.new_file(sink, table.schema) as out,
        ):
            out.write_table(table)
    return data.summary()


def read_tables(folder: Path) -> dict[str, pa.Table]:
    """The tables `write_synthetic` wrote, memory-mapped (no copy is made until they are used)."""
    tables = {}
    for path in sorted(folder.glob("*.arrow")):
        with pa.memory_map(str(path)) as source:
            tables[path.stem] = pa.ipc.open_file(source).read_all()
    return tables


def load_store(url: str, tables: dict[str, pa.Table]) -> None:
    """Migrate a store and fill it: company settings, the synthetic facts, the demo plans, assignments."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            company.configure(
                conn,
                actor=BY,
                name="Synthetic",
                base_currency="USD",
                fiscal_year_start_month=FISCAL_YEAR_START_MONTH,
            )
            for entity in ENTITY_BY_NAME:
                if entity in tables and tables[entity].num_rows:
                    insert_arrow(conn, entity, tables[entity].drop_columns(["extra"]))
            for name, source in plan_sources().items():
                publish_plan(conn, source, actor=BY, file=name)
            insert_arrow(conn, "plan_assignments", _with_version_ids(conn, tables[PLAN_ASSIGNMENTS_FILE]))
            rebuild_reporting_lines(conn)  # as an import of assignments does (affected_payees reads them)
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM (ANALYZE)")  # as autovacuum would after a load
    finally:
        engine.dispose()


def _with_version_ids(conn: Any, assignments: pa.Table) -> pa.Table:
    ids = {
        (r.name, r.version): r.id
        for r in conn.execute(select(PlanVersion.id, PlanVersion.name, PlanVersion.version))
    }
    keys = zip(assignments["plan"].to_pylist(), assignments["version"].to_pylist(), strict=True)
    version_ids = pa.array([ids[key] for key in keys], pa.int64())
    kept = assignments.select(["person_id", "start_date", "end_date", "target_incentive", "currency"])
    return kept.append_column("plan_version_id", version_ids)


def _prepare(spec: Spec, folder: Path, url: str | None) -> None:
    write_synthetic(spec, folder)
    if url is not None:
        load_store(url, read_tables(folder))


def prepare_in_child(spec: Spec, folder: Path, url: str | None = None) -> None:
    """Generate (and load into `url`) in a fresh process, so its memory never counts as the run's."""
    process = multiprocessing.get_context("spawn").Process(target=_prepare, args=(spec, folder, url))
    process.start()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"preparing the synthetic data failed (exit code {process.exitcode})")


# --- scratch PostgreSQL databases ----------------------------------------------------------------------


def _postgres_admin(sql: str) -> None:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(sql))
    finally:
        admin.dispose()


def create_postgres(name: str) -> str:
    _postgres_admin(f'CREATE DATABASE "{name}"')
    return f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"


def drop_postgres(name: str) -> None:
    _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_store(store: Store, folder: Path) -> Iterator[str | None]:
    """A URL for a scratch store of the kind asked for (None for memory), removed afterwards."""
    if store is Store.MEMORY:
        yield None
    elif store is Store.SQLITE:
        yield f"sqlite:///{folder / 'store.db'}"
    else:
        name = f"spm_bench_calc_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        url = create_postgres(name)
        try:
            yield url
        finally:
            drop_postgres(name)


# --- measuring -------------------------------------------------------------------------------------------


def synthetic_inputs(
    tables: dict[str, pa.Table], *, fiscal_year_start_month: int = FISCAL_YEAR_START_MONTH
) -> CalcInputs:
    """CalcInputs from the synthetic tables, with the columns the store's reader would give the engine."""
    facts = {
        name: tables[name].select(list(ENTITY_BY_NAME[name].column_names))
        for name in (
            "transactions", "opportunities", "opportunity_splits", "assignments", "accounts",
            "account_assignments", "territories", "products", "quotas", "fx_rates", "activities", "people",
        )
    }  # fmt: skip
    return CalcInputs(
        calendar=FiscalCalendar(fiscal_year_start_month),
        base_currency="USD",
        plans={(p.name, p.version): p for p in demo_plans()},
        plan_assignments=tables[PLAN_ASSIGNMENTS_FILE],
        **facts,
    )


def month_of(period: str) -> str:
    """The month a month-end close would run inside `period`: its last month (or the period itself)."""
    calendar = FiscalCalendar(FISCAL_YEAR_START_MONTH)
    target = calendar.parse(period)
    return calendar.containing(target.end - timedelta(days=1), PeriodKind.MONTH).label


def peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def team_lead(inputs: CalcInputs) -> str:
    """The first first-line manager on a plan that rolls up a team (a payee whose run reads a team)."""
    managers = inputs.plan_assignments.filter(pc.equal(inputs.plan_assignments["plan"], "first_line_manager"))
    return str(min(managers.column("person_id").to_pylist()))


def measure_engine(folder: Path, period: str, month: str) -> dict[str, Any]:
    """Engine only: calculate the period, the month, and the month for one manager (and their team)."""
    from openspm.engine.calc.run import calculate  # on first use: every `spm` command imports this module

    inputs = synthetic_inputs(read_tables(folder))
    started = time.perf_counter()
    result = calculate(inputs, period)
    engine_s = time.perf_counter() - started
    started = time.perf_counter()
    calculate(inputs, month)
    month_s = time.perf_counter() - started
    started = time.perf_counter()
    calculate(inputs, month, payees=[team_lead(inputs)])
    payee_s = time.perf_counter() - started
    return {
        "engine_s": round(engine_s, 3),
        "month_s": round(month_s, 3),
        "manager_month_s": round(payee_s, 3),
        "payout_lines": result.payout_lines.num_rows,
    }


LATE_BOOKING = "LATE-BOOKING-1"


def add_late_booking(engine: Engine, month: str, transaction_id: str = LATE_BOOKING, nth: int = 0) -> str:
    """A booking dated in `month` on the deal of the month's `nth` booking (the last, if fewer), by id:
    a change to recalculate for."""
    calendar = FiscalCalendar(FISCAL_YEAR_START_MONTH)
    target = calendar.parse(month)
    with engine.begin() as conn:
        tx = Transaction
        in_month = (tx.kind == "booking", tx.date >= target.start, tx.date < target.end)
        count = conn.execute(select(func.count()).select_from(tx).where(*in_month)).scalar_one()
        first = conn.execute(
            select(tx.date, tx.currency, tx.opportunity_id, tx.account_id, tx.product_id, tx.owner_id)
            .where(*in_month)
            .order_by(tx.transaction_id)
            .offset(max(0, min(nth, count - 1)))
            .limit(1)
        ).one()
        conn.execute(
            insert(tx).values(
                transaction_id=transaction_id, kind="booking", amount=Decimal(1000), **first._asdict()
            )
        )
    return transaction_id


def incremental_run(engine: Engine, month: str, transaction_id: str) -> int:
    """Recalculate `month` for the people a changed transaction can affect; how many they were."""
    from openspm.services.calc import run_calculation
    from openspm.services.calc_impact import Change, affected_payees

    with engine.connect() as conn:
        people = sorted(affected_payees(conn, Change(transactions=[transaction_id])))
    run_calculation(engine, month, payees=people, by=BY)
    return len(people)


def measure_store(url: str, period: str, month: str) -> dict[str, Any]:
    """End to end: `run_calculation` of the period from the store (read, calculate, record), the month,
    and the month again for the people a late booking affects (an incremental run)."""
    from openspm.services.calc import run_calculation  # on first use, like the engine

    engine = make_engine(url)
    try:
        started = time.perf_counter()
        summary = run_calculation(engine, period, by=BY)
        end_to_end_s = time.perf_counter() - started
        started = time.perf_counter()
        run_calculation(engine, month, by=BY)
        month_s = time.perf_counter() - started
        late = add_late_booking(engine, month)
        started = time.perf_counter()
        affected = incremental_run(engine, month, late)
        incremental_s = time.perf_counter() - started
    finally:
        engine.dispose()
    return {
        "end_to_end_s": round(end_to_end_s, 3),
        "month_s": round(month_s, 3),
        "incremental_s": round(incremental_s, 3),
        "incremental_payees": affected,
        "payout_lines": summary.lines,
    }


def run_benchmark(spec: Spec, store: Store, period: str, month: str | None = None) -> dict[str, Any]:
    """Prepare the data in a child process, measure in this one; the result as a JSON-able dict."""
    month = month or month_of(period)
    folder = Path(tempfile.mkdtemp(prefix="spm_bench_calc_"))
    try:
        with scratch_store(store, folder) as url:
            started = time.perf_counter()
            prepare_in_child(spec, folder / "data", url)
            prepare_s = time.perf_counter() - started
            measured = (
                measure_engine(folder / "data", period, month)
                if url is None
                else measure_store(url, period, month)
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "store": store.value,
        "period": period,
        "month": month,
        "payees": spec.payees,
        "lines": spec.lines,
        **measured,
        "peak_mb": peak_mb(),
        "prepare_s": round(prepare_s, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
