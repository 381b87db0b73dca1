"""The sales process: ordered stages, their default probability and the exit criteria a deal must show.

An exit criterion is *evidence on the deal* (DESIGN.md §4): a field value, activities of a type linked to
the deal, a checklist of fields of which enough are filled, or a next step set and dated. The process is
declared in YAML (docs/inspection.md); `validate_sales_process` checks a parsed document and reports every
problem at once with its path (`stages[2].exit_criteria[0].field: unknown field …`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from openspm.domain.canonical import ENTITY_BY_NAME, Kind
from openspm.domain.plans.validation import problems_from_error
from openspm.domain.problems import DocumentProblem

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Text = Annotated[str, Field(min_length=1, max_length=200)]
Scalar = str | bool | int | Decimal

#: The opportunity columns a criterion may read (the canonical import format), and their kinds.
OPPORTUNITY_FIELDS: dict[str, Kind] = {c.name: c.kind for c in ENTITY_BY_NAME["opportunities"].columns}
#: Kinds a field criterion can compare with `equals` / `one_of` (numbers are compared as text nowhere).
COMPARABLE_KINDS = frozenset({Kind.TEXT, Kind.BOOLEAN, Kind.DATE})
CUSTOM_PREFIX = "extra."
_CUSTOM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Frozen(BaseModel):
    """Immutable, unknown keys refused (a typo is a problem, not a silent no-op)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldCriterion(Frozen):
    """A deal field is filled (default), equals a value, or is one of several values.

    `field` is an opportunity column (`next_step`, `forecast_category`, …) or a custom field written
    `extra.<name>` (e.g. `extra.economic_buyer`). A custom field counts as filled unless it is missing,
    null, false or empty text.
    """

    kind: Literal["field"]
    name: Name
    label: Text | None = None
    field: str
    equals: Scalar | None = None
    one_of: tuple[Scalar, ...] | None = Field(default=None, min_length=1)


class ActivityCriterion(Frozen):
    """At least `min_count` activities linked to the deal, of one of `types` (and `outcomes`, if given)."""

    kind: Literal["activity"]
    name: Name
    label: Text | None = None
    types: tuple[Text, ...] = Field(min_length=1)
    outcomes: tuple[Text, ...] | None = Field(default=None, min_length=1)
    min_count: int = Field(default=1, ge=1)


class ChecklistCriterion(Frozen):
    """At least `at_least` of the listed fields are filled (a MEDDICC-style qualification checklist)."""

    kind: Literal["checklist"]
    name: Name
    label: Text | None = None
    fields: tuple[str, ...] = Field(min_length=1)
    at_least: int = Field(ge=1)


class NextStepCriterion(Frozen):
    """The deal has a next step written down and (when `dated`, the default) a date for it."""

    kind: Literal["next_step"]
    name: Name
    label: Text | None = None
    dated: bool = True


Criterion = Annotated[
    FieldCriterion | ActivityCriterion | ChecklistCriterion | NextStepCriterion, Field(discriminator="kind")
]


class Stage(Frozen):
    """One stage of the process. Closed stages (won or lost) come last and have no exit criteria."""

    name: Text
    probability: Decimal = Field(ge=0, le=100)
    stuck_after_days: int | None = Field(default=None, ge=1)
    is_closed: bool = False
    is_won: bool = False
    crm_names: tuple[Text, ...] = ()
    exit_criteria: tuple[Criterion, ...] = ()


class SalesProcess(Frozen):
    """The ordered stages of a sales process. Build it with `validate_sales_process` to get every check."""

    name: Text = "Sales process"
    stages: tuple[Stage, ...] = Field(min_length=2)

    @property
    def open_stages(self) -> tuple[Stage, ...]:
        return tuple(s for s in self.stages if not s.is_closed)

    def stage_names(self) -> dict[str, str]:
        """CRM stage name → process stage name: each stage's own name and its `crm_names`."""
        return {crm: stage.name for stage in self.stages for crm in (stage.name, *stage.crm_names)}

    def criteria(self) -> Iterator[tuple[int, Stage, Criterion]]:
        """(stage index, stage, criterion) for every exit criterion, in process order."""
        for index, stage in enumerate(self.stages):
            for criterion in stage.exit_criteria:
                yield index, stage, criterion


def criterion_label(criterion: Criterion) -> str:
    """The criterion's label, or its name made readable (`discovery_completed` → "Discovery completed")."""
    return criterion.label or criterion.name.replace("_", " ").capitalize()


#: One thing wrong with a sales process: the path in the document and why.
ProcessProblem = DocumentProblem


@dataclass(frozen=True, slots=True)
class ProcessValidation:
    process: SalesProcess | None
    problems: tuple[ProcessProblem, ...]

    @property
    def ok(self) -> bool:
        return self.process is not None and not self.problems


def validate_sales_process(data: object) -> ProcessValidation:
    """Validate a parsed sales-process document; report every problem at once, each with its path.

    Structure first (pydantic), then the cross-field rules: those of single criteria run on every
    criterion that is valid on its own, so one broken stage does not hide a typo in another.
    """
    process: SalesProcess | None = None
    try:
        process = SalesProcess.model_validate(data)
    except ValidationError as exc:
        problems = [ProcessProblem(_unfold(p.path, data), p.reason) for p in problems_from_error(exc, data)]
    else:
        problems = _stage_problems(process)
    problems += _criterion_problems(_valid_criteria(process, data))
    unique = tuple(sorted(set(problems), key=lambda p: (_sort_key(p.path), p.reason)))
    return ProcessValidation(None if unique else process, unique)


_FIELD_TAG = re.compile(r"^(stages\[(\d+)\]\.exit_criteria\[(\d+)\])\.field\.(.+)$")


def _unfold(path: str, data: object) -> str:
    """Drop the union tag pydantic puts in a path when it equals a key: `[0].field.colour` → `[0].colour`.

    (A `field` criterion has a `field` key too, so the generic tag stripping keeps the tag; its value is
    text, so nothing can lie below it.)
    """
    found = _FIELD_TAG.match(path)
    if found is None:
        return path
    try:
        item = data["stages"][int(found[2])]["exit_criteria"][int(found[3])]  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        return path
    return f"{found[1]}.{found[4]}" if isinstance(item, dict) and item.get("kind") == "field" else path


def _sort_key(path: str) -> tuple[tuple[int, str | int], ...]:
    return tuple((0, int(t)) if t.isdigit() else (1, t) for t in re.split(r"[\[\].]+", path) if t)


_CRITERION: TypeAdapter[Criterion] = TypeAdapter(Criterion)


def _valid_criteria(process: SalesProcess | None, data: object) -> list[tuple[str, Criterion]]:
    """(path, criterion) of every criterion that is valid on its own."""
    if process is not None:
        found: list[tuple[str, Criterion]] = []
        for i, stage in enumerate(process.stages):
            found += [(f"stages[{i}].exit_criteria[{j}]", c) for j, c in enumerate(stage.exit_criteria)]
        return found
    stages = data.get("stages") if isinstance(data, dict) else None
    valid: list[tuple[str, Criterion]] = []
    for i, stage in enumerate(stages if isinstance(stages, list) else []):
        items = stage.get("exit_criteria") if isinstance(stage, dict) else None
        for j, item in enumerate(items if isinstance(items, list) else []):
            try:
                valid.append((f"stages[{i}].exit_criteria[{j}]", _CRITERION.validate_python(item)))
            except ValidationError:
                continue  # already reported by the structural pass
    return valid


def _stage_problems(process: SalesProcess) -> list[ProcessProblem]:
    problems: list[ProcessProblem] = []
    seen: dict[str, str] = {}
    closed_seen = False
    for i, stage in enumerate(process.stages):
        path = f"stages[{i}]"
        for j, crm in enumerate((stage.name, *stage.crm_names)):
            where = f"{path}.name" if j == 0 else f"{path}.crm_names[{j - 1}]"
            if crm in seen:
                problems.append(ProcessProblem(where, f"{crm!r} already names stage {seen[crm]!r}"))
            else:
                seen[crm] = stage.name
        if stage.is_won and not stage.is_closed:
            problems.append(ProcessProblem(f"{path}.is_won", "a won stage must also be is_closed: true"))
        if stage.is_closed:
            closed_seen = True
            if stage.exit_criteria:
                problems.append(ProcessProblem(f"{path}.exit_criteria", "a closed stage has no criteria"))
            if stage.stuck_after_days is not None:
                problems.append(ProcessProblem(f"{path}.stuck_after_days", "a closed stage cannot be stuck"))
        elif closed_seen:
            problems.append(ProcessProblem(f"{path}.is_closed", "open stages must come before closed ones"))
    if not process.open_stages:
        problems.append(ProcessProblem("stages", "needs at least one open stage"))
    if not any(s.is_won for s in process.stages):
        problems.append(ProcessProblem("stages", "needs a closed won stage (is_closed: true, is_won: true)"))
    return problems


def _criterion_problems(criteria: list[tuple[str, Criterion]]) -> list[ProcessProblem]:
    problems: list[ProcessProblem] = []
    seen: set[str] = set()
    for path, criterion in criteria:
        if criterion.name in seen:
            problems.append(ProcessProblem(f"{path}.name", f"duplicate criterion name {criterion.name!r}"))
        seen.add(criterion.name)
        if isinstance(criterion, FieldCriterion):
            problems += _field_problems(path, criterion)
        elif isinstance(criterion, ChecklistCriterion):
            for k, name in enumerate(criterion.fields):
                reason = field_problem(name)
                if reason:
                    problems.append(ProcessProblem(f"{path}.fields[{k}]", reason))
            if criterion.at_least > len(criterion.fields):
                limit = f"must be ≤ {len(criterion.fields)} (the fields listed)"
                problems.append(ProcessProblem(f"{path}.at_least", limit))
    return problems


def _field_problems(path: str, criterion: FieldCriterion) -> list[ProcessProblem]:
    reason = field_problem(criterion.field)
    if reason:
        return [ProcessProblem(f"{path}.field", reason)]
    if criterion.equals is not None and criterion.one_of is not None:
        return [ProcessProblem(f"{path}.one_of", "give either equals or one_of, not both")]
    kind = OPPORTUNITY_FIELDS.get(criterion.field)
    compared = criterion.equals is not None or criterion.one_of is not None
    if compared and kind is not None and kind not in COMPARABLE_KINDS:
        key = "equals" if criterion.equals is not None else "one_of"
        return [ProcessProblem(f"{path}.{key}", f"{criterion.field} is a number: only `present` applies")]
    return []


def field_problem(name: str) -> str | None:
    """Why `name` is not a field a criterion can read (None when it is one)."""
    if name.startswith(CUSTOM_PREFIX):
        if _CUSTOM_NAME.match(name[len(CUSTOM_PREFIX) :]):
            return None
        return f"unknown field {name!r}: a custom field is written extra.<name> (letters, digits, _)"
    if name in OPPORTUNITY_FIELDS:
        return None
    known = ", ".join(OPPORTUNITY_FIELDS)
    return f"unknown field {name!r}: use an opportunity field ({known}) or extra.<name>"
