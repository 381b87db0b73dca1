"""The demo company obeys every rule of the canonical format, and is the same for the same arguments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from openspm.demo import DemoCompany, generate_company
from openspm.domain.canonical import ENTITIES, ENTITY_BY_NAME
from openspm.domain.periods import FiscalCalendar
from openspm.ingest.tables import canonical_schema

CASES = {
    "scale 1": (1.0, None),
    "small, early in a fiscal year": (0.3, date(2025, 3, 10)),
    "tiny, last day of a fiscal year": (0.12, date(2027, 1, 31)),
}


@pytest.fixture(scope="module", params=list(CASES), ids=list(CASES))
def company(request: pytest.FixtureRequest) -> DemoCompany:
    scale, today = CASES[request.param]
    return generate_company(scale, today=today)


def _today(company: DemoCompany) -> date:
    today = company.facts["today"]
    assert isinstance(today, date)
    return today


def test_one_table_per_entity_in_load_order_with_the_canonical_schema(company: DemoCompany) -> None:
    assert list(company.tables) == [e.name for e in ENTITIES]
    for name, table in company.tables.items():
        assert table.schema.equals(canonical_schema(name)), name
        assert table.num_rows > 0, name


def test_summary_counts_rows(company: DemoCompany) -> None:
    assert company.summary() == {name: t.num_rows for name, t in company.tables.items()}


def test_keys_are_unique(company: DemoCompany) -> None:
    for name, table in company.tables.items():
        key = list(ENTITY_BY_NAME[name].key)
        assert table.select(key).group_by(key).aggregate([]).num_rows == table.num_rows, name


def test_required_cells_are_filled(company: DemoCompany) -> None:
    for name, table in company.tables.items():
        for column in ENTITY_BY_NAME[name].required_columns:
            assert table[column].null_count == 0, f"{name}.{column}"


def test_every_reference_resolves_within_the_tables(company: DemoCompany) -> None:
    tables = company.tables
    for entity in ENTITIES:
        for column in entity.columns:
            if column.references is None:
                continue
            target = ENTITY_BY_NAME[column.references]
            keys = tables[target.name][target.key[0]]
            values = pc.drop_null(tables[entity.name][column.name])
            assert pc.all(pc.is_in(values, value_set=keys.combine_chunks())).as_py(), (
                f"{entity.name}.{column.name}"
            )
    quotas = tables["quotas"]
    for kind, entity in (("person", "people"), ("org_unit", "org_units")):
        subjects = quotas.filter(pc.equal(quotas["subject_kind"], kind))["subject_id"]
        keys = tables[entity][ENTITY_BY_NAME[entity].key[0]].combine_chunks()
        assert len(subjects) > 0
        assert pc.all(pc.is_in(subjects, value_set=keys)).as_py(), kind


def test_values_respect_bounds_and_choices(company: DemoCompany) -> None:
    for entity in ENTITIES:
        table = company.tables[entity.name]
        for column in entity.columns:
            values = pc.drop_null(table[column.name])
            if column.min_value is not None and entity.name != "transactions":
                low = (
                    Decimal(column.min_value) if pa.types.is_decimal(values.type) else float(column.min_value)
                )
                assert pc.all(pc.greater_equal(values, low)).as_py() is not False, (
                    f"{entity.name}.{column.name}"
                )
            if column.max_value is not None:
                high = (
                    Decimal(column.max_value) if pa.types.is_decimal(values.type) else float(column.max_value)
                )
                assert pc.all(pc.less_equal(values, high)).as_py() is not False, (
                    f"{entity.name}.{column.name}"
                )
            if column.choices is not None:
                assert pc.all(pc.is_in(values, pa.array(column.choices))).as_py() is not False


def test_only_cancellations_are_negative(company: DemoCompany) -> None:
    tx = company.tables["transactions"]
    negative = tx.filter(pc.less(tx["amount"], Decimal(0)))
    assert set(negative["kind"].to_pylist()) == {"cancellation"}
    cancellations = tx.filter(pc.equal(tx["kind"], "cancellation"))
    assert pc.all(pc.less(cancellations["amount"], Decimal(0))).as_py()


def test_deal_state_rules(company: DemoCompany) -> None:
    deals = company.tables["opportunities"]
    assert pc.all(pc.or_(pc.invert(deals["is_won"]), deals["is_closed"])).as_py()
    closed = deals.filter(deals["is_closed"])
    assert closed["close_date"].null_count == 0
    stage_won = pc.equal(closed["stage"], "Closed Won")
    assert stage_won.equals(closed["is_won"])
    open_ = deals.filter(pc.invert(deals["is_closed"]))
    assert open_.num_rows > 0
    assert pc.min(deals["created_date"]).as_py() < company.facts["data_start"]
    assert pc.max(deals["created_date"]).as_py() < _today(company)
    assert pc.max(open_["close_date"]).as_py() > _today(company), "open pipeline reaches into the future"


def test_intervals_end_after_they_start(company: DemoCompany) -> None:
    for name, start, end in (
        ("assignments", "start_date", "end_date"),
        ("account_assignments", "start_date", "end_date"),
        ("people", "hire_date", "termination_date"),
    ):
        table = company.tables[name]
        ended = table.filter(pc.is_valid(table[end]))
        assert pc.all(pc.greater(ended[end], ended[start])).as_py() is not False, name


def test_account_assignments_are_contiguous_and_every_account_has_one(company: DemoCompany) -> None:
    rows = company.tables["account_assignments"].sort_by(
        [("account_id", "ascending"), ("start_date", "ascending")]
    )
    accounts, starts, ends = (rows[c].to_pylist() for c in ("account_id", "start_date", "end_date"))
    for i in range(1, len(accounts)):
        if accounts[i] == accounts[i - 1]:
            assert ends[i - 1] == starts[i], accounts[i]
    current = [a for a, e in zip(accounts, ends, strict=True) if e is None]
    assert sorted(current) == sorted(company.tables["accounts"]["account_id"].to_pylist())


def test_revenue_splits_total_exactly_100_for_every_deal(company: DemoCompany) -> None:
    splits = company.tables["opportunity_splits"]
    revenue = splits.filter(pc.equal(splits["kind"], "revenue"))
    totals = revenue.group_by("opportunity_id").aggregate([("percent", "sum")])
    assert totals.num_rows == company.tables["opportunities"].num_rows
    assert set(totals["percent_sum"].to_pylist()) == {Decimal(100)}


def test_history_rows_are_the_deal_after_each_change(company: DemoCompany) -> None:
    history = company.tables["opportunity_history"].sort_by(
        [("opportunity_id", "ascending"), ("changed_at", "ascending")]
    )
    deals = company.tables["opportunities"]
    firsts: dict[str, dict[str, object]] = {}
    lasts: dict[str, dict[str, object]] = {}
    for row in history.select(["opportunity_id", "changed_at", "stage", "amount", "close_date"]).to_pylist():
        firsts.setdefault(row["opportunity_id"], row)
        lasts[row["opportunity_id"]] = row
    assert set(firsts) == set(deals["opportunity_id"].to_pylist())
    for deal in deals.select(["opportunity_id", "stage", "amount", "close_date", "created_date"]).to_pylist():
        first, last = firsts[deal["opportunity_id"]], lasts[deal["opportunity_id"]]
        assert first["stage"] == "Prospecting"
        assert first["changed_at"].date() == deal["created_date"]  # type: ignore[attr-defined]
        assert (last["stage"], last["amount"], last["close_date"]) == (
            deal["stage"],
            deal["amount"],
            deal["close_date"],
        )
        assert last["changed_at"].date() < _today(company)  # type: ignore[attr-defined]


def test_history_stages_never_go_backwards(company: DemoCompany) -> None:
    order = {s["name"]: i for i, s in enumerate(company.facts["stages"])}
    history = company.tables["opportunity_history"].sort_by(
        [("opportunity_id", "ascending"), ("changed_at", "ascending")]
    )
    previous: tuple[str, int] = ("", -1)
    for deal, stage in zip(history["opportunity_id"].to_pylist(), history["stage"].to_pylist(), strict=True):
        rank = order[stage]
        if deal == previous[0]:
            assert rank >= previous[1], deal
        previous = (deal, rank)


def test_everything_happened_before_today(company: DemoCompany) -> None:
    today = _today(company)
    assert pc.max(company.tables["activities"]["occurred_at"]).as_py().date() < today
    assert pc.max(company.tables["transactions"]["date"]).as_py() < today
    assert company.tables["activities"].schema.field("occurred_at").type == pa.timestamp("us")


def test_foreign_currencies_have_monthly_rates(company: DemoCompany) -> None:
    used = set(company.tables["opportunities"]["currency"].to_pylist())
    assert {"USD", "EUR", "GBP"} <= used
    rates = company.tables["fx_rates"]
    assert set(rates["currency"].to_pylist()) == used - {"USD"}
    first_days = {d.day for d in rates["date"].to_pylist()}
    assert first_days == {1}
    earliest = pc.min(company.tables["opportunities"]["created_date"]).as_py()
    assert pc.min(rates["date"]).as_py() <= earliest


def test_quota_periods_are_fiscal_quarters_of_the_two_years(company: DemoCompany) -> None:
    calendar = FiscalCalendar(company.facts["fiscal_year_start_month"])
    periods = set(company.tables["quotas"]["period"].to_pylist())
    assert periods == set(company.facts["quarters"])
    years = {f"FY{calendar.fiscal_year_of(calendar.parse(p).start)}" for p in periods}
    assert sorted(years) == company.facts["fiscal_years"]
    assert calendar.parse(company.facts["quarters"][-1]).contains(_today(company)) or (
        calendar.parse(company.facts["quarters"][-1]).start > _today(company)
    )


def test_same_arguments_same_company() -> None:
    first, second = generate_company(0.2, seed=7), generate_company(0.2, seed=7)
    for name in first.tables:
        assert first.tables[name].equals(second.tables[name]), name
    assert first.fingerprint() == second.fingerprint()
    assert first.facts == second.facts


def test_another_seed_or_day_gives_another_company() -> None:
    base = generate_company(0.2, seed=7).fingerprint()
    assert generate_company(0.2, seed=8).fingerprint() != base
    assert generate_company(0.2, seed=7, today=date(2025, 6, 2)).fingerprint() != base


def test_default_today_is_fixed_not_the_clock() -> None:
    company = generate_company(0.1)
    assert company.facts["today"] == date(2025, 10, 15)
    assert company.facts["fiscal_years"] == ["FY2025", "FY2026"]
    assert company.facts["fiscal_year_start_month"] == 2


def test_scale_multiplies_the_company() -> None:
    one, two = generate_company(1.0).summary(), generate_company(2.0).summary()
    for name in ("people", "accounts", "opportunities", "activities"):
        assert 1.8 <= two[name] / one[name] <= 2.2, name


def test_scale_must_be_positive() -> None:
    with pytest.raises(ValueError, match="scale"):
        generate_company(0)


def test_the_docs_name_every_fact() -> None:
    text = (Path(__file__).parents[2] / "docs" / "demo.md").read_text(encoding="utf-8")
    facts = generate_company(0.1).facts
    nested = [
        facts,
        facts["effects"],
        facts["people"],
        facts["reorganisation"],
        facts["hires"][0],
        facts["leavers"][0],
    ]
    missing = [key for part in nested for key in part if f"`{key}`" not in text]
    assert missing == []


def test_the_docs_name_the_default_personas() -> None:
    text = (Path(__file__).parents[2] / "docs" / "demo.md").read_text(encoding="utf-8")
    company = generate_company()
    people = company.tables["people"]
    names = dict(zip(people["person_id"].to_pylist(), people["name"].to_pylist(), strict=True))
    for key, person in company.facts["people"].items():
        if key not in ("directors", "team"):
            assert f"| `{key}` | {person} | {names[person]} |" in text, key
