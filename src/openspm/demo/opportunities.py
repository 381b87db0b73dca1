"""The opportunities table (each deal now) and opportunity_history (its state after every change).

Deal inspection evidence is written here too: the next step on the deal and a MEDDICC-style
checklist in `extra`, filled more often on deals that ran discovery and on deals that (will) win.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from openspm.demo.catalogue import CHAMPIONS, ECONOMIC_BUYERS, NEXT_STEPS, PRODUCTS, PROPOSAL, REGIONS, STAGES
from openspm.demo.columns import (
    US_PER_DAY,
    US_PER_MINUTE,
    Bools,
    Ints,
    bools,
    dates,
    decimal,
    ids,
    json_bools,
    json_objects,
    json_strings,
    money,
    pick,
    rng_for,
    timestamps,
    typed_table,
)
from openspm.demo.deals import OPEN_STAGES, Deals
from openspm.demo.fx import CURRENCIES
from openspm.demo.org import Org
from openspm.demo.timeline import Timeline

STAGE_NAMES = [s.name for s in STAGES]
CATEGORIES = [s.forecast_category for s in STAGES]
PROBABILITIES = np.array([s.probability for s in STAGES], dtype=np.int64)
OVERDUE_SHARE = 0.25  # open deals whose next step date has already passed


def opportunity_ids(rows: Ints) -> pa.Array:
    return ids("O", rows + 1, 7)


def build_opportunity_tables(
    org: Org, deals: Deals, account_names: pa.Array, timeline: Timeline, seed: int
) -> tuple[pa.Table, pa.Table, dict[str, Bools]]:
    """(opportunities, opportunity_history, evidence flags per deal)."""
    rng = rng_for(seed, "opportunities")
    evidence = _meddicc(deals, timeline, rng)
    opportunities = _opportunities(org, deals, account_names, evidence, timeline=timeline, rng=rng)
    return opportunities, _history(deals, timeline, rng), evidence


def _meddicc(deals: Deals, timeline: Timeline, rng: np.random.Generator) -> dict[str, Bools]:
    reached = np.where(deals.is_closed, deals.final_stage, deals.stage_now(timeline.today_n))
    qualified = reached >= 2
    chance = np.clip(0.10 + 0.30 * deals.has_discovery + 0.25 * deals.is_won + 0.04 * reached, 0.0, 0.95)
    flags = {
        name: qualified & (rng.random(deals.n) < chance)
        for name in (
            "metrics",
            "economic_buyer",
            "champion",
            "decision_criteria",
            "decision_process",
            "identify_pain",
        )
    }
    plan = 0.2 + 0.4 * deals.is_won + 0.2 * deals.has_discovery
    flags["mutual_action_plan"] = (reached >= PROPOSAL) & (rng.random(deals.n) < plan)
    return flags


def _extra(org: Org, deals: Deals, evidence: dict[str, Bools], rng: np.random.Generator) -> pa.Array:
    n = deals.n
    fields = {
        "source": json_strings(pick(["ae", "sdr"], (deals.sdr >= 0).astype(np.int64))),
        "sdr_id": json_strings(pick(pa.array(org.person_ids), deals.sdr)),
    }
    for name, values in evidence.items():
        if name == "economic_buyer":
            titles = json_strings(pick(ECONOMIC_BUYERS, rng.integers(len(ECONOMIC_BUYERS), size=n)))
            fields[name] = pc.if_else(pa.array(values), titles, "null")
        elif name == "champion":
            titles = json_strings(pick(CHAMPIONS, rng.integers(len(CHAMPIONS), size=n)))
            fields[name] = pc.if_else(pa.array(values), titles, "null")
        else:
            fields[name] = json_bools(values)
    return json_objects(fields)


def _next_steps(deals: Deals, today: int, rng: np.random.Generator) -> tuple[pa.Array, Ints, Bools]:
    n = deals.n
    text = pick(NEXT_STEPS, rng.integers(len(NEXT_STEPS), size=n), deals.has_next_step)
    overdue = deals.is_stuck | (rng.random(n) < OVERDUE_SHARE)
    open_day = np.where(overdue, today - rng.integers(1, 31, size=n), today + rng.integers(1, 22, size=n))
    open_day = np.where(deals.is_stuck, today - rng.integers(10, 61, size=n), open_day)
    closed_day = np.maximum(deals.created, deals.close - rng.integers(0, 11, size=n))
    return text, np.where(deals.is_closed, closed_day, open_day), deals.has_next_step


def _opportunities(
    org: Org,
    deals: Deals,
    account_names: pa.Array,
    evidence: dict[str, Bools],
    *,
    timeline: Timeline,
    rng: np.random.Generator,
) -> pa.Table:
    today = timeline.today_n
    stage = deals.stage_now(today)
    rows = np.arange(deals.n, dtype=np.int64)
    products = pa.array([p.name for p in PRODUCTS])
    step, step_day, has_step = _next_steps(deals, today, rng)
    return typed_table(
        "opportunities",
        {
            "opportunity_id": opportunity_ids(rows),
            "account_id": ids("A", deals.account + 1, 6),
            "owner_id": pick(pa.array(org.person_ids), deals.owner),
            "name": pc.binary_join_element_wise(
                pc.take(account_names, pa.array(deals.account)), pick(products, deals.product), " — "
            ),
            "amount": money(deals.amount_now(today)),
            "currency": pick(CURRENCIES, deals.currency),
            "stage": pick(STAGE_NAMES, stage),
            "created_date": dates(deals.created),
            "close_date": dates(deals.expected_now(today)),
            "is_closed": bools(deals.is_closed),
            "is_won": bools(deals.is_won & deals.is_closed),
            "product_id": pick([p.product_id for p in PRODUCTS], deals.product),
            "next_step": step,
            "next_step_date": dates(step_day, has_step),
            "forecast_category": pick(CATEGORIES, stage),
            "extra": _extra(org, deals, evidence, rng),
        },
        deals.n,
    )


def _history(deals: Deals, timeline: Timeline, rng: np.random.Generator) -> pa.Table:
    """One row per change: creation, each stage entered, each close-date push, and the close."""
    today, n = timeline.today_n, deals.n
    parts: list[tuple[Ints, np.ndarray, Ints, Ints]] = [
        (np.arange(n), deals.created.astype(np.float64), np.zeros(n, dtype=np.int64), deals.expected[:, 0])
    ]
    for k in range(1, OPEN_STAGES):
        rows = np.flatnonzero(deals.entry[:, k] < today)
        parts.append((rows, deals.entry[rows, k], np.full(len(rows), k), np.full(len(rows), -1)))
    for j in range(deals.push_at.shape[1]):
        rows = np.flatnonzero(deals.push_at[:, j] < today)
        parts.append((rows, deals.push_at[rows, j], np.full(len(rows), -1), deals.expected[rows, j + 1]))
    closed = np.flatnonzero(deals.is_closed)
    final = deals.stage_now(today)[closed]
    parts.append((closed, deals.close[closed] + 0.5, final, deals.close[closed]))
    deal, at, stage, close = (np.concatenate([p[i] for p in parts]) for i in range(4))
    order = np.lexsort((at, deal))
    deal, at, stage, close = deal[order], at[order], stage[order], close[order]
    stage = stage[np.maximum.accumulate(np.where(stage >= 0, np.arange(len(stage)), 0))]
    close = close[np.maximum.accumulate(np.where(close >= 0, np.arange(len(close)), 0))]
    amount = np.where(deals.entry[deal, PROPOSAL] <= at, deals.amount1[deal], deals.amount0[deal])
    return typed_table(
        "opportunity_history",
        {
            "opportunity_id": opportunity_ids(deal),
            "changed_at": timestamps(_times_of_day(deal, at, deals.region, rng)),
            "stage": pick(STAGE_NAMES, stage),
            "amount": money(amount),
            "close_date": dates(close),
            "forecast_category": pick(CATEGORIES, stage),
            "probability": decimal(PROBABILITIES[stage], 0),
        },
        len(deal),
    )


def _times_of_day(deal: Ints, at: np.ndarray, region: Ints, rng: np.random.Generator) -> Ints:
    """Timestamps in working hours, strictly increasing within each deal (same-day changes 25 min apart)."""
    day = np.floor(at).astype(np.int64)
    first = np.ones(len(deal), dtype=np.bool_)
    first[1:] = (deal[1:] != deal[:-1]) | (day[1:] != day[:-1])
    rank = np.arange(len(deal)) - np.maximum.accumulate(np.where(first, np.arange(len(deal)), 0))
    start_hour = np.array([r.utc_start_hour for r in REGIONS], dtype=np.int64)[region[deal]]
    minutes = start_hour * 60 + 30 + rank * 25
    jitter = rng.integers(0, 20 * US_PER_MINUTE, size=len(deal))
    return np.asarray(day * US_PER_DAY + minutes * US_PER_MINUTE + jitter, dtype=np.int64)
