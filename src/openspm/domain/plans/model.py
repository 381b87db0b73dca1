"""The plan document: frozen pydantic models whose JSON Schema is the published plan format (docs/plans.md).

Units, once: percentages (split shares, attainment, tier boundaries on attainment, `percent_of_credit`
rates, override rates) are written on a 0–100 scale (`8` = 8 %); money is in the plan's currency; every
number is a `Decimal`. Cross-field rules (tiers contiguous, references exist, names unique) live in
`validation.py`, so that a document with many problems reports all of them at once.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Percent = Annotated[Decimal, Field(ge=0, le=100)]
NonNegative = Annotated[Decimal, Field(ge=0)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Expression = Annotated[str, Field(min_length=1, max_length=2000)]


class Frozen(BaseModel):
    """Base of every plan model: immutable, unknown keys refused (a typo is a problem, not a no-op)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


# --- enumerations -----------------------------------------------------------------------------------


class PeriodType(StrEnum):
    """The period over which measures, quotas and attainment are computed."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    ANNUAL = "annual"


class Advances(StrEnum):
    """Advance payments inside the plan period, trued up at its end (annual: year-to-date attainment)."""

    NONE = "none"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


class OwnerSource(StrEnum):
    OPPORTUNITY = "opportunity"  # opportunities.owner_id of the transaction's deal
    TRANSACTION = "transaction"  # transactions.owner_id


class SplitKind(StrEnum):
    REVENUE = "revenue"
    OVERLAY = "overlay"


class Aggregate(StrEnum):
    SUM = "sum"
    COUNT = "count"


class MeasureSource(StrEnum):
    """What a measure aggregates: credits (transactions credited to a person), activities, or deals."""

    CREDITS = "credits"
    ACTIVITIES = "activities"  # attributed to activities.person_id
    OPPORTUNITIES = "opportunities"  # credited by the plan's rules as of the deal's created_date


class TierMethod(StrEnum):
    MARGINAL = "marginal"  # each slice at its own tier's rate
    RETROACTIVE = "retroactive"  # the whole amount at the rate of the tier reached
    INTERPOLATED = "interpolated"  # the rate interpolated linearly between tier boundaries


class TierBasis(StrEnum):
    PER_TRANSACTION = "per_transaction"  # each credit placed on the table against the running total
    CUMULATIVE = "cumulative"  # the period's total placed on the table once


class TierAxis(StrEnum):
    """What tier boundaries are written in."""

    ATTAINMENT = "attainment"  # percent of quota
    AMOUNT = "amount"  # measure value (money or count)


class Boundary(StrEnum):
    """Which tier owns a value equal to a boundary: `upper` = the higher tier (default)."""

    UPPER = "upper"
    LOWER = "lower"


class RateUnit(StrEnum):
    PERCENT_OF_CREDIT = "percent_of_credit"  # 8 → 8 % of the measure amount in the tier
    MULTIPLE_OF_TARGET_INCENTIVE_PER_POINT = "multiple_of_target_incentive_per_point"  # × TI per point


class OverrideBasis(StrEnum):
    EARNINGS = "earnings"  # a share of what the team members earned
    CREDITS = "credits"  # a share of what the team members were credited


class DrawKind(StrEnum):
    RECOVERABLE = "recoverable"  # recovered from later earnings, balance carried forward
    NON_RECOVERABLE = "non_recoverable"  # a guarantee: tops earnings up, never recovered


class ProrationBasis(StrEnum):
    CALENDAR_DAYS = "calendar_days"
    NONE = "none"


class FxRateDate(StrEnum):
    TRANSACTION_DATE = "transaction_date"
    PERIOD_END = "period_end"


# --- period, crediting, measures --------------------------------------------------------------------


class PeriodPolicy(Frozen):
    type: PeriodType = Field(description="Period of quota and attainment: monthly, quarterly or annual.")
    advances: Advances = Field(
        Advances.NONE, description="Pay advances at a finer grain, trued up at the end of the period."
    )
    advance_percent: Percent = Field(
        Decimal(100), description="Share of the earnings computed so far that an advance pays."
    )


class DirectRule(Frozen):
    kind: Literal["direct"]
    name: Name
    owner: OwnerSource = Field(OwnerSource.OPPORTUNITY, description="Whose ownership earns the credit.")
    percent: Percent = Field(Decimal(100), description="Share of the amount credited.")
    filter: Expression | None = Field(None, description="Only transactions matching this expression.")


class SplitRule(Frozen):
    kind: Literal["split"]
    name: Name
    split_kind: SplitKind = Field(SplitKind.REVENUE, description="Which opportunity_splits rows to use.")
    allow_over_crediting: bool = Field(
        False, description="Allow a deal's splits to total more than 100 % (overlay over-crediting)."
    )
    filter: Expression | None = None


class TerritoryRule(Frozen):
    kind: Literal["territory"]
    name: Name
    percent: Percent = Decimal(100)
    filter: Expression | None = None


class OverlayRule(Frozen):
    kind: Literal["overlay"]
    name: Name
    roles: tuple[Annotated[str, Field(min_length=1)], ...] = Field(
        min_length=1, description="Roles credited on deals they are attached to (deal-team splits)."
    )
    percent: Percent = Decimal(100)
    filter: Expression | None = None


class RollupRule(Frozen):
    kind: Literal["rollup"]
    name: Name
    levels: int | None = Field(
        None, ge=1, description="How many management levels up (none = the whole chain)."
    )
    from_roles: tuple[str, ...] = Field((), description="Only credits of people in these roles roll up.")
    percent: Percent = Decimal(100)
    filter: Expression | None = None


CreditRule = Annotated[
    DirectRule | SplitRule | TerritoryRule | OverlayRule | RollupRule, Field(discriminator="kind")
]


class Measure(Frozen):
    name: Name
    aggregate: Aggregate = Field(description="sum of `field`, or count of matching rows.")
    source: MeasureSource = MeasureSource.CREDITS
    field: str = Field("amount", description="Field summed (for aggregate sum).")
    filter: Expression | None = Field(None, description="Boolean expression over the source's fields.")
    quota: Name | None = Field(None, description="Quota measure name in quotas.csv that attainment uses.")
    description: str = ""


# --- components -------------------------------------------------------------------------------------


class Tier(Frozen):
    from_: NonNegative = Field(alias="from", description="Lower boundary of the tier.")
    to: NonNegative | None = Field(None, description="Upper boundary; none = unbounded (last tier).")
    rate: NonNegative


class Cap(Frozen):
    amount: NonNegative | None = Field(None, description="Most that can be paid, in the plan currency.")
    multiple_of_target_incentive: NonNegative | None = Field(None, description="Most, as × target incentive.")

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.amount is None) == (self.multiple_of_target_incentive is None):
            raise ValueError("give exactly one of amount, multiple_of_target_incentive")
        return self


class Gate(Frozen):
    measure: Name | None = Field(None, description="Measure whose attainment opens the gate (default: own).")
    min_attainment: NonNegative = Field(description="Nothing is paid below this attainment (percent).")


class Commission(Frozen):
    kind: Literal["commission"]
    name: Name
    measure: Name
    weight: Percent | None = Field(None, description="Share of the target incentive this component carries.")
    tiers_on: TierAxis = TierAxis.ATTAINMENT
    tier_method: TierMethod = TierMethod.MARGINAL
    tier_basis: TierBasis = TierBasis.CUMULATIVE
    boundary: Boundary = Boundary.UPPER
    rate_unit: RateUnit = RateUnit.PERCENT_OF_CREDIT
    tiers: tuple[Tier, ...] = Field(min_length=1)
    gates: tuple[Gate, ...] = ()
    cap: Cap | None = None


class Spif(Frozen):
    kind: Literal["spif"]
    name: Name
    measure: Name = Field(description="A count measure of qualifying transactions.")
    amount: NonNegative = Field(description="Paid per qualifying transaction, in the plan currency.")
    gates: tuple[Gate, ...] = ()
    cap: Cap | None = None


class Milestone(Frozen):
    attainment: NonNegative = Field(description="Attainment (percent) at which the bonus is earned.")
    amount: NonNegative | None = None
    multiple_of_target_incentive: NonNegative | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.amount is None) == (self.multiple_of_target_incentive is None):
            raise ValueError("give exactly one of amount, multiple_of_target_incentive")
        return self


class Bonus(Frozen):
    kind: Literal["bonus"]
    name: Name
    measure: Name
    milestones: tuple[Milestone, ...] = Field(min_length=1)
    gates: tuple[Gate, ...] = ()
    cap: Cap | None = None


class Override(Frozen):
    kind: Literal["override"]
    name: Name
    basis: OverrideBasis = OverrideBasis.EARNINGS
    rate: Percent = Field(description="Percent of the team's earnings (or credits) paid to the manager.")
    levels: int = Field(1, ge=1, description="Management levels below the manager that count.")
    components: tuple[Name, ...] = Field((), description="Team components that count (none = all).")
    gates: tuple[Gate, ...] = ()
    cap: Cap | None = None


Component = Annotated[Commission | Spif | Bonus | Override, Field(discriminator="kind")]


# --- plan-level policies ----------------------------------------------------------------------------


class Draw(Frozen):
    kind: DrawKind
    amount: NonNegative = Field(description="Guaranteed per pay period, in the plan currency.")
    periods: int = Field(ge=1, description="Number of pay periods the draw runs, from the assignment start.")


class Clawback(Frozen):
    window_days: int = Field(ge=0, description="A cancellation within this many days of booking claws back.")
    carry_forward: bool = Field(True, description="Carry a clawback larger than the period's earnings.")


class Proration(Frozen):
    basis: ProrationBasis = ProrationBasis.CALENDAR_DAYS
    target_incentive: bool = Field(True, description="Prorate the target incentive for partial periods.")
    quota: bool = Field(True, description="Prorate the quota for partial periods.")


class Fx(Frozen):
    rate_date: FxRateDate = Field(
        FxRateDate.TRANSACTION_DATE, description="Which day's fx_rates row converts a transaction."
    )


class Plan(Frozen):
    name: Name
    version: int = Field(ge=1)
    effective_from: date
    effective_to: date | None = Field(None, description="Exclusive; none = open-ended.")
    currency: Currency
    description: str = ""
    roles: tuple[str, ...] = Field((), description="Roles this plan is meant for (informative).")
    period: PeriodPolicy
    crediting: tuple[CreditRule, ...] = Field(min_length=1)
    measures: tuple[Measure, ...] = Field(min_length=1)
    components: tuple[Component, ...] = Field(min_length=1)
    cap: Cap | None = Field(None, description="Plan-level cap over all components.")
    draw: Draw | None = None
    clawback: Clawback | None = None
    proration: Proration = Proration()
    fx: Fx = Fx()


class PlanAssignment(Frozen):
    """A person on a plan version over `[start, end)` with a target incentive (variable pay at 100 %)."""

    person_id: str = Field(min_length=1)
    plan: Name
    version: int = Field(ge=1)
    start: date
    end: date | None = None
    target_incentive: NonNegative
    currency: Currency
    draw: Draw | None = Field(None, description="Overrides the plan's draw for this person.")
