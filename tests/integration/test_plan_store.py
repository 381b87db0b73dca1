"""Publishing plan versions (immutable, with their source) and assigning people to them."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from openspm.domain.errors import Conflict, InvalidRequest, NotFound
from openspm.services import plans
from openspm.services.imports import import_directory
from openspm.store.audit import verify_chain

EXAMPLES = Path(__file__).parent.parent.parent / "examples" / "plans"
SMALL = Path(__file__).parent.parent / "fixtures" / "canonical" / "small"


@pytest.fixture
def company(engine: Engine) -> Engine:
    assert import_directory(engine, SMALL).ok
    return engine


def publish(engine: Engine, name: str) -> plans.PublishedPlan:
    with engine.begin() as conn:
        return plans.publish_plan(conn, (EXAMPLES / name).read_text(), actor="revops")


def test_a_published_version_is_stored_with_its_source_and_never_changes(company: Engine) -> None:
    first = publish(company, "ae_2025_v1.yaml")
    assert (first.name, first.version, first.created) == ("account_executive", 1, True)
    again = publish(company, "ae_2025_v1.yaml")  # identical source: accepted, nothing new
    assert (again.id, again.created) == (first.id, False)
    changed = (EXAMPLES / "ae_2025_v1.yaml").read_text().replace("description:", "description: Edited.", 1)
    with pytest.raises(Conflict, match="publish the change as v2"), company.begin() as conn:
        plans.publish_plan(conn, changed, actor="revops")
    with company.connect() as conn:
        assert plans.plan_source(conn, "account_executive", 1) == (EXAMPLES / "ae_2025_v1.yaml").read_text()
        assert [(p.name, p.version) for p in plans.list_plans(conn)] == [("account_executive", 1)]
        events = (
            conn.execute(text("SELECT action FROM audit_events WHERE action LIKE 'plan.%'")).scalars().all()
        )
        assert events == ["plan.publish"]
        assert verify_chain(conn)[1] == []


def test_an_invalid_plan_is_refused_with_every_problem(company: Engine) -> None:
    bad = (Path(__file__).parent.parent / "fixtures" / "plans" / "bad" / "tiers.yaml").read_text()
    with pytest.raises(plans.PlanRejected) as caught, company.begin() as conn:
        plans.publish_plan(conn, bad, actor="revops")
    assert "components[2].tiers[1].rate" in {p.path for p in caught.value.problems}
    assert len(caught.value.problems) > 1
    with company.connect() as conn:
        assert plans.list_plans(conn) == []


def test_assignments_are_effective_dated_and_checked(company: Engine) -> None:
    v1, v2 = publish(company, "ae_2025_v1.yaml"), publish(company, "ae_2025_v2.yaml")
    h1 = plans.Assignment("P-AE1", v1.name, 1, date(2025, 1, 1), date(2025, 7, 1), Decimal(60000), "USD")
    h2 = plans.Assignment("P-AE1", v2.name, 2, date(2025, 7, 1), None, Decimal("66000.50"), "USD")
    with company.begin() as conn:
        plans.assign_plan(conn, h1, actor="revops")
        plans.assign_plan(conn, h2, actor="revops")
    refusals = [
        (
            plans.Assignment("P-AE1", v2.name, 2, date(2025, 9, 1), None, Decimal(1), "USD"),
            Conflict,
            "already",
        ),
        (plans.Assignment("P-XX", v2.name, 2, date(2025, 9, 1), None, Decimal(1), "USD"), NotFound, "person"),
        (plans.Assignment("P-AE2", v2.name, 9, date(2025, 9, 1), None, Decimal(1), "USD"), NotFound, "v9"),
        (
            plans.Assignment("P-AE2", v1.name, 1, date(2025, 3, 1), None, Decimal(1), "USD"),
            InvalidRequest,
            "within",
        ),
        (
            plans.Assignment("P-AE2", v2.name, 2, date(2025, 9, 1), None, Decimal(-1), "USD"),
            InvalidRequest,
            "≥ 0",
        ),
        (
            plans.Assignment("P-AE2", v2.name, 2, date(2025, 9, 1), None, Decimal(1), "XYZ"),
            InvalidRequest,
            "XYZ",
        ),
    ]
    for assignment, error, message in refusals:
        with pytest.raises(error, match=message), company.begin() as conn:
            plans.assign_plan(conn, assignment, actor="revops")
    with company.connect() as conn:
        assert plans.assignments_of(conn, "P-AE1") == [h1, h2]
        assert plans.assignments_of(conn, "P-AE2") == []


def test_an_assignment_s_own_draw_is_stored_audited_and_paid(company: Engine) -> None:
    """P-AE2 joins v1 (which has no draw) with a recoverable draw of 2,500 a month for 3 months. January
    has no bookings in the small company, so the January run pays the whole draw."""
    from openspm.domain.plans.model import Draw, DrawKind
    from openspm.services import calc
    from openspm.services.calc_results import current_payouts

    v1 = publish(company, "ae_2025_v1.yaml")
    own = Draw(kind=DrawKind.RECOVERABLE, amount=Decimal(2500), periods=3)
    mine = plans.Assignment(
        "P-AE2", v1.name, 1, date(2025, 1, 1), date(2025, 7, 1), Decimal(60000), "USD", own
    )
    with company.begin() as conn:
        plans.assign_plan(conn, mine, actor="revops")
    with company.connect() as conn:
        assert plans.assignments_of(conn, "P-AE2") == [mine]
        after = conn.execute(
            text("SELECT after FROM audit_events WHERE action = 'plan.assign' ORDER BY id DESC")
        ).scalar_one()
    recorded = after if isinstance(after, dict) else json.loads(after)  # PostgreSQL hands back JSON
    assert recorded["draw"] == {"kind": "recoverable", "amount": "2500", "periods": 3}
    calc.run_calculation(company, "2025-01", by="ops")
    with company.connect() as conn:
        lines = [(x.person_id, x.component, x.amount) for x in current_payouts(conn, period="2025-01")]
    assert ("P-AE2", "draw", Decimal("2500.00")) in lines


def test_the_store_refuses_a_partial_or_unknown_draw(company: Engine) -> None:
    """The service builds a whole `Draw`; the database holds the same line against any other writer."""
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from openspm.store.models import PlanAssignmentRow

    v1 = publish(company, "ae_2025_v1.yaml")
    row = {
        "person_id": "P-AE1",
        "plan_version_id": v1.id,
        "start_date": date(2025, 1, 1),
        "target_incentive": Decimal(1),
        "currency": "USD",
    }
    for draw in (
        {"draw_kind": "recoverable", "draw_amount": Decimal(100)},
        {"draw_kind": "forgivable", "draw_amount": Decimal(100), "draw_periods": 2},
        {"draw_kind": "recoverable", "draw_amount": Decimal(100), "draw_periods": 0},
    ):
        with pytest.raises(IntegrityError), company.begin() as conn:
            conn.execute(insert(PlanAssignmentRow).values(**row, **draw))
    with company.begin() as conn:
        conn.execute(insert(PlanAssignmentRow).values(**row))  # no draw at all is fine
