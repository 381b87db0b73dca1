"""`/api/v1/inspections` and `/api/v1/inspections/goodhart` over the small company, as each role.

The small company has one open deal, O3 (P-AE1, Proposal, 80 000 EUR, next step dated 2025-04-02).
Its history goes Discovery (03-01) → Proposal (03-25), so Prospecting, Qualification and Solution were
skipped. Its only activity is P-SE's discovery meeting (AC4), so of the shipped criteria it meets
first_contact and discovery_completed (2) and misses the other 5 of the 7 up to Proposal.
Inspected as of 2025-04-10: 16 days in Proposal, next step 8 days overdue; value 80 000 × 1.085 (the
EUR rate) = 86 800.00 USD.
"""

from __future__ import annotations

from tests.e2e.conftest import Web

URL = "/api/v1/inspections"
AS_OF = {"as_of": "2025-04-10"}


def test_the_open_deal_is_inspected(web: Web) -> None:
    response = web.client("admin").get(URL, params=AS_OF)
    assert response.status_code == 200, response.text
    page = response.json()
    assert (page["total"], page["as_of"], page["base_currency"]) == (1, "2025-04-10", "USD")
    (deal,) = page["items"]
    assert deal["opportunity_id"] == "O3"
    assert (deal["amount"], deal["currency"], deal["value"]) == ("80000.00", "EUR", "86800.00")
    assert deal["skipped_stages"] == ["Prospecting", "Qualification", "Solution"]
    assert (deal["criteria_met"], deal["criteria_total"]) == (2, 7)
    assert [m["criterion"] for m in deal["missing"]] == [
        "metrics_identified",
        "economic_buyer_identified",
        "qualification_fields",
        "demo_completed",
        "mutual_action_plan",
    ]
    assert (deal["earned_stage"], deal["advanced_without_evidence"]) == (False, True)
    assert (deal["days_in_stage"], deal["next_step_overdue"], deal["has_gaps"]) == (16, True, True)
    (rep,) = page["reps"]
    assert (rep["person_id"], rep["open_deals"], rep["gap_value"]) == ("P-AE1", 1, "86800.00")
    units = [(u["org_unit_id"], u["kind"]) for u in page["units"]]
    assert units == [("CO", "company"), ("R-AMER", "region"), ("T-EAST", "team")]


def test_rows_follow_the_viewer_scope(web: Web) -> None:
    """O3 is P-AE1's: visible to P-AE1, to their manager, to finance; not to P-AE2."""
    seen = {
        user: [d["opportunity_id"] for d in web.client(user).get(URL, params=AS_OF).json()["items"]]
        for user in ("rep", "manager", "finance", "rep2")
    }
    assert seen == {"rep": ["O3"], "manager": ["O3"], "finance": ["O3"], "rep2": []}


def test_subjects_levels_and_paging(web: Web) -> None:
    admin = web.client("admin")
    team = admin.get(URL, params={**AS_OF, "level": "team", "subject_id": "T-EAST"}).json()
    assert [d["opportunity_id"] for d in team["items"]] == ["O3"]
    other = admin.get(URL, params={**AS_OF, "subject_id": "P-AE2"}).json()
    assert other["total"] == 0
    empty_page = admin.get(URL, params={**AS_OF, "limit": 1, "offset": 1}).json()
    assert (empty_page["items"], empty_page["total"]) == ([], 1)
    missing = admin.get(URL, params={"level": "team", "subject_id": "NOPE"})
    assert missing.status_code == 404
    assert missing.json()["detail"] == "no org unit 'NOPE'"
    assert admin.get(URL, params={"level": "galaxy", "subject_id": "X"}).status_code == 422


def test_goodhart_flags_per_rep(web: Web) -> None:
    """AC2 is a 0-minute call of P-AE1 with outcome "no answer": explained, not suspect. O3 advanced
    without evidence and its next step is in the past: both deal rules flag it. The rep sees only
    their own row."""
    params = {**AS_OF, "start": "2025-01-01"}
    report = web.client("admin").get(f"{URL}/goodhart", params=params).json()
    assert (report["start"], report["end"]) == ("2025-01-01", "2025-04-11")
    reps = {r["person_id"]: r for r in report["reps"]}
    assert set(reps) == {"P-AE1", "P-AE2", "P-SE"}
    ae1 = reps["P-AE1"]
    assert (ae1["activities"], ae1["suspect_activities"], ae1["is_flagged"]) == (2, 0, False)
    assert (ae1["advanced_without_evidence"], ae1["next_steps_in_past"]) == (1, 1)
    assert report["deals"] == [
        {
            "opportunity_id": "O3",
            "owner_id": "P-AE1",
            "reasons": ["advanced_without_evidence", "next_step_in_past"],
        }
    ]
    mine = web.client("rep2").get(f"{URL}/goodhart", params=params).json()
    assert [r["person_id"] for r in mine["reps"]] == ["P-AE2"]
    assert mine["deals"] == []
