"""KPIs (`DealsViewer`): the §8 list for subjects × periods, the catalogue, a KPI's trend (docs/kpis.md).

`?as_of=` (default today) is the day the data is seen as of; rows are limited to the subjects the
caller's scope reaches (a rep: themselves; a manager: their subtree and the units they lead).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict

from openspm.domain.errors import NotFound
from openspm.domain.kpis import CATALOGUE
from openspm.services import kpis as kpi_service
from openspm.services.records import FilterText
from openspm.web.api.common import AS_OF, NOT_FOUND
from openspm.web.deps import DealsViewer

router = APIRouter(prefix="/kpis", tags=["kpis"], dependencies=[AS_OF])

PERIOD_PATTERN = (
    r"^([1-9]\d{3}-(0[1-9]|1[0-2])|[1-9]\d{3}-Q[1-4]|FY[1-9]\d{3}|[1-9]\d{3}-W(0[1-9]|[1-4]\d|5[0-3]))$"
)
PeriodLabel = Annotated[str, Query(pattern=PERIOD_PATTERN)]
Periods = Annotated[
    list[PeriodLabel], Query(min_length=1, max_length=60, description="period labels, repeatable: 2025-Q2")
]
Level = Annotated[
    str, Query(pattern=r"^[a-z_]{1,40}$", description="person, company, or an org unit kind (team, region)")
]
SubjectIds = Annotated[
    list[FilterText] | None,
    Query(description="person ids (level person) or org unit ids (other levels); repeatable"),
]
KpiNames = Annotated[
    list[Annotated[str, Query(pattern=r"^[a-z_]{1,60}$")]] | None,
    Query(description="KPI names, repeatable (default: every KPI of the catalogue)"),
]


class KpiValuePublic(BaseModel):
    """One KPI of one subject in one period (DESIGN.md §8)."""

    model_config = ConfigDict(frozen=True)
    subject_id: str
    subject_level: str
    period: str
    kpi: str
    value: float | None


class KpiPublic(BaseModel):
    """A KPI of the catalogue."""

    model_config = ConfigDict(frozen=True)
    name: str
    label: str
    kind: str
    unit: str
    higher_is_better: bool
    formula: str


def _public(values: list[kpi_service.KpiValue]) -> list[KpiValuePublic]:
    return [KpiValuePublic(**asdict(v)) for v in values]


@router.get("", summary="KPIs of subjects × periods")
def list_kpis(
    request: Request,
    viewer: DealsViewer,
    period: Periods,
    level: Level = "company",
    subject_id: SubjectIds = None,
    kpi: KpiNames = None,
) -> list[KpiValuePublic]:
    """`{subject_id, subject_level, period, kpi, value}` for every subject in scope at `level`."""
    values = kpi_service.compute_kpis(
        request.app.state.engine,
        level=level,
        periods=period,
        subjects=subject_id,
        kpis=kpi,
        scope=viewer.scope,
        as_of=viewer.scope.as_of,
    )
    return _public(values)


@router.get("/catalogue", summary="The KPI catalogue")
def catalogue(viewer: DealsViewer) -> list[KpiPublic]:
    """Every KPI: name, label, kind (result or behaviour), unit, whether higher is better, formula."""
    return [
        KpiPublic(
            name=k.name,
            label=k.label,
            kind=k.kind.value,
            unit=k.unit.value,
            higher_is_better=k.higher_is_better,
            formula=k.formula,
        )
        for k in CATALOGUE
    ]


@router.get("/{kpi}/series", summary="One KPI over consecutive periods", responses=NOT_FOUND)
def series(
    request: Request,
    viewer: DealsViewer,
    kpi: Annotated[str, Path(pattern=r"^[a-z_]{1,60}$")],
    end: Annotated[PeriodLabel, Query(description="the last period (its kind sets the series')")],
    start: Annotated[
        PeriodLabel | None, Query(description="the first period (default: `count` back)")
    ] = None,
    count: Annotated[int, Query(ge=1, le=120, description="periods when `start` is not given")] = 8,
    level: Level = "company",
    subject_id: SubjectIds = None,
) -> list[KpiValuePublic]:
    """The KPI for each period from `start` (or `count` periods back) to `end`, per subject in scope."""
    if kpi not in {k.name for k in CATALOGUE}:
        raise NotFound(f"no KPI {kpi!r} (see /api/v1/kpis/catalogue)")
    values = kpi_service.kpi_series(
        request.app.state.engine,
        kpi=kpi,
        level=level,
        end=end,
        start=start,
        count=count,
        subjects=subject_id,
        scope=viewer.scope,
        as_of=viewer.scope.as_of,
    )
    return _public(values)
