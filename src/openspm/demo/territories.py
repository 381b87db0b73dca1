"""Territories (region → team → rep), accounts, and which territory holds each account when.

Territory indexes: regions first, then teams, then one per AE seat, then the territories created by
the reorganisation. An account moves at most once (the reorganisation or an expansion hire's carve-out).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from openspm.demo.catalogue import (
    ACCOUNT_WORDS_A,
    ACCOUNT_WORDS_B,
    ACCOUNT_WORDS_C,
    INDUSTRIES,
    REGIONS,
    SEGMENTS,
)
from openspm.demo.columns import (
    NEVER,
    Floats,
    Ints,
    dates,
    day_number,
    floats,
    ids,
    money,
    pick,
    rng_for,
    typed_table,
)
from openspm.demo.org import VACANT, Org
from openspm.demo.timeline import Timeline

REORG_SLICE = 0.08  # share of the source team's other accounts that go with the moved pod
EXPANSION_SLICE = 0.12  # share of each teammate's accounts carved out for new headcount
LOCAL_CURRENCY_SHARE = 0.4  # of accounts in the UK and the euro area, which are billed in GBP or EUR


@dataclass(frozen=True)
class _Drawn:
    """The accounts as drawn, before territories: one entry per account."""

    region: Ints
    segment: Ints
    country: Ints
    seat: Ints
    lat: Floats
    lon: Floats
    currency: list[str]
    suffix: list[str]
    potential: Ints
    industry: Ints
    name: Ints  # index of the name's word combination


@dataclass(frozen=True)
class Territories:
    seat_of: Ints  # territory → AE seat (-1 for region and team territories)
    seat_terr0: Ints
    seat_terr1: Ints  # after the seat's move day (the reorganisation)
    region: Ints  # account → region
    segment: Ints
    country: Ints  # index into REGIONS[region].countries, flattened: see `country_codes`
    currency: list[str]  # per account
    potential: Ints  # cents
    terr0: Ints
    terr1: Ints
    move_day: Ints
    snapshot_days: Ints
    snapshot_order: Ints  # (snapshots, accounts): account indexes sorted by territory
    snapshot_start: Ints  # (snapshots, territories)
    snapshot_count: Ints
    tables: dict[str, pa.Table]

    def territory_at(self, accounts: Ints, days: Ints) -> Ints:
        return np.where(days < self.move_day[accounts], self.terr0[accounts], self.terr1[accounts])

    def seat_at(self, accounts: Ints, days: Ints) -> Ints:
        return self.seat_of[self.territory_at(accounts, days)]

    def sample(self, territories: Ints, days: Ints, u: Floats) -> Ints:
        """A random account of each territory as it stood on each day; -1 where it held none."""
        snap = np.searchsorted(self.snapshot_days, days, side="right") - 1
        count = self.snapshot_count[snap, territories]
        position = self.snapshot_start[snap, territories] + np.minimum(
            (u * count).astype(np.int64), count - 1
        )
        found = self.snapshot_order[snap, np.maximum(position, 0)]
        return np.where(count > 0, found, -1)


def build_territories(org: Org, scale: float, seed: int, timeline: Timeline) -> Territories:
    rng = rng_for(seed, "territories")
    seat = org.seat
    n_regions, n_teams, n_seats = len(REGIONS), len(org.teams), len(seat["occ0"])
    moved = np.flatnonzero(seat["move_day"] < NEVER)
    seat_terr0 = n_regions + n_teams + np.arange(n_seats, dtype=np.int64)
    seat_terr1 = seat_terr0.copy()
    seat_terr1[moved] = n_regions + n_teams + n_seats + np.arange(len(moved))
    seat_of = np.full(n_regions + n_teams + n_seats + len(moved), -1, dtype=np.int64)
    seat_of[seat_terr0] = np.arange(n_seats)
    seat_of[seat_terr1[moved]] = moved
    accounts = _accounts(org, round(6000 * scale), rng)
    initial_seat = accounts.seat
    terr0 = seat_terr0[initial_seat]
    terr1, move_day = terr0.copy(), np.full(len(terr0), NEVER, dtype=np.int64)
    _reorganise(org, initial_seat, seat_terr1, moves=(terr1, move_day), rng=rng)
    _carve_out(
        org,
        initial_seat,
        seat_terr0,
        moves=(terr1, move_day),
        day=day_number(timeline.expansion_date),
        rng=rng,
    )
    days = np.unique(np.concatenate([[-NEVER], move_day[move_day < NEVER]]))
    order, start, count = _snapshots(terr0, terr1, move_day, days, len(seat_of))
    territories = Territories(
        seat_of,
        seat_terr0,
        seat_terr1,
        accounts.region,
        accounts.segment,
        accounts.country,
        accounts.currency,
        accounts.potential,
        terr0,
        terr1,
        move_day,
        days,
        order,
        start,
        count,
        {},
    )
    territories.tables.update(_tables(org, territories, accounts, timeline))
    return territories


def _accounts(org: Org, n: int, rng: np.random.Generator) -> _Drawn:
    seat = org.seat
    staffed = seat["occ0"] != VACANT
    seat_region = np.array([org.teams[t].region for t in seat["team0"]], dtype=np.int64)
    seat_segment = np.array([org.teams[t].segment for t in seat["team0"]], dtype=np.int64)
    region = rng.choice(
        len(REGIONS), size=n, p=_shares(np.bincount(seat_region[staffed], minlength=len(REGIONS)))
    )
    segment = rng.choice(len(SEGMENTS), size=n, p=[s.account_share for s in SEGMENTS])
    chosen = np.empty(n, dtype=np.int64)
    for r in range(len(REGIONS)):
        for g in range(len(SEGMENTS)):
            rows = np.flatnonzero((region == r) & (segment == g))
            candidates = np.flatnonzero(staffed & (seat_region == r) & (seat_segment == g))
            if len(candidates) == 0:
                candidates = np.flatnonzero(staffed & (seat_region == r))
            chosen[rows] = candidates[rng.integers(len(candidates), size=len(rows))]
    country = np.empty(n, dtype=np.int64)
    lat, lon = np.empty(n), np.empty(n)
    currency = np.empty(n, dtype=object)
    suffix = np.empty(n, dtype=object)
    for r, spec in enumerate(REGIONS):
        rows = np.flatnonzero(region == r)
        weights = _shares(np.array([c.weight for c in spec.countries]))
        picked = rng.choice(len(spec.countries), size=len(rows), p=weights)
        country[rows] = picked
        for k, c in enumerate(spec.countries):
            at = rows[picked == k]
            city = np.asarray(c.cities)[rng.integers(len(c.cities), size=len(at))]
            lat[at] = np.clip(city[:, 0] + rng.normal(0, 0.25, len(at)), -89.9, 89.9)
            lon[at] = np.clip(city[:, 1] + rng.normal(0, 0.25, len(at)), -179.9, 179.9)
            local = rng.random(len(at)) < LOCAL_CURRENCY_SHARE
            currency[at] = np.where(local, c.currency, "USD")
            suffix[at] = c.legal_suffix
    median = np.array([s.potential_median for s in SEGMENTS], dtype=np.float64)[segment]
    potential = np.round(median * rng.lognormal(0, 0.6, n) / 1000) * 1000 * 100
    return _Drawn(
        region.astype(np.int64),
        segment.astype(np.int64),
        country,
        chosen,
        lat,
        lon,
        list(currency),
        list(suffix),
        potential.astype(np.int64),
        rng.integers(len(INDUSTRIES), size=n),
        _account_names(n, rng),
    )


def _shares(weights: Floats | Ints) -> Floats:
    total = np.asarray(weights, dtype=np.float64)
    return np.asarray(total / total.sum(), dtype=np.float64)


def _account_names(n: int, rng: np.random.Generator) -> Ints:
    combos = len(ACCOUNT_WORDS_A) * len(ACCOUNT_WORDS_B) * len(ACCOUNT_WORDS_C)
    return np.concatenate([rng.permutation(combos) + k * combos for k in range(n // combos + 1)])[:n]


def _reorganise(
    org: Org, initial_seat: Ints, seat_terr1: Ints, *, moves: tuple[Ints, Ints], rng: np.random.Generator
) -> None:
    """Moved seats take all their accounts, plus a slice of their old teammates', to new territories."""
    seat = org.seat
    terr1, move_day = moves
    for _, pod, source, _ in org.moved_pods:
        pod_arr = np.asarray(pod, dtype=np.int64)
        day = int(seat["move_day"][pod_arr[0]])
        own = np.isin(initial_seat, pod_arr)
        terr1[own] = seat_terr1[initial_seat[own]]
        move_day[own] = day
        teammates = (seat["team0"][initial_seat] == source) & ~own & (move_day == NEVER)
        slice_ = np.flatnonzero(teammates & (rng.random(len(initial_seat)) < REORG_SLICE))
        terr1[slice_] = seat_terr1[pod_arr[rng.integers(len(pod_arr), size=len(slice_))]]
        move_day[slice_] = day


def _carve_out(
    org: Org,
    initial_seat: Ints,
    seat_terr0: Ints,
    *,
    moves: tuple[Ints, Ints],
    day: int,
    rng: np.random.Generator,
) -> None:
    """Each expansion hire's territory gets a slice of every teammate's accounts on the hire date."""
    terr1, move_day = moves
    for _, seat_index in org.expansions:
        team = org.seat["team0"][seat_index]
        teammates = (org.seat["team0"][initial_seat] == team) & (move_day == NEVER)
        slice_ = np.flatnonzero(teammates & (rng.random(len(initial_seat)) < EXPANSION_SLICE))
        terr1[slice_] = seat_terr0[seat_index]
        move_day[slice_] = day


def _snapshots(terr0: Ints, terr1: Ints, move_day: Ints, days: Ints, n_terr: int) -> tuple[Ints, Ints, Ints]:
    orders, starts, counts = [], [], []
    for day in days:
        terr = np.where(move_day <= day, terr1, terr0)
        orders.append(np.argsort(terr, kind="stable"))
        count = np.bincount(terr, minlength=n_terr)
        counts.append(count)
        starts.append(np.cumsum(count) - count)
    return np.stack(orders), np.stack(starts), np.stack(counts)


def territory_ids(org: Org, t: Territories) -> list[str]:
    seat = org.seat
    team_ids = [team.org_unit_id.replace("ORG-", "TER-") for team in org.teams]
    numbers: dict[int, int] = {}
    seat_ids = []
    for team in seat["team0"]:
        numbers[int(team)] = numbers.get(int(team), 0) + 1
        seat_ids.append(f"{team_ids[team]}-{numbers[int(team)]:02d}")
    moved = np.flatnonzero(seat["move_day"] < NEVER)
    new_ids = [f"{team_ids[seat['team1'][s]]}-R{k + 1}" for k, s in enumerate(moved)]
    return [f"TER-{r.code}" for r in REGIONS] + team_ids + seat_ids + new_ids


def _tables(org: Org, t: Territories, accounts: _Drawn, timeline: Timeline) -> dict[str, pa.Table]:
    return {
        "territories": _territory_table(org, t, timeline),
        "accounts": _account_table(org, t, accounts, timeline),
        "account_assignments": _assignment_table(org, t, timeline),
    }


def _territory_table(org: Org, t: Territories, timeline: Timeline) -> pa.Table:
    seat, n_regions, n_teams = org.seat, len(REGIONS), len(org.teams)
    terr_ids = territory_ids(org, t)
    yesterday = np.full(len(seat["occ0"]), timeline.today_n - 1, dtype=np.int64)
    current = org.occupant(np.arange(len(seat["occ0"])), yesterday)
    moved = np.flatnonzero(seat["move_day"] < NEVER)
    names = [f"{r.code}" for r in REGIONS] + [team.name for team in org.teams]
    names += [f"{terr_ids[t.seat_terr0[s]].removeprefix('TER-')}" for s in range(len(seat["occ0"]))]
    names += [f"{terr_ids[t.seat_terr1[s]].removeprefix('TER-')}" for s in moved]
    owners = list(org.directors) + [team.manager for team in org.teams] + list(current) + list(current[moved])
    for s in moved:  # the territories a moved pod left behind are closed
        owners[n_regions + n_teams + s] = -1
        names[n_regions + n_teams + s] += f" (closed {timeline.reorg_date.isoformat()})"
    parents = [-1] * n_regions + [team.region for team in org.teams]
    parents += [n_regions + int(team) for team in seat["team0"]] + [
        n_regions + int(seat["team1"][s]) for s in moved
    ]
    person_ids = pa.array(org.person_ids)
    return typed_table(
        "territories",
        {
            "territory_id": pa.array(terr_ids),
            "name": pa.array(names),
            "parent_id": pick(pa.array(terr_ids), np.asarray(parents, dtype=np.int64)),
            "owner_id": pick(person_ids, np.asarray(owners, dtype=np.int64)),
        },
        len(terr_ids),
    )


def _account_table(org: Org, t: Territories, accounts: _Drawn, timeline: Timeline) -> pa.Table:
    n = len(t.terr0)
    rows = np.arange(n, dtype=np.int64)
    owner = org.occupant(t.seat_at(rows, np.full(n, timeline.today_n - 1)), np.full(n, timeline.today_n - 1))
    combo = accounts.name
    per_c = len(ACCOUNT_WORDS_B) * len(ACCOUNT_WORDS_C)
    base = len(ACCOUNT_WORDS_A) * per_c
    words = pc.binary_join_element_wise(
        pick(ACCOUNT_WORDS_A, (combo % base) // per_c),
        pick(ACCOUNT_WORDS_B, (combo % per_c) // len(ACCOUNT_WORDS_C)),
        pick(ACCOUNT_WORDS_C, combo % len(ACCOUNT_WORDS_C)),
        " ",
    )
    repeat = combo // base
    numbered = pc.if_else(
        pa.array(repeat > 0),
        pc.binary_join_element_wise(words, pc.cast(pa.array(repeat + 1), pa.string()), " "),
        words,
    )
    trimmed = pc.utf8_rtrim(pc.replace_substring(numbered, "  ", " "), characters=" ")
    name = pc.binary_join_element_wise(trimmed, pa.array(accounts.suffix, pa.string()), " ")
    codes = [c.code for r in REGIONS for c in r.countries]
    offsets = np.cumsum([0] + [len(r.countries) for r in REGIONS])[:-1]
    return typed_table(
        "accounts",
        {
            "account_id": ids("A", rows + 1, 6),
            "name": name,
            "industry": pick(INDUSTRIES, accounts.industry),
            "segment": pick([s.name for s in SEGMENTS], t.segment),
            "country": pick(codes, offsets[t.region] + t.country),
            "lat": floats(np.round(accounts.lat, 4)),
            "lon": floats(np.round(accounts.lon, 4)),
            "potential": money(t.potential),
            "owner_id": pick(pa.array(org.person_ids), owner),
        },
        n,
    )


def _assignment_table(org: Org, t: Territories, timeline: Timeline) -> pa.Table:
    n = len(t.terr0)
    moved = np.flatnonzero(t.move_day < NEVER)
    account = np.concatenate([np.arange(n), moved])
    terr = np.concatenate([t.terr0, t.terr1[moved]])
    start = np.concatenate([np.full(n, day_number(timeline.burn_start)), t.move_day[moved]])
    end = np.concatenate([t.move_day, np.full(len(moved), NEVER)])
    order = np.lexsort((start, account))
    account, terr, start, end = account[order], terr[order], start[order], end[order]
    return typed_table(
        "account_assignments",
        {
            "account_id": ids("A", account + 1, 6),
            "territory_id": pick(pa.array(territory_ids(org, t)), terr),
            "start_date": dates(start),
            "end_date": dates(np.where(end < NEVER, end, 0), end < NEVER),
        },
        len(account),
    )
