"""Measures: which credits count in each plan measure, and for how much (`tables.MEASURE_CREDITS`).

For every plan version and each of its measures, the person's credits under that plan from the
measure's `source` (`credits` = transactions, `opportunities`, `activities`) that match the measure's
filter count in it. The filter sees the credit (`credit.person_id`, `credit.rule`, `credit.percent`,
`credit.amount` in the plan currency) and the fields of the credited records (`transaction.*`,
`opportunity.*`, `product.*`, `account.*`, `activity.*`).

A credit adds to a measure:

* `aggregate: sum` — its `amount` (the credited share in the plan currency; a cancellation's amount is
  negative, so it reduces the sum) or, for another `field`, that field's value;
* `aggregate: count` — +1, or −1 for a `cancellation` transaction: a cancelled deal takes back the count
  its booking added. Each credited person counts the row once (a 60/40 split counts 1 for both).

`measure_totals` sums the values per person, plan version, measure and plan period.
"""

from __future__ import annotations

import functools
import gc
import itertools
import operator
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from openspm.domain.plans.fields import resolve_field
from openspm.domain.plans.model import Aggregate, Measure, MeasureSource, Plan
from openspm.engine.calc.crediting import (
    EXACT,
    FAR,
    Facts,
    Shared,
    activity_rows,
    credit_expr,
    credit_pieces,
    deal_rows,
    field_columns,
    in_window,
    plan_fields,
    settled,
    source_fields,
    to_arrow,
    transaction_rows,
)
from openspm.engine.calc.filters import column_name, parse_checked, table_resolver, to_ibis
from openspm.engine.calc.inputs import CalcInputs
from openspm.engine.calc.payout import month_of
from openspm.engine.calc.session import Session, among, memtable, reusable, using
from openspm.engine.calc.tables import CREDITS, MEASURE_CREDITS
from openspm.engine.calc.tables import EXACT as EXACT_ARROW

#: A measure's total for one person and plan period (the sum of its MEASURE_CREDITS values).
MEASURE_TOTALS = pa.schema(
    [
        ("person_id", pa.string()),
        ("plan", pa.string()),
        ("version", pa.int32()),
        ("measure", pa.string()),
        ("plan_period", pa.string()),
        ("currency", pa.string()),
        ("value", EXACT_ARROW),
        ("lines", pa.int64()),  # how many credits counted
    ]
)

CANCELLATION = "cancellation"


def _value(credits: ir.Table, measure: Measure) -> ir.Value:
    if measure.aggregate is Aggregate.COUNT:
        minus = (credits.source == MeasureSource.CREDITS.value) & (credits.kind == CANCELLATION)
        return ibis.ifelse(minus, ibis.literal(-1, type=EXACT), ibis.literal(1, type=EXACT))
    if measure.field == "amount":
        return credits.amount.cast(EXACT)
    qualified = resolve_field(measure.field, measure.source)
    if qualified is None:
        raise ValueError(f"measure {measure.name}: unknown field {measure.field!r}")
    return credits[column_name(*qualified.split(".", 1))].cast(EXACT)


MEASURE_DEFS = pa.schema(
    [
        ("m_plan", pa.string()),
        ("m_version", pa.int32()),
        ("m_source", pa.string()),
        ("m_index", pa.int32()),  # position in `_definitions` order: picks the filter and the value
        ("measure", pa.string()),
    ]
)


def _definitions(plans: Sequence[Plan]) -> list[tuple[Plan, Measure]]:
    return [(plan, m) for plan in plans for m in plan.measures]


def measure_credits_expr(credits: ir.Table, plans: Sequence[Plan]) -> ir.Table:
    """Every (credit, measure) pair that counts, with its value: the columns of `MEASURE_CREDITS`.

    One pass over the credits: each credit meets the measures of its plan version and source (a join
    to a small table of measure definitions), and a CASE on the measure picks its filter and value.
    `credits` must carry the `alias__field` columns the plans' measures read (as `credit_expr` makes
    them, or `with_fields` adds them).
    """
    defs = _definitions(plans)
    if not defs:
        return credits.limit(0).mutate(measure=ibis.null().cast("string"), value=ibis.null().cast(EXACT))
    table = pa.table(
        {
            "m_plan": [p.name for p, _ in defs],
            "m_version": pa.array([p.version for p, _ in defs], pa.int32()),
            "m_source": [m.source.value for _, m in defs],
            "m_index": pa.array(range(len(defs)), pa.int32()),
            "measure": [m.name for _, m in defs],
        },
        schema=MEASURE_DEFS,
    )
    return _measured(credits, memtable(table), tuple(defs))


@reusable
def _measured(credits: ir.Table, m: ir.Table, defs: tuple[tuple[Plan, Measure], ...]) -> ir.Table:
    """`measure_credits_expr` with the measure definitions `defs` as the table `m`."""
    j = credits.inner_join(
        m, [credits.plan == m.m_plan, credits.version == m.m_version, credits.source == m.m_source]
    )
    j = settled(j)
    resolve = table_resolver(j)
    conditions = [
        (j.m_index == i, to_ibis(parse_checked(measure.filter, measure.source).expression, resolve))
        for i, (_, measure) in enumerate(defs)
        if measure.filter is not None
    ]
    if conditions:
        j = j.filter(ibis.cases(*conditions, else_=ibis.literal(True)))
    by_kind: dict[tuple[str, str], list[int]] = {}
    for i, (_, measure) in enumerate(defs):
        by_kind.setdefault(_value_kind(measure), []).append(i)
    values = [(j.m_index.isin(ids), _value(j, defs[ids[0]][1])) for ids in by_kind.values()]
    value = values[0][1] if len(values) == 1 else ibis.cases(*values)
    return j.mutate(value=value.cast(EXACT)).select(*MEASURE_CREDITS.names)


def _value_kind(measure: Measure) -> tuple[str, str]:
    """Measures of one kind take the same value from a credit (count: ±1, sum: the same field)."""
    return ("count", "") if measure.aggregate is Aggregate.COUNT else ("sum", measure.field)


def with_fields(credits: ir.Table, inputs: CalcInputs, plans: Sequence[Plan]) -> ir.Table:
    """Add the `alias__field` columns the plans' filters read to a plain CREDITS table, by source row."""
    facts = Facts(inputs, date.min, FAR, plan_fields(plans))
    missing = [c for c in field_columns(facts) if c not in credits.columns]
    if not missing:
        return credits
    lookups = [transaction_rows(facts), deal_rows(facts)]
    if inputs.activities is not None:
        lookups.append(activity_rows(facts))
    found = ibis.union(*[source_fields(t, facts) for t in lookups])
    found = found.select(f_source=found.source, f_id=found.source_id, **{c: found[c] for c in missing})
    joined = credits.left_join(found, [credits.source == found.f_source, credits.source_id == found.f_id])
    return settled(joined.drop("f_source", "f_id"))


def measure_credit_expr(
    inputs: CalcInputs, start: date, end: date, payees: Sequence[str] | None = None
) -> ir.Table:
    """Crediting and measures in one lazy Ibis expression (the columns of `MEASURE_CREDITS`)."""
    plans = sorted(inputs.plans.values(), key=lambda p: (p.name, p.version))
    return measure_credits_expr(credit_expr(inputs, start, end, payees, plans=plans), plans)


def measure_credits(
    credits: pa.Table | ir.Table, inputs: CalcInputs, backend: ibis.BaseBackend | None = None
) -> pa.Table:
    """The measure credits (schema `MEASURE_CREDITS`, sorted) of a credits table and the inputs' plans."""
    plans = sorted(inputs.plans.values(), key=lambda p: (p.name, p.version))
    expr = credits if isinstance(credits, ir.Table) else memtable(credits)
    return to_arrow(measure_credits_expr(with_fields(expr, inputs, plans), plans), MEASURE_CREDITS, backend)


def measure_totals_expr(measure_credits_: ir.Table) -> ir.Table:
    """Per person, plan version, measure and plan period: the sum of the values and the number of lines."""
    t = measure_credits_
    keys = ["person_id", "plan", "version", "measure", "plan_period", "currency"]
    return t.group_by(keys).aggregate(value=t.value.sum().cast(EXACT), lines=t.count())


def measure_totals(
    measure_credits_: pa.Table | ir.Table, backend: ibis.BaseBackend | None = None, *, sort: bool = True
) -> pa.Table:
    """`measure_totals_expr` executed (schema `MEASURE_TOTALS`, sorted unless `sort` is False)."""
    expr = measure_credits_ if isinstance(measure_credits_, ir.Table) else memtable(measure_credits_)
    return to_arrow(measure_totals_expr(expr), MEASURE_TOTALS, backend, sort=sort)


# --- crediting and measures, staged on one backend ---------------------------------------------------


#: A measure's value per person, plan version, measure and calendar month (`month` = year × 12 + month − 1):
#: what the measure grid reads, so a whole run never holds its measure credits one row each.
MONTHLY = pa.schema(
    [
        ("person_id", pa.string()),
        ("plan", pa.string()),
        ("version", pa.int32()),
        ("measure", pa.string()),
        ("month", pa.int32()),
        ("value", EXACT_ARROW),
        ("credits", pa.int64()),
    ]
)

#: The credited amount per person and day (overrides on the credits basis read it).
CREDIT_DAYS = pa.schema(
    [("person_id", pa.string()), ("date", pa.date32()), ("amount", EXACT_ARROW), ("n", pa.int64())]
)


@reusable
def monthly_expr(measure_credits_: ir.Table) -> ir.Table:
    """Measure credits summed per person, plan version, measure and month (the columns of `MONTHLY`)."""
    t = measure_credits_.mutate(month=month_of(measure_credits_))
    return t.group_by(["person_id", "plan", "version", "measure", "month"]).aggregate(
        value=t.value.sum().cast(EXACT), credits=t.value.count().cast("int64")
    )


@dataclass(frozen=True)
class Detail:
    """Which measure credits a run keeps one row each (the rest it reads only as monthly totals).

    `measures`: (plan, version, measure) read credit by credit (per-transaction rate tables);
    `cancelled`: the credits of every deal with a cancellation (clawbacks match them to bookings);
    `payees`: everything of these people (what an explanation lists). Credits are kept for `payees`.
    `credit_days`: whether the run reads `CREDIT_DAYS` (only overrides on the credits basis do).
    """

    measures: frozenset[tuple[str, int, str]] = frozenset()
    cancelled: bool = False
    payees: tuple[str, ...] = ()
    cancelled_deals: pa.Array | None = None  # set by `credit_and_measure` from the run's transactions
    credit_days: bool = True


@dataclass(frozen=True)
class Credited:
    """What `credit_and_measure` returns (unsorted Arrow tables)."""

    credits: pa.Table  # tables.CREDITS (with a `Detail`: only its payees')
    measure_credits: pa.Table  # tables.MEASURE_CREDITS (with a `Detail`: only the rows it asks for)
    monthly: pa.Table  # MONTHLY, of every measure credit
    credit_days: pa.Table  # CREDIT_DAYS, of every credit


class Scratch:
    """Materialises staged steps: each is executed once on the backend and then read as Arrow.

    Measured on DuckDB, holding a step as Arrow registered with the connection is cheaper than a
    temporary table (no INSERT into the database's own storage) and needs no DDL, so it runs the same on
    every backend. `timings` (when given) receives the seconds each stage took, as `stage_1`, ….
    """

    def __init__(self, session: Session, timings: dict[str, float] | None = None) -> None:
        self.session = session
        self.timings = timings
        self.count = 0
        self.data: dict[object, pa.Table] = {}  # the Arrow behind each staged table, by its Ibis node

    def __call__(self, expr: ir.Table) -> ir.Table:
        started = time.perf_counter()
        data = self.session.to_pyarrow(expr)
        table = self.session.table(data)
        self.data[table.op()] = data
        self.count += 1
        if self.timings is not None:
            self.timings[f"stage_{self.count}"] = time.perf_counter() - started
        return table


def credit_and_measure(
    inputs: CalcInputs,
    start: date,
    end: date,
    payees: Sequence[str] | None = None,
    *,
    plans: Sequence[Plan] | None = None,
    backend: ibis.BaseBackend | None = None,
    timings: dict[str, float] | None = None,
    detail: Detail | None = None,
) -> Credited:
    """Credits (`tables.CREDITS`) and measure credits (`tables.MEASURE_CREDITS`) of `[start, end)`.

    The same rows as `credit_expr` and `measure_credits_expr`, computed in stages on one backend: the
    source rows, the revenue and overlay credits (which rollups read) and the rollup credits are each
    materialised once (`Scratch`). Without `detail` the credits are their union and every measure
    credit is returned. With a `Detail` the backend sums the measure credits per month (`MONTHLY`) and
    returns one row each only for what the detail names: a company's year is tens of millions of
    measure credits, and the calculation reads nearly all of them as monthly totals. Then the window
    is credited a few months at a time (`windows`), so only one part's credits are held at once.
    """
    chosen = sorted(plans if plans is not None else inputs.plans.values(), key=lambda p: (p.name, p.version))
    clock = _Clock(timings)
    if detail is not None:
        if detail.cancelled:
            detail = replace(detail, cancelled_deals=_cancelled_deals(inputs, start, end))
        done = []
        shared = Shared()  # what every window reads, derived once (crediting.Facts)
        for a, b in windows(inputs.transactions, start, end):
            part = _credit_window(backend, inputs, (a, b), payees, chosen, detail, clock, timings, shared)
            done.append(part)
            # A window's expressions and results form reference cycles holding its staged credits
            # (gigabytes at scale); the cycle collector runs by object count, not bytes, so without this
            # every window's credits would stay in memory until the run ends. (A small run skips it:
            # it holds little, and a collection costs a tenth of a second.)
            if inputs.transactions.num_rows > STAGE_ALL_LINES:
                gc.collect()
        return Credited(
            *(pa.concat_tables([getattr(d, f) for d in done]) for f in Credited.__dataclass_fields__)
        )
    with using(backend) as session:
        return _credit_all(session, inputs, start, end, payees, chosen, clock, timings)


def _credit_all(  # noqa: PLR0917 - credit_and_measure without a Detail
    con: Session,
    inputs: CalcInputs,
    start: date,
    end: date,
    payees: Sequence[str] | None,
    chosen: Sequence[Plan],
    clock: _Clock,
    timings: dict[str, float] | None,
) -> Credited:
    scratch = Scratch(con, timings)
    facts, pieces, _ = credit_pieces(inputs, start, end, payees, plans=chosen, stage=scratch)
    if not pieces:
        return _nothing()
    names = [*CREDITS.names, *field_columns(facts)]
    parts = [scratch.data.get(p.op()) for p in pieces]
    arrow = [
        con.to_pyarrow(p.select(*names)) if d is None else d.select(names)
        for p, d in zip(pieces, parts, strict=True)
    ]
    schema = arrow[0].schema
    full = pa.concat_tables([a.cast(schema) for a in arrow])
    if payees is not None:
        full = full.filter(pc.is_in(full["person_id"], pa.array(list(payees), pa.string())))
    clock.lap("credit")
    measured = con.to_pyarrow(measure_credits_expr(con.table(full), chosen)).cast(MEASURE_CREDITS)
    clock.lap("measure")
    monthly = con.to_pyarrow(monthly_expr(con.table(measured))).cast(MONTHLY)
    days = con.to_pyarrow(_credit_days(con.table(full))).cast(CREDIT_DAYS)
    return Credited(full.select(CREDITS.names).cast(CREDITS), measured, monthly, days)


def _nothing() -> Credited:
    return Credited(
        CREDITS.empty_table(), MEASURE_CREDITS.empty_table(), MONTHLY.empty_table(), CREDIT_DAYS.empty_table()
    )


def _summed(  # noqa: PLR0917 - one window's step
    con: Session,
    everything: ir.Table,
    plans: Sequence[Plan],
    detail: Detail,
    clock: _Clock,
    scratch: Scratch,
    small: bool,
    cancelled: ir.Table | None = None,
) -> Credited:
    """One window's credits as `Detail` asks: monthly totals, per-day sums (if asked), the detail rows.

    Three queries read the measure credits; for a `small` window they are staged once (each query then
    compiles small), for a large one recomputed by each (holding them would cost gigabytes).
    `cancelled`: the credits of the cancelled deals' bookings and cancellations alone (a large window's),
    from which their detail rows are measured (the same rows, for a fraction of the work).
    """
    measured_expr = measure_credits_expr(everything, plans)
    if small:
        measured_expr = scratch(measured_expr)
    monthly = con.to_pyarrow(monthly_expr(measured_expr)).cast(MONTHLY)
    clock.lap("monthly")
    days = CREDIT_DAYS.empty_table()
    if detail.credit_days:
        days = con.to_pyarrow(_credit_days(everything)).cast(CREDIT_DAYS)
        clock.lap("credit_days")
    kept = _detail_parts(measured_expr, detail)
    if small and len(kept) > 1:  # one query: its compiled SQL is reused, its rows few
        queries = [measured_expr.filter(functools.reduce(operator.or_, kept.values()))]
    else:
        queries = [measured_expr.filter(condition) for condition in _disjoint(kept).values()]
        if cancelled is not None and CANCELLED in kept:  # their rows, measured from their credits alone
            few = measure_credits_expr(cancelled, plans)  # every row cancelled deals keep, but...
            one_by_one = _one_by_one(few, detail)  # ...those kept as measured one by one already
            queries[list(kept).index(CANCELLED)] = (
                few if one_by_one is None else few.filter(~one_by_one.fill_null(False))
            )
    measured = pa.concat_tables(
        [MEASURE_CREDITS.empty_table(), *(con.to_pyarrow(q).cast(MEASURE_CREDITS) for q in queries)]
    )
    clock.lap("measure")
    if detail.payees:
        credits = con.to_pyarrow(everything.filter(among(everything.person_id, detail.payees)))
        credits = credits.select(CREDITS.names).cast(CREDITS)
    else:
        credits = CREDITS.empty_table()
    return Credited(credits, measured, monthly, days)


#: A run over at most this many transaction lines (a few people's, or a small company's) stages its
#: credits and measure credits once: compiling the queries that read them is then most of its cost.
STAGE_ALL_LINES = 200_000

#: Transaction lines credited in one go when a run reads monthly totals: a bigger window holds more
#: staged credits in memory at once (about 300 bytes each, several per line) for little gain in speed.
WINDOW_LINES = 2_000_000


def windows(
    transactions: pa.Table, start: date, end: date, size: int | None = None
) -> list[tuple[date, date]]:
    """[start, end) cut at month starts into windows of about `size` (`WINDOW_LINES`) transaction lines.

    Crediting is row by row (a credit depends on its source row and what was in effect on its date), so
    the windows' credits are exactly the whole window's; each is staged, summed and dropped in turn.
    """
    months: list[date] = [start]
    cursor = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    while cursor < end:
        months.append(cursor)
        cursor = date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
    months.append(end)
    size = size or WINDOW_LINES
    if len(months) <= 2 or transactions.num_rows <= size:
        return [(start, end)]
    day = transactions.column("date")
    counts = [
        pc.sum(
            pc.and_(pc.greater_equal(day, pa.scalar(a, pa.date32())), pc.less(day, pa.scalar(b, pa.date32())))
        ).as_py()
        or 0
        for a, b in itertools.pairwise(months)
    ]
    out: list[tuple[date, date]] = []
    first, lines = months[0], 0
    for a, n in zip(months, counts, strict=False):
        if lines and lines + n > size:
            out.append((first, a))
            first, lines = a, 0
        lines += n
    out.append((first, end))
    return out


def _cancelled_deals(inputs: CalcInputs, start: date, end: date) -> pa.Array:
    """Deals with a cancellation dated in [start, end): every credit of theirs is kept one by one."""
    # Only the three columns it reads: filtering the whole table would copy every column of every row in
    # the window (a year of 10M lines: 0.4 s warm, nearly 3 s on first touch, against 0.12 s and 0.7 s).
    t = inputs.transactions.select(["date", "kind", "opportunity_id"])
    t = in_window(t, "date", start, end)
    ids = t.filter(pc.equal(t.column("kind"), CANCELLATION)).column("opportunity_id").drop_null()
    ids = ids.cast(pa.string())
    return pc.unique(ids.combine_chunks())


def _credit_window(  # noqa: PLR0917 - one window of credit_and_measure
    backend: ibis.BaseBackend | None,
    inputs: CalcInputs,
    window: tuple[date, date],
    payees: Sequence[str] | None,
    plans: Sequence[Plan],
    detail: Detail,
    clock: _Clock,
    timings: dict[str, float] | None,
    shared: Shared,
) -> Credited:
    # A large run's window gets a connection of its own (unless the caller chose the backend): the tables
    # a query reads stay registered with its connection, so a window's staged credits are freed only
    # with it. A small run holds little and shares the run's connection (opening one costs 15 ms).
    small = inputs.transactions.num_rows <= STAGE_ALL_LINES
    with using(backend) if backend is not None or small else Session() as con:
        scratch = Scratch(con, timings)
        # A large window's cancelled deals are credited a second time, alone (`_summed`).
        subset = None if small or detail.cancelled_deals is None else _cancelled(detail.cancelled_deals)
        facts, pieces, few = credit_pieces(
            inputs, *window, payees, plans=plans, stage=scratch, shared=shared, subset=subset
        )
        if not pieces:
            return _nothing()
        names = [*CREDITS.names, *field_columns(facts)]

        def union(parts: list[ir.Table]) -> ir.Table:
            out = (
                ibis.union(*[p.select(*names) for p in parts]) if len(parts) > 1 else parts[0].select(*names)
            )
            return out if payees is None else out.filter(among(out.person_id, payees))

        everything = union(pieces)
        cancelled = union(few) if few else None
        return _summed(
            con, scratch(everything) if small else everything, plans, detail, clock, scratch, small, cancelled
        )


def _cancelled(deals: pa.Array) -> Callable[[ir.Table], ir.Table]:
    """A filter of credits (or measure credits) to `_of_cancelled` deals."""
    table = memtable(pa.table({"opportunity_id": deals}))
    return lambda credits: credits.filter(_of_cancelled(credits, table))


def _of_cancelled(credits: ir.Table, deals: ir.Table) -> ir.BooleanValue:
    """The bookings and cancellations of `deals` (what clawbacks match) among `credits`."""
    return credits.kind.isin([CANCELLATION, "booking"]) & credits.opportunity_id.isin(deals.opportunity_id)


def _credit_days(credits: ir.Table) -> ir.Table:
    return credits.group_by(["person_id", "date"]).aggregate(
        amount=credits.amount.cast(EXACT).sum().cast(EXACT), n=credits.count().cast("int64")
    )


def _one_by_one(measured: ir.Table, detail: Detail) -> ir.BooleanValue | None:
    """The measure credits of the measures a `Detail` reads one by one (None: it names none)."""
    if not detail.measures:
        return None
    return functools.reduce(
        operator.or_,
        (
            (measured.plan == plan) & (measured.version == version) & (measured.measure == measure)
            for plan, version, measure in sorted(detail.measures)
        ),
    )


#: `_detail_parts` keys: the rows a Detail keeps, by why.
MEASURED, CANCELLED, PAYEES = "measured one by one", "cancelled deals", "payees"


def _detail_parts(measured: ir.Table, detail: Detail) -> dict[str, ir.BooleanValue]:
    """The `Detail`'s conditions on the measure credits, one per kind of row it keeps (`_disjoint` makes
    them exclusive)."""
    kinds: dict[str, ir.BooleanValue] = {}
    one_by_one = _one_by_one(measured, detail)
    if one_by_one is not None:
        kinds[MEASURED] = one_by_one
    if detail.cancelled_deals is not None:
        cancelled = memtable(pa.table({"opportunity_id": detail.cancelled_deals}))
        kinds[CANCELLED] = _of_cancelled(measured, cancelled)
    if detail.payees:
        kinds[PAYEES] = among(measured.person_id, detail.payees)
    return kinds


def _disjoint(kinds: dict[str, ir.BooleanValue]) -> dict[str, ir.BooleanValue]:
    """`kinds` made exclusive: a row two of them keep is kept by the first only.

    Each stays a conjunction: run as a query of its own, the backend can apply it below the joins that
    make the measure credits (their disjunction it can only test on every measure credit).
    """
    conditions = list(kinds.values())
    return {
        name: functools.reduce(
            operator.and_, [kind, *(~earlier.fill_null(False) for earlier in conditions[:n])]
        )
        for n, (name, kind) in enumerate(kinds.items())
    }


class _Clock:
    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        if self.timings is not None:
            self.timings[name] = now - self.last
        self.last = now
