"""The demo company's planted truths are found by the inspection and the Goodhart guard (engine over Arrow).

The demo (docs/demo.md) plants open deals frozen in a stage for 90+ days, deals that skipped a stage,
deals at Solution or later with neither a discovery meeting nor MEDDICC metrics, and gaming reps who
log bursts of empty calls. The shipped sales process is used unchanged.
"""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from openspm.demo import DemoCompany, generate_company
from openspm.engine import goodhart
from openspm.engine.inspection import Inspection, inspect_pipeline
from openspm.ingest.sales_process import load_sales_process


@pytest.fixture(scope="module")
def company() -> DemoCompany:
    return generate_company(0.3)


@pytest.fixture(scope="module")
def inspection(company: DemoCompany) -> Inspection:
    tables = company.tables
    return inspect_pipeline(
        load_sales_process(),
        opportunities=ibis.memtable(tables["opportunities"]),
        history=ibis.memtable(tables["opportunity_history"]),
        activities=ibis.memtable(tables["activities"]),
        as_of=company.facts["today"],
        fx_rates=ibis.memtable(tables["fx_rates"]),
        base_currency=company.facts["base_currency"],
    )


def _ids(table: pa.Table, mask: pa.ChunkedArray | pa.Array) -> set[str]:
    return set(table.filter(mask)["opportunity_id"].to_pylist())


def _open_ids(company: DemoCompany) -> set[str]:
    deals = company.tables["opportunities"]
    return _ids(deals, pc.invert(deals["is_closed"]))


def test_every_open_deal_is_inspected(company: DemoCompany, inspection: Inspection) -> None:
    assert set(inspection.deals["opportunity_id"].to_pylist()) == _open_ids(company)
    assert not any(inspection.deals["is_unknown_stage"].to_pylist())  # the shipped process knows every stage


def test_planted_stuck_deals_are_stuck(company: DemoCompany, inspection: Inspection) -> None:
    """Each planted stuck deal has sat 90+ days in its stage, far beyond any stage's p75 in this data."""
    planted = set(company.facts["stuck_opportunity_ids"]) & _open_ids(company)
    assert len(planted) >= 10
    deals = inspection.deals
    stuck = _ids(deals, deals["is_stuck"])
    assert planted <= stuck
    days = dict(zip(deals["opportunity_id"].to_pylist(), deals["days_in_stage"].to_pylist(), strict=True))
    assert min(days[d] for d in planted) >= company.facts["effects"]["stuck_min_days_in_stage"]


def test_planted_skipped_stages_are_found_exactly(company: DemoCompany, inspection: Inspection) -> None:
    """The demo's skipped deals that are still open: the inspection finds these and no others."""
    planted = set(company.facts["skipped_stage_opportunity_ids"]) & _open_ids(company)
    assert planted
    deals = inspection.deals
    assert _ids(deals, pc.greater(pc.list_value_length(deals["skipped_stages"]), 0)) == planted


def test_planted_unearned_deals_advanced_without_evidence(
    company: DemoCompany, inspection: Inspection
) -> None:
    """No discovery meeting and no metrics: they miss `discovery_completed` and `metrics_identified`."""
    planted = set(company.facts["unearned_stage_opportunity_ids"])
    assert planted
    deals = inspection.deals
    assert planted <= _ids(deals, deals["advanced_without_evidence"])
    assert not planted & _ids(deals, deals["earned_stage"])
    missing = dict(
        zip(deals["opportunity_id"].to_pylist(), deals["missing_criteria"].to_pylist(), strict=True)
    )
    for deal in planted:
        assert {"discovery_completed", "metrics_identified"} <= set(missing[deal])


def test_gaming_reps_are_flagged_and_nobody_else(company: DemoCompany, inspection: Inspection) -> None:
    """Over the last 90 days, the gaming reps' bursts of empty calls make them the only flagged reps;
    their quality-adjusted call count is far below the raw one."""
    today: date = company.facts["today"]
    activities = company.tables["activities"]
    start = pa.scalar(today - timedelta(days=89), pa.date32()).cast(pa.timestamp("us"))
    recent = activities.filter(pc.greater_equal(activities["occurred_at"], start))
    flagged = goodhart.flag_activities(ibis.memtable(recent))
    summary = goodhart.rep_summary(flagged, ibis.memtable(inspection.deals)).to_pyarrow()
    gamers = set(company.facts["gaming_rep_ids"])
    assert gamers
    assert _people(summary, summary["is_flagged"]) == gamers
    counts = goodhart.behaviour_counts(flagged).to_pyarrow().to_pylist()
    for person in gamers:
        calls = next(r for r in counts if r["person_id"] == person and r["type"] == "call")
        assert calls["quality_adjusted"] < 0.6 * calls["raw"]


def _people(table: pa.Table, mask: pa.ChunkedArray) -> set[str]:
    return set(table.filter(mask)["person_id"].to_pylist())
