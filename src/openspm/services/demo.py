"""Load the demo company: generate it, set the company's calendar, load it through the importer's checks,
publish its compensation plans, put its people on them and calculate every closed month up to its today.

Every step is idempotent: loading the demo twice changes nothing the second time (identical tables are
unchanged, identical plan versions are not published again, existing assignments are kept, and a month
that already has a calculation is not calculated again).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection, Engine, select

from openspm.access.roles import Role
from openspm.demo import DemoCompany, generate_company
from openspm.demo.compensation import DemoPlanAssignment, manager_quotas, plan_assignments, plan_sources
from openspm.domain.errors import Conflict
from openspm.domain.periods import FiscalCalendar, PeriodKind, PeriodStatus
from openspm.services import company, users
from openspm.services import plans as plan_service
from openspm.services.imports import ImportReport, Progress, count_rows, load_tables
from openspm.store.models import PlanAssignmentRow, PlanVersion

#: The demo's sign-ins, one per role. Public on purpose: they exist only in a local demo store.
DEMO_PASSWORD = "openspm-demo"  # noqa: S105 - the public sign-in of a local demo store


@dataclass(frozen=True, slots=True)
class DemoUser:
    username: str
    role: Role
    person_id: str | None
    description: str


@dataclass(frozen=True)
class DemoPay:
    """What the compensation step did: plans published, people assigned, months calculated."""

    plans_published: int = 0  # new plan versions (0 when all were already there)
    plans: int = 0  # demo plan versions in the store
    assigned: int = 0  # new plan assignments
    assignments: int = 0  # demo plan assignments wanted
    conflicts: list[str] = field(default_factory=list)  # assignments refused (someone changed them)
    calculated: list[str] = field(default_factory=list)  # months calculated by this load
    already_calculated: int = 0  # closed months calculated by an earlier load
    skipped_calculation: str | None = None  # why no month was calculated, if so


@dataclass(frozen=True)
class DemoLoad:
    report: ImportReport
    settings: company.CompanySettings
    generated: dict[str, int]
    users: list[DemoUser]
    pay: DemoPay = DemoPay()


def demo_users(people: dict[str, Any]) -> list[DemoUser]:
    directors = people.get("directors", {})
    return [
        DemoUser("admin", Role.ADMIN, None, "administrator: everything, and manages users"),
        DemoUser("revops", Role.REVOPS, people.get("revops"), "revenue operations: sees everything"),
        DemoUser("finance", Role.FINANCE, None, "finance: all people, deals and pay; no coaching notes"),
        DemoUser(
            "director", Role.MANAGER, next(iter(directors.values()), None), "a regional director's subtree"
        ),
        DemoUser("manager", Role.MANAGER, people.get("manager"), "a first-line manager's team"),
        DemoUser("rep", Role.REP, people.get("disciplined_ae"), "an account executive: only their own data"),
    ]


def ensure_demo_users(conn: Connection, people: dict[str, Any], *, actor: str) -> list[DemoUser]:
    """Create the demo sign-ins that do not exist yet (audited like any user)."""
    wanted = demo_users(people)
    existing = {row[0] for row in users.list_users(conn)}
    for user in wanted:
        if user.username not in existing:
            users.create_user(
                conn,
                username=user.username,
                password=DEMO_PASSWORD,
                roles=frozenset({user.role}),
                actor=actor,
                person_id=user.person_id,
                display_name=user.description,
            )
    return wanted


def load_demo(
    engine: Engine,
    *,
    scale: float = 1.0,
    seed: int = 2025,
    actor: str = "demo",
    progress: Progress | None = None,
    calculate_pay: bool = True,
) -> DemoLoad:
    """Generate the demo company and load it, with its plans, assignments and the closed months' pay.

    Loading it twice changes nothing the second time. `calculate_pay=False` leaves every month open.
    """
    demo = generate_company(scale=scale, seed=seed)
    with engine.begin() as conn:
        settings = company.configure(
            conn,
            actor=actor,
            name=str(demo.facts.get("company_name", "Demo company")),
            base_currency="USD",
            fiscal_year_start_month=int(demo.facts["fiscal_year_start_month"]),
        )
    kwargs = {} if progress is None else {"progress": progress}
    report = load_tables(
        engine, demo_tables(demo), source=f"demo company (scale {scale}, seed {seed})", actor=actor, **kwargs
    )
    demo_sign_ins: list[DemoUser] = []
    pay = DemoPay()
    if report.ok:
        with engine.begin() as conn:
            demo_sign_ins = ensure_demo_users(conn, demo.facts["people"], actor=actor)
            pay = publish_and_assign(conn, plan_assignments(demo), actor=actor)
        if calculate_pay:
            pay = calculate_closed_months(engine, demo, pay, actor=actor, progress=progress)
    return DemoLoad(report, settings, demo.summary(), demo_sign_ins, pay)


def demo_tables(demo: DemoCompany) -> dict[str, pa.Table]:
    """The company's tables, with each first-line manager carrying their team's quota (the manager plan's
    attainment divides the team's bookings by the manager's own quota)."""
    quotas = pa.concat_tables([demo.tables["quotas"], manager_quotas(demo)])
    return demo.tables | {"quotas": quotas}


def publish_and_assign(conn: Connection, wanted: list[DemoPlanAssignment], *, actor: str) -> DemoPay:
    """Publish the demo plans (an identical version is left alone) and add the assignments not there yet."""
    published = [
        plan_service.publish_plan(conn, source, actor=actor, file=name)
        for name, source in plan_sources().items()
    ]
    have = _existing_assignments(conn)
    assigned, conflicts = 0, []
    for a in wanted:
        if (a.person_id, a.plan, a.version, a.start, a.end) in have:
            continue
        assignment = plan_service.Assignment(
            a.person_id, a.plan, a.version, a.start, a.end, a.target_incentive, a.currency
        )
        try:  # every check runs before anything is written, so a refusal leaves nothing behind
            plan_service.assign_plan(conn, assignment, actor=actor)
            assigned += 1
        except Conflict as exc:
            conflicts.append(str(exc))
    return DemoPay(
        plans_published=sum(p.created for p in published),
        plans=len(published),
        assigned=assigned,
        assignments=len(wanted),
        conflicts=conflicts,
    )


def _existing_assignments(conn: Connection) -> set[tuple[str, str, int, date, date | None]]:
    row = PlanAssignmentRow
    rows = conn.execute(
        select(row.person_id, PlanVersion.name, PlanVersion.version, row.start_date, row.end_date).join(
            PlanVersion, PlanVersion.id == row.plan_version_id
        )
    ).all()
    return {(r[0], r[1], r[2], r[3], r[4]) for r in rows}


def closed_months(demo: DemoCompany) -> list[str]:
    """Labels of the months from the start of the data up to the last month that ended before today."""
    calendar = FiscalCalendar(int(demo.facts["fiscal_year_start_month"]))
    today: date = demo.facts["today"]
    month = calendar.containing(demo.facts["data_start"], PeriodKind.MONTH)
    labels = []
    while month.end <= today:
        labels.append(month.label)
        month = calendar.containing(month.end, PeriodKind.MONTH)
    return labels


def calculate_closed_months(
    engine: Engine, demo: DemoCompany, pay: DemoPay, *, actor: str, progress: Progress | None = None
) -> DemoPay:
    """Calculate, in order, every closed month not calculated yet, so the demo shows pay at once.

    Months are calculated one after another because each month's advances, draws and clawbacks build on
    the lines of the months before it.
    """
    from openspm.services.calc import run_calculation  # imports the engine: only when pay is wanted

    months = closed_months(demo)
    with engine.connect() as conn:
        done = {m for m in months if company.period_status(conn, m).status is not PeriodStatus.OPEN}
    todo = [m for m in months if m not in done]
    calculated: list[str] = []
    for i, month in enumerate(todo):
        if progress is not None:
            progress(f"calculating pay for {month}", i, len(todo))
        run_calculation(engine, month, by=actor)  # an error here is a bug: let it be seen, not swallowed
        calculated.append(month)
    return replace(pay, calculated=calculated, already_calculated=len(done))


def store_summary(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return count_rows(conn)
