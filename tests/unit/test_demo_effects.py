"""What the demo company planted can be found in its tables, in the planted direction and size."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from openspm.demo import DemoCompany, generate_company
from openspm.domain.periods import FiscalCalendar

OPEN_STAGES = ("Prospecting", "Discovery", "Qualification", "Solution", "Proposal", "Negotiation")


@pytest.fixture(scope="module")
def company() -> DemoCompany:
    return generate_company(1.0)


def _rows(table: pa.Table, *columns: str) -> list[dict[str, object]]:
    return table.select(list(columns)).to_pylist()  # type: ignore[no-any-return]


def _history_by_deal(company: DemoCompany) -> dict[str, list[dict[str, object]]]:
    history = company.tables["opportunity_history"].sort_by(
        [("opportunity_id", "ascending"), ("changed_at", "ascending")]
    )
    by_deal: dict[str, list[dict[str, object]]] = defaultdict(list)
    for row in _rows(history, "opportunity_id", "changed_at", "stage", "close_date"):
        by_deal[str(row["opportunity_id"])].append(row)
    return by_deal


def test_the_company_has_the_size_the_issue_asks_for(company: DemoCompany) -> None:
    counts = company.summary()
    roles = Counter(_assignment_roles(company).values())
    assert 115 <= roles["ae"] + roles["sdr"] <= 125
    assert 0.65 <= roles["ae"] / (roles["ae"] + roles["sdr"] + roles["se"]) <= 0.75
    assert (roles["director"], roles["manager"], roles["vp"]) == (3, 12, 1)
    assert counts["accounts"] == 6000
    assert 25_000 <= counts["opportunities"] <= 32_000
    assert 300_000 <= counts["activities"] <= 520_000
    units = Counter(company.tables["org_units"]["kind"].to_pylist())
    assert units == {"company": 1, "region": 3, "team": 12}
    assert 6 <= counts["products"] <= 10


def _assignment_roles(company: DemoCompany) -> dict[str, str]:
    return {
        str(r["person_id"]): str(r["role"]) for r in _rows(company.tables["assignments"], "person_id", "role")
    }


def test_deals_with_discovery_and_a_next_step_win_markedly_more(company: DemoCompany) -> None:
    activities = company.tables["activities"]
    discovered = set(
        activities.filter(pc.equal(activities["outcome"], "discovery"))["opportunity_id"].to_pylist()
    )
    closed = company.tables["opportunities"].filter(company.tables["opportunities"]["is_closed"])
    tally: dict[bool, list[int]] = {True: [0, 0], False: [0, 0]}
    for deal in _rows(closed, "opportunity_id", "next_step", "is_won"):
        evidence = deal["opportunity_id"] in discovered and deal["next_step"] is not None
        tally[evidence][0] += bool(deal["is_won"])
        tally[evidence][1] += 1
    with_evidence, without = (tally[k][0] / tally[k][1] for k in (True, False))
    effects = company.facts["effects"]
    assert with_evidence == pytest.approx(effects["win_rate_with_discovery_and_next_step"], abs=0.03)
    assert without == pytest.approx(effects["win_rate_without_discovery_and_next_step"], abs=0.03)


def test_meddicc_checklists_are_filled_more_often_on_won_deals(company: DemoCompany) -> None:
    deals = company.tables["opportunities"]
    qualified = deals.filter(
        pc.and_(deals["is_closed"], pc.invert(pc.match_substring(deals["extra"], '"metrics": false')))
    )
    assert qualified.num_rows > 0
    share: dict[bool, list[int]] = {True: [0, 0], False: [0, 0]}
    for deal in _rows(deals.filter(deals["is_closed"]), "is_won", "extra"):
        checklist = json.loads(str(deal["extra"]))
        share[bool(deal["is_won"])][0] += checklist["metrics"] and checklist["champion"] is not None
        share[bool(deal["is_won"])][1] += 1
    won, lost = (share[k][0] / share[k][1] for k in (True, False))
    assert won > 2 * lost


def test_sdrs_who_book_more_first_meetings_create_more_pipeline(company: DemoCompany) -> None:
    activities = company.tables["activities"]
    meetings = activities.filter(pc.equal(activities["outcome"], "first_meeting"))
    booked = Counter(meetings["person_id"].to_pylist())
    linked = meetings.filter(pc.is_valid(meetings["opportunity_id"]))
    sourced = Counter(linked["person_id"].to_pylist())
    sdrs = sorted(booked)
    counts = np.array([[booked[s], sourced[s]] for s in sdrs], dtype=np.float64)
    assert len(sdrs) >= 25
    assert np.corrcoef(counts[:, 0], counts[:, 1])[0, 1] > 0.9
    rate = counts[:, 1].sum() / counts[:, 0].sum()
    assert rate == pytest.approx(company.facts["effects"]["first_meeting_to_opportunity_rate"], abs=0.05)
    deals = company.tables["opportunities"]
    sdr_deals = deals.filter(pc.match_substring(deals["extra"], '"source": "sdr"'))
    assert sdr_deals.num_rows == pytest.approx(linked.num_rows, rel=0.1)


def test_gaming_reps_log_bursts_of_empty_calls(company: DemoCompany) -> None:
    activities = company.tables["activities"]
    calls = activities.filter(pc.equal(activities["type"], "call"))
    empty = calls.filter(
        pc.and_(pc.less(calls["duration_minutes"], Decimal("0.5")), pc.is_null(calls["outcome"]))
    )
    per_rep = Counter(empty["person_id"].to_pylist())
    gamers = set(company.facts["gaming_rep_ids"])
    assert len(gamers) == 3
    assert {p for p, n in per_rep.items() if n >= 100} == gamers
    assert empty["opportunity_id"].null_count == empty.num_rows
    one = empty.filter(pc.equal(empty["person_id"], min(gamers))).sort_by("occurred_at")
    times = one["occurred_at"].to_pylist()
    gaps = [(b - a).total_seconds() / 60 for a, b in pairwise(times) if a.date() == b.date()]
    assert float(np.median(gaps)) < 5


def test_stuck_deals_sit_in_their_stage_for_months(company: DemoCompany) -> None:
    today: date = company.facts["today"]
    stuck = set(company.facts["stuck_opportunity_ids"])
    history = _history_by_deal(company)
    deals = company.tables["opportunities"]
    open_ids = set(deals.filter(pc.invert(deals["is_closed"]))["opportunity_id"].to_pylist())
    assert stuck <= open_ids
    assert len(stuck) / len(open_ids) == pytest.approx(
        company.facts["effects"]["stuck_share_of_open_deals"], abs=0.02
    )
    for deal in stuck:
        rows = history[deal]
        entered = next(r["changed_at"] for r in rows if r["stage"] == rows[-1]["stage"])
        assert isinstance(entered, datetime)
        assert (today - entered.date()).days >= company.facts["effects"]["stuck_min_days_in_stage"]


def test_skipped_stages_show_as_gaps_in_the_history(company: DemoCompany) -> None:
    gaps = set()
    for deal, rows in _history_by_deal(company).items():
        ranks = [OPEN_STAGES.index(str(r["stage"])) for r in rows if r["stage"] in OPEN_STAGES]
        if any(b - a > 1 for a, b in pairwise(ranks)):
            gaps.add(deal)
    assert gaps == set(company.facts["skipped_stage_opportunity_ids"])
    assert 0.03 <= len(gaps) / company.tables["opportunities"].num_rows <= 0.07


def test_some_deals_push_their_close_date_again_and_again(company: DemoCompany) -> None:
    slipped = set()
    for deal, rows in _history_by_deal(company).items():
        changes = sum(a["close_date"] != b["close_date"] for a, b in pairwise(rows))
        if changes >= 3:
            slipped.add(deal)
    assert slipped == set(company.facts["slipped_opportunity_ids"])
    assert len(slipped) >= 100
    deals = company.tables["opportunities"]
    open_ = deals.filter(pc.invert(deals["is_closed"]))
    assert pc.sum(pc.less(open_["close_date"], company.facts["today"])).as_py() > 0, (
        "some open deals are past due"
    )


def test_unearned_stages_are_late_open_deals_without_evidence(company: DemoCompany) -> None:
    unearned = company.facts["unearned_stage_opportunity_ids"]
    assert len(unearned) > 20
    deals = company.tables["opportunities"]
    chosen = deals.filter(pc.is_in(deals["opportunity_id"], pa.array(unearned)))
    assert set(chosen["stage"].to_pylist()) <= {"Solution", "Proposal", "Negotiation"}
    assert not pc.any(chosen["is_closed"]).as_py()


def test_the_reorganisation_moves_people_and_accounts_on_its_date(company: DemoCompany) -> None:
    reorg = company.facts["reorganisation"]
    day = reorg["date"]
    assert (day.month, day.day) == (8, 1), "mid fiscal year (Q3 starts in August)"
    moved = set(reorg["moved_person_ids"])
    assert len(moved) >= 3
    by_person: dict[str, list[dict[str, object]]] = defaultdict(list)
    for row in _rows(
        company.tables["assignments"], "person_id", "org_unit_id", "manager_id", "start_date", "end_date"
    ):
        by_person[str(row["person_id"])].append(row)
    for person in moved:
        before, after = sorted(by_person[person], key=lambda r: r["start_date"])  # type: ignore[arg-type,return-value]
        assert before["end_date"] == after["start_date"] == day
        assert before["org_unit_id"] in reorg["from_org_unit_ids"]
        assert after["org_unit_id"] in reorg["to_org_unit_ids"]
        assert before["manager_id"] != after["manager_id"]
    assignments = company.tables["account_assignments"]
    ended = set(assignments.filter(pc.equal(assignments["end_date"], day))["account_id"].to_pylist())
    started = set(assignments.filter(pc.equal(assignments["start_date"], day))["account_id"].to_pylist())
    assert ended == started == set(reorg["moved_account_ids"])
    assert len(ended) > 100
    new = assignments.filter(pc.equal(assignments["start_date"], day))
    assert set(new["territory_id"].to_pylist()) <= set(reorg["new_territory_ids"])


def test_mid_year_hires_ramp_their_quota(company: DemoCompany) -> None:
    hires = company.facts["hires"]
    assert len(hires) == 2
    quotas = _rows(company.tables["quotas"], "subject_id", "measure", "period", "amount")
    bookings = {(r["subject_id"], r["period"]): r["amount"] for r in quotas if r["measure"] == "bookings"}
    teams = {
        str(r["person_id"]): str(r["org_unit_id"])
        for r in _rows(company.tables["assignments"], "person_id", "org_unit_id")
    }
    calendar = FiscalCalendar(company.facts["fiscal_year_start_month"])
    for hire in hires:
        person = hire["person_id"]
        hired = calendar.parse(
            next(p for p in company.facts["quarters"] if calendar.parse(p).contains(hire["hire_date"]))
        )
        peer = next(
            p
            for p, t in teams.items()
            if t == teams[person] and p != person and (p, hired.label) in bookings and _full_year(company, p)
        )
        quarters = [q for q in company.facts["quarters"] if calendar.parse(q).start >= hired.start][:4]
        ratios = [float(bookings[(person, q)] / bookings[(peer, q)]) for q in quarters]  # type: ignore[operator]
        assert ratios == pytest.approx(company.facts["effects"]["ramp_quota_shares"], abs=0.02)
        first_activity = _first_activity(company, person)
        assert first_activity is not None
        assert first_activity >= hire["hire_date"]


def _full_year(company: DemoCompany, person: str) -> bool:
    people = company.tables["people"]
    row = people.filter(pc.equal(people["person_id"], person)).to_pylist()[0]
    return bool(row["hire_date"] < company.facts["data_start"] and row["termination_date"] is None)


def _first_activity(company: DemoCompany, person: str) -> date | None:
    activities = company.tables["activities"]
    first = pc.min(activities.filter(pc.equal(activities["person_id"], person))["occurred_at"]).as_py()
    return first.date() if first else None


def test_a_leaver_hands_open_deals_to_the_replacement(company: DemoCompany) -> None:
    (leaver,) = company.facts["leavers"]
    last_day: date = leaver["termination_date"]
    activities = company.tables["activities"]
    theirs = activities.filter(pc.equal(activities["person_id"], leaver["person_id"]))
    assert theirs.num_rows > 0
    assert pc.max(theirs["occurred_at"]).as_py().date() <= last_day
    transferred = leaver["transferred_opportunity_ids"]
    assert transferred
    deals = company.tables["opportunities"]
    chosen = deals.filter(pc.is_in(deals["opportunity_id"], pa.array(transferred)))
    assert set(chosen["owner_id"].to_pylist()) == {leaver["replaced_by"]}
    assert pc.all(pc.less_equal(chosen["created_date"], last_day)).as_py()


def test_quotas_are_heaviest_in_the_fourth_quarter(company: DemoCompany) -> None:
    quotas = company.tables["quotas"]
    company_id = company.tables["org_units"].filter(pc.equal(company.tables["org_units"]["kind"], "company"))
    total = quotas.filter(
        pc.and_(
            pc.equal(quotas["subject_id"], company_id["org_unit_id"][0]),
            pc.equal(quotas["measure"], "bookings"),
        )
    )
    by_quarter = {r["period"]: r["amount"] for r in _rows(total, "period", "amount")}
    for fiscal_year in company.facts["fiscal_years"]:
        year = fiscal_year.removeprefix("FY")
        amounts = [by_quarter[f"{year}-Q{q}"] for q in (1, 2, 3, 4)]
        assert max(amounts) == amounts[3]
    measures = set(quotas["measure"].to_pylist())
    assert measures == {"bookings", "meetings", "pipeline_created"}


def test_team_quotas_are_the_sum_of_their_members(company: DemoCompany) -> None:
    quotas = company.tables["quotas"]
    people = quotas.filter(pc.equal(quotas["subject_kind"], "person"))
    units = quotas.filter(pc.equal(quotas["subject_kind"], "org_unit"))
    company_total = units.filter(pc.equal(units["subject_id"], company.tables["org_units"]["org_unit_id"][0]))
    for measure in ("bookings", "meetings"):
        mine = pc.sum(people.filter(pc.equal(people["measure"], measure))["amount"]).as_py()
        rolled = pc.sum(company_total.filter(pc.equal(company_total["measure"], measure))["amount"]).as_py()
        assert mine == rolled


def test_bookings_follow_won_deals_and_cancellations_follow_bookings(company: DemoCompany) -> None:
    tx = company.tables["transactions"]
    deals = company.tables["opportunities"]
    won = deals.filter(deals["is_won"])
    bookings = tx.filter(pc.equal(tx["kind"], "booking"))
    booked = bookings.group_by("opportunity_id").aggregate([("amount", "sum"), ("date", "max")])
    expected = {
        r["opportunity_id"]: (r["amount"], r["close_date"])
        for r in _rows(won, "opportunity_id", "amount", "close_date")
    }
    got = {r["opportunity_id"]: (r["amount_sum"], r["date_max"]) for r in booked.to_pylist()}
    assert got == expected
    when_booked = {k: v[1] for k, v in got.items()}
    for row in _rows(tx.filter(pc.equal(tx["kind"], "cancellation")), "opportunity_id", "date"):
        assert 30 <= (row["date"] - when_booked[row["opportunity_id"]]).days <= 90  # type: ignore[operator]
    assert len(company.facts["multi_line_opportunity_ids"]) > 50
    assert tx.filter(pc.equal(tx["kind"], "renewal")).num_rows > 100


def test_stuck_deals_have_gone_quiet(company: DemoCompany) -> None:
    activities = company.tables["activities"]
    stuck_ids = pa.array(company.facts["stuck_opportunity_ids"])
    stuck = activities.filter(pc.is_in(activities["opportunity_id"], stuck_ids))
    last_activity = stuck.group_by("opportunity_id").aggregate([("occurred_at", "max")])
    assert last_activity.num_rows > 0
    history = _history_by_deal(company)
    for deal, when in zip(*(last_activity[c].to_pylist() for c in last_activity.column_names), strict=True):
        rows = history[deal]
        entered = next(r["changed_at"] for r in rows if r["stage"] == rows[-1]["stage"])
        assert isinstance(entered, datetime)
        assert (when - entered).days <= 15, deal
