"""Loading the demo publishes its plans and assigns its people once: a second load changes nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func, select

from openspm.demo import generate_company
from openspm.demo.compensation import PLAN_FILES, plan_assignments
from openspm.services.demo import closed_months, load_demo
from openspm.services.plans import assignments_of, list_plans
from openspm.store.db import make_engine
from openspm.store.migrate import upgrade
from openspm.store.models import AuditEvent, PayoutLineRow, PlanAssignmentRow, Quota

SCALE = 0.05  # 43 people: two teams


def _count(engine: Engine, column: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count(column))).scalar_one())


def _plan_events(engine: Engine) -> int:
    with engine.connect() as conn:
        query = select(func.count(AuditEvent.id)).where(
            AuditEvent.action.in_(["plan.publish", "plan.assign"])
        )
        return int(conn.execute(query).scalar_one())


def test_demo_load_publishes_plans_and_assigns_people_idempotently(engine: Engine) -> None:
    upgrade(engine)
    wanted = plan_assignments(generate_company(scale=SCALE))
    first = load_demo(engine, scale=SCALE, calculate_pay=False)
    assert first.report.ok
    assert (first.pay.plans_published, first.pay.plans) == (len(PLAN_FILES), 6)
    assert first.pay.assigned == first.pay.assignments == len(wanted) > 0
    assert first.pay.conflicts == []
    with engine.connect() as conn:
        plans = list_plans(conn)
        hire = next(a for a in wanted if a.plan == "account_executive_new_hire")
        stored = assignments_of(conn, hire.person_id)
    assert sorted((p.name, p.version) for p in plans) == [
        ("account_executive", 1),
        ("account_executive", 2),
        ("account_executive_new_hire", 1),
        ("first_line_manager", 1),
        ("sales_development", 1),
        ("solutions_engineer", 1),
    ]
    assert [(a.plan, a.version, a.start, a.end) for a in stored] == [
        ("account_executive_new_hire", 1, hire.start, hire.end),
        ("account_executive", 2, hire.end, None),
    ]
    rows, quotas, events = (
        _count(engine, PlanAssignmentRow.id),
        _count(engine, Quota.id),
        _plan_events(engine),
    )
    assert rows == len(wanted)
    assert events == len(PLAN_FILES) + len(wanted)

    again = load_demo(engine, scale=SCALE, calculate_pay=False)
    assert again.report.ok
    assert (again.pay.plans_published, again.pay.assigned) == (0, 0)
    assert _count(engine, PlanAssignmentRow.id) == rows
    assert _count(engine, Quota.id) == quotas  # the managers' quotas too
    assert _plan_events(engine) == events  # nothing published or assigned again


def test_the_demo_is_paid_for_every_closed_month_and_a_second_load_recalculates_nothing(
    tmp_path: Path,
) -> None:
    """`make demo` shows pay at once: every month from the first of the data (2024-02) to the last closed
    one before "today" (2025-10-15), i.e. 2024-02 … 2025-09 = 20 months, is calculated in order; the AEs
    are paid commission, the hires draw 3,000 a month and recover it; loading again finds them done.
    (SQLite only: the store tests elsewhere cover the calculation on PostgreSQL.)"""
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    upgrade(engine)
    first = load_demo(engine, scale=SCALE)
    assert first.report.ok
    assert first.pay.calculated == closed_months(generate_company(scale=SCALE))
    assert first.pay.calculated[0] == "2024-02" and first.pay.calculated[-1] == "2025-09"
    assert len(first.pay.calculated) == 20 and first.pay.skipped_calculation is None
    with engine.connect() as conn:
        by_component = dict(
            conn.execute(
                select(PayoutLineRow.component, func.count()).group_by(PayoutLineRow.component)
            ).all()
        )
    assert by_component.get("bookings_commission", 0) > 0
    again = load_demo(engine, scale=SCALE)
    assert again.pay.calculated == [] and again.pay.already_calculated == 20
