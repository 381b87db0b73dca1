"""A person's pay for a period as a waterfall: credits → measure → attainment → tiers → cap → … → line.

One view model (`PayExplanation`) serves `spm calc explain`, `GET /payouts/{person_id}/{period}/explanation`
and the pay page. The steps come from each recorded line's explanation; the credits behind a line (down
to the source transactions and the crediting rule that made each credit) are recomputed from the inputs
— a pure function of them — and `reproduced` says whether that recomputation gives the recorded amounts
(it does unless the inputs changed since the run; the next run of an open period then records the
difference as a delta for a closed one).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pydantic import Field
from sqlalchemy import Connection, Engine

from openspm.services import calc_results
from openspm.services.calc_inputs import load_inputs
from openspm.services.calc_results import PayoutLinePublic
from openspm.services.records import MoneyText, Public, exact_text, money_text
from openspm.services.scopes import Scope

#: The explanation fields in waterfall order, with their labels (fields not listed follow, by name).
STEPS: tuple[tuple[str, str], ...] = (
    ("corrects_period", "corrects"),
    ("recorded", "recorded"),
    ("recomputed", "recomputed now"),
    ("delta", "delta"),
    ("plan_period", "plan period"),
    ("source_id", "transaction"),
    ("date", "date"),
    ("rule", "crediting rule"),
    ("measure", "measure"),
    ("value", "measure value"),
    ("credits", "credits counted"),
    ("quota", "quota"),
    ("attainment", "attainment %"),
    ("target_incentive", "target incentive"),
    ("running_before", "running total before"),
    ("running_after", "running total after"),
    ("gates", "gates"),
    ("tiers", "tiers"),
    ("raw", "from tiers"),
    ("gate_adjustment", "gate adjustment"),
    ("cap", "cap"),
    ("cap_adjustment", "cap adjustment"),
    ("earned", "earned"),
    ("advance_percent", "advance %"),
    ("held_back", "held back"),
    ("already_paid", "already paid"),
    ("commission_reversed", "commission reversed"),
    ("cancellations", "cancellations"),
    ("draw", "draw"),
    ("guarantee", "guarantee"),
    ("earnings", "earnings"),
    ("balance_before", "balance before"),
    ("clawback", "clawback"),
    ("balance_after", "balance after"),
    ("rounding", "rounding"),
)
_SKIP = {"amount", "component", "kind", "lines"}


class Step(Public):
    label: str
    value: str


class Credit(Public):
    source_id: str | None
    date: str | None
    rule: str | None
    rule_kind: str | None
    kind: str | None
    opportunity_id: str | None
    value: str


class LineWaterfall(Public):
    line: PayoutLinePublic
    steps: list[Step]
    credits: list[Credit] = Field(description="the credits of the line's measure, recomputed from the inputs")


class PayExplanation(Public):
    person_id: str
    period: str
    totals: dict[str, MoneyText]
    reproduced: bool = Field(description="whether recomputing from today's inputs gives the recorded amounts")
    lines: list[LineWaterfall]


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value) if value else "none"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_text(v)}" for k, v in value.items() if v is not None)
    if isinstance(value, Decimal):
        return format(value, "f")
    return "–" if value is None else str(value)


def _tier(t: dict[str, Any]) -> str:
    upper = t.get("to")
    span = f"{t.get('from')}–{upper}" if upper is not None else f"{t.get('from')}+"
    return f"{span} @ {t.get('rate')} on {t.get('base')} = {t.get('amount')}"


def _gate(g: dict[str, Any]) -> str:
    state = "open" if g.get("open") else "closed"
    return f"{g.get('measure')} ≥ {g.get('min_attainment')} %: at {g.get('attainment')} % ({state})"


_FORMAT = {"tiers": _tier, "gates": _gate}


def _value(key: str, value: Any) -> str:
    if key in _FORMAT and isinstance(value, list):
        return "; ".join(_FORMAT[key](v) for v in value if isinstance(v, dict))
    return _text(value)


def steps_of(explanation: dict[str, Any]) -> list[Step]:
    """The explanation as labelled steps in waterfall order; unknown fields follow by name, empty ones go."""
    known = dict(STEPS)
    ordered = [key for key, _ in STEPS if key in explanation]
    ordered += sorted(k for k in explanation if k not in known and k not in _SKIP)
    present = [k for k in ordered if explanation[k] is not None and explanation[k] != []]
    return [Step(label=known.get(k, k.replace("_", " ")), value=_value(k, explanation[k])) for k in present]


def _credits(item: Any) -> list[Credit]:
    return [
        Credit(
            source_id=c.get("source_id"),
            date=str(c["date"]) if c.get("date") is not None else None,
            rule=c.get("rule"),
            rule_kind=c.get("rule_kind"),
            kind=c.get("kind"),
            opportunity_id=c.get("opportunity_id"),
            value=exact_text(c["value"]) if isinstance(c.get("value"), Decimal) else str(c.get("value")),
        )
        for c in item.credits
    ]


def recompute(engine: Engine, person_id: str, period: str) -> list[Any]:
    """The engine's waterfalls for the person's lines of `period`, from the inputs as they are now."""
    from openspm.engine.calc.run import calculate, explain

    inputs = load_inputs(engine, period, [person_id])  # only the rows that can credit them
    return explain(calculate(inputs, period, payees=[person_id]), person_id)


def explain_pay(engine: Engine, scope: Scope | None, person_id: str, period: str) -> PayExplanation:
    """A person's recorded lines of `period`, each with its steps and (recomputed) credits."""
    with engine.connect() as conn:
        recorded = calc_results.explain(conn, scope, person_id, period)
    fresh = recompute(engine, person_id, period)
    matched = {w.key: w for w in fresh}
    lines, reproduced = [], True
    for line in recorded.lines:
        source = line.explanation.get("source_id")
        item = matched.get((line.period, line.plan, line.version, line.component, line.line_kind, source))
        if line.line_kind != "delta" and (item is None or item.amount != line.amount):
            reproduced = False
        lines.append(
            LineWaterfall(line=line, steps=steps_of(line.explanation), credits=_credits(item) if item else [])
        )
    return PayExplanation(
        person_id=person_id, period=period, totals=recorded.totals, reproduced=reproduced, lines=lines
    )


def waterfall(explained: PayExplanation, *, max_credits: int = 20) -> Sequence[str]:
    """The explanation as text: one block per line, one row per step, then the line's amount."""
    out = [f"{explained.person_id} {explained.period}"]
    for item in explained.lines:
        line = item.line
        head = f"{line.plan} v{line.version} · {line.component} ({line.line_kind})"
        out += ["", head]
        if item.credits:
            out.append(f"  {'credits':<22} {len(item.credits)}")
            for c in item.credits[:max_credits]:
                out.append(f"    {c.date or '':<10} {c.source_id or '':<14} {c.rule or '':<18} {c.value}")
            if len(item.credits) > max_credits:
                out.append(f"    … and {len(item.credits) - max_credits} more")
        out += [f"  {step.label:<22} {step.value}" for step in item.steps]
        out.append(f"  {'= line':<22} {money_text(line.amount)} {line.currency}")
    out.append("")
    out += [f"total {money_text(total)} {currency}" for currency, total in explained.totals.items()]
    if not explained.reproduced:
        out.append("note: the inputs changed since this was recorded; credits shown are as of now")
    return out


class PayView(Public):
    """The pay page: whose pay (the viewer's or a visible person's), their periods, one period explained."""

    people: list[str] = Field(description="people with payout lines the viewer may see")
    person_id: str | None
    periods: list[str]
    period: str | None
    totals: dict[str, MoneyText]
    lines: list[LineWaterfall] = Field(description="the period's lines, steps from the recorded explanation")


def pay_view(conn: Connection, scope: Scope, person_id: str | None, period: str | None) -> PayView:
    """Recorded lines only (no recomputation): the page stays fast; the API explanation adds the credits."""
    # the pickers come from DISTINCT queries and only the shown lines are read: a finance viewer's scope
    # holds every line of the company
    people = calc_results.paid_people(conn, scope)
    own = scope.principal.person_id
    chosen = person_id or (own if own in people or not people else people[0])
    periods = calc_results.paid_periods(conn, scope, chosen) if chosen in people else []
    shown = period if period in periods else (periods[0] if periods else None)
    lines = (
        calc_results.person_lines(conn, scope, chosen, shown)
        if shown is not None and chosen is not None
        else []
    )
    totals: dict[str, Decimal] = {}
    for line in lines:
        totals[line.currency] = totals.get(line.currency, Decimal(0)) + line.amount
    return PayView(
        people=people,
        person_id=chosen,
        periods=periods,
        period=shown,
        totals=totals,
        lines=[LineWaterfall(line=x, steps=steps_of(x.explanation), credits=[]) for x in lines],
    )
