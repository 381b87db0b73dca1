"""`spm kpi` end to end against a real SQLite store holding the small company."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from openspm.cli import app
from openspm.domain.kpis import CATALOGUE
from tests.e2e.test_cli import SMALL, spm

__all__ = ["spm"]


def test_json_is_the_contract_list(spm) -> None:  # type: ignore[no-untyped-def]
    spm("import", str(SMALL))
    out = spm(
        "kpi", "--level", "team", "--period", "2025-Q1", "--kpi", "won_amount", "--kpi", "win_rate",
        "--as-of", "2025-04-01", "--format", "json",
    )  # fmt: skip
    team = {"subject_id": "T-EAST", "subject_level": "team", "period": "2025-Q1"}
    assert json.loads(out) == [
        {**team, "kpi": "won_amount", "value": 120000.0},
        {**team, "kpi": "win_rate", "value": 0.5},
    ]  # fmt: skip


def test_csv_table_and_subject_filter(spm) -> None:  # type: ignore[no-untyped-def]
    spm("import", str(SMALL))
    out = spm(
        "kpi", "--level", "person", "--subject", "P-AE2", "--period", "2025-Q1", "--kpi", "win_rate",
        "--kpi", "avg_deal_size", "--as-of", "2025-04-01", "--format", "csv",
    )  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["subject_id"], r["kpi"], r["value"]) for r in rows] == [
        ("P-AE2", "win_rate", "0.0"),
        ("P-AE2", "avg_deal_size", ""),  # nothing won: no value
    ]
    table = spm("kpi", "--level", "person", "--subject", "P-AE1", "--period", "2025-Q1", "--kpi", "win_rate",
                "--as-of", "2025-04-01")  # fmt: skip
    assert "P-AE1" in table and "100.0%" in table


def test_list_errors_and_missing_period(spm, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    listed = json.loads(spm("kpi", "--list", "--format", "json"))
    assert [k["name"] for k in listed] == [k.name for k in CATALOGUE]
    assert "unknown KPI" in CliRunner().invoke(app, ["kpi", "--period", "2025-Q1", "--kpi", "nope"]).output
    spm("kpi", "--level", "team", code=2)
