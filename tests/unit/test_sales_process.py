"""The sales-process document: the shipped default is valid, and every mistake is reported with its path."""

from __future__ import annotations

from pathlib import Path

import pytest

from openspm.domain.sales_process import ActivityCriterion, ChecklistCriterion, validate_sales_process
from openspm.ingest.sales_process import SalesProcessError, load_sales_process, read_sales_process

DEMO_STAGES = [
    "Prospecting",
    "Discovery",
    "Qualification",
    "Solution",
    "Proposal",
    "Negotiation",
    "Closed Won",
    "Closed Lost",
]

VALID = """
name: Two-step
stages:
  - name: Talk
    probability: 20
    crm_names: [Qualify]
    exit_criteria:
      - {kind: activity, name: met, types: [meeting], outcomes: [discovery]}
  - name: Won
    probability: 100
    is_closed: true
    is_won: true
"""


def _problems(text: str) -> list[str]:
    return [str(p) for p in read_sales_process(text, file="process.yaml").problems]


def test_the_shipped_process_matches_the_demo_stages() -> None:
    process = load_sales_process()
    assert [s.name for s in process.stages] == DEMO_STAGES
    assert [s.name for s in process.open_stages] == DEMO_STAGES[:6]
    won = [s.name for s in process.stages if s.is_won]
    assert won == ["Closed Won"]
    kinds = {c.kind for _, _, c in process.criteria()}
    assert kinds == {"activity", "field", "checklist", "next_step"}  # every kind is shown in the default
    discovery = next(c for _, s, c in process.criteria() if s.name == "Discovery")
    assert isinstance(discovery, ActivityCriterion)
    assert discovery.outcomes == ("discovery",)
    checklist = next(c for _, _, c in process.criteria() if isinstance(c, ChecklistCriterion))
    assert checklist.at_least == 3
    assert len(checklist.fields) == 6


def test_a_valid_document_reads_with_its_crm_names() -> None:
    validation = read_sales_process(VALID)
    assert validation.ok
    assert validation.process is not None
    assert validation.process.stage_names() == {"Talk": "Talk", "Qualify": "Talk", "Won": "Won"}


def test_an_unknown_field_is_reported_at_its_path() -> None:
    text = VALID.replace(
        "{kind: activity, name: met, types: [meeting], outcomes: [discovery]}",
        "{kind: field, name: budget, field: budget_amount}",
    )
    problems = _problems(text)
    assert len(problems) == 1
    assert problems[0].startswith(
        "process.yaml: stages[0].exit_criteria[0].field: unknown field 'budget_amount'"
    )


def test_every_problem_is_reported_at_once_even_with_a_structural_error() -> None:
    """A broken stage (probability 150) must not hide the checklist and duplicate-name problems."""
    text = """
stages:
  - name: A
    probability: 150
    exit_criteria:
      - {kind: checklist, name: meddicc, fields: [extra.metrics, extra.9bad], at_least: 3}
      - {kind: next_step, name: meddicc}
      - {kind: telepathy, name: vibes}
      - {kind: field, name: stage_set, field: stage, equals: Won, colour: red}
  - name: Won
    probability: 100
    is_closed: true
    is_won: true
"""
    assert _problems(text) == [
        "process.yaml: stages[0].exit_criteria[0].at_least: must be ≤ 2 (the fields listed)",
        (
            "process.yaml: stages[0].exit_criteria[0].fields[1]: unknown field 'extra.9bad': "
            "a custom field is written extra.<name> (letters, digits, _)"
        ),
        "process.yaml: stages[0].exit_criteria[1].name: duplicate criterion name 'meddicc'",
        (
            "process.yaml: stages[0].exit_criteria[2]: kind must be one of 'field', 'activity', 'checklist', "
            "'next_step'"
        ),
        "process.yaml: stages[0].exit_criteria[3].colour: unknown key",
        "process.yaml: stages[0].probability: must be ≤ 100",
    ]


def test_stage_rules() -> None:
    text = """
stages:
  - name: Won
    probability: 100
    is_closed: true
    exit_criteria: [{kind: next_step, name: step}]
    stuck_after_days: 30
  - name: Talk
    probability: 10
    is_won: true
    crm_names: [Won]
"""
    assert _problems(text) == [
        "process.yaml: stages[0].exit_criteria: a closed stage has no criteria",
        "process.yaml: stages[0].stuck_after_days: a closed stage cannot be stuck",
        "process.yaml: stages[1].crm_names[0]: 'Won' already names stage 'Won'",
        "process.yaml: stages[1].is_closed: open stages must come before closed ones",
        "process.yaml: stages[1].is_won: a won stage must also be is_closed: true",
    ]


def test_a_process_needs_a_won_stage_and_an_open_one() -> None:
    text = """
stages:
  - {name: Won, probability: 100, is_closed: true}
  - {name: Lost, probability: 0, is_closed: true}
"""
    assert _problems(text) == [
        "process.yaml: stages: needs a closed won stage (is_closed: true, is_won: true)",
        "process.yaml: stages: needs at least one open stage",
    ]  # problems at one path come in the order of their reasons


def test_numbers_cannot_be_compared_with_equals() -> None:
    text = VALID.replace(
        "{kind: activity, name: met, types: [meeting], outcomes: [discovery]}",
        "{kind: field, name: big, field: amount, equals: 100}",
    )
    assert _problems(text) == [
        "process.yaml: stages[0].exit_criteria[0].equals: amount is a number: only `present` applies"
    ]


def test_yaml_problems_and_empty_documents() -> None:
    assert _problems("") == ["process.yaml: (document): the document is empty"]
    duplicated = VALID.replace("name: Two-step", "name: Two-step\nname: Again")
    assert _problems(duplicated) == ["process.yaml: (document): line 3: duplicate key 'name'"]
    assert validate_sales_process([1, 2]).problems[0].reason == "must be a mapping"


def test_loading_a_bad_file_raises_with_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(VALID.replace("probability: 20", "probability: -1"))
    with pytest.raises(SalesProcessError) as raised:
        load_sales_process(path)
    assert [str(p) for p in raised.value.problems] == [f"{path}: stages[0].probability: must be ≥ 0"]
    with pytest.raises(SalesProcessError, match="cannot read"):
        load_sales_process(tmp_path / "missing.yaml")
    path.write_text(VALID)
    assert load_sales_process(path).name == "Two-step"
