"""`spm inspect` end to end against the small company in a real SQLite store.

The one open deal, O3 (P-AE1, Proposal, 80 000 EUR = 86 800.00 USD at 1.085), inspected as of
2025-04-10: 16 days in Proposal (since 03-25), skipped Prospecting, Qualification and Solution, next
step dated 04-02 (overdue), 5 of the shipped criteria missing (see test_inspection_api.py).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openspm.cli import app
from tests.e2e.conftest import SMALL


@pytest.fixture(scope="module")
def spm(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    env = {"SPM_DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('cli') / 'spm.db'}"}
    runner = CliRunner()

    def run(*args: str, code: int = 0, extra_env: dict[str, str] | None = None) -> str:
        result = runner.invoke(app, list(args), env={**env, **(extra_env or {})}, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    run("db", "upgrade")
    run("import", str(SMALL))
    return run


def test_json_is_the_whole_report(spm) -> None:  # type: ignore[no-untyped-def]
    report = json.loads(spm("inspect", "--as-of", "2025-04-10", "--format", "json"))
    assert (report["as_of"], report["process"], report["level"]) == (
        "2025-04-10",
        "B2B new business",
        "person",
    )
    (deal,) = report["deals"]
    assert (deal["opportunity_id"], deal["value"], deal["days_in_stage"]) == ("O3", "86800.00", 16)
    assert deal["skipped_stages"] == ["Prospecting", "Qualification", "Solution"]
    assert [r["person_id"] for r in report["reps"]] == ["P-AE1"]


def test_csv_has_one_row_per_deal(spm) -> None:  # type: ignore[no-untyped-def]
    out = spm("inspect", "--as-of", "2025-04-10", "--format", "csv", "--level", "team", "--subject", "T-EAST")
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert row["opportunity_id"] == "O3"
    assert (row["amount"], row["currency"], row["value"]) == ("80000.00", "EUR", "86800.00")
    assert row["skipped_stages"] == "Prospecting; Qualification; Solution"
    assert (row["earned_stage"], row["next_step_overdue"], row["has_gaps"]) == ("false", "true", "true")
    assert row["missing"].split("; ")[0] == "metrics_identified"


def test_table_and_filters(spm) -> None:  # type: ignore[no-untyped-def]
    out = spm("inspect", "--as-of", "2025-04-10")
    assert "O3" in out
    assert "86800.00" in out
    assert "1 of 1 deals have gaps" in out
    nobody = spm("inspect", "--as-of", "2025-04-10", "--subject", "P-AE2", "--only-gaps", "--format", "json")
    assert json.loads(nobody)["deals"] == []


def test_errors_exit_1_or_2(spm, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert "no org unit 'NOPE'" in spm("inspect", "--level", "team", "--subject", "NOPE", code=1)
    assert "not a date" in spm("inspect", "--as-of", "yesterday", code=2)
    bad = tmp_path / "process.yaml"
    bad.write_text("stages: []\n")
    out = spm("inspect", code=1, extra_env={"SPM_SALES_PROCESS_FILE": str(bad)})
    assert f"{bad}: stages: must have at least 2 item(s)" in out
