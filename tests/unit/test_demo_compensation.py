"""The demo company's plans and who is on them (`openspm.demo.compensation`, docs/demo.md)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest

from openspm.demo import DemoCompany, generate_company
from openspm.demo.compensation import (
    PLAN_FILES,
    DemoPlanAssignment,
    demo_plans,
    manager_quotas,
    plan_assignments,
    plan_sources,
)
from openspm.domain.plans.model import DrawKind
from openspm.engine.expressions import filter_problems
from openspm.ingest.plans import read_plan

PAID_ROLES = ("ae", "sdr", "se", "manager")


@pytest.fixture(scope="module")
def company() -> DemoCompany:
    return generate_company()


@pytest.fixture(scope="module")
def assigned(company: DemoCompany) -> list[DemoPlanAssignment]:
    return plan_assignments(company)


def _covers(start: date, end: date | None, day: date) -> bool:
    return start <= day and (end is None or day < end)


def _days(company: DemoCompany) -> list[date]:
    """Every day of the data: 1 Feb 2024 to 31 Jan 2026."""
    first, last = company.facts["data_start"], date(2026, 1, 31)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@pytest.mark.parametrize("name", PLAN_FILES)
def test_every_demo_plan_validates(name: str) -> None:
    result = read_plan(plan_sources()[name], check_expression=filter_problems, file=name)
    assert result.problems == ()
    assert result.plan is not None
    assert name.startswith(result.plan.name)
    first_day = date(2025, 8, 1) if name == "account_executive_v2.yaml" else date(2024, 2, 1)
    assert result.plan.effective_from == first_day  # v2 from the reorg, the rest from the start


def test_every_paid_role_has_exactly_one_plan_on_every_day_it_works(
    company: DemoCompany, assigned: list[DemoPlanAssignment]
) -> None:
    """For every AE, SDR, SE and manager and every day of the data: one plan when they hold the role, else
    none. (With the default seed: 92 AEs — the leaver and the two hires among them —, 30 SDRs, 6 SEs and
    12 managers: 140 people.)"""
    roles = defaultdict(list)
    for a in company.tables["assignments"].to_pylist():
        if a["role"] in PAID_ROLES:
            roles[a["person_id"]].append((a["start_date"], a["end_date"]))
    plans = defaultdict(list)
    for p in assigned:
        plans[p.person_id].append((p.start, p.end))
    assert set(plans) == set(roles)
    assert len(roles) == 92 + 30 + 6 + 12
    for person, spans in roles.items():
        for day in _days(company)[::3]:
            works = any(_covers(s, e, day) for s, e in spans)
            on_plans = sum(_covers(s, e, day) for s, e in plans[person])
            assert on_plans == (1 if works else 0), (person, day)


def test_no_person_has_overlapping_plans(assigned: list[DemoPlanAssignment]) -> None:
    by_person = defaultdict(list)
    for p in assigned:
        by_person[p.person_id].append(p)
    for rows in by_person.values():
        rows.sort(key=lambda r: r.start)
        for before, after in pairwise(rows):
            assert before.end is not None and before.end <= after.start


def test_assignments_lie_within_their_plan_versions(assigned: list[DemoPlanAssignment]) -> None:
    versions = {(p.name, p.version): p for p in demo_plans()}
    for a in assigned:
        plan = versions[(a.plan, a.version)]
        assert plan.effective_from <= a.start
        if plan.effective_to is not None:
            assert a.end is not None and a.end <= plan.effective_to


def test_the_hires_start_on_a_recoverable_draw(
    company: DemoCompany, assigned: list[DemoPlanAssignment]
) -> None:
    """P00144 (hired 2024-08-05, replacing P00098) and P00145 (2024-08-19, a new seat) start on the new-hire
    AE plan: 3,000 a month for three months, recovered from later earnings."""
    versions = {(p.name, p.version): p for p in demo_plans()}
    hires = {h["person_id"]: h["hire_date"] for h in company.facts["hires"]}
    assert hires == {"P00144": date(2024, 8, 5), "P00145": date(2024, 8, 19)}
    for person, hired in hires.items():
        first = min((a for a in assigned if a.person_id == person), key=lambda a: a.start)
        assert (first.plan, first.start, first.end) == ("account_executive_new_hire", hired, date(2025, 8, 1))
        draw = versions[(first.plan, first.version)].draw
        assert draw is not None
        assert (draw.kind, draw.amount, draw.periods) == (DrawKind.RECOVERABLE, Decimal(3000), 3)
    others = [a for a in assigned if a.person_id not in hires]
    assert all(versions[(a.plan, a.version)].draw is None for a in others)


def test_the_plan_changes_on_the_reorganisation_date(
    company: DemoCompany, assigned: list[DemoPlanAssignment]
) -> None:
    """AE v1 ends and v2 starts on 2025-08-01, the reorganisation; every AE working that day moves over,
    the moved pod's AEs included, with the same target incentive."""
    reorg = company.facts["reorganisation"]["date"]
    assert reorg == date(2025, 8, 1)
    v1, v2 = (p for p in demo_plans() if p.name == "account_executive")
    assert v1.effective_to == v2.effective_from == reorg
    aes = {a.person_id for a in assigned if a.role == "ae" and _covers(a.start, a.end, reorg)}
    assert set(company.facts["reorganisation"]["moved_person_ids"]) - {"P00086"} <= aes  # P00086 is the SDR
    for person in aes:
        rows = {(a.plan, a.version): a for a in assigned if a.person_id == person}
        after = rows[("account_executive", 2)]
        before = rows.get(("account_executive", 1)) or rows[("account_executive_new_hire", 1)]
        assert before.end == after.start == reorg
        assert before.target_incentive == after.target_incentive


def test_target_incentives_follow_role_and_segment(assigned: list[DemoPlanAssignment]) -> None:
    """P00043 is an AMER SMB AE (55,000); P00144 holds an APAC Enterprise seat (90,000); P00145 an AMER
    Mid-Market one (70,000); SDR P00046 30,000; SE P00138 40,000; manager P00008 60,000."""
    ti = {a.person_id: a.target_incentive for a in assigned}
    expected = {"P00043": 55_000, "P00144": 90_000, "P00145": 70_000, "P00046": 30_000, "P00138": 40_000}
    assert {p: ti[p] for p in expected} == {p: Decimal(v) for p, v in expected.items()}
    assert ti["P00008"] == Decimal(60_000)


def test_a_manager_carries_the_team_quota(company: DemoCompany) -> None:
    """P00008 leads ORG-AMER-SMB-1: their bookings quota each quarter is the team's."""
    quotas = company.tables["quotas"].to_pylist()
    team = {
        q["period"]: q["amount"]
        for q in quotas
        if q["subject_id"] == "ORG-AMER-SMB-1" and q["measure"] == "bookings"
    }
    mine = {
        q["period"]: q["amount"] for q in manager_quotas(company).to_pylist() if q["subject_id"] == "P00008"
    }
    assert mine == team
    assert len(mine) == 8  # the eight quarters of FY2025 and FY2026
    assert manager_quotas(company).num_rows == 12 * 8
