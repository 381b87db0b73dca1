"""Incremental runs equal a full recalculation, on random changes (hypothesis).

The small company on SQLite with the example AE plan (P-AE1, P-AE2) and the first-line manager plan
(P-MGR: team rollup as of the transaction date, territory credit, a 5 % override on the team's earnings),
calculated once for 2025-03. Each example applies one or two random changes — a late booking, a changed
amount, a transaction moved to another owner, a changed revenue split — then recalculates only
`affected_payees` (asked before and after the change: a moved deal affects its old and its new people),
and checks that the recorded lines now equal a full recalculation (a dry run for everyone), line for line
and byte for byte in their explanations. Examples are few and small: each costs two engine runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, insert, select, update

from openspm.engine.calc.reach import reaching
from openspm.services import calc, plans
from openspm.services.calc_impact import Change, affected_payees
from openspm.services.calc_inputs import load_inputs
from openspm.services.calc_results import current_payouts
from openspm.services.imports import import_directory
from openspm.store.db import make_engine
from openspm.store.migrate import upgrade
from openspm.store.models import OpportunitySplit, Transaction

ROOT = Path(__file__).parent.parent.parent
SMALL = ROOT / "tests" / "fixtures" / "canonical" / "small"
EXAMPLES = ROOT / "examples" / "plans"
PEOPLE = ("P-AE1", "P-AE2")


def team_store(path: Path) -> Engine:
    """The small company on SQLite at `path`: P-AE1 and P-AE2 on the AE plan, P-MGR on the manager plan."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    assert import_directory(engine, SMALL).ok
    with engine.begin() as conn:
        for name in ("ae_2025_v1.yaml", "manager_2025.yaml"):
            plans.publish_plan(conn, (EXAMPLES / name).read_text(), actor="revops")
        for person in PEOPLE:
            ae = plans.Assignment(
                person, "account_executive", 1, date(2025, 1, 1), date(2025, 7, 1), Decimal(60000), "USD"
            )
            plans.assign_plan(conn, ae, actor="revops")
        manager = plans.Assignment(
            "P-MGR", "first_line_manager", 1, date(2025, 1, 1), None, Decimal(40000), "USD"
        )
        plans.assign_plan(conn, manager, actor="revops")
    return engine


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = team_store(tmp_path_factory.mktemp("incremental") / "spm.db")
    calc.run_calculation(engine, "2025-03", by="test")
    yield engine
    engine.dispose()


@dataclass(frozen=True)
class NewBooking:
    day: int  # days after 2025-01-01 (within the quarter)
    amount: int
    opportunity: str | None
    owner: str


@dataclass(frozen=True)
class NewAmount:
    transaction: str
    amount: int


@dataclass(frozen=True)
class NewOwner:
    transaction: str
    owner: str


@dataclass(frozen=True)
class NewSplit:
    first_percent: int  # P-AE1's share of O1; P-AE2 gets the rest


EXISTING = st.sampled_from(["TX1", "TX3"])
CHANGES = st.one_of(
    st.builds(
        NewBooking,
        st.integers(0, 89),
        st.integers(1, 90).map(lambda k: k * 1000),
        st.sampled_from([None, "O1", "O3"]),
        st.sampled_from(PEOPLE),
    ),
    st.builds(NewAmount, EXISTING, st.integers(1, 200).map(lambda k: k * 1000)),
    st.builds(NewOwner, EXISTING, st.sampled_from(PEOPLE)),
    st.builds(NewSplit, st.integers(0, 100)),
)
_counter = iter(range(10_000))


def change_of(engine: Engine, change: object) -> Change:
    if isinstance(change, NewAmount | NewOwner):
        return Change(transactions=[change.transaction])
    if isinstance(change, NewSplit):
        return Change(opportunities=["O1"])
    return Change()  # a new booking: nothing to ask before it exists


def apply(engine: Engine, change: object) -> Change:
    """Make the change; return what to ask `affected_payees` about after it."""
    with engine.begin() as conn:
        if isinstance(change, NewBooking):
            transaction_id = f"TX-H{next(_counter)}"
            conn.execute(
                insert(Transaction).values(
                    transaction_id=transaction_id,
                    kind="booking",
                    date=date(2025, 1, 1) + timedelta(days=change.day),
                    amount=Decimal(change.amount),
                    currency="USD",
                    opportunity_id=change.opportunity,
                    account_id="A1",
                    owner_id=change.owner,
                )
            )
            return Change(transactions=[transaction_id])
        if isinstance(change, NewAmount):
            row = Transaction.transaction_id == change.transaction
            conn.execute(update(Transaction).where(row).values(amount=Decimal(change.amount)))
            return Change(transactions=[change.transaction])
        if isinstance(change, NewOwner):
            row = Transaction.transaction_id == change.transaction
            conn.execute(update(Transaction).where(row).values(owner_id=change.owner))
            return Change(transactions=[change.transaction])
        assert isinstance(change, NewSplit)
        for person, percent in (("P-AE1", change.first_percent), ("P-AE2", 100 - change.first_percent)):
            split = (OpportunitySplit.opportunity_id == "O1") & (OpportunitySplit.person_id == person)
            conn.execute(update(OpportunitySplit).where(split).values(percent=Decimal(percent)))
        return Change(opportunities=["O1"])


def recorded(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        lines = [x for x in current_payouts(conn) if x.run_id and _in_run_period(conn, x.run_id)]
    return sorted(
        (
            x.person_id,
            x.period,
            x.plan,
            x.version,
            x.component,
            x.line_kind,
            x.amount,
            x.corrects_period,
            x.explanation.__repr__(),
        )
        for x in lines
    )


def _in_run_period(conn: object, run_id: int) -> bool:
    from openspm.store.models import CalcRun

    return conn.execute(select(CalcRun.period).where(CalcRun.id == run_id)).scalar_one() == "2025-03"  # type: ignore[attr-defined]


def full(engine: Engine) -> list[tuple[object, ...]]:
    import json

    lines = calc.run_calculation(engine, "2025-03", dry_run=True, by="test").payout_lines.to_pylist()
    return sorted(
        (
            x["person_id"],
            x["period"],
            x["plan"],
            x["version"],
            x["component"],
            x["line_kind"],
            x["amount"],
            x["corrects_period"],
            json.loads(x["explanation"]).__repr__(),
        )
        for x in lines
    )


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(CHANGES, min_size=1, max_size=2))
def test_an_incremental_run_equals_a_full_recalculation(store: Engine, changes: list[object]) -> None:
    touched: set[str] = set()
    for change in changes:
        with store.connect() as conn:
            touched |= affected_payees(conn, change_of(store, change))
        after = apply(store, change)
        with store.connect() as conn:
            touched |= affected_payees(conn, after)
    assert touched, "every change here touches someone's credits"
    summary = calc.run_calculation(store, "2025-03", payees=sorted(touched), by="test")
    assert summary.payees == len(touched)
    assert recorded(store) == full(store)


def test_affected_payees_follow_credits_territories_and_the_management_chain(store: Engine) -> None:
    """TX1 (deal O1, account A1): owner P-AE1, O1's splits P-AE1, P-AE2 (revenue) and P-SE (overlay), A1's
    territory on 2025-03-20 TR-EAST-1 (owner P-AE1), and the managers of all of them on that day: P-MGR
    (of P-AE1 and P-AE2; P-SE reports to nobody)."""
    with store.connect() as conn:
        assert affected_payees(conn, Change(transactions=["TX1"])) >= {"P-AE1", "P-AE2", "P-SE", "P-MGR"}
        assert affected_payees(conn, Change(people=["P-SE"])) == {"P-SE"}
        assert affected_payees(conn, Change(plans=["first_line_manager"])) == {"P-MGR"}
        assert affected_payees(conn, Change(plans=["account_executive"])) == {"P-AE1", "P-AE2", "P-MGR"}


def _rows(table: pa.Table | None) -> list[tuple[object, ...]]:
    assert table is not None
    return sorted(tuple(r.values()) for r in table.to_pylist())


@pytest.mark.parametrize("payees", [["P-AE1"], ["P-MGR"], ["P-AE2", "P-NOBODY"]])
def test_a_run_for_some_people_reads_from_the_store_the_rows_the_engine_keeps(
    store: Engine, payees: list[str]
) -> None:
    """Looked up by person, deal and account: exactly what narrowing everything in Arrow keeps (the
    manager's plan credits territories, so the account lookups run too)."""
    everything = load_inputs(store, "2025-03")
    expected = reaching(everything, payees)
    narrowed = load_inputs(store, "2025-03", payees)
    for name in (
        "transactions", "opportunities", "opportunity_splits", "plan_assignments", "prior_lines",
        "accounts", "account_assignments", "quotas",
    ):  # fmt: skip
        assert _rows(getattr(narrowed, name)) == _rows(getattr(expected, name)), name
    for name in ("assignments", "territories", "fx_rates", "products", "people"):
        assert _rows(getattr(narrowed, name)) == _rows(getattr(everything, name)), name
    assert narrowed.transactions.num_rows > 0
    if payees == ["P-AE1"]:  # only their own quota, and the accounts their deals are on
        assert set(narrowed.quotas["subject_id"].to_pylist()) == {"P-AE1"}
        assert narrowed.accounts.num_rows < everything.accounts.num_rows


def test_a_changed_account_affects_its_territory_owners_its_credited_people_and_their_managers(
    store: Engine,
) -> None:
    """A1 was in TR-EAST-1 (P-AE1) until July, then in TR-EAST-2 (P-AE2), whatever its transactions'
    dates; A2 was only ever in TR-EAST-2. Both owners report to P-MGR. A changed account field can also
    move every credit on the account (a filter may read it): O1 on A1 is split with P-SE (overlay)."""
    with store.connect() as conn:
        assert affected_payees(conn, Change(accounts=["A1"])) == {"P-AE1", "P-AE2", "P-MGR", "P-SE"}
        assert affected_payees(conn, Change(accounts=["A2"])) == {"P-AE2", "P-MGR"}


def test_a_run_for_a_manager_rechecks_the_team_s_locked_months_too(tmp_path: Path) -> None:
    """January is locked, then a January booking of P-AE1 changes. A run of March for P-MGR alone must
    pay the team override a full run pays: the override reads the team's January lines as recomputed
    (the recheck of the locked month), not as recorded."""
    from openspm.domain.periods import PeriodStatus
    from openspm.services import company

    engine = team_store(tmp_path / "spm.db")
    with engine.begin() as conn:
        conn.execute(
            insert(Transaction).values(
                transaction_id="TX-JAN",
                kind="booking",
                date=date(2025, 1, 20),
                amount=Decimal(50000),
                currency="USD",
                account_id="A1",
                owner_id="P-AE1",
            )
        )
    for month in ("2025-01", "2025-02"):
        calc.run_calculation(engine, month, by="test")
    with engine.begin() as conn:
        for status in (PeriodStatus.APPROVED, PeriodStatus.LOCKED):  # the run made it `calculated`
            company.set_period_status(conn, "2025-01", status, actor="finance")
        conn.execute(
            update(Transaction).where(Transaction.transaction_id == "TX-JAN").values(amount=Decimal(90000))
        )

    def override(**options: object) -> list[tuple[object, ...]]:
        lines = calc.run_calculation(engine, "2025-03", dry_run=True, by="test", **options).payout_lines
        return sorted(
            (x["period"], x["component"], x["line_kind"], x["amount"], x["explanation"])
            for x in lines.to_pylist()
            if x["person_id"] == "P-MGR"
        )

    everyone = override()
    assert any(line[1] == "team_override" and line[3] != 0 for line in everyone)
    assert override(payees=["P-MGR"]) == everyone
    engine.dispose()
