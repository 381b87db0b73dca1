"""The shipped mappings on export-shaped fixtures and on the real Maven sample export."""

from __future__ import annotations

import csv
import os
from collections import Counter
from pathlib import Path

import pytest

from openspm.domain.canonical import ENTITY_BY_NAME, Problem
from openspm.ingest.mapping import apply_mapping, load_mapping, resolve_mapping
from openspm.ingest.tables import RawTable

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MAVEN_DIR = Path(
    os.environ.get("SPM_MAVEN_CRM_DIR", Path(__file__).resolve().parents[3] / "shared/data/maven-crm")
)


def mapped(name: str, directory: Path) -> tuple[dict[str, RawTable], list[Problem]]:
    tables, problems = apply_mapping(load_mapping(resolve_mapping(name)), directory)
    assert len({t.entity for t in tables}) == len(tables), "one table per entity"
    return {t.entity: t for t in tables}, problems


def column(table: RawTable, name: str) -> list[str]:
    return table.table.column(name).to_pylist()


def source_rows(path: Path) -> list[dict[str, str]]:
    """The export's records by spreadsheet row: index 0 is row 2."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def assert_canonical(tables: dict[str, RawTable], kept: dict[str, set[str]], directory: Path) -> None:
    """Columns are canonical names (or declared custom fields); rows point into the source files."""
    for entity, table in tables.items():
        custom = set(table.table.column_names) - set(ENTITY_BY_NAME[entity].column_names)
        assert custom == kept.get(entity, set()), entity
        for part in table.file.split(" + "):
            assert (directory / part).is_file()
        sizes = [len(source_rows(directory / part)) for part in table.file.split(" + ")]
        assert all(2 <= r <= max(sizes) + 1 for r in table.rows.to_pylist()), entity
        assert table.rows.null_count == 0


# --- Maven Analytics CRM sample (real data) -------------------------------------------------------
maven = pytest.mark.skipif(not MAVEN_DIR.is_dir(), reason=f"Maven sample export not found at {MAVEN_DIR}")


@pytest.fixture(scope="module")
def maven_tables() -> tuple[dict[str, RawTable], list[Problem]]:
    return mapped("maven-crm", MAVEN_DIR)


@maven
def test_maven_maps_without_problems(maven_tables: tuple[dict[str, RawTable], list[Problem]]) -> None:
    tables, problems = maven_tables
    assert problems == []
    counts = {name: t.num_rows for name, t in tables.items()}
    assert counts == {
        "org_units": 1 + 3 + 6,  # company, regional offices, one team per manager
        "people": 35 + 6,  # agents and managers
        "assignments": 35 + 6,
        "accounts": 85 + 1,  # and the placeholder for deals without an account
        "products": 7,
        "opportunities": 8800,
        "transactions": 4238,  # one booking per won deal
    }
    kept = {
        "accounts": {"year_established", "revenue", "employees", "subsidiary_of"},
        "opportunities": {"close_value"},
    }
    assert_canonical(tables, kept, MAVEN_DIR)


@maven
def test_maven_org_tree_people_and_assignments(
    maven_tables: tuple[dict[str, RawTable], list[Problem]],
) -> None:
    tables, _ = maven_tables
    units = {r["org_unit_id"]: r for r in tables["org_units"].table.to_pylist()}
    assert Counter(u["kind"] for u in units.values()) == {"company": 1, "region": 3, "team": 6}
    team = units["team-cara-losch"]
    assert (team["name"], team["kind"], team["parent_id"]) == ("Cara Losch's team", "team", "region-east")
    assert all(u["parent_id"] in units for u in units.values() if u["kind"] != "company")
    people = set(column(tables["people"], "person_id"))
    assert {"anna-snelling", "dustin-brinkmann", "mei-mei-johns"} <= people
    assignments = tables["assignments"].table.to_pylist()
    anna = next(a for a in assignments if a["person_id"] == "anna-snelling")
    assert anna == {
        "person_id": "anna-snelling",
        "role": "ae",
        "org_unit_id": "team-dustin-brinkmann",
        "manager_id": "dustin-brinkmann",
        "start_date": "2016-10-20",
    }
    managers = [a for a in assignments if a["role"] == "manager"]
    assert {a["org_unit_id"] for a in managers} == {"region-central", "region-east", "region-west"}
    assert {a["person_id"] for a in assignments} == people


@maven
def test_maven_quirks(maven_tables: tuple[dict[str, RawTable], list[Problem]]) -> None:
    tables, _ = maven_tables
    opportunities = {r["opportunity_id"]: r for r in tables["opportunities"].table.to_pylist()}
    products = set(column(tables["products"], "product_id"))
    pipeline = source_rows(MAVEN_DIR / "sales_pipeline.csv")
    gtxpro = [r["opportunity_id"] for r in pipeline if r["product"] == "GTXPro"]
    assert len(gtxpro) == 1480
    assert {opportunities[i]["product_id"] for i in gtxpro} == {"gtx-pro"}  # the product spelled `GTX Pro`
    assert {o["product_id"] for o in opportunities.values()} <= products
    no_account = [o for o in opportunities.values() if o["account_id"] == "no-account"]
    assert len(no_account) == 1088 + 337  # engaging and prospecting deals without an account
    assert {o["stage"] for o in no_account} == {"Engaging", "Prospecting"}
    prospects = [o for o in opportunities.values() if o["stage"] == "Prospecting"]
    assert {o["created_date"] for o in prospects} == {"2017-12-31"}
    assert {o["close_date"] for o in prospects} == {""}
    lost = opportunities["KWVA7VR1"]  # lost, close_value 0, GTXPro: valued at GTX Pro's list price
    assert (lost["stage"], lost["amount"], lost["close_value"], lost["is_closed"], lost["is_won"]) == (
        "Lost",
        "4821",
        "0",
        "true",
        "false",
    )
    assert opportunities["1C1I7A6R"]["amount"] == "1054"  # won: its close_value
    assert all(o["amount"] != "" for o in opportunities.values())
    accounts = {r["account_id"]: r for r in tables["accounts"].table.to_pylist()}
    assert accounts["acme-corporation"]["industry"] == "technology"
    assert accounts["no-account"]["name"] == "(no account)"
    assert "technolgy" not in column(tables["accounts"], "industry")
    assert {o["account_id"] for o in opportunities.values()} <= set(accounts)


@maven
def test_maven_rows_point_at_the_source_records(
    maven_tables: tuple[dict[str, RawTable], list[Problem]],
) -> None:
    tables, _ = maven_tables
    pipeline = source_rows(MAVEN_DIR / "sales_pipeline.csv")
    opportunities = tables["opportunities"]
    for opportunity_id, row in zip(
        column(opportunities, "opportunity_id"), opportunities.rows.to_pylist(), strict=True
    ):
        assert pipeline[row - 2]["opportunity_id"] == opportunity_id
    bookings = tables["transactions"]
    assert all(pipeline[r - 2]["deal_stage"] == "Won" for r in bookings.rows.to_pylist())
    teams = source_rows(MAVEN_DIR / "sales_teams.csv")
    people = tables["people"]
    for person_id, row in zip(column(people, "person_id")[35:], people.rows.to_pylist()[35:], strict=True):
        assert teams[row - 2]["manager"].lower().replace(" ", "-") == person_id  # a manager's first row


# --- Salesforce -----------------------------------------------------------------------------------
SALESFORCE = FIXTURES / "salesforce"


def test_salesforce_export() -> None:
    tables, problems = mapped("salesforce", SALESFORCE)
    assert problems == []
    assert {n: t.num_rows for n, t in tables.items()} == {
        "org_units": 4,
        "people": 8,
        "assignments": 7,
        "accounts": 6,
        "opportunities": 8,
        "opportunity_history": 14,
        "activities": 13,
    }
    kept = {
        "people": {"IsActive", "Title"},
        "accounts": {"AnnualRevenue", "NumberOfEmployees", "ParentId"},
        "opportunities": {"Probability", "Type", "LeadSource"},
    }
    assert_canonical(tables, kept, SALESFORCE)
    assert tables["activities"].file == "Task.csv + Event.csv"


def test_salesforce_values() -> None:
    tables, _ = mapped("salesforce", SALESFORCE)
    opportunities = {r["opportunity_id"]: r for r in tables["opportunities"].table.to_pylist()}
    umbrella = opportunities["0065g00000Op003AAA"]
    assert umbrella["name"] == 'Umbrella "Phase 2" rollout'
    assert umbrella["next_step"] == "Exec sponsor meeting\r\nbring pricing options"
    assert (umbrella["created_date"], umbrella["close_date"], umbrella["currency"]) == (
        "2023-03-02",
        "2023-09-15",
        "GBP",
    )
    assert opportunities["0065g00000Op004AAA"]["amount"] == "0"  # empty Amount
    assert tables["opportunities"].rows.to_pylist()[3] == 5  # Op004: row 5, after the two-line row 4
    history = tables["opportunity_history"].table.to_pylist()
    assert history[2]["changed_at"] == "2023-03-28T17:30:00"
    assignments = {r["person_id"]: r for r in tables["assignments"].table.to_pylist()}
    assert "0055g00000A1b2jAAA" not in assignments  # the integration user has no role
    assert assignments["0055g00000A1b2iAAA"]["role"] == "sdr"
    assert assignments["0055g00000A1b2gAAA"]["org_unit_id"] == "department-sales-west"
    assert assignments["0055g00000A1b2gAAA"]["start_date"] == "2021-06-14"
    activities = {r["activity_id"]: r for r in tables["activities"].table.to_pylist()}
    assert "00T5g00000Tk007AAA" not in activities  # not started: a to-do, not an activity
    assert activities["00T5g00000Tk001AAA"]["duration_minutes"] == "21"  # 1260 seconds
    assert activities["00T5g00000Tk003AAA"]["opportunity_id"] == ""  # WhatId is an account
    assert activities["00T5g00000Tk005AAA"]["occurred_at"] == "2023-05-08T11:00:00"  # no ActivityDate
    assert activities["00T5g00000Tk009AAA"]["type"] == "linkedin"  # from TaskSubtype
    assert activities["00U5g00000Ev003AAA"]["occurred_at"] == "2023-05-02T00:00:00"  # all-day event
    assert activities["00U5g00000Ev003AAA"]["type"] == "meeting"


def test_salesforce_any_subset_of_files(tmp_path: Path) -> None:
    (tmp_path / "Account.csv").write_bytes((SALESFORCE / "Account.csv").read_bytes())
    tables, problems = mapped("salesforce", tmp_path)
    assert set(tables) == {"accounts"}
    assert {p.severity for p in problems} == {"warning"}
    assert {p.file for p in problems} == {
        "Opportunity.csv",
        "OpportunityHistory.csv",
        "Task.csv",
        "Event.csv",
        "User.csv",
    }


def test_salesforce_missing_column_names_file_and_column(tmp_path: Path) -> None:
    lines = (SALESFORCE / "Opportunity.csv").read_text(encoding="utf-8-sig").splitlines(keepends=True)
    lines[0] = lines[0].replace("StageName", "Stage")
    (tmp_path / "Opportunity.csv").write_text("".join(lines), encoding="utf-8")
    tables, problems = mapped("salesforce", tmp_path)
    assert tables == {}
    errors = [p for p in problems if p.severity == "error"]
    assert errors == [
        Problem(
            "Opportunity.csv",
            1,
            "StageName",
            "column not found in the header (needed for opportunities.stage)",
        )
    ]


# --- HubSpot --------------------------------------------------------------------------------------
HUBSPOT = FIXTURES / "hubspot"


def test_hubspot_deals_export() -> None:
    tables, problems = mapped("hubspot", HUBSPOT)
    assert problems == []
    assert {n: t.num_rows for n, t in tables.items()} == {"people": 4, "accounts": 6, "opportunities": 9}
    assert_canonical(tables, {"opportunities": {"Pipeline", "Deal Type"}}, HUBSPOT)
    people = dict(zip(column(tables["people"], "person_id"), tables["people"].rows.to_pylist(), strict=True))
    assert people == {
        "sarah-connor": 2,
        "miles-dyson": 4,
        "kyle-reese": 7,
        "unassigned": 6,
    }  # first deal of each
    opportunities = {r["opportunity_id"]: r for r in tables["opportunities"].table.to_pylist()}
    orphan = opportunities["9876543205"]
    assert (orphan["owner_id"], orphan["account_id"], orphan["amount"]) == ("unassigned", "no-company", "0")
    assert opportunities["9876543206"]["account_id"] == "contoso-ltd"  # the first of two companies
    assert opportunities["9876543206"]["currency"] == "EUR"
    won = opportunities["9876543208"]
    assert (won["is_closed"], won["is_won"], won["close_date"], won["created_date"]) == (
        "true",
        "true",
        "2024-03-28",
        "2024-02-20",
    )
    assert (opportunities["9876543204"]["is_closed"], opportunities["9876543204"]["is_won"]) == (
        "true",
        "false",
    )
    assert set(column(tables["opportunities"], "account_id")) <= set(column(tables["accounts"], "account_id"))
