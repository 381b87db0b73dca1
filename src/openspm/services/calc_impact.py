"""What a change can affect, and what a plan change would cost.

`affected_payees(conn, change)` lists the people whose pay a change of facts can move, from the
crediting dependencies:

- a transaction: its owner, its deal's owner and split (revenue and overlay) people, and the owner of
  its account's territory on its date;
- a deal: its owner, split people, its transactions' owners and their accounts' territory owners, and
  the people of the activities on it (an activity measure's filter may read the deal's fields);
- an account: everyone its deals and transactions credit (a filter may read its fields), the owners of
  every territory it was ever in, and the people of the activities on it;
- a person (assignments, quotas, plan assignments), and the holders of a changed plan's assignments;
- for all of them, everyone who ever managed them: rollups follow the chain as of the transaction's
  date, overrides on earnings as of the end of the member's pay period.

Call it before and after applying a change (a deal moved from one owner to another affects both) and
run the calculation with `payees=` the union: the result equals a full recalculation
(tests/integration/test_calc_incremental.py). `calc_changes` does this from the recorded changes.

`plan_impact(engine, a, b, period)` re-runs a period under two plan versions — everyone on plan A's name is
put on A, then on B — and lists each person's payout difference and the total cost change. Nothing is
recorded: it is a regression test for a comp plan before it reaches production.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Engine, or_, select

from openspm.domain.plans import Plan
from openspm.engine.calc.inputs import CalcInputs
from openspm.services import company
from openspm.services.calc import Calculator, engine_calculator, parse_period
from openspm.services.calc_inputs import facts_start, load_inputs
from openspm.services.plans import validate_source
from openspm.store.models import (
    AccountAssignment,
    Activity,
    Opportunity,
    OpportunitySplit,
    PlanAssignmentRow,
    PlanVersion,
    ReportingLine,
    Territory,
    Transaction,
)


@dataclass(frozen=True)
class Change:
    """What changed: ids of facts, people whose assignments/quotas/plan assignments changed, plan names."""

    transactions: Sequence[str] = ()
    opportunities: Sequence[str] = ()
    accounts: Sequence[str] = ()
    people: Sequence[str] = ()
    plans: Sequence[str] = ()


def affected_payees(conn: Connection, change: Change) -> set[str]:
    """Everyone whose pay `change` can move, as the store stands now (see the module docstring)."""
    dated: set[tuple[str, date]] = set()
    opportunity_days: dict[str, set[date]] = {o: set() for o in change.opportunities}
    account_days: dict[str, set[date]] = {a: set() for a in change.accounts}
    tx = Transaction
    wanted = []
    if change.transactions:
        wanted.append(tx.transaction_id.in_(list(change.transactions)))
    if change.accounts:  # a changed account field (a filter may read it) moves every credit on it
        wanted.append(tx.account_id.in_(list(change.accounts)))
        deals = select(Opportunity.opportunity_id).where(Opportunity.account_id.in_(list(change.accounts)))
        for deal in conn.execute(deals).scalars():
            opportunity_days.setdefault(deal, set())
    if wanted:
        rows = conn.execute(
            select(tx.date, tx.owner_id, tx.opportunity_id, tx.account_id).where(or_(*wanted))
        ).all()
        for r in rows:
            if r.owner_id:
                dated.add((r.owner_id, r.date))
            if r.opportunity_id:
                opportunity_days.setdefault(r.opportunity_id, set()).add(r.date)
            if r.account_id:
                account_days.setdefault(r.account_id, set()).add(r.date)
    _opportunities(conn, opportunity_days, account_days, dated)
    undated = _territories(conn, account_days, dated, whole=set(change.accounts))
    undated |= set(change.people) | _plan_holders(conn, change.plans)
    undated |= _activity_people(conn, change.opportunities, change.accounts)
    credited = {person for person, _ in dated}
    # every manager they ever had, not only as of the credits' dates: an override on earnings takes the
    # manager as of the end of the member's pay period, which may differ from the transaction's date
    return credited | undated | _ancestors(conn, credited | undated)


def _activity_people(conn: Connection, opportunities: Sequence[str], accounts: Sequence[str]) -> set[str]:
    """The people of activities on a changed deal or account: an activity measure's filter may read it."""
    wanted = []
    if opportunities:
        wanted.append(Activity.opportunity_id.in_(list(opportunities)))
    if accounts:
        wanted.append(Activity.account_id.in_(list(accounts)))
    if not wanted:
        return set()
    return set(conn.execute(select(Activity.person_id).where(or_(*wanted)).distinct()).scalars())


def _opportunities(
    conn: Connection,
    days: dict[str, set[date]],
    account_days: dict[str, set[date]],
    dated: set[tuple[str, date]],
) -> None:
    """Deal owners and split people, on every date a deal's transactions (or the deal itself) carry."""
    if not days:
        return
    ids = list(days)
    deals = conn.execute(
        select(
            Opportunity.opportunity_id,
            Opportunity.owner_id,
            Opportunity.account_id,
            Opportunity.created_date,
            Opportunity.close_date,
        ).where(Opportunity.opportunity_id.in_(ids))
    ).all()
    for tx in conn.execute(
        select(
            Transaction.opportunity_id, Transaction.date, Transaction.owner_id, Transaction.account_id
        ).where(Transaction.opportunity_id.in_(ids))
    ).all():
        days[tx.opportunity_id].add(tx.date)
        # a deal's field may move its transactions' credits: their own owners and accounts too
        if tx.owner_id:
            dated.add((tx.owner_id, tx.date))
        if tx.account_id:
            account_days.setdefault(tx.account_id, set()).add(tx.date)
    splits: dict[str, list[str]] = {}
    for s in conn.execute(
        select(OpportunitySplit.opportunity_id, OpportunitySplit.person_id).where(
            OpportunitySplit.opportunity_id.in_(ids)
        )
    ).all():
        splits.setdefault(s.opportunity_id, []).append(s.person_id)
    for d in deals:
        on = days[d.opportunity_id] | {d.created_date} | ({d.close_date} if d.close_date else set())
        account_days.setdefault(d.account_id, set()).update(on)
        for person in [d.owner_id, *splits.get(d.opportunity_id, [])]:
            dated.update((person, day) for day in on)


def _territories(
    conn: Connection, account_days: dict[str, set[date]], dated: set[tuple[str, date]], *, whole: set[str]
) -> set[str]:
    """The owner of each account's territory on each of its dates (added to `dated`); for the accounts in
    `whole` (changed themselves: any of their transactions may move) the owners of every territory they
    were ever in, returned (their chains on any date count)."""
    if not account_days:
        return set()
    rows = conn.execute(
        select(
            AccountAssignment.account_id,
            AccountAssignment.start_date,
            AccountAssignment.end_date,
            Territory.owner_id,
        )
        .join(Territory, Territory.territory_id == AccountAssignment.territory_id)
        .where(AccountAssignment.account_id.in_(list(account_days)), Territory.owner_id.is_not(None))
    ).all()
    undated: set[str] = set()
    for r in rows:
        if r.account_id in whole:
            undated.add(r.owner_id)
        for day in account_days[r.account_id]:
            if r.start_date <= day and (r.end_date is None or day < r.end_date):
                dated.add((r.owner_id, day))
    return undated


def _ancestors(conn: Connection, people: set[str]) -> set[str]:
    """Everyone who ever managed one of `people` (directly or higher up)."""
    if not people:
        return set()
    line = ReportingLine
    return set(conn.execute(select(line.ancestor_id).where(line.person_id.in_(sorted(people)))).scalars())


def _plan_holders(conn: Connection, names: Sequence[str]) -> set[str]:
    if not names:
        return set()
    return set(
        conn.execute(
            select(PlanAssignmentRow.person_id)
            .join(PlanVersion, PlanVersion.id == PlanAssignmentRow.plan_version_id)
            .where(or_(*[PlanVersion.name == n for n in names]))
        ).scalars()
    )


# --- plan impact ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PersonImpact:
    person_id: str
    currency: str
    before: Decimal
    after: Decimal

    @property
    def change(self) -> Decimal:
        return self.after - self.before


@dataclass(frozen=True)
class PlanImpact:
    period: str
    plan_a: str
    plan_b: str
    people: list[PersonImpact]

    def totals(self) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
        """Per currency: cost under A, under B, and the change."""
        out: dict[str, tuple[Decimal, Decimal, Decimal]] = {}
        for p in self.people:
            a, b, _ = out.get(p.currency, (Decimal(0), Decimal(0), Decimal(0)))
            out[p.currency] = (a + p.before, b + p.after, b + p.after - a - p.before)
        return dict(sorted(out.items()))


def _under(inputs: CalcInputs, replaced: str, plan: Plan, start: date, end: date) -> CalcInputs:
    """Inputs where everyone on a version of `replaced` is on `plan` (its dates widened to the period)."""
    widened = plan.model_copy(
        update={
            "effective_from": min(plan.effective_from, start),
            "effective_to": None if plan.effective_to is None else max(plan.effective_to, end),
        }
    )
    a = inputs.plan_assignments
    mine = pc.equal(a["plan"], replaced)
    plans = pc.if_else(mine, pa.scalar(plan.name), a["plan"])
    versions = pc.if_else(mine, pa.scalar(plan.version, pa.int32()), a["version"])
    assignments = a.set_column(a.column_names.index("plan"), "plan", plans)
    assignments = assignments.set_column(a.column_names.index("version"), "version", versions)
    kept = {k: v for k, v in inputs.plans.items() if k[0] != replaced}
    return replace(inputs, plans={**kept, (plan.name, plan.version): widened}, plan_assignments=assignments)


def _by_person(lines: pa.Table) -> dict[tuple[str, str], Decimal]:
    out: dict[tuple[str, str], Decimal] = {}
    for r in lines.select(["person_id", "currency", "amount"]).to_pylist():
        key = (r["person_id"], r["currency"])
        out[key] = out.get(key, Decimal(0)) + r["amount"]
    return out


def plan_impact(
    engine: Engine,
    plan_a_source: str,
    plan_b_source: str,
    period: str,
    *,
    calculator: Calculator | None = None,
) -> PlanImpact:
    """Each person's pay for `period` under plan A and under plan B (nothing is recorded)."""
    calculate = calculator or engine_calculator
    a, b = validate_source(plan_a_source), validate_source(plan_b_source)
    with engine.connect() as conn:
        calendar = company.get_settings(conn).calendar
    target = parse_period(calendar, period)
    inputs = load_inputs(engine, target.label, since=facts_start(calendar, [a, b], target.start))
    before = _by_person(calculate(_under(inputs, a.name, a, target.start, target.end), target.label, None))
    after = _by_person(calculate(_under(inputs, a.name, b, target.start, target.end), target.label, None))
    people = [
        PersonImpact(
            person,
            currency,
            before.get((person, currency), Decimal(0)),
            after.get((person, currency), Decimal(0)),
        )
        for person, currency in sorted(set(before) | set(after))
    ]
    return PlanImpact(target.label, f"{a.name} v{a.version}", f"{b.name} v{b.version}", people)
