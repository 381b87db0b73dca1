"""Scorecard configuration: the shipped file is valid, every problem comes back with its path, and the
rules that judge a value against its target (pro-rating, direction, attention) do what docs/scorecards.md
says."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from openspm.domain.kpis import BY_NAME
from openspm.domain.periods import FiscalCalendar, PeriodKind
from openspm.domain.scorecards import (
    MAX_BEHAVIOURS,
    Direction,
    RoleScorecard,
    Status,
    attention_reasons,
    elapsed_share,
    judge,
    suspect_share,
    validate_scorecards,
)
from openspm.ingest.scorecards import read_scorecards, read_scorecards_file

MINIMAL = """
version: 1
team_role: ae
scorecards:
  - role: ae
    results:
      - {name: won, kpi: won_amount, targets: {quarterly: 100000}}
      - {name: win_rate, kpi: win_rate, targets: 0.25}
    behaviours:
      - {name: meetings, kpi: meetings, targets: {weekly: 3, quarterly: 36}, drives: [won]}
      - {name: overdue, kpi: next_step_overdue, targets: 0.1, drives: [win_rate]}
      - {name: stuck, kpi: stuck_deals, targets: 2, drives: [win_rate]}
"""


def _paths(text: str) -> dict[str, str]:
    validation = read_scorecards(text, file="cards.yaml")
    assert validation.scorecards is None
    assert all(p.file == "cards.yaml" for p in validation.problems)
    return {p.path: p.reason for p in validation.problems}


def test_the_shipped_scorecards_are_valid_and_pair_results_with_behaviours() -> None:
    validation = read_scorecards_file()
    assert validation.problems == ()
    cards = validation.scorecards
    assert cards is not None
    assert set(cards.roles) >= {"ae", "sdr", "se", "manager"}
    assert cards.team.role == "manager"
    ae = cards.for_role("ae")
    assert ae is not None
    assert 2 <= len(ae.results) <= 3
    assert 8 <= len(ae.behaviours) <= MAX_BEHAVIOURS
    for card in cards.scorecards:
        results = {r.name for r in card.results}
        assert all(set(b.drives) <= results for b in card.behaviours)
        assert all(i.kpi in BY_NAME for i in (*card.results, *card.behaviours))
    assert ae.item("win_rate").targets.quarterly == Decimal("0.25")  # one number: every kind


def test_an_unknown_kpi_is_a_problem_at_its_path() -> None:
    text = MINIMAL.replace("kpi: stuck_deals", "kpi: calls_made")
    problems = _paths(text)
    assert list(problems) == ["scorecards[0].behaviours[2].kpi"]
    assert "unknown KPI 'calls_made'" in problems["scorecards[0].behaviours[2].kpi"]


def test_a_behaviour_driving_an_unknown_result_is_a_problem_at_its_path() -> None:
    problems = _paths(MINIMAL.replace("drives: [won]", "drives: [won, revenue]"))
    assert list(problems) == ["scorecards[0].behaviours[0].drives"]
    assert "revenue" in problems["scorecards[0].behaviours[0].drives"]


def test_every_structural_problem_is_reported_at_once() -> None:
    text = (
        MINIMAL.replace("targets: {quarterly: 100000}", "targets: {quarterly: 100000, daily: 5}")
        .replace("drives: [win_rate]}\n      - {name: stuck", "drives: []}\n      - {name: stuck")
        .replace("kpi: win_rate,", "kpi: win_rate, colour: red,")
    )
    problems = _paths(text)
    assert set(problems) == {
        "scorecards[0].results[0].targets.daily",
        "scorecards[0].results[1].colour",
        "scorecards[0].behaviours[1].drives",
    }
    assert "at least 1" in problems["scorecards[0].behaviours[1].drives"]


def test_duplicate_roles_names_and_an_unknown_team_role_are_problems() -> None:
    duplicated = MINIMAL + MINIMAL.split("scorecards:\n", 1)[1]
    assert "has a scorecard already" in _paths(duplicated)["scorecards[1].role"]
    names = MINIMAL.replace("{name: stuck,", "{name: meetings,")
    assert "unique" in _paths(names)["scorecards[0]"]
    assert (
        "no scorecard for role 'manager'"
        in _paths(MINIMAL.replace("team_role: ae", "team_role: manager"))["team_role"]
    )


def test_too_many_behaviours_is_a_problem() -> None:
    extra = "".join(f"      - {{name: b{i}, kpi: meetings, drives: [won]}}\n" for i in range(MAX_BEHAVIOURS))
    problems = _paths(MINIMAL + extra)  # 3 + 12 = 15 behaviours
    assert "at most 12" in problems["scorecards[0].behaviours"]


def test_files_that_cannot_be_read_or_parsed_are_problems_naming_the_file(tmp_path: Path) -> None:
    missing = read_scorecards_file(tmp_path / "nope.yaml")
    assert missing.scorecards is None
    assert missing.problems[0].file == str(tmp_path / "nope.yaml")
    assert "cannot read" in missing.problems[0].reason
    broken = tmp_path / "broken.yaml"
    broken.write_text("scorecards: [", encoding="utf-8")
    assert "not valid YAML" in read_scorecards_file(broken).problems[0].reason
    assert read_scorecards("", file="x").problems[0].reason == "the document is empty"
    twice = read_scorecards(MINIMAL + "version: 1\n")
    assert any("duplicate key 'version'" in p.reason for p in twice.problems)
    assert twice.scorecards is None


def test_targets_stay_exact_and_a_kind_without_one_is_none() -> None:
    cards = validate_scorecards(
        {
            "team_role": "ae",
            "scorecards": [
                {
                    "role": "ae",
                    "results": [{"name": "won", "kpi": "won_amount", "targets": {"monthly": "0.1"}}],
                    "behaviours": [{"name": "m", "kpi": "meetings", "targets": 3, "drives": ["won"]}],
                }
            ],
        }
    ).scorecards
    assert cards is not None
    card = cards.scorecards[0]
    assert card.results[0].targets.for_kind(PeriodKind.MONTH) == Decimal("0.1")
    assert card.results[0].targets.for_kind(PeriodKind.WEEK) is None
    assert card.behaviours[0].targets.for_kind(PeriodKind.YEAR) == Decimal(3)
    assert card.drivers_of("won") == (card.behaviours[0],)


def test_the_direction_defaults_to_the_kpis_own() -> None:
    cards = read_scorecards(MINIMAL).scorecards
    assert cards is not None
    card = cards.scorecards[0]
    assert card.item("meetings").good_direction is Direction.HIGHER
    assert card.item("overdue").good_direction is Direction.LOWER  # next_step_overdue: lower is better
    flipped = read_scorecards(MINIMAL.replace("kpi: meetings,", "kpi: meetings, direction: lower,"))
    assert flipped.scorecards is not None
    assert flipped.scorecards.scorecards[0].item("meetings").good_direction is Direction.LOWER


# --- judging values -----------------------------------------------------------------------------------


@pytest.fixture
def card() -> RoleScorecard:
    cards = read_scorecards(MINIMAL).scorecards
    assert cards is not None
    return cards.scorecards[0]


def test_elapsed_share_of_a_period() -> None:
    """FY2026 Q1 with a February start: 2025-02-01 .. 2025-04-30, 89 days."""
    quarter = FiscalCalendar(2).parse("2026-Q1")
    assert elapsed_share(quarter, date(2025, 1, 31)) == 0.0
    assert elapsed_share(quarter, date(2025, 2, 1)) == pytest.approx(1 / 89)
    assert elapsed_share(quarter, date(2025, 3, 15)) == pytest.approx(43 / 89)  # 28 Feb days + 15
    assert elapsed_share(quarter, date(2025, 4, 30)) == 1.0
    assert elapsed_share(quarter, date(2025, 10, 1)) == 1.0


def test_totals_are_judged_against_the_target_so_far(card: RoleScorecard) -> None:
    """36 meetings a quarter, half the quarter gone: 18 expected so far; 17 is behind, 18 on track."""
    meetings = card.item("meetings")
    behind = judge(meetings, 17.0, PeriodKind.QUARTER, 0.5)
    assert (behind.target, behind.expected, behind.status) == (Decimal(36), Decimal("18.0"), Status.BEHIND)
    assert judge(meetings, 18.0, PeriodKind.QUARTER, 0.5).status is Status.ON_TRACK
    assert judge(meetings, 3.0, PeriodKind.WEEK, 1.0).status is Status.ON_TRACK  # 3 a week
    assert judge(meetings, None, PeriodKind.QUARTER, 1.0).status is Status.NO_DATA
    assert judge(meetings, 5.0, PeriodKind.MONTH, 1.0).status is Status.NO_TARGET  # no monthly target


def test_ratios_and_snapshots_are_not_pro_rated_and_lower_can_be_better(card: RoleScorecard) -> None:
    win_rate = judge(card.item("win_rate"), 0.24, PeriodKind.QUARTER, 0.5)
    assert (win_rate.expected, win_rate.status) == (Decimal("0.25"), Status.BEHIND)
    overdue = card.item("overdue")  # at most 10 % of open deals overdue
    assert judge(overdue, 0.10, PeriodKind.MONTH, 0.3).status is Status.ON_TRACK
    assert judge(overdue, 0.11, PeriodKind.MONTH, 0.3).status is Status.BEHIND
    stuck = judge(card.item("stuck"), 3.0, PeriodKind.QUARTER, 0.5)  # a count, but of a moment: target 2
    assert (stuck.expected, stuck.status) == (Decimal(2), Status.BEHIND)


def test_attention_when_behind_on_a_third_of_behaviours_or_activities_look_suspect() -> None:
    assert attention_reasons(["meetings"], 3, None) == ["behind target on 1 of 3 behaviours (meetings)"]
    assert attention_reasons(["meetings"], 4, None) == []  # 1 of 4 is less than a third
    assert attention_reasons([], 0, 0.19) == []
    assert attention_reasons([], 0, 0.2) == [
        "20% of activities look suspect (empty calls, bursts, activities touching nothing)"
    ]
    assert suspect_share(100, 75) == 0.25  # 1 − 75 / 100
    assert suspect_share(19, 0) is None  # fewer than 20 activities: not judged
