"""Worked examples: credits (as transactions credited to their owner), a plan, and the payout lines by hand.

Unless a test says otherwise: one rep P1 on plan `ae` from 2025-01-01 with a 60,000 annual target
incentive (5,000 a month), a January fiscal year, quota on `bookings`.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from openspm.engine.calc.inputs import CalcInputs
from openspm.engine.calc.run import calculate
from tests.unit.calc.builders import booking as tx
from tests.unit.calc.builders import deal, make_inputs
from tests.unit.calc.payout_builders import (
    amounts,
    as_prior,
    booking,
    explanations,
    lines,
    plan,
    quota,
    run,
    seat,
)

TIERS = """    tiers:
      - {from: 0, to: 50, rate: 4}
      - {from: 50, to: 100, rate: 8}
      - {from: 100, to: 150, rate: 12}
      - {from: 150, rate: 16}
"""


def commission(method: str = "marginal", basis: str = "cumulative", extra: str = "") -> str:
    head = f"""  - kind: commission
    name: comm
    measure: bookings
    tier_method: {method}
    tier_basis: {basis}
"""
    return head + extra + TIERS


FLAT_10 = """  - kind: commission
    name: comm
    measure: bookings
    tiers_on: amount
    tiers:
      - {from: 0, rate: 10}
"""

MARCH = [booking("T1", "2025-03-10", 70000), booking("T2", "2025-03-20", 50000)]
MARCH_QUOTA = [quota("2025-03", 100000)]


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        # 120,000 on a 100,000 quota = 120 %.
        # marginal: 50,000 × 4 % + 50,000 × 8 % + 20,000 × 12 % = 2,000 + 4,000 + 2,400
        ("marginal", Decimal(8400)),
        # retroactive: all 120,000 at the 100–150 tier's 12 %
        ("retroactive", Decimal(14400)),
        # interpolated: 12 % + (120 − 100) ÷ (150 − 100) × (16 % − 12 %) = 13.6 %; × 120,000
        ("interpolated", Decimal(16320)),
    ],
)
def test_cumulative_tier_methods(method: str, expected: Decimal) -> None:
    result = run([plan(commission(method))], "2025-03", transactions=MARCH, quotas=MARCH_QUOTA)
    assert lines(result) == [("P1", "2025-03", "comm", "earning", expected)]


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        # T1 places 0 → 70,000 (70 %), T2 places 70,000 → 120,000 (120 %)
        # marginal: T1 50,000 × 4 % + 20,000 × 8 % = 3,600; T2 30,000 × 8 % + 20,000 × 12 % = 4,800
        ("marginal", [Decimal(3600), Decimal(4800)]),
        # retroactive: T1 at the tier 70 % reaches (8 %) = 5,600; T2 at 12 % = 6,000
        ("retroactive", [Decimal(5600), Decimal(6000)]),
        # interpolated: T1 at 8 + 20/50 × 4 = 9.6 % = 6,720; T2 at 13.6 % = 6,800
        ("interpolated", [Decimal(6720), Decimal(6800)]),
    ],
)
def test_per_transaction_tier_methods(method: str, expected: list[Decimal]) -> None:
    result = run(
        [plan(commission(method, "per_transaction"))], "2025-03", transactions=MARCH, quotas=MARCH_QUOTA
    )
    assert [line[4] for line in lines(result)] == expected
    assert [e["source_id"] for e in explanations(result)] == ["T1", "T2"]


@pytest.mark.parametrize(("boundary", "expected"), [("upper", Decimal(12000)), ("lower", Decimal(8000))])
def test_boundary_ownership(boundary: str, expected: Decimal) -> None:
    """Exactly 100 %: retroactive pays 100,000 × 12 % when the upper tier owns 100, × 8 % when the lower."""
    result = run(
        [plan(commission("retroactive", extra=f"    boundary: {boundary}\n"))],
        "2025-03",
        transactions=[booking("T1", "2025-03-10", 100000)],
        quotas=MARCH_QUOTA,
    )
    assert lines(result)[0][4] == expected


def test_cap_bites() -> None:
    """Cap 1 × the monthly target incentive (60,000 ÷ 12 = 5,000); 10 % of 80,000 = 8,000 → 5,000."""
    capped = FLAT_10.replace("    tiers_on", "    cap: {multiple_of_target_incentive: 1}\n    tiers_on")
    result = run([plan(capped)], "2025-03", transactions=[booking("T1", "2025-03-10", 80000)])
    assert lines(result) == [("P1", "2025-03", "comm", "earning", Decimal(5000))]
    (e,) = explanations(result)
    assert (Decimal(e["raw"]), Decimal(e["cap"]), Decimal(e["cap_adjustment"])) == (
        Decimal(8000),
        Decimal(5000),
        Decimal(-3000),
    )


def test_a_large_line_is_exact_to_the_cent() -> None:
    """10 % of 9,876,543,211.25 is 987,654,321.125: half a cent, paid up as .13 (a float made it .12)."""
    result = run([plan(FLAT_10)], "2025-03", transactions=[booking("T1", "2025-03-10", "9876543211.25")])
    assert lines(result) == [("P1", "2025-03", "comm", "earning", Decimal("987654321.13"))]
    (e,) = explanations(result)
    assert (Decimal(e["earned"]), Decimal(e["rounding"])) == (Decimal("987654321.125"), Decimal("0.005"))


def test_large_advances_and_their_true_up_are_exact_to_the_cent() -> None:
    """Half of 987,654,321.125 is advanced in January (493,827,160.5625 → .56); March pays the rest of the
    quarter: 987,654,321.125 − 493,827,160.56 = 493,827,160.565 → .57; together the rounded earnings."""
    quarterly = "{type: quarterly, advances: monthly, advance_percent: 50}"
    big = [booking("T1", "2025-01-10", "9876543211.25")]
    january = run([plan(FLAT_10, period=quarterly)], "2025-01", transactions=big)
    assert amounts(january)[("P1", "2025-01", "comm")] == Decimal("493827160.56")
    march = run([plan(FLAT_10, period=quarterly)], "2025-03", transactions=big, prior=as_prior(january))
    assert amounts(march)[("P1", "2025-03", "comm")] == Decimal("493827160.57")


@pytest.mark.parametrize(("booked", "expected"), [(40000, Decimal(0)), (60000, Decimal(6000))])
def test_gate(booked: int, expected: Decimal) -> None:
    """Gate at 50 % of a 100,000 quota: 40,000 (40 %) pays nothing; 60,000 (60 %) pays 10 % = 6,000."""
    gated = FLAT_10.replace("    tiers_on", "    gates: [{min_attainment: 50}]\n    tiers_on")
    result = run(
        [plan(gated)], "2025-03", transactions=[booking("T1", "2025-03-10", booked)], quotas=MARCH_QUOTA
    )
    assert lines(result)[0][4] == expected
    (e,) = explanations(result)
    assert e["gates"][0]["open"] is (booked >= 50000)


def test_spif_per_qualifying_transaction() -> None:
    """500 per booking of at least 50,000: T1 (70,000) and T2 (50,000) qualify, T3 (10,000) not → 1,000."""
    spif = FLAT_10 + "  - {kind: spif, name: logo_spif, measure: new_logos, amount: 500}\n"
    tx = [*MARCH, booking("T3", "2025-03-25", 10000)]
    result = run([plan(spif)], "2025-03", transactions=tx)
    assert amounts(result)[("P1", "2025-03", "logo_spif")] == Decimal(1000)


def test_bonus_milestones() -> None:
    """Milestones 100 % → 1,000 and 150 % → 0.5 × TI (5,000) = 2,500; at 160 % both: 3,500."""
    bonus = (
        FLAT_10
        + """  - kind: bonus
    name: club
    measure: bookings
    milestones:
      - {attainment: 100, amount: 1000}
      - {attainment: 150, multiple_of_target_incentive: 0.5}
      - {attainment: 200, amount: 9999}
"""
    )
    result = run(
        [plan(bonus)], "2025-03", transactions=[booking("T1", "2025-03-10", 160000)], quotas=MARCH_QUOTA
    )
    assert amounts(result)[("P1", "2025-03", "club")] == Decimal(3500)


MANAGER = """name: mgr
version: 1
effective_from: 2025-01-01
currency: USD
period: {type: monthly}
crediting:
  - {kind: direct, name: owner, owner: transaction}
measures:
  - {name: bookings, aggregate: sum}
components:
  - {kind: override, name: team_override, rate: 5}
"""


def test_override_on_team_earnings() -> None:
    """M1 manages P1 all month; P2 moved to M2 on 2025-03-15, so on 2025-03-31 P2 is not M1's.

    P1 earns 10 % × 40,000 = 4,000; M1's override = 5 % × 4,000 = 200 (P2's 6,000 does not count).
    """
    org = [
        {"person_id": "P1", "role": "ae", "org_unit_id": "T", "manager_id": "M1", "start_date": "2024-01-01"},
        {
            "person_id": "P2",
            "role": "ae",
            "org_unit_id": "T",
            "manager_id": "M1",
            "start_date": "2024-01-01",
            "end_date": "2025-03-15",
        },
        {"person_id": "P2", "role": "ae", "org_unit_id": "T", "manager_id": "M2", "start_date": "2025-03-15"},
    ]
    result = run(
        [plan(FLAT_10), MANAGER],
        "2025-03",
        transactions=[booking("T1", "2025-03-10", 40000, "P1"), booking("T2", "2025-03-12", 60000, "P2")],
        seats=[seat("P1"), seat("P2"), seat("M1", name="mgr")],
        assignments=org,
    )
    got = amounts(result)
    assert got[("M1", "2025-03", "team_override")] == Decimal(200)
    assert got[("P2", "2025-03", "comm")] == Decimal(6000)


def test_override_on_team_credits_follows_the_line_on_each_credit_date() -> None:
    """On the credits basis each credit counts for whoever managed its rep on the credit's own date.

    P2 moved from M1 to M2 on 2025-03-15. M1: 2 % × (P1 40,000 on 03-10 + P1 5,000 on 03-10 + P2 60,000
    on 03-12, before the move) = 2 % × 105,000 = 2,100. M2: 2 % × P2's 10,000 on 03-20 = 200.
    """
    org = [
        {"person_id": "P1", "role": "ae", "org_unit_id": "T", "manager_id": "M1", "start_date": "2024-01-01"},
        {
            "person_id": "P2",
            "role": "ae",
            "org_unit_id": "T",
            "manager_id": "M1",
            "start_date": "2024-01-01",
            "end_date": "2025-03-15",
        },
        {"person_id": "P2", "role": "ae", "org_unit_id": "T", "manager_id": "M2", "start_date": "2025-03-15"},
    ]
    on_credits = MANAGER.replace(
        "{kind: override, name: team_override, rate: 5}",
        "{kind: override, name: team_override, rate: 2, basis: credits}",
    )
    result = run(
        [plan(FLAT_10), on_credits],
        "2025-03",
        transactions=[
            booking("T1", "2025-03-10", 40000, "P1"),
            booking("T2", "2025-03-10", 5000, "P1"),
            booking("T3", "2025-03-12", 60000, "P2"),
            booking("T4", "2025-03-20", 10000, "P2"),
        ],
        seats=[seat("P1"), seat("P2"), seat("M1", name="mgr"), seat("M2", name="mgr")],
        assignments=org,
    )
    got = amounts(result)
    assert got[("M1", "2025-03", "team_override")] == Decimal(2100)
    assert got[("M2", "2025-03", "team_override")] == Decimal(200)
    explained = {
        r["person_id"]: json.loads(r["explanation"])
        for r in result.payout_lines.to_pylist()
        if r["component"] == "team_override"
    }
    assert explained["M1"]["credits"] == 3  # counted credit by credit, not day by day
    assert explained["M1"]["value"] == "105000"


DRAW_TX = [
    booking("T1", "2025-01-15", 5000),  # Jan earns 500
    booking("T2", "2025-02-10", 6000),  # Feb earns 600
    booking("T3", "2025-03-10", 22000),  # Mar earns 2,200
    booking("T4", "2025-04-10", 25000),  # Apr earns 2,500
    booking("T5", "2025-05-10", 30000),  # May earns 3,000
    booking("T6", "2025-06-10", 40000),  # Jun earns 4,000
]


def test_recoverable_draw_recovered_over_three_months() -> None:
    """Draw 1,500 a month for the first 2 months, 10 % commission, recovered from later earnings."""
    draw = "draw: {kind: recoverable, amount: 1500, periods: 2}\n"
    small = [
        booking("T1", "2025-01-15", 5000),
        booking("T2", "2025-02-10", 6000),
        booking("T3", "2025-03-10", 8000),
        booking("T4", "2025-04-10", 7000),
        booking("T5", "2025-05-10", 9000),
    ]
    prior: list[dict[str, object]] = []
    got: list[tuple[str, str, str, str, Decimal]] = []
    for month in ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05"]:
        result = run([plan(FLAT_10, extra=draw)], month, transactions=small, prior=prior)
        prior += as_prior(result)
        got += [line for line in lines(result) if line[2] != "comm"]
    # Jan 500 → draw 1,000 (balance 1,000); Feb 600 → draw 900 (1,900);
    # Mar 800 → recover 800 (1,100); Apr 700 → recover 700 (400); May 900 → recover 400 (0).
    assert got == [
        ("P1", "2025-01", "draw", "draw", Decimal(1000)),
        ("P1", "2025-02", "draw", "draw", Decimal(900)),
        ("P1", "2025-03", "draw_recovery", "draw_recovery", Decimal(-800)),
        ("P1", "2025-04", "draw_recovery", "draw_recovery", Decimal(-700)),
        ("P1", "2025-05", "draw_recovery", "draw_recovery", Decimal(-400)),
    ]
    # One run over the year gives the same lines as five monthly runs.
    year = run([plan(FLAT_10, extra=draw)], "FY2025", transactions=small)
    assert [line for line in lines(year) if line[2] != "comm" and line[1] <= "2025-05"] == got


def test_non_recoverable_draw_is_never_recovered() -> None:
    """Guarantee 1,500 for 2 months: Jan 500 → +1,000; Feb 600 → +900; Mar 2,200: nothing recovered."""
    draw = "draw: {kind: non_recoverable, amount: 1500, periods: 2}\n"
    result = run([plan(FLAT_10, extra=draw)], "2025-Q1", transactions=DRAW_TX)
    assert [line for line in lines(result) if line[2] != "comm"] == [
        ("P1", "2025-01", "guarantee", "draw", Decimal(1000)),
        ("P1", "2025-02", "guarantee", "draw", Decimal(900)),
    ]


def test_a_person_s_own_draw_replaces_the_plan_s() -> None:
    """The plan guarantees 1,500 for 2 months to everyone; P1's assignment carries a recoverable draw of
    2,000 for 3 months instead. P2, on the same plan with the same bookings, keeps the plan's guarantee.

    P1: Jan 500 → draw 1,500; Feb 600 → draw 1,400 (balance 2,900); Mar, still in the draw's term, earns
    2,200: nothing drawn, and the 200 above the draw's 2,000 is recovered (−200; 2,700 left).
    P2: Jan 500 → guarantee 1,000; Feb 600 → guarantee 900; Mar: the guarantee has ended.
    """
    guarantee = "draw: {kind: non_recoverable, amount: 1500, periods: 2}\n"
    own = {"draw_kind": "recoverable", "draw_amount": 2000, "draw_periods": 3}
    both = DRAW_TX + [{**t, "transaction_id": t["transaction_id"] + "-2", "owner_id": "P2"} for t in DRAW_TX]
    result = run(
        [plan(FLAT_10, extra=guarantee)], "2025-Q1", transactions=both, seats=[seat() | own, seat("P2")]
    )
    assert [line for line in lines(result) if line[2] != "comm"] == [
        ("P1", "2025-01", "draw", "draw", Decimal(1500)),
        ("P1", "2025-02", "draw", "draw", Decimal(1400)),
        ("P1", "2025-03", "draw_recovery", "draw_recovery", Decimal(-200)),
        ("P2", "2025-01", "guarantee", "draw", Decimal(1000)),
        ("P2", "2025-02", "guarantee", "draw", Decimal(900)),
    ]


def test_an_own_draw_pays_what_the_same_draw_on_the_plan_pays() -> None:
    draw = "draw: {kind: recoverable, amount: 1500, periods: 2}\n"
    on_plan = run([plan(FLAT_10, extra=draw)], "FY2025", transactions=DRAW_TX)
    own = {"draw_kind": "recoverable", "draw_amount": 1500, "draw_periods": 2}
    on_person = run([plan(FLAT_10)], "FY2025", transactions=DRAW_TX, seats=[seat() | own])
    assert any(line[2] == "draw" for line in lines(on_plan))
    assert lines(on_person) == lines(on_plan)


def test_an_own_draw_runs_from_its_own_assignment_s_start() -> None:
    """Quarterly plan with monthly advances. P1's January assignment has no draw; a second assignment
    from February 1 carries a recoverable draw of 1,500 for 2 pay periods: February and March, though
    the quarter's steps also see the January assignment.

    Jan 500: no draw. Feb 600 → draw 900 (balance 900). Mar 2,200, still in the term → nothing drawn,
    the 700 above the draw's 1,500 is recovered (−700; 200 left). Counting the term from January would
    end it in February and recover 900 in March.
    """
    own = {"draw_kind": "recoverable", "draw_amount": 1500, "draw_periods": 2}
    quarterly = "{type: quarterly, advances: monthly, advance_percent: 100}"
    seats = [seat(end="2025-02-01"), seat(start="2025-02-01") | own]
    result = run([plan(FLAT_10, period=quarterly)], "2025-Q1", transactions=DRAW_TX, seats=seats)
    assert [line for line in lines(result) if line[2] != "comm"] == [
        ("P1", "2025-02", "draw", "draw", Decimal(900)),
        ("P1", "2025-03", "draw_recovery", "draw_recovery", Decimal(-700)),
    ]


def test_a_draw_must_be_given_whole_with_a_known_kind() -> None:
    from openspm.engine.calc.inputs import plan_assignments_table
    from tests.unit.calc.builders import table

    partial = table("plan_assignments", [seat() | {"draw_kind": "recoverable", "draw_amount": 1000}])
    with pytest.raises(ValueError, match="together"):
        plan_assignments_table(partial)
    unknown = table(
        "plan_assignments", [seat() | {"draw_kind": "forgivable", "draw_amount": 1000, "draw_periods": 2}]
    )
    with pytest.raises(ValueError, match="forgivable"):
        plan_assignments_table(unknown)


def test_clawback_larger_than_the_month_is_carried_forward() -> None:
    """10 % commission, 90-day clawback. O1 booked 100,000 in February (earned 10,000), cancelled 5 March.

    Mar: clawback −10,000 against 2,000 earned: 8,000 deferred (+8,000), net 0.
    Apr: 3,000 earned, −3,000 recovered (balance 5,000). May: 10,000 earned, −5,000 recovered (0).
    """
    claw = "clawback: {window_days: 90}\n"
    tx = [
        booking("T1", "2025-02-10", 100000, opp="O1"),
        booking("C1", "2025-03-05", -100000, kind="cancellation", opp="O1"),
        booking("T2", "2025-03-10", 20000, opp="O2"),
        booking("T3", "2025-04-10", 30000, opp="O3"),
        booking("T4", "2025-05-10", 100000, opp="O4"),
    ]
    prior: list[dict[str, object]] = []
    got = []
    for month in ["2025-02", "2025-03", "2025-04", "2025-05"]:
        result = run([plan(FLAT_10, extra=claw)], month, transactions=tx, prior=prior)
        prior += as_prior(result)
        got += lines(result)
    assert got == [
        ("P1", "2025-02", "comm", "earning", Decimal(10000)),
        ("P1", "2025-03", "clawback", "clawback", Decimal(-10000)),
        ("P1", "2025-03", "clawback_carry_forward", "clawback", Decimal(8000)),
        ("P1", "2025-03", "comm", "earning", Decimal(2000)),
        ("P1", "2025-04", "clawback_carry_forward", "clawback", Decimal(-3000)),
        ("P1", "2025-04", "comm", "earning", Decimal(3000)),
        ("P1", "2025-05", "clawback_carry_forward", "clawback", Decimal(-5000)),
        ("P1", "2025-05", "comm", "earning", Decimal(10000)),
    ]


def test_mid_month_hire_is_prorated() -> None:
    """Hired 2025-03-11: 21 of March's 31 days. TI 62,000 → 62,000 ÷ 12 × 21/31 = 3,500; quota 93,000 →
    63,000. Cap 1 × TI: 10 % of 62,000 = 6,200 is capped at 3,500."""
    capped = FLAT_10.replace("    tiers_on", "    cap: {multiple_of_target_incentive: 1}\n    tiers_on")
    result = run(
        [plan(capped)],
        "2025-03",
        transactions=[booking("T1", "2025-03-20", 62000)],
        quotas=[quota("2025-03", 93000)],
        seats=[seat(start="2025-03-11", ti=62000)],
    )
    assert lines(result) == [("P1", "2025-03", "comm", "earning", Decimal(3500))]
    (bookings,) = [m for m in result.measures.to_pylist() if m["measure"] == "bookings"]
    assert bookings["quota"] == Decimal(63000)


QUARTERLY = "{type: quarterly, advances: monthly, advance_percent: 80}"
Q1 = [
    booking("T1", "2025-01-10", 100000),
    booking("T2", "2025-02-20", 100000),
    booking("T3", "2025-03-05", 160000),
]


def test_quarterly_plan_with_monthly_advances_and_true_up() -> None:
    """Quota 300,000 for 2025-Q1, marginal tiers, advances at 80 %.

    Jan: 100,000 (33.3 %) earns 100,000 × 4 % = 4,000; advance 80 % = 3,200.
    Feb: 200,000 (66.7 %) earns 150,000 × 4 % + 50,000 × 8 % = 10,000; 8,000 − 3,200 paid = 4,800.
    Mar: 360,000 (120 %) earns 6,000 + 150,000 × 8 % + 60,000 × 12 % = 25,200;
    true-up 25,200 − 8,000 = 17,200.
    """
    q = [quota("2025-Q1", 300000)]
    p = plan(commission(), period=QUARTERLY)
    prior: list[dict[str, object]] = []
    got = []
    for month in ["2025-01", "2025-02", "2025-03"]:
        result = run([p], month, transactions=Q1, quotas=q, prior=prior)
        prior += as_prior(result)
        got += lines(result)
    expected = [
        ("P1", "2025-01", "comm", "advance", Decimal(3200)),
        ("P1", "2025-02", "comm", "advance", Decimal(4800)),
        ("P1", "2025-03", "comm", "true_up", Decimal(17200)),
    ]
    assert got == expected
    assert lines(run([p], "2025-Q1", transactions=Q1, quotas=q)) == expected


def test_annual_plan_on_year_to_date_attainment() -> None:
    """Annual quota 1,000,000, marginal 5 % to 100 % and 10 % above, quarterly advances at 100 %.

    Q1 YTD 300,000 → 15,000. Q2 YTD 800,000 → 40,000 − 15,000 = 25,000.
    Q3 YTD 1,200,000 → 50,000 + 200,000 × 10 % = 70,000 − 40,000 = 30,000. Q4 nothing new → true-up 0.
    """
    tiers = """  - kind: commission
    name: comm
    measure: bookings
    tiers:
      - {from: 0, to: 100, rate: 5}
      - {from: 100, rate: 10}
"""
    tx = [
        booking("T1", "2025-02-10", 300000),
        booking("T2", "2025-05-10", 500000),
        booking("T3", "2025-08-10", 400000),
    ]
    result = run(
        [plan(tiers, period="{type: annual, advances: quarterly}")],
        "FY2025",
        transactions=tx,
        quotas=[quota("FY2025", 1000000)],
    )
    assert lines(result) == [
        ("P1", "2025-Q1", "comm", "advance", Decimal(15000)),
        ("P1", "2025-Q2", "comm", "advance", Decimal(25000)),
        ("P1", "2025-Q3", "comm", "advance", Decimal(30000)),
        ("P1", "2025-Q4", "comm", "true_up", Decimal(0)),
    ]


def test_rounding_once_half_up_and_explained() -> None:
    """10 % of 10,000.05 = 1,000.005 → 1,000.01 (half-up); the explanation shows rounding 0.005."""
    result = run([plan(FLAT_10)], "2025-03", transactions=[booking("T1", "2025-03-10", "10000.05")])
    assert lines(result)[0][4] == Decimal("1000.01")
    (e,) = explanations(result)
    assert Decimal(e["earned"]) == Decimal("1000.005")
    assert Decimal(e["rounding"]) == Decimal("0.005")


ROLLUP_MANAGER = """name: mgr
version: 1
effective_from: 2025-01-01
currency: USD
period: {type: monthly}
crediting:
  - {kind: rollup, name: team, levels: 1}
measures:
  - name: team_bookings
    aggregate: sum
    filter: "transaction.kind IN ('booking', 'cancellation')"
components:
  - kind: commission
    name: team_comm
    measure: team_bookings
    tiers_on: amount
    tiers:
      - {from: 0, rate: 1}
clawback: {window_days: 90}
"""

SPLIT_AE = """name: ae
version: 1
effective_from: 2025-01-01
currency: USD
period: {type: monthly}
crediting:
  - {kind: split, name: deal_split, split_kind: revenue}
measures:
  - name: bookings
    aggregate: sum
    filter: "transaction.kind IN ('booking', 'cancellation')"
components:
  - kind: commission
    name: comm
    measure: bookings
    tiers_on: amount
    tiers:
      - {from: 0, rate: 10}
clawback: {window_days: 90}
"""


def _split_deal_team(manager_plan: str, transactions: list[dict[str, object]]) -> CalcInputs:
    """P1 and P2 (plan SPLIT_AE) report to M1 (`manager_plan`); deal O1 is split 60/40 between them."""
    return make_inputs(
        plans=[SPLIT_AE, manager_plan],
        plan_assignments=[seat("P1"), seat("P2"), seat("M1", name="mgr")],
        transactions=transactions,
        opportunities=[deal("O1", "P1")],
        splits=[
            {"opportunity_id": "O1", "person_id": "P1", "percent": "60", "kind": "revenue"},
            {"opportunity_id": "O1", "person_id": "P2", "percent": "40", "kind": "revenue"},
        ],
        assignments=[
            {"person_id": p, "role": "ae", "org_unit_id": "T", "manager_id": "M1", "start_date": "2024-01-01"}
            for p in ("P1", "P2")
        ],
    )


def test_clawback_of_a_split_deal_reverses_each_rolled_up_credit() -> None:
    """O1 (100,000, split 60/40 between P1 and P2, both managed by M1) booked in February and cancelled
    in March. M1 holds two credits of each row, one through each rep, and both are clawed back:
    February: team_comm 1 % × (60,000 + 40,000) = 1,000. March: −1 % × 60,000 − 1 % × 40,000 = −1,000.
    (Counting only one of the two cancellation credits would claw back 600 or 400, whichever came first.)
    """
    transactions = [
        tx("T1", "2025-02-10", "100000", opportunity_id="O1"),
        tx("C1", "2025-03-05", "-100000", opportunity_id="O1", kind="cancellation"),
    ]
    result = calculate(_split_deal_team(ROLLUP_MANAGER, transactions), "2025-Q1")
    got = amounts(result)
    assert got[("M1", "2025-02", "team_comm")] == Decimal(1000)
    assert got[("M1", "2025-03", "clawback")] == Decimal(-1000)
    assert got[("P1", "2025-03", "clawback")] == Decimal(-6000)
    assert got[("P2", "2025-03", "clawback")] == Decimal(-4000)
    claw = next(
        json.loads(r["explanation"])
        for r in result.payout_lines.to_pylist()
        if r["person_id"] == "M1" and r["component"] == "clawback"
    )
    assert sorted((c["via_person_id"], c["reversed"]) for c in claw["cancellations"]) == [
        ("P1", "600"),
        ("P2", "400"),
    ]


def test_per_transaction_rollup_of_a_split_deal_pays_each_credit_once() -> None:
    """The manager is paid 1 % per transaction on a 60/40 deal rolled up through both reps: two lines,
    1 % × 60,000 = 600 and 1 % × 40,000 = 400, neither netted against the other (1,000 in all)."""
    per_transaction = ROLLUP_MANAGER.replace(
        "    tiers_on: amount\n", "    tiers_on: amount\n    tier_basis: per_transaction\n"
    )
    transactions = [tx("T1", "2025-02-10", "100000", opportunity_id="O1")]
    result = calculate(_split_deal_team(per_transaction, transactions), "2025-02")
    manager = sorted(r["amount"] for r in result.payout_lines.to_pylist() if r["person_id"] == "M1")
    assert manager == [Decimal(400), Decimal(600)]
