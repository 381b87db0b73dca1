"""The plan filter language: a SQL-like boolean expression parsed by SQLGlot, checked against a whitelist.

Nothing is ever evaluated here. An expression is parsed into a SQLGlot tree, every node must be of an
allowed kind (comparisons, AND/OR/NOT, IN, BETWEEN, IS NULL, LIKE, literals, a few functions) and every
column must be in the field catalogue of the measure's source (`domain.plans.fields`). Column names are
rewritten to their qualified form (`kind` → `transaction.kind`), so the engine translates one shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from openspm.domain.canonical import Kind
from openspm.domain.plans.fields import field_catalogue, resolve_field
from openspm.domain.plans.model import MeasureSource

_PREDICATES: tuple[type[exp.Expr], ...] = (
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.And,
    exp.Or,
    exp.Not,
    exp.Paren,
    exp.In,
    exp.Between,
    exp.Is,
    exp.Like,
    exp.ILike,
    exp.Boolean,
    exp.Column,  # a boolean field on its own (`opportunity.is_won`)
)
_VALUES: tuple[type[exp.Expr], ...] = (
    exp.Literal,
    exp.Null,
    exp.Neg,
    exp.Identifier,
    exp.Lower,
    exp.Upper,
    exp.Coalesce,
    exp.Cast,
    exp.DataType,
)
ALLOWED: tuple[type[exp.Expr], ...] = _PREDICATES + _VALUES
FUNCTIONS = ("LOWER", "UPPER", "COALESCE")
_CASTS = frozenset({exp.DataType.Type.DATE})


@dataclass(frozen=True, slots=True)
class Filter:
    """A checked filter: its text, the SQLGlot tree with qualified column names, and the fields it reads."""

    text: str
    expression: exp.Expr
    fields: frozenset[str]


def parse_filter(text: str, source: MeasureSource) -> tuple[Filter | None, list[str]]:
    """Parse and check `text`; return the filter (None when there is any problem) and every problem."""
    try:
        statements = sqlglot.parse(text)
    except SqlglotError as exc:
        return None, [f"not a valid expression: {_first_line(exc)}"]
    if len(statements) != 1 or statements[0] is None:
        return None, ["must be a single expression (no ';')"]
    tree = statements[0]
    problems = _node_problems(tree)
    if not problems and not isinstance(tree, _PREDICATES):
        problems.append("must be a true/false condition (a comparison, IN, LIKE, …)")
    fields, field_problems = _qualify(tree, source)
    problems += field_problems
    if isinstance(tree, exp.Column) and fields and field_catalogue(source)[fields[0]] is not Kind.BOOLEAN:
        problems.append(f"{fields[0]} is not true/false: compare it (e.g. {fields[0]} = …)")
    if problems:
        return None, problems
    return Filter(text, tree, frozenset(fields)), []


def filter_problems(text: str, source: MeasureSource) -> list[str]:
    """The `ExpressionChecker` the plan validation uses: the problems of one filter expression."""
    return parse_filter(text, source)[1]


def _node_problems(tree: exp.Expr) -> list[str]:
    problems: list[str] = []
    for node in tree.walk():
        if isinstance(node, exp.Cast) and node.to.this not in _CASTS:
            problems.append("only DATE 'YYYY-MM-DD' casts are allowed")
        elif isinstance(node, ALLOWED):
            continue
        elif isinstance(node, exp.Query | exp.Subquery):
            problems.append("subqueries are not allowed")
        elif isinstance(node, exp.Func):
            name = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
            problems.append(f"function {name}() is not allowed (allowed: {', '.join(FUNCTIONS)})")
        else:
            problems.append(f"{node.key.upper()} is not allowed in a filter")
    return list(dict.fromkeys(problems))


def _qualify(tree: exp.Expr, source: MeasureSource) -> tuple[list[str], list[str]]:
    fields: list[str] = []
    problems: list[str] = []
    for column in list(tree.find_all(exp.Column)):
        if column.args.get("db") or column.args.get("catalog"):
            problems.append(f"unknown field {column.sql()!r}: write table.field")
            continue
        written = f"{column.table}.{column.name}" if column.table else column.name
        qualified = resolve_field(written, source) if column.name else None
        if qualified is None:
            hint = " — text values take 'single quotes'" if column.this.quoted else ""
            problems.append(f"unknown field {written!r}{hint} (known: {_known(source)})")
            continue
        table, name = qualified.split(".", 1)
        column.set("table", exp.to_identifier(table))
        column.set("this", exp.to_identifier(name))
        fields.append(qualified)
    return fields, list(dict.fromkeys(problems))


def _known(source: MeasureSource) -> str:
    return ", ".join(field_catalogue(source))


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else "malformed"
    return re.sub(r" for <class [^>]*>", "", text)
