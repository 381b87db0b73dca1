"""KPIs through the service, from a real store (SQLite and PostgreSQL): values, scopes, cache, demo effects.

The small company (tests/fixtures/canonical/small; fiscal year = calendar year) in 2025-Q1: O1 won by
P-AE1 on 03-20 for 120,000 USD (created 01-10); O2 lost by P-AE2 on 03-05 at 45,000.75 (created 02-01);
O3 of P-AE1 open, 80,000 EUR (created 03-01; EUR at 1.085 from 2025-01-01). P-AE1 and P-AE2 are in
T-EAST under P-MGR; P-SE sits in R-AMER and reports to nobody. Bookings quotas: P-AE1 150,000, P-AE2
100,000, T-EAST 250,000.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine

from openspm.access.roles import Permission, Principal, Role
from openspm.demo import generate_company
from openspm.domain.errors import InvalidRequest
from openspm.services import kpis
from openspm.services.demo import load_demo
from openspm.services.imports import import_directory
from openspm.services.scopes import Scope

SMALL = Path(__file__).parent.parent / "fixtures" / "canonical" / "small"
AS_OF = date(2025, 4, 1)
Q1 = "2025-Q1"


@pytest.fixture
def small(engine: Engine) -> Iterator[Engine]:
    assert import_directory(engine, SMALL).ok
    kpis.clear_cache()
    yield engine
    kpis.clear_cache()


def _scope(person: str | None, role: Role) -> Scope:
    return Scope(Principal(1, "u", person, frozenset({role})), Permission.VIEW_DEALS, AS_OF)


def _by_key(values: list[kpis.KpiValue]) -> dict[tuple[str, str], float | None]:
    return {(v.subject_id, v.kpi): v.value for v in values}


def test_results_per_person_team_region_and_company(small: Engine) -> None:
    """Won 120,000 of quotas 150,000 (P-AE1) and 250,000 (T-EAST); win rate by value
    120,000 ÷ (120,000 + 45,000.75); pipeline created 120,000 + 45,000.75 + 80,000 × 1.085 = 251,800.75."""
    people = _by_key(kpis.compute_kpis(small, level="person", periods=[Q1], as_of=AS_OF))
    assert people[("P-AE1", "won_amount")] == 120_000
    assert people[("P-AE1", "attainment")] == pytest.approx(0.8)
    assert people[("P-AE2", "lost_count")] == 1
    assert people[("P-AE2", "win_rate")] == 0.0
    team = _by_key(kpis.compute_kpis(small, level="team", periods=[Q1], as_of=AS_OF))
    assert team[("T-EAST", "attainment")] == pytest.approx(0.48)
    assert team[("T-EAST", "win_rate_value")] == pytest.approx(120_000 / 165_000.75)
    assert team[("T-EAST", "pipeline_created")] == pytest.approx(251_800.75)
    company = kpis.compute_kpis(small, level="company", periods=[Q1], kpis=["won_count"], as_of=AS_OF)
    assert [(v.subject_id, v.subject_level, v.value) for v in company] == [("CO", "company", 1.0)]


def test_subjects_and_kpis_narrow_the_answer_in_catalogue_order(small: Engine) -> None:
    values = kpis.compute_kpis(
        small, level="person", periods=[Q1, "2025-Q2"], subjects=["P-AE2"], kpis=["win_rate", "won_count"],
        as_of=AS_OF,
    )  # fmt: skip
    assert [(v.period, v.kpi) for v in values] == [
        (Q1, "win_rate"), (Q1, "won_count"), ("2025-Q2", "win_rate"), ("2025-Q2", "won_count"),
    ]  # fmt: skip
    with pytest.raises(InvalidRequest, match="unknown KPI"):
        kpis.compute_kpis(small, level="person", periods=[Q1], kpis=["winrate"], as_of=AS_OF)
    with pytest.raises(InvalidRequest, match="unknown level"):
        kpis.compute_kpis(small, level="galaxy", periods=[Q1], as_of=AS_OF)
    with pytest.raises(InvalidRequest, match="period"):
        kpis.compute_kpis(small, level="person", periods=["2025Q1"], as_of=AS_OF)


def test_scopes_limit_the_subjects(small: Engine) -> None:
    """A rep sees only themselves; P-MGR their subtree (not P-SE) and their own team, not the region."""
    rep = kpis.compute_kpis(
        small, level="person", periods=[Q1], kpis=["won_count"], scope=_scope("P-AE1", Role.REP)
    )
    assert [v.subject_id for v in rep] == ["P-AE1"]
    assert kpis.compute_kpis(small, level="team", periods=[Q1], scope=_scope("P-AE1", Role.REP)) == []
    manager = _scope("P-MGR", Role.MANAGER)
    people = kpis.compute_kpis(small, level="person", periods=[Q1], kpis=["won_count"], scope=manager)
    assert [v.subject_id for v in people] == ["P-AE1", "P-AE2", "P-MGR"]
    assert [
        v.subject_id
        for v in kpis.compute_kpis(small, level="team", periods=[Q1], kpis=["won_count"], scope=manager)
    ] == ["T-EAST"]
    assert kpis.compute_kpis(small, level="region", periods=[Q1], kpis=["won_count"], scope=manager) == []
    admin = kpis.compute_kpis(
        small, level="region", periods=[Q1], kpis=["won_count"], scope=_scope(None, Role.ADMIN)
    )
    assert [(v.subject_id, v.value) for v in admin] == [("R-AMER", 1.0)]


def test_a_managers_scoped_query_over_several_periods(small: Engine) -> None:
    """P-MGR's people in 2024-Q2 (Apr–Jun 2024) and 2025-Q1: P-AE1 and P-MGR in both, P-AE2 only from
    2024-07-15, never P-SE. Won counts: P-AE1 1 in 2025-Q1 (O1), 0 otherwise. The scope's mask is built
    per period on the same rows, so periods with different subjects do not clash."""
    manager = _scope("P-MGR", Role.MANAGER)
    values = kpis.compute_kpis(
        small, level="person", periods=["2024-Q2", Q1], kpis=["won_count"], scope=manager, as_of=AS_OF
    )
    assert [(v.subject_id, v.period, v.value) for v in values] == [
        ("P-AE1", "2024-Q2", 0.0), ("P-AE1", Q1, 1.0), ("P-AE2", Q1, 0.0),
        ("P-MGR", "2024-Q2", 0.0), ("P-MGR", Q1, 0.0),
    ]  # fmt: skip
    teams = kpis.compute_kpis(
        small, level="team", periods=["2024-Q2", Q1, "2025-Q2"], kpis=["won_count"], scope=manager,
        as_of=AS_OF,
    )  # fmt: skip
    assert [(v.subject_id, v.period, v.value) for v in teams] == [
        ("T-EAST", "2024-Q2", 0.0), ("T-EAST", Q1, 1.0), ("T-EAST", "2025-Q2", 0.0),
    ]  # fmt: skip


def test_series_and_drilldown(small: Engine) -> None:
    """Won count by quarter: 2024-Q3 0, 2024-Q4 0, 2025-Q1 1 (O1). Drill-down: CO → R-AMER → T-EAST → reps."""
    series = kpis.kpi_series(small, kpi="won_count", level="team", end=Q1, count=3, as_of=AS_OF)
    assert [(v.period, v.value) for v in series] == [("2024-Q3", 0.0), ("2024-Q4", 0.0), (Q1, 1.0)]
    ranged = kpis.kpi_series(
        small, kpi="won_count", level="company", start="2025-01", end="2025-03", as_of=AS_OF
    )
    assert [(v.period, v.value) for v in ranged] == [("2025-01", 0.0), ("2025-02", 0.0), ("2025-03", 1.0)]
    down = kpis.drilldown(small, subject_id="CO", periods=[Q1], kpis=["won_count"], as_of=AS_OF)
    assert [(v.subject_id, v.subject_level) for v in down] == [("R-AMER", "region")]
    down = kpis.drilldown(small, subject_id="T-EAST", periods=[Q1], kpis=["won_count"], as_of=AS_OF)
    assert [(v.subject_id, v.value) for v in down] == [("P-AE1", 1.0), ("P-AE2", 0.0), ("P-MGR", 0.0)]


def test_an_import_invalidates_the_cache(small: Engine, tmp_path: Path) -> None:
    """After a new import (P-AE2's O2 now won) the next request recomputes: team won count 1 → 2."""
    before = kpis.compute_kpis(small, level="team", periods=[Q1], kpis=["won_count"], as_of=AS_OF)
    assert before[0].value == 1.0
    changed = tmp_path / "changed"
    changed.mkdir()
    rows = (
        (SMALL / "opportunities.csv")
        .read_text()
        .replace("Closed Lost,2025-02-01,2025-03-05,true,false", "Closed Won,2025-02-01,2025-03-05,true,true")
    )
    (changed / "opportunities.csv").write_text(rows)
    assert import_directory(small, changed).ok
    after = kpis.compute_kpis(small, level="team", periods=[Q1], kpis=["won_count"], as_of=AS_OF)
    assert after[0].value == 2.0


def test_the_demo_companys_planted_behaviours_show(engine: Engine) -> None:
    """In the demo (scale 0.1), the disciplined AE wins more often and keeps more next steps than the
    undisciplined one, and the gaming rep's quality-adjusted activities are far below the raw count."""
    load = load_demo(engine, scale=0.1, seed=2025, calculate_pay=False)  # pay is not a KPI input
    assert load.report.ok
    kpis.clear_cache()
    facts = generate_company(scale=0.1, seed=2025).facts
    good, poor = facts["people"]["disciplined_ae"], facts["people"]["undisciplined_ae"]
    gamer = facts["gaming_rep_ids"][0]
    year = _by_key(
        kpis.compute_kpis(
            engine, level="person", periods=["FY2025"], subjects=[good, poor, gamer],
            kpis=["win_rate", "activities", "activities_quality"], as_of=date(2025, 10, 15),
        )
    )  # fmt: skip
    now = _by_key(
        kpis.compute_kpis(
            engine, level="person", periods=["2026-Q3"], subjects=[good, poor], kpis=["next_step_set"],
            as_of=date(2025, 10, 15),
        )
    )  # fmt: skip
    kpis.clear_cache()
    assert year[(good, "win_rate")] > year[(poor, "win_rate")]
    assert now[(good, "next_step_set")] > now[(poor, "next_step_set")]
    assert year[(gamer, "activities_quality")] < 0.6 * year[(gamer, "activities")]
    assert year[(good, "activities_quality")] == year[(good, "activities")]


def test_a_miss_fills_every_level_and_warming_fills_the_dashboards_quarters(
    small: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One engine run answers every level: after a team request, person and company are cached too.
    `warm_cache` computes the current quarter and the seven before it; the warmer runs it only when the
    data version changed since its last run."""
    from openspm.engine import kpis as engine_kpis
    from openspm.services.warmer import CacheWarmer

    runs: list[tuple[list[str], list[str]]] = []
    real = engine_kpis.compute_kpis

    def counted(inputs: engine_kpis.KpiInputs, **kw: object) -> object:
        runs.append((list(kw["levels"]), list(kw["periods"])))  # type: ignore[call-overload]
        return real(inputs, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(engine_kpis, "compute_kpis", counted)
    kpis.compute_kpis(small, level="team", periods=[Q1], as_of=AS_OF)
    assert runs == [(["person", "region", "team", "company"], [Q1])]
    company = kpis.compute_kpis(small, level="company", periods=[Q1], kpis=["won_count"], as_of=AS_OF)
    person = kpis.compute_kpis(small, level="person", periods=[Q1], kpis=["won_count"], as_of=AS_OF)
    assert len(runs) == 1  # both answered from the cache
    assert company[0].value == 1.0  # O1
    assert {v.subject_id for v in person} >= {"P-AE1", "P-AE2"}

    warmer = CacheWarmer(small, interval=3600, as_of=AS_OF)
    assert warmer.check() is True  # Q1 is cached already: only the seven quarters before it are computed
    assert runs[-1][1] == ["2023-Q3", "2023-Q4", "2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2025-Q2"]
    assert warmer.check() is False  # same data version: nothing to do
    assert len(runs) == 2


def test_a_rep_who_moved_is_seen_by_the_manager_of_the_periods_last_day(
    small: Engine, tmp_path: Path
) -> None:
    """P-AE1 moves from P-MGR to P-SE on 2025-02-15. For 2025-Q1 (last day 03-31) P-AE1 is P-SE's, so
    P-MGR does not see what P-AE1 did after leaving (O1, won 03-20); for 2024-Q4 P-AE1 is still P-MGR's."""
    moved = tmp_path / "moved"
    moved.mkdir()
    (moved / "assignments.csv").write_text(
        "person_id,role,org_unit_id,manager_id,start_date,end_date\n"
        "P-AE1,ae,T-EAST,P-MGR,2021-03-01,2025-02-15\n"
        "P-AE1,ae,R-AMER,P-SE,2025-02-15,\n"
    )
    report = import_directory(small, moved)
    assert report.ok, report
    periods = ["2024-Q4", Q1]

    def seen(person: str) -> set[tuple[str, str]]:
        values = kpis.compute_kpis(
            small, level="person", periods=periods, kpis=["won_count"], scope=_scope(person, Role.MANAGER),
            as_of=AS_OF,
        )  # fmt: skip
        return {(v.subject_id, v.period) for v in values}

    assert ("P-AE1", Q1) not in seen("P-MGR")
    assert ("P-AE1", "2024-Q4") in seen("P-MGR")
    assert ("P-AE1", Q1) in seen("P-SE")
    assert ("P-AE1", "2024-Q4") not in seen("P-SE")


def test_bookings_quotas_are_exact_and_a_year_sums_its_quarters(small: Engine) -> None:
    """Q1 quotas as stored; FY2025 has none of its own, so it is the sum of the quarters set (Q1 only)."""
    with small.connect() as conn:
        got = kpis.bookings_quotas(conn, ["P-AE1", "T-EAST", "P-SE"], [Q1, "FY2025", "2024-Q4"])
    assert got == {
        ("P-AE1", Q1): Decimal(150000),
        ("T-EAST", Q1): Decimal(250000),
        ("P-AE1", "FY2025"): Decimal(150000),
        ("T-EAST", "FY2025"): Decimal(250000),
    }
    assert all(isinstance(v, Decimal) for v in got.values())
