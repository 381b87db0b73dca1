"""Every deal's life: evidence, outcome, stage timeline, close-date pushes, amount and next step.

The second planted cause lives here: a deal whose owner ran a discovery meeting *and* keeps a next
step wins with probability `WIN_WITH_EVIDENCE`, any other deal with `WIN_WITHOUT_EVIDENCE`. An AE's
discipline (drawn per rep in `org`) sets how often they do both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from openspm.demo.catalogue import LOST, PRODUCTS, PROPOSAL, SEGMENTS, WON
from openspm.demo.columns import NEVER, Bools, Floats, Ints, day_number, rng_for
from openspm.demo.fx import CURRENCIES, FxRates
from openspm.demo.org import Org
from openspm.demo.pipeline import Openings
from openspm.demo.territories import Territories
from openspm.demo.timeline import Timeline

WIN_WITH_EVIDENCE = 0.35
WIN_WITHOUT_EVIDENCE = 0.15
LOST_AT_STAGE = (0.28, 0.24, 0.18, 0.13, 0.10, 0.07)  # where lost deals die: Prospecting … Negotiation
SKIP_SHARE = 0.10  # drawn before the outcome; about half are visible (the deal got past the stage)
STUCK_SHARE = 0.05  # of open deals
STUCK_MIN_DAYS = 90  # a stuck deal has sat in its stage at least this long
PUSHES = (0.45, 0.28, 0.15, 0.08, 0.04)  # probability of 0, 1, 2, 3, 4 close-date pushes
MAX_PUSHES = len(PUSHES) - 1
NEGLECTED_SHARE = 0.35  # of open deals: the owner has not updated the close date for 30 days
LATE_PUSH_SHARE = 0.4  # pushes made days after the expected close passed: the deal was past due meanwhile
BUNCHING = 0.35  # share of won deals pulled to the last days of their fiscal quarter
OPEN_STAGES = 6


@dataclass
class Deals:
    """Arrays over deals in creation order (deal i gets id O{i+1:07d})."""

    seat: Ints
    account: Ints
    created: Ints
    sdr: Ints
    meeting: Ints
    owner0: Ints  # who opened it
    owner: Ints  # who owns it now (a leaver's open deals pass to the replacement)
    transfer_day: Ints
    region: Ints
    segment: Ints
    product: Ints
    currency: Ints
    amount0: Ints  # cents, in the deal's currency, as first entered
    amount1: Ints  # cents, after the revision at Proposal
    amount_usd: Floats
    has_discovery: Bools  # the owner runs a discovery meeting (logged once it happens)
    has_next_step: Bools
    is_won: Bools  # for open deals: the fate they are heading for (never shown)
    is_closed: Bools
    final_stage: Ints  # last open stage reached (or reached so far)
    close: Ints  # actual close day (closed) or final expected close day (open)
    entry: Floats  # (deals, 6): day (with fraction) each open stage was entered; inf if never
    skipped: Ints  # the stage skipped, -1 if none
    is_stuck: Bools
    pushes: Ints
    expected: Ints  # (deals, MAX_PUSHES + 1): expected close after 0, 1, … pushes
    push_at: Floats  # (deals, MAX_PUSHES): when push j+1 was made; inf if not (yet)

    @property
    def n(self) -> int:
        return len(self.created)

    def stage_now(self, today: int) -> Ints:
        """Current stage index: an open stage, or WON / LOST for closed deals."""
        reached = np.where(self.entry < today, np.arange(OPEN_STAGES), -1).max(axis=1)
        return np.where(self.is_closed, np.where(self.is_won, WON, LOST), reached)

    def amount_now(self, today: int) -> Ints:
        return np.where(self.entry[:, PROPOSAL] < today, self.amount1, self.amount0)

    def expected_now(self, today: int) -> Ints:
        applied = (self.push_at < today).sum(axis=1)
        current = self.expected[np.arange(self.n), applied]
        return np.where(self.is_closed, self.close, current)


def build_deals(
    org: Org, terr: Territories, fx: FxRates, openings: Openings, *, timeline: Timeline, seed: int
) -> Deals:
    rng = rng_for(seed, "deals")
    deals = _draw(org, terr, fx, openings, timeline=timeline, rng=rng)
    deals = _keep(deals, ~(deals.is_closed & (deals.close < day_number(timeline.data_start))))
    _make_stuck(deals, timeline, rng)
    _push_close_dates(deals, timeline.today_n, rng)
    deals.owner = org.occupant(deals.seat, np.minimum(deals.close, timeline.today_n - 1))
    deals.transfer_day = np.where(deals.owner != deals.owner0, org.seat["occ_switch"][deals.seat], NEVER)
    return deals


def _draw(
    org: Org,
    terr: Territories,
    fx: FxRates,
    openings: Openings,
    *,
    timeline: Timeline,
    rng: np.random.Generator,
) -> Deals:
    """Every deal as opened, in creation order: what it is, what evidence it will have, how it ends."""
    order = np.argsort(openings.day, kind="stable")
    seat, created, account = openings.seat[order], openings.day[order], openings.account[order]
    n = len(created)
    owner0 = org.occupant(seat, created)
    segment = terr.segment[account]
    product, amount_usd = _products_and_amounts(segment, rng)
    currency = np.array([CURRENCIES.index(c) for c in terr.currency], dtype=np.int64)[account]
    amount0 = _to_cents(amount_usd / fx.rate(currency, created))
    has_discovery, has_next_step, skipped, is_won, final_stage = _evidence_and_outcome(
        org.discipline[owner0], rng
    )
    cycle = np.array([s.cycle_median_days for s in SEGMENTS])[segment] * rng.lognormal(0.0, 0.5, n)
    cycle = np.maximum(np.where(is_won, cycle, cycle * (0.35 + 0.65 * (final_stage + 1) / OPEN_STAGES)), 5.0)
    close = created + np.ceil(cycle).astype(np.int64)
    quarter_last = timeline.quarter_end(close) - rng.integers(1, 11, size=n)
    close = np.where(is_won & (rng.random(n) < BUNCHING), np.maximum(close, quarter_last), close)
    entry = _stage_entries(created.astype(np.float64), cycle, final_stage, skipped, rng)
    amount1 = np.where(rng.random(n) < 0.4, _to_cents(amount0 / 100 * rng.uniform(0.8, 1.25, n)), amount0)
    return Deals(
        seat=seat,
        account=account,
        created=created,
        sdr=openings.sdr[order],
        meeting=openings.meeting[order],
        owner0=owner0,
        owner=owner0.copy(),
        transfer_day=np.full(n, NEVER, dtype=np.int64),
        region=terr.region[account],
        segment=segment,
        product=product,
        currency=currency,
        amount0=amount0,
        amount1=amount1,
        amount_usd=amount_usd,
        has_discovery=has_discovery,
        has_next_step=has_next_step,
        is_won=is_won,
        is_closed=close < timeline.today_n,
        final_stage=final_stage,
        close=close,
        entry=entry,
        skipped=skipped,
        is_stuck=np.zeros(n, dtype=np.bool_),
        pushes=np.zeros(n, dtype=np.int64),
        expected=np.zeros((n, MAX_PUSHES + 1), dtype=np.int64),
        push_at=np.zeros((n, MAX_PUSHES)),
    )


def _evidence_and_outcome(
    discipline: Floats, rng: np.random.Generator
) -> tuple[Bools, Bools, Ints, Bools, Ints]:
    """(has discovery, has next step, skipped stage or -1, won, last open stage): the planted cause."""
    n = len(discipline)
    has_discovery = rng.random(n) < 0.15 + 0.80 * discipline
    has_next_step = rng.random(n) < 0.20 + 0.75 * discipline
    skipped = np.where(rng.random(n) < SKIP_SHARE, rng.integers(1, 4, size=n), -1)
    has_discovery &= skipped != 1  # a deal that skipped Discovery had no discovery meeting
    is_won = rng.random(n) < np.where(has_discovery & has_next_step, WIN_WITH_EVIDENCE, WIN_WITHOUT_EVIDENCE)
    final_stage = np.where(is_won, OPEN_STAGES - 1, rng.choice(OPEN_STAGES, size=n, p=LOST_AT_STAGE))
    skipped = np.where(skipped < final_stage, skipped, -1)
    return has_discovery, has_next_step, skipped, is_won, final_stage


def _to_cents(units: Floats) -> Ints:
    """Round to whole hundreds of the currency (deal amounts are quoted that way), at least 500."""
    return np.maximum(np.round(units / 100), 5).astype(np.int64) * 100 * 100


def _products_and_amounts(segment: Ints, rng: np.random.Generator) -> tuple[Ints, Floats]:
    product = np.empty(len(segment), dtype=np.int64)
    for g, spec in enumerate(SEGMENTS):
        rows = np.flatnonzero(segment == g)
        product[rows] = rng.choice(len(PRODUCTS), size=len(rows), p=spec.product_weights)
    prices = np.array([p.list_price for p in PRODUCTS], dtype=np.float64)
    multiplier = np.array([s.amount_multiplier for s in SEGMENTS])[segment]
    return product, prices[product] * multiplier * rng.lognormal(0.0, 0.45, len(segment))


def _stage_entries(
    start: Floats, span: Floats, final_stage: Ints, skipped: Ints, rng: np.random.Generator
) -> Floats:
    """Stage k ≤ final is entered at start + span·(k ± 0.35)/(final + 1): in order, before the end."""
    k = np.arange(OPEN_STAGES, dtype=np.float64)
    jitter = rng.uniform(-0.35, 0.35, size=(len(start), OPEN_STAGES))
    jitter[:, 0] = 0.0
    entry = start[:, None] + span[:, None] * (k + jitter) / (final_stage[:, None] + 1)
    entry[k[None, :] > final_stage[:, None]] = np.inf
    rows = np.flatnonzero(skipped >= 0)
    entry[rows, skipped[rows]] = np.inf
    return entry


def _keep(deals: Deals, mask: Bools) -> Deals:
    return Deals(**{name: value[mask] for name, value in vars(deals).items()})


def _make_stuck(deals: Deals, timeline: Timeline, rng: np.random.Generator) -> None:
    """Turn a few deals opened 4–10 months ago into open deals frozen in an early stage for 90+ days."""
    today = timeline.today_n
    open_count = int(np.count_nonzero(~deals.is_closed))
    wanted = round(open_count * STUCK_SHARE / (1 - STUCK_SHARE))
    age = today - deals.created
    candidates = np.flatnonzero((age >= 120) & (age <= 300) & (deals.final_stage >= 1))
    stuck = np.sort(rng.choice(candidates, size=min(wanted, len(candidates)), replace=False))
    final = rng.integers(1, 5, size=len(stuck))
    deals.is_stuck[stuck] = True
    deals.is_closed[stuck] = False
    deals.is_won[stuck] = False
    deals.final_stage[stuck] = final
    deals.skipped[stuck] = np.where(deals.skipped[stuck] < final, deals.skipped[stuck], -1)
    deals.close[stuck] = today + rng.integers(10, 61, size=len(stuck))
    window = (today - STUCK_MIN_DAYS - deals.created[stuck]).astype(np.float64)
    deals.entry[stuck] = _stage_entries(
        deals.created[stuck].astype(np.float64), window, final, deals.skipped[stuck], rng
    )


def _push_close_dates(deals: Deals, today: int, rng: np.random.Generator) -> None:
    """Close-date slips: each push moves the expected close 1–5 weeks out, made around when it passes."""
    n = deals.n
    wanted = rng.choice(len(PUSHES), size=n, p=PUSHES)
    wanted[deals.is_stuck] = rng.integers(2, MAX_PUSHES + 1, size=int(deals.is_stuck.sum()))
    gaps = np.cumsum(rng.integers(10, 36, size=(n, MAX_PUSHES)), axis=1)
    fits = (deals.close[:, None] - gaps >= deals.created[:, None] + 7).sum(axis=1)
    pushes = np.minimum(wanted, fits)
    expected = np.empty((n, MAX_PUSHES + 1), dtype=np.int64)
    for j in range(MAX_PUSHES + 1):
        back = pushes - j - 1  # how many gaps before the final close this expectation sits
        expected[:, j] = np.where(
            back >= 0, deals.close - gaps[np.arange(n), np.maximum(back, 0)], deals.close
        )
    # A push is made up to 4 days before the expected date or 1–5 days after it (then the deal was past
    # due meanwhile); expectations are at least 10 days apart, so pushes stay in order.
    late = rng.random((n, MAX_PUSHES)) < LATE_PUSH_SHARE
    offset = np.where(late, rng.uniform(1.0, 5.0, (n, MAX_PUSHES)), -rng.uniform(0.0, 4.0, (n, MAX_PUSHES)))
    made = expected[:, :MAX_PUSHES].astype(np.float64) + offset
    made[np.arange(MAX_PUSHES)[None, :] >= pushes[:, None]] = np.inf
    neglected = ~deals.is_closed & (rng.random(n) < NEGLECTED_SHARE)  # no close-date update this month
    made[neglected[:, None] & (made >= today - 30)] = np.inf
    deals.pushes, deals.expected, deals.push_at = pushes, expected, made
