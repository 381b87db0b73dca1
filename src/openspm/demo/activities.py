"""Activities: the reps' daily calls and emails, SDR first meetings, deal work, and the gamed calls.

Types are call, email, meeting and demo. The outcome says what a meeting was: `first_meeting` (booked
by an SDR for an AE), `discovery` (the evidence deal inspection looks for), `held` (other customer
meetings); a demo's outcome is `completed`. A gaming rep logs bursts of calls minutes apart with no
duration, no outcome and no deal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from openspm.demo.catalogue import REGIONS
from openspm.demo.columns import (
    US_PER_DAY,
    US_PER_MINUTE,
    Floats,
    Ints,
    day_number,
    decimal,
    ids,
    pick,
    rng_for,
    timestamps,
    typed_table,
)
from openspm.demo.deals import Deals
from openspm.demo.opportunities import opportunity_ids
from openspm.demo.org import Org
from openspm.demo.pipeline import Meetings, pod_seat, seat_territory
from openspm.demo.territories import Territories
from openspm.demo.timeline import Timeline

CALL, EMAIL, MEETING, DEMO = 0, 1, 2, 3
TYPES = ("call", "email", "meeting", "demo")
OUTCOMES = (
    "connected",
    "no_answer",
    "left_voicemail",
    "sent",
    "first_meeting",
    "discovery",
    "held",
    "completed",
)
(CONNECTED, NO_ANSWER, VOICEMAIL, SENT, FIRST_MEETING, DISCOVERY, HELD, COMPLETED) = range(len(OUTCOMES))
# fmt: off
SUBJECTS = (
    "Prospecting call", "Account check-in call", "Outreach email", "Account update email", "First meeting",
    "Discovery meeting", "Follow-up call", "Follow-up email", "Customer meeting", "Product demo", "Call",
)
(SDR_CALL, AE_CALL, SDR_EMAIL, AE_EMAIL, FIRST_MEETING_SUBJECT, DISCOVERY_SUBJECT,
 DEAL_CALL, DEAL_EMAIL, DEAL_MEETING, DEMO_SUBJECT, BARE_CALL) = range(len(SUBJECTS))
# fmt: on
DAILY = {"ae": (1.6, 2.2), "sdr": (9.0, 5.0)}  # calls and emails a rep logs per working day, outside deals
BURST_DAYS = 0.7  # share of working days on which a gaming rep logs a burst
BURST_SIZE = (15, 41)  # calls per burst
WORKDAY_MINUTES = 570


@dataclass(frozen=True)
class Rows:
    person: Ints
    type: Ints
    day: Ints
    minute: Floats  # minutes into the day (UTC)
    tenths: Ints  # duration in tenths of a minute, -1 = none
    account: Ints
    deal: Ints
    outcome: Ints
    subject: Ints

    @staticmethod
    def of(
        person: Ints,
        *,
        kind: int | Ints,
        day: Ints,
        minute: Floats,
        tenths: int | Ints,
        account: Ints,
        deal: int | Ints = -1,
        outcome: int | Ints,
        subject: int | Ints,
    ) -> Rows:
        n = len(person)

        def full(v: int | Ints) -> Ints:
            return np.broadcast_to(np.asarray(v, dtype=np.int64), (n,)).copy()

        return Rows(
            person, full(kind), day, minute, full(tenths), account, full(deal), full(outcome), full(subject)
        )


def build_activities(
    org: Org,
    terr: Territories,
    deals: Deals,
    meetings: Meetings,
    *,
    overlay: Ints,
    timeline: Timeline,
    seed: int,
) -> pa.Table:
    rng = rng_for(seed, "activities")
    region = np.array([p.region for p in org.people], dtype=np.int64)
    parts = [
        *_daily(org, terr, timeline, rng),
        _first_meetings(deals, meetings, timeline, rng),
        *_deal_work(deals, overlay, timeline, rng),
        _gamed_calls(org, terr, timeline, rng),
    ]
    rows = Rows(*(np.concatenate([getattr(p, f) for p in parts]) for f in Rows.__dataclass_fields__))
    micros = rows.day * US_PER_DAY + (rows.minute * US_PER_MINUTE).astype(np.int64)
    start_hour = np.array([r.utc_start_hour for r in REGIONS], dtype=np.int64)[region[rows.person]]
    micros += start_hour * 60 * US_PER_MINUTE
    keep = (rows.day >= org.hire_day[rows.person]) & (rows.day < org.end_day[rows.person])
    keep &= rows.day < timeline.today_n
    order = np.flatnonzero(keep)[np.lexsort((rows.person[keep], micros[keep]))]
    n = len(order)
    has_duration = rows.tenths[order] >= 0
    return typed_table(
        "activities",
        {
            "activity_id": ids("AC", np.arange(1, n + 1, dtype=np.int64), 8),
            "person_id": pick(pa.array(org.person_ids), rows.person[order]),
            "type": pick(TYPES, rows.type[order]),
            "occurred_at": timestamps(micros[order]),
            "duration_minutes": decimal(np.where(has_duration, rows.tenths[order], 0), 1, has_duration),
            "account_id": pick(
                ids("A", np.arange(1, len(terr.terr0) + 1, dtype=np.int64), 6), rows.account[order]
            ),
            "opportunity_id": pick(opportunity_ids(np.arange(deals.n, dtype=np.int64)), rows.deal[order]),
            "outcome": pick(OUTCOMES, rows.outcome[order]),
            "subject": pick(SUBJECTS, rows.subject[order]),
        },
        n,
    )


def _person_days(org: Org, role: str, days: Ints) -> tuple[Ints, Ints]:
    people = np.flatnonzero(np.array(org.roles) == role)
    person, day = np.repeat(people, len(days)), np.tile(days, len(people))
    active = (day >= org.hire_day[person]) & (day < org.end_day[person])
    return person[active], day[active]


def _accounts_of(
    org: Org, terr: Territories, role: str, person: Ints, *, day: Ints, rng: np.random.Generator
) -> Ints:
    """A random account the rep works on that day: an AE's own territory, an SDR's pod's territories."""
    if role == "sdr":
        seat = pod_seat(org, person, rng.random(len(person)))
    else:
        seat_of_person = np.full(len(org.people), -1, dtype=np.int64)
        for column in ("occ0", "occ1"):
            staffed = org.seat[column] >= 0
            seat_of_person[org.seat[column][staffed]] = np.flatnonzero(staffed)
        seat = seat_of_person[person]
    found = seat >= 0
    account = np.full(len(person), -1, dtype=np.int64)
    account[found] = terr.sample(
        seat_territory(org, terr, seat[found], day[found]), day[found], rng.random(int(found.sum()))
    )
    return account


def _call_durations(n: int, rng: np.random.Generator) -> tuple[Ints, Ints]:
    outcome = rng.choice(3, size=n, p=(0.55, 0.30, 0.15))
    connected = np.clip(np.round(rng.lognormal(np.log(5.5), 0.6, n) * 10), 10, 600).astype(np.int64)
    tenths = np.where(
        outcome == CONNECTED,
        connected,
        np.where(outcome == NO_ANSWER, rng.integers(5, 11, n), rng.integers(7, 21, n)),
    )
    return tenths, outcome


def _daily(org: Org, terr: Territories, timeline: Timeline, rng: np.random.Generator) -> list[Rows]:
    days = timeline.workdays(timeline.data_start)
    energy = rng.lognormal(0.0, 0.2, size=len(org.people))
    parts = []
    for role, (calls, emails) in DAILY.items():
        person, day = _person_days(org, role, days)
        for kind, rate in ((CALL, calls), (EMAIL, emails)):
            count = rng.poisson(rate * energy[person])
            who, when = np.repeat(person, count), np.repeat(day, count)
            account = _accounts_of(org, terr, role, who, day=when, rng=rng)
            minute = rng.uniform(0, WORKDAY_MINUTES, len(who))
            if kind == CALL:
                subject = SDR_CALL if role == "sdr" else AE_CALL
            else:
                subject = SDR_EMAIL if role == "sdr" else AE_EMAIL
            if kind == CALL:
                tenths, outcome = _call_durations(len(who), rng)
                parts.append(
                    Rows.of(
                        who,
                        kind=CALL,
                        day=when,
                        minute=minute,
                        tenths=tenths,
                        account=account,
                        outcome=outcome,
                        subject=subject,
                    )
                )
            else:
                parts.append(
                    Rows.of(
                        who,
                        kind=EMAIL,
                        day=when,
                        minute=minute,
                        tenths=-1,
                        account=account,
                        outcome=SENT,
                        subject=subject,
                    )
                )
    return parts


def _first_meetings(deals: Deals, meetings: Meetings, timeline: Timeline, rng: np.random.Generator) -> Rows:
    deal_of = np.full(len(meetings.day), -1, dtype=np.int64)
    sourced = np.flatnonzero(deals.meeting >= 0)
    deal_of[deals.meeting[sourced]] = sourced
    keep = (meetings.day >= day_number(timeline.data_start)) | (deal_of >= 0)
    n = int(keep.sum())
    minute = rng.uniform(60, WORKDAY_MINUTES - 60, n)
    return Rows.of(
        meetings.sdr[keep],
        kind=MEETING,
        day=meetings.day[keep],
        minute=minute,
        tenths=300,
        account=meetings.account[keep],
        deal=deal_of[keep],
        outcome=FIRST_MEETING,
        subject=FIRST_MEETING_SUBJECT,
    )


def _deal_work(deals: Deals, overlay: Ints, timeline: Timeline, rng: np.random.Generator) -> list[Rows]:
    """Calls, emails and meetings on each deal while it is open, its discovery meeting and its demo."""
    today = timeline.today_n
    reached = np.where(deals.is_closed, deals.final_stage, np.maximum(deals.stage_now(today), 0))
    finite = np.where(np.isfinite(deals.entry), deals.entry, -np.inf).max(axis=1)
    last = np.where(deals.is_stuck, finite + 14, np.minimum(deals.close, today)).astype(np.float64)
    count = rng.poisson(1.0 + 0.9 * reached)
    deal = np.repeat(np.arange(deals.n), count)
    at = deals.created[deal] + rng.random(len(deal)) * (last[deal] - deals.created[deal])
    kind = rng.choice(3, size=len(deal), p=(0.40, 0.45, 0.15))
    tenths, outcome = _call_durations(len(deal), rng)
    tenths = np.select([kind == EMAIL, kind == MEETING], [-1, rng.choice([300, 450, 600], len(deal))], tenths)
    outcome = np.select([kind == EMAIL, kind == MEETING], [SENT, HELD], outcome)
    work = _on_deal(
        deals, deal, at, kind=kind, tenths=tenths, outcome=outcome, subject=DEAL_CALL + kind, rng=rng
    )
    after_qualification = np.where(np.isfinite(deals.entry[:, 2:]), deals.entry[:, 2:], np.inf).min(axis=1)
    window_end = np.minimum(after_qualification, np.where(deals.is_closed, deals.close, np.inf))
    window_end = np.minimum(window_end, last + 30)  # open deals: may still happen after today (then dropped)
    window_end = np.where(deals.is_stuck, np.minimum(window_end, last), window_end)  # stuck deals went quiet
    has = np.flatnonzero(deals.has_discovery)
    at = deals.created[has] + rng.random(len(has)) * (window_end[has] - deals.created[has])
    tenths = rng.choice([450, 600], len(has))
    discovery = _on_deal(
        deals, has, at, kind=MEETING, tenths=tenths, outcome=DISCOVERY, subject=DISCOVERY_SUBJECT, rng=rng
    )
    demo = _demos(deals, overlay, last=last, today=today, rng=rng)
    return [work, discovery, demo]


def _demos(deals: Deals, overlay: Ints, *, last: Floats, today: int, rng: np.random.Generator) -> Rows:
    """Deals that reached Solution mostly get a demo there, given by the SE on the deal when there is one."""
    solution = deals.entry[:, 3]
    chance = 0.5 + 0.4 * deals.has_discovery
    has = np.flatnonzero((solution < today) & (rng.random(deals.n) < chance))
    later = np.where(np.isfinite(deals.entry[has, 4:]), deals.entry[has, 4:], np.inf).min(axis=1)
    end = np.minimum(np.minimum(later, deals.close[has]), today)
    end = np.where(deals.is_stuck[has], np.minimum(end, last[has]), end)
    at = solution[has] + rng.random(len(has)) * (end - solution[has])
    rows = _on_deal(deals, has, at, kind=DEMO, tenths=600, outcome=COMPLETED, subject=DEMO_SUBJECT, rng=rng)
    se = overlay[has]
    return Rows(
        np.where(se >= 0, se, rows.person), *(getattr(rows, f) for f in list(Rows.__dataclass_fields__)[1:])
    )


def _on_deal(
    deals: Deals,
    deal: Ints,
    at: Floats,
    *,
    kind: int | Ints,
    tenths: int | Ints,
    outcome: int | Ints,
    subject: int | Ints,
    rng: np.random.Generator,
) -> Rows:
    day = np.floor(at).astype(np.int64)
    person = np.where(day < deals.transfer_day[deal], deals.owner0[deal], deals.owner[deal])
    minute = rng.uniform(0, WORKDAY_MINUTES, len(deal))
    return Rows.of(
        person,
        kind=kind,
        day=day,
        minute=minute,
        tenths=tenths,
        account=deals.account[deal],
        deal=deal,
        outcome=outcome,
        subject=subject,
    )


def _gamed_calls(org: Org, terr: Territories, timeline: Timeline, rng: np.random.Generator) -> Rows:
    """Gaming reps: on most days a burst of 15–40 calls, one to three minutes apart, lasting nothing."""
    days = timeline.workdays(timeline.data_start)
    gamers = np.flatnonzero(org.is_gaming)
    person, day = np.repeat(gamers, len(days)), np.tile(days, len(gamers))
    active = (day >= org.hire_day[person]) & (day < org.end_day[person]) & (rng.random(len(day)) < BURST_DAYS)
    person, day = person[active], day[active]
    size = rng.integers(*BURST_SIZE, size=len(person))
    start = rng.uniform(0, 6 * 60, len(person))
    burst = np.repeat(np.arange(len(person)), size)
    gaps = rng.uniform(40, 180, len(burst)) / 60
    offset = np.cumsum(gaps)
    first = np.cumsum(size) - size
    offset -= np.repeat(offset[first] - gaps[first], size)
    who, when = person[burst], day[burst]
    tenths = np.where(rng.random(len(burst)) < 0.75, 0, rng.integers(1, 5, len(burst)))
    roles = np.array(org.roles)
    account = np.full(len(burst), -1, dtype=np.int64)
    for role in ("ae", "sdr"):
        rows = np.flatnonzero(roles[who] == role)
        account[rows] = _accounts_of(org, terr, role, who[rows], day=when[rows], rng=rng)
    return Rows.of(
        who,
        kind=CALL,
        day=when,
        minute=start[burst] + offset,
        tenths=tenths,
        account=account,
        outcome=-1,
        subject=BARE_CALL,
    )
