"""Deal inspection and the Goodhart guard (`DealsViewer`) over the caller's scope (docs/inspection.md).

The inspection day is `?as_of=` (default today): scopes, days in stage and overdue next steps follow it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from openspm.ingest.sales_process import load_sales_process
from openspm.services import inspections
from openspm.services.records import Day, FilterText
from openspm.web.api.common import AS_OF, Pages
from openspm.web.deps import DealsViewer

router = APIRouter(prefix="/inspections", tags=["inspections"], dependencies=[AS_OF])

SubjectIds = Annotated[
    list[FilterText] | None,
    Query(description="person ids (level person) or org unit ids (other levels); repeatable"),
]
Level = Annotated[
    str, Query(pattern=r"^[a-z_]{1,40}$", description="person, company, or an org unit kind (team, region)")
]


@router.get("", summary="Inspect open deals against the sales process")
def list_inspections(
    request: Request,
    viewer: DealsViewer,
    paging: Pages,
    subject_id: SubjectIds = None,
    level: Level = "person",
    only_gaps: Annotated[bool, Query(description="only deals with a gap")] = False,
) -> inspections.InspectionPage:
    """Open deals in scope, most valuable first, with summaries per rep and org unit and the stuck limits."""
    report = inspections.inspect_deals(
        request.app.state.engine,
        subjects=subject_id,
        level=level,
        scope=viewer.scope,
        as_of=viewer.scope.as_of,
        process=load_sales_process(request.app.state.settings.sales_process_file),
        only_gaps=only_gaps,
    )
    return paging.respond(inspections.page_of(report, paging.window))


@router.get("/goodhart", summary="Gamed or low-quality activity and deals, per rep")
def goodhart(
    request: Request,
    viewer: DealsViewer,
    subject_id: SubjectIds = None,
    level: Level = "person",
    start: Annotated[Day | None, Query(description="first day of activities (default: 90 days)")] = None,
) -> inspections.GoodhartReport:
    """Suspect activities per rep (short calls, bursts, unlinked), raw vs quality-adjusted counts, and
    the deals advanced without evidence or with a next step in the past."""
    return inspections.goodhart_report(
        request.app.state.engine,
        subjects=subject_id,
        level=level,
        scope=viewer.scope,
        as_of=viewer.scope.as_of,
        start=start,
        process=load_sales_process(request.app.state.settings.sales_process_file),
    )
