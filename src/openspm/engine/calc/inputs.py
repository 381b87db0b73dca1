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
import pyarrow.compute as pc

from openspm.domain.periods import FiscalCalendar
from openspm.domain.plans import Plan
from openspm.domain.plans.model import DrawKind

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
        # the person's own draw, replacing the plan's (null: the plan's draw, if any)
        ("draw_kind", pa.string()),
        ("draw_amount", pa.decimal128(18, 4)),
        ("draw_periods", pa.int32()),
    ]
)

#: Columns of `PLAN_ASSIGNMENTS` a caller may leave out (they are then null).
OPTIONAL_ASSIGNMENT_COLUMNS = ("draw_kind", "draw_amount", "draw_periods")


DRAW_KINDS = tuple(kind.value for kind in DrawKind)


def plan_assignments_table(table: pa.Table) -> pa.Table:
    """`table` with the optional columns of `PLAN_ASSIGNMENTS` it lacks added as nulls; a draw must be
    given whole (kind, amount and periods, or none of them) with a known kind."""
    for name in OPTIONAL_ASSIGNMENT_COLUMNS:
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, PLAN_ASSIGNMENTS.field(name).type))
    given = [pc.is_valid(table.column(name)) for name in OPTIONAL_ASSIGNMENT_COLUMNS]
    partial = pc.and_(
        pc.or_(pc.or_(given[0], given[1]), given[2]),
        pc.invert(pc.and_(pc.and_(given[0], given[1]), given[2])),
    )
    if pc.any(partial).as_py():
        raise ValueError("a plan assignment's draw needs draw_kind, draw_amount and draw_periods together")
    kinds = set(table.column("draw_kind").drop_null().to_pylist())
    if not kinds <= set(DRAW_KINDS):
        raise ValueError(
            f"unknown draw_kind {sorted(kinds - set(DRAW_KINDS))}: use one of {list(DRAW_KINDS)}"
        )
    return table


@dataclass(frozen=True)
class CalcInputs:
    calendar: FiscalCalendar
    base_currency: str
    #: (plan name, version) → the published, validated plan.
    plans: Mapping[tuple[str, int], Plan]
    #: person_id, plan, version, start_date, end_date (exclusive, null = open), target_incentive
    #: (decimal128(18, 4)), currency, and optionally the person's own draw (draw_kind, draw_amount,
    #: draw_periods) — one row per plan assignment (`PLAN_ASSIGNMENTS`).
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
