"""Calculation runs: read the inputs, run the engine, record the payout lines, fingerprints and audit event.

    run_calculation(engine, "2025-03", by="ops")
      1. refuse a locked or approved period (corrections to those arrive as deltas, never rewrites)
      2. read the inputs (`calc_inputs.load_inputs`): facts, plans, assignments, recorded lines
      3. recompute each approved/locked period of the lookback and turn differences into delta lines
      4. calculate the period itself (`engine.calc.run.calculate`)
      5. fingerprint inputs, plan sources and outputs; record the run, its payees and lines, mark the
         period `calculated` and write the audit event — one transaction

Earnings are append-only facts: a run never updates or deletes a line. For each period and person the
lines of the latest run that computed them are the current ones (`calc_inputs.heads`); a run with
`payees=` recomputes only those people and leaves everyone else's lines current.
"""

from __future__ import annotations

import dataclasses
import gc
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Engine, func, insert, select

from openspm.domain.canonical import ENTITY_BY_NAME
from openspm.domain.errors import Conflict, InvalidRequest, PeriodLocked
from openspm.domain.periods import FiscalCalendar, Period, PeriodStatus
from openspm.engine.calc.inputs import CalcInputs
from openspm.engine.calc.tables import PAYOUT_LINES
from openspm.services import company
from openspm.services.calc_deltas import delta_lines, sorted_lines
from openspm.services.calc_fingerprints import fingerprint_sources, fingerprint_tables
from openspm.services.calc_inputs import (
    RECORDED_LINES,
    lines_before,
    load_inputs,
    paid_in_store,
    plan_sources,
    plans_in_force,
    recorded_lines,
    store_url,
    with_prior,
)
from openspm.store.audit import record_event
from openspm.store.bulk import insert_arrow
from openspm.store.columnar import start_reader
from openspm.store.models import AuditEvent, CalcRun, CalcRunPayee
from openspm.store.models import Period as PeriodRow

#: (inputs, period, payees or None for everyone) → payout lines (schema `engine.calc.tables.PAYOUT_LINES`).
Calculator = Callable[[CalcInputs, str, Sequence[str] | None], pa.Table]
Progress = Callable[[str, int, int], None]

CLOSED = (PeriodStatus.APPROVED, PeriodStatus.LOCKED)
LOOKBACK_MONTHS = 12  # how far back a run looks for approved/locked periods to correct


def engine_calculator(inputs: CalcInputs, period: str, payees: Sequence[str] | None) -> pa.Table:
    """The engine's calculation (`engine.calc.run.calculate`), its payout lines only."""
    from openspm.engine.calc.run import calculate

    return calculate(inputs, period, payees=payees).payout_lines


@dataclass(frozen=True)
class CalcRunSummary:
    """What a run did (a dry run: what it would do; `run_id` None, nothing written)."""

    run_id: int | None
    period: str
    dry_run: bool
    payees: int
    lines: int
    deltas: int
    corrected_periods: tuple[str, ...]
    inputs_fingerprint: str
    plans_fingerprint: str
    outputs_fingerprint: str
    totals: dict[str, Decimal]  # by currency
    status: str  # the period's status after the run
    started_at: datetime
    finished_at: datetime
    payout_lines: pa.Table = field(repr=False)


def _warm_up(engine: Engine) -> None:
    """The first run in a process: start the store's reader process, then import the engine while it
    starts (each takes about a second; on two cores they overlap). Later runs find both done."""
    start_reader(store_url(engine))
    import openspm.engine.calc.run  # noqa: F401 - imported now, not when first calculating


def prepare_process() -> None:
    """Ready a long-lived process for calculating (the web app calls this at start-up, before serving):
    import the engine, collect garbage once, then move every object alive out of the cyclic garbage
    collector's view (`gc.freeze`).

    The engine's libraries (Ibis, DuckDB, sqlglot, pyarrow, pandas: about 200,000 objects) live as
    long as the process, and each full collection walked them all: about 0.15 s landing on every third
    or fourth small run. Anything alive at this moment is frozen with them and, should it later become
    cyclic garbage, is never reclaimed; that is why this runs once, at start-up, and not inside a run
    (a notebook or a test process, which calls none of this, keeps the collector as it is).
    """
    global _PREPARED  # noqa: PLW0603 - once per process
    with _PREPARING:
        if _PREPARED:
            return
        import openspm.engine.calc.run  # noqa: F401 - the libraries to freeze

        gc.collect()
        gc.freeze()
        _PREPARED = True


_PREPARED = False
_PREPARING = threading.Lock()


def _no_progress(step: str, done: int, total: int) -> None:
    """Progress is optional."""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def parse_period(calendar: FiscalCalendar, label: str) -> Period:
    try:
        return calendar.parse(label)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc


def refuse_closed(conn: Connection, label: str) -> PeriodStatus:
    """The period's status; raise if it is locked or approved (it may then only be corrected by deltas)."""
    status = company.period_status(conn, label).status
    if status is PeriodStatus.LOCKED:
        raise PeriodLocked(
            f"period {label} is locked and cannot change: run the open period, whose run records any "
            f"correction to {label} as delta lines"
        )
    if status is PeriodStatus.APPROVED:
        raise Conflict(
            f"period {label} is approved: move it back to calculated to recalculate it, or run the open "
            "period to record corrections as delta lines"
        )
    return status


def closed_periods(conn: Connection, calendar: FiscalCalendar, target: Period, months: int) -> list[Period]:
    """Approved and locked periods of the target's kind, in the `months` before it, that have results."""
    index = target.start.year * 12 + target.start.month - 1 - months
    earliest = date(index // 12, index % 12 + 1, 1)
    rows = conn.execute(
        select(PeriodRow.label).where(
            PeriodRow.status.in_([s.value for s in CLOSED]),
            PeriodRow.kind == target.kind.value,
            PeriodRow.start_date < target.start,
            PeriodRow.start_date >= earliest,
        )
    ).scalars()
    computed = set(conn.execute(select(CalcRunPayee.period).distinct()).scalars())
    return sorted(calendar.parse(label) for label in rows if label in computed)


def run_calculation(
    engine: Engine,
    period: str,
    *,
    payees: Sequence[str] | None = None,
    dry_run: bool = False,
    by: str,
    progress: Progress | None = None,
    lookback_months: int = LOOKBACK_MONTHS,
    calculator: Calculator | None = None,
    changes_through: dict[str, int] | None = None,
) -> CalcRunSummary:
    """Calculate `period` for everyone (or the `payees`), record it (unless `dry_run`) and summarise it.

    `changes_through` (`changes_seen` when the payees were chosen): the `payees` are everyone the
    changes recorded up to then can affect (`calc_changes.changed_payees`), so the run leaves the whole
    period up to date as of then. Every run records the changes it has seen (options `seen`).
    """
    report = progress or _no_progress
    calculate = calculator or engine_calculator
    started = _now()
    people = sorted(set(payees)) if payees is not None else None
    with engine.connect() as conn:
        seen = changes_seen(conn)  # before any input is read: later changes are after this run
        calendar = company.get_settings(conn).calendar
        target = parse_period(calendar, period)
        refuse_closed(conn, target.label)
        if calculator is None:
            _warm_up(engine)
        closed = closed_periods(conn, calendar, target, lookback_months)
        in_force = plans_in_force(conn, _first_day(closed, target), target.end)
        # whose earlier lines the run reads: everyone's, or the people's and the teams they are paid on
        whose = None if people is None else paid_in_store(conn, people, in_force)
        current = recorded_lines(conn, calendar=calendar, people=whose)  # read once: history, deltas, prior
        recorded = lines_before(current, target, calendar)
        elsewhere = _recorded_deltas(current, exclude=target.label)
        earlier_payees = _payees_of(conn, target.label)
    steps = len(closed) + 3
    report("reading inputs", 0, steps)
    inputs = load_inputs(
        engine,
        target.label,
        people,
        since=closed[0].start if closed else None,
        recorded=current,
        in_force=in_force,
    )
    history, deltas = recorded, []
    for done, corrected in enumerate(closed, start=1):
        report(f"rechecking {corrected.label}", done, steps)
        # recomputed for the people and the teams they are paid on (an override reads the team's
        # earlier lines), corrected by deltas for the people only
        again = _only(calculate(_prior(inputs, history, corrected, calendar), corrected.label, whose), whose)
        was = pa.concat_tables(
            [_run_period_lines(recorded, corrected.label), _deltas_for(elsewhere, corrected)]
        )
        deltas.append(
            delta_lines(_only(was, people), _only(again, people), corrects=corrected.label, into=target.label)
        )
        history = _replace(history, corrected.label, again, whose)
    report(f"calculating {target.label}", len(closed) + 1, steps)
    lines = _only(calculate(_prior(inputs, history, target, calendar), target.label, people), people)
    out = sorted_lines(pa.concat_tables([lines.select(PAYOUT_LINES.names).cast(PAYOUT_LINES), *deltas]))
    covered = people if people is not None else _everyone(inputs, target, out, earlier_payees)
    summary = _summary(
        engine,
        inputs,
        target,
        out=out,
        covered=covered,
        closed=closed,
        recorded=recorded,
        elsewhere=elsewhere,
        started=started,
        dry_run=dry_run,
        by=by,
    )
    if dry_run:
        report("done (dry run)", steps, steps)
        return summary
    report("recording lines", len(closed) + 2, steps)
    options = _options(people, lookback_months, closed) | {"seen": seen}
    if changes_through is not None:
        options["changes_through"] = changes_through
    summary = _record(engine, summary, covered, by=by, options=options)
    report("done", steps, steps)
    return summary


def changes_seen(conn: Connection) -> dict[str, int]:
    """The newest audit event committed now (every import writes one): what a run started now can have
    read. An id, not a time: audit ids are taken under the audit log's lock and so follow commit order,
    and a change still being written when a run starts gets a larger one (`calc_changes`)."""
    return {"audit": conn.execute(select(func.max(AuditEvent.id))).scalar_one() or 0}


def _first_day(closed: Sequence[Period], target: Period) -> date:
    return min([target.start, *(c.start for c in closed)])


# --- lines as history -----------------------------------------------------------------------------------
def _only(lines: pa.Table, people: Sequence[str] | None) -> pa.Table:
    if people is None or lines.num_rows == 0:
        return lines
    return lines.filter(pc.is_in(lines["person_id"], value_set=pa.array(people, pa.string())))


def _own_lines(table: pa.Table, label: str) -> pa.Array:
    """Which rows are the period's own lines: recorded by its runs, and not deltas for other periods."""
    return pc.and_(pc.equal(table["run_period"], label), pc.not_equal(table["line_kind"], "delta"))


def _run_period_lines(recorded: pa.Table, label: str) -> pa.Table:
    return recorded.filter(_own_lines(recorded, label)).select(PAYOUT_LINES.names)


def _deltas_for(deltas: pa.Table, corrected: Period) -> pa.Table:
    return deltas.filter(pc.equal(deltas["corrects_period"], corrected.label)).select(PAYOUT_LINES.names)


def _recorded_deltas(table: pa.Table, *, exclude: str) -> pa.Table:
    """Current delta lines of every run period but `exclude` (whose own deltas the run replaces)."""
    keep = pc.and_(pc.equal(table["line_kind"], "delta"), pc.not_equal(table["run_period"], exclude))
    return table.filter(keep)


def _replace(history: pa.Table, label: str, again: pa.Table, people: Sequence[str] | None) -> pa.Table:
    """History with `label` as recomputed: its recorded lines (and the deltas for it) give way."""
    mine = _own_lines(history, label)
    corrected = pc.fill_null(pc.equal(history["corrects_period"], label), False)
    drop = pc.or_(mine, corrected)
    if people is not None:
        drop = pc.and_(drop, pc.is_in(history["person_id"], value_set=pa.array(people, pa.string())))
    kept = history.filter(pc.invert(drop))
    added = again.select(PAYOUT_LINES.names).cast(PAYOUT_LINES)
    added = added.add_column(0, "run_period", pa.array([label] * added.num_rows, pa.string()))
    added = added.add_column(0, "run_id", pa.array([0] * added.num_rows, pa.int64()))
    return pa.concat_tables([kept, added.cast(RECORDED_LINES)])


def _prior(inputs: CalcInputs, history: pa.Table, before: Period, calendar: FiscalCalendar) -> CalcInputs:
    """Inputs whose earlier lines are the history of run periods that start before `before`."""
    labels = set(history["run_period"].to_pylist())
    earlier = [label for label in labels if calendar.parse(label).start < before.start]
    prior = history.filter(pc.is_in(history["run_period"], value_set=pa.array(earlier, pa.string())))
    return with_prior(inputs, prior.select(PAYOUT_LINES.names))


def _payees_of(conn: Connection, label: str) -> set[str]:
    return set(conn.execute(select(CalcRunPayee.person_id).where(CalcRunPayee.period == label)).scalars())


def _everyone(inputs: CalcInputs, target: Period, lines: pa.Table, earlier: set[str]) -> list[str]:
    """Who a run for everyone computed: people on a plan in the period, with lines, or computed before."""
    a = inputs.plan_assignments
    overlapping = pc.and_(
        pc.less(a["start_date"], pa.scalar(target.end, pa.date32())),
        pc.fill_null(pc.greater(a["end_date"], pa.scalar(target.start, pa.date32())), True),
    )
    assigned = set(a.filter(overlapping)["person_id"].to_pylist())
    return sorted(assigned | set(lines["person_id"].to_pylist()) | earlier)


# --- fingerprints, summary, recording ------------------------------------------------------------------
def input_tables(inputs: CalcInputs) -> dict[str, pa.Table | None]:
    return {
        "transactions": inputs.transactions,
        "opportunities": inputs.opportunities,
        "opportunity_splits": inputs.opportunity_splits,
        "assignments": inputs.assignments,
        "accounts": inputs.accounts,
        "account_assignments": inputs.account_assignments,
        "territories": inputs.territories,
        "products": inputs.products,
        "quotas": inputs.quotas,
        "fx_rates": inputs.fx_rates,
        "activities": inputs.activities,
        "people": inputs.people,
        "plan_assignments": inputs.plan_assignments,
    }


def inputs_fingerprint(inputs: CalcInputs, *, recorded: pa.Table, extra: Sequence[str] = ()) -> str:
    """SHA-256 over the facts, assignments and recorded lines a run read, and its settings."""
    tables = {**input_tables(inputs), "recorded_lines": recorded.drop_columns(["run_id"])}
    keys = {name: ENTITY_BY_NAME[name].key for name in tables if name in ENTITY_BY_NAME}
    settings = [
        f"calendar={inputs.calendar.start_month}",
        f"base_currency={inputs.base_currency}",
        *extra,
    ]
    return fingerprint_tables(tables, keys, extra=settings)


def outputs_fingerprint(lines: pa.Table) -> str:
    """SHA-256 over a run's payout lines (sorted; without the run id)."""
    return fingerprint_tables({"payout_lines": lines.select(PAYOUT_LINES.names)})


def _totals(lines: pa.Table) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for currency, amount in zip(lines["currency"].to_pylist(), lines["amount"].to_pylist(), strict=True):
        totals[currency] = totals.get(currency, Decimal(0)) + amount
    return dict(sorted(totals.items()))


def _summary(
    engine: Engine,
    inputs: CalcInputs,
    target: Period,
    *,
    out: pa.Table,
    covered: Sequence[str],
    closed: Sequence[Period],
    recorded: pa.Table,
    elsewhere: pa.Table,
    started: datetime,
    dry_run: bool,
    by: str,
) -> CalcRunSummary:
    del by
    with engine.connect() as conn:
        sources = plan_sources(conn, inputs.plans.keys())
        status = company.period_status(conn, target.label).status
    extra = [
        f"period={target.label}",
        "payees=" + ",".join(covered),
        "closed=" + ",".join(c.label for c in closed),
    ]
    recorded_all = pa.concat_tables([recorded, elsewhere]) if elsewhere.num_rows else recorded
    deltas = int(pc.sum(pc.equal(out["line_kind"], "delta")).as_py() or 0) if out.num_rows else 0
    return CalcRunSummary(
        run_id=None,
        period=target.label,
        dry_run=dry_run,
        payees=len(covered),
        lines=out.num_rows,
        deltas=deltas,
        corrected_periods=tuple(c.label for c in closed),
        inputs_fingerprint=inputs_fingerprint(inputs, recorded=recorded_all, extra=extra),
        plans_fingerprint=fingerprint_sources(sources),
        outputs_fingerprint=outputs_fingerprint(out),
        totals=_totals(out),
        status=(PeriodStatus.CALCULATED if status is PeriodStatus.OPEN and not dry_run else status).value,
        started_at=started,
        finished_at=_now(),
        payout_lines=out,
    )


def _options(people: Sequence[str] | None, lookback: int, closed: Sequence[Period]) -> dict[str, object]:
    return {
        "payees": list(people) if people is not None else None,
        "lookback_months": lookback,
        "corrected_periods": [c.label for c in closed],
    }


def _record(
    engine: Engine, summary: CalcRunSummary, covered: Sequence[str], *, by: str, options: dict[str, object]
) -> CalcRunSummary:
    """Write the run, its payees and lines, the period status and the audit event in one transaction."""
    finished = _now()
    lines = summary.payout_lines
    with engine.begin() as conn:
        status = refuse_closed(conn, summary.period)
        _refuse_locked_lines(conn, lines, summary.period)
        run_id = conn.execute(
            insert(CalcRun)
            .values(
                period=summary.period,
                started_at=summary.started_at,
                finished_at=finished,
                by=by,
                status="completed",
                inputs_fingerprint=summary.inputs_fingerprint,
                plans_fingerprint=summary.plans_fingerprint,
                outputs_fingerprint=summary.outputs_fingerprint,
                payees=summary.payees,
                lines=summary.lines,
                options=options,
            )
            .returning(CalcRun.id)
        ).scalar_one()
        n = len(covered)
        insert_arrow(
            conn,
            "calc_run_payees",
            pa.table(
                {
                    "run_id": pa.array([run_id] * n, pa.int32()),
                    "period": pa.array([summary.period] * n, pa.string()),
                    "person_id": pa.array(list(covered), pa.string()),
                }
            ),
        )
        stored = lines.add_column(0, "run_id", pa.array([run_id] * lines.num_rows, pa.int32()))
        insert_arrow(conn, "payout_lines", stored)
        if status is PeriodStatus.OPEN:
            company.set_period_status(conn, summary.period, PeriodStatus.CALCULATED, actor=by)
        record_event(
            conn,
            actor=by,
            action="calc.run",
            entity="calc_run",
            entity_key=str(run_id),
            after={
                "period": summary.period,
                "payees": summary.payees,
                "lines": summary.lines,
                "deltas": summary.deltas,
                "corrected_periods": list(summary.corrected_periods),
                "inputs_fingerprint": summary.inputs_fingerprint,
                "plans_fingerprint": summary.plans_fingerprint,
                "outputs_fingerprint": summary.outputs_fingerprint,
                "totals": summary.totals,
            },
        )
    return dataclasses.replace(
        summary, run_id=run_id, finished_at=finished, status=PeriodStatus.CALCULATED.value
    )


def _refuse_locked_lines(conn: Connection, lines: pa.Table, period: str) -> None:
    """No line of the run may land in a locked period other than the run's own (checked already)."""
    for label in sorted(set(lines["period"].to_pylist()) - {period}):
        company.require_open(conn, label)
