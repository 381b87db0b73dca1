"""Plans as code: examples validate, bad plans list every problem by path, numbers stay exact."""

from __future__ import annotations

import json
import typing
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from openspm.cli.plans import app
from openspm.domain.plans import Commission, MeasureSource, Plan, PlanAssignment, PlanProblem, diff_plans
from openspm.engine.expressions import filter_problems, parse_filter
from openspm.ingest.plans import parse_yaml, read_plan, read_plan_file

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples" / "plans").glob("*.yaml"))
BAD = ROOT / "tests" / "fixtures" / "plans" / "bad"


def _read(path: Path) -> tuple[Plan | None, list[PlanProblem]]:
    result = read_plan_file(path, check_expression=filter_problems)
    return result.plan, list(result.problems)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_plan_validates(path: Path) -> None:
    plan, problems = _read(path)
    assert problems == []
    assert plan is not None


def test_there_are_the_promised_examples() -> None:
    names = {_read(p)[0].name for p in EXAMPLES}  # type: ignore[union-attr]
    assert names == {"account_executive", "sales_development", "solutions_engineer", "first_line_manager"}


EXPECTED_PATHS = {
    "tiers.yaml": [
        "components[0].tiers[1].from",
        "components[1].tiers[0].from",
        "components[1].tiers[1].from",
        "components[1].tiers[1].to",
        "components[2].tiers[1].rate",
        "period.advances",
    ],
    "references.yaml": [
        "components[0].gates[0].measure",
        "components[0].gates[1]",
        "components[0].measure",
        "components[1].measure",
        "components[2].components[1]",
        "components[2].name",
        "crediting[0].percent",
        "effective_to",
        "measures[1].name",
    ],
    "filters.yaml": [
        "crediting[0].filter",
        "measures[0].filter",
        "measures[1].filter",
        "measures[2].filter",
        "measures[3].filter",
        "measures[4].filter",
    ],
    "structure.yaml": [
        "components[0].cap",
        "components[0].tiers[0].rate",
        "components[1]",
        "crediting[0].colour",
        "currency",
        "draw.amount",
        "draw.periods",
        "effective_from",
        "measures[0].aggregate",
        "name",
        "period.type",
        "version",
    ],
    "duplicate_keys.yaml": [""],
}


@pytest.mark.parametrize("name", sorted(EXPECTED_PATHS))
def test_bad_plan_is_rejected_with_every_problem_at_once(name: str) -> None:
    plan, problems = _read(BAD / name)
    assert plan is None
    assert [p.path for p in problems] == EXPECTED_PATHS[name]
    assert all(p.file == str(BAD / name) for p in problems)


def test_every_bad_fixture_has_expectations() -> None:
    assert {p.name for p in BAD.glob("*.yaml")} == set(EXPECTED_PATHS)


def test_problem_reads_path_colon_reason() -> None:
    _, problems = _read(BAD / "tiers.yaml")
    assert str(problems[4]) == f"{BAD / 'tiers.yaml'}: components[2].tiers[1].rate: must be ≥ 0"


def test_reasons_are_specific() -> None:
    _, problems = _read(BAD / "references.yaml")
    reasons = {p.path: p.reason for p in problems}
    assert reasons["components[0].measure"] == "unknown measure 'bookingz' (known: bookings, revenue)"
    assert reasons["components[2].name"] == "duplicate name 'main' (also components[0])"
    assert reasons["effective_to"] == "must be after effective_from"
    assert reasons["crediting[0].percent"] == "must be ≤ 100"


def test_yaml_numbers_stay_exact_decimals() -> None:
    data, problems = parse_yaml("a: 0.1\nb: 1_000.25\nc: 3\nd: 2025-01-01\n")
    assert problems == []
    assert isinstance(data, dict)
    assert data == {"a": Decimal("0.1"), "b": Decimal("1000.25"), "c": 3, "d": data["d"]}
    assert isinstance(data["a"], Decimal)
    plan, _ = _read(ROOT / "examples" / "plans" / "sdr_2025.yaml")
    assert plan is not None
    component = plan.components[0]
    assert isinstance(component, Commission)
    rate = component.tiers[0].rate
    assert rate == Decimal("0.006")
    assert str(rate) == "0.006"


def test_infinite_number_and_broken_yaml_are_problems_not_exceptions() -> None:
    for text in ("a: .inf\n", "a: [1, 2\n", ""):
        result = read_plan(text, check_expression=filter_problems)
        assert result.plan is None
        assert result.problems


def test_a_broken_part_does_not_hide_problems_elsewhere() -> None:
    text = (BAD / "references.yaml").read_text().replace("currency: USD", "currency: dollars")
    result = read_plan(text, check_expression=filter_problems)
    paths = [p.path for p in result.problems]
    assert "currency" in paths
    assert "components[0].measure" in paths  # cross-field checks still ran


@pytest.mark.parametrize(
    "text",
    [
        "transaction.kind = 'booking'",
        "kind IN ('booking', 'renewal') AND NOT opportunity.is_won IS NULL",
        "amount BETWEEN 1000 AND 50000 OR LOWER(product.family) LIKE 'plat%'",
        "COALESCE(account.segment, 'smb') <> 'enterprise' AND date >= DATE '2025-01-01'",
        "opportunity.is_won",
        "UPPER(account.country) = 'DE' AND amount > -1.5",
    ],
)
def test_valid_filters_parse(text: str) -> None:
    parsed, problems = parse_filter(text, MeasureSource.CREDITS)
    assert problems == []
    assert parsed is not None
    assert all("." in f for f in parsed.fields)


def test_bare_names_are_qualified_for_the_engine() -> None:
    parsed, _ = parse_filter("kind = 'booking' AND amount > 0", MeasureSource.CREDITS)
    assert parsed is not None
    assert parsed.fields == {"transaction.kind", "credit.amount"}
    assert parsed.expression.sql() == "transaction.kind = 'booking' AND credit.amount > 0"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("__import__('os')", "function __import__() is not allowed"),
        ("kind IN (SELECT kind FROM transactions)", "subqueries are not allowed"),
        ("foo = 1", "unknown field 'foo' (known: "),
        ("SUBSTRING(kind, 1, 2) = 'bo'", "function SUBSTRING() is not allowed"),
        ("kind = 'a'; DROP TABLE people", "must be a single expression"),
        ("amount + 1 > 2", "ADD is not allowed"),
        ("CAST(amount AS INT) > 1", "only DATE 'YYYY-MM-DD' casts"),
        ("amount", "is not true/false"),
        ('kind = "booking"', "text values take 'single quotes'"),
        ("a.b.c = 1", "write table.field"),
        ("kind = 'a' AND", "not a valid expression"),
    ],
)
def test_unsafe_or_unknown_filters_are_rejected(text: str, reason: str) -> None:
    parsed, problems = parse_filter(text, MeasureSource.CREDITS)
    assert parsed is None
    assert any(reason in p for p in problems), problems


def test_fields_depend_on_the_measure_source() -> None:
    assert parse_filter("activity.type = 'meeting'", MeasureSource.ACTIVITIES)[0] is not None
    assert parse_filter("activity.type = 'meeting'", MeasureSource.CREDITS)[0] is None


def test_diff_names_what_changed_by_path() -> None:
    v1, _ = _read(ROOT / "examples" / "plans" / "ae_2025_v1.yaml")
    v2, _ = _read(ROOT / "examples" / "plans" / "ae_2025_v2.yaml")
    assert v1 is not None
    assert v2 is not None
    changes = {c.path: c for c in diff_plans(v1, v2)}
    assert str(changes["components[bookings_commission].tiers[3].rate"]) == (
        "~ components[bookings_commission].tiers[3].rate: 18 → 20"
    )
    assert changes["components[quota_club]"].kind == "added"
    assert changes["effective_to"].kind == "removed"
    assert diff_plans(v1, v1) == []


def test_json_schema_is_published_and_names_every_field() -> None:
    schema = Plan.model_json_schema()
    assert schema["title"] == "Plan"
    assert "Commission" in schema["$defs"]
    assert schema["$defs"]["Tier"]["properties"]["from"]["anyOf"]


def test_cli_validate_lists_every_problem_and_exits_1() -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["validate", *map(str, EXAMPLES)])
    assert ok.exit_code == 0, ok.output
    assert ok.output.count("ok: ") == len(EXAMPLES)
    bad = runner.invoke(app, ["validate", str(EXAMPLES[0]), str(BAD / "tiers.yaml")])
    assert bad.exit_code == 1
    assert "components[2].tiers[1].rate: must be ≥ 0" in bad.output
    assert "1 of 2 plan file(s) invalid" in bad.output


def test_cli_diff() -> None:
    result = CliRunner().invoke(app, ["diff", str(EXAMPLES[0]), str(EXAMPLES[1])])
    assert result.exit_code == 0
    assert "~ version: 1 → 2" in result.output
    missing = CliRunner().invoke(app, ["diff", str(EXAMPLES[0]), str(BAD / "tiers.yaml")])
    assert missing.exit_code == 1


def _models() -> set[type[BaseModel]]:
    """Every model reachable from Plan and PlanAssignment."""
    seen: set[type[BaseModel]] = set()
    todo: list[type[BaseModel]] = [Plan, PlanAssignment]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for info in model.model_fields.values():
            todo += _nested(info.annotation)
    return seen


def _nested(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _nested(arg)]


def test_docs_mention_every_field_of_the_model() -> None:
    text = (ROOT / "docs" / "plans.md").read_text().split("## JSON Schema")[0]
    missing = [
        f"{model.__name__}.{info.alias or name}"
        for model in _models()
        for name, info in model.model_fields.items()
        if f"`{info.alias or name}`" not in text
    ]
    assert missing == []


def test_docs_embed_the_current_json_schema() -> None:
    text = (ROOT / "docs" / "plans.md").read_text()
    block = text.split("## JSON Schema")[1].split("```json\n")[1].split("\n```")[0]
    assert json.loads(block) == Plan.model_json_schema()
