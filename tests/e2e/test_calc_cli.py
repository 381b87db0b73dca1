"""`spm calc` and `spm plan diff --against` end to end, on a real SQLite store with the example AE plan.

The small company (tests/fixtures/canonical/small, fiscal year = calendar year, so 2025-Q1 is Jan–Mar)
with examples/plans/ae_2025_v1.yaml for P-AE1 and P-AE2, target incentive 60,000 a year (15,000 a
quarter). Bookings credited in 2025-Q1, worked by hand:

- P-AE1: TX1 120,000 USD × 60 % split = 72,000 (rule revenue_split) + TX3 renewal 9,500.25 EUR × 1.085
  = 10,307.77125 (no deal: rule owner) → 82,307.77125 against a quota of 150,000 = 54.8718475 %.
  Marginal tiers: 75,000 (0–50 %) × 4.5 % = 3,375 + 7,307.77125 (50–54.87 %) × 9 % = 657.6994125
  → 4,032.6994125 → **4,032.70** (March ends the quarter: the true-up, nothing paid before).
- P-AE2: TX1 × 40 % = 48,000 against 100,000 = 48 % → 48,000 × 4.5 % = **2,160.00**.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openspm.cli import app

ROOT = Path(__file__).parent.parent.parent
SMALL = ROOT / "tests" / "fixtures" / "canonical" / "small"
V1, V2 = ROOT / "examples" / "plans" / "ae_2025_v1.yaml", ROOT / "examples" / "plans" / "ae_2025_v2.yaml"


@pytest.fixture(scope="module")
def spm(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("calc-cli")
    runner = CliRunner()
    env = {"SPM_DATABASE_URL": f"sqlite:///{folder / 'spm.db'}"}

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args), catch_exceptions=False, env=env)
        assert result.exit_code == code, result.output
        return result.output

    run("db", "upgrade")
    run("import", str(SMALL))
    run("plan", "publish", str(V1))
    for person in ("P-AE1", "P-AE2"):
        run(
            "plan",
            "assign",
            person,
            "account_executive",
            "--version",
            "1",
            "--from",
            "2025-01-01",
            "--to",
            "2025-07-01",
            "--target-incentive",
            "60000",
        )
    return run


def test_run_results_and_explain(spm) -> None:  # type: ignore[no-untyped-def]
    dry = spm("calc", "run", "--period", "2025-03", "--dry-run")
    assert "dry run (nothing recorded)" in dry
    assert "no payout lines for 2025-03" in spm("calc", "results", "--period", "2025-03")
    out = spm("calc", "run", "--period", "2025-03")
    assert "2025-03: run #1 recorded: 2 payee(s)" in out
    assert "total 6192.70 USD" in out  # 4,032.70 + 2,160.00
    assert "period status: calculated" in out
    fingerprint = next(x for x in out.splitlines() if x.strip().startswith("outputs"))
    assert fingerprint in dry  # the dry run computed the same lines

    lines = json.loads(spm("calc", "results", "--period", "2025-03", "--format", "json"))
    commission = {x["person_id"]: x for x in lines if x["component"] == "bookings_commission"}
    assert {p: x["amount"] for p, x in commission.items()} == {"P-AE1": "4032.70", "P-AE2": "2160.00"}
    ae1 = commission["P-AE1"]
    assert (ae1["period"], ae1["currency"], ae1["line_kind"]) == ("2025-03", "USD", "true_up")
    assert ae1["explanation"]["quota"] == "150000"
    assert ae1["explanation"]["attainment"] == "54.8718475"
    assert {"person_id", "period", "component", "amount", "currency", "explanation"} <= set(ae1)

    mine = list(
        csv.DictReader(
            io.StringIO(spm("calc", "results", "--period", "2025-03", "--person", "P-AE1", "--format", "csv"))
        )
    )
    assert {r["person_id"] for r in mine} == {"P-AE1"}
    assert [r["amount"] for r in mine if r["component"] == "bookings_commission"] == ["4032.70"]

    explained = spm("calc", "explain", "--person", "P-AE1", "--period", "2025-03")
    for expected in (
        "TX1",
        "revenue_split",
        "72000",
        "TX3",
        "10307.77125",
        "0–50 @ 4.5 on 75000 = 3375",
        "attainment %",
        "= line                 4032.70 USD",
        "total 4032.70 USD",
    ):
        assert expected in explained, expected
    assert "inputs changed" not in explained


def test_a_locked_period_is_refused(spm) -> None:  # type: ignore[no-untyped-def]
    for status in ("calculated", "approved", "locked"):
        spm("period", "set-status", "2025-01", status)
    assert "locked" in spm("calc", "run", "--period", "2025-01", code=1)


def test_plan_diff_against_a_period_shows_each_persons_cost(spm) -> None:  # type: ignore[no-untyped-def]
    """v2 adds a 50 % gate: P-AE1 (54.87 %) is paid as before, P-AE2 (48 %) loses 2,160.00."""
    out = spm("plan", "diff", str(V1), str(V2), "--against", "2025-Q1")
    assert "~ components[bookings_commission].tiers[3].rate: 18 → 20" in out
    rows = {
        line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:5]]
        for line in out.splitlines()
        if line.count("│") >= 5
    }
    assert rows["P-AE1"] == ["4032.70 USD", "4032.70 USD", "0.00 USD"]
    assert rows["P-AE2"] == ["2160.00 USD", "0.00 USD", "-2160.00 USD"]
    assert rows["total"] == ["6192.70 USD", "4032.70 USD", "-2160.00 USD"]


def test_bench_calc_measures_the_year_the_month_and_an_incremental_run() -> None:
    """`spm bench calc` at a tiny size: every timing is there, and the late booking affected someone."""
    result = CliRunner().invoke(
        app,
        ["bench", "calc", "--payees", "24", "--lines", "3000", "--store", "sqlite", "--format", "json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    measured = json.loads(result.output)
    assert {"end_to_end_s", "month_s", "incremental_s", "peak_mb"} <= set(measured)
    assert measured["payout_lines"] > 0
    assert 1 <= measured["incremental_payees"] < 24


def test_plan_assign_takes_a_draw_of_the_person_s_own(spm) -> None:  # type: ignore[no-untyped-def]
    """(Last in this module: P-SE joins the AE plan, which would change the totals above.)"""
    args = ["plan", "assign", "P-SE", "account_executive", "--version", "1", "--from", "2025-01-01"]
    args += ["--to", "2025-07-01", "--target-incentive", "50000"]
    assert "--draw and --draw-periods go together" in spm(*args, "--draw", "2000", code=1)
    out = spm(*args, "--draw", "2000", "--draw-periods", "3", "--draw-kind", "non_recoverable")
    assert "own non_recoverable draw 2000 × 3" in out
