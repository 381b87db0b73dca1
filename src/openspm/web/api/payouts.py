"""Payout lines, their explanations and calculation runs (`PayViewer`; starting a run: `DataManager`).

A rep sees their own pay, a manager their team's, finance, revops and admins everyone's: every query goes
through the viewer's `Scope`. Runs are not person data, but a viewer who does not see everyone sees only
the runs that computed someone in their scope, and only those people's lines in them. See docs/calc.md.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import Engine

from openspm.services import calc, calc_changes, calc_results
from openspm.services.calc_explain import PayExplanation, explain_pay
from openspm.services.records import FilterText, MoneyText, Public, UtcTime
from openspm.web.api.common import AS_OF, NOT_FOUND, Key, Pages, problem
from openspm.web.deps import Conn, DataManager, PayViewer

router = APIRouter(tags=["payouts"], dependencies=[AS_OF])

Period = Annotated[str, Query(min_length=1, max_length=16, pattern=r"^[^\x00]+$", description="e.g. 2025-03")]


#: A run id: a positive 64-bit integer, the range every store can hold.
RunId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/payouts", summary="List current payout lines")
def list_payouts(
    viewer: PayViewer,
    conn: Conn,
    paging: Pages,
    period: Period | None = None,
    person_id: Annotated[FilterText | None, Query()] = None,
) -> calc_results.PayoutPage:
    """The current lines (each person's latest run per period) the viewer may see, with explanations."""
    page = calc_results.list_payouts(
        conn, viewer.scope, period=period, person_id=person_id, window=paging.window
    )
    return paging.respond(page)


@router.get(
    "/payouts/{person_id}/{period}/explanation", summary="Explain a person's pay", responses=NOT_FOUND
)
def get_payout_explanation(
    request: Request, viewer: PayViewer, conn: Conn, person_id: Key, period: Key
) -> PayExplanation:
    """Each line as a waterfall (measure, quota, attainment, tiers, cap, …) with the credits behind it."""
    engine: Engine = request.app.state.engine
    return explain_pay(engine, viewer.scope, person_id, period)


@router.get("/calc-runs", summary="List calculation runs")
def list_calc_runs(
    viewer: PayViewer, conn: Conn, paging: Pages, period: Period | None = None
) -> calc_results.CalcRunPage:
    """Runs, newest first, with their fingerprints."""
    return paging.respond(calc_results.list_runs(conn, viewer.scope, period=period, window=paging.window))


@router.get("/calc-runs/{run_id}", summary="One calculation run", responses=NOT_FOUND)
def get_calc_run(viewer: PayViewer, conn: Conn, run_id: RunId) -> calc_results.CalcRunDetail:
    """A run with the lines it recorded that the viewer may see."""
    return calc_results.get_run(conn, viewer.scope, run_id)


class CalcRunCreate(BaseModel):
    period: str = Field(min_length=1, max_length=16, pattern=r"^[^\x00]+$", description="e.g. 2025-03")
    person_ids: list[str] | None = Field(None, description="recompute only these people (default: everyone)")
    changed: bool = Field(
        False,
        description="recompute only the people whose pay the changes since the period's last run for "
        "everyone can move (everyone, if they cannot be narrowed; nothing is recorded if nothing "
        "changed); not with person_ids",
    )
    dry_run: bool = Field(False, description="calculate and report, but record nothing")

    @model_validator(mode="after")
    def _one_selection(self) -> CalcRunCreate:
        if self.changed and self.person_ids is not None:
            raise ValueError("changed and person_ids cannot be combined")
        return self


class CalcRunResult(Public):
    run_id: int | None = Field(description="null for a dry run")
    period: str
    dry_run: bool
    payees: int
    lines: int
    deltas: int
    corrected_periods: list[str]
    inputs_fingerprint: str
    plans_fingerprint: str
    outputs_fingerprint: str
    totals: dict[str, MoneyText]
    status: str = Field(description="the period's status after the run")
    selection: str | None = Field(None, description="with `changed`: whom the run recomputed, and why")
    started_at: UtcTime
    finished_at: UtcTime


PERIOD_CLOSED: dict[int | str, dict[str, Any]] = {
    409: problem("The period is locked or approved: corrections arrive as deltas in an open period")
}


@router.post("/calc-runs", summary="Run a calculation", status_code=201, responses=PERIOD_CLOSED)
def create_calc_run(request: Request, viewer: DataManager, conn: Conn, run: CalcRunCreate) -> CalcRunResult:
    """Calculate a period (for everyone or `person_ids`) and record it, audited as `calc.run`."""
    conn.commit()  # the run writes in its own transaction; release this request's first
    engine: Engine = request.app.state.engine
    payees, selection, through, dry_run = run.person_ids, None, None, run.dry_run
    if run.changed:
        with engine.connect() as read:
            found = calc_changes.changed_payees(read, run.period)
        payees, selection, through = found.people, found.reason, found.seen
        dry_run = dry_run or payees == []  # nothing changed: nothing to record
    summary = calc.run_calculation(
        engine,
        run.period,
        payees=payees,
        dry_run=dry_run,
        by=viewer.principal.username,
        changes_through=through,
    )
    conn.commit()
    totals: dict[str, Decimal] = summary.totals
    return CalcRunResult(
        run_id=summary.run_id,
        period=summary.period,
        dry_run=summary.dry_run,
        payees=summary.payees,
        lines=summary.lines,
        deltas=summary.deltas,
        corrected_periods=list(summary.corrected_periods),
        inputs_fingerprint=summary.inputs_fingerprint,
        plans_fingerprint=summary.plans_fingerprint,
        outputs_fingerprint=summary.outputs_fingerprint,
        totals=totals,
        status=summary.status,
        selection=selection,
        started_at=summary.started_at,
        finished_at=summary.finished_at,
    )
