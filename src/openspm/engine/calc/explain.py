"""Payout lines with their explanation, as canonical JSON built column-wise, and the waterfall behind a line.

The explanation is canonical JSON: keys sorted, no spaces, Decimals as strings without trailing zeros
(`"8400.5"`), integers and booleans bare, absent values `null`; so the same inputs give byte-identical
lines. It is built with Arrow string kernels over whole columns (no Python per line).

A component line's numbers add up exactly:

    Σ tiers[].amount = raw;  raw + gate_adjustment + cap_adjustment = earned;
    earned + held_back − already_paid + rounding = amount

and a balance line's (`clawback`, `clawback_carry_forward`, `draw`, `guarantee`, `draw_recovery`) show the
balance before and after.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from openspm.engine.calc.session import Session
from openspm.engine.calc.tables import MONEY, PAYOUT_LINES

LINE_KEY = ["person_id", "plan", "version", "plan_period", "period", "component"]


# --- canonical JSON, column-wise ---------------------------------------------------------------------


def _quote(strings: pa.Array) -> pa.Array:
    escaped = pc.replace_substring(pc.replace_substring(strings, "\\", "\\\\"), '"', '\\"')
    return pc.binary_join_element_wise('"', escaped, '"', "")


def _decimal_text(values: pa.Array) -> pa.Array:
    """Plain decimal notation without trailing zeros (`-0.0000000001`, `8400.5`, `0`).

    Built from the unscaled integer's digits: Arrow writes a small decimal in scientific notation
    (`1E-10`), which is neither canonical nor safe to trim.
    """
    kind = values.type
    scale = kind.scale
    magnitude = pc.abs(values)
    unscaled = pa.Array.from_buffers(
        pa.decimal128(kind.precision, 0), len(magnitude), magnitude.buffers(), offset=magnitude.offset
    )
    digits = pc.cast(unscaled, pa.string())
    if scale > 0:
        digits = pc.utf8_lpad(digits, width=scale + 1, padding="0")
        whole = pc.utf8_slice_codeunits(digits, 0, -scale)
        fraction = pc.utf8_rtrim(pc.utf8_slice_codeunits(digits, -scale), "0")
        dotted = pc.binary_join_element_wise(whole, ".", fraction, "")
        digits = pc.if_else(pc.equal(fraction, ""), whole, dotted)
    signed = pc.if_else(
        pc.less(values, pa.scalar(Decimal(0), kind)), pc.binary_join_element_wise("-", digits, ""), digits
    )
    return pc.if_else(pc.equal(values, pa.scalar(Decimal(0), kind)), "0", signed)


def encode(column: pa.Array | pa.ChunkedArray, raw: bool = False) -> pa.Array:
    """One JSON value per row (null → `null`); `raw` columns already hold JSON."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    kind = column.type
    if raw:
        out = column
    elif pa.types.is_decimal(kind):
        out = _quote(_decimal_text(column))
    elif pa.types.is_boolean(kind):
        out = pc.if_else(column, "true", "false")
    elif pa.types.is_integer(kind):
        out = pc.cast(column, pa.string())
    elif pa.types.is_date(kind):
        out = _quote(pc.strftime(column, "%Y-%m-%d"))
    else:
        out = _quote(pc.cast(column, pa.string()))
    return pc.fill_null(out, "null")


def json_objects(table: pa.Table, fields: dict[str, str], raw: Sequence[str] = ()) -> pa.Array:
    """A JSON object per row: `fields` maps each JSON key to a column of `table` (keys written sorted)."""
    if table.num_rows == 0:
        return pa.array([], pa.string())
    pieces: list[Any] = []
    for i, key in enumerate(sorted(fields)):
        pieces.append(("{" if i == 0 else ",") + json.dumps(key) + ":")
        pieces.append(encode(table[fields[key]], raw=fields[key] in raw))
    pieces.append("}")
    return pc.binary_join_element_wise(*pieces, "")


def json_lists(table: pa.Table, keys: list[str], order: list[str], element: pa.Array, name: str) -> pa.Table:
    """Group `element` (JSON per row) by `keys`, in `order`, into a JSON array column `name`."""
    t = (
        table.select(keys + order)
        .append_column("_e", element)
        .sort_by([(c, "ascending") for c in keys + order])
    )
    grouped = t.group_by(keys, use_threads=False).aggregate([("_e", "list")])
    joined = pc.binary_join_element_wise("[", pc.binary_join(grouped["_e_list"], ","), "]", "")
    return grouped.drop(["_e_list"]).append_column(name, joined)


def _keyed(table: pa.Table) -> pa.Table:
    if "source_id" in table.column_names:
        return table.set_column(
            table.column_names.index("source_id"), "source_id", pc.fill_null(table["source_id"], "")
        )
    return table


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
    "source_id": "source_id_text",
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


def _component_lines(lines: pa.Table, details: pa.Table | None, gates: pa.Table | None) -> pa.Table:
    lines = lines.append_column("source_id_text", lines["source_id"])
    lines = _keyed(lines)
    key = [*LINE_KEY, "source_id"]
    if details is not None and details.num_rows:
        details = _keyed(details)
        tier = json_objects(
            details,
            {
                "tier": "idx",
                "from": "lower",
                "to": "upper",
                "rate": "rate",
                "base": "base",
                "amount": "amount",
            },
        )
        lists = json_lists(details, key, ["idx"], tier, "tiers")
        lines = lines.join(lists, key, join_type="left outer")
    else:
        lines = lines.append_column("tiers", pa.nulls(lines.num_rows, pa.string()))
    if gates is not None and gates.num_rows:
        gate = json_objects(
            gates,
            {
                "measure": "measure",
                "min_attainment": "min_attainment",
                "attainment": "attainment",
                "open": "is_open",
            },
        )
        lists = json_lists(gates, LINE_KEY, ["idx"], gate, "gates")
        lines = lines.join(lists, LINE_KEY, join_type="left outer")
    else:
        lines = lines.append_column("gates", pa.nulls(lines.num_rows, pa.string()))
    for name in ("tiers", "gates"):
        i = lines.column_names.index(name)
        lines = lines.set_column(i, name, pc.fill_null(lines[name], "[]"))
    explanation = json_objects(lines, _COMPONENT_FIELDS, raw=("tiers", "gates"))
    return _shape(lines, explanation)


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


def _balance_lines(balance: pa.Table, claw_detail: pa.Table | None) -> list[pa.Table]:
    if claw_detail is not None and claw_detail.num_rows:
        cancel = json_objects(
            claw_detail,
            {
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
            },
        )
        lists = json_lists(
            claw_detail,
            ["person_id", "plan", "version", "period"],
            ["date", "source_id", "rule", "via_person_id"],
            cancel,
            "cancellations",
        )
        balance = balance.join(lists, ["person_id", "plan", "version", "period"], join_type="left outer")
    else:
        balance = balance.append_column("cancellations", pa.nulls(balance.num_rows, pa.string()))
    balance = balance.set_column(
        balance.column_names.index("cancellations"),
        "cancellations",
        pc.fill_null(balance["cancellations"], "[]"),
    )
    out = []
    for component, kind, column, fields in _BALANCE_LINES:
        rows = balance.filter(pc.not_equal(balance[column], pa.scalar(Decimal(0), balance[column].type)))
        if not rows.num_rows:
            continue
        rows = rows.append_column("component", pa.array([component] * rows.num_rows, pa.string()))
        rows = rows.append_column("line_kind", pa.array([kind] * rows.num_rows, pa.string()))
        if column != "amount":
            rows = rows.append_column("amount", rows[column])
        extra = {"cancellations": "cancellations"} if component == "clawback" else {}
        explanation = json_objects(
            rows, {**fields, "component": "component", **extra}, raw=("cancellations",)
        )
        out.append(_shape(rows, explanation))
    return out


def _shape(rows: pa.Table, explanation: pa.Array) -> pa.Table:
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
            "explanation": explanation,
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
    parts: list[pa.Table] = []
    if component_lines is not None:
        lines = con.to_pyarrow(component_lines)
        d = con.to_pyarrow(details) if details is not None else None
        g = con.to_pyarrow(gates) if gates is not None else None
        parts.append(_component_lines(lines, d, g))
    cd = con.to_pyarrow(claw_detail) if claw_detail is not None else None
    parts.extend(_balance_lines(con.to_pyarrow(balance), cd))
    table = pa.concat_tables(parts) if parts else PAYOUT_LINES.empty_table()
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
