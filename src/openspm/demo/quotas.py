"""Quotas per fiscal quarter: AE bookings, SDR meetings and pipeline created, rolled up to teams and regions.

Quotas are set the way a sales organisation sets them: from what a fully ramped rep of the same
segment booked in the first fiscal year, raised for growth, spread over the quarters with Q4 heaviest,
ramped for new hires by quarter of tenure and prorated for a leaver's last quarter.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyarrow as pa

from openspm.demo.catalogue import SEGMENTS
from openspm.demo.columns import Floats, Ints, day_number, money, typed_table
from openspm.demo.deals import Deals
from openspm.demo.fx import FxRates
from openspm.demo.org import Org
from openspm.demo.pipeline import Meetings
from openspm.demo.timeline import QUOTA_WEIGHTS, Timeline

GROWTH = (1.10, 1.20)  # quota over last year's typical bookings, for each of the two fiscal years
SDR_STRETCH = 1.10
RAMP = (0.25, 0.50, 0.75, 1.00)  # share of full quota in a new hire's 1st, 2nd, 3rd, 4th+ quarter

QuotaRow = tuple[str, str, str, str, int]  # subject_id, subject_kind, measure, period, cents


def build_quotas(
    org: Org, deals: Deals, meetings: Meetings, fx: FxRates, timeline: Timeline
) -> tuple[pa.Table, dict[str, float]]:
    """(quotas, the per-segment annual AE quota and SDR quarterly targets for the first fiscal year)."""
    quarters = timeline.quarters
    starts = np.array([day_number(q.start) for q in quarters])
    ends = np.array([day_number(q.end) for q in quarters])
    hire, leave = org.hire_day, org.end_day
    full_year = (hire <= starts[0]) & (leave >= ends[3])
    bookings, meetings_done, pipeline = _realised(org, deals, meetings, fx, timeline)
    annual = _annual_by_segment(org, bookings, full_year, timeline)
    meeting_target = SDR_STRETCH * _first_year_mean(meetings_done, full_year, org, "sdr")
    pipeline_target = SDR_STRETCH * _first_year_mean(pipeline, full_year, org, "sdr")
    rows: list[QuotaRow] = []
    for person, role in enumerate(org.roles):
        if role not in ("ae", "sdr"):
            continue
        for q, quarter in enumerate(quarters):
            share = _share(hire[person], leave[person], starts, ends, q)
            if share == 0:
                continue
            label = quarter.label
            subject = org.person_ids[person]
            if role == "ae":
                segment = org.teams[_team_at(org, person, int(starts[q]))].segment
                target = annual[segment] * GROWTH[q // 4] * QUOTA_WEIGHTS[q % 4] * share
                rows.append((subject, "person", "bookings", label, _round(target, 1000)))
            else:
                rows.append((subject, "person", "meetings", label, _round(meeting_target * share, 1)))
                rows.append(
                    (subject, "person", "pipeline_created", label, _round(pipeline_target * share, 5000))
                )
    rows += _roll_up(org, rows, {q.label: int(start) for q, start in zip(quarters, starts, strict=True)})
    table = _table(sorted(rows))
    targets = {
        f"ae_annual_bookings_{SEGMENTS[s].name}": round(float(annual[s]) * GROWTH[0], 2)
        for s in range(len(SEGMENTS))
    }
    targets |= {
        "sdr_quarterly_meetings": round(float(meeting_target)),
        "sdr_quarterly_pipeline_created": round(float(pipeline_target), 2),
    }
    return table, targets


def _realised(
    org: Org, deals: Deals, meetings: Meetings, fx: FxRates, timeline: Timeline
) -> tuple[Floats, Floats, Floats]:
    """Per person and quarter (people × 8): won USD by owner, first meetings and USD pipeline by SDR."""
    shape = (len(org.people), len(timeline.quarters))
    today = timeline.today_n
    won = np.flatnonzero(deals.is_won & deals.is_closed)
    usd = deals.amount_now(today)[won] / 100 * fx.rate(deals.currency[won], deals.close[won])
    bookings = _sum_by(deals.owner[won], timeline.quarter_of(deals.close[won]), usd, shape)
    done = _sum_by(meetings.sdr, timeline.quarter_of(meetings.day), np.ones(len(meetings.day)), shape)
    sourced = np.flatnonzero(deals.sdr >= 0)
    pipeline = _sum_by(
        deals.sdr[sourced], timeline.quarter_of(deals.created[sourced]), deals.amount_usd[sourced], shape
    )
    return bookings, done, pipeline


def _sum_by(person: Ints, quarter: Ints, values: Floats, shape: tuple[int, int]) -> Floats:
    total = np.zeros(shape)
    inside = quarter >= 0
    np.add.at(total, (person[inside], quarter[inside]), values[inside])
    return total


def _annual_by_segment(org: Org, bookings: Floats, full_year: np.ndarray, timeline: Timeline) -> Floats:
    first_year = bookings[:, :4].sum(axis=1)
    start = day_number(timeline.data_start)
    annual = np.zeros(len(SEGMENTS))
    segment_of = np.array(
        [org.teams[_team_at(org, p, start)].segment if r == "ae" else -1 for p, r in enumerate(org.roles)]
    )
    for s in range(len(SEGMENTS)):
        chosen = full_year & (segment_of == s)
        annual[s] = first_year[chosen].mean() if chosen.any() else first_year[segment_of >= 0].mean()
    return annual


def _first_year_mean(values: Floats, full_year: np.ndarray, org: Org, role: str) -> float:
    chosen = full_year & (np.array(org.roles) == role)
    return float(values[chosen, :4].mean()) if chosen.any() else 0.0


def _share(hire: int, leave: int, starts: Ints, ends: Ints, q: int) -> float:
    """The part of a full quarterly quota someone carries: ramp by tenure, prorated in a last quarter."""
    if hire >= ends[q] or leave <= starts[q]:
        return 0.0
    hired_in = int(np.searchsorted(starts, hire, side="right")) - 1
    ramp = RAMP[min(q - hired_in, len(RAMP) - 1)] if hired_in >= 0 else 1.0
    active = (min(leave, ends[q]) - max(hire, starts[q])) / (ends[q] - starts[q])
    return ramp if hired_in == q or active >= 1 else ramp * active


def _team_at(org: Org, person: int, day: int) -> int:
    """The team someone belongs to on a day (the reorganisation moved a few pods)."""
    for sdr, pod, source, target in org.moved_pods:
        seat = org.seat
        members = {sdr} | {int(seat["occ0"][s]) for s in pod}
        if person in members:
            return target if day >= int(seat["move_day"][pod[0]]) else source
    return org.people[person].team


def _round(value: float, step: int) -> int:
    return round(value / step) * step * 100


def _roll_up(org: Org, rows: list[QuotaRow], starts: dict[str, int]) -> list[QuotaRow]:
    """Team, region and company quotas: the sum of their members' quotas (membership at quarter start)."""
    index = {p: i for i, p in enumerate(org.person_ids)}
    totals: dict[tuple[str, str, str], int] = defaultdict(int)
    for subject, _, measure, label, cents in rows:
        team = org.teams[_team_at(org, index[subject], starts[label])]
        for unit in (team.org_unit_id, org.region_ids[team.region], org.company_id):
            totals[(unit, measure, label)] += cents
    return [(unit, "org_unit", measure, label, cents) for (unit, measure, label), cents in totals.items()]


def _table(rows: list[QuotaRow]) -> pa.Table:
    subject, kind, measure, period, cents = (list(column) for column in zip(*rows, strict=True))
    return typed_table(
        "quotas",
        {
            "subject_id": pa.array(subject),
            "subject_kind": pa.array(kind),
            "measure": pa.array(measure),
            "period": pa.array(period),
            "amount": money(np.asarray(cents, dtype=np.int64)),
        },
        len(rows),
    )
