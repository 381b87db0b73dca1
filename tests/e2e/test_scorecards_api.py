"""`/api/v1/scorecards/{subject_id}` and `/api/v1/behaviours` over HTTP, with the shipped scorecards.

The small company (calendar-year fiscal years): in 2025-Q1 P-AE1 won O1 (120,000 USD) and lost nothing;
P-AE2 lost O2. P-MGR manages both in T-EAST; P-SE is outside the manager's subtree.
"""

from __future__ import annotations

from tests.e2e.conftest import Web

Q1 = {"period": "2025-Q1", "as_of": "2025-06-01"}


def test_a_rep_reads_their_own_scorecard_with_money_as_text_and_ratios_as_numbers(web: Web) -> None:
    response = web.client("rep").get("/api/v1/scorecards/P-AE1", params=Q1)
    assert response.status_code == 200, response.text
    card = response.json()
    assert (card["subject_id"], card["role"], card["level"], card["period"]) == (
        "P-AE1",
        "ae",
        "person",
        "2025-Q1",
    )
    results = {line["name"]: line for line in card["results"]}
    assert results["new_business"]["value"] == "120000.00"  # O1, money as exact text
    assert results["new_business"]["target"] == "250000.00"  # the shipped quarterly target
    assert results["new_business"]["status"] == "behind"
    assert results["win_rate"]["value"] == 1.0  # 1 won ÷ (1 won + 0 lost)
    assert results["win_rate"]["status"] == "on_track"  # ≥ 0.25
    assert len(results["win_rate"]["trend"]) == 6
    assert {line["kind"] for line in card["behaviours"]} == {"behaviour"}
    assert card["members"] == []


def test_a_rep_cannot_read_a_colleagues_or_the_teams_scorecard(web: Web) -> None:
    rep = web.client("rep")
    for path, params in (
        ("/api/v1/scorecards/P-AE2", Q1),
        ("/api/v1/scorecards/T-EAST", {**Q1, "level": "team"}),
    ):
        response = rep.get(path, params=params)
        assert response.status_code == 404, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


def test_a_manager_reads_the_team_with_a_row_per_rep(web: Web) -> None:
    response = web.client("manager").get("/api/v1/scorecards/T-EAST", params={**Q1, "level": "team"})
    assert response.status_code == 200, response.text
    card = response.json()
    assert (card["level"], card["role"]) == ("team", "manager")
    assert {m["person_id"] for m in card["members"]} == {"P-AE1", "P-AE2"}  # P-MGR is the team itself
    by_name = web.client("manager").get(
        "/api/v1/scorecards/T-EAST", params={**Q1, "level": "team", "sort": "name", "order": "asc"}
    )
    assert [m["name"] for m in by_name.json()["members"]] == ["Alex Kim", "Jo Müller"]
    outside = web.client("manager").get("/api/v1/scorecards/P-SE", params=Q1)
    assert outside.status_code == 404


def test_a_bad_period_is_refused(web: Web) -> None:
    response = web.client("admin").get("/api/v1/scorecards/P-AE1", params={"period": "2025-Q9"})
    assert response.status_code == 422


def test_behaviour_evidence_is_the_same_company_wide_report_for_every_viewer(web: Web) -> None:
    """Two closed deals (O1 won, O2 lost): too few to tell anything, and said so."""
    rep = web.client("rep").get("/api/v1/behaviours")
    assert rep.status_code == 200, rep.text
    report = rep.json()
    assert (report["closed_deals"], report["won_deals"]) == (2, 1)
    assert {c["verdict"] for c in report["win_rates"]} == {"too_few"}
    assert "discovery_done" in report["not_predictive"]
    assert "person_id" not in rep.text, "no row about a person"
    admin = web.client("admin").get("/api/v1/behaviours").json()
    assert admin["win_rates"] == report["win_rates"]
