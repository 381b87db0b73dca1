"""Crediting: who is credited with each transaction (or deal, or activity), under which plan, by which rule.

The first step of the calculation, written as Ibis relational steps over the Arrow inputs (DuckDB by
default; any Ibis backend runs the same expression). Output: `tables.CREDITS`.

    source rows ─┬─ revenue family: direct | split(revenue) | territory   (first matching rule wins)
                 ├─ overlay family: overlay | split(overlay)                (first matching rule wins)
                 │        └──▶ seat join: only people on the plan that day ──▶ price (period, FX, amount)
                 └─ rollup family: those credits up the management chain as of the day ──▶ seat, price

Rules, in plan terms (docs/plans.md, "Crediting: precedence"):

* A plan's crediting rules fall into three families: **revenue** (`direct`, `split` of kind revenue,
  `territory`), **overlay** (`overlay`, `split` of kind overlay) and **rollup**. Within a family the rules
  apply in their order and the **first rule that matches a source row credits it**; later rules of the same
  family do not (a deal with revenue splits is credited by the split rule, not again by a `direct` rule
  below it). Families are independent: an overlay or a rollup never stops a revenue credit. A rule
  *matches* a row when it finds at least one person for it (the deal has conforming splits, the account
  has a territory owner, …) who passes its `filter` — decided from the data alone, before asking who is
  on the plan, so whether a colleague has a plan never changes what you are credited.
* Revenue splits must total exactly 100 % per deal unless the rule says `allow_over_crediting`; a deal
  whose revenue splits do not conform is **not matched** by that split rule (its splits are ignored) and
  falls through to the next rule of the family — typically the deal owner — and is listed by
  `split_problems`.
* `direct` credits the deal owner (`owner: opportunity`; a transaction without a deal falls back to its
  own `owner_id`) or the transaction's `owner_id` (`owner: transaction`; falling back to the deal owner).
* `territory` credits the owner of the territory the account (the transaction's, else the deal's) is
  assigned to on the row's date; `overlay` credits the people in `roles` (their role on the row's date)
  attached to the deal by `overlay` splits, each with the rule's `percent`.
* `rollup` takes every revenue and overlay credit of a person whose role on the row's date is in
  `from_roles` (any role when empty) and credits their managers up the management chain as of that
  date, `levels` levels (all when left out), with `percent` of the rolled-up credit's percent;
  `via_person_id` names the person whose credit rolled up. A rule's `filter` sees the rolled-up credit
  as `credit.*`. A person on two plans at once has each plan's credits rolled up.
* Only a person with a plan assignment on the row's date (inside the plan version's own effective
  dates) is credited under that plan; `payees` only narrows the output.
* In a crediting rule's filter `credit.amount` is the credited share in the source's own currency (the
  plan currency applies after the seat is known). Amounts: `source_amount × percent / 100 × fx_rate`,
  carried at 10 decimal places (rounded half away from zero at the 10th place, never to cents here).
  A source row without a currency is in the company's base currency.

Deals (`source: opportunities` measures) are credited by the same rules as if a transaction of the
deal's amount were booked on its `created_date`; activities are credited to `activities.person_id`
(`rule` and `rule_kind` = `activity`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from openspm.domain.periods import FiscalCalendar, PeriodKind
from openspm.domain.plans.fields import resolve_field
from openspm.domain.plans.model import (
    CreditRule,
    DirectRule,
    MeasureSource,
    OverlayRule,
    OwnerSource,
    PeriodType,
    Plan,
    RollupRule,
    SplitKind,
    SplitRule,
    TerritoryRule,
)
from openspm.engine.calc.filters import column_name, parse_checked, table_resolver, to_ibis
from openspm.engine.calc.fx import fx_factors
from openspm.engine.calc.inputs import CalcInputs
from openspm.engine.calc.session import among, memtable, reusable, using
from openspm.engine.calc.tables import CREDITS

EXACT = dt.Decimal(38, 10)
MONEY = dt.Decimal(18, 4)
FAR = date(9999, 12, 31)  # the end of an open interval
ACTIVITY = "activity"
_PERIOD_KIND = {
    PeriodType.MONTHLY: PeriodKind.MONTH,
    PeriodType.QUARTERLY: PeriodKind.QUARTER,
    PeriodType.ANNUAL: PeriodKind.YEAR,
}
#: Columns every credit row carries inside the engine (CREDITS minus what pricing adds, plus plan facts).
#: Materialises an intermediate table (identity for one lazy expression).
Stage = Callable[[ir.Table], ir.Table]
_SOURCE_KEYS = ("source", "source_id", "date", "kind", "opportunity_id", "source_amount", "source_currency")


def rule_family(rule: CreditRule) -> str:
    """`revenue`, `overlay` or `rollup`: the family inside which the first matching rule wins."""
    if isinstance(rule, RollupRule):
        return "rollup"
    if isinstance(rule, OverlayRule) or (
        isinstance(rule, SplitRule) and rule.split_kind is SplitKind.OVERLAY
    ):
        return "overlay"
    return "revenue"


# --- the facts as Ibis tables ----------------------------------------------------------------------


@dataclass
class Shared:
    """What the windows of one run share: `tables` derived from the inputs independently of the window
    (`Facts.derived`: the split and overlay teams, the management chains), and for each dated source the
    `ascending` values of its date column (None when its rows are not in date order), with the table
    they were read from."""

    tables: dict[str, pa.Table] = field(default_factory=dict)
    order: dict[str, tuple[pa.Table, npt.NDArray[np.int64] | None]] = field(default_factory=dict)


@dataclass
class Facts:
    """The inputs as Ibis tables (made once per calculation), and the qualified fields filters read.

    The source rows dated in the window (`transactions` by `date`, `activities` by the day of
    `occurred_at`, and the deals created in it, `DEALS_CREATED`) are cut from the Arrow inputs before
    any query reads them, so the window's bounds are never part of the SQL: every window of a run (and
    every run of the same shape) compiles to the same queries, and a query reads the window's rows, not
    the whole year's. `shared` holds what a run's windows share (`Shared`).
    """

    inputs: CalcInputs
    start: date
    end: date
    fields: frozenset[str] = frozenset()
    shared: Shared = field(default_factory=Shared)
    _tables: dict[str, ir.Table] = field(default_factory=dict)

    def table(self, name: str) -> ir.Table:
        """The input table `name` (a CalcInputs field, or `DEALS_CREATED`) as an Ibis table."""
        if name not in self._tables:
            self._tables[name] = memtable(self.arrow(name))
        return self._tables[name]

    def arrow(self, name: str) -> pa.Table:
        """The Arrow data of `table(name)`: dated sources cut to the window."""
        data = getattr(self.inputs, "opportunities" if name == DEALS_CREATED else name)
        if data is None:
            raise ValueError(f"the calculation needs {name!r} but CalcInputs has none")
        dated = {"transactions": "date", "activities": "occurred_at", DEALS_CREATED: "created_date"}
        if name not in dated:
            return data
        known = self.shared.order.get(name)
        if known is None or known[0] is not data:  # a `Shared` given other inputs orders them anew
            known = self.shared.order[name] = (data, ascending(data.column(dated[name])))
        return in_window(data, dated[name], self.start, self.end, known[1])

    def derived(self, name: str, make: Callable[[], pa.Table]) -> ir.Table:
        """A table derived from the inputs independently of the window: made once per run (`shared`)."""
        if name not in self._tables:
            if name not in self.shared.tables:
                self.shared.tables[name] = make()
            self._tables[name] = memtable(self.shared.tables[name])
        return self._tables[name]

    def wanted(self, alias: str) -> list[str]:
        """Field names of `alias` that some filter or measure reads, sorted."""
        return sorted(f.split(".", 1)[1] for f in self.fields if f.split(".", 1)[0] == alias)


#: `Facts.table` name of the deals created in the window (`source: opportunities` measures read them).
DEALS_CREATED = "deals_created"


def ascending(values: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.int64] | None:
    """A date or timestamp column as integers (days, or the timestamp's unit) if its rows are in
    ascending order with no nulls, else None: `in_window` then finds a window's rows by binary search."""
    if values.null_count or not (pa.types.is_date32(values.type) or pa.types.is_timestamp(values.type)):
        return None
    keys = _integer(values).to_numpy().astype(np.int64, copy=False)
    return keys if bool(np.all(keys[1:] >= keys[:-1])) else None


def _integer(values: Any) -> Any:
    """Dates as days since 1970 (int32), timestamps as their unit since 1970 (int64): values or a scalar."""
    return pc.cast(values, pa.int32() if pa.types.is_date32(values.type) else pa.int64())


def in_window(
    table: pa.Table, column: str, start: date, end: date, order: npt.NDArray[np.int64] | None = None
) -> pa.Table:
    """The rows of `table` whose `column` (a date, or a naive UTC timestamp: its day) is in [start, end)
    (never a row without one), in table order.

    With `order` (`ascending` of the column: the rows are in date order, as the store and the synthetic
    data usually give them) the rows are one run of the table, cut out without copying; else the column
    is compared row by row and the rows copied.
    """
    values = table.column(column)
    kind = values.type
    if start <= date.min and end >= FAR and values.null_count == 0:
        return table  # every row: nothing to cut
    if pa.types.is_timestamp(kind):
        low, high = (pa.scalar(datetime.combine(day, time()), kind) for day in (start, end))
    else:
        low, high = pa.scalar(start, kind), pa.scalar(end, kind)
    if order is not None:
        bounds = [_integer(b).as_py() for b in (low, high)]
        first, last = (int(i) for i in np.searchsorted(order, bounds, side="left"))
        return table.slice(first, last - first)
    return table.filter(pc.and_(pc.greater_equal(values, low), pc.less(values, high)))


_ALIAS_TABLE = {
    "transaction": "transactions",
    "opportunity": "opportunities",
    "product": "products",
    "account": "accounts",
    "activity": "activities",
}
_KEY = {
    "opportunity": "opportunity_id",
    "product": "product_id",
    "account": "account_id",
    "activity": "activity_id",
}


def _dimension(facts: Facts, alias: str) -> ir.Table | None:
    """`alias`'s key and wanted fields, renamed `alias__field`; None when no field of it is wanted."""
    names = facts.wanted(alias)
    if not names:
        return None
    t = facts.table(_ALIAS_TABLE[alias])
    key = _KEY[alias]
    return t.select(**{f"{alias}__key": t[key]}, **{column_name(alias, n): t[n] for n in names})


def _attach(rows: ir.Table, facts: Facts, alias: str, key: ir.Value) -> ir.Table:
    """Left-join the wanted fields of `alias` on `key` (a value of `rows`)."""
    dim = _dimension(facts, alias)
    if dim is None:
        return rows
    joined = rows.mutate(**{f"{alias}__join": key})
    out = joined.left_join(dim, joined[f"{alias}__join"] == dim[f"{alias}__key"])
    return settled(out.drop(f"{alias}__join", f"{alias}__key"))


def settled(table: ir.Table) -> ir.Table:
    """A join's result as a plain projection: an Ibis join chain cannot be joined on its computed columns."""
    return table.select(*table.columns)


def _typed_nulls(facts: Facts, alias: str) -> dict[str, ir.Value]:
    t = facts.table(_ALIAS_TABLE[alias])
    return {column_name(alias, n): ibis.null().cast(t[n].type()) for n in facts.wanted(alias)}


def transaction_rows(facts: Facts) -> ir.Table:
    """Transactions dated in the window, with their deal's owner and account and the wanted fields."""
    t = facts.table("transactions")  # cut to the window
    o = facts.table("opportunities")
    deals = o.select(
        deal_key=o.opportunity_id,
        opp_owner_id=o.owner_id,
        deal_account_id=o.account_id,
        deal_product_id=o.product_id,
        **{column_name("opportunity", n): o[n] for n in facts.wanted("opportunity")},
    )
    j = t.left_join(deals, t.opportunity_id == deals.deal_key)
    rows = j.select(
        source=ibis.literal(MeasureSource.CREDITS.value),
        source_id=j.transaction_id,
        date=j.date,
        kind=j.kind,
        opportunity_id=j.opportunity_id,
        account_id=ibis.coalesce(j.account_id, j.deal_account_id),
        product_id=ibis.coalesce(j.product_id, j.deal_product_id),
        tx_owner_id=j.owner_id,
        opp_owner_id=j.opp_owner_id,
        source_amount=j.amount.cast(MONEY),
        source_currency=ibis.coalesce(j.currency, ibis.literal(facts.inputs.base_currency)),
        **{column_name("transaction", n): j[n] for n in facts.wanted("transaction")},
        **{
            column_name("opportunity", n): j[column_name("opportunity", n)]
            for n in facts.wanted("opportunity")
        },
    )
    return _with_dimensions(settled(rows), facts, ("product", "account"))  # deal fields joined above


def deal_rows(facts: Facts) -> ir.Table:
    """Deals created in the window, shaped like transaction rows (for `source: opportunities` measures)."""
    o = facts.table(DEALS_CREATED)
    rows = o.select(
        source=ibis.literal(MeasureSource.OPPORTUNITIES.value),
        source_id=o.opportunity_id,
        date=o.created_date,
        kind=ibis.null().cast("string"),
        opportunity_id=o.opportunity_id,
        account_id=o.account_id,
        product_id=o.product_id,
        tx_owner_id=o.owner_id,
        opp_owner_id=o.owner_id,
        source_amount=o.amount.cast(MONEY),
        source_currency=ibis.coalesce(o.currency, ibis.literal(facts.inputs.base_currency)),
        **_typed_nulls(facts, "transaction"),
    )
    return _with_dimensions(rows, facts, ("opportunity", "product", "account"))


def _with_dimensions(rows: ir.Table, facts: Facts, aliases: Iterable[str]) -> ir.Table:
    keys = {"opportunity": "opportunity_id", "product": "product_id", "account": "account_id"}
    for alias in aliases:
        rows = _attach(rows, facts, alias, rows[keys[alias]])
    return rows


# --- crediting rules → candidate credits -----------------------------------------------------------


def _percent(value: object) -> ir.Value:
    return ibis.literal(value, type=EXACT)


def _on(day: ir.Value, start: ir.Value, end: ir.Value) -> ir.BooleanValue:
    """`day` inside the half-open interval [start, end); a null end is open."""
    return (start <= day) & (day < ibis.coalesce(end, ibis.literal(FAR)))


def _direct(rows: ir.Table, rule: DirectRule) -> ir.Table:
    if rule.owner is OwnerSource.OPPORTUNITY:
        person = ibis.coalesce(rows.opp_owner_id, rows.tx_owner_id)
    else:
        person = ibis.coalesce(rows.tx_owner_id, rows.opp_owner_id)
    out = rows.mutate(person_id=person, percent=_percent(rule.percent))
    return out.filter(out.person_id.notnull())


def split_team(splits: pa.Table, kind: SplitKind, *, conforming: bool) -> pa.Table:
    """(deal_key, person_id, percent) of the `kind` splits naming a person; with `conforming`, only of
    deals whose revenue splits total exactly 100 %.

    Built once per run from the Arrow input (it does not depend on the window), so a window's query
    joins its rows to the team instead of summing every deal's splits again.
    """
    kinds = pc.fill_null(splits.column("kind"), "revenue")
    team = splits.filter(pc.and_(pc.equal(kinds, kind.value), pc.is_valid(splits.column("person_id"))))
    if conforming:
        revenue = splits.filter(pc.equal(kinds, SplitKind.REVENUE.value))
        totals = revenue.group_by("opportunity_id").aggregate([("percent", "sum")])
        hundred = pa.scalar(Decimal(100), totals.schema.field("percent_sum").type)
        ok = totals.filter(pc.equal(totals.column("percent_sum"), hundred)).column("opportunity_id")
        team = team.filter(pc.is_in(team.column("opportunity_id"), ok))
    return pa.table(
        {
            "deal_key": team.column("opportunity_id"),
            "person_id": team.column("person_id"),
            "percent": team.column("percent").cast(EXACT.to_pyarrow()),
        }
    )


def overlay_team(splits: pa.Table) -> pa.Table:
    """(deal_key, person_id) of each person attached to a deal by an overlay split (once each)."""
    team = splits.filter(
        pc.and_(
            pc.equal(splits.column("kind"), SplitKind.OVERLAY.value), pc.is_valid(splits.column("person_id"))
        )
    )
    pairs = team.group_by(["opportunity_id", "person_id"]).aggregate([])
    return pa.table({"deal_key": pairs.column("opportunity_id"), "person_id": pairs.column("person_id")})


def _split(rows: ir.Table, rule: SplitRule, facts: Facts) -> ir.Table:
    conforming = rule.split_kind is SplitKind.REVENUE and not rule.allow_over_crediting
    name = f"split_team_{rule.split_kind.value}{'_conforming' if conforming else ''}"
    splits = facts.inputs.opportunity_splits
    team = facts.derived(name, lambda: split_team(splits, rule.split_kind, conforming=conforming))
    j = rows.inner_join(team, rows.opportunity_id == team.deal_key)
    return settled(j.drop("deal_key"))


def _territory(rows: ir.Table, rule: TerritoryRule, facts: Facts) -> ir.Table:
    aa = facts.table("account_assignments")
    ter = facts.table("territories")
    # rename before joining: joined inputs with shared column names confuse Ibis's dereferencing
    spells = aa.select(acct_key=aa.account_id, t_id=aa.territory_id, t_start=aa.start_date, t_end=aa.end_date)
    heads = ter.select(t_key=ter.territory_id, person_id=ter.owner_id)
    owners = spells.inner_join(heads, spells.t_id == heads.t_key).select(
        "acct_key", "t_start", "t_end", "person_id"
    )
    owners = owners.filter(owners.person_id.notnull())
    j = rows.inner_join(
        owners, [rows.account_id == owners.acct_key, _on(rows.date, owners.t_start, owners.t_end)]
    )
    return settled(j.drop("acct_key", "t_start", "t_end").mutate(percent=_percent(rule.percent)))


def _overlay(rows: ir.Table, rule: OverlayRule, facts: Facts) -> ir.Table:
    a = facts.table("assignments")
    splits = facts.inputs.opportunity_splits
    team = facts.derived("overlay_team", lambda: overlay_team(splits))
    roles = a.filter(a.role.isin(list(rule.roles))).select(
        role_person=a.person_id, r_start=a.start_date, r_end=a.end_date
    )
    j = settled(rows.inner_join(team, rows.opportunity_id == team.deal_key).drop("deal_key"))
    # a semi join: one credit per person and row even if they hold two matching role rows that day
    j = j.semi_join(roles, [j.person_id == roles.role_person, _on(j.date, roles.r_start, roles.r_end)])
    return j.mutate(percent=_percent(rule.percent))


def candidates(rows: ir.Table, rule: CreditRule, facts: Facts) -> ir.Table:
    """Every person `rule` would credit for each row (before the seat join), its filter applied."""
    if isinstance(rule, DirectRule):
        out = _direct(rows, rule)
    elif isinstance(rule, SplitRule):
        out = _split(rows, rule, facts)
    elif isinstance(rule, TerritoryRule):
        out = _territory(rows, rule, facts)
    elif isinstance(rule, OverlayRule):
        out = _overlay(rows, rule, facts)
    else:
        raise TypeError(f"rollups are credited from other credits, not from rows: {rule.name}")
    out = out.mutate(rule=ibis.literal(rule.name), rule_kind=ibis.literal(rule.kind))
    return _apply_filter(out, rule.filter)


def _apply_filter(rows: ir.Table, text: str | None) -> ir.Table:
    if text is None:
        return rows
    checked = parse_checked(text, MeasureSource.CREDITS)
    # In a crediting rule's filter `credit.amount` is the share in the source currency (no plan yet).
    share = "credit.amount" in checked.fields and "amount" not in rows.columns
    if share:
        rows = rows.mutate(amount=amount_of(rows.source_amount, rows.percent, ibis.literal(1, type=EXACT)))
    kept = rows.filter(to_ibis(checked.expression, table_resolver(rows)))
    return kept.drop("amount") if share else kept


def first_match(chain: Sequence[ir.Table]) -> ir.Table:
    """Union of the rules' candidates, each rule keeping only rows no earlier rule matched."""
    kept: list[ir.Table] = []
    matched: ir.Table | None = None
    for found in chain:
        keys = found.select(m_source="source", m_id="source_id")  # an anti join ignores duplicates
        if matched is not None:
            found = found.anti_join(  # noqa: PLW2901 - the rule keeps what no earlier rule matched
                matched, [found.source == matched.m_source, found.source_id == matched.m_id]
            )
        kept.append(found)
        matched = keys if matched is None else matched.union(keys)
    return ibis.union(*kept) if len(kept) > 1 else kept[0]


# --- seats: who is on which plan version, when -----------------------------------------------------


def plan_facts(plans: Iterable[Plan]) -> pa.Table:
    """One row per plan version: its effective dates, currency, period type, FX rate date and sources."""
    rows = [
        {
            "p_plan": plan.name,
            "p_version": plan.version,
            "p_from": plan.effective_from,
            "p_to": plan.effective_to or FAR,
            "p_currency": plan.currency,
            "period_type": plan.period.type.value,
            "fx_mode": plan.fx.rate_date.value,
            "wants_opportunities": any(m.source is MeasureSource.OPPORTUNITIES for m in plan.measures),
            "wants_activities": any(m.source is MeasureSource.ACTIVITIES for m in plan.measures),
        }
        for plan in plans
    ]
    schema = pa.schema(
        [
            ("p_plan", pa.string()),
            ("p_version", pa.int32()),
            ("p_from", pa.date32()),
            ("p_to", pa.date32()),
            ("p_currency", pa.string()),
            ("period_type", pa.string()),
            ("fx_mode", pa.string()),
            ("wants_opportunities", pa.bool_()),
            ("wants_activities", pa.bool_()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def plan_periods(calendar: FiscalCalendar, start: date, end: date, plans: Iterable[Plan]) -> pa.Table:
    """Per plan version, every plan period overlapping `[start, end)`: label, bounds, FX rate date.

    `pp_rate_date` is the period's last day for a plan converting at `period_end`, else null (the
    credit's own date is the rate date).
    """
    out: dict[str, list[object]] = {name: [] for name in PLAN_PERIODS.names}
    for plan in plans:
        for period in calendar.periods_between(start, end, _PERIOD_KIND[plan.period.type]):
            out["pp_plan"].append(plan.name)
            out["pp_version"].append(plan.version)
            out["pp_start"].append(period.start)
            out["pp_end"].append(period.end)
            out["plan_period"].append(period.label)
            out["pp_rate_date"].append(
                None if plan.fx.rate_date.value == "transaction_date" else period.end - timedelta(days=1)
            )
    return pa.table(out, schema=PLAN_PERIODS)


PLAN_PERIODS = pa.schema(
    [
        ("pp_plan", pa.string()),
        ("pp_version", pa.int32()),
        ("pp_start", pa.date32()),
        ("pp_end", pa.date32()),
        ("plan_period", pa.string()),
        ("pp_rate_date", pa.date32()),
    ]
)


def seats(facts: Facts, plans: Iterable[Plan], payees: Sequence[str] | None) -> ir.Table:
    """Plan assignments clipped to their plan version's effective dates, one row per plan period.

    A seat row covers `[seat_start, seat_end)` inside one plan period of the window, so a credit seated
    by it knows its plan period (and, for `period_end` FX, its rate date) without another join.
    """
    plans = list(plans)
    a = facts.table("plan_assignments")
    if payees is not None:
        a = a.filter(among(a.person_id, payees))
    p = memtable(plan_facts(plans))
    j = a.inner_join(p, [a.plan == p.p_plan, a.version.cast("int32") == p.p_version])
    out = j.select(
        seat_person=j.person_id,
        plan=j.plan,
        version=j.version.cast("int32"),
        a_start=ibis.greatest(j.start_date, j.p_from),
        a_end=ibis.least(ibis.coalesce(j.end_date, ibis.literal(FAR)), j.p_to),
        currency=j.p_currency,
        period_type=j.period_type,
        fx_mode=j.fx_mode,
        wants_opportunities=j.wants_opportunities,
        wants_activities=j.wants_activities,
    )
    out = settled(out)
    pp = memtable(plan_periods(facts.inputs.calendar, facts.start, facts.end, plans))
    k = out.inner_join(
        pp,
        [
            out.plan == pp.pp_plan,
            out.version == pp.pp_version,
            out.a_start < pp.pp_end,
            pp.pp_start < out.a_end,
        ],
    )
    k = k.select(
        "seat_person",
        "plan",
        "version",
        "currency",
        "period_type",
        "fx_mode",
        "wants_opportunities",
        "wants_activities",
        "plan_period",
        "pp_rate_date",
        seat_start=ibis.greatest(k.a_start, k.pp_start),
        seat_end=ibis.least(k.a_end, k.pp_end),
    )
    return settled(k)


def _of_plans(seats_: ir.Table, keys: Iterable[tuple[str, int]]) -> ir.Table:
    wanted = [(seats_.plan == name) & (seats_.version == version) for name, version in keys]
    return seats_.filter(ibis.or_(*wanted))


def _seat(credits: ir.Table, seats_: ir.Table) -> ir.Table:
    """Keep the credits of people with a seat on the row's date; the credit takes that seat's plan."""
    j = credits.inner_join(
        seats_,
        [
            credits.person_id == seats_.seat_person,
            credits.date >= seats_.seat_start,
            credits.date < seats_.seat_end,
        ],
    )
    j = settled(j)
    return j.filter((j.source != MeasureSource.OPPORTUNITIES.value) | j.wants_opportunities)


# --- pricing: plan period, FX and amount -----------------------------------------------------------


def amount_of(source_amount: ir.Value, percent: ir.Value, fx_rate: ir.Value) -> ir.DecimalValue:
    """`source_amount × percent / 100 × fx_rate` at 10 decimal places, the same on every backend.

    The factor `percent / 100 × fx_rate` is exact at 22 places (percent and rate have 10 each); the
    product with the amount (4 places) is rounded once, at the 10th place. The common case — the whole
    amount in the plan's own currency — skips the wide arithmetic (a large share of the step's time).
    """
    share = (percent.cast(EXACT) * ibis.literal(Decimal("0.01"), type=dt.Decimal(3, 2))).cast(
        dt.Decimal(38, 12)
    )
    factor = (share * fx_rate.cast(EXACT)).cast(dt.Decimal(38, 22))
    general = (source_amount.cast(MONEY) * factor).cast(EXACT)
    whole = (percent == 100) & (fx_rate == 1)
    return ibis.ifelse(whole, source_amount.cast(EXACT), general)


def price(credits: ir.Table, facts: Facts, plans: Sequence[Plan]) -> ir.Table:
    """Add fx_rate and amount to seated credits (their plan period came with the seat).

    A credit in another currency than its plan's is converted by the FX factor of its rate date (a small
    table of rate dates × currency pairs, left-joined); one in its plan's currency converts at 1.
    """
    rate_days = [facts.start + timedelta(days=n) for n in range((facts.end - facts.start).days)]
    period_ends = plan_periods(facts.inputs.calendar, facts.start, facts.end, plans).column("pp_rate_date")
    fx_arrow = fx_factors(
        facts.inputs.fx_rates,
        facts.inputs.base_currency,
        [*rate_days, *(d for d in period_ends.to_pylist() if d is not None)],
        {p.currency for p in plans},
    )
    return _priced(credits, memtable(fx_arrow))


@reusable
def _priced(credits: ir.Table, fx_factors_: ir.Table) -> ir.Table:
    """`price` with the window's FX factors as a table."""
    fx = fx_factors_.rename(f_date="rate_date", f_from="from_currency", f_to="to_currency", f_rate="fx_rate")
    same = credits.source_currency.isnull() | (credits.source_currency == credits.currency)
    # a null rate date for credits in their plan's currency: they need no factor (the rate is 1)
    keyed = credits.mutate(
        rate_date=ibis.ifelse(same, None, ibis.coalesce(credits.pp_rate_date, credits.date))
    )
    j = keyed.left_join(
        fx, [keyed.rate_date == fx.f_date, keyed.source_currency == fx.f_from, keyed.currency == fx.f_to]
    )
    j = settled(j)
    rate = ibis.ifelse(j.rate_date.isnull(), ibis.literal(1, type=EXACT), j.f_rate.cast(EXACT))
    return j.mutate(fx_rate=rate, amount=_amount(j, rate)).drop(
        "rate_date", "f_date", "f_from", "f_to", "f_rate"
    )


def _amount(credits: ir.Table, rate: ir.Value) -> ir.Value:
    return ibis.ifelse(
        credits.source == MeasureSource.ACTIVITIES.value,
        ibis.literal(0, type=EXACT),
        amount_of(credits.source_amount, credits.percent, rate),
    )


# --- rollups up the effective-dated management chain -----------------------------------------------

CHAIN = pa.schema(
    [
        ("c_person", pa.string()),  # whose credit rolls up
        ("c_role", pa.string()),  # their role over the interval
        ("ancestor", pa.string()),  # a manager above them
        ("level", pa.int32()),  # 1 = direct manager
        ("c_start", pa.date32()),
        ("c_end", pa.date32()),  # exclusive
    ]
)


def management_chain(
    assignments: pa.Table, max_level: int | None = None, people: Collection[str] | None = None
) -> pa.Table:
    """Every (person, manager at level k) over the interval in which that chain holds (schema CHAIN).

    Built from the effective-dated `assignments` (person, role, manager, [start, end)): level k+1 is the
    manager of the level-k manager on the overlapping days. A cycle in the data stops the walk. This runs
    over the org (a dimension of people, not of transactions), so it is plain Python over a small table.
    With `people`, only their chains are walked (the managers above them are still found).
    """
    wanted = ["person_id", "role", "manager_id", "start_date", "end_date"]
    rows = _above(assignments.select(wanted), people).to_pylist()
    spells: dict[str, list[tuple[date, date, str | None]]] = {}
    for r in rows:
        if r["person_id"] is not None and r["start_date"] is not None:
            spells.setdefault(r["person_id"], []).append(
                (r["start_date"], r["end_date"] or FAR, r["manager_id"])
            )
    out: list[tuple[str, str | None, str, int, date, date]] = []
    for r in rows:
        person, start = r["person_id"], r["start_date"]
        if person is None or start is None or (people is not None and person not in people):
            continue
        frontier = [(r["manager_id"], start, r["end_date"] or FAR, frozenset({person}))]
        level = 1
        while frontier and (max_level is None or level <= max_level):
            following = []
            for manager, lo, hi, seen in frontier:
                if manager is None or manager in seen:
                    continue
                out.append((person, r["role"], manager, level, lo, hi))
                for s_start, s_end, above in spells.get(manager, ()):
                    a, b = max(lo, s_start), min(hi, s_end)
                    if a < b:
                        following.append((above, a, b, seen | {manager}))
            frontier = following
            level += 1
    columns: list[Sequence[object]] = list(zip(*out, strict=True)) if out else [[] for _ in CHAIN.names]
    return pa.table(dict(zip(CHAIN.names, columns, strict=True)), schema=CHAIN)


def _above(assignments: pa.Table, people: Collection[str] | None) -> pa.Table:
    """The assignments of `people` and of everyone above them (all of them without `people`): the rows
    a walk up their chains reads. A run for a few payees reads a few dozen of the org's rows."""
    if people is None:
        return assignments
    persons = assignments.column("person_id")
    found = pa.array(sorted({p for p in people if p is not None}), pa.string())
    while True:
        mine = assignments.filter(pc.fill_null(pc.is_in(persons, value_set=found), False))
        managers = mine.column("manager_id").drop_null().combine_chunks()
        wider = pc.unique(pa.concat_arrays([found, managers.cast(pa.string())]))
        if len(wider) == len(found):
            return mine
        found = wider


@dataclass(frozen=True)
class _Rollup:
    rule: RollupRule
    plans: list[tuple[str, int, int]]  # (plan, version, position among the plan's rollup rules)


def _rollup_groups(plans: Sequence[Plan]) -> list[_Rollup]:
    groups: dict[str, _Rollup] = {}
    for plan in plans:
        rules = [r for r in plan.crediting if isinstance(r, RollupRule)]
        for position, rule in enumerate(rules):
            key = rule.model_dump_json()
            groups.setdefault(key, _Rollup(rule, [])).plans.append((plan.name, plan.version, position))
    return list(groups.values())


def rollups(base: ir.Table, facts: Facts, plans: Sequence[Plan], seats_: ir.Table) -> ir.Table | None:
    """Rollup credits of managers on a plan with a rollup rule, from the base (non-rollup) credits."""
    groups = _rollup_groups(plans)
    if not groups:
        return None
    # Only people with a seat are credited, so only their chains can roll a credit up (a run for a few
    # payees seats a few people: walking the whole org's chains would cost more than the rest).
    deepest = _deepest(groups)

    def walk() -> pa.Table:
        credited = set(facts.inputs.plan_assignments.column("person_id").to_pylist())
        return management_chain(facts.inputs.assignments, deepest, credited)

    chain = facts.derived(f"chain_{deepest}", walk)  # the org's chains: the same for every window
    base = base.drop(*[c for c in ("fx_rate", "amount") if c in base.columns])  # re-priced per manager
    pieces = []
    for group in groups:
        rule = group.rule
        links = chain
        if rule.levels is not None:
            links = links.filter(links.level <= rule.levels)
        if rule.from_roles:
            links = links.filter(links.c_role.isin(list(rule.from_roles)))
        positions = memtable(
            pa.table(
                {
                    "r_plan": [p for p, _, _ in group.plans],
                    "r_version": pa.array([v for _, v, _ in group.plans], pa.int32()),
                    "r_position": pa.array([i for _, _, i in group.plans], pa.int32()),
                }
            )
        )
        mine = seats_.inner_join(
            positions, [seats_.plan == positions.r_plan, seats_.version == positions.r_version]
        )
        # chain links whose manager holds a seat with this rule, clipped to the days both hold
        cs = links.inner_join(
            mine,
            [
                links.ancestor == mine.seat_person,
                links.c_start < mine.seat_end,
                mine.seat_start < links.c_end,
            ],
        )
        cs = cs.select(
            "c_person",
            "ancestor",
            "plan",
            "version",
            "currency",
            "fx_mode",
            "plan_period",
            "pp_rate_date",
            "r_position",
            "wants_opportunities",
            l_start=ibis.greatest(cs.c_start, cs.seat_start),
            l_end=ibis.least(cs.c_end, cs.seat_end),
        )
        cs = settled(cs)
        rolled = _apply_filter(base, rule.filter)
        rolled = rolled.drop("plan", "version", "currency", "fx_mode", "plan_period", "pp_rate_date")
        j = rolled.inner_join(
            cs, [rolled.person_id == cs.c_person, rolled.date >= cs.l_start, rolled.date < cs.l_end]
        )
        share = rule.percent * Decimal("0.01")
        factor = ibis.literal(share, type=dt.Decimal(38, max(-int(share.as_tuple().exponent), 0)))
        j = j.mutate(
            via_person_id=j.person_id,
            person_id=j.ancestor,
            percent=(j.percent.cast(EXACT) * factor).cast(EXACT),
            rule=ibis.literal(rule.name),
            rule_kind=ibis.literal(rule.kind),
        )
        j = settled(j)
        pieces.append(j.filter((j.source != MeasureSource.OPPORTUNITIES.value) | j.wants_opportunities))
    out = ibis.union(*pieces) if len(pieces) > 1 else pieces[0]
    if any(position > 0 for g in groups for _, _, position in g.plans):  # first rollup rule wins
        keys = ["source", "source_id", "via_person_id", "person_id", "plan", "version"]
        w = ibis.window(group_by=keys)
        out = out.filter(out.r_position == out.r_position.min().over(w))
    return out


def _deepest(groups: Sequence[_Rollup]) -> int | None:
    levels = [g.rule.levels for g in groups]
    return (
        None
        if any(level is None for level in levels)
        else max(level for level in levels if level is not None)
    )


# --- activities --------------------------------------------------------------------------------------


def activity_rows(facts: Facts) -> ir.Table:
    """Activities in the window as credit rows for `activities.person_id` (no plan yet)."""
    a = facts.table("activities")  # cut to the window
    a = a.mutate(a_day=a.occurred_at.date())
    rows = a.select(
        person_id=a.person_id,
        rule=ibis.literal(ACTIVITY),
        rule_kind=ibis.literal(ACTIVITY),
        via_person_id=ibis.null().cast("string"),
        source=ibis.literal(MeasureSource.ACTIVITIES.value),
        source_id=a.activity_id,
        date=a.a_day,
        kind=ibis.null().cast("string"),
        opportunity_id=a.opportunity_id,
        activity_account_id=a.account_id,
        percent=ibis.literal(100, type=EXACT),
        source_amount=ibis.null().cast(MONEY),
        source_currency=ibis.null().cast("string"),
        **{column_name("activity", n): a[n] for n in facts.wanted("activity")},
    )
    rows = _attach(rows, facts, "opportunity", rows.opportunity_id)
    return _attach(rows, facts, "account", rows.activity_account_id)


def activity_credits(facts: Facts, seats_: ir.Table) -> ir.Table:
    """Activities credited to their person on each plan with an activity measure they hold a seat on."""
    return _seat(activity_rows(facts), seats_.filter(seats_.wants_activities))


def source_fields(rows: ir.Table, facts: Facts) -> ir.Table:
    """`source`, `source_id` and every carried field column of source rows (typed nulls where absent)."""
    return rows.select("source", "source_id", **carried_fields(rows, facts))


def carried_fields(rows: ir.Table, facts: Facts) -> dict[str, ir.Value]:
    types = _field_types(facts)
    return {
        name: rows[name] if name in rows.columns else ibis.null().cast(types[name])
        for name in field_columns(facts)
    }


# --- the step ----------------------------------------------------------------------------------------


def _signature(chain: Sequence[CreditRule]) -> str:
    return "[" + ",".join(r.model_dump_json() for r in chain) + "]"


def plan_fields(plans: Iterable[Plan]) -> frozenset[str]:
    """Qualified fields every filter and summed measure field of `plans` reads."""
    wanted: set[str] = set()
    for plan in plans:
        for rule in plan.crediting:
            if rule.filter:
                wanted |= parse_checked(rule.filter, MeasureSource.CREDITS).fields
        for measure in plan.measures:
            if measure.filter:
                wanted |= parse_checked(measure.filter, measure.source).fields
            if measure.aggregate.value == "sum" and measure.field != "amount":
                qualified = resolve_field(measure.field, measure.source)
                if qualified is None:
                    raise ValueError(
                        f"plan {plan.name} v{plan.version}: unknown measure field {measure.field!r}"
                    )
                wanted.add(qualified)
    return frozenset(f for f in wanted if not f.startswith("credit."))


def field_columns(facts: Facts) -> list[str]:
    """The `alias__field` columns every credit row carries (sorted), for measure filters."""
    return sorted(column_name(*f.split(".", 1)) for f in facts.fields)


def _shape(credits: ir.Table, facts: Facts) -> ir.Table:
    """The engine's credit columns, in one order, for the union of every kind of credit."""
    carried = carried_fields(credits, facts)
    return credits.select(
        person_id=credits.person_id,
        plan=credits.plan,
        version=credits.version.cast("int32"),
        rule=credits.rule,
        rule_kind=credits.rule_kind,
        via_person_id=credits.via_person_id
        if "via_person_id" in credits.columns
        else ibis.null().cast("string"),
        source=credits.source,
        source_id=credits.source_id,
        date=credits.date,
        kind=credits.kind,
        opportunity_id=credits.opportunity_id,
        percent=credits.percent.cast(EXACT),
        source_amount=credits.source_amount.cast(MONEY),
        source_currency=credits.source_currency,
        currency=credits.currency,
        fx_mode=credits.fx_mode,
        plan_period=credits.plan_period,
        pp_rate_date=credits.pp_rate_date,
        **carried,
    )


def _field_types(facts: Facts) -> dict[str, dt.DataType]:
    out = {}
    for qualified in facts.fields:
        alias, name = qualified.split(".", 1)
        out[column_name(alias, name)] = facts.table(_ALIAS_TABLE[alias])[name].type()
    return out


def _lazy(table: ir.Table) -> ir.Table:
    return table


def credit_expr(
    inputs: CalcInputs,
    start: date,
    end: date,
    payees: Sequence[str] | None = None,
    *,
    plans: Sequence[Plan] | None = None,
    stage: Stage | None = None,
) -> ir.Table:
    """The credits of source rows dated in `[start, end)` as a lazy Ibis table.

    Columns: those of `tables.CREDITS`, then one `alias__field` column per field that a filter or a
    summed measure field of the plans reads (`measures.measure_credits` uses them). Execute with any
    Ibis backend (`backend.to_pyarrow(expr)`).

    `stage` materialises the intermediate steps read more than once (the source rows, the credits that
    rollups roll up): it takes an expression and returns a table holding its rows (e.g. a temporary
    table on the backend; `measures.credit_and_measure` does this).
    """
    facts, pieces, _ = credit_pieces(inputs, start, end, payees, plans=plans, stage=stage)
    if not pieces:
        return _empty(facts)
    names = [*CREDITS.names, *field_columns(facts)]
    everything = ibis.union(*[p.select(*names) for p in pieces]) if len(pieces) > 1 else pieces[0]
    if payees is not None:
        everything = everything.filter(among(everything.person_id, payees))
    return everything.select(*names)


def credit_pieces(
    inputs: CalcInputs,
    start: date,
    end: date,
    payees: Sequence[str] | None = None,
    *,
    plans: Sequence[Plan] | None = None,
    stage: Stage | None = None,
    shared: Shared | None = None,
    subset: Callable[[ir.Table], ir.Table] | None = None,
) -> tuple[Facts, list[ir.Table], list[ir.Table]]:
    """The facts read, the priced credits `credit_expr` unions (each with extra engine columns), and
    with `subset` (a filter on columns a rollup credit takes from the credit it rolls up: the source
    row's) the same pieces made from the subset of the credits (else no pieces).

    The payee filter is not applied (rollups need everyone's credits); `credit_expr` applies it.
    `shared`: `Facts.shared` of the run (windows of one run pass the same one). The subset's pieces
    are the whole pieces filtered by `subset`, computed from the filtered credits: the backend need
    not roll up and measure every credit to keep a few.
    """
    keep = stage or _lazy
    chosen = list(plans if plans is not None else inputs.plans.values())
    chosen.sort(key=lambda p: (p.name, p.version))
    facts = Facts(inputs, start, end, plan_fields(chosen), Shared() if shared is None else shared)
    has_rollups = any(isinstance(r, RollupRule) for p in chosen for r in p.crediting)
    seated = seats(facts, chosen, None if has_rollups else payees)
    tx_rows = keep(transaction_rows(facts))
    opp_rows: ir.Table | None = None
    base: list[ir.Table] = []
    for family in ("revenue", "overlay"):
        groups: dict[str, tuple[list[CreditRule], list[Plan]]] = {}
        for plan in chosen:
            chain = [r for r in plan.crediting if rule_family(r) == family]
            if chain:
                groups.setdefault(_signature(chain), (chain, []))[1].append(plan)
        for chain, members in groups.values():
            rows = tx_rows
            if any(m.source is MeasureSource.OPPORTUNITIES for p in members for m in p.measures):
                opp_rows = opp_rows if opp_rows is not None else keep(deal_rows(facts))
                rows = tx_rows.union(opp_rows)
            found = first_match([candidates(rows, rule, facts) for rule in chain])
            base.append(
                _shape(_seat(found, _of_plans(seated, [(p.name, p.version) for p in members])), facts)
            )
    pieces: list[ir.Table] = []
    narrowed: list[ir.Table] = []
    if base:
        # priced once; rollups read these credits, so they are staged (read twice) before rolling up
        everyone = keep(price(ibis.union(*base) if len(base) > 1 else base[0], facts, chosen))
        for credits, out in [(everyone, pieces), *([(subset(everyone), narrowed)] if subset else [])]:
            out.append(credits)
            rolled = rollups(credits, facts, chosen, seated) if has_rollups else None
            if rolled is not None:
                # Not staged: recomputing the rollup join for each read is cheaper than holding the
                # rolled credits (at 10M lines: 2 s faster and 1 GB less at the peak).
                out.append(price(_shape(rolled, facts), facts, chosen))
    if any(m.source is MeasureSource.ACTIVITIES for p in chosen for m in p.measures):
        pieces.append(price(_shape(activity_credits(facts, seated), facts), facts, chosen))
        if subset is not None:
            narrowed.append(subset(pieces[-1]))
    return facts, pieces, narrowed


def _empty(facts: Facts) -> ir.Table:
    schema = ibis.schema({**{f.name: dt.from_pyarrow(f.type) for f in CREDITS}, **_field_types(facts)})
    return memtable(pa.Table.from_pylist([], schema=schema.to_pyarrow()))


def to_arrow(
    expr: ir.Table, schema: pa.Schema, backend: ibis.BaseBackend | None = None, *, sort: bool = True
) -> pa.Table:
    """Execute `expr` on `backend` (default DuckDB) and return exactly `schema`, sorted by every column."""
    with using(backend) as session:
        table = session.to_pyarrow(expr.select(*schema.names)).cast(schema)
    if sort:
        table = table.sort_by([(name, "ascending") for name in schema.names])
    return table


def credit(
    inputs: CalcInputs,
    start: date,
    end: date,
    payees: Sequence[str] | None = None,
    backend: ibis.BaseBackend | None = None,
) -> pa.Table:
    """The credits of source rows dated in `[start, end)` (schema `tables.CREDITS`), sorted."""
    return to_arrow(credit_expr(inputs, start, end, payees), CREDITS, backend)


def split_problems(inputs: CalcInputs) -> pa.Table:
    """Deals whose revenue splits do not total 100 % (opportunity_id, total): a split rule skips them."""
    with using(None) as session:
        s = session.table(inputs.opportunity_splits)
        revenue = s.filter(ibis.coalesce(s.kind, ibis.literal("revenue")) == "revenue")
        totals = revenue.group_by(opportunity_id=revenue.opportunity_id).aggregate(
            total=revenue.percent.sum().cast(EXACT)
        )
        return session.to_pyarrow(totals.filter(totals.total != 100).order_by("opportunity_id"))


def credit_problems(credits: pa.Table) -> pa.Table:
    """Credits without an amount: no FX rate was in force for their currency on their rate date."""
    return credits.filter(pa.compute.is_null(credits.column("amount")))
