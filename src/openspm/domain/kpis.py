"""The KPI catalogue: every result and behaviour OpenSPM measures, declared once (DESIGN.md §1, §5, §8).

The API, the CLI, the pages and docs/kpis.md all list KPIs from here, so they always agree. A KPI is a
*result* (lagging: it cannot be changed once it lands) or a *behaviour* (leading: it can be inspected and
coached while deals are live). Names are a public contract (§8): extend, never rename.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    RESULT = "result"  # lagging
    BEHAVIOUR = "behaviour"  # leading


class Unit(StrEnum):
    MONEY = "money"  # in the company's base currency
    COUNT = "count"
    RATIO = "ratio"  # 0.25 = 25 %
    DAYS = "days"
    MONEY_PER_DAY = "money_per_day"
    MULTIPLE = "multiple"  # e.g. pipeline coverage 3.2×


@dataclass(frozen=True, slots=True)
class Kpi:
    name: str
    label: str
    kind: Kind
    unit: Unit
    higher_is_better: bool
    formula: str


def _result(name: str, label: str, unit: Unit, formula: str, *, higher_is_better: bool = True) -> Kpi:
    return Kpi(name, label, Kind.RESULT, unit, higher_is_better, formula)


def _behaviour(name: str, label: str, unit: Unit, formula: str, *, higher_is_better: bool = True) -> Kpi:
    return Kpi(name, label, Kind.BEHAVIOUR, unit, higher_is_better, formula)


CATALOGUE: tuple[Kpi, ...] = (
    _result(
        "won_amount", "Won amount", Unit.MONEY, "sum of amount of deals won with close_date in the period"
    ),
    _result("won_count", "Deals won", Unit.COUNT, "deals won with close_date in the period"),
    _result(
        "lost_count",
        "Deals lost",
        Unit.COUNT,
        "deals lost with close_date in the period",
        higher_is_better=False,
    ),
    _result("win_rate", "Win rate", Unit.RATIO, "won ÷ (won + lost) among deals closed in the period"),
    _result(
        "win_rate_value",
        "Win rate by value",
        Unit.RATIO,
        "won amount ÷ (won amount + lost amount at the last open amount) among deals closed in the period",
    ),
    _result("avg_deal_size", "Average deal size", Unit.MONEY, "won amount ÷ won count"),
    _result(
        "cycle_days",
        "Sales cycle",
        Unit.DAYS,
        "mean of close_date − created_date of deals won in the period",
        higher_is_better=False,
    ),
    _result(
        "attainment",
        "Quota attainment",
        Unit.RATIO,
        "measure ÷ quota for the same subject, measure and period",
    ),
    _result(
        "open_pipeline", "Open pipeline", Unit.MONEY, "sum of amount of open deals closing in the period"
    ),
    _result(
        "pipeline_coverage",
        "Pipeline coverage",
        Unit.MULTIPLE,
        "open pipeline closing in the period ÷ (quota − won so far)",
    ),
    _result(
        "sales_velocity",
        "Sales velocity",
        Unit.MONEY_PER_DAY,
        "(open deals × win rate × average deal size) ÷ average cycle length",
    ),
    _result(
        "slip_rate",
        "Slip rate",
        Unit.RATIO,
        "share of deals forecast to close in the period that did not close in it",
        higher_is_better=False,
    ),
    _behaviour(
        "pipeline_created", "Pipeline created", Unit.MONEY, "sum of amount of deals created in the period"
    ),
    _behaviour("activities", "Activities", Unit.COUNT, "activities logged in the period"),
    _behaviour(
        "activities_quality",
        "Activities (quality-adjusted)",
        Unit.COUNT,
        "activities logged in the period that the Goodhart guard does not flag as suspect",
    ),
    _behaviour("calls", "Calls", Unit.COUNT, "activities of type call in the period"),
    _behaviour("emails", "Emails", Unit.COUNT, "activities of type email in the period"),
    _behaviour("meetings", "Meetings", Unit.COUNT, "activities of type meeting in the period"),
    _behaviour("demos", "Demos", Unit.COUNT, "activities of type demo in the period"),
    _behaviour(
        "first_meetings",
        "First meetings set",
        Unit.COUNT,
        "meetings with outcome first_meeting in the period",
    ),
    _behaviour(
        "activity_to_meeting",
        "Activity-to-meeting conversion",
        Unit.RATIO,
        "meetings ÷ calls and emails in the period",
    ),
    _behaviour(
        "next_step_set",
        "Open deals with a next step",
        Unit.RATIO,
        "open deals with a next step and a next-step date ÷ open deals",
    ),
    _behaviour(
        "next_step_overdue",
        "Next steps overdue",
        Unit.RATIO,
        "open deals whose next-step date has passed ÷ open deals",
        higher_is_better=False,
    ),
    _behaviour(
        "stuck_deals",
        "Stuck deals",
        Unit.COUNT,
        "open deals whose time in stage exceeds the p75 of that stage (or a set limit)",
        higher_is_better=False,
    ),
    _behaviour(
        "stage_conversion",
        "Stage conversion",
        Unit.RATIO,
        "deals that went past a stage ÷ deals that reached it, over every open stage"
        " (cohort by the day the deal reached the stage)",
    ),
    _behaviour(
        "deal_age_days",
        "Open deal age",
        Unit.DAYS,
        "mean of today − created_date of open deals",
        higher_is_better=False,
    ),
)

BY_NAME: dict[str, Kpi] = {k.name: k for k in CATALOGUE}


def kpi(name: str) -> Kpi:
    """The KPI called `name`; ValueError listing the known names otherwise."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown KPI {name!r} (known: {', '.join(BY_NAME)})") from None
