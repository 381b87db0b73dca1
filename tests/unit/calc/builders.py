"""Build typed `CalcInputs` for calculation tests from short Python literals.

Rows are dicts keyed by column name; a missing column is null. Values may be written loosely and are
converted to the column's Arrow type: dates as `"2025-03-14"`, money and percentages as `"1000.50"`,
`1000` or `Decimal`, timestamps as `"2025-03-14T10:00:00"`. Every table has the typed schema the store's
`read_arrow` returns (`store.columnar.typed_schema`), so the engine sees in tests what it sees in
production; `plan_assignments` has `engine.calc.inputs.PLAN_ASSIGNMENTS`.

    inputs = make_inputs(
        plans=[AE_PLAN_YAML],                      # YAML text, a dict, or a Plan
        plan_assignments=[{"person_id": "P1", "plan": "account_executive", "version": 1,
                           "start_date": "2025-01-01", "target_incentive": 50000, "currency": "USD"}],
        transactions=[{"transaction_id": "T1", "kind": "booking", "date": "2025-02-10",
                       "amount": 1000, "currency": "USD", "opportunity_id": "O1"}],
    )
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from openspm.domain.periods import FiscalCalendar
from openspm.domain.plans import Plan
from openspm.engine.calc.inputs import PLAN_ASSIGNMENTS, CalcInputs
from openspm.engine.calc.tables import PAYOUT_LINES
from openspm.engine.expressions import filter_problems
from openspm.ingest.plans import read_plan
from openspm.store.columnar import typed_schema

Row = Mapping[str, Any]
PlanSource = Plan | Mapping[str, Any] | str

#: CalcInputs field → store table whose typed schema it has.
TABLES: dict[str, str] = {
    "transactions": "transactions",
    "opportunities": "opportunities",
    "opportunity_splits": "opportunity_splits",
    "assignments": "assignments",
    "accounts": "accounts",
    "account_assignments": "account_assignments",
    "territories": "territories",
    "products": "products",
    "quotas": "quotas",
    "fx_rates": "fx_rates",
    "activities": "activities",
    "people": "people",
}


def schema_of(name: str) -> pa.Schema:
    """The Arrow schema of the CalcInputs table `name` (a field name of CalcInputs)."""
    if name == "plan_assignments":
        return PLAN_ASSIGNMENTS
    if name == "prior_lines":
        return PAYOUT_LINES
    return typed_schema(TABLES[name])


def _value(value: object, kind: pa.DataType) -> object:
    if value is None:
        return None
    if pa.types.is_decimal(kind):
        return value if isinstance(value, Decimal) else Decimal(str(value))
    if pa.types.is_date(kind):
        return date.fromisoformat(value) if isinstance(value, str) else value
    if pa.types.is_timestamp(kind):
        if isinstance(value, str):
            return datetime.fromisoformat(value)
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime(value.year, value.month, value.day)
        return value
    if pa.types.is_integer(kind):
        return int(str(value))
    if pa.types.is_floating(kind):
        return float(str(value))
    if pa.types.is_boolean(kind):
        return value if isinstance(value, bool) else str(value).lower() in {"true", "1", "yes"}
    return str(value)


def table(name: str, rows: Iterable[Row] = ()) -> pa.Table:
    """A typed Arrow table for the CalcInputs field `name`; unknown columns in a row are an error."""
    schema = schema_of(name)
    rows = list(rows)
    for row in rows:
        unknown = set(row) - set(schema.names)
        if unknown:
            raise KeyError(f"{name}: unknown column(s) {sorted(unknown)} (known: {schema.names})")
    columns = {
        f.name: pa.array([_value(row.get(f.name), f.type) for row in rows], type=f.type) for f in schema
    }
    return pa.table(columns, schema=schema)


def make_plan(source: PlanSource) -> Plan:
    """A validated Plan from YAML text, a mapping, or a Plan; raises ValueError listing every problem."""
    if isinstance(source, Plan):
        return source
    if isinstance(source, str):
        validation = read_plan(source, check_expression=filter_problems)
        if validation.plan is None:
            raise ValueError("invalid plan: " + "; ".join(str(p) for p in validation.problems))
        return validation.plan
    return Plan.model_validate(source)


def make_inputs(
    *,
    plans: Sequence[PlanSource] = (),
    plan_assignments: Iterable[Row] = (),
    transactions: Iterable[Row] = (),
    opportunities: Iterable[Row] = (),
    splits: Iterable[Row] = (),
    assignments: Iterable[Row] = (),
    accounts: Iterable[Row] = (),
    account_assignments: Iterable[Row] = (),
    territories: Iterable[Row] = (),
    products: Iterable[Row] = (),
    quotas: Iterable[Row] = (),
    fx_rates: Iterable[Row] = (),
    activities: Iterable[Row] = (),
    people: Iterable[Row] = (),
    prior_lines: Iterable[Row] | None = None,
    calendar: FiscalCalendar | None = None,
    base_currency: str = "USD",
    options: Mapping[str, object] | None = None,
) -> CalcInputs:
    """CalcInputs from literals; every table present with its typed schema (empty unless given).

    `calendar` defaults to a January fiscal year (quarters are calendar quarters: 2025-Q1 = Jan–Mar).
    `activities` and `people` are always tables (empty when not given); `prior_lines` is None unless given.
    """
    plan_map = {(p.name, p.version): p for p in (make_plan(s) for s in plans)}
    return CalcInputs(
        calendar=calendar or FiscalCalendar(1),
        base_currency=base_currency,
        plans=plan_map,
        plan_assignments=table("plan_assignments", plan_assignments),
        transactions=table("transactions", transactions),
        opportunities=table("opportunities", opportunities),
        opportunity_splits=table("opportunity_splits", splits),
        assignments=table("assignments", assignments),
        accounts=table("accounts", accounts),
        account_assignments=table("account_assignments", account_assignments),
        territories=table("territories", territories),
        products=table("products", products),
        quotas=table("quotas", quotas),
        fx_rates=table("fx_rates", fx_rates),
        activities=table("activities", activities),
        people=table("people", people),
        prior_lines=None if prior_lines is None else table("prior_lines", prior_lines),
        options=dict(options or {}),
    )


def rows(result: pa.Table, *columns: str) -> list[tuple[Any, ...]]:
    """The rows of `result` as tuples of the named columns (all when none), sorted: for assertions."""
    names = list(columns) or result.column_names
    data = result.select(names).to_pylist()
    return sorted((tuple(r[n] for n in names) for r in data), key=_sortable)


def _sortable(values: tuple[Any, ...]) -> tuple[tuple[bool, Any], ...]:
    return tuple((v is not None, v) for v in values)  # nulls first; a column holds one type


def plan_doc(
    name: str,
    *,
    crediting: Sequence[Mapping[str, Any]],
    measures: Sequence[Mapping[str, Any]],
    components: Sequence[Mapping[str, Any]] | None = None,
    version: int = 1,
    currency: str = "USD",
    period: str = "quarterly",
    effective_from: str = "2025-01-01",
    effective_to: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A plan document as a dict; without `components`, a 1 % commission on the first measure's amount."""
    doc: dict[str, Any] = {
        "name": name,
        "version": version,
        "effective_from": effective_from,
        "currency": currency,
        "period": {"type": period},
        "crediting": list(crediting),
        "measures": list(measures),
        "components": list(components)
        if components is not None
        else [
            {
                "kind": "commission",
                "name": "commission",
                "measure": measures[0]["name"],
                "tiers_on": "amount",
                "tiers": [{"from": 0, "rate": 1}],
            }
        ],
        **extra,
    }
    if effective_to is not None:
        doc["effective_to"] = effective_to
    return doc


def seat(
    person_id: str,
    plan: str,
    version: int = 1,
    start: str = "2025-01-01",
    end: str | None = None,
    target_incentive: str = "10000",
    currency: str = "USD",
) -> dict[str, Any]:
    """A plan_assignments row."""
    return {
        "person_id": person_id,
        "plan": plan,
        "version": version,
        "start_date": start,
        "end_date": end,
        "target_incentive": target_incentive,
        "currency": currency,
    }


def deal(
    opportunity_id: str,
    owner_id: str,
    *,
    account_id: str = "A1",
    name: str = "Deal",
    amount: str = "0",
    created_date: str = "2025-01-02",
    currency: str | None = None,
    product_id: str | None = None,
) -> dict[str, Any]:
    """An opportunities row (closed won)."""
    return {
        "opportunity_id": opportunity_id,
        "account_id": account_id,
        "owner_id": owner_id,
        "name": name,
        "amount": amount,
        "currency": currency,
        "stage": "closed_won",
        "created_date": created_date,
        "is_closed": True,
        "is_won": True,
        "product_id": product_id,
    }


def booking(
    transaction_id: str,
    day: str,
    amount: str,
    *,
    opportunity_id: str | None = None,
    kind: str = "booking",
    currency: str | None = "USD",
    **extra: Any,
) -> dict[str, Any]:
    """A transactions row."""
    return {
        "transaction_id": transaction_id,
        "kind": kind,
        "date": day,
        "amount": amount,
        "currency": currency,
        "opportunity_id": opportunity_id,
        **extra,
    }
