"""The sales organisation: org units, people, effective-dated assignments, AE seats and SDR pods.

An AE *seat* is a position with a territory: its occupant can change (a leaver is replaced, new
headcount is filled mid-year) and so can its team and territory (the reorganisation moves a pod —
one SDR and the AEs it supports — to another team, and their accounts to new territories).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from openspm.demo.catalogue import (
    COMPANY_NAME,
    EMAIL_DOMAIN,
    FIRST_NAMES,
    LAST_NAMES,
    REGIONS,
    SEGMENTS,
    TEAM_SEGMENTS,
)
from openspm.demo.columns import NEVER, Bools, Floats, Ints, day_number, rng_for, typed_table
from openspm.demo.timeline import Timeline

SEGMENT_CODES = ("SMB", "MM", "ENT")
VACANT = -1


@dataclass(frozen=True)
class Team:
    index: int
    region: int
    segment: int
    org_unit_id: str
    name: str
    manager: int  # person index


@dataclass
class Person:
    role: str
    region: int = -1
    team: int = -1
    hire: date | None = None
    leaves: date | None = None  # first day no longer employed


@dataclass
class Seats:
    """Per AE seat: occupant before/after `occ_switch`, team and territory before/after `move_day`."""

    occ0: list[int] = field(default_factory=list)
    occ1: list[int] = field(default_factory=list)
    occ_switch: list[int] = field(default_factory=list)
    team0: list[int] = field(default_factory=list)
    team1: list[int] = field(default_factory=list)
    move_day: list[int] = field(default_factory=list)
    sdr: list[int] = field(default_factory=list)  # the SDR who books first meetings for the seat

    def add(self, occupant: int, team: int, *, occ1: int | None = None, switch: int = NEVER) -> int:
        self.occ0.append(occupant)
        self.occ1.append(occupant if occ1 is None else occ1)
        self.occ_switch.append(switch)
        self.team0.append(team)
        self.team1.append(team)
        self.move_day.append(NEVER)
        self.sdr.append(VACANT)
        return len(self.occ0) - 1

    def arrays(self) -> dict[str, Ints]:
        return {
            name: np.asarray(getattr(self, name), dtype=np.int64)
            for name in ("occ0", "occ1", "occ_switch", "team0", "team1", "move_day", "sdr")
        }


@dataclass(frozen=True)
class Org:
    people: list[Person]
    person_ids: list[str]
    names: list[str]
    teams: list[Team]
    region_ids: list[str]
    company_id: str
    directors: list[int]
    vp: int
    revops: int
    seat: dict[str, Ints]  # Seats.arrays()
    ses_by_region: list[list[int]]
    discipline: Floats  # per person: how reliably an AE runs discovery and sets next steps
    meeting_rate: Floats  # per person: first meetings an SDR books per working day
    is_gaming: Bools
    moved_pods: list[tuple[int, list[int], int, int]]  # (sdr, seats, from team, to team)
    leavers: list[tuple[int, int, int]]  # (leaver, replacement, seat)
    expansions: list[tuple[int, int]]  # (hire, seat)
    tables: dict[str, pa.Table]

    @property
    def hire_day(self) -> Ints:
        return np.array([day_number(p.hire) if p.hire else -NEVER for p in self.people], dtype=np.int64)

    @property
    def end_day(self) -> Ints:
        return np.array([day_number(p.leaves) if p.leaves else NEVER for p in self.people], dtype=np.int64)

    @property
    def roles(self) -> list[str]:
        return [p.role for p in self.people]

    def occupant(self, seats: Ints, days: Ints) -> Ints:
        s = self.seat
        return np.where(days < s["occ_switch"][seats], s["occ0"][seats], s["occ1"][seats])

    def seat_team(self, seats: Ints, days: Ints) -> Ints:
        s = self.seat
        return np.where(days < s["move_day"][seats], s["team0"][seats], s["team1"][seats])


def _names(count: int, rng: np.random.Generator) -> list[str]:
    combos = rng.permutation(len(FIRST_NAMES) * len(LAST_NAMES))
    return [f"{FIRST_NAMES[c // len(LAST_NAMES)]} {LAST_NAMES[c % len(LAST_NAMES)]}" for c in combos[:count]]


def _emails(names: list[str]) -> list[str]:
    return [name.lower().replace("'", "").replace(" ", ".") + "@" + EMAIL_DOMAIN for name in names]


def _choose_special_teams(teams: list[Team], scale: float, rng: np.random.Generator) -> dict[str, list[int]]:
    """Teams for the reorganisation (pairs in one region and segment), leavers and expansion hires."""
    pods = max(1, round(scale))
    order = [int(i) for i in rng.permutation(len(teams))]
    used: set[int] = set()
    sources: list[int] = []
    targets: list[int] = []
    for _ in range(pods):
        pair = next(
            (
                (a, b)
                for a in order
                for b in order
                if a != b
                and not {a, b} & used
                and teams[a].region == teams[b].region
                and teams[a].segment == teams[b].segment
            ),
            None,
        )
        if pair is None:
            pair = next(((a, b) for a in order for b in order if a != b and not {a, b} & used), None)
        if pair is None:
            break
        sources.append(pair[0])
        targets.append(pair[1])
        used.update(pair)
    rest = [t for t in order if t not in used] or order
    leavers = max(1, round(scale))
    hires = max(leavers + 1, round(2 * scale))
    picked = [rest[i % len(rest)] for i in range(hires)]
    return {"from": sources, "to": targets, "leave": picked[:leavers], "expand": picked[leavers:]}


def build_org(scale: float, seed: int, timeline: Timeline) -> Org:
    rng = rng_for(seed, "org")
    people, directors, teams = _leadership(scale)
    seats, sdrs_of_team = _staff_teams(people, teams)
    ses_by_region = []
    for r in range(len(REGIONS)):
        count = max(1, round(2 * scale))
        ses_by_region.append(list(range(len(people), len(people) + count)))
        people += [Person("se", region=r) for _ in range(count)]
    special = _choose_special_teams(teams, scale, rng)
    leavers, expansions = _hire_and_leave(people, seats, teams, special, timeline)
    _assign_pods(seats, sdrs_of_team)
    moved_pods = _move_pods(people, seats, sdrs_of_team, special, timeline=timeline, rng=rng)
    _set_hire_dates(people, timeline, rng)
    names = _names(len(people), rng)
    notable = {sdr for sdr, _, _, _ in moved_pods} | {
        seats.occ0[s] for _, pod, _, _ in moved_pods for s in pod
    }
    notable |= {p for trio in leavers for p in trio[:2]} | {hire for hire, _ in expansions}
    discipline, meeting_rate, is_gaming = _behaviour(people, scale, notable, rng)
    org = Org(
        people=people,
        person_ids=[f"P{i + 1:05d}" for i in range(len(people))],
        names=names,
        teams=teams,
        region_ids=[f"ORG-{r.code}" for r in REGIONS],
        company_id="ORG-COBALT",
        directors=directors,
        vp=0,
        revops=1,
        seat=seats.arrays(),
        ses_by_region=ses_by_region,
        discipline=discipline,
        meeting_rate=meeting_rate,
        is_gaming=is_gaming,
        moved_pods=moved_pods,
        leavers=leavers,
        expansions=expansions,
        tables={},
    )
    org.tables.update(_org_tables(org, timeline))
    return org


def _leadership(scale: float) -> tuple[list[Person], list[int], list[Team]]:
    """The VP and RevOps, a director per region, and a manager per team (teams cycle through segments)."""
    people: list[Person] = [Person("vp"), Person("revops")]
    directors = []
    for r in range(len(REGIONS)):
        directors.append(len(people))
        people.append(Person("director", region=r))
    teams: list[Team] = []
    counters: dict[tuple[int, int], int] = {}
    for r, region in enumerate(REGIONS):
        for k in range(max(1, round(4 * scale))):
            segment = TEAM_SEGMENTS[k % len(TEAM_SEGMENTS)]
            number = counters[(r, segment)] = counters.get((r, segment), 0) + 1
            unit = f"ORG-{region.code}-{SEGMENT_CODES[segment]}-{number}"
            name = f"{region.code} {SEGMENTS[segment].name} {number}"
            teams.append(Team(len(teams), r, segment, unit, name, manager=len(people)))
            people.append(Person("manager", region=r, team=len(teams) - 1))
    return people, directors, teams


def _staff_teams(people: list[Person], teams: list[Team]) -> tuple[Seats, list[list[int]]]:
    """Ten quota carriers per team: 8 AEs and 2 SDRs or 7 and 3, alternately."""
    seats = Seats()
    sdrs_of_team: list[list[int]] = []
    for team in teams:
        aes = 8 if team.index % 2 == 0 else 7
        for _ in range(aes):
            seats.add(len(people), team.index)
            people.append(Person("ae", team.region, team.index))
        sdrs_of_team.append(list(range(len(people), len(people) + 10 - aes)))
        people += [Person("sdr", team.region, team.index) for _ in range(10 - aes)]
    return seats, sdrs_of_team


def _hire_and_leave(
    people: list[Person], seats: Seats, teams: list[Team], special: dict[str, list[int]], timeline: Timeline
) -> tuple[list[tuple[int, int, int]], list[tuple[int, int]]]:
    leavers = []
    for team in special["leave"]:
        seat = next(
            s for s in range(len(seats.occ0)) if seats.team0[s] == team and seats.occ1[s] == seats.occ0[s]
        )
        leaver = seats.occ0[seat]
        hire = len(people)
        people.append(Person("ae", teams[team].region, team, hire=timeline.replacement_date))
        people[leaver].leaves = timeline.replacement_date
        seats.occ1[seat] = hire
        seats.occ_switch[seat] = day_number(timeline.replacement_date)
        leavers.append((leaver, hire, seat))
    expansions = []
    for team in special["expand"]:
        hire = len(people)
        people.append(Person("ae", teams[team].region, team, hire=timeline.expansion_date))
        seat = seats.add(VACANT, team, occ1=hire, switch=day_number(timeline.expansion_date))
        expansions.append((hire, seat))
    return leavers, expansions


def _assign_pods(seats: Seats, sdrs_of_team: list[list[int]]) -> None:
    position: dict[int, int] = {}
    for s, team in enumerate(seats.team0):
        k = position[team] = position.get(team, -1) + 1
        seats.sdr[s] = sdrs_of_team[team][k % len(sdrs_of_team[team])]


def _move_pods(
    people: list[Person],
    seats: Seats,
    sdrs_of_team: list[list[int]],
    special: dict[str, list[int]],
    *,
    timeline: Timeline,
    rng: np.random.Generator,
) -> list[tuple[int, list[int], int, int]]:
    """The reorganisation: one pod per chosen team moves, with its accounts, to the paired team."""
    moved = []
    changed = {s for s in range(len(seats.occ0)) if seats.occ0[s] != seats.occ1[s]}
    for source, target in zip(special["from"], special["to"], strict=True):
        candidates = [
            sdr
            for sdr in sdrs_of_team[source]
            if not any(seats.sdr[s] == sdr and s in changed for s in range(len(seats.sdr)))
        ]
        if not candidates:
            continue
        sdr = candidates[int(rng.integers(len(candidates)))]
        pod = [s for s in range(len(seats.sdr)) if seats.sdr[s] == sdr]
        for s in pod:
            seats.team1[s] = target
            seats.move_day[s] = day_number(timeline.reorg_date)
        moved.append((sdr, pod, source, target))
    return moved


def _set_hire_dates(people: list[Person], timeline: Timeline, rng: np.random.Generator) -> None:
    tenure_days = rng.integers(60, 2600, size=len(people))
    for person, days in zip(people, tenure_days, strict=True):
        if person.hire is None:
            person.hire = timeline.burn_start - timedelta(days=int(days))


def _behaviour(
    people: list[Person], scale: float, notable: set[int], rng: np.random.Generator
) -> tuple[Floats, Floats, Bools]:
    """Each rep's habits; a few reps game their activity counts (chosen among the unremarkable ones)."""
    n = len(people)
    discipline = rng.beta(2.0, 2.0, size=n)
    meeting_rate = 0.9 * rng.lognormal(0.0, 0.4, size=n)
    gaming_count = max(1, round(3 * scale))
    sdr_pool = [i for i, p in enumerate(people) if p.role == "sdr" and i not in notable]
    ae_pool = [i for i, p in enumerate(people) if p.role == "ae" and i not in notable]
    sdr_count = min(len(sdr_pool), max(1, round(gaming_count * 2 / 3)))
    gaming = list(rng.choice(sdr_pool, size=sdr_count, replace=False))
    gaming += list(rng.choice(ae_pool, size=min(len(ae_pool), gaming_count - sdr_count), replace=False))
    is_gaming = np.zeros(n, dtype=np.bool_)
    is_gaming[np.asarray(gaming, dtype=np.int64)] = True
    discipline[is_gaming] = 0.05  # gamers skip the work that wins deals
    meeting_rate[is_gaming] *= 0.5
    return discipline, meeting_rate, is_gaming


def _org_tables(org: Org, timeline: Timeline) -> dict[str, pa.Table]:
    units: list[tuple[object, ...]] = [(org.company_id, COMPANY_NAME, "company", None)]
    units += [
        (rid, f"{REGIONS[r].code} — {REGIONS[r].name}", "region", org.company_id)
        for r, rid in enumerate(org.region_ids)
    ]
    units += [(t.org_unit_id, t.name, "team", org.region_ids[t.region]) for t in org.teams]
    people = org.people
    hires = [p.hire for p in people]
    leaves = [p.leaves - timedelta(days=1) if p.leaves else None for p in people]  # last day employed
    return {
        "org_units": _rows_table("org_units", ("org_unit_id", "name", "kind", "parent_id"), units),
        "people": typed_table(
            "people",
            {
                "person_id": pa.array(org.person_ids),
                "name": pa.array(org.names),
                "email": pa.array(_emails(org.names)),
                "hire_date": pa.array(hires, pa.date32()),
                "termination_date": pa.array(leaves, pa.date32()),
                "employee_number": pa.array([f"E{10001 + i}" for i in range(len(people))]),
            },
            len(people),
        ),
        "assignments": _rows_table(
            "assignments",
            ("person_id", "role", "org_unit_id", "manager_id", "start_date", "end_date"),
            _assignments(org, timeline),
        ),
    }


def _rows_table(entity: str, names: tuple[str, ...], rows: list[tuple[object, ...]]) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    schema = {f.name: f.type for f in typed_table(entity, {}, 0).schema}
    arrays = {name: pa.array(list(values), schema[name]) for name, values in zip(names, columns, strict=True)}
    return typed_table(entity, arrays, len(rows))


def _assignments(org: Org, timeline: Timeline) -> list[tuple[object, ...]]:
    ids = org.person_ids
    rows: list[tuple[object, ...]] = []
    reorg = {
        seat_person: (source, target)
        for _, pod, source, target in org.moved_pods
        for seat_person in [int(org.seat["occ0"][s]) for s in pod]
    }
    reorg |= {sdr: (source, target) for sdr, _, source, target in org.moved_pods}
    for i, person in enumerate(org.people):
        unit, manager = _unit_and_manager(org, i)
        if i in reorg:
            source, target = reorg[i]
            rows.append(
                (
                    ids[i],
                    person.role,
                    org.teams[source].org_unit_id,
                    ids[org.teams[source].manager],
                    person.hire,
                    timeline.reorg_date,
                )
            )
            rows.append(
                (
                    ids[i],
                    person.role,
                    org.teams[target].org_unit_id,
                    ids[org.teams[target].manager],
                    timeline.reorg_date,
                    person.leaves,
                )
            )
        else:
            rows.append((ids[i], person.role, unit, manager, person.hire, person.leaves))
    return rows


def _unit_and_manager(org: Org, i: int) -> tuple[str, str | None]:
    person = org.people[i]
    if person.role in ("vp", "revops"):
        return org.company_id, None if person.role == "vp" else org.person_ids[org.vp]
    if person.role in ("director", "se"):
        boss = org.vp if person.role == "director" else org.directors[person.region]
        return org.region_ids[person.region], org.person_ids[boss]
    team = org.teams[person.team]
    if person.role == "manager":
        return team.org_unit_id, org.person_ids[org.directors[team.region]]
    return team.org_unit_id, org.person_ids[team.manager]
