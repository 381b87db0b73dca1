"""Reading what a calculation needs from the store: facts as typed Arrow, plans, assignments, earlier lines.

Facts are read with `store.columnar.read_arrow` (the committed state, in canonical columns); the plan
versions and assignments come from `services.plans`' tables; the fiscal calendar and base currency from
the company settings. Earlier payout lines are the *current* ones: for each run period and person, the
lines of the latest run that computed that person (see `recorded_lines`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import BigInteger, Connection, Engine, and_, func, literal, or_, select, type_coerce

from openspm.domain.canonical import ENTITY_BY_NAME
from openspm.domain.periods import FiscalCalendar, Period, PeriodKind
from openspm.domain.plans import Plan
from openspm.domain.plans.model import MeasureSource, PeriodType
from openspm.engine.calc.inputs import PLAN_ASSIGNMENTS, CalcInputs
from openspm.engine.calc.reach import has_territory_rules, owned_territories, paid_people, reaching
from openspm.engine.calc.tables import PAYOUT_LINES
from openspm.services import company
from openspm.services.plans import validate_source
from openspm.store.columnar import MAX_IN_VALUES, read_arrow
from openspm.store.models import CalcRunPayee, PayoutLineRow, PlanAssignmentRow, PlanVersion
from openspm.store.storage import scaled_to_decimal

#: Fact tables a calculation reads whole (they are small beside transactions, or needed as of any date).
WHOLE = (
    "opportunities",
    "opportunity_splits",
    "assignments",
    "accounts",
    "account_assignments",
    "territories",
    "products",
    "quotas",
    "fx_rates",
    "people",
)

#: Recorded lines carry the run they came from and the run's period besides the engine's columns.
RECORDED_LINES = pa.schema(
    [
        ("run_id", pa.int64()),
        ("run_period", pa.string()),
        *[PAYOUT_LINES.field(n) for n in PAYOUT_LINES.names],
    ]
)

_PLAN_KIND = {
    PeriodType.MONTHLY: PeriodKind.MONTH,
    PeriodType.QUARTERLY: PeriodKind.QUARTER,
    PeriodType.ANNUAL: PeriodKind.YEAR,
}


def store_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def load_inputs(
    engine: Engine,
    period: str,
    payees: Sequence[str] | None = None,
    *,
    since: date | None = None,
    recorded: pa.Table | None = None,
    in_force: InForce | None = None,
) -> CalcInputs:
    """Everything a calculation of `period` (and, with `since`, of every period from then on) reads.

    `recorded`: the current lines (`recorded_lines`), when the caller has read them already; `in_force`:
    `plans_in_force` from the first day computed to the period's end, likewise.

    Facts are read from the start of the plan period containing the earliest day computed (the quarter
    of a quarterly plan, the fiscal year of an annual one), less the longest clawback window, to the end
    of `period`. With `payees`, the transactions, deals, splits and activities read are those that can
    credit them or the teams they are paid on (`engine.calc.reach.reaching`), looked up by person,
    deal and account instead of read whole; so are the accounts those rows refer to, their territory
    assignments, and the quotas of the people in reach.
    """
    url = store_url(engine)
    keyed = FACTS if payees is None else FACTS + BY_KEY
    small = {name: _read(url, name) for name in WHOLE if name not in keyed}
    with engine.connect() as conn:
        settings = company.get_settings(conn)
        calendar = settings.calendar
        target = calendar.parse(period)
        first_day = min(since or target.start, target.start)
        plans, assignments = in_force or plans_in_force(conn, first_day, target.end)
        whose = (
            None if payees is None else sorted(paid_people(small["assignments"], assignments, plans, payees))
        )
        if recorded is None:
            prior = recorded_lines(conn, before=target, calendar=calendar, people=whose)
        else:
            prior = lines_before(recorded, target, calendar)
    start = facts_start(calendar, plans.values(), first_day)
    wants_activities = any(m.source is MeasureSource.ACTIVITIES for p in plans.values() for m in p.measures)
    facts = _facts(url, plans, small, whose, wants_activities, start=start, end=target.end)
    if whose is not None:  # the accounts the rows kept refer to, and the quotas of the people in reach
        accounts = sorted(_accounts_of(facts))
        small["accounts"] = _read_in(url, "accounts", "account_id", accounts)
        small["account_assignments"] = _read_in(url, "account_assignments", "account_id", accounts)
        small["quotas"] = _read_in(url, "quotas", "subject_id", whose)
    inputs = CalcInputs(
        calendar=calendar,
        base_currency=settings.base_currency,
        plans=plans,
        plan_assignments=assignments,
        prior_lines=prior.drop_columns(["run_id", "run_period"]),
        opportunities=facts.opportunities,
        opportunity_splits=facts.opportunity_splits,
        transactions=facts.transactions,
        activities=facts.activities,
        **small,
    )
    return inputs if payees is None else reaching(inputs, payees)


#: The fact tables a run for named payees reads by person, deal and account instead of whole.
FACTS = ("opportunities", "opportunity_splits")
#: Dimensions a run for named payees reads by key: the accounts its rows refer to (and their territory
#: assignments), the quotas of the people in reach.
BY_KEY = ("accounts", "account_assignments", "quotas")


class _Facts(NamedTuple):
    opportunities: pa.Table
    opportunity_splits: pa.Table
    transactions: pa.Table
    activities: pa.Table | None


def _facts(
    url: str,
    plans: Mapping[tuple[str, int], Plan],
    small: Mapping[str, pa.Table],
    people: Sequence[str] | None,
    wants_activities: bool,
    *,
    start: date,
    end: date,
) -> _Facts:
    """Transactions, deals, splits and activities: all of them, or those that can credit `people` (the
    payees and the teams they are paid on)."""
    window = {"start": start, "end": end}
    if people is None:
        return _Facts(
            _read(url, "opportunities"),
            _read(url, "opportunity_splits"),
            _read(url, "transactions", date_column="date", **window),
            _read(url, "activities", date_column="occurred_at", **window) if wants_activities else None,
        )
    deals = _read_in(url, "opportunities", "owner_id", people)
    deal_ids = [*deals.column("opportunity_id").to_pylist()]
    deal_ids += _read_in(url, "opportunity_splits", "person_id", people).column("opportunity_id").to_pylist()
    tx = [_read_in(url, "transactions", "owner_id", people, date_column="date", **window)]
    if has_territory_rules(plans):
        owned = owned_territories(small["territories"], people)
        spells = _read_in(url, "account_assignments", "territory_id", owned)
        accounts = sorted(set(spells.column("account_id").drop_null().to_pylist()))
        deal_ids += (
            _read_in(url, "opportunities", "account_id", accounts).column("opportunity_id").to_pylist()
        )
        tx.append(_read_in(url, "transactions", "account_id", accounts, date_column="date", **window))
    tx.append(
        _read_in(url, "transactions", "opportunity_id", sorted(set(deal_ids)), date_column="date", **window)
    )
    transactions = _distinct(tx, "transaction_id")
    activities = (
        _read_in(url, "activities", "person_id", people, date_column="occurred_at", **window)
        if wants_activities
        else None
    )
    referred = set(deal_ids) | set(transactions.column("opportunity_id").drop_null().to_pylist())
    if activities is not None:
        referred |= set(activities.column("opportunity_id").drop_null().to_pylist())
    wanted = sorted(referred)
    return _Facts(
        _read_in(url, "opportunities", "opportunity_id", wanted),
        _read_in(url, "opportunity_splits", "opportunity_id", wanted),
        transactions,
        activities,
    )


def _accounts_of(facts: _Facts) -> set[str]:
    """The accounts the transactions, deals and activities read refer to."""
    tables = [facts.transactions, facts.opportunities, facts.activities]
    return {a for t in tables if t is not None for a in t.column("account_id").drop_null().to_pylist()}


def _read_in(url: str, name: str, column: str, values: Sequence[str], **window: Any) -> pa.Table:
    """Rows of `name` whose `column` is one of `values`, looked up a slice of values at a time."""
    size = MAX_IN_VALUES
    parts = [
        read_arrow(
            url, name, list(ENTITY_BY_NAME[name].column_names), where={column: values[i : i + size]}, **window
        )
        for i in range(0, len(values), size)
    ]
    return pa.concat_tables(parts) if parts else _read(url, name, where={column: []})


def _distinct(parts: list[pa.Table], key: str) -> pa.Table:
    """The rows of `parts`, each `key` once (the first part's row wins)."""
    out = parts[0]
    for part in parts[1:]:
        seen = pc.is_in(part.column(key), value_set=out.column(key).combine_chunks())
        out = pa.concat_tables([out, part.filter(pc.invert(seen))])
    return out


def _read(url: str, name: str, **window: Any) -> pa.Table:
    return read_arrow(url, name, list(ENTITY_BY_NAME[name].column_names), **window)


InForce = tuple[dict[tuple[str, int], Plan], pa.Table]  # what `plans_in_force` returns


def paid_in_store(conn: Connection, payees: Sequence[str], in_force: InForce) -> list[str]:
    """Whose facts and recorded lines a run for `payees` reads: the payees and the teams their plans
    (`in_force`) roll up or override (`engine.calc.reach.paid_people`), from the store."""
    plans, assignments = in_force
    org = read_arrow(store_url(conn.engine), "assignments", ["person_id", "manager_id"])
    return sorted(paid_people(org, assignments, plans, payees))


def facts_start(calendar: FiscalCalendar, plans: Iterable[Plan], first_day: date) -> date:
    """The first day whose facts can change a result from `first_day` on."""
    start = first_day
    for plan in plans:
        plan_period = calendar.containing(first_day, _PLAN_KIND[plan.period.type])
        window = plan.clawback.window_days if plan.clawback is not None else 0
        start = min(start, plan_period.start - timedelta(days=window))
    return start


@functools.lru_cache(maxsize=128)
def _validated(source: str) -> Plan:
    """A stored plan version's source, validated (plans are frozen: a long-lived process parses each
    source once, not on every run)."""
    return validate_source(source)


def plans_in_force(conn: Connection, start: date, end: date) -> InForce:
    """The plan assignments overlapping `[start, end)` and the (validated) plan versions they name.

    Every run reads everyone's assignments (a run for named payees narrows them later), so the rows
    come back as plain values, money as stored integers, and each plan's source is read once.
    """
    row = PlanAssignmentRow
    rows = conn.execute(
        select(
            row.person_id,
            row.plan_version_id,
            row.start_date,
            row.end_date,
            type_coerce(row.target_incentive, BigInteger),
            row.currency,
            row.draw_kind,
            type_coerce(row.draw_amount, BigInteger),
            row.draw_periods,
        )
        .where(row.start_date < end, or_(row.end_date.is_(None), row.end_date > start))
        .order_by(row.person_id, row.start_date)
    ).all()
    ids = sorted({r.plan_version_id for r in rows})
    versions = {
        v.id: (v.name, v.version, v.source)
        for v in conn.execute(
            select(PlanVersion.id, PlanVersion.name, PlanVersion.version, PlanVersion.source).where(
                PlanVersion.id.in_(ids)
            )
        )
    }
    parsed = {(name, version): _validated(source) for name, version, source in sorted(versions.values())}
    columns = list(zip(*rows, strict=True)) if rows else [()] * 9
    money = PLAN_ASSIGNMENTS.field("target_incentive").type
    table = pa.table(
        {
            "person_id": pa.array(columns[0], pa.string()),
            "plan": pa.array([versions[i][0] for i in columns[1]], pa.string()),
            "version": pa.array([versions[i][1] for i in columns[1]], pa.int32()),
            "start_date": pa.array(columns[2], pa.date32()),
            "end_date": pa.array(columns[3], pa.date32()),
            "target_incentive": scaled_to_decimal(pa.array(columns[4], pa.int64()), money.scale),
            "currency": pa.array(columns[5], pa.string()),
            "draw_kind": pa.array(columns[6], pa.string()),
            "draw_amount": scaled_to_decimal(pa.array(columns[7], pa.int64()), money.scale),
            "draw_periods": pa.array(columns[8], pa.int32()),
        }
    )
    return parsed, table.cast(PLAN_ASSIGNMENTS)


def plan_sources(conn: Connection, keys: Iterable[tuple[str, int]]) -> list[tuple[str, int, str]]:
    """(name, version, source) of each plan version named."""
    wanted = set(keys)
    if not wanted:
        return []
    rows = conn.execute(select(PlanVersion.name, PlanVersion.version, PlanVersion.source)).all()
    return sorted((r.name, r.version, r.source) for r in rows if (r.name, r.version) in wanted)


# --- recorded lines ------------------------------------------------------------------------------------
def heads() -> Any:
    """For each run period and person, the latest run that computed them: whose lines are current."""
    payee = CalcRunPayee
    return (
        select(payee.period, payee.person_id, func.max(payee.run_id).label("run_id"))
        .group_by(payee.period, payee.person_id)
        .subquery("heads")
    )


def current_lines_query(*, with_explanation: bool = True, run_periods: Sequence[str] | None = None) -> Any:
    """The current payout lines (of every run period, or of those named), with their run and run period."""
    line, head = PayoutLineRow, heads()
    query = select(
        line.run_id,
        head.c.period.label("run_period"),
        line.person_id,
        line.period,
        line.plan,
        line.version,
        line.component,
        line.line_kind,
        line.amount,
        line.currency,
        line.corrects_period,
        line.explanation if with_explanation else literal("").label("explanation"),
    ).join(head, and_(line.run_id == head.c.run_id, line.person_id == head.c.person_id))
    return query if run_periods is None else query.where(head.c.period.in_(list(run_periods)))


def recorded_lines(
    conn: Connection,
    *,
    before: Period | None = None,
    run_periods: Sequence[str] | None = None,
    calendar: FiscalCalendar,
    with_explanation: bool = False,
    people: Sequence[str] | None = None,
) -> pa.Table:
    """Current lines of run periods that start before `before` (or of the `run_periods` named), of
    everyone or of the `people` named.

    Read column-wise (`store.columnar.read_arrow`, the committed state): a year of a large company is
    hundreds of thousands of lines, and every run reads them. For each run period and person the lines
    of the latest run that computed them are current (as `current_lines_query` selects in SQL).
    """
    url = store_url(conn.engine)
    whose: dict[str, Sequence[str]] = {} if people is None else {"person_id": list(people)}
    payees = read_arrow(url, "calc_run_payees", ["run_id", "period", "person_id"], where=whose)
    labels = sorted(set(payees.column("period").to_pylist()))
    if run_periods is not None:
        named = set(run_periods)
        labels = [label for label in labels if label in named]
    if before is not None:
        labels = [label for label in labels if calendar.parse(label).start < before.start]
    payees = payees.filter(pc.is_in(payees.column("period"), value_set=pa.array(labels, pa.string())))
    if payees.num_rows == 0:
        return RECORDED_LINES.empty_table()
    latest = payees.group_by(["period", "person_id"], use_threads=False).aggregate([("run_id", "max")])
    heads = pa.table(
        {
            "run_id": latest.column("run_id_max"),
            "person_id": latest.column("person_id"),
            "run_period": latest.column("period"),
        }
    )
    runs = sorted({str(r) for r in heads.column("run_id").to_pylist()})
    columns = ["id", "run_id", *(n for n in PAYOUT_LINES.names if n != "explanation" or with_explanation)]
    lines = read_arrow(url, "payout_lines", columns, where={"run_id": runs, **whose})
    lines = lines.join(heads, ["run_id", "person_id"], join_type="inner")
    lines = lines.sort_by(
        [
            (c, "ascending")
            for c in ("run_id", "person_id", "period", "plan", "version", "component", "line_kind", "id")
        ]
    )
    if not with_explanation:
        lines = lines.append_column("explanation", pa.array([""] * lines.num_rows, pa.string()))
    return lines.select(RECORDED_LINES.names).cast(RECORDED_LINES)


def lines_before(recorded: pa.Table, before: Period, calendar: FiscalCalendar) -> pa.Table:
    """The rows of `recorded` (RECORDED_LINES) whose run period starts before `before`."""
    labels = set(recorded.column("run_period").to_pylist())
    earlier = [label for label in labels if calendar.parse(label).start < before.start]
    return recorded.filter(pc.is_in(recorded.column("run_period"), value_set=pa.array(earlier, pa.string())))


def lines_table(rows: Sequence[tuple[Any, ...]], schema: pa.Schema) -> pa.Table:
    """Rows (tuples in the schema's column order) as a table of `schema`."""
    if not rows:
        return schema.empty_table()
    columns = list(zip(*rows, strict=True))
    return pa.table([pa.array(list(c), f.type) for c, f in zip(columns, schema, strict=True)], schema=schema)


def with_prior(inputs: CalcInputs, prior: pa.Table) -> CalcInputs:
    return replace(inputs, prior_lines=prior)
