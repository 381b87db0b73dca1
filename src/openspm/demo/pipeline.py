"""Where deals come from: AEs open them in their territory, and SDRs book first meetings that convert.

This is the first planted cause: the more first meetings an SDR books, the more deals (pipeline) the
AEs of the SDR's pod get, since each first meeting converts to a deal with the same probability.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from openspm.demo.catalogue import SEGMENTS
from openspm.demo.columns import Bools, Floats, Ints, rng_for
from openspm.demo.org import VACANT, Org
from openspm.demo.territories import Territories
from openspm.demo.timeline import Timeline

FIRST_MEETING_CONVERSION = 0.45  # share of SDR first meetings that become a deal
RAMP_DAYS = 270  # a new hire reaches full productivity after about three quarters
RAMP_START = 0.25


@dataclass(frozen=True)
class Meetings:
    """First meetings booked by SDRs (one activity each); converted ones open a deal that day."""

    sdr: Ints
    day: Ints
    account: Ints
    seat: Ints
    converted: Bools


@dataclass(frozen=True)
class Openings:
    seat: Ints
    day: Ints
    account: Ints
    sdr: Ints  # -1 when the AE sourced the deal
    meeting: Ints  # index into Meetings, -1 when the AE sourced the deal


def seat_territory(org: Org, terr: Territories, seats: Ints, days: Ints) -> Ints:
    return np.where(days < org.seat["move_day"][seats], terr.seat_terr0[seats], terr.seat_terr1[seats])


def ramp(org: Org, people: Ints, days: Ints) -> Floats:
    tenure = days - org.hire_day[people]
    return np.clip(RAMP_START + (1 - RAMP_START) * tenure / RAMP_DAYS, RAMP_START, 1.0)


def pod_seat(org: Org, sdrs: Ints, u: Floats) -> Ints:
    """A random seat of each SDR's pod (-1 for an SDR without one)."""
    owners = org.seat["sdr"]
    order = np.argsort(owners, kind="stable")
    order = order[owners[order] >= 0]
    size = np.bincount(owners[owners >= 0], minlength=len(org.people))
    start = np.cumsum(size) - size
    position = start[sdrs] + np.minimum((u * size[sdrs]).astype(np.int64), np.maximum(size[sdrs] - 1, 0))
    return np.where(size[sdrs] > 0, order[np.minimum(position, len(order) - 1)], -1)


def open_deals(org: Org, terr: Territories, timeline: Timeline, seed: int) -> tuple[Openings, Meetings]:
    rng = rng_for(seed, "pipeline")
    productivity = rng.lognormal(0.0, 0.25, size=len(org.people))
    own = _ae_sourced(org, terr, timeline, productivity, rng)
    meetings = _first_meetings(org, terr, timeline, rng)
    converted = np.flatnonzero(meetings.converted)
    openings = Openings(
        seat=np.concatenate([own[0], meetings.seat[converted]]),
        day=np.concatenate([own[1], meetings.day[converted]]),
        account=np.concatenate([own[2], meetings.account[converted]]),
        sdr=np.concatenate([np.full(len(own[0]), -1, dtype=np.int64), meetings.sdr[converted]]),
        meeting=np.concatenate([np.full(len(own[0]), -1, dtype=np.int64), converted]),
    )
    return openings, meetings


def _ae_sourced(
    org: Org, terr: Territories, timeline: Timeline, productivity: Floats, rng: np.random.Generator
) -> tuple[Ints, Ints, Ints]:
    days = timeline.workdays()
    n_seats = len(org.seat["occ0"])
    seat = np.repeat(np.arange(n_seats, dtype=np.int64), len(days))
    day = np.tile(days, n_seats)
    occupant = org.occupant(seat, day)
    staffed = occupant != VACANT
    seat, day, occupant = seat[staffed], day[staffed], occupant[staffed]
    team_segment = np.array([t.segment for t in org.teams], dtype=np.int64)
    rate = np.array([s.deals_per_workday for s in SEGMENTS])[team_segment[org.seat_team(seat, day)]]
    rate = rate * timeline.season(day) * ramp(org, occupant, day) * productivity[occupant]
    count = rng.poisson(rate)
    seat, day = np.repeat(seat, count), np.repeat(day, count)
    account = terr.sample(seat_territory(org, terr, seat, day), day, rng.random(len(seat)))
    found = account >= 0
    return seat[found], day[found], account[found]


def _first_meetings(org: Org, terr: Territories, timeline: Timeline, rng: np.random.Generator) -> Meetings:
    days = timeline.workdays()
    sdrs = np.flatnonzero(np.array(org.roles) == "sdr")
    person = np.repeat(sdrs, len(days))
    day = np.tile(days, len(sdrs))
    active = (day >= org.hire_day[person]) & (day < org.end_day[person])
    person, day = person[active], day[active]
    count = rng.poisson(org.meeting_rate[person] * timeline.season(day))
    person, day = np.repeat(person, count), np.repeat(day, count)
    seat = pod_seat(org, person, rng.random(len(person)))
    has_pod = seat >= 0
    person, day, seat = person[has_pod], day[has_pod], seat[has_pod]
    account = terr.sample(seat_territory(org, terr, seat, day), day, rng.random(len(seat)))
    found = account >= 0
    person, day, seat, account = person[found], day[found], seat[found], account[found]
    converted = (rng.random(len(seat)) < FIRST_MEETING_CONVERSION) & (org.occupant(seat, day) != VACANT)
    return Meetings(person, day, account, seat, converted)
