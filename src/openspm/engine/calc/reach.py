"""Which source rows can credit a set of payees: a run for a few people reads only those rows.

Crediting is row by row: whom a transaction (or deal, or activity) credits depends on that row and on
small dimension tables (splits, territories, the org, plan assignments), never on other rows. So a run
for some payees gives them exactly what a run for everyone gives them if it reads every row that could
credit one of them, or credit someone whose credit rolls up to them, and any other rows besides.

`reaching(inputs, payees)` keeps those rows. The people that matter (`reach`) are the payees and, below
each payee on a plan with a rollup rule or an override, everyone who ever reported to them, directly or
further down, on any date: a rollup credits a manager from the credits of the people below them (at
every level it reaches, whatever plan those in between are on), and an override pays a manager from
the team's own lines, which need the team's credits (and, for a member who manages in turn, theirs).
A row can credit someone in that set when

* its transaction owner is one of them (a `direct` rule), or
* its deal can: the deal's owner is one of them, one of them is on the deal's splits (revenue or
  overlay), or the deal's account has been in a territory one of them owns (when a plan has a
  `territory` rule), or
* its own account has been in such a territory;
* an activity, when its person is one of them.

Dates and rule filters are ignored: the rows kept are a superset of the rows that can reach the payees,
and crediting then decides as it would for everyone. The three fact tables shrink, and so do the plan
assignments, quotas and earlier payout lines, to the people in the set (nobody else's pay can move theirs).
`services.calc_inputs.load_inputs` reads a superset of the same rows from the store by person, deal
and account, and applies `reaching` to it.
Deals stay when a kept transaction or activity refers to them, so the deal fields a filter reads are
the same, and so do all the splits of a kept deal (its revenue splits must still add up to 100 %).
Accounts and their territory assignments shrink to those the kept rows refer to (a filter or a
territory rule reads only those) and quotas to the people in the set (only a seat's own quota is read);
the other dimension tables stay whole.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

import pyarrow as pa
import pyarrow.compute as pc

from openspm.domain.plans import Override, Plan
from openspm.domain.plans.model import RollupRule, TerritoryRule
from openspm.engine.calc.inputs import CalcInputs


def reach(assignments: pa.Table, payees: Iterable[str], leads: Iterable[str] | None = None) -> set[str]:
    """The payees and, below each payee in `leads` (default: every payee), everyone who ever reported to
    them, at any depth, in any assignment."""
    below: dict[str, set[str]] = {}
    for person, manager in zip(
        assignments.column("person_id").to_pylist(), assignments.column("manager_id").to_pylist(), strict=True
    ):
        if person is not None and manager is not None:
            below.setdefault(manager, set()).add(person)
    found = set(payees)
    frontier = list(found if leads is None else found & set(leads))
    expanded: set[str] = set()  # people whose reports are in: a payee below a lead is walked through too
    while frontier:
        nxt = [p for m in frontier if m not in expanded for p in below.get(m, ())]
        expanded.update(frontier)
        found.update(nxt)
        frontier = nxt
    return found


def paid_people(
    org: pa.Table,
    plan_assignments: pa.Table,
    plans: Mapping[tuple[str, int], Plan],
    payees: Iterable[str],
) -> set[str]:
    """Whose credits or pay a run for `payees` must get right: `reach` from the payees, descending
    below the people on a plan with a rollup rule or an override."""
    people = plan_assignments.column("person_id").to_pylist()
    keys = zip(
        plan_assignments.column("plan").to_pylist(),
        plan_assignments.column("version").to_pylist(),
        strict=True,
    )
    teams = {key for key, plan in plans.items() if _reads_a_team(plan)}
    leads = {person for person, key in zip(people, keys, strict=True) if key in teams}
    return reach(org, payees, leads)


def has_territory_rules(plans: Mapping[tuple[str, int], Plan]) -> bool:
    """Whether owning a territory can credit anyone (else accounts need not be followed)."""
    return any(isinstance(r, TerritoryRule) for p in plans.values() for r in p.crediting)


def owned_territories(territories: pa.Table, people: Iterable[str]) -> list[str]:
    """The territories one of `people` owns, sorted."""
    owned = territories.filter(_among(territories, "owner_id", _values(sorted(set(people)))))
    return sorted(set(owned.column("territory_id").drop_null().to_pylist()))


def territory_accounts(
    territories: pa.Table, account_assignments: pa.Table, people: Iterable[str]
) -> set[str]:
    """Accounts that have been, on any date, in a territory one of `people` owns."""
    owned = _values(owned_territories(territories, people))
    spells = account_assignments.filter(_among(account_assignments, "territory_id", owned))
    return set(spells.column("account_id").drop_null().to_pylist())


def _reads_a_team(plan: Plan) -> bool:
    return any(isinstance(r, RollupRule) for r in plan.crediting) or any(
        isinstance(c, Override) for c in plan.components
    )


def reaching(inputs: CalcInputs, payees: Iterable[str]) -> CalcInputs:
    """`inputs` with only the transactions, deals and activities that can credit `payees` (module doc)."""
    found = paid_people(inputs.assignments, inputs.plan_assignments, inputs.plans, payees)
    people = _values(sorted(found))
    prior = inputs.prior_lines
    if prior is not None:
        prior = prior.filter(_among(prior, "person_id", people))
    deals, splits, tx = inputs.opportunities, inputs.opportunity_splits, inputs.transactions
    by_deal = _among(deals, "owner_id", people)
    by_row = _among(tx, "owner_id", people)
    if has_territory_rules(inputs.plans):
        accounts = _values(sorted(territory_accounts(inputs.territories, inputs.account_assignments, found)))
        by_deal = pc.or_(by_deal, _among(deals, "account_id", accounts))
        by_row = pc.or_(by_row, _among(tx, "account_id", accounts))
    reached = _unique(
        [
            deals.filter(by_deal).column("opportunity_id"),
            splits.filter(_among(splits, "person_id", people)).column("opportunity_id"),
        ]
    )
    tx = tx.filter(pc.or_(by_row, _among(tx, "opportunity_id", reached)))
    activities = inputs.activities
    referred = [reached, tx.column("opportunity_id")]
    if activities is not None:
        activities = activities.filter(_among(activities, "person_id", people))
        referred.append(activities.column("opportunity_id"))
    kept = _unique(referred)
    deals = deals.filter(_among(deals, "opportunity_id", kept))
    accounts = _unique([t.column("account_id") for t in (tx, deals, activities) if t is not None])
    return dataclasses.replace(
        inputs,
        transactions=tx,
        opportunities=deals,
        # every split of a kept deal: its revenue splits still add up to what they add up to
        opportunity_splits=splits.filter(_among(splits, "opportunity_id", kept)),
        activities=activities,
        plan_assignments=inputs.plan_assignments.filter(_among(inputs.plan_assignments, "person_id", people)),
        prior_lines=prior,
        accounts=inputs.accounts.filter(_among(inputs.accounts, "account_id", accounts)),
        account_assignments=inputs.account_assignments.filter(
            _among(inputs.account_assignments, "account_id", accounts)
        ),
        quotas=inputs.quotas.filter(_among(inputs.quotas, "subject_id", people)),
    )


def _unique(parts: list[pa.Array | pa.ChunkedArray]) -> pa.Array:
    return pc.unique(pa.chunked_array([_plain(p) for p in parts], pa.string()).combine_chunks()).drop_null()


def _values(items: list[str]) -> pa.Array:
    return pa.array(items, pa.string())


def _plain(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    return array.cast(pa.string())


def _among(table: pa.Table, column: str, values: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    """Rows whose `column` is one of `values` (a null is never among them)."""
    found = pc.is_in(table.column(column).cast(pa.string()), value_set=_plain(values), skip_nulls=True)
    return pc.fill_null(found, False)
