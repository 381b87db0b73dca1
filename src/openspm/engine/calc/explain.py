"""Payout lines with their explanation, as canonical JSON built column-wise, and the waterfall behind a line.

The explanation is canonical JSON: keys sorted, no spaces, Decimals as strings without trailing zeros
(`"8400.5"`), integers and booleans bare, absent values `null`; so the same inputs give byte-identical
lines. It is assembled by one SQL query per run over the executed Arrow tables, in an in-process DuckDB
(the session's connection, or one of its own when the calculation ran on another backend): string
functions over whole columns, no Python per line. DuckDB writes a DECIMAL in plain notation at its full
scale (`8400.5000000000`); trimming the trailing zeros (and a bare `.`) gives the canonical text.

A component line's numbers add up exactly:

    Σ tiers[].amount = raw;  raw + gate_adjustment + cap_adjustment = earned;
    earned + held_back − already_paid + rounding = amount

and a balance line's (`clawback`, `clawback_carry_forward`, `draw`, `guarantee`, `draw_recovery`) show the
balance before and after.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import duckdb
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from openspm.engine.calc.session import Session, arrow_of
from openspm.engine.calc.tables import MONEY, PAYOUT_LINES

LINE_KEY = ["person_id", "plan", "version", "plan_period", "period", "component"]


# --- canonical JSON, column-wise (SQL text over the columns of Arrow tables) ---------------------------


def _name(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _text(value: str) -> str:
    """`value` as an SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def json_value(column: str, kind: pa.DataType, *, raw: bool = False) -> str:
    """SQL for the JSON text of `column` (of Arrow type `kind`) per row; null → `null`.

    Decimals are quoted strings in plain notation without trailing zeros, dates quoted ISO days,
    integers and booleans bare, anything else a JSON string (escaped by DuckDB's `to_json`). `raw`
    columns already hold JSON.
    """
    c = _name(column)
    if raw:
        text = c
    elif pa.types.is_decimal(kind):
        digits = f"CAST({c} AS VARCHAR)"
        if kind.scale > 0:  # always a point: drop trailing zeros, then a bare point (`100.` → `100`)
            digits = f"rtrim(rtrim({digits}, '0'), '.')"
        text = f"'\"' || {digits} || '\"'"
    elif pa.types.is_boolean(kind):
        text = f"CASE WHEN {c} THEN 'true' WHEN NOT {c} THEN 'false' END"
    elif pa.types.is_integer(kind):
        text = f"CAST({c} AS VARCHAR)"
    elif pa.types.is_date(kind):
        text = f"'\"' || strftime({c}, '%Y-%m-%d') || '\"'"
    else:
        text = f"CAST(to_json(CAST({c} AS VARCHAR)) AS VARCHAR)"
    return f"coalesce({text}, 'null')"


def json_object(schema: pa.Schema, fields: Mapping[str, str], raw: Sequence[str] = ()) -> str:
    """SQL for a JSON object per row: `fields` maps each JSON key to a column (keys written sorted)."""
    pieces: list[str] = []
    for i, key in enumerate(sorted(fields)):
        column = fields[key]
        pieces.append(_text(("{" if i == 0 else ",") + json.dumps(key) + ":"))
        pieces.append(json_value(column, schema.field(column).type, raw=column in raw))
    pieces.append("'}'")
    return "concat(" + ", ".join(pieces) + ")"


def json_list(element: str, order: Sequence[str]) -> str:
    """SQL aggregate: the group's `element`s (JSON) as a JSON array, in `order`, then by the element's own
    text (rows equal in `order` still come in one order, so the same inputs give the same bytes)."""
    by = ", ".join([*(_name(c) for c in order), element])
    return f"'[' || string_agg({element}, ',' ORDER BY {by}) || ']'"


_names = itertools.count()


@contextmanager
def _registered(
    con: Session, tables: Mapping[str, pa.Table | None]
) -> Iterator[tuple[duckdb.DuckDBPyConnection, dict[str, str]]]:
    """The session's DuckDB connection (or an in-process one) with `tables` registered under unique names."""
    duck = con.duckdb()
    owned = duck is None
    if duck is None:
        duck = duckdb.connect()
    names = {key: f"_spm_explain_{next(_names)}_{key}" for key, t in tables.items() if t is not None}
    try:
        for key, name in names.items():
            duck.register(name, tables[key])
        yield duck, {key: _name(name) for key, name in names.items()}
    finally:
        for name in names.values():
            duck.unregister(name)
        if owned:
            duck.close()


def encode(column: pa.Array | pa.ChunkedArray, raw: bool = False) -> pa.Array:
    """One JSON value per row of `column`, as `json_value` writes it (for checks and tests)."""
    table = pa.table({"v": column})
    with duckdb.connect() as duck:
        duck.register("t", table)
        sql = f"SELECT {json_value('v', table.schema.field('v').type, raw=raw)} AS j FROM t"
        return arrow_of(duck, sql)["j"].combine_chunks()


# --- the payout table -----------------------------------------------------------------------------------

_COMPONENT_FIELDS = {
    "component": "component",
    "kind": "component_kind",
    "measure": "measure",
    "value": "value",
    "credits": "credits",
    "quota": "quota",
    "attainment": "attainment",
    "target_incentive": "target_incentive",
    "source_id": "source_id",
    "date": "date",
    "rule": "rule",
    "running_before": "running_before",
    "running_after": "running_after",
    "raw": "raw",
    "gate_adjustment": "gate_adjustment",
    "cap": "cap",
    "cap_adjustment": "cap_adjustment",
    "earned": "earned",
    "advance_percent": "applied_percent",
    "held_back": "held_back",
    "already_paid": "already_paid",
    "rounding": "rounding",
    "amount": "amount",
    "plan_period": "plan_period",
    "tiers": "tiers",
    "gates": "gates",
}


_TIER_FIELDS = {
    "tier": "idx",
    "from": "lower",
    "to": "upper",
    "rate": "rate",
    "base": "base",
    "amount": "amount",
}
_GATE_FIELDS = {
    "measure": "measure",
    "min_attainment": "min_attainment",
    "attainment": "attainment",
    "open": "is_open",
}
#: A payout line's columns, selected from a row that has them (`corrects_period`: delta lines only).
_LINE = (
    "person_id, period, plan, version, {component} AS component, {kind} AS line_kind, "
    "{amount} AS amount, currency"
)


def _joined(keys: Sequence[str], left: str, right: str) -> str:
    """SQL: `left` and `right` agree on `keys` (a null `source_id` matches a null one)."""

    def side(table: str, key: str) -> str:
        column = f"{table}.{_name(key)}"
        return f"coalesce({column}, '')" if key == "source_id" else column

    return " AND ".join(f"{side(left, k)} = {side(right, k)}" for k in keys)


def _listed(  # noqa: PLR0917 - one list's parts
    name: str,
    table: str,
    schema: pa.Schema,
    keys: Sequence[str],
    order: Sequence[str],
    fields: Mapping[str, str],
) -> str:
    """A CTE `name`: per `keys`, the JSON array (column `name`) of the rows' `fields` objects in `order`.

    A null `source_id` is keyed as `''`, as `_joined` matches it.
    """
    keyed = [f"coalesce({_name(k)}, '')" if k == "source_id" else _name(k) for k in keys]
    by = ", ".join(keyed)
    columns = ", ".join(f"{k} AS {_name(key)}" for k, key in zip(keyed, keys, strict=True))
    element = json_object(schema, fields)
    return f"{name} AS (SELECT {columns}, {json_list(element, order)} AS {name} FROM {table} GROUP BY {by})"


def _component_lines(
    duck: duckdb.DuckDBPyConnection,
    names: Mapping[str, str],
    lines: pa.Table,
    lists: Mapping[str, pa.Table | None],
) -> pa.Table:
    """Component lines with their explanation; `lists`: the tier and gate rows of each line, if any."""
    ctes, joins, columns = [], [], []
    schema = lines.schema
    for name, keys, fields in (
        ("tiers", [*LINE_KEY, "source_id"], _TIER_FIELDS),
        ("gates", LINE_KEY, _GATE_FIELDS),
    ):
        table = lists[name]
        if table is not None and table.num_rows:
            ctes.append(_listed(name, names[name], table.schema, keys, ["idx"], fields))
            joins.append(f"LEFT JOIN {name} ON {_joined(keys, 'l', name)}")
            columns.append(f"coalesce({name}.{name}, '[]') AS {name}")
        else:
            columns.append(f"'[]' AS {name}")
        schema = schema.append(pa.field(name, pa.string()))
    ctes.append(f"x AS (SELECT l.*, {', '.join(columns)} FROM {names['lines']} AS l {' '.join(joins)})")
    explanation = json_object(schema, _COMPONENT_FIELDS, raw=("tiers", "gates"))
    line = _LINE.format(component="component", kind="line_kind", amount="amount")
    return arrow_of(duck, f"WITH {', '.join(ctes)} SELECT {line}, {explanation} AS explanation FROM x")


_BALANCE_LINES: list[tuple[str, str, str, dict[str, str]]] = [
    # component, line kind, amount column, explanation fields
    (
        "clawback",
        "clawback",
        "clawback",
        {"commission_reversed": "due", "rounding": "claw_rounding", "amount": "clawback"},
    ),
    (
        "clawback_carry_forward",
        "clawback",
        "carry",
        {
            "balance_before": "claw_before",
            "balance_after": "claw_after",
            "clawback": "clawback",
            "earnings": "earnings",
            "amount": "carry",
        },
    ),
    (
        "draw",
        "draw",
        "draw",
        {
            "draw": "draw_level",
            "earnings": "net",
            "balance_before": "draw_before",
            "balance_after": "draw_after",
            "amount": "draw",
        },
    ),
    ("guarantee", "draw", "guarantee", {"guarantee": "draw_level", "earnings": "net", "amount": "guarantee"}),
    (
        "draw_recovery",
        "draw_recovery",
        "draw_recovery",
        {
            "earnings": "net",
            "draw": "draw_level",
            "balance_before": "draw_before",
            "balance_after": "draw_after",
            "amount": "draw_recovery",
        },
    ),
]


_CANCELLATION_FIELDS = {
    "source_id": "source_id",
    "rule": "rule",
    "via_person_id": "via_person_id",
    "opportunity_id": "opportunity_id",
    "date": "date",
    "cancelled": "value",
    "booked_on": "b_date",
    "booking_plan_period": "b_plan_period",
    "booking_value": "b_value",
    "rate": "rate",
    "reversed": "reversed",
}


def _balance_lines(
    duck: duckdb.DuckDBPyConnection, names: Mapping[str, str], balance: pa.Table, claw_detail: pa.Table | None
) -> pa.Table:
    """The balance lines (one per non-zero balance amount) with their explanation."""
    key = ["person_id", "plan", "version", "period"]
    if claw_detail is not None and claw_detail.num_rows:
        order = ["date", "source_id", "rule", "via_person_id"]
        listed = _listed("c", names["claw_detail"], claw_detail.schema, key, order, _CANCELLATION_FIELDS)
        with_list = (
            f"b AS (SELECT t.*, coalesce(c.c, '[]') AS _cancellations FROM {names['balance']} AS t "
            f"LEFT JOIN c ON {_joined(key, 't', 'c')})"
        )
        ctes = [listed, with_list]
    else:
        ctes = [f"b AS (SELECT t.*, '[]' AS _cancellations FROM {names['balance']} AS t)"]
    extra = [
        pa.field("_component", pa.string()),
        pa.field("_cancellations", pa.string()),
    ]
    selects = []
    for component, kind, column, fields in _BALANCE_LINES:
        schema = pa.schema([*balance.schema, *extra, pa.field("_amount", balance.schema.field(column).type)])
        chosen = {**fields, "amount": "_amount", "component": "_component"}
        if component == "clawback":
            chosen["cancellations"] = "_cancellations"
        explanation = json_object(schema, chosen, raw=("_cancellations",))
        line = _LINE.format(component="_component", kind=_text(kind), amount="_amount")
        selects.append(
            f"SELECT {line}, {explanation} AS explanation FROM "
            f"(SELECT *, {_text(component)} AS _component, {_name(column)} AS _amount FROM b) "
            f"WHERE _amount <> 0"
        )
    return arrow_of(duck, f"WITH {', '.join(ctes)} " + " UNION ALL ".join(selects))


def _shape(rows: pa.Table) -> pa.Table:
    n = rows.num_rows
    return pa.table(
        {
            "person_id": rows["person_id"],
            "period": rows["period"],
            "plan": rows["plan"],
            "version": pc.cast(rows["version"], pa.int32()),
            "component": rows["component"],
            "line_kind": rows["line_kind"],
            "amount": pc.cast(rows["amount"], MONEY),
            "currency": rows["currency"],
            "corrects_period": pa.nulls(n, pa.string()),
            "explanation": rows["explanation"],
        },
        schema=PAYOUT_LINES,
    )


def payout_table(  # noqa: PLR0917 - the line tables of one run
    con: Session,
    component_lines: ir.Table | None,
    balance: ir.Table,
    claw_detail: ir.Table | None,
    details: ir.Table | None,
    gates: ir.Table | None,
) -> pa.Table:
    """Execute the line tables and assemble PAYOUT_LINES with explanations, sorted deterministically."""
    run = con.to_pyarrow
    tables = {
        "lines": run(component_lines) if component_lines is not None else None,
        "tiers": run(details) if details is not None else None,
        "gates": run(gates) if gates is not None else None,
        "balance": run(balance),
        "claw_detail": run(claw_detail) if claw_detail is not None else None,
    }
    parts: list[pa.Table] = []
    with _registered(con, tables) as (duck, names):
        if tables["lines"] is not None:
            parts.append(_shape(_component_lines(duck, names, tables["lines"], tables)))
        parts.append(_shape(_balance_lines(duck, names, tables["balance"], tables["claw_detail"])))
    table = pa.concat_tables(parts)
    order = ["person_id", "period", "plan", "version", "component", "line_kind", "explanation"]
    return table.sort_by([(c, "ascending") for c in order])


# --- the waterfall --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Waterfall:
    """One payout line explained: its identity, amount, the explanation, and the credits behind it."""

    period: str
    plan: str
    component: str
    line_kind: str
    amount: Decimal
    currency: str
    explanation: dict[str, Any]
    credits: list[dict[str, Any]]  # source_id, date, rule, kind, value — of the line's measure
    version: int | None = None  # the plan version (two versions of a plan may pay in one period)

    @property
    def key(self) -> tuple[Any, ...]:
        """What identifies the line among a person's lines of a period (per-transaction lines: the source)."""
        source = self.explanation.get("source_id")
        return (self.period, self.plan, self.version, self.component, self.line_kind, source)


def explain_person(payout_lines: pa.Table, measure_credits: pa.Table, person_id: str) -> list[Waterfall]:
    """Every payout line of `person_id`, with the credits of its measure in the plan period to date."""
    mine = payout_lines.filter(pc.equal(payout_lines["person_id"], person_id)).to_pylist()
    credits = measure_credits.filter(pc.equal(measure_credits["person_id"], person_id)).to_pylist()
    out = []
    for line in mine:
        detail = json.loads(line["explanation"])
        measure, plan_period = detail.get("measure"), detail.get("plan_period")
        source = detail.get("source_id")
        chosen = [
            {k: c[k] for k in ("source_id", "date", "rule", "rule_kind", "kind", "opportunity_id", "value")}
            for c in credits
            if measure is not None
            and c["measure"] == measure
            and c["plan"] == line["plan"]
            and c["version"] == line["version"]
            and c["plan_period"] == plan_period
            and (source is None or c["source_id"] == source)
        ]
        chosen.sort(key=lambda c: (c["date"], c["source_id"], c["rule"]))
        out.append(
            Waterfall(
                line["period"],
                line["plan"],
                line["component"],
                line["line_kind"],
                line["amount"],
                line["currency"],
                detail,
                chosen,
                line["version"],
            )
        )
    return out
