"""What a calculation reads: the facts as Arrow tables, the plans, the assignments and earlier results.

Services build a `CalcInputs` (from the store with `read_arrow`, or from scenario files in tests) and
hand it to `engine.calc.run.calculate`. Nothing here touches a database. Tables carry the columns of the
canonical entities of the same name (DESIGN.md §8) with their typed Arrow representation
(`store.columnar.typed_schema`): money decimal128(18, 4), dates date32; a table may be empty but not
missing a column the plans need.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pyarrow as pa

from openspm.domain.periods import FiscalCalendar
from openspm.domain.plans import Plan

#: The columns of `CalcInputs.plan_assignments` (plan by name and version, not by a store id).
PLAN_ASSIGNMENTS = pa.schema(
    [
        ("person_id", pa.string()),
        ("plan", pa.string()),
        ("version", pa.int32()),
        ("start_date", pa.date32()),
        ("end_date", pa.date32()),
        ("target_incentive", pa.decimal128(18, 4)),
        ("currency", pa.string()),
    ]
)


@dataclass(frozen=True)
class CalcInputs:
    calendar: FiscalCalendar
    base_currency: str
    #: (plan name, version) → the published, validated plan.
    plans: Mapping[tuple[str, int], Plan]
    #: person_id, plan, version, start_date, end_date (exclusive, null = open), target_incentive
    #: (decimal128(18, 4)), currency — one row per plan assignment.
    plan_assignments: pa.Table
    transactions: pa.Table
    opportunities: pa.Table
    opportunity_splits: pa.Table
    #: person_id, role, org_unit_id, manager_id, start_date, end_date: the effective-dated org (rollups,
    #: overlay roles).
    assignments: pa.Table
    accounts: pa.Table
    account_assignments: pa.Table
    territories: pa.Table
    products: pa.Table
    quotas: pa.Table
    fx_rates: pa.Table
    #: Activities, only needed when a plan has an activity measure.
    activities: pa.Table | None = None
    #: People (hire_date, termination_date) for proration.
    people: pa.Table | None = None
    #: Payout lines already recorded for earlier pay periods (schema `tables.PAYOUT_LINES`): the draw
    #: balance, clawbacks carried forward and advances already paid inside the current plan period are
    #: derived from them.
    prior_lines: pa.Table | None = None
    options: Mapping[str, object] = field(default_factory=dict)
