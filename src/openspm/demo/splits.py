"""Opportunity splits: the owner's 100 %, a 60/40 split with a teammate on some deals, SE overlays."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from openspm.demo.columns import Bools, Ints, decimal, pick, rng_for, typed_table
from openspm.demo.deals import Deals
from openspm.demo.opportunities import opportunity_ids
from openspm.demo.org import VACANT, Org

SPLIT_SHARE = 0.10
SPLIT_PERCENT = 60  # the owner keeps 60, the teammate gets 40
OVERLAY_FROM_USD = 40_000  # deals this large get a solutions engineer on the deal team


def build_splits(org: Org, deals: Deals, seed: int) -> tuple[pa.Table, Bools, Ints]:
    """(opportunity_splits, which deals are split, the SE on each deal or -1)."""
    rng = rng_for(seed, "splits")
    n = deals.n
    team = org.seat["team0"]
    by_team = np.argsort(team, kind="stable")
    size = np.bincount(team, minlength=len(org.teams))
    start = np.cumsum(size) - size
    own_team = team[deals.seat]
    partner_seat = by_team[start[own_team] + (rng.random(n) * size[own_team]).astype(np.int64)]
    partner = org.occupant(partner_seat, deals.created)
    split = (rng.random(n) < SPLIT_SHARE) & (partner != VACANT) & (partner != deals.owner)
    split &= partner != deals.owner0
    se = _overlay(org, deals, rng)
    rows = np.arange(n, dtype=np.int64)
    split_rows = rows[split]
    overlay_rows = rows[se >= 0]
    deal = np.concatenate([rows, split_rows, overlay_rows])
    person = np.concatenate([deals.owner, partner[split], se[se >= 0]])
    percent = np.concatenate(
        [
            np.where(split, SPLIT_PERCENT, 100),
            np.full(len(split_rows), 100 - SPLIT_PERCENT),
            np.full(len(overlay_rows), 100),
        ]
    )
    kind = np.concatenate(
        [np.zeros(n + len(split_rows), dtype=np.int64), np.ones(len(overlay_rows), np.int64)]
    )
    order = np.lexsort((kind, deal))
    table = typed_table(
        "opportunity_splits",
        {
            "opportunity_id": opportunity_ids(deal[order]),
            "person_id": pick(pa.array(org.person_ids), person[order]),
            "percent": decimal(percent[order], 0),
            "kind": pick(["revenue", "overlay"], kind[order]),
        },
        len(deal),
    )
    return table, split, se


def _overlay(org: Org, deals: Deals, rng: np.random.Generator) -> Ints:
    se = np.full(deals.n, -1, dtype=np.int64)
    large = deals.amount_usd >= OVERLAY_FROM_USD
    for region, engineers in enumerate(org.ses_by_region):
        rows = np.flatnonzero(large & (deals.region == region))
        se[rows] = np.asarray(engineers, dtype=np.int64)[rng.integers(len(engineers), size=len(rows))]
    return se
