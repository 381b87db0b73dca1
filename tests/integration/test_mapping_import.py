"""CRM exports imported through the shipped mappings land in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from openspm.services.imports import count_rows, import_directory
from openspm.store.models import ChangeRecord, ImportBatch, Opportunity, Person

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MAVEN_DIR = Path(
    os.environ.get("SPM_MAVEN_CRM_DIR", Path(__file__).resolve().parents[3] / "shared/data/maven-crm")
)
maven = pytest.mark.skipif(not MAVEN_DIR.is_dir(), reason=f"Maven sample export not found at {MAVEN_DIR}")


def test_salesforce_export_imports(engine: Engine) -> None:
    report = import_directory(engine, FIXTURES / "salesforce", mapping="salesforce")
    assert report.ok, report.errors
    assert report.warnings == []
    with engine.connect() as conn:
        counts = count_rows(conn)
        umbrella = conn.execute(
            select(Opportunity).where(Opportunity.opportunity_id == "0065g00000Op003AAA")
        ).one()
    assert {k: counts[k] for k in ("people", "assignments", "accounts", "opportunities", "activities")} == {
        "people": 8,
        "assignments": 7,
        "accounts": 6,
        "opportunities": 8,
        "activities": 13,
    }
    assert counts["opportunity_history"] == 14
    assert (umbrella.amount, umbrella.currency, umbrella.extra) == (
        Decimal(250000),
        "GBP",
        {"LeadSource": "Trade Show", "Probability": "75", "Type": "Existing Customer - Upgrade"},
    )


def test_hubspot_export_imports(engine: Engine) -> None:
    report = import_directory(engine, FIXTURES / "hubspot", mapping="hubspot")
    assert report.ok, report.errors
    assert report.counts["opportunities"]["inserted"] == 9
    with engine.connect() as conn:
        owners = set(conn.execute(select(Person.person_id)).scalars())
    assert owners == {"sarah-connor", "miles-dyson", "kyle-reese", "unassigned"}


@maven
def test_maven_export_imports_and_reimports(engine: Engine, tmp_path: Path) -> None:
    report = import_directory(engine, MAVEN_DIR, mapping="maven-crm")
    assert report.ok, report.errors[:10]
    expected = {
        "org_units": 10,
        "people": 41,
        "assignments": 41,
        "accounts": 86,
        "products": 7,
        "opportunities": 8800,
        "transactions": 4238,
    }
    assert {entity: c["inserted"] for entity, c in report.counts.items()} == expected
    with engine.connect() as conn:
        counts = count_rows(conn)
        lost = conn.execute(select(Opportunity).where(Opportunity.opportunity_id == "KWVA7VR1")).one()
    assert {k: counts[k] for k in expected} == expected
    assert (lost.product_id, lost.amount, lost.is_closed, lost.is_won) == (
        "gtx-pro",
        Decimal(4821),
        True,
        False,
    )

    export = Path(shutil.copytree(MAVEN_DIR, tmp_path / "maven"))
    pipeline = export / "sales_pipeline.csv"
    won = "1C1I7A6R,Moses Frase,GTX Plus Basic,Cancity,Won,2016-10-20,2017-03-01,"
    pipeline.write_text(pipeline.read_text().replace(won + "1054", won + "1100"))
    again = import_directory(engine, export, mapping="maven-crm")
    assert again.ok, again.errors[:10]
    assert again.counts["opportunities"] == {"inserted": 0, "updated": 1, "unchanged": 8799}
    assert again.counts["transactions"] == {"inserted": 0, "updated": 1, "unchanged": 4237}
    with engine.connect() as conn:
        changes = conn.execute(
            select(
                ChangeRecord.entity,
                ChangeRecord.row_key,
                ChangeRecord.field,
                ChangeRecord.before,
                ChangeRecord.after,
            ).where(ChangeRecord.import_id == again.import_id)
        ).all()
        batch = conn.execute(select(ImportBatch).where(ImportBatch.id == again.import_id)).one()
    assert sorted((entity, key, name) for entity, key, name, _, _ in changes) == [
        ("opportunities", "1C1I7A6R", "amount"),
        ("opportunities", "1C1I7A6R", "extra"),  # the custom field close_value
        ("transactions", "booking-1C1I7A6R", "amount"),
    ]
    amounts = {
        (entity, Decimal(before), Decimal(after))
        for entity, _, name, before, after in changes
        if name == "amount"
    }
    assert amounts == {
        ("opportunities", Decimal(1054), Decimal(1100)),
        ("transactions", Decimal(1054), Decimal(1100)),
    }
    assert batch.mapping == "maven-crm"
