"""Scorecards and behaviour evidence read from a real store (SQLite and PostgreSQL), through row scopes.

The small company (tests/fixtures/canonical/small), calendar years as fiscal years, fiscal 2025-Q1 =
January–March 2025, seen as of 2025-06-01 (the quarter is over: nothing is pro-rated):

- P-AE1 won O1 (120,000 USD, closed 2025-03-20) against a bookings quota of 150,000, and logged one
  discovery meeting (AC1) and one call (AC2);
- P-AE2 lost O2 and logged a demo (AC3), no meeting and no call;
- P-MGR manages both in T-EAST; P-SE (in R-AMER) reports to nobody.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine

from openspm.access.roles import Permission, Principal, Role
from openspm.domain.errors import NotFound
from openspm.domain.scorecards import ScorecardSet, Status
from openspm.engine.behaviours import Verdict
from openspm.ingest.scorecards import read_scorecards
from openspm.services import behaviours, kpis
from openspm.services.imports import import_directory
from openspm.services.scopes import Scope
from openspm.services.scorecards import scorecard

SMALL = Path(__file__).parent.parent / "fixtures" / "canonical" / "small"
DAY = date(2025, 6, 1)

CARDS = """
version: 1
team_role: manager
scorecards:
  - role: ae
    results:
      - {name: won, kpi: won_amount, targets: {quarterly: 100000}}
      - {name: attainment, kpi: attainment, targets: 1.0}
    behaviours:
      - {name: meetings, kpi: meetings, targets: {quarterly: 1}, drives: [won]}
      - {name: calls, kpi: calls, targets: {quarterly: 1}, drives: [won, attainment]}
  - role: manager
    results:
      - {name: won, kpi: won_amount, targets: {quarterly: 200000}}
    behaviours:
      - {name: meetings, kpi: meetings, targets: {quarterly: 1}, drives: [won]}
"""


@pytest.fixture
def cards() -> ScorecardSet:
    validation = read_scorecards(CARDS)
    assert validation.scorecards is not None, validation.problems
    return validation.scorecards


@pytest.fixture
def store(engine: Engine) -> Engine:
    assert import_directory(engine, SMALL).ok
    kpis.clear_cache()
    behaviours.clear_cache()
    return engine


def _scope(role: Role, person: str | None) -> Scope:
    return Scope(Principal(1, role.value, person, frozenset({role})), Permission.VIEW_DEALS, DAY)


ADMIN = _scope(Role.ADMIN, None)
REP = _scope(Role.REP, "P-AE1")
MANAGER = _scope(Role.MANAGER, "P-MGR")


def test_a_reps_scorecard_judges_each_line_against_its_target(store: Engine, cards: ScorecardSet) -> None:
    card = scorecard(store, person_id="P-AE1", period="2025-Q1", scope=REP, scorecards=cards)
    assert (card.subject_id, card.subject_name, card.role, card.level) == (
        "P-AE1",
        "Alex Kim",
        "ae",
        "person",
    )
    assert card.elapsed == 1.0
    results = {line.name: line for line in card.results}
    assert results["won"].value == Decimal("120000.00")  # O1
    assert results["won"].status is Status.ON_TRACK  # 120,000 ≥ 100,000
    assert results["attainment"].value == pytest.approx(0.8)  # 120,000 / 150,000
    assert results["attainment"].status is Status.BEHIND
    assert results["won"].drives == ["meetings", "calls"]
    lines = {line.name: line for line in card.behaviours}
    assert lines["meetings"].value == 1.0 and lines["meetings"].status is Status.ON_TRACK  # AC1
    assert lines["calls"].value == 1.0 and lines["calls"].status is Status.ON_TRACK  # AC2
    assert [p.period for p in results["won"].trend] == [
        "2023-Q4", "2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2025-Q1",
    ]  # fmt: skip
    assert results["won"].trend[-1].value == Decimal("120000.00")
    assert not card.needs_attention and card.members == []


def test_a_team_scorecard_has_a_row_per_member_with_who_needs_attention(
    store: Engine, cards: ScorecardSet
) -> None:
    """P-AE2 has no meeting and no call: behind on 2 of 2 behaviours, so first in attention order."""
    card = scorecard(store, org_unit_id="T-EAST", period="2025-Q1", scope=MANAGER, scorecards=cards)
    assert (card.level, card.role, card.subject_name) == ("team", "manager", "East team")
    (won,) = card.results
    assert won.value == Decimal("120000.00") and won.status is Status.BEHIND  # below 200,000
    assert [m.person_id for m in card.members] == ["P-AE2", "P-AE1"]
    second, first = card.members[1], card.members[0]
    assert (first.behaviours_behind, first.behaviours_with_target, first.needs_attention) == (2, 2, True)
    assert first.reasons == ["behind target on 2 of 2 behaviours (meetings, calls)"]
    assert (second.behaviours_behind, second.needs_attention) == (0, False)
    by_name = scorecard(
        store,
        org_unit_id="T-EAST",
        period="2025-Q1",
        scope=MANAGER,
        scorecards=cards,
        sort="name",
        descending=False,
    )
    assert [m.name for m in by_name.members] == ["Alex Kim", "Jo Müller"]
    by_won = scorecard(
        store, org_unit_id="T-EAST", period="2025-Q1", scope=ADMIN, scorecards=cards, sort="won"
    )
    assert [m.person_id for m in by_won.members] == ["P-AE1", "P-AE2"]  # 120,000 before 0


def test_scorecards_outside_the_scope_are_not_found(store: Engine, cards: ScorecardSet) -> None:
    with pytest.raises(NotFound):
        scorecard(store, person_id="P-AE2", period="2025-Q1", scope=REP, scorecards=cards)
    with pytest.raises(NotFound):
        scorecard(store, org_unit_id="T-EAST", period="2025-Q1", scope=REP, scorecards=cards)
    with pytest.raises(NotFound):
        scorecard(store, person_id="P-SE", period="2025-Q1", scope=MANAGER, scorecards=cards)
    with pytest.raises(NotFound):  # a role without a scorecard (se)
        scorecard(store, person_id="P-SE", period="2025-Q1", scope=ADMIN, scorecards=cards)
    assert scorecard(
        store, person_id="P-AE2", period="2025-Q1", scope=MANAGER, scorecards=cards
    ).subject_id == ("P-AE2")


def test_behaviour_evidence_reads_the_store_and_is_cached_per_data_version(
    store: Engine, tmp_path: Path
) -> None:
    """Two closed deals are far too few to tell anything: every comparison says so, and no model is fit."""
    report = behaviours.behaviour_evidence(store, scope=REP)
    assert (report.closed_deals, report.won_deals) == (2, 1)  # O1 won, O2 lost
    assert {c.verdict for c in report.win_rates} == {Verdict.TOO_FEW}
    assert report.win_model is None
    assert behaviours.behaviour_evidence(store, scope=MANAGER) is report, "same data version: cached"
    changed = tmp_path / "import"
    changed.mkdir()
    header = (SMALL / "activities.csv").read_text(encoding="utf-8").splitlines()[0]
    (changed / "activities.csv").write_text(
        f"{header}\nAC9,P-AE2,meeting,2025-02-20T10:00:00,30,A2,O2,discovery,Discovery\n", encoding="utf-8"
    )
    assert import_directory(store, changed).ok
    again = behaviours.behaviour_evidence(store, scope=REP)
    assert again is not report and again.data_version > report.data_version
    discovery = next(c for c in again.win_rates if c.behaviour == "discovery_done")
    assert (discovery.deals_with, discovery.won_with) == (2, 1)  # O1 (AC1) and now O2 (AC9)
