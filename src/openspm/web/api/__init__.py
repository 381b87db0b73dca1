"""The versioned JSON API (`/api/v1`): a router module per resource, each route thin over `services.records`.

Every route declares one permission through the `deps` aliases; rows are scoped by the viewer's `Scope` in
the records functions. Lists are paged (`limit`, `offset`, RFC 8288 `Link`); errors are RFC 9457
problem+json; money is a string. See docs/api.md.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.routing import APIRoute

from openspm.web.api import (
    accounts,
    activities,
    audit_events,
    inspections,
    kpis,
    me,
    opportunities,
    org_units,
    payouts,
    people,
    periods,
    quotas,
    scorecards,
    transactions,
    users,
)
from openspm.web.api.common import AUTHENTICATION, COMMON_PROBLEMS


def _operation_id(route: APIRoute) -> str:
    return route.name


router = APIRouter(
    prefix="/api/v1",
    dependencies=AUTHENTICATION,
    responses=COMMON_PROBLEMS,
    generate_unique_id_function=_operation_id,
)
for _module in (
    me,
    people,
    org_units,
    accounts,
    opportunities,
    activities,
    transactions,
    quotas,
    periods,
    audit_events,
    users,
    kpis,
    inspections,
    scorecards,
    payouts,
):
    router.include_router(_module.router)

__all__ = ["router"]
