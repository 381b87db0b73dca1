"""The canonical import format (DESIGN.md §8): one CSV file per entity, declared once here.

Import, export, mappings, the demo generator and the docs all read this catalogue, so a column is
added in one place. The order of `ENTITIES` is the order in which files are loaded (parents first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    """How a cell is parsed and stored."""

    TEXT = "text"
    DATE = "date"  # YYYY-MM-DD
    TIMESTAMP = "timestamp"  # ISO 8601; with an offset it is converted to UTC
    MONEY = "money"  # plain decimal, at most 4 decimals, kept exactly
    DECIMAL = "decimal"  # plain decimal (percentages, probabilities, rates), kept exactly
    NUMBER = "number"  # a measurement where float is right (latitude, longitude)
    INTEGER = "integer"
    BOOLEAN = "boolean"  # true/false, 1/0, yes/no


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind = Kind.TEXT
    required: bool = False
    references: str | None = None  # entity whose key this column names
    choices: tuple[str, ...] | None = None
    min_value: str | None = None  # inclusive lower bound for numbers ("0" = non-negative)
    max_value: str | None = None
    default: str | None = None  # value used when the cell is empty
    doc: str = ""


@dataclass(frozen=True, slots=True)
class Entity:
    name: str  # also the file stem and the table name
    key: tuple[str, ...]  # columns that identify a row: re-importing the same key updates it
    columns: tuple[Column, ...]
    doc: str = ""
    parent_column: str | None = None  # self-reference forming a tree (loaded parents first)

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


def _c(name: str, kind: Kind = Kind.TEXT, **kw: object) -> Column:
    return Column(name, kind, **kw)  # type: ignore[arg-type]


SUBJECT_KINDS = ("person", "org_unit")
TRANSACTION_KINDS = ("booking", "renewal", "cancellation", "invoice")
SPLIT_KINDS = ("revenue", "overlay")
ROLES_DOC = "ae, sdr, se, manager, director, vp, … (free text; plans and scorecards refer to it)"

ENTITIES: tuple[Entity, ...] = (
    Entity(
        "org_units",
        ("org_unit_id",),
        (
            _c("org_unit_id", required=True),
            _c("name", required=True),
            _c("kind", required=True, doc="company, region, team, …"),
            _c("parent_id", references="org_units"),
        ),
        doc="The organisation tree.",
        parent_column="parent_id",
    ),
    Entity(
        "people",
        ("person_id",),
        (
            _c("person_id", required=True),
            _c("name", required=True),
            _c("email"),
            _c("hire_date", Kind.DATE),
            _c("termination_date", Kind.DATE),
            _c("employee_number"),
        ),
        doc="Everyone who sells, manages or is paid.",
    ),
    Entity(
        "assignments",
        ("person_id", "role", "start_date"),
        (
            _c("person_id", required=True, references="people"),
            _c("role", required=True, doc=ROLES_DOC),
            _c("org_unit_id", required=True, references="org_units"),
            _c("manager_id", references="people"),
            _c("start_date", Kind.DATE, required=True),
            _c("end_date", Kind.DATE, doc="exclusive: the first day the assignment no longer holds"),
        ),
        doc="A person's role, org unit and manager over `[start_date, end_date)`.",
    ),
    Entity(
        "territories",
        ("territory_id",),
        (
            _c("territory_id", required=True),
            _c("name", required=True),
            _c("parent_id", references="territories"),
            _c("owner_id", references="people"),
        ),
        doc="The territory tree and who owns each territory.",
        parent_column="parent_id",
    ),
    Entity(
        "accounts",
        ("account_id",),
        (
            _c("account_id", required=True),
            _c("name", required=True),
            _c("industry"),
            _c("segment"),
            _c("country"),
            _c("lat", Kind.NUMBER, min_value="-90", max_value="90"),
            _c("lon", Kind.NUMBER, min_value="-180", max_value="180"),
            _c("potential", Kind.MONEY, min_value="0"),
            _c("owner_id", references="people"),
        ),
        doc="Customers and prospects.",
    ),
    Entity(
        "products",
        ("product_id",),
        (
            _c("product_id", required=True),
            _c("name", required=True),
            _c("family"),
            _c("list_price", Kind.MONEY, min_value="0"),
        ),
        doc="What is sold.",
    ),
    Entity(
        "opportunities",
        ("opportunity_id",),
        (
            _c("opportunity_id", required=True),
            _c("account_id", required=True, references="accounts"),
            _c("owner_id", required=True, references="people"),
            _c("name"),
            _c("amount", Kind.MONEY, required=True, min_value="0"),
            _c("currency", default="USD"),
            _c("stage", required=True),
            _c("created_date", Kind.DATE, required=True),
            _c("close_date", Kind.DATE, doc="expected close date while open; actual once closed"),
            _c("is_closed", Kind.BOOLEAN, required=True),
            _c("is_won", Kind.BOOLEAN, required=True),
            _c("product_id", references="products"),
            _c("next_step"),
            _c("next_step_date", Kind.DATE),
            _c("forecast_category"),
        ),
        doc="Deals: their current state.",
    ),
    Entity(
        "opportunity_history",
        ("opportunity_id", "changed_at"),
        (
            _c("opportunity_id", required=True, references="opportunities"),
            _c("changed_at", Kind.TIMESTAMP, required=True),
            _c("stage", required=True),
            _c("amount", Kind.MONEY, min_value="0"),
            _c("close_date", Kind.DATE),
            _c("forecast_category"),
            _c("probability", Kind.DECIMAL, min_value="0", max_value="100"),
        ),
        doc="The deal's state after each change (a CRM field-history export).",
    ),
    Entity(
        "opportunity_splits",
        ("opportunity_id", "person_id", "kind"),
        (
            _c("opportunity_id", required=True, references="opportunities"),
            _c("person_id", required=True, references="people"),
            _c("percent", Kind.DECIMAL, required=True, min_value="0", max_value="100"),
            _c(
                "kind",
                choices=SPLIT_KINDS,
                default="revenue",
                doc="revenue (must total 100 per deal) or overlay (deal team, e.g. a solutions engineer)",
            ),
        ),
        doc="Revenue splits and the deal team.",
    ),
    Entity(
        "activities",
        ("activity_id",),
        (
            _c("activity_id", required=True),
            _c("person_id", required=True, references="people"),
            _c("type", required=True, doc="call, email, meeting, demo, …"),
            _c("occurred_at", Kind.TIMESTAMP, required=True),
            _c("duration_minutes", Kind.DECIMAL, min_value="0"),
            _c("account_id", references="accounts"),
            _c("opportunity_id", references="opportunities"),
            _c("outcome"),
            _c("subject"),
        ),
        doc="Calls, emails, meetings, demos…",
    ),
    Entity(
        "transactions",
        ("transaction_id",),
        (
            _c("transaction_id", required=True),
            _c("kind", required=True, choices=TRANSACTION_KINDS),
            _c("date", Kind.DATE, required=True),
            _c("amount", Kind.MONEY, required=True, doc="negative only for a cancellation"),
            _c("currency", default="USD"),
            _c("opportunity_id", references="opportunities"),
            _c("account_id", references="accounts"),
            _c("product_id", references="products"),
            _c("owner_id", references="people"),
        ),
        doc="Bookings, renewals, cancellations and invoices: what compensation is paid on.",
    ),
    Entity(
        "quotas",
        ("subject_kind", "subject_id", "measure", "period"),
        (
            _c("subject_id", required=True),
            _c("subject_kind", required=True, choices=SUBJECT_KINDS),
            _c("measure", required=True, doc="e.g. bookings, new_logo_bookings, meetings"),
            _c("period", required=True, doc="a period label: 2025-03, 2025-Q1, FY2025"),
            _c("amount", Kind.MONEY, required=True, min_value="0"),
        ),
        doc="Targets per person or org unit, measure and period.",
    ),
    Entity(
        "fx_rates",
        ("currency", "date"),
        (
            _c("currency", required=True),
            _c("date", Kind.DATE, required=True),
            _c("rate", Kind.DECIMAL, required=True, min_value="0"),
        ),
        doc="Units of the company's base currency per unit of `currency`, effective from `date`.",
    ),
    Entity(
        "account_assignments",
        ("account_id", "start_date"),
        (
            _c("account_id", required=True, references="accounts"),
            _c("territory_id", required=True, references="territories"),
            _c("start_date", Kind.DATE, required=True),
            _c("end_date", Kind.DATE),
        ),
        doc="Which territory an account belongs to over `[start_date, end_date)`.",
    ),
)

ENTITY_BY_NAME: dict[str, Entity] = {e.name: e for e in ENTITIES}

TRUE_WORDS = frozenset({"true", "1", "yes", "y", "t"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "f"})


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input: where it is and why. Problems are values, not exceptions."""

    file: str
    row: int | None  # spreadsheet row: the header is row 1, the first data row is row 2
    column: str | None
    reason: str
    severity: str = field(default="error")  # error | warning

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.reason}"
