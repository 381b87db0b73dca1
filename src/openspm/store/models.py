"""The system of record: SQLAlchemy 2 models for the vocabulary of DESIGN.md §4.

Tables fed by the canonical import are named after their entity (`domain/canonical.py`) and keyed by
the same ids a CRM export uses, so an upsert needs no id translation. Columns not in the canonical
format are kept in `extra` (custom fields). Money columns use `Money` (exact, see `types.py`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from openspm.store.types import ExactDecimal, Money

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Id = String(64)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON}  # noqa: RUF012 - SQLAlchemy reads it from the class


class CustomFields:
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


# --- company, calendar, currencies ---------------------------------------------------------------
class Company(Base):
    """The one company this store holds: its name, base currency and fiscal calendar."""

    __tablename__ = "company"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    base_currency: Mapped[str] = mapped_column(String(3), default="USD")
    fiscal_year_start_month: Mapped[int] = mapped_column(Integer, default=1)


class Currency(Base):
    __tablename__ = "currencies"
    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    minor_units: Mapped[int] = mapped_column(Integer, default=2)


class FxRate(Base):
    __tablename__ = "fx_rates"
    __table_args__ = (UniqueConstraint("currency", "date"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    date: Mapped[date] = mapped_column(Date)
    rate: Mapped[Decimal] = mapped_column(ExactDecimal)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class Period(Base):
    """A fiscal period with a compensation status (`open → calculated → approved → locked`)."""

    __tablename__ = "periods"
    label: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="open")


# --- organisation ----------------------------------------------------------------------------
class OrgUnit(CustomFields, Base):
    __tablename__ = "org_units"
    org_unit_id: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    parent_id: Mapped[str | None] = mapped_column(Id, ForeignKey("org_units.org_unit_id"), index=True)


class Person(CustomFields, Base):
    __tablename__ = "people"
    person_id: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    hire_date: Mapped[date | None] = mapped_column(Date)
    termination_date: Mapped[date | None] = mapped_column(Date)
    employee_number: Mapped[str | None] = mapped_column(String(64))


class Assignment(CustomFields, Base):
    """A person's role, org unit and manager over `[start_date, end_date)`."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("person_id", "role", "start_date"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(Id, ForeignKey("people.person_id"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    org_unit_id: Mapped[str] = mapped_column(Id, ForeignKey("org_units.org_unit_id"), index=True)
    manager_id: Mapped[str | None] = mapped_column(Id, ForeignKey("people.person_id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)


# --- territories -----------------------------------------------------------------------------
class Territory(CustomFields, Base):
    __tablename__ = "territories"
    territory_id: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[str | None] = mapped_column(Id, ForeignKey("territories.territory_id"), index=True)
    owner_id: Mapped[str | None] = mapped_column(Id, ForeignKey("people.person_id"), index=True)


class AccountAssignment(CustomFields, Base):
    """Which territory an account belongs to over `[start_date, end_date)`."""

    __tablename__ = "account_assignments"
    __table_args__ = (UniqueConstraint("account_id", "start_date"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.account_id"))
    territory_id: Mapped[str] = mapped_column(Id, ForeignKey("territories.territory_id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)


# --- customers and products --------------------------------------------------------------------
class Account(CustomFields, Base):
    __tablename__ = "accounts"
    account_id: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    industry: Mapped[str | None] = mapped_column(String(100))
    segment: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(100))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    potential: Mapped[Decimal | None] = mapped_column(Money)
    owner_id: Mapped[str | None] = mapped_column(Id, ForeignKey("people.person_id"), index=True)


class Product(CustomFields, Base):
    __tablename__ = "products"
    product_id: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    family: Mapped[str | None] = mapped_column(String(100))
    list_price: Mapped[Decimal | None] = mapped_column(Money)


# --- deals -------------------------------------------------------------------------------------
class Opportunity(CustomFields, Base):
    __tablename__ = "opportunities"
    opportunity_id: Mapped[str] = mapped_column(Id, primary_key=True)
    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.account_id"), index=True)
    owner_id: Mapped[str] = mapped_column(Id, ForeignKey("people.person_id"), index=True)
    name: Mapped[str | None] = mapped_column(String(300))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    stage: Mapped[str] = mapped_column(String(60))
    created_date: Mapped[date] = mapped_column(Date)
    close_date: Mapped[date | None] = mapped_column(Date, index=True)
    is_closed: Mapped[bool] = mapped_column(Boolean)
    is_won: Mapped[bool] = mapped_column(Boolean)
    product_id: Mapped[str | None] = mapped_column(Id, ForeignKey("products.product_id"))
    next_step: Mapped[str | None] = mapped_column(Text)
    next_step_date: Mapped[date | None] = mapped_column(Date)
    forecast_category: Mapped[str | None] = mapped_column(String(40))


class OpportunityHistory(CustomFields, Base):
    """The deal's state after each change."""

    __tablename__ = "opportunity_history"
    __table_args__ = (UniqueConstraint("opportunity_id", "changed_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    opportunity_id: Mapped[str] = mapped_column(Id, ForeignKey("opportunities.opportunity_id"))
    changed_at: Mapped[datetime] = mapped_column(DateTime)
    stage: Mapped[str] = mapped_column(String(60))
    amount: Mapped[Decimal | None] = mapped_column(Money)
    close_date: Mapped[date | None] = mapped_column(Date)
    forecast_category: Mapped[str | None] = mapped_column(String(40))
    probability: Mapped[Decimal | None] = mapped_column(ExactDecimal)


class OpportunitySplit(CustomFields, Base):
    """A revenue split (totals 100 per deal) or an overlay credit (the deal team)."""

    __tablename__ = "opportunity_splits"
    __table_args__ = (UniqueConstraint("opportunity_id", "person_id", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    opportunity_id: Mapped[str] = mapped_column(Id, ForeignKey("opportunities.opportunity_id"))
    person_id: Mapped[str] = mapped_column(Id, ForeignKey("people.person_id"), index=True)
    percent: Mapped[Decimal] = mapped_column(ExactDecimal)
    kind: Mapped[str] = mapped_column(String(20), default="revenue")


class Activity(CustomFields, Base):
    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_person_occurred", "person_id", "occurred_at"),)
    activity_id: Mapped[str] = mapped_column(Id, primary_key=True)
    person_id: Mapped[str] = mapped_column(Id, ForeignKey("people.person_id"))
    type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    duration_minutes: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    account_id: Mapped[str | None] = mapped_column(Id, ForeignKey("accounts.account_id"))
    opportunity_id: Mapped[str | None] = mapped_column(
        Id, ForeignKey("opportunities.opportunity_id"), index=True
    )
    outcome: Mapped[str | None] = mapped_column(String(100))
    subject: Mapped[str | None] = mapped_column(Text)


class Transaction(CustomFields, Base):
    """A booking, renewal, cancellation or invoice line: what compensation is paid on."""

    __tablename__ = "transactions"
    transaction_id: Mapped[str] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    date: Mapped[date] = mapped_column(Date, index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    opportunity_id: Mapped[str | None] = mapped_column(
        Id, ForeignKey("opportunities.opportunity_id"), index=True
    )
    account_id: Mapped[str | None] = mapped_column(Id, ForeignKey("accounts.account_id"))
    product_id: Mapped[str | None] = mapped_column(Id, ForeignKey("products.product_id"))
    owner_id: Mapped[str | None] = mapped_column(Id, ForeignKey("people.person_id"), index=True)


class Quota(CustomFields, Base):
    """A target for a person or org unit, measure and period; `version` grows with each publish."""

    __tablename__ = "quotas"
    __table_args__ = (UniqueConstraint("subject_kind", "subject_id", "measure", "period", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[str] = mapped_column(Id, index=True)
    subject_kind: Mapped[str] = mapped_column(String(20))
    measure: Mapped[str] = mapped_column(String(60))
    period: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Money)
    version: Mapped[int] = mapped_column(Integer, default=1)


# --- provenance ----------------------------------------------------------------------------------
class ImportBatch(Base):
    """One run of `spm import` (or the demo loader): what it read and what it changed."""

    __tablename__ = "imports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(Text)
    mapping: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)


class ChangeRecord(Base):
    """Change history: one field of one row changed by an import (before → after)."""

    __tablename__ = "change_log"
    __table_args__ = (Index("ix_change_log_entity_key", "entity", "row_key"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    import_id: Mapped[int] = mapped_column(Integer, ForeignKey("imports.id"), index=True)
    entity: Mapped[str] = mapped_column(String(40))
    row_key: Mapped[str] = mapped_column(String(300))
    field: Mapped[str] = mapped_column(String(100))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)


class AuditEvent(Base):
    """An append-only, hash-chained record of one mutation: who, when, what, before and after."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60), index=True)
    entity: Mapped[str] = mapped_column(String(60))
    entity_key: Mapped[str | None] = mapped_column(String(300))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


#: The model behind each canonical entity.
ENTITY_MODELS: dict[str, type[Base]] = {
    "org_units": OrgUnit,
    "people": Person,
    "assignments": Assignment,
    "territories": Territory,
    "accounts": Account,
    "products": Product,
    "opportunities": Opportunity,
    "opportunity_history": OpportunityHistory,
    "opportunity_splits": OpportunitySplit,
    "activities": Activity,
    "transactions": Transaction,
    "quotas": Quota,
    "fx_rates": FxRate,
    "account_assignments": AccountAssignment,
}


# --- access ----------------------------------------------------------------------------------------
class User(Base):
    """Someone who signs in. `person_id` links a rep or manager to their people-data."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    person_id: Mapped[str | None] = mapped_column(Id, ForeignKey("people.person_id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    password_changed_at: Mapped[datetime] = mapped_column(DateTime)


class UserRole(Base):
    __tablename__ = "user_roles"
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class ApiToken(Base):
    """A personal API token: only its SHA-256 is stored; `prefix` lets the owner recognise it."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class WebSession(Base):
    """A signed-in browser: the cookie holds a random secret, the store only its SHA-256."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class ReportingLine(Base):
    """Derived from assignments: `person_id` is in `ancestor_id`'s subtree during `[start_date, end_date)`.

    Rebuilt in the same transaction whenever assignments change; row scopes join against it.
    """

    __tablename__ = "reporting_lines"
    __table_args__ = (Index("ix_reporting_lines_ancestor_person", "ancestor_id", "person_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ancestor_id: Mapped[str] = mapped_column(Id)
    person_id: Mapped[str] = mapped_column(Id, index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)


# --- compensation plans ----------------------------------------------------------------------------
class PlanVersion(Base):
    """One published version of a plan, kept with its YAML source exactly as it was published."""

    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("name", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    source: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of the source
    published_at: Mapped[datetime] = mapped_column(DateTime)
    published_by: Mapped[str] = mapped_column(String(200))


#: A plan assignment's own draw is given whole or not at all, with a known kind.
DRAW_WHOLE = (
    "(draw_kind IS NULL AND draw_amount IS NULL AND draw_periods IS NULL) OR "
    "(draw_amount IS NOT NULL AND draw_periods IS NOT NULL "
    "AND draw_kind IN ('recoverable', 'non_recoverable') AND draw_amount >= 0 AND draw_periods >= 1)"
)


class PlanAssignmentRow(Base):
    """A person on a plan version over `[start_date, end_date)`, with their target incentive (and a draw
    of their own, if they have one)."""

    __tablename__ = "plan_assignments"
    __table_args__ = (
        Index("ix_plan_assignments_person_start", "person_id", "start_date"),
        CheckConstraint(DRAW_WHOLE, name="draw_whole"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(Id, ForeignKey("people.person_id"))
    plan_version_id: Mapped[int] = mapped_column(Integer, ForeignKey("plan_versions.id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    target_incentive: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    # A draw for this person that replaces the plan's (all three or none): recoverable or non_recoverable,
    # the amount per pay period in the plan currency, and for how many pay periods from the start.
    draw_kind: Mapped[str | None] = mapped_column(String(20))
    draw_amount: Mapped[Decimal | None] = mapped_column(Money)
    draw_periods: Mapped[int | None] = mapped_column(Integer)


# --- calculation runs and payout lines ---------------------------------------------------------------
class CalcRun(Base):
    """One calculation of one period: who ran it, when, and the fingerprints of its inputs and outputs.

    Append-only: a newer run of the same period supersedes an earlier one for the payees it computed
    (`CalcRunPayee`); nothing here is ever updated or deleted.
    """

    __tablename__ = "calc_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(16), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime] = mapped_column(DateTime)
    by: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default="completed")
    inputs_fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of the sorted input tables
    plans_fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of the plan versions' sources
    outputs_fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of the sorted payout lines
    payees: Mapped[int] = mapped_column(Integer)
    lines: Mapped[int] = mapped_column(Integer)
    options: Mapped[dict[str, Any]] = mapped_column(JSON)


class CalcRunPayee(Base):
    """A person a run computed: the run's lines for them supersede earlier runs' lines of the same period.

    A payee with no lines (everything they earned was reversed) still supersedes what was recorded before.
    """

    __tablename__ = "calc_run_payees"
    __table_args__ = (Index("ix_calc_run_payees_period_person", "period", "person_id", "run_id"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    run_id: Mapped[int] = mapped_column(Integer, ForeignKey("calc_runs.id"))
    period: Mapped[str] = mapped_column(String(16))  # the run's period
    person_id: Mapped[str] = mapped_column(Id)


class PayoutLineRow(Base):
    """What one person is paid (or owes) for one component in one pay period: an append-only fact.

    `explanation` is the line's JSON explanation (measure, quota, attainment, tiers, rates, cap and the
    credits down to their source ids). A `delta` line corrects an approved or locked `corrects_period`
    from inside the open period it is recorded in.
    """

    __tablename__ = "payout_lines"
    __table_args__ = (Index("ix_payout_lines_run_person", "run_id", "person_id"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    run_id: Mapped[int] = mapped_column(Integer, ForeignKey("calc_runs.id"))
    person_id: Mapped[str] = mapped_column(Id)
    period: Mapped[str] = mapped_column(String(16), index=True)
    plan: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    component: Mapped[str] = mapped_column(String(100))
    line_kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    corrects_period: Mapped[str | None] = mapped_column(String(16))
    explanation: Mapped[str] = mapped_column(Text)
