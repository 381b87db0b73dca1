"""The tables that pass between the calculation's steps: the contract of `engine.calc` (DESIGN.md §4, §6).

    facts (CalcInputs) ──crediting──▶ CREDITS ──measures──▶ MEASURE_CREDITS ──payout──▶ PAYOUT_LINES

Every step is a pure function of Arrow tables (Ibis expressions executed by DuckDB by default). Money
inside the calculation is `decimal128(38, 10)` (EXACT): no step rounds. Rounding happens once, half-up
to the currency's minor unit, when a payout line is made (`domain.money.round_money` semantics), and a
payout line's amount is `decimal128(18, 4)` (MONEY) holding that rounded value.
"""

from __future__ import annotations

import pyarrow as pa

EXACT = pa.decimal128(38, 10)
MONEY = pa.decimal128(18, 4)

#: One credit: a share of one source row (a transaction, or for activity/opportunity measures an
#: activity or a deal) given to one person under one plan by one crediting rule.
CREDITS = pa.schema(
    [
        ("person_id", pa.string()),  # who is credited
        ("plan", pa.string()),  # the plan version the person is on at the source row's date
        ("version", pa.int32()),
        ("rule", pa.string()),  # crediting rule name (plan.crediting[].name)
        ("rule_kind", pa.string()),  # direct | split | territory | overlay | rollup
        ("via_person_id", pa.string()),  # rollups: the person whose credit rolled up (else null)
        ("source", pa.string()),  # credits | activities | opportunities (the measure source)
        ("source_id", pa.string()),  # transaction_id / activity_id / opportunity_id
        ("date", pa.date32()),  # the source row's date (transaction date; orders per-transaction tiers)
        ("plan_period", pa.string()),  # label of the plan period the date falls in (2025-Q1, FY2025, 2025-03)
        ("kind", pa.string()),  # transaction kind (booking, renewal, cancellation, invoice) or null
        ("opportunity_id", pa.string()),
        ("percent", EXACT),  # share credited, 0–100
        ("source_amount", MONEY),  # the source row's amount in its own currency
        ("source_currency", pa.string()),
        ("fx_rate", EXACT),  # plan currency per unit of source currency (1 when equal)
        ("amount", EXACT),  # source_amount × percent / 100 × fx_rate, in the plan currency
        ("currency", pa.string()),  # the plan currency
    ]
)

#: A credit counted in one measure (a credit may count in several measures, or none).
MEASURE_CREDITS = pa.schema(
    [
        *[CREDITS.field(name) for name in CREDITS.names],
        ("measure", pa.string()),
        ("value", EXACT),  # what it adds to the measure: the amount (sum) or ±1 (count; −1 cancels)
    ]
)

#: One payout line: what a person is paid (or owes) in one pay period for one component.
PAYOUT_LINES = pa.schema(
    [
        ("person_id", pa.string()),
        ("period", pa.string()),  # pay period label (a month, or the plan period without advances)
        ("plan", pa.string()),
        ("version", pa.int32()),
        ("component", pa.string()),  # component name, or draw / draw_recovery / clawback / plan_cap
        ("line_kind", pa.string()),  # earning | advance | true_up | draw | draw_recovery | clawback | delta
        ("amount", MONEY),  # rounded half-up to the currency's minor unit; negative = owed
        ("currency", pa.string()),
        ("corrects_period", pa.string()),  # delta lines: the closed period they correct (else null)
        ("explanation", pa.string()),  # JSON: measure, quota, attainment, tiers, rates, cap, credits
    ]
)
