"""Load the demo company: generate it, set the company's calendar, load it through the importer's checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from openspm.access.roles import Role
from openspm.demo import generate_company
from openspm.services import company, users
from openspm.services.imports import ImportReport, Progress, count_rows, load_tables

#: The demo's sign-ins, one per role. Public on purpose: they exist only in a local demo store.
DEMO_PASSWORD = "openspm-demo"  # noqa: S105 - the public sign-in of a local demo store


@dataclass(frozen=True, slots=True)
class DemoUser:
    username: str
    role: Role
    person_id: str | None
    description: str


@dataclass(frozen=True)
class DemoLoad:
    report: ImportReport
    settings: company.CompanySettings
    generated: dict[str, int]
    users: list[DemoUser]


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
) -> DemoLoad:
    """Generate the demo company and load it; loading it twice changes nothing the second time."""
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
        engine, demo.tables, source=f"demo company (scale {scale}, seed {seed})", actor=actor, **kwargs
    )
    demo_sign_ins: list[DemoUser] = []
    if report.ok:
        with engine.begin() as conn:
            demo_sign_ins = ensure_demo_users(conn, demo.facts["people"], actor=actor)
    return DemoLoad(report, settings, demo.summary(), demo_sign_ins)


def store_summary(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return count_rows(conn)
