"""The demo company's compensation: its plan files, who is on which plan version, when, for how much.

Pure: reads the plan YAML shipped in `openspm/demo/plans/` and the generated company's tables, returns
data (the store is filled by `services.demo`). The rules, in the order they apply (docs/demo.md):

- a person's plan follows their role (`assignments.role`); back-to-back assignments in the same role
  (the reorganisation's moves) are one stretch of work;
- each stretch is cut at the plan versions' effective dates: AEs are on `account_executive` v1 until
  the reorganisation (1 August 2025) and on v2 from that day; AEs who joined during the data (the two
  mid-year hires) start on `account_executive_new_hire` v1, the v1 plan with a recoverable draw;
- nothing starts before the data does (1 February 2024), and an open assignment stays open;
- target incentives (variable pay at 100 % attainment, per year, USD) by role, and for AEs by the
  segment of their team.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

import pyarrow as pa

from openspm.demo.company import DemoCompany
from openspm.domain.periods import FiscalCalendar
from openspm.domain.plans import Plan
from openspm.engine.calc.inputs import PLAN_ASSIGNMENTS
from openspm.engine.expressions import filter_problems
from openspm.ingest.plans import read_plan

CURRENCY = "USD"

#: The plan files, in the order they are published.
PLAN_FILES = (
    "account_executive_v1.yaml",
    "account_executive_v2.yaml",
    "account_executive_new_hire_v1.yaml",
    "sales_development_v1.yaml",
    "solutions_engineer_v1.yaml",
    "first_line_manager_v1.yaml",
)

#: Which plans each role works under, one after the other (each plan's versions in order).
ROLE_PLANS: Mapping[str, tuple[str, ...]] = {
    "ae": ("account_executive",),
    "new_hire_ae": ("account_executive_new_hire", "account_executive"),
    "sdr": ("sales_development",),
    "se": ("solutions_engineer",),
    "manager": ("first_line_manager",),
}

#: Target incentive per year (USD) by role; AEs by their team's segment.
TARGET_INCENTIVES: Mapping[str, Decimal] = {
    "ae:Enterprise": Decimal(90_000),
    "ae:Mid-Market": Decimal(70_000),
    "ae:SMB": Decimal(55_000),
    "sdr": Decimal(30_000),
    "se": Decimal(40_000),
    "manager": Decimal(60_000),
}
SEGMENT_NAMES = ("Enterprise", "Mid-Market", "SMB")


@dataclass(frozen=True, slots=True)
class DemoPlanAssignment:
    """One person on one plan version over `[start, end)` (end None: open)."""

    person_id: str
    role: str
    plan: str
    version: int
    start: date
    end: date | None
    target_incentive: Decimal
    currency: str = CURRENCY


@dataclass(frozen=True, slots=True)
class _Stretch:
    person_id: str
    role: str
    org_unit_id: str
    start: date
    end: date | None


@cache
def plan_sources() -> dict[str, str]:
    """File name → YAML source of every demo plan, in publishing order (exactly the shipped bytes)."""
    folder = resources.files("openspm.demo") / "plans"
    return {name: (folder / name).read_text(encoding="utf-8") for name in PLAN_FILES}


@cache
def demo_plans() -> tuple[Plan, ...]:
    """Every demo plan, validated; raises ValueError naming the file and every problem if one is bad."""
    plans = []
    for name, source in plan_sources().items():
        result = read_plan(source, check_expression=filter_problems, file=name)
        if result.plan is None or not result.ok:
            raise ValueError(f"{name}: " + "; ".join(str(p) for p in result.problems))
        plans.append(result.plan)
    return tuple(plans)


def plan_versions(name: str) -> list[Plan]:
    return sorted((p for p in demo_plans() if p.name == name), key=lambda p: p.version)


def plan_assignments(company: DemoCompany) -> list[DemoPlanAssignment]:
    """Who is on which plan version when, sorted by person and start: one row per plan version stretch."""
    data_start: date = company.facts["data_start"]
    segments = _team_segments(company.tables["org_units"])
    rows: list[DemoPlanAssignment] = []
    for stretch in _stretches(company.tables["assignments"].to_pylist()):
        if stretch.role not in ROLE_PLANS or (stretch.end is not None and stretch.end <= data_start):
            continue
        start = max(stretch.start, data_start)
        is_hire = stretch.role == "ae" and stretch.start > data_start
        plans = ROLE_PLANS["new_hire_ae" if is_hire else stretch.role]
        ti = _target_incentive(stretch.role, segments.get(stretch.org_unit_id))
        for plan in plans_in_turn(plans):
            low = max(start, plan.effective_from)
            high = _earliest(stretch.end, plan.effective_to)
            if high is not None and high <= low:
                continue
            rows.append(
                DemoPlanAssignment(stretch.person_id, stretch.role, plan.name, plan.version, low, high, ti)
            )
    return _without_overlaps(sorted(rows, key=lambda r: (r.person_id, r.start)))


def plans_in_turn(names: tuple[str, ...]) -> list[Plan]:
    """The versions of each plan in turn; a later plan takes over where the earlier one ends."""
    chosen: list[Plan] = []
    for name in names:
        taken_until = chosen[-1].effective_to if chosen else None
        chosen += [
            p
            for p in plan_versions(name)
            if taken_until is None or (p.effective_to or date.max) > taken_until
        ]
    return chosen


def _earliest(a: date | None, b: date | None) -> date | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


def _stretches(assignments: Iterable[Mapping[str, Any]]) -> list[_Stretch]:
    """Assignments merged where the same person continues in the same role without a gap."""
    ordered = sorted(assignments, key=lambda a: (a["person_id"], a["start_date"]))
    merged: list[_Stretch] = []
    for a in ordered:
        last = merged[-1] if merged else None
        continues = (
            last is not None
            and last.person_id == a["person_id"]
            and last.role == a["role"]
            and last.end == a["start_date"]
        )
        if continues and last is not None:
            merged[-1] = _Stretch(last.person_id, last.role, last.org_unit_id, last.start, a["end_date"])
        else:
            merged.append(
                _Stretch(a["person_id"], a["role"], a["org_unit_id"], a["start_date"], a["end_date"])
            )
    return merged


def _without_overlaps(rows: list[DemoPlanAssignment]) -> list[DemoPlanAssignment]:
    """A person changing role ends one plan the day the next starts (never two plans on one day)."""
    out: list[DemoPlanAssignment] = []
    for row in rows:
        last = out[-1] if out else None
        if (
            last is not None
            and last.person_id == row.person_id
            and (last.end is None or last.end > row.start)
        ):
            out[-1] = DemoPlanAssignment(
                last.person_id,
                last.role,
                last.plan,
                last.version,
                last.start,
                row.start,
                last.target_incentive,
            )
        out.append(row)
    return [r for r in out if r.end is None or r.end > r.start]


def _team_segments(org_units: pa.Table) -> dict[str, str]:
    segments = {}
    for unit in org_units.select(["org_unit_id", "name"]).to_pylist():
        for segment in SEGMENT_NAMES:
            if segment in unit["name"]:
                segments[unit["org_unit_id"]] = segment
    return segments


def _target_incentive(role: str, segment: str | None) -> Decimal:
    if role == "ae":
        return TARGET_INCENTIVES[f"ae:{segment or 'SMB'}"]
    return TARGET_INCENTIVES[role]


def assignment_table(rows: Iterable[DemoPlanAssignment]) -> pa.Table:
    """The rows as a table with the calculation's `PLAN_ASSIGNMENTS` schema."""
    rows = list(rows)
    return pa.Table.from_pylist(
        [
            {
                "person_id": r.person_id,
                "plan": r.plan,
                "version": r.version,
                "start_date": r.start,
                "end_date": r.end,
                "target_incentive": r.target_incentive,
                "currency": r.currency,
            }
            for r in rows
        ],
        schema=PLAN_ASSIGNMENTS,
    )


def manager_quotas(company: DemoCompany) -> pa.Table:
    """A `bookings` quota for each first-line manager and quarter: their team's quota that quarter.

    The demo sets team quotas on the team (an org unit); the manager plan's attainment divides the
    team's bookings by the manager's own quota, so each manager carries the quota of the team they
    lead on the first day of the quarter.
    """
    calendar = FiscalCalendar(int(company.facts["fiscal_year_start_month"]))
    quotas = company.tables["quotas"]
    team_quota = {
        (q["subject_id"], q["period"]): q["amount"]
        for q in quotas.select(["subject_id", "subject_kind", "measure", "period", "amount"]).to_pylist()
        if q["subject_kind"] == "org_unit" and q["measure"] == "bookings"
    }
    managers = [a for a in company.tables["assignments"].to_pylist() if a["role"] == "manager"]
    rows = []
    for label in company.facts["quarters"]:
        first_day = calendar.parse(label).start
        for a in managers:
            leads = a["start_date"] <= first_day and (a["end_date"] is None or a["end_date"] > first_day)
            amount = team_quota.get((a["org_unit_id"], label))
            if leads and amount is not None:
                rows.append((a["person_id"], label, amount))
    rows.sort()
    schema = quotas.schema
    columns = {
        "subject_id": [r[0] for r in rows],
        "subject_kind": ["person"] * len(rows),
        "measure": ["bookings"] * len(rows),
        "period": [r[1] for r in rows],
        "amount": [r[2] for r in rows],
    }
    return pa.table(
        {f.name: pa.array(columns.get(f.name, [None] * len(rows)), f.type) for f in schema}, schema=schema
    )
