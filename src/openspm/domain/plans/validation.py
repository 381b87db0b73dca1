"""Validate a plan document; report every problem at once, each with its path (`components[2].tiers[1].rate`).

Two passes. Pydantic checks the structure and reports all its errors; then the cross-field rules below run
over every part that is structurally valid on its own (each measure, component and crediting rule is also
validated separately), so a broken component does not hide an unknown measure named by another one.
Filter expressions are checked by a callable handed in (`ExpressionChecker`): the domain does not parse SQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from openspm.domain.plans.model import (
    Advances,
    Commission,
    Component,
    CreditRule,
    Gate,
    Measure,
    MeasureSource,
    PeriodPolicy,
    PeriodType,
    Plan,
    RateUnit,
    TierAxis,
)
from openspm.domain.problems import DocumentProblem, Loc, format_path

#: Checks one filter expression over a measure source; returns the reasons it is not acceptable.
ExpressionChecker = Callable[[str, MeasureSource], list[str]]


T = TypeVar("T")


#: One thing wrong with a plan: the path in the document and why.
PlanProblem = DocumentProblem


@dataclass(frozen=True, slots=True)
class PlanValidation:
    plan: Plan | None
    problems: tuple[PlanProblem, ...]

    @property
    def ok(self) -> bool:
        return self.plan is not None and not self.problems


# --- pydantic errors → problems ---------------------------------------------------------------------


def _strip_tags(loc: Sequence[str | int], data: object) -> Loc:
    """Drop the union-tag steps pydantic inserts into locations (`components.0.commission.tiers`)."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if (
            isinstance(node, Mapping)
            and isinstance(part, str)
            and part not in node
            and part == node.get("kind")
        ):
            continue
        out.append(part)
        node = _child(node, part)
    return tuple(out)


def _child(node: object, part: str | int) -> object:
    if isinstance(node, Mapping):
        return node.get(part)
    if isinstance(node, list | tuple) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


def _reason(error: ErrorDetails) -> str:  # noqa: PLR0911 - one return per kind of error reads best
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    kind = error["type"]
    simple = {
        "missing": "required",
        "extra_forbidden": "unknown key",
        "decimal_parsing": "must be a number",
        "decimal_type": "must be a number",
        "int_parsing": "must be a whole number",
        "int_from_float": "must be a whole number",
        "date_parsing": "must be a date (YYYY-MM-DD)",
        "date_from_datetime_parsing": "must be a date (YYYY-MM-DD)",
        "date_type": "must be a date (YYYY-MM-DD)",
        "bool_parsing": "must be true or false",
        "string_type": "must be text",
        "model_type": "must be a mapping",
        "dict_type": "must be a mapping",
        "tuple_type": "must be a list",
    }
    if kind in simple:
        return simple[kind]
    bounds = {"greater_than_equal": "≥", "greater_than": ">", "less_than_equal": "≤", "less_than": "<"}
    if kind in bounds:
        limit = next(iter(ctx.values()))
        return f"must be {bounds[kind]} {limit}"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    if kind == "string_pattern_mismatch":
        return f"must match {ctx.get('pattern')}"
    if kind in {"enum", "literal_error"}:
        return f"must be one of {ctx.get('expected')}"
    if kind == "union_tag_invalid":
        return f"kind must be one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return "kind is required"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return str(error["msg"])


def problems_from_error(exc: ValidationError, data: object) -> list[PlanProblem]:
    """Every error of a pydantic ValidationError over `data` as a problem with a document path."""
    problems = [PlanProblem(format_path(_strip_tags(e["loc"], data)), _reason(e)) for e in exc.errors()]
    return [p for p in problems if not _echo(p, problems)]


def _echo(problem: PlanProblem, problems: list[PlanProblem]) -> bool:
    """A list's "too short" that pydantic adds only because some of its items were invalid."""
    if not problem.reason.startswith("must have at least"):
        return False
    return any(other.path.startswith(problem.path + "[") for other in problems)


# --- the entry point --------------------------------------------------------------------------------


def validate_plan(data: object, *, check_expression: ExpressionChecker) -> PlanValidation:
    """Validate a parsed plan document (mappings, lists, Decimals, dates); report every problem."""
    problems: list[PlanProblem] = []
    plan: Plan | None = None
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        problems.extend(problems_from_error(exc, data))
    parts = _parts(plan, data)
    problems.extend(cross_check(parts, check_expression))
    unique = sorted(set(problems), key=lambda p: _sort_key(p.path))
    return PlanValidation(plan if not unique else None, tuple(unique))


def _sort_key(path: str) -> tuple[str | int, ...]:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"[\[\].]+", path) if t)


@dataclass(frozen=True, slots=True)
class PlanParts:
    """The parts of a plan that are valid on their own, with their index in the document."""

    effective_from: date | None
    effective_to: date | None
    period: PeriodPolicy | None
    crediting: list[tuple[int, CreditRule]]
    measures: list[tuple[int, Measure]]
    components: list[tuple[int, Component]]
    measure_count: int  # how many measures the document lists, valid or not
    component_names: frozenset[str]  # names of all components, even invalid ones


def _parts(plan: Plan | None, data: object) -> PlanParts:
    if plan is not None:
        return PlanParts(
            plan.effective_from,
            plan.effective_to,
            plan.period,
            list(enumerate(plan.crediting)),
            list(enumerate(plan.measures)),
            list(enumerate(plan.components)),
            len(plan.measures),
            frozenset(c.name for c in plan.components),
        )
    doc = data if isinstance(data, Mapping) else {}
    raw_measures = _as_list(doc.get("measures"))
    raw_components = _as_list(doc.get("components"))
    return PlanParts(
        _valid(TypeAdapter(date), doc.get("effective_from")),
        _valid(TypeAdapter(date), doc.get("effective_to")),
        _valid(TypeAdapter(PeriodPolicy), doc.get("period")),
        _valid_items(TypeAdapter(CreditRule), _as_list(doc.get("crediting"))),
        _valid_items(TypeAdapter(Measure), raw_measures),
        _valid_items(TypeAdapter(Component), raw_components),
        len(raw_measures),
        frozenset(str(c["name"]) for c in raw_components if isinstance(c, Mapping) and "name" in c),
    )


def _as_list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


def _valid(adapter: TypeAdapter[T], value: object) -> T | None:
    try:
        return adapter.validate_python(value)
    except ValidationError:
        return None


def _valid_items(adapter: TypeAdapter[T], items: Iterable[object]) -> list[tuple[int, T]]:
    out = []
    for i, item in enumerate(items):
        value = _valid(adapter, item)
        if value is not None:
            out.append((i, value))
    return out


# --- cross-field rules ------------------------------------------------------------------------------


def cross_check(parts: PlanParts, check_expression: ExpressionChecker) -> list[PlanProblem]:
    """The rules pydantic's per-field validation cannot express."""
    problems: list[PlanProblem] = []
    if parts.effective_from and parts.effective_to and parts.effective_to <= parts.effective_from:
        problems.append(PlanProblem("effective_to", "must be after effective_from"))
    if parts.period and parts.period.advances not in _ADVANCES[parts.period.type]:
        allowed = ", ".join(a.value for a in _ADVANCES[parts.period.type])
        problems.append(PlanProblem("period.advances", f"a {parts.period.type} plan allows: {allowed}"))
    problems += _duplicates("crediting", [(i, r.name) for i, r in parts.crediting])
    problems += _duplicates("measures", [(i, m.name) for i, m in parts.measures])
    problems += _duplicates("components", [(i, c.name) for i, c in parts.components])
    problems += _filters(parts, check_expression)
    measures: dict[str, Measure] = {}
    for _, measure in parts.measures:
        measures.setdefault(measure.name, measure)
    complete = len(parts.measures) == parts.measure_count  # else a reference may name an invalid measure
    for i, component in parts.components:
        problems += _component_problems(f"components[{i}]", component, measures, complete, parts)
    return problems


_ADVANCES = {
    PeriodType.MONTHLY: (Advances.NONE,),
    PeriodType.QUARTERLY: (Advances.NONE, Advances.MONTHLY),
    PeriodType.ANNUAL: (Advances.NONE, Advances.MONTHLY, Advances.QUARTERLY),
}


def _duplicates(section: str, names: list[tuple[int, str]]) -> list[PlanProblem]:
    seen: dict[str, int] = {}
    problems = []
    for i, name in names:
        if name in seen:
            problems.append(
                PlanProblem(f"{section}[{i}].name", f"duplicate name {name!r} (also {section}[{seen[name]}])")
            )
        else:
            seen[name] = i
    return problems


def _filters(parts: PlanParts, check_expression: ExpressionChecker) -> list[PlanProblem]:
    problems = []
    for i, measure in parts.measures:
        if measure.filter is not None:
            reasons = check_expression(measure.filter, measure.source)
            problems += [PlanProblem(f"measures[{i}].filter", reason) for reason in reasons]
    for i, rule in parts.crediting:
        if rule.filter is not None:
            reasons = check_expression(rule.filter, MeasureSource.CREDITS)
            problems += [PlanProblem(f"crediting[{i}].filter", reason) for reason in reasons]
    return problems


def _component_problems(
    path: str, component: Component, measures: Mapping[str, Measure], complete: bool, parts: PlanParts
) -> list[PlanProblem]:
    problems = []
    measure_name = getattr(component, "measure", None)
    if isinstance(measure_name, str):
        problems += _reference(f"{path}.measure", measure_name, measures, complete)
    for g, gate in enumerate(component.gates):
        problems += _gate(f"{path}.gates[{g}]", gate, measure_name, measures, complete)
    if isinstance(component, Commission):
        problems += _commission(path, component, measures)
    if component.kind == "bonus":
        attainments = [m.attainment for m in component.milestones]
        if attainments != sorted(set(attainments)):
            problems.append(PlanProblem(f"{path}.milestones", "attainments must be strictly ascending"))
    if component.kind == "override":
        for c, name in enumerate(component.components):
            if name not in parts.component_names:
                problems.append(PlanProblem(f"{path}.components[{c}]", f"unknown component {name!r}"))
    spif_measure = measures.get(measure_name) if isinstance(measure_name, str) else None
    if component.kind == "spif" and spif_measure is not None and spif_measure.aggregate != "count":
        problems.append(PlanProblem(f"{path}.measure", "a SPIF pays per transaction: use a count measure"))
    return problems


def _reference(path: str, name: str, measures: Mapping[str, Measure], complete: bool) -> list[PlanProblem]:
    if name in measures or not complete:
        return []
    return [PlanProblem(path, f"unknown measure {name!r} (known: {', '.join(sorted(measures)) or 'none'})")]


def _gate(
    path: str, gate: Gate, own: str | None, measures: Mapping[str, Measure], complete: bool
) -> list[PlanProblem]:
    name = gate.measure or own
    if name is None:
        return [PlanProblem(f"{path}.measure", "required (this component has no measure of its own)")]
    if gate.measure is not None and (problems := _reference(f"{path}.measure", name, measures, complete)):
        return problems
    if name in measures and measures[name].quota is None:
        return [PlanProblem(path, f"measure {name!r} has no quota, so it has no attainment to gate on")]
    return []


def _commission(path: str, component: Commission, measures: Mapping[str, Measure]) -> list[PlanProblem]:
    problems = list(_tier_problems(f"{path}.tiers", component))
    measure = measures.get(component.measure)
    uses_attainment = component.tiers_on is TierAxis.ATTAINMENT
    if uses_attainment and measure is not None and measure.quota is None:
        problems.append(
            PlanProblem(f"{path}.tiers_on", f"attainment needs a quota: measure {measure.name!r} has none")
        )
    per_point = component.rate_unit is RateUnit.MULTIPLE_OF_TARGET_INCENTIVE_PER_POINT
    if per_point and not uses_attainment:
        problems.append(
            PlanProblem(f"{path}.rate_unit", "a rate per point of attainment needs tiers_on: attainment")
        )
    return problems


def _tier_problems(path: str, component: Commission) -> Iterable[PlanProblem]:
    tiers = component.tiers
    if tiers[-1].to is not None:
        yield PlanProblem(f"{path}[{len(tiers) - 1}].to", "the last tier must be unbounded (leave `to` out)")
    if tiers[0].from_ != 0:
        yield PlanProblem(f"{path}[0].from", "the first tier must start at 0")
    for t, tier in enumerate(tiers):
        if tier.to is not None and tier.to <= tier.from_:
            yield PlanProblem(f"{path}[{t}].to", f"must be greater than from ({tier.from_})")
        if t + 1 < len(tiers):
            following = tiers[t + 1].from_
            if tier.to is None:
                yield PlanProblem(f"{path}[{t}].to", "only the last tier may be unbounded")
                continue
            elif following != tier.to:
                gap = "gap" if following > tier.to else "overlap"
                yield PlanProblem(
                    f"{path}[{t + 1}].from", f"must equal the previous tier's to ({tier.to}): tiers {gap}"
                )
