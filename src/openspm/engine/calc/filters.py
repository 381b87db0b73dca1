"""Translate a checked filter expression (a SQLGlot tree) into an Ibis boolean expression, node by node.

The filter language is parsed and whitelisted by `engine.expressions.parse_filter`, which also rewrites
every column to its qualified form (`kind` → `transaction.kind`). This module walks that tree and builds
the same condition out of Ibis operations, so the backend receives an expression tree and never a SQL
string written by a user. Columns are looked up through a `resolve(table, field)` callable; over the
joined tables of the calculation the field `opportunity.name` is the column `opportunity__name` and the
fields of the credit itself (`credit.amount`) are the credit's own columns (`column_name`).

SQL's three-valued logic is kept: a comparison with a null is null, and a row is kept only where the
whole condition is true.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
from sqlglot import exp

from openspm.domain.plans.model import MeasureSource
from openspm.engine.expressions import Filter, parse_filter

#: Looks up the Ibis value of a qualified field: `resolve("opportunity", "name")`.
Resolver = Callable[[str, str], ir.Value]

_COMPARISONS: dict[type[exp.Expr], Callable[[ir.Value, ir.Value], ir.Value]] = {
    exp.EQ: lambda a, b: a == b,
    exp.NEQ: lambda a, b: a != b,
    exp.GT: lambda a, b: a > b,
    exp.GTE: lambda a, b: a >= b,
    exp.LT: lambda a, b: a < b,
    exp.LTE: lambda a, b: a <= b,
}


class FilterError(ValueError):
    """A filter tree holds a node this translator does not know (the whitelist and it disagree)."""


def column_name(table: str, field: str) -> str:
    """The column that holds `table.field` in a joined calculation table (`opportunity__name`).

    Fields of the credit itself are the credit's own columns: `credit.amount` → `amount`.
    """
    return field if table == "credit" else f"{table}__{field}"


def table_resolver(table: ir.Table) -> Resolver:
    """A resolver over a joined table whose columns are named by `column_name`."""

    def resolve(alias: str, field: str) -> ir.Value:
        name = column_name(alias, field)
        if name not in table.columns:
            raise FilterError(f"field {alias}.{field} is not available here (no column {name!r})")
        return table[name]

    return resolve


def parse_checked(text: str, source: MeasureSource) -> Filter:
    """Parse and check a filter; raise FilterError listing the problems (plans are validated earlier)."""
    checked, problems = parse_filter(text, source)
    if checked is None:
        raise FilterError(f"invalid filter {text!r}: {'; '.join(problems)}")
    return checked


def to_ibis(tree: exp.Expr, resolve: Resolver) -> ir.BooleanValue:
    """The Ibis boolean expression of a checked, qualified filter tree."""
    value = _value(tree, resolve)
    if not isinstance(value, ir.BooleanValue):
        raise FilterError(f"{tree.sql()!r} is not a true/false condition")
    return value


def filter_expression(text: str, source: MeasureSource, table: ir.Table) -> ir.BooleanValue:
    """Parse, check and translate `text` over a joined table (columns named by `column_name`)."""
    return to_ibis(parse_checked(text, source).expression, table_resolver(table))


def _value(node: exp.Expr, resolve: Resolver) -> ir.Value:  # noqa: PLR0911, PLR0912 - one branch per node kind
    if isinstance(node, exp.Paren):
        return _value(node.this, resolve)
    if isinstance(node, exp.Column):
        return resolve(node.table, node.name)
    if isinstance(node, exp.Literal | exp.Null | exp.Boolean | exp.Neg | exp.Cast):
        return _literal(node)
    if type(node) in _COMPARISONS:
        if isinstance(node.this, exp.Null) or isinstance(node.expression, exp.Null):
            return ibis.null().cast("boolean")  # `x = NULL` is unknown in SQL, never true
        left, right = _aligned(_value(node.this, resolve), _value(node.expression, resolve))
        return _COMPARISONS[type(node)](left, right)
    if isinstance(node, exp.And):
        return _bool(node.this, resolve) & _bool(node.expression, resolve)
    if isinstance(node, exp.Or):
        return _bool(node.this, resolve) | _bool(node.expression, resolve)
    if isinstance(node, exp.Not):
        return ~_bool(node.this, resolve)
    if isinstance(node, exp.In):
        subject, *values = _aligned(
            _value(node.this, resolve), *(_value(v, resolve) for v in node.expressions)
        )
        return _negated(node, subject.isin(values))
    if isinstance(node, exp.Between):
        subject, low, high = _aligned(
            _value(node.this, resolve), _value(node.args["low"], resolve), _value(node.args["high"], resolve)
        )
        return _negated(node, subject.between(low, high))
    if isinstance(node, exp.Is):
        return _is(node, resolve)
    if isinstance(node, exp.Like | exp.ILike):
        return _like(node, resolve)
    if isinstance(node, exp.Lower):
        return _string(node.this, resolve).lower()
    if isinstance(node, exp.Upper):
        return _string(node.this, resolve).upper()
    if isinstance(node, exp.Coalesce):
        return ibis.coalesce(_value(node.this, resolve), *(_value(v, resolve) for v in node.expressions))
    raise FilterError(f"{node.key.upper()} is not supported in a filter")


def _literal(node: exp.Expr) -> ir.Value:
    if isinstance(node, exp.Null):
        return ibis.null()
    if isinstance(node, exp.Boolean):
        return ibis.literal(bool(node.this))
    if isinstance(node, exp.Neg):
        inner = node.this
        if not isinstance(inner, exp.Literal) or inner.is_string:
            raise FilterError(f"only a number can be negated: {node.sql()!r}")
        return _number(f"-{inner.this}")
    if isinstance(node, exp.Cast):
        inner = node.this
        if node.to.this is not exp.DataType.Type.DATE or not (
            isinstance(inner, exp.Literal) and inner.is_string
        ):
            raise FilterError(f"only DATE 'YYYY-MM-DD' casts are supported: {node.sql()!r}")
        try:
            return ibis.literal(date.fromisoformat(inner.this), type="date")
        except ValueError as exc:
            raise FilterError(f"not a date: {inner.this!r}") from exc
    assert isinstance(node, exp.Literal)
    return ibis.literal(str(node.this)) if node.is_string else _number(str(node.this))


def _number(text: str) -> ir.Value:
    """Whole numbers stay integers; anything else is an exact decimal of its own scale (never a float)."""
    if text.lstrip("-").isdigit():
        return ibis.literal(int(text), type="int64")
    value = Decimal(text)
    exponent = value.as_tuple().exponent
    scale = max(-exponent, 0) if isinstance(exponent, int) else 0
    return ibis.literal(value, type=dt.Decimal(38, scale))


def _aligned(*values: ir.Value) -> list[ir.Value]:
    """Numbers compared with a decimal, cast to one decimal type wide enough for all (Ibis requires it)."""
    types = [v.type() for v in values]
    if not any(t.is_decimal() for t in types) or not all(t.is_numeric() for t in types):
        return list(values)
    scale = max((t.scale or 0) for t in types if t.is_decimal())
    return [v.cast(dt.Decimal(38, scale)) for v in values]


def _bool(node: exp.Expr, resolve: Resolver) -> ir.BooleanValue:
    value = _value(node, resolve)
    if not isinstance(value, ir.BooleanValue):
        raise FilterError(f"{node.sql()!r} is not a true/false condition")
    return value


def _string(node: exp.Expr, resolve: Resolver) -> ir.StringValue:
    value = _value(node, resolve)
    if not isinstance(value, ir.StringValue):
        raise FilterError(f"{node.sql()!r} is not text")
    return value


def _negated(node: exp.Expr, value: ir.BooleanValue) -> ir.BooleanValue:
    return ~value if node.args.get("negate") else value


def _is(node: exp.Is, resolve: Resolver) -> ir.BooleanValue:
    subject = _value(node.this, resolve)
    target = node.expression
    if isinstance(target, exp.Null):
        return subject.isnull()
    if isinstance(target, exp.Boolean) and isinstance(subject, ir.BooleanValue):
        # IS TRUE / IS FALSE are never null: a null subject is neither.
        return subject.notnull() & (subject == bool(target.this))
    raise FilterError(f"IS takes NULL, TRUE or FALSE: {node.sql()!r}")


def _like(node: exp.Like | exp.ILike, resolve: Resolver) -> ir.BooleanValue:
    subject = _string(node.this, resolve)
    pattern = node.expression
    if not (isinstance(pattern, exp.Literal) and pattern.is_string):
        raise FilterError(f"LIKE takes a 'pattern' in quotes: {node.sql()!r}")
    matched = subject.ilike(pattern.this) if isinstance(node, exp.ILike) else subject.like(pattern.this)
    return _negated(node, matched)
