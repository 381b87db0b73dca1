"""`spm calc run --changed`: the changes since a period's last run for everyone pick whom to recompute.

The small company (P-AE1 and P-AE2 on the AE plan, P-MGR on the manager plan) is calculated for March;
then files are imported or plans assigned, and the people `changed_payees` names are recomputed. The
promise is the incremental one: the lines afterwards equal a full recalculation, and changes that cannot
be narrowed (a product, no earlier run, an import too large to log) recompute everyone.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from openspm.cli import app
from openspm.domain.periods import PeriodStatus
from openspm.services import calc, imports, plans
from openspm.services.calc_changes import changed_payees
from openspm.services.calc_impact import Change, affected_payees
from openspm.services.company import set_period_status
from openspm.store.models import ChangeRecord
from tests.integration.test_calc_incremental import full, recorded, team_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Engine]:
    engine = team_store(tmp_path / "spm.db")
    calc.run_calculation(engine, "2025-03", by="test")
    yield engine
    engine.dispose()


def _import(engine: Engine, folder: Path, name: str, rows: list[dict[str, str]]) -> None:
    folder.mkdir(exist_ok=True)
    with (folder / name).open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    report = imports.import_directory(engine, folder)
    assert report.ok, report.problems


def _recomputes_everyone(engine: Engine, why: str) -> None:
    """`--changed` for 2025-03 cannot narrow the changes since its last run, and says `why`."""
    with engine.connect() as conn:
        found = changed_payees(conn, "2025-03")
    assert found.people is None and why in found.reason, found.reason


def _transaction(
    tid: str, owner: str, day: str, amount: str, deal: str = "", account: str = "A1"
) -> dict[str, str]:
    return {
        "transaction_id": tid,
        "kind": "booking",
        "date": day,
        "amount": amount,
        "currency": "USD",
        "opportunity_id": deal,
        "account_id": account,
        "product_id": "PR-CORE",
        "owner_id": owner,
    }


def test_nothing_changed_recomputes_nobody(store: Engine) -> None:
    with store.connect() as conn:
        found = changed_payees(conn, "2025-03")
    assert found.people == [] and found.anchor_run is not None


def test_a_period_never_run_for_everyone_recomputes_everyone(tmp_path: Path) -> None:
    engine = team_store(tmp_path / "spm.db")
    calc.run_calculation(engine, "2025-03", payees=["P-AE1"], by="test")
    _recomputes_everyone(engine, "no recorded run for everyone")
    engine.dispose()


def test_a_late_booking_and_a_moved_booking_recompute_who_they_move_and_pay_what_a_full_run_pays(
    store: Engine, tmp_path: Path
) -> None:
    """TX-MOVE (account A2, territory TR-EAST-2 of P-AE2, no deal) moves from P-AE1 to P-AE2, and TX-LATE
    is a new booking of P-AE2 on A2. The store then names P-AE2 and P-MGR only: P-AE1, who loses
    TX-MOVE's credit, is found from the change log's value before the change."""
    _import(
        store,
        tmp_path / "first",
        "transactions.csv",
        [_transaction("TX-MOVE", "P-AE1", "2025-03-03", "5000", account="A2")],
    )
    calc.run_calculation(store, "2025-03", by="test")  # the run the changes come after
    moved = _transaction("TX-MOVE", "P-AE2", "2025-03-03", "5000", account="A2")
    late = _transaction("TX-LATE", "P-AE2", "2025-03-12", "30000", account="A2")
    _import(store, tmp_path / "late", "transactions.csv", [late, moved])
    with store.connect() as conn:
        found = changed_payees(conn, "2025-03")
        after = affected_payees(conn, Change(transactions=["TX-LATE", "TX-MOVE"]))
        logged = set(conn.execute(select(ChangeRecord.row_key, ChangeRecord.field)).all())
    assert ("TX-LATE", "*") in logged and ("TX-MOVE", "owner_id") in logged
    assert after == {"P-AE2", "P-MGR"}, "the store as it stands no longer names P-AE1"
    assert found.people == ["P-AE1", "P-AE2", "P-MGR"]
    calc.run_calculation(store, "2025-03", payees=found.people, by="test")
    assert recorded(store) == full(store)


def test_a_changed_split_recomputes_the_deal_s_people(store: Engine, tmp_path: Path) -> None:
    rows = [
        {"opportunity_id": "O1", "person_id": "P-AE1", "percent": "30", "kind": "revenue"},
        {"opportunity_id": "O1", "person_id": "P-AE2", "percent": "70", "kind": "revenue"},
    ]
    _import(store, tmp_path / "split", "opportunity_splits.csv", rows)
    with store.connect() as conn:
        found = changed_payees(conn, "2025-03")
    # O1's revenue and overlay split people, their manager; not everyone (None)
    assert found.people == ["P-AE1", "P-AE2", "P-MGR", "P-SE"]
    calc.run_calculation(store, "2025-03", payees=found.people, by="test")
    assert recorded(store) == full(store)


def test_a_plan_assignment_recomputes_the_person(store: Engine) -> None:
    """P-SE (who reports to nobody) goes on the AE plan from February."""
    with store.begin() as conn:
        seat = plans.Assignment(
            "P-SE", "account_executive", 1, date(2025, 2, 1), date(2025, 7, 1), Decimal(50000), "USD"
        )
        plans.assign_plan(conn, seat, actor="revops")
    with store.connect() as conn:
        assert changed_payees(conn, "2025-03").people == ["P-SE"]
    calc.run_calculation(store, "2025-03", payees=["P-SE"], by="test")
    assert recorded(store) == full(store)


def test_a_changed_product_recomputes_everyone(store: Engine, tmp_path: Path) -> None:
    """A filter may read any product field: every credit on the product may move."""
    row = {"product_id": "PR-CORE", "name": "Core platform", "family": "Platform", "list_price": "13000"}
    _import(store, tmp_path / "product", "products.csv", [row])
    _recomputes_everyone(store, "products")


def test_an_import_too_large_to_log_recomputes_everyone(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "LOGGED_INSERTS", 0)
    _import(
        store, tmp_path / "big", "transactions.csv", [_transaction("TX-BIG", "P-AE1", "2025-03-02", "100")]
    )
    with store.connect() as conn:
        assert not conn.execute(select(ChangeRecord).where(ChangeRecord.row_key == "TX-BIG")).first()
    _recomputes_everyone(store, "transactions")


def test_spm_calc_run_changed(store: Engine, tmp_path: Path) -> None:
    late = _transaction("TX-LATE", "P-AE1", "2025-03-05", "1000")
    _import(store, tmp_path / "late", "transactions.csv", [late])
    runner = CliRunner()
    env = {"SPM_DATABASE_URL": f"sqlite:///{tmp_path / 'spm.db'}"}
    out = runner.invoke(app, ["calc", "run", "--period", "2025-03", "--changed"], env=env)
    assert out.exit_code == 0, out.output
    assert "people affected by changes since run #1" in out.output
    assert "run #2 recorded: 2 payee(s)" in out.output  # P-AE1 and their manager
    again = runner.invoke(app, ["calc", "run", "--period", "2025-03", "--changed"], env=env)
    assert again.exit_code == 0 and "nothing to recompute" in again.output
    both = runner.invoke(
        app, ["calc", "run", "--period", "2025-03", "--changed", "--person", "P-AE1"], env=env
    )
    assert both.exit_code == 2 and "cannot be combined" in both.output


def test_a_changed_date_or_period_status_or_another_period_s_full_run_recomputes_everyone(
    store: Engine, tmp_path: Path
) -> None:
    """A date picks the territory owner and managers; a status picks the periods a run rechecks; another
    period's lines are this run's earlier lines and deltas."""
    moved = _transaction("TX1", "P-AE1", "2025-03-21", "120000", deal="O1")
    _import(store, tmp_path / "date", "transactions.csv", [moved])
    _recomputes_everyone(store, "a date of transactions TX1 changed")
    calc.run_calculation(store, "2025-03", by="test")  # caught up
    calc.run_calculation(store, "2025-02", by="test")
    with store.connect() as conn:
        assert changed_payees(conn, "2025-03").reason == "2025-02 was recalculated for everyone (run #3)"
    calc.run_calculation(store, "2025-03", by="test")
    calc.run_calculation(store, "2025-02", payees=["P-AE2"], by="test")
    with store.connect() as conn:
        assert changed_payees(conn, "2025-03").people == ["P-AE2", "P-MGR"]
    calc.run_calculation(store, "2025-03", by="test")
    with store.begin() as conn:
        set_period_status(conn, "2025-02", PeriodStatus.APPROVED, actor="finance")
    _recomputes_everyone(store, "period 2025-02 was closed or reopened")


def test_a_run_recorded_after_a_newer_one_holds_the_horizon_back(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs overlap: a run for P-AE2 that started before TX-LATE (a booking of P-AE2) was imported is
    recorded after a run for everyone that saw it. P-AE2's current lines come from the later-recorded
    run, without TX-LATE, so the changes since the earlier run's start still count."""
    with store.connect() as conn:
        early = calc.changes_seen(conn)
    late = _transaction("TX-LATE", "P-AE2", "2025-03-05", "1000", account="A2")
    _import(store, tmp_path / "late", "transactions.csv", [late])
    calc.run_calculation(store, "2025-03", by="test")  # sees TX-LATE
    monkeypatch.setattr(calc, "changes_seen", lambda conn: early)  # started before the import
    calc.run_calculation(store, "2025-03", payees=["P-AE2"], by="test")
    monkeypatch.undo()
    with store.connect() as conn:
        assert changed_payees(conn, "2025-03").people == ["P-AE2", "P-MGR"]
