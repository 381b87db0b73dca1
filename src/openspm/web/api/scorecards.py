"""Scorecards (results ↔ behaviours against targets) and which behaviours matter (`DealsViewer`).

`GET /scorecards/{subject_id}?level=person|team&period=2025-Q1` is scoped like deals: a rep sees only
their own scorecard, a manager those of their subtree (a team: its visible members only), anyone else's
is a 404. `GET /behaviours` is company-wide statistics without a row about any person, so everyone who
may view deals sees the same report (docs/scorecards.md).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy import Engine

from openspm.services import behaviours, scorecards
from openspm.settings import Settings
from openspm.web.api.common import AS_OF, NOT_FOUND, Key
from openspm.web.deps import DealsViewer

router = APIRouter(tags=["scorecards"], dependencies=[AS_OF])

PeriodLabel = Annotated[
    str | None,
    Query(
        pattern=r"^([1-9]\d{3}-(0[1-9]|1[0-2]|Q[1-4]|W(0[1-9]|[1-4]\d|5[0-3]))|FY[1-9]\d{3})$",
        description="2025-03, 2025-Q1, FY2026 or 2025-W07 (default: the fiscal quarter of `as_of`)",
    ),
]


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.get("/scorecards/{subject_id}", summary="A person's or a team's scorecard", responses=NOT_FOUND)
def get_scorecard(
    viewer: DealsViewer,
    request: Request,
    subject_id: Key,
    period: PeriodLabel = None,
    level: Annotated[
        Literal["person", "team"], Query(description="a person id or an org unit id")
    ] = "person",
    sort: Annotated[
        str, Query(max_length=60, pattern=r"^[a-z][a-z0-9_]*$", description="attention, name or an item name")
    ] = "attention",
    order: Literal["asc", "desc"] = "desc",
) -> scorecards.Scorecard:
    """Results and behaviours against their targets, with trends; a team adds every member's row."""
    config = scorecards.load_scorecards(_settings(request).scorecards_file)
    return scorecards.scorecard(
        _engine(request),
        period=period,
        scope=viewer.scope,
        person_id=subject_id if level == "person" else None,
        org_unit_id=subject_id if level == "team" else None,
        scorecards=config,
        sort=sort,
        descending=order == "desc",
    )


@router.get("/behaviours", summary="Which behaviours predict results here")
def get_behaviours(viewer: DealsViewer, request: Request) -> behaviours.BehaviourReport:
    """Win rate with vs without each deal behaviour, a regularised logistic regression, and lagged
    correlations of reps' weekly behaviours with next-quarter results; company-wide, cached per data
    version."""
    return behaviours.behaviour_evidence(_engine(request), scope=viewer.scope)
