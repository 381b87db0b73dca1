"""Scorecards: per role, the few results a person is judged by and the behaviours driving them (DESIGN.md §1).

A `ScorecardSet` is the whole configuration (docs/scorecards.md): one `RoleScorecard` per role, each pairing
1–3 *results* (monitored) with 1–12 *behaviours* (managed; 8–12 is the usual size). Every item names a KPI
of the catalogue (`domain.kpis`), a target per period kind and a direction; every behaviour names the
results it drives. `validate_scorecards` returns every problem at once, each with its path in the document
(`scorecards[0].behaviours[3].kpi`); nothing here reads files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from openspm.domain.kpis import BY_NAME, Kpi, Unit
from openspm.domain.periods import Period, PeriodKind
from openspm.domain.problems import DocumentProblem, format_path

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]
MAX_RESULTS = 3
MAX_BEHAVIOURS = 12


class Direction(StrEnum):
    """Which side of the target is good: `higher` (at least the target) or `lower` (at most)."""

    HIGHER = "higher"
    LOWER = "lower"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Targets(_Frozen):
    """A target per period kind; a kind without a target shows the value without judging it.

    For counts and money the targets differ by kind (10 a week, 40 a month); for ratios they are usually
    the same, so a plain number in the YAML (`targets: 0.8`) sets every kind at once.
    """

    weekly: Decimal | None = None
    monthly: Decimal | None = None
    quarterly: Decimal | None = None
    yearly: Decimal | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_number_for_every_kind(cls, data: Any) -> Any:
        if isinstance(data, int | float | Decimal) and not isinstance(data, bool):
            return dict.fromkeys(("weekly", "monthly", "quarterly", "yearly"), data)
        return data

    def for_kind(self, kind: PeriodKind) -> Decimal | None:
        """The target for a period of `kind` (None when none is set)."""
        return {
            PeriodKind.WEEK: self.weekly,
            PeriodKind.MONTH: self.monthly,
            PeriodKind.QUARTER: self.quarterly,
            PeriodKind.YEAR: self.yearly,
        }[kind]


class Item(_Frozen):
    """One line of a scorecard: a KPI of the catalogue with its targets."""

    name: Name
    label: str | None = Field(default=None, max_length=120)
    kpi: str
    targets: Targets = Targets()
    direction: Direction | None = None  # default: the KPI's own (higher is better or not)
    description: str | None = Field(default=None, max_length=500)

    @field_validator("kpi")
    @classmethod
    def _known_kpi(cls, value: str) -> str:
        if value not in BY_NAME:
            raise ValueError(f"unknown KPI {value!r} (known: {', '.join(BY_NAME)})")
        return value

    @property
    def kpi_spec(self) -> Kpi:
        return BY_NAME[self.kpi]

    @property
    def title(self) -> str:
        return self.label or self.kpi_spec.label

    @property
    def good_direction(self) -> Direction:
        if self.direction is not None:
            return self.direction
        return Direction.HIGHER if self.kpi_spec.higher_is_better else Direction.LOWER


class Result(Item):
    """A result: lagging, monitored (it cannot be changed once it lands)."""


class Behaviour(Item):
    """A behaviour: leading, managed and coached; `drives` names the results of the same scorecard."""

    drives: tuple[Name, ...] = Field(min_length=1)


class RoleScorecard(_Frozen):
    role: Name
    label: str | None = Field(default=None, max_length=120)
    results: tuple[Result, ...] = Field(min_length=1, max_length=MAX_RESULTS)
    behaviours: tuple[Behaviour, ...] = Field(min_length=1, max_length=MAX_BEHAVIOURS)

    @model_validator(mode="after")
    def _names_unique_and_drives_known(self) -> RoleScorecard:
        names = [i.name for i in (*self.results, *self.behaviours)]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"item names must be unique within a scorecard: {', '.join(duplicates)}")
        results = {r.name for r in self.results}
        for index, behaviour in enumerate(self.behaviours):
            unknown = [d for d in behaviour.drives if d not in results]
            if unknown:
                raise _PathError(
                    ("behaviours", index, "drives"),
                    f"drives unknown result(s) {', '.join(unknown)} (results: {', '.join(sorted(results))})",
                )
        return self

    def item(self, name: str) -> Result | Behaviour:
        """The result or behaviour called `name` (KeyError if none)."""
        items: tuple[Result | Behaviour, ...] = (*self.results, *self.behaviours)
        for item in items:
            if item.name == name:
                return item
        raise KeyError(name)

    def drivers_of(self, result: str) -> tuple[Behaviour, ...]:
        """The behaviours that drive the result called `result`."""
        return tuple(b for b in self.behaviours if result in b.drives)


class ScorecardSet(_Frozen):
    """Every role's scorecard. `for_role` finds one; roles are unique.

    `team_role` names the scorecard a team (or region, or the company) is shown with: its items are
    computed over the whole unit.
    """

    version: Literal[1] = 1
    team_role: Name = "manager"
    scorecards: tuple[RoleScorecard, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _roles_unique(self) -> ScorecardSet:
        roles = [s.role for s in self.scorecards]
        for index, role in enumerate(roles):
            if role in roles[:index]:
                raise _PathError(("scorecards", index, "role"), f"role {role!r} has a scorecard already")
        if self.team_role not in roles:
            raise _PathError(
                ("team_role",), f"no scorecard for role {self.team_role!r} (roles: {', '.join(roles)})"
            )
        return self

    @property
    def team(self) -> RoleScorecard:
        """The scorecard of org units."""
        card = self.for_role(self.team_role)
        assert card is not None  # validated
        return card

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(s.role for s in self.scorecards)

    def for_role(self, role: str) -> RoleScorecard | None:
        return next((s for s in self.scorecards if s.role == role), None)

    @property
    def kpis(self) -> frozenset[str]:
        return frozenset(i.kpi for s in self.scorecards for i in (*s.results, *s.behaviours))


# --- judging a value against its target ---------------------------------------------------------------

#: KPIs counted at a moment (the period's snapshot day), not accumulated over it: never pro-rated.
SNAPSHOT_KPIS = frozenset({"open_pipeline", "stuck_deals"})
#: A subject needs attention when behind target on at least this share of its behaviours with a target…
ATTENTION_BEHIND_SHARE = 1 / 3
#: …or when at least this share of its activities is suspect (with at least `ATTENTION_MIN_ACTIVITIES`).
ATTENTION_SUSPECT_SHARE = 0.2
ATTENTION_MIN_ACTIVITIES = 20


class Status(StrEnum):
    ON_TRACK = "on_track"
    BEHIND = "behind"
    NO_TARGET = "no_target"  # shown without a judgement
    NO_DATA = "no_data"  # no value for the period (e.g. a win rate with no closed deals)


def elapsed_share(period: Period, as_of: date) -> float:
    """The share of `period` passed by the end of `as_of`: 0 before it starts, 1 once it is over."""
    if as_of < period.start:
        return 0.0
    if as_of >= period.end - timedelta(days=1):
        return 1.0
    return ((as_of - period.start).days + 1) / period.days


def accumulates(item: Item) -> bool:
    """Whether the item's KPI is a total that grows through the period (money and counts, not snapshots)."""
    return item.kpi_spec.unit in {Unit.MONEY, Unit.COUNT} and item.kpi not in SNAPSHOT_KPIS


@dataclass(frozen=True, slots=True)
class Judgement:
    target: Decimal | None  # the target for the period's kind
    expected: Decimal | None  # the target so far: pro-rated by the elapsed share for totals
    status: Status


def judge(item: Item, value: float | None, kind: PeriodKind, elapsed: float) -> Judgement:
    """`value` against the item's target for a period of `kind` of which `elapsed` has passed.

    Totals (money and counts that accumulate) are judged against the target pro-rated by the elapsed
    share — 10 meetings a quarter is 5 by mid-quarter; ratios, averages and snapshot counts against the
    target itself. On the target is on track: at least it when higher is better, at most it otherwise.
    """
    target = item.targets.for_kind(kind)
    if target is None:
        return Judgement(None, None, Status.NO_DATA if value is None else Status.NO_TARGET)
    expected = target * Decimal(str(elapsed)) if accumulates(item) else target
    if value is None:
        return Judgement(target, expected, Status.NO_DATA)
    higher = item.good_direction is Direction.HIGHER
    good = value >= float(expected) if higher else value <= float(expected)
    return Judgement(target, expected, Status.ON_TRACK if good else Status.BEHIND)


def attention_reasons(behind: Sequence[str], judged: int, suspect_share: float | None) -> list[str]:
    """Why a subject needs attention (empty: it does not), in plain words.

    `behind` are the labels of the behaviours behind target, `judged` how many behaviours had a target
    and a value; `suspect_share` the share of activities the Goodhart guard flags (None: too few).
    """
    reasons = []
    if judged and len(behind) / judged >= ATTENTION_BEHIND_SHARE:
        reasons.append(f"behind target on {len(behind)} of {judged} behaviours ({', '.join(behind)})")
    if suspect_share is not None and suspect_share >= ATTENTION_SUSPECT_SHARE:
        reasons.append(
            f"{suspect_share:.0%} of activities look suspect (empty calls, bursts, activities touching"
            " nothing)"
        )
    return reasons


def suspect_share(activities: float | None, quality: float | None) -> float | None:
    """1 − quality-adjusted ÷ raw activities; None with fewer than `ATTENTION_MIN_ACTIVITIES` activities."""
    if activities is None or quality is None or activities < ATTENTION_MIN_ACTIVITIES:
        return None
    return round(1 - quality / activities, 4)


# --- validation -------------------------------------------------------------------------------------


class _PathError(ValueError):
    """A cross-field problem that knows its path below the model that raised it."""

    def __init__(self, loc: tuple[str | int, ...], reason: str) -> None:
        super().__init__(reason)
        self.loc = loc
        self.reason = reason


#: One thing wrong with a scorecard file: the path in the document and why.
ScorecardProblem = DocumentProblem


@dataclass(frozen=True, slots=True)
class ScorecardValidation:
    scorecards: ScorecardSet | None
    problems: tuple[ScorecardProblem, ...]

    @property
    def ok(self) -> bool:
        return self.scorecards is not None and not self.problems


def _problem(error: Mapping[str, Any]) -> ScorecardProblem:
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and "[" in p))  # drop union tags
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, _PathError):
        return ScorecardProblem(format_path(loc + cause.loc), cause.reason)
    reason = str(error["msg"]).removeprefix("Value error, ")
    return ScorecardProblem(format_path(loc), reason)


def validate_scorecards(data: object) -> ScorecardValidation:
    """Validate a parsed scorecard document; every problem at once, each with its path."""
    try:
        return ScorecardValidation(ScorecardSet.model_validate(data), ())
    except ValidationError as exc:
        errors = exc.errors()
        problems = tuple(sorted({_problem(e) for e in errors if not _echo(e, errors)}))
        return ScorecardValidation(None, problems)


def _echo(error: Mapping[str, Any], errors: list[Any]) -> bool:
    """A "too short" that only repeats a broken item below it (pydantic counts the items that validated)."""
    loc = tuple(error["loc"])
    return error["type"] == "too_short" and any(
        len(other["loc"]) > len(loc) and tuple(other["loc"][: len(loc)]) == loc for other in errors
    )
