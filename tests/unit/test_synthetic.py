"""The synthetic benchmark data (`openspm.demo.synthetic`): its shape, its references, its determinism."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from openspm.demo.synthetic import Synthetic, generate_synthetic
from openspm.engine.calc.inputs import PLAN_ASSIGNMENTS
from openspm.ingest.tables import canonical_schema


@pytest.fixture(scope="module")
def data() -> Synthetic:
    return generate_synthetic(120, 10_000)


def test_the_sizes_asked_for(data: Synthetic) -> None:
    """120 payees = 10 teams of 12 (1 manager, 8 AEs, 2 SDRs, 1 SE); 10 teams need one director; plus the VP.
    Deals: 10,000 lines ÷ 8 = 1,250. Meetings: 20 SDRs × 60 × 4 quarters = 4,800."""
    counts = data.summary()
    assert counts["transactions"] == 10_000
    assert counts["people"] == 120 + 1 + 1
    assert counts["opportunities"] == 1_250
    assert counts["activities"] == 4_800
    assert counts["accounts"] == 80 * 10
    roles = Counter(data.tables["assignments"].filter(pc.field("end_date").is_null())["role"].to_pylist())
    assert roles == {"ae": 80, "sdr": 20, "manager": 10, "se": 10, "director": 1, "vp": 1}


def test_tables_have_their_canonical_schema(data: Synthetic) -> None:
    for name, table in data.tables.items():
        assert table.schema == canonical_schema(name), name
    assert data.plan_assignments.schema == PLAN_ASSIGNMENTS


def test_every_payee_is_on_one_demo_plan_all_year(data: Synthetic) -> None:
    """FY2026 runs 2025-02-01..2026-01-31; AEs change from account_executive v1 to v2 on 2025-08-01."""
    assert (data.year.start, data.year.end) == (date(2025, 2, 1), date(2026, 2, 1))
    spans = defaultdict(list)
    for row in data.plan_assignments.to_pylist():
        spans[row["person_id"]].append((row["plan"], row["version"], row["start_date"], row["end_date"]))
    assert len(spans) == 120
    ae = spans["P0000002"]  # the first AE of the first team
    assert sorted(ae) == [
        ("account_executive", 1, date(2025, 2, 1), date(2025, 8, 1)),
        ("account_executive", 2, date(2025, 8, 1), None),
    ]
    assert spans["P0000001"] == [("first_line_manager", 1, date(2025, 2, 1), None)]


def test_references_resolve_and_splits_add_up(data: Synthetic) -> None:
    t = data.tables
    deals = set(t["opportunities"]["opportunity_id"].to_pylist())
    linked = set(pc.drop_null(t["transactions"]["opportunity_id"]).to_pylist())
    assert linked <= deals
    people = set(t["people"]["person_id"].to_pylist())
    assert set(t["transactions"]["owner_id"].to_pylist()) <= people
    assert set(t["assignments"]["manager_id"].drop_null().to_pylist()) <= people
    revenue = defaultdict(Decimal)
    for split in t["opportunity_splits"].to_pylist():
        if split["kind"] == "revenue":
            revenue[split["opportunity_id"]] += split["percent"]
    assert set(revenue) == deals
    assert set(revenue.values()) == {Decimal(100)}


def test_lines_mix_bookings_renewals_and_cancellations(data: Synthetic) -> None:
    """About 15 % renewals (no deal), 3 % of the rest cancellations (negative), 5 % of deals in EUR."""
    tx = data.tables["transactions"]
    kinds = Counter(tx["kind"].to_pylist())
    assert 0.12 < kinds["renewal"] / 10_000 < 0.18
    assert 0.01 < kinds["cancellation"] / 10_000 < 0.05
    renewals = tx.filter(pc.equal(tx["kind"], "renewal"))
    assert renewals["opportunity_id"].null_count == renewals.num_rows
    cancelled = tx.filter(pc.equal(tx["kind"], "cancellation"))
    assert pc.all(pc.less(cancelled["amount"], pa.scalar(Decimal(0), tx["amount"].type))).as_py()
    dates = tx["date"].to_pylist()
    assert dates == sorted(dates)
    assert min(dates) >= date(2025, 2, 1) and max(dates) < date(2026, 2, 1)


def test_quotas_every_paid_role_needs(data: Synthetic) -> None:
    """AEs and managers carry bookings, SDRs meetings and pipeline created, four quarters each; SEs none."""
    quotas = data.tables["quotas"]
    per = Counter(zip(quotas["measure"].to_pylist(), quotas["period"].to_pylist(), strict=True))
    assert per[("bookings", "2026-Q1")] == 80 + 10
    assert per[("meetings", "2026-Q4")] == per[("pipeline_created", "2026-Q2")] == 20
    assert pc.min(quotas["amount"]).as_py() > 0


def test_the_same_arguments_give_the_same_data() -> None:
    first, again, other = (
        generate_synthetic(60, 2_000),
        generate_synthetic(60, 2_000),
        generate_synthetic(60, 2_000, seed=8),
    )
    for name, table in first.tables.items():
        assert table.equals(again.tables[name]), name
    assert first.plan_assignments.equals(again.plan_assignments)
    assert not first.tables["transactions"].equals(other.tables["transactions"])


def test_too_few_payees_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 12 payees"):
        generate_synthetic(5, 100)
