"""The fields a plan's filter expressions may name, per measure source, derived from the canonical format."""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from openspm.domain.canonical import ENTITY_BY_NAME, Kind
from openspm.domain.plans.model import MeasureSource

#: Fields of a credit itself (what the crediting step produces), beside those of the credited records.
CREDIT_FIELDS: Final = MappingProxyType(
    {"person_id": Kind.TEXT, "rule": Kind.TEXT, "percent": Kind.DECIMAL, "amount": Kind.MONEY}
)

# alias used in expressions → canonical entity
_TABLES: Final = {
    "transaction": "transactions",
    "opportunity": "opportunities",
    "product": "products",
    "account": "accounts",
    "activity": "activities",
}

_VISIBLE: Final = {
    MeasureSource.CREDITS: ("credit", "transaction", "opportunity", "product", "account"),
    MeasureSource.OPPORTUNITIES: ("opportunity", "product", "account"),
    MeasureSource.ACTIVITIES: ("activity", "opportunity", "account"),
}


def _table_fields(alias: str) -> dict[str, Kind]:
    if alias == "credit":
        return dict(CREDIT_FIELDS)
    return {c.name: c.kind for c in ENTITY_BY_NAME[_TABLES[alias]].columns}


def field_catalogue(source: MeasureSource) -> dict[str, Kind]:
    """Qualified field names (`transaction.amount`) visible to a filter over `source`, with their kinds."""
    return {
        f"{alias}.{name}": kind for alias in _VISIBLE[source] for name, kind in _table_fields(alias).items()
    }


def resolve_field(name: str, source: MeasureSource) -> str | None:
    """Resolve `table.column`, or a bare column to the first visible table that has it; None if unknown.

    Precedence for bare names follows `visible_tables(source)`: over credits, `amount` is the credited
    amount (`credit.amount`) and `kind` is `transaction.kind`.
    """
    catalogue = field_catalogue(source)
    lowered = name.lower()
    if "." in lowered:
        return lowered if lowered in catalogue else None
    for alias in _VISIBLE[source]:
        if f"{alias}.{lowered}" in catalogue:
            return f"{alias}.{lowered}"
    return None


def visible_tables(source: MeasureSource) -> tuple[str, ...]:
    """Table aliases a filter over `source` may name, in the order bare column names are resolved."""
    return _VISIBLE[source]
