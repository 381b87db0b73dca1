"""Transactions compensation is paid on: bookings of won deals, renewals a year on, a few cancellations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from openspm.demo.catalogue import ADD_ON_PRODUCTS, PRODUCTS
from openspm.demo.columns import Bools, Ints, dates, ids, money, pick, rng_for, typed_table
from openspm.demo.deals import Deals
from openspm.demo.fx import CURRENCIES
from openspm.demo.opportunities import opportunity_ids
from openspm.demo.org import VACANT, Org
from openspm.demo.territories import Territories
from openspm.demo.timeline import Timeline

BOOKING, RENEWAL, CANCELLATION = 0, 1, 2
KINDS = ("booking", "renewal", "cancellation")
MULTI_LINE_SHARE = 0.12  # of won platform deals: booked as the platform plus one or two add-ons
CANCEL_SHARE = 0.03
FULL_CANCEL_SHARE = 0.7  # the rest cancel half the booking
RENEWAL_RATE = 0.85
YEAR = 365


@dataclass(frozen=True)
class Lines:
    kind: Ints
    day: Ints
    cents: Ints
    source: Ints  # the deal the line comes from
    product: Ints
    owner: Ints

    @staticmethod
    def concat(parts: list[Lines]) -> Lines:
        return Lines(
            *(
                np.concatenate([getattr(p, f) for p in parts])
                for f in ("kind", "day", "cents", "source", "product", "owner")
            )
        )

    def take(self, order: Ints) -> Lines:
        return Lines(
            self.kind[order],
            self.day[order],
            self.cents[order],
            self.source[order],
            self.product[order],
            self.owner[order],
        )


@dataclass(frozen=True)
class Booked:
    table: pa.Table
    multi_line: Ints  # deals booked in more than one line
    cancelled: Ints  # deals with a cancellation
    cancellation_ids: list[str]


def build_transactions(org: Org, terr: Territories, deals: Deals, timeline: Timeline, seed: int) -> Booked:
    rng = rng_for(seed, "transactions")
    today = timeline.today_n
    won = np.flatnonzero(deals.is_won & deals.is_closed)
    bookings, primary, multi = _bookings(deals, won, today, rng)
    cancellations = _cancellations(deals, won, primary, today, rng)
    full = cancellations.source[cancellations.cents == -primary[np.searchsorted(won, cancellations.source)]]
    kept = ~np.isin(won, full)
    renewals = _renewals(org, terr, deals, won[kept], primary=primary[kept], today=today, rng=rng)
    lines = Lines.concat([bookings, renewals, cancellations])
    lines = lines.take(np.lexsort((lines.kind, lines.source, lines.day)))
    rows = np.arange(len(lines.kind), dtype=np.int64)
    linked = lines.kind != RENEWAL  # a renewal is booked on the account, not on the original deal
    transaction_ids = ids("TX", rows + 1, 7)
    table = typed_table(
        "transactions",
        {
            "transaction_id": transaction_ids,
            "kind": pick(KINDS, lines.kind),
            "date": dates(lines.day),
            "amount": money(lines.cents),
            "currency": pick(CURRENCIES, deals.currency[lines.source]),
            "opportunity_id": pick(opportunity_ids(lines.source), rows, linked),
            "account_id": ids("A", deals.account[lines.source] + 1, 6),
            "product_id": pick([p.product_id for p in PRODUCTS], lines.product),
            "owner_id": pick(pa.array(org.person_ids), lines.owner),
        },
        len(rows),
    )
    cancelled = rows[lines.kind == CANCELLATION]
    return Booked(
        table, won[multi], lines.source[cancelled], transaction_ids.take(pa.array(cancelled)).to_pylist()
    )


def _hundreds(cents: np.ndarray) -> Ints:
    return (np.round(cents / 10_000) * 10_000).astype(np.int64)


def _bookings(deals: Deals, won: Ints, today: int, rng: np.random.Generator) -> tuple[Lines, Ints, Bools]:
    """One line per won deal on its close date; some platform deals also book one or two add-ons."""
    n = len(won)
    amount = deals.amount_now(today)[won]
    platform = np.array([p.family == "Platform" for p in PRODUCTS])[deals.product[won]]
    multi = platform & (rng.random(n) < MULTI_LINE_SHARE)
    add_ons = np.asarray(ADD_ON_PRODUCTS, dtype=np.int64)
    first = rng.integers(len(add_ons), size=n)
    second = (first + 1 + rng.integers(len(add_ons) - 1, size=n)) % len(add_ons)
    two = multi & (rng.random(n) < 0.5)
    first_cents = np.where(multi, _hundreds(amount * rng.uniform(0.08, 0.2, n)), 0)
    second_cents = np.where(two, _hundreds(amount * rng.uniform(0.08, 0.2, n)), 0)
    primary = amount - first_cents - second_cents
    a, b = np.flatnonzero(multi), np.flatnonzero(two)
    source = np.concatenate([won, won[a], won[b]])
    owner = deals.owner[source]
    return (
        Lines(
            kind=np.full(len(source), BOOKING, dtype=np.int64),
            day=deals.close[source],
            cents=np.concatenate([primary, first_cents[a], second_cents[b]]),
            source=source,
            product=np.concatenate([deals.product[won], add_ons[first[a]], add_ons[second[b]]]),
            owner=owner,
        ),
        primary,
        multi,
    )


def _cancellations(deals: Deals, won: Ints, primary: Ints, today: int, rng: np.random.Generator) -> Lines:
    """A few customers cancel 30–90 days after booking: all of the main line or half of it."""
    day = deals.close[won] + rng.integers(30, 91, size=len(won))
    chosen = np.flatnonzero((rng.random(len(won)) < CANCEL_SHARE) & (day < today))
    full = rng.random(len(chosen)) < FULL_CANCEL_SHARE
    cents = np.where(full, primary[chosen], _hundreds(primary[chosen] / 2))
    source = won[chosen]
    return Lines(
        np.full(len(chosen), CANCELLATION, dtype=np.int64),
        day[chosen],
        -cents,
        source,
        deals.product[source],
        deals.owner[source],
    )


def _renewals(
    org: Org,
    terr: Territories,
    deals: Deals,
    won: Ints,
    *,
    primary: Ints,
    today: int,
    rng: np.random.Generator,
) -> Lines:
    """Subscriptions renew a year after booking (most of them), credited to the account's owner then."""
    renewable = np.array([p.is_renewable for p in PRODUCTS])[deals.product[won]]
    day = deals.close[won] + YEAR
    chosen = np.flatnonzero(renewable & (day < today) & (rng.random(len(won)) < RENEWAL_RATE))
    source, day = won[chosen], day[chosen]
    cents = _hundreds(primary[chosen] * rng.uniform(0.95, 1.12, len(chosen)))
    owner = org.occupant(terr.seat_at(deals.account[source], day), day)
    owner = np.where(owner == VACANT, deals.owner[source], owner)
    return Lines(
        np.full(len(chosen), RENEWAL, dtype=np.int64), day, cents, source, deals.product[source], owner
    )
