"""Importing canonical CSV: all or nothing, upserts with change history, exports that round-trip."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from openspm.services.imports import count_rows, export_directory, import_directory
from openspm.store.audit import verify_chain
from openspm.store.models import Account, AuditEvent, ChangeRecord, ImportBatch, Opportunity, Transaction

SMALL = Path(__file__).parent.parent / "fixtures" / "canonical" / "small"


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SMALL, tmp_path / "small"))


def edit(path: Path, old: str, new: str) -> None:
    content = path.read_text()
    assert old in content, f"{old!r} not in {path.name}"
    path.write_text(content.replace(old, new, 1))


def test_import_small_company(engine: Engine) -> None:
    report = import_directory(engine, SMALL, actor="tester")
    assert report.ok, report.problems
    assert report.counts["opportunities"] == {"inserted": 3, "updated": 0, "unchanged": 0}
    with Session(engine) as session:
        counts = count_rows(session.connection())
        o3 = session.get_one(Opportunity, "O3")
        tx = {t.transaction_id: t for t in session.scalars(select(Transaction))}
        a1 = session.get_one(Account, "A1")
        events = session.scalars(select(AuditEvent)).all()
    assert counts["opportunity_history"] == 7 and counts["org_units"] == 3 and counts["quotas"] == 3
    assert o3.next_step == "Send revised proposal\nwith pricing"  # a quoted cell with a newline
    assert (o3.amount, o3.currency, o3.close_date) == (Decimal(80000), "EUR", date(2025, 6, 30))
    assert tx["TX2"].amount == Decimal(-20000) and tx["TX3"].amount == Decimal("9500.25")
    assert a1.name == "Globex, Inc." and a1.extra == {"tier": "gold"}  # extra columns are custom fields
    assert [(e.actor, e.action) for e in events] == [("tester", "import")]
    assert events[0].after["counts"]["transactions"]["inserted"] == 3


def test_a_bad_import_lists_every_problem_and_writes_nothing(engine: Engine, small: Path) -> None:
    edit(small / "transactions.csv", "2025-04-15", "2025-04-31")  # no such day
    edit(small / "transactions.csv", "9500.25", '"9,500.25"')  # unparseable number
    edit(
        small / "products.csv",
        "PR-ADD,Analytics add-on,Add-ons,2999.99",
        "PR-ADD,Analytics, add-on,Add-ons,3",
    )
    edit(small / "transactions.csv", "TX1,booking,2025-03-20,120000", "TX1,booking,2025-03-20,-1")  # negative
    edit(small / "opportunities.csv", "O2,A2,", "O2,A9,")  # unknown account
    edit(small / "people.csv", "P-SE,Sam Lee", "P-SE,")  # missing required value
    report = import_directory(engine, small)
    assert not report.ok
    found = {(p.file, p.row, p.column) for p in report.errors}
    assert found == {
        ("transactions.csv", 2, "amount"),
        ("transactions.csv", 3, "date"),
        ("transactions.csv", 4, "amount"),
        ("opportunities.csv", 3, "account_id"),
        ("people.csv", 5, "name"),
        ("products.csv", 3, None),  # a row with one cell too many: reported and skipped, so…
        ("opportunities.csv", 3, "product_id"),  # …the rows that refer to it are reported too
        ("transactions.csv", 4, "product_id"),
    }
    assert "'A9' is not in accounts.csv nor in the store" in {p.reason for p in report.errors}
    with engine.connect() as conn:
        assert set(count_rows(conn).values()) == {0}
        assert conn.execute(select(ImportBatch)).first() is None
        assert conn.execute(select(AuditEvent)).first() is None


def test_reimport_updates_rows_and_records_what_changed(engine: Engine, small: Path) -> None:
    assert import_directory(engine, small).ok
    edit(
        small / "opportunities.csv",
        'O3,A3,P-AE1,"Umbrella pilot, phase 1",80000,EUR,Proposal',
        'O3,A3,P-AE1,"Umbrella pilot, phase 1",95000,EUR,Negotiation',
    )
    report = import_directory(engine, small, actor="second")
    assert report.ok
    assert report.counts["opportunities"] == {"inserted": 0, "updated": 1, "unchanged": 2}
    assert report.counts["transactions"] == {"inserted": 0, "updated": 0, "unchanged": 3}
    with Session(engine) as session:
        second = select(ChangeRecord).where(ChangeRecord.import_id == report.import_id)
        changes = session.scalars(second.order_by(ChangeRecord.field)).all()
        first = session.scalars(select(ChangeRecord).where(ChangeRecord.import_id != report.import_id)).all()
        first_counts = session.get_one(ImportBatch, first[0].import_id).summary
        o3 = session.get_one(Opportunity, "O3")
        count, breaks = verify_chain(session.connection())
    assert [(c.entity, c.row_key, c.field, c.before, c.after) for c in changes] == [
        ("opportunities", "O3", "amount", "80000.00", "95000.00"),
        ("opportunities", "O3", "stage", "Proposal", "Negotiation"),
    ]
    # the first import logged each row it inserted (what `spm calc run --changed` reads)
    assert ("transactions", "TX2", "*", None, None) in {
        (c.entity, c.row_key, c.field, c.before, c.after) for c in first
    }
    assert len(first) == sum(n["inserted"] for n in first_counts.values() if isinstance(n, dict))
    assert changes[0].import_id == report.import_id
    assert (o3.amount, o3.stage) == (Decimal(95000), "Negotiation")
    assert (count, breaks) == (2, [])


def test_reimporting_a_file_with_new_rows_at_the_end_inserts_exactly_those(
    engine: Engine, small: Path
) -> None:
    """The stored rows come first in the file and the new ones last, so the rows to insert are not the
    first rows of the file: the importer must insert AC9 and AC10 (and nothing else)."""
    assert import_directory(engine, small).ok
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM activities")).scalar_one()
    with (small / "activities.csv").open("a") as file:
        file.write("AC9,P-AE2,meeting,2025-02-20T10:00:00,30,A2,O2,discovery,Discovery\n")
        file.write("AC10,P-AE1,call,2025-02-21T09:00:00,5,A1,,connected,Follow-up\n")
    report = import_directory(engine, small)
    assert report.ok, report.errors
    assert report.counts["activities"] == {"inserted": 2, "updated": 0, "unchanged": stored}
    with engine.connect() as conn:
        added = conn.execute(
            text("SELECT activity_id, person_id FROM activities WHERE activity_id IN ('AC9', 'AC10')")
        ).all()
    assert sorted(added) == [("AC10", "P-AE1"), ("AC9", "P-AE2")]


def test_a_later_file_may_refer_to_rows_already_in_the_store(
    engine: Engine, small: Path, tmp_path: Path
) -> None:
    assert import_directory(engine, small).ok
    later = tmp_path / "later"
    later.mkdir()
    (later / "transactions.csv").write_text(
        "transaction_id,kind,date,amount,opportunity_id,owner_id\nTX9,booking,2025-05-01,10,O3,P-AE2\n"
        "TX10,booking,2025-05-01,10,O404,P-AE2\n"
    )
    report = import_directory(engine, later)
    assert [(p.row, p.column) for p in report.errors] == [(3, "opportunity_id")]
    (later / "transactions.csv").write_text(
        "transaction_id,kind,date,amount,opportunity_id,owner_id\nTX9,booking,2025-05-01,10,O3,P-AE2\n"
    )
    assert import_directory(engine, later).ok


def test_dry_run_counts_but_writes_nothing(engine: Engine) -> None:
    report = import_directory(engine, SMALL, dry_run=True)
    assert report.ok and report.counts["people"]["inserted"] == 4
    with engine.connect() as conn:
        assert set(count_rows(conn).values()) == {0}


def test_cycles_in_trees_and_split_totals_are_refused(engine: Engine, small: Path) -> None:
    edit(small / "org_units.csv", "CO,Acme Sales,company,", "CO,Acme Sales,company,T-EAST")
    edit(small / "opportunity_splits.csv", "O1,P-AE2,40", "O1,P-AE2,45")
    report = import_directory(engine, small)
    reasons = sorted(p.reason for p in report.errors)
    assert any("is its own ancestor" in r for r in reasons)
    assert "revenue splits of 'O1' total 105, not 100" in reasons


def test_near_duplicate_accounts_are_warned_about(engine: Engine, small: Path) -> None:
    with (small / "accounts.csv").open("a") as handle:
        handle.write("A4,GLOBEX INC,Manufacturing,Enterprise,US,,,,P-AE1,\n")
    report = import_directory(engine, small)
    assert report.ok
    assert [(p.row, p.reason.split(" (")[0]) for p in report.warnings] == [
        (5, "'GLOBEX INC' looks like account 'A1'")
    ]


def test_export_reimports_and_exports_byte_identical(engine: Engine, tmp_path: Path, store_url: str) -> None:
    assert import_directory(engine, SMALL).ok
    first = tmp_path / "first"
    export_directory(engine, first)
    with engine.begin() as conn:  # empty the store (but keep the audit log, which is append-only)
        for table in (
            "account_assignments",
            "fx_rates",
            "quotas",
            "transactions",
            "activities",
            "opportunity_splits",
            "opportunity_history",
            "opportunities",
            "products",
            "accounts",
            "territories",
            "assignments",
            "people",
            "org_units",
        ):
            conn.execute(text(f"DELETE FROM {table}"))
    assert import_directory(engine, first).ok
    second = tmp_path / "second"
    export_directory(engine, second)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in SMALL.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    exported = (first / "opportunities.csv").read_text()
    assert '"Send revised proposal\nwith pricing"' in exported and "45000.75" in exported
