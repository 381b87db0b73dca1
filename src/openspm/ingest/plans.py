"""Read a plan's YAML source into a validated `Plan`: numbers stay exact, duplicate keys are problems."""

from __future__ import annotations

import dataclasses
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from openspm.domain.plans import ExpressionChecker, PlanProblem, PlanValidation, validate_plan


class PlanLoader(yaml.SafeLoader):
    """YAML's safe loader, except floats become `Decimal` (`0.1` stays 0.1) and duplicate keys are noted."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[str] = []


def _decimal(loader: PlanLoader, node: yaml.ScalarNode) -> Decimal:
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():  # .inf, .nan: never a sensible plan number; pydantic reports it
        raise yaml.constructor.ConstructorError(
            None, None, f"not a finite number: {node.value!r}", node.start_mark
        )
    return value


def _mapping(loader: PlanLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            loader.duplicates.append(f"line {key_node.start_mark.line + 1}: duplicate key {key!r}")
        seen.add(key)
    return loader.construct_mapping(node)


def _timestamp(loader: PlanLoader, node: yaml.ScalarNode) -> object:
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:  # 2025-13-01 looks like a date but is not one: keep the text, validation reports it
        return str(node.value)


PlanLoader.add_constructor("tag:yaml.org,2002:float", _decimal)
PlanLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
PlanLoader.add_constructor("tag:yaml.org,2002:map", _mapping)


def parse_yaml(text: str) -> tuple[object, list[PlanProblem]]:
    """The YAML document as Python data with exact numbers, and any problems reading it."""
    loader = PlanLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        return None, [PlanProblem("", f"not valid YAML: {' '.join(str(exc).split())}")]
    finally:
        loader.dispose()
    return data, [PlanProblem("", reason) for reason in loader.duplicates]


def read_plan(text: str, *, check_expression: ExpressionChecker, file: str | None = None) -> PlanValidation:
    """Parse and validate a plan's YAML source; every problem carries `file` when given."""
    data, problems = parse_yaml(text)
    plan = None
    if data is not None:
        validation = validate_plan(data, check_expression=check_expression)
        plan, problems = validation.plan, problems + list(validation.problems)
    elif not problems:
        problems = [PlanProblem("", "the document is empty")]
    result = PlanValidation(None if problems else plan, tuple(problems))
    if file is None:
        return result
    located = tuple(dataclasses.replace(p, file=file) for p in result.problems)
    return PlanValidation(result.plan, located)


def read_plan_file(path: Path, *, check_expression: ExpressionChecker) -> PlanValidation:
    """`read_plan` over a file (UTF-8); an unreadable file is a problem, not an exception."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return PlanValidation(None, (PlanProblem("", f"cannot read: {exc}", str(path)),))
    return read_plan(text, check_expression=check_expression, file=str(path))
