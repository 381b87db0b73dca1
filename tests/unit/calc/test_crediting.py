"""Crediting and measures, worked by hand: who is credited with what, under which plan and rule.

Every scenario is a small company written out in literals; the expected credits are computed in the
docstrings. The window is 2025-Q1 (calendar quarters: the builders' fiscal year starts in January).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from openspm.engine.calc.crediting import credit, management_chain, split_problems
from openspm.engine.calc.measures import measure_credits, measure_totals
from openspm.engine.calc.tables import CREDITS, MEASURE_CREDITS
from tests.unit.calc.builders import booking, deal, make_inputs, plan_doc, rows, seat, table

Q1 = (date(2025, 1, 1), date(2025, 4, 1))
D = Decimal
BOOKINGS = {"name": "bookings", "aggregate": "sum"}
DIRECT = {"kind": "direct", "name": "owner"}
SPLIT = {"kind": "split", "name": "revenue_split", "split_kind": "revenue"}
AE = plan_doc("ae", crediting=[SPLIT, DIRECT], measures=[BOOKINGS])


def _credits(**tables: object) -> list[tuple[object, ...]]:
    inputs = make_inputs(**tables)  # type: ignore[arg-type]
    result = credit(inputs, *Q1)
    assert result.schema == CREDITS
    return rows(result, "person_id", "plan", "rule", "source_id", "percent", "amount")


def test_direct_owner_is_credited_with_the_whole_amount() -> None:
    """P1 owns O1; T1 books 1,000 on it → P1: 100 % × 1,000 = 1,000 under `ae` by rule `owner`."""
    got = _credits(
        plans=[AE],
        plan_assignments=[seat("P1", "ae")],
        opportunities=[deal("O1", "P1")],
        transactions=[booking("T1", "2025-02-10", "1000", opportunity_id="O1")],
    )
    assert got == [("P1", "ae", "owner", "T1", D(100), D(1000))]


def test_a_split_deal_is_credited_by_the_split_rule_only_and_conserves_the_amount() -> None:
    """O1 (owner P1) is split 60/40 between P1 and P2; T1 books 2,500.

    revenue_split comes first and matches: P1 60 % × 2,500 = 1,500, P2 40 % × 2,500 = 1,000, together
    2,500. The `owner` rule below it does not credit P1 again (first matching rule wins).
    """
    got = _credits(
        plans=[AE],
        plan_assignments=[seat("P1", "ae"), seat("P2", "ae")],
        opportunities=[deal("O1", "P1")],
        splits=[
            {"opportunity_id": "O1", "person_id": "P1", "percent": "60", "kind": "revenue"},
            {"opportunity_id": "O1", "person_id": "P2", "percent": "40", "kind": "revenue"},
        ],
        transactions=[booking("T1", "2025-02-10", "2500", opportunity_id="O1")],
    )
    assert got == [
        ("P1", "ae", "revenue_split", "T1", D(60), D(1500)),
        ("P2", "ae", "revenue_split", "T1", D(40), D(1000)),
    ]
    assert sum(r[-1] for r in got) == D(2500)  # type: ignore[misc]


def test_splits_that_do_not_total_100_fall_through_to_the_owner() -> None:
    """O1's revenue splits total 70 + 40 = 110 % (over-crediting not allowed): the split rule does not
    match O1, so `owner` credits P1 100 % × 1,000 = 1,000, and the deal is reported."""
    splits = [
        {"opportunity_id": "O1", "person_id": "P1", "percent": "70"},  # no kind = revenue
        {"opportunity_id": "O1", "person_id": "P2", "percent": "40"},
    ]
    inputs = make_inputs(
        plans=[AE],
        plan_assignments=[seat("P1", "ae"), seat("P2", "ae")],
        opportunities=[deal("O1", "P1")],
        splits=splits,
        transactions=[booking("T1", "2025-02-10", "1000", opportunity_id="O1")],
    )
    assert rows(credit(inputs, *Q1), "person_id", "rule", "amount") == [("P1", "owner", D(1000))]
    assert split_problems(inputs).to_pylist() == [{"opportunity_id": "O1", "total": D(110)}]


def test_over_crediting_is_allowed_when_the_rule_says_so() -> None:
    """With allow_over_crediting the 70/40 splits credit 700 + 400 = 1,100 of a 1,000 deal."""
    plan = plan_doc("ae", crediting=[{**SPLIT, "allow_over_crediting": True}, DIRECT], measures=[BOOKINGS])
    got = _credits(
        plans=[plan],
        plan_assignments=[seat("P1", "ae"), seat("P2", "ae")],
        opportunities=[deal("O1", "P1")],
        splits=[
            {"opportunity_id": "O1", "person_id": "P1", "percent": "70"},
            {"opportunity_id": "O1", "person_id": "P2", "percent": "40"},
        ],
        transactions=[booking("T1", "2025-02-10", "1000", opportunity_id="O1")],
    )
    assert [(r[0], r[2], r[-1]) for r in got] == [
        ("P1", "revenue_split", D(700)),
        ("P2", "revenue_split", D(400)),
    ]


def test_overlay_credits_the_solutions_engineer_on_the_deal_team() -> None:
    """O1 (owner P1) has overlay splits for S1 (role se) and X1 (role ae). The SE plan's overlay rule
    (roles [se], 50 %) credits S1 50 % × 3,000 = 1,500; X1 is not an SE, so nothing. The AE is still
    credited by the AE plan: overlays never stop a revenue credit."""
    se = plan_doc(
        "se",
        crediting=[{"kind": "overlay", "name": "deal_team", "roles": ["se"], "percent": 50}],
        measures=[BOOKINGS],
    )
    got = _credits(
        plans=[AE, se],
        plan_assignments=[seat("P1", "ae"), seat("S1", "se"), seat("X1", "se")],
        assignments=[
            {"person_id": "S1", "role": "se", "org_unit_id": "U", "start_date": "2024-01-01"},
            {"person_id": "X1", "role": "ae", "org_unit_id": "U", "start_date": "2024-01-01"},
        ],
        opportunities=[deal("O1", "P1")],
        splits=[
            {"opportunity_id": "O1", "person_id": "S1", "percent": "10", "kind": "overlay"},
            {"opportunity_id": "O1", "person_id": "X1", "percent": "10", "kind": "overlay"},
        ],
        transactions=[booking("T1", "2025-03-01", "3000", opportunity_id="O1")],
    )
    assert got == [
        ("P1", "ae", "owner", "T1", D(100), D(3000)),
        ("S1", "se", "deal_team", "T1", D(50), D(1500)),
    ]


def test_territory_owner_changes_when_the_account_moves_mid_quarter() -> None:
    """Account A1 is in EAST (owner M1) until 2025-02-15 and in WEST (owner M2) from then on.
    T1 (2025-02-01, 400) → M1 400; T2 (2025-03-01, 600) → M2 600; the boundary day belongs to WEST."""
    plan = plan_doc("mgr", crediting=[{"kind": "territory", "name": "territory_owner"}], measures=[BOOKINGS])
    got = _credits(
        plans=[plan],
        plan_assignments=[seat("M1", "mgr"), seat("M2", "mgr")],
        territories=[
            {"territory_id": "EAST", "name": "East", "owner_id": "M1"},
            {"territory_id": "WEST", "name": "West", "owner_id": "M2"},
        ],
        account_assignments=[
            {
                "account_id": "A1",
                "territory_id": "EAST",
                "start_date": "2024-01-01",
                "end_date": "2025-02-15",
            },
            {"account_id": "A1", "territory_id": "WEST", "start_date": "2025-02-15"},
        ],
        transactions=[
            booking("T1", "2025-02-01", "400", account_id="A1"),
            booking("T2", "2025-03-01", "600", account_id="A1"),
            booking("T3", "2025-02-15", "10", account_id="A1"),
        ],
    )
    assert got == [
        ("M1", "mgr", "territory_owner", "T1", D(100), D(400)),
        ("M2", "mgr", "territory_owner", "T2", D(100), D(600)),
        ("M2", "mgr", "territory_owner", "T3", D(100), D(10)),
    ]


ORG = [
    # R1 reports to M1 until the reorganisation on 2025-02-15, then to M2; both managers report to D1.
    {
        "person_id": "R1",
        "role": "ae",
        "org_unit_id": "U1",
        "manager_id": "M1",
        "start_date": "2024-01-01",
        "end_date": "2025-02-15",
    },
    {"person_id": "R1", "role": "ae", "org_unit_id": "U2", "manager_id": "M2", "start_date": "2025-02-15"},
    {
        "person_id": "M1",
        "role": "manager",
        "org_unit_id": "U1",
        "manager_id": "D1",
        "start_date": "2024-01-01",
    },
    {
        "person_id": "M2",
        "role": "manager",
        "org_unit_id": "U2",
        "manager_id": "D1",
        "start_date": "2024-01-01",
    },
    {"person_id": "D1", "role": "director", "org_unit_id": "R", "start_date": "2024-01-01"},
]


def test_rollup_follows_the_management_chain_as_of_each_transaction() -> None:
    """R1 (AE) is credited T1 (2025-02-01, 100) and T2 (2025-03-01, 200). The manager plan rolls up one
    level from AEs: T1 → M1 (R1's manager that day), T2 → M2 (after the reorg). The director plan rolls
    up the whole chain: D1 gets both, 100 and 200, each via R1. A rollup of 50 % halves the percent."""
    mgr = plan_doc(
        "mgr",
        crediting=[{"kind": "rollup", "name": "team", "levels": 1, "from_roles": ["ae"]}],
        measures=[BOOKINGS],
    )
    director = plan_doc(
        "dir",
        crediting=[{"kind": "rollup", "name": "org", "from_roles": ["ae"], "percent": 50}],
        measures=[BOOKINGS],
    )
    inputs = make_inputs(
        plans=[AE, mgr, director],
        plan_assignments=[seat("R1", "ae"), seat("M1", "mgr"), seat("M2", "mgr"), seat("D1", "dir")],
        assignments=ORG,
        opportunities=[deal("O1", "R1")],
        transactions=[
            booking("T1", "2025-02-01", "100", opportunity_id="O1"),
            booking("T2", "2025-03-01", "200", opportunity_id="O1"),
        ],
    )
    got = rows(credit(inputs, *Q1), "person_id", "rule", "via_person_id", "source_id", "percent", "amount")
    assert got == [
        ("D1", "org", "R1", "T1", D(50), D(50)),  # 50 % × 100
        ("D1", "org", "R1", "T2", D(50), D(100)),  # 50 % × 200
        ("M1", "team", "R1", "T1", D(100), D(100)),
        ("M2", "team", "R1", "T2", D(100), D(200)),
        ("R1", "owner", None, "T1", D(100), D(100)),
        ("R1", "owner", None, "T2", D(100), D(200)),
    ]


def test_a_manager_without_a_rollup_plan_gets_no_rollup() -> None:
    """Only M1 has the manager plan; M2 has none, so T2 (after the reorg, R1 under M2) rolls up to nobody."""
    mgr = plan_doc("mgr", crediting=[{"kind": "rollup", "name": "team", "levels": 1}], measures=[BOOKINGS])
    got = _credits(
        plans=[AE, mgr],
        plan_assignments=[seat("R1", "ae"), seat("M1", "mgr")],
        assignments=ORG,
        opportunities=[deal("O1", "R1")],
        transactions=[
            booking("T1", "2025-02-01", "100", opportunity_id="O1"),
            booking("T2", "2025-03-01", "200", opportunity_id="O1"),
        ],
    )
    assert [(r[0], r[3]) for r in got] == [("M1", "T1"), ("R1", "T1"), ("R1", "T2")]


def test_management_chain_intervals() -> None:
    """R1's level-1 manager is M1 on [2024-01-01, 2025-02-15) and M2 from 2025-02-15; level 2: D1 on both."""
    chain = management_chain(table("assignments", ORG))
    r1 = sorted(
        (r["ancestor"], r["level"], r["c_start"], r["c_end"])
        for r in chain.to_pylist()
        if r["c_person"] == "R1"
    )
    far = date(9999, 12, 31)
    assert r1 == [
        ("D1", 2, date(2024, 1, 1), date(2025, 2, 15)),
        ("D1", 2, date(2025, 2, 15), far),
        ("M1", 1, date(2024, 1, 1), date(2025, 2, 15)),
        ("M2", 1, date(2025, 2, 15), far),
    ]


def test_chains_walked_for_some_people_are_theirs_in_the_whole_org() -> None:
    """A run for a few people walks only their rows and the rows above them: their chains come out as
    in the whole org's walk, in the same order, a cycle (C1 and C2 manage each other) still stops, and
    someone outside the org has none."""
    cycle = [
        {
            "person_id": "C1",
            "role": "ae",
            "org_unit_id": "U3",
            "manager_id": "C2",
            "start_date": "2024-01-01",
        },
        {
            "person_id": "C2",
            "role": "ae",
            "org_unit_id": "U3",
            "manager_id": "C1",
            "start_date": "2024-01-01",
        },
    ]
    org = table("assignments", ORG + cycle)
    whole = management_chain(org).to_pylist()
    for people in [{"R1"}, {"M1"}, {"R1", "C2"}, {"D1"}, {"NOBODY"}]:
        walked = management_chain(org, people=people).to_pylist()
        assert walked == [r for r in whole if r["c_person"] in people], people
    assert {r["ancestor"] for r in management_chain(org, people={"C1"}).to_pylist()} == {"C2"}
    twice = management_chain(org, people=["R1", "R1", None]).to_pylist()  # type: ignore[list-item]
    assert twice == [r for r in whole if r["c_person"] == "R1"]
    assert management_chain(org, people={"R1"}).num_rows == 4


def test_a_person_without_a_plan_gets_nothing_and_seats_are_dated() -> None:
    """P9 owns O9 but has no plan: no credit. P1's seat ends 2025-02-15 (exclusive): T1 on 02-14 is
    credited, T2 on 02-15 is not. A seat on v1 of a plan whose version ends 2025-03-01 covers T3? No:
    P2's seat is open-ended but v1 is effective only until 2025-03-01, so T4 on 03-05 is not credited."""
    v1 = plan_doc("ae", crediting=[DIRECT], measures=[BOOKINGS], effective_to="2025-03-01")
    got = _credits(
        plans=[v1],
        plan_assignments=[seat("P1", "ae", end="2025-02-15"), seat("P2", "ae")],
        opportunities=[deal("O1", "P1"), deal("O2", "P2"), deal("O9", "P9")],
        transactions=[
            booking("T1", "2025-02-14", "1", opportunity_id="O1"),
            booking("T2", "2025-02-15", "2", opportunity_id="O1"),
            booking("T3", "2025-02-20", "3", opportunity_id="O2"),
            booking("T4", "2025-03-05", "4", opportunity_id="O2"),
            booking("T9", "2025-02-10", "9", opportunity_id="O9"),
        ],
    )
    assert [(r[0], r[3]) for r in got] == [("P1", "T1"), ("P2", "T3")]


FX_RATES = [
    # units of USD (the base) per unit of EUR: 1.10 from Jan 1, 1.20 from Feb 15
    {"currency": "EUR", "date": "2025-01-01", "rate": "1.10"},
    {"currency": "EUR", "date": "2025-02-15", "rate": "1.20"},
]


def test_a_euro_deal_on_a_dollar_plan_converts_at_the_rate_of_the_day() -> None:
    """T1 EUR 1,000 on 2025-02-01 → 1,000 × 1.10 = USD 1,100; T2 EUR 1,000 on 2025-02-20 → × 1.20 = 1,200.
    A USD transaction on a EUR plan converts at 1 / 1.20 = 0.8333333333 (10 places):
    USD 600 → EUR 499.99999998."""
    eur_plan = plan_doc("ae_eu", crediting=[DIRECT], measures=[BOOKINGS], currency="EUR")
    inputs = make_inputs(
        plans=[AE, eur_plan],
        plan_assignments=[seat("P1", "ae"), seat("P2", "ae_eu", currency="EUR")],
        opportunities=[deal("O1", "P1"), deal("O2", "P2")],
        transactions=[
            booking("T1", "2025-02-01", "1000", opportunity_id="O1", currency="EUR"),
            booking("T2", "2025-02-20", "1000", opportunity_id="O1", currency="EUR"),
            booking("T3", "2025-02-20", "600", opportunity_id="O2", currency="USD"),
        ],
        fx_rates=FX_RATES,
    )
    got = rows(credit(inputs, *Q1), "source_id", "source_currency", "currency", "fx_rate", "amount")
    assert got == [
        ("T1", "EUR", "USD", D("1.1"), D(1100)),
        ("T2", "EUR", "USD", D("1.2"), D(1200)),
        ("T3", "USD", "EUR", D("0.8333333333"), D("499.99999998")),  # 600 × 0.8333333333
    ]


def test_period_end_rate_date_uses_the_last_day_of_the_plan_period() -> None:
    """With fx.rate_date = period_end a quarterly plan converts T1 (2025-02-01) at the rate of 2025-03-31:
    1.20, so EUR 1,000 → USD 1,200 (not 1,100)."""
    plan = plan_doc("ae", crediting=[DIRECT], measures=[BOOKINGS], fx={"rate_date": "period_end"})
    got = _credits(
        plans=[plan],
        plan_assignments=[seat("P1", "ae")],
        opportunities=[deal("O1", "P1")],
        transactions=[booking("T1", "2025-02-01", "1000", opportunity_id="O1", currency="EUR")],
        fx_rates=FX_RATES,
    )
    assert got == [("P1", "ae", "owner", "T1", D(100), D(1200))]


def test_plan_period_labels_follow_the_plan_period_type() -> None:
    """A monthly plan labels 2025-02-10 `2025-02`; an annual one `FY2025`; quarterly `2025-Q1`."""
    monthly = plan_doc("m", crediting=[DIRECT], measures=[BOOKINGS], period="monthly")
    annual = plan_doc("a", crediting=[DIRECT], measures=[BOOKINGS], period="annual")
    inputs = make_inputs(
        plans=[monthly, annual, AE],
        plan_assignments=[seat("P1", "m"), seat("P1", "a"), seat("P1", "ae")],
        opportunities=[deal("O1", "P1")],
        transactions=[booking("T1", "2025-02-10", "5", opportunity_id="O1")],
    )
    assert rows(credit(inputs, *Q1), "plan", "plan_period") == [
        ("a", "FY2025"),
        ("ae", "2025-Q1"),
        ("m", "2025-02"),
    ]


def _measured(plan: dict[str, object], **tables: object) -> list[tuple[object, ...]]:
    inputs = make_inputs(plans=[plan], **tables)  # type: ignore[arg-type]
    result = measure_credits(credit(inputs, *Q1), inputs)
    assert result.schema == MEASURE_CREDITS
    return rows(result, "measure", "source_id", "value")


def test_measure_filters_on_kind_deal_name_and_product_family() -> None:
    """P1 owns O1 ('Acme NEW LOGO', product SW, family software) and O2 ('Renewal', product HW, hardware).

    - bookings (kind IN booking, renewal): T1 500 + T2 300 = 800 (T3 an invoice is out)
    - new_logo (LOWER(name) LIKE '%new logo%'): T1 500 and T3 70
    - software (product.family = 'software'): T1 500, T3 70
    """
    plan = plan_doc(
        "ae",
        crediting=[DIRECT],
        measures=[
            {"name": "bookings", "aggregate": "sum", "filter": "transaction.kind IN ('booking', 'renewal')"},
            {"name": "new_logo", "aggregate": "sum", "filter": "LOWER(opportunity.name) LIKE '%new logo%'"},
            {"name": "software", "aggregate": "sum", "filter": "product.family = 'software'"},
        ],
    )
    got = _measured(
        plan,
        plan_assignments=[seat("P1", "ae")],
        products=[
            {"product_id": "SW", "name": "Suite", "family": "software"},
            {"product_id": "HW", "name": "Box", "family": "hardware"},
        ],
        opportunities=[
            deal("O1", "P1", name="Acme NEW LOGO", product_id="SW"),
            deal("O2", "P1", name="Renewal", product_id="HW"),
        ],
        transactions=[
            booking("T1", "2025-01-10", "500", opportunity_id="O1"),
            booking("T2", "2025-01-11", "300", opportunity_id="O2", kind="renewal"),
            booking("T3", "2025-01-12", "70", opportunity_id="O1", kind="invoice"),
        ],
    )
    assert got == [
        ("bookings", "T1", D(500)),
        ("bookings", "T2", D(300)),
        ("new_logo", "T1", D(500)),
        ("new_logo", "T3", D(70)),
        ("software", "T1", D(500)),
        ("software", "T3", D(70)),
    ]


def test_count_measure_takes_one_back_for_a_cancellation() -> None:
    """deals counts bookings and cancellations: T1 +1, T2 +1, T3 (cancellation of T2) −1 → total 1.
    The sum measure adds the cancellation's negative amount: 100 + 200 − 200 = 100."""
    plan = plan_doc(
        "ae",
        crediting=[DIRECT],
        measures=[
            {"name": "value", "aggregate": "sum"},
            {
                "name": "deals",
                "aggregate": "count",
                "filter": "transaction.kind IN ('booking', 'cancellation')",
            },
        ],
    )
    inputs = make_inputs(
        plans=[plan],
        plan_assignments=[seat("P1", "ae")],
        opportunities=[deal("O1", "P1"), deal("O2", "P1")],
        transactions=[
            booking("T1", "2025-01-10", "100", opportunity_id="O1"),
            booking("T2", "2025-01-11", "200", opportunity_id="O2"),
            booking("T3", "2025-02-01", "-200", opportunity_id="O2", kind="cancellation"),
        ],
    )
    mc = measure_credits(credit(inputs, *Q1), inputs)
    assert rows(mc, "measure", "source_id", "value") == [
        ("deals", "T1", D(1)),
        ("deals", "T2", D(1)),
        ("deals", "T3", D(-1)),
        ("value", "T1", D(100)),
        ("value", "T2", D(200)),
        ("value", "T3", D(-200)),
    ]
    totals = measure_totals(mc)
    assert rows(totals, "person_id", "measure", "plan_period", "value", "lines") == [
        ("P1", "deals", "2025-Q1", D(1), 3),
        ("P1", "value", "2025-Q1", D(100), 3),
    ]


def test_pipeline_created_and_meetings_measures() -> None:
    """The SDR plan (examples/plans/sdr_2025.yaml, monthly) measures meetings held (activities, no-shows
    out) and pipeline created (deals created in the month, credited to the owner as of created_date).

    S1 held M1 (meeting, 2025-03-03) and M3 (meeting, outcome null, 2025-03-20); M2 was a no_show; C1 is
    a call → meetings 2. S1 created O1 (900) on 2025-03-04 and O2 (0, excluded by amount > 0) → 900.
    """
    sdr = Path("examples/plans/sdr_2025.yaml").read_text(encoding="utf-8")
    inputs = make_inputs(
        plans=[sdr],
        plan_assignments=[seat("S1", "sales_development")],
        opportunities=[
            deal("O1", "S1", amount="900", created_date="2025-03-04"),
            deal("O2", "S1", amount="0", created_date="2025-03-05"),
        ],
        activities=[
            {
                "activity_id": "M1",
                "person_id": "S1",
                "type": "meeting",
                "occurred_at": "2025-03-03T10:00:00",
                "outcome": "held",
            },
            {
                "activity_id": "M2",
                "person_id": "S1",
                "type": "meeting",
                "occurred_at": "2025-03-04T10:00:00",
                "outcome": "no_show",
            },
            {"activity_id": "M3", "person_id": "S1", "type": "meeting", "occurred_at": "2025-03-20T10:00:00"},
            {"activity_id": "C1", "person_id": "S1", "type": "call", "occurred_at": "2025-03-05T10:00:00"},
        ],
    )
    mc = measure_credits(credit(inputs, *Q1), inputs)
    assert rows(mc, "measure", "source", "source_id", "value") == [
        ("meetings", "activities", "M1", D(1)),
        ("meetings", "activities", "M3", D(1)),
        ("pipeline_created", "opportunities", "O1", D(900)),
    ]
    assert rows(measure_totals(mc), "measure", "plan_period", "value") == [
        ("meetings", "2025-03", D(2)),
        ("pipeline_created", "2025-03", D(900)),
    ]


def test_payees_narrow_the_output_but_not_the_rollups() -> None:
    """Asking only for M1 still rolls R1's T1 up to M1 (R1's own credits are left out of the output)."""
    mgr = plan_doc("mgr", crediting=[{"kind": "rollup", "name": "team", "levels": 1}], measures=[BOOKINGS])
    inputs = make_inputs(
        plans=[AE, mgr],
        plan_assignments=[seat("R1", "ae"), seat("M1", "mgr")],
        assignments=ORG,
        opportunities=[deal("O1", "R1")],
        transactions=[booking("T1", "2025-02-01", "100", opportunity_id="O1")],
    )
    assert rows(credit(inputs, *Q1, payees=["M1"]), "person_id", "via_person_id", "amount") == [
        ("M1", "R1", D(100))
    ]


def test_in_window_cuts_dates_and_timestamps_to_half_open_days() -> None:
    """A window's source rows are cut from the Arrow inputs: [start, end), a timestamp by its day."""
    from datetime import datetime

    import pyarrow as pa

    from openspm.engine.calc.crediting import FAR, in_window

    days = pa.table(
        {"d": pa.array([date(2026, 1, 31), date(2026, 2, 1), date(2026, 2, 28), date(2026, 3, 1)])}
    )
    assert in_window(days, "d", date(2026, 2, 1), date(2026, 3, 1))["d"].to_pylist() == [
        date(2026, 2, 1),
        date(2026, 2, 28),
    ]
    stamps = [datetime(2026, 1, 31, 23, 59, 59), datetime(2026, 2, 1), datetime(2026, 2, 28, 23, 0)]
    times = pa.table({"t": pa.array([*stamps, datetime(2026, 3, 1)], pa.timestamp("us"))})
    assert in_window(times, "t", date(2026, 2, 1), date(2026, 3, 1))["t"].to_pylist() == stamps[1:]
    assert in_window(times, "t", date(2026, 2, 1), FAR).num_rows == 3  # an open end
    assert in_window(times, "t", date.min, FAR) is times  # the whole table: nothing to cut
    undated = pa.table({"d": pa.array([date(2026, 1, 31), None])})
    assert in_window(undated, "d", date.min, FAR)["d"].to_pylist() == [date(2026, 1, 31)]


def test_in_window_slices_rows_in_date_order_exactly_as_it_filters() -> None:
    """Rows already in date order are cut by binary search (no copy): the same rows as comparing each
    row's date, for dates and timestamps, empty windows and windows past either end included; rows out
    of order, or with a null date, are compared row by row."""
    import random
    from datetime import datetime, timedelta

    import pyarrow as pa

    from openspm.engine.calc.crediting import FAR, ascending, in_window

    draw = random.Random(7)
    first = date(2025, 12, 1)
    days = sorted(first + timedelta(days=draw.randrange(120)) for _ in range(400))
    stamps = sorted(
        datetime(2025, 12, 1) + timedelta(minutes=draw.randrange(120 * 24 * 60)) for _ in range(400)
    )
    bounds = [first + timedelta(days=n) for n in (-10, 0, 1, 31, 45, 46, 119, 120, 200)]
    for column, kind in ((days, pa.date32()), (stamps, pa.timestamp("us"))):
        table = pa.table({"d": pa.chunked_array([column[:150], column[150:]], kind), "n": range(400)})
        order = ascending(table["d"])
        assert order is not None
        for start in bounds:
            for end in [*bounds, FAR]:
                cut = in_window(table, "d", start, end, order)
                assert cut.equals(in_window(table, "d", start, end)), (start, end)
    assert ascending(pa.array([date(2026, 2, 1), date(2026, 1, 31)])) is None  # out of order
    assert ascending(pa.array([date(2026, 1, 31), None])) is None  # a row without a date


def test_the_date_order_shared_by_windows_belongs_to_the_table_it_was_read_from() -> None:
    """`Shared` keeps each source's date order with the table it was read from: facts of other inputs
    given the same `Shared` read their own rows, not a slice of the first table's order."""
    from openspm.engine.calc.crediting import Facts, Shared

    first = make_inputs(transactions=[booking(f"A{i}", f"2026-0{i}-10", "1") for i in range(1, 6)])
    other = make_inputs(transactions=[booking(f"B{i}", "2026-02-10", "1") for i in range(8)])
    shared = Shared()
    window = (date(2026, 2, 1), date(2026, 3, 1))
    assert Facts(first, *window, shared=shared).arrow("transactions")["transaction_id"].to_pylist() == ["A2"]
    assert Facts(other, *window, shared=shared).arrow("transactions")["transaction_id"].to_pylist() == [
        f"B{i}" for i in range(8)
    ]
