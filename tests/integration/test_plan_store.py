"""Publishing plan versions (immutable, with their source) and assigning people to them."""

from __future__ import annotations

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
