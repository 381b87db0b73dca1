"""Synthetic compensation data at any size: N payees on the demo plans and M credited transaction lines.

The calculation benchmark (`spm bench calc`, bench/calc.py) needs the demo's plans run over far more
people and lines than the demo company has. `generate_synthetic(payees, lines)` builds, with numpy
arrays and Arrow compute only (no Python loop per line or deal), one fiscal year of:

- an org of teams of twelve — a first-line manager, eight AEs, two SDRs and a solutions engineer —
  under directors (ten teams each) and a VP, so rollups have a management chain; 2 % of the AEs move
  to the next team on the first day of the third quarter (the chain is effective-dated);
- plan assignments on the demo plans (`demo.compensation`): AEs on `account_executive` (v1, then v2
  from its effective date), SDRs, SEs and managers on theirs;
- deals (one per eight lines) with revenue splits (10 % split 60/40 with a teammate) and the team's SE
  as an overlay on a fifth of them; `lines` transactions over the year: 85 % bookings on deals (3 % of
  those cancellations), 15 % renewals on the AE's accounts without a deal, 5 % in EUR;
- SDR first meetings (sixty per SDR and quarter, 45 % linked to a deal) and quarterly quotas set from
  what was realised, so attainment spreads around 100 % (AEs 67–143 %).

The same arguments always give the same tables. Every table has its canonical schema; plan assignments
have the calculation's `PLAN_ASSIGNMENTS` schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from openspm.demo.catalogue import PRODUCTS
from openspm.demo.columns import (
    US_PER_DAY,
    US_PER_MINUTE,
    Ints,
    bools,
    dates,
    day_number,
    decimal,
    money,
    pick,
    rng_for,
    timestamps,
    typed_table,
)
from openspm.demo.compensation import CURRENCY, ROLE_PLANS, plans_in_turn
from openspm.domain.canonical import ENTITIES
from openspm.domain.periods import FiscalCalendar, Period, PeriodKind
from openspm.engine.calc.inputs import plan_assignments_table

FISCAL_YEAR_START_MONTH = 2
TEAM_ROLES = ("manager", *("ae",) * 8, "sdr", "sdr", "se")
TEAMS_PER_DIRECTOR = 10
ACCOUNTS_PER_AE = 10
LINES_PER_DEAL = 8
RENEWAL_SHARE = 0.15
CANCELLATION_SHARE = 0.03
EUR_SHARE = 0.05
SPLIT_SHARE = 0.10
OVERLAY_SHARE = 0.20
MOVER_SHARE = 0.02
MEETINGS_PER_SDR_QUARTER = 60
MEETING_TO_DEAL = 0.45
ORG_START = date(2020, 1, 1)  # everyone was hired and assigned long before the year
#: Target incentive per year (USD): AEs by team (three tiers of territory), the other roles flat.
AE_TARGET_INCENTIVES = (55_000, 70_000, 90_000)
TARGET_INCENTIVES = {"sdr": 30_000, "se": 40_000, "manager": 60_000}


@dataclass(frozen=True)
class Synthetic:
    """Generated data: canonical tables (in load order), plan assignments and the year they cover."""

    tables: dict[str, pa.Table]
    plan_assignments: pa.Table
    year: Period
    payees: int
    lines: int

    def summary(self) -> dict[str, int]:
        counts = {name: table.num_rows for name, table in self.tables.items()}
        return counts | {"plan_assignments": self.plan_assignments.num_rows}


@dataclass(frozen=True)
class _Org:
    roles: np.ndarray  # role of each payee (object array of str)
    team: Ints  # team index of each payee
    directors: int
    aes: Ints  # payee index of each AE, in order
    sdrs: Ints
    ses_of_team: Ints  # payee index of each team's SE, -1 when the team has none
    teammate: Ints  # for each AE (by AE index): the AE index of a teammate (itself when alone)

    @property
    def people(self) -> int:
        return len(self.roles) + self.directors + 1  # payees, directors, the VP


def generate_synthetic(payees: int, lines: int, *, fiscal_year: int = 2026, seed: int = 7) -> Synthetic:
    """`payees` people on the demo plans and `lines` credited transactions over fiscal year `fiscal_year`."""
    if payees < len(TEAM_ROLES) or lines < 1:
        raise ValueError(f"need at least {len(TEAM_ROLES)} payees and one line, got {payees} and {lines}")
    year = FiscalCalendar(FISCAL_YEAR_START_MONTH).year(fiscal_year)
    org = _org(payees)
    person_ids = _ids("P", np.arange(1, org.people + 1), 7)
    deals = _deals(org, max(1, lines // LINES_PER_DEAL), year, seed)
    transactions, owner_ae, booked_usd, quarter = _transactions(org, deals, lines, year, seed)
    meetings = _activities(org, deals, year, seed)
    built = {
        "org_units": _org_units(org),
        "people": _people(person_ids),
        "assignments": _assignments(org, person_ids, year, seed),
        "territories": _territories(org, person_ids),
        "accounts": _accounts(org, person_ids),
        "products": _products(),
        "opportunities": _opportunities(deals, person_ids, org),
        "opportunity_history": typed_table("opportunity_history", {}, 0),
        "opportunity_splits": _splits(org, deals, person_ids, seed),
        "activities": _activity_table(meetings, person_ids, org),
        "transactions": _transaction_table(transactions, person_ids, org),
        "quotas": _quotas(org, person_ids, year, (owner_ae, booked_usd, quarter), meetings, deals, seed),
        "fx_rates": _fx_rates(year),
        "account_assignments": _account_assignments(org),
    }
    tables = {entity.name: built[entity.name] for entity in ENTITIES}
    return Synthetic(tables, _plan_assignments(org, person_ids, year), year, payees, lines)


# --- the org ----------------------------------------------------------------------------------------


def _org(payees: int) -> _Org:
    position = np.arange(payees) % len(TEAM_ROLES)
    roles = np.array(TEAM_ROLES, dtype=object)[position]
    team = np.arange(payees) // len(TEAM_ROLES)
    teams = int(team[-1]) + 1
    aes = np.flatnonzero(roles == "ae")
    ae_team = team[aes]
    first_ae = np.searchsorted(ae_team, np.arange(teams))
    ae_count = np.bincount(ae_team, minlength=teams)
    rank = np.arange(len(aes)) - first_ae[ae_team]
    teammate = first_ae[ae_team] + (rank + 1) % np.maximum(ae_count[ae_team], 1)
    ses = np.full(teams, -1, dtype=np.int64)
    se_index = np.flatnonzero(roles == "se")
    ses[team[se_index]] = se_index
    return _Org(
        roles=roles,
        team=team,
        directors=-(-teams // TEAMS_PER_DIRECTOR),
        aes=aes,
        sdrs=np.flatnonzero(roles == "sdr"),
        ses_of_team=ses,
        teammate=teammate,
    )


def _teams(org: _Org) -> int:
    return int(org.team[-1]) + 1


def _org_units(org: _Org) -> pa.Table:
    teams, directors = _teams(org), org.directors
    unit_ids = pa.concat_arrays(
        [
            pa.array(["ORG-SYN"]),
            _ids("ORG-R", np.arange(1, directors + 1), 4),
            _ids("ORG-T", np.arange(1, teams + 1), 5),
        ]
    )
    parents = pa.concat_arrays(
        [
            pa.nulls(1, pa.string()),
            pa.array(["ORG-SYN"] * directors),
            _ids("ORG-R", np.arange(teams) // TEAMS_PER_DIRECTOR + 1, 4),
        ]
    )
    kinds = pa.array(["company"] + ["region"] * directors + ["team"] * teams)
    return typed_table(
        "org_units",
        {"org_unit_id": unit_ids, "name": unit_ids, "kind": kinds, "parent_id": parents},
        len(unit_ids),
    )


def _team_ids(teams: Ints) -> pa.Array:
    return _ids("ORG-T", teams + 1, 5)


def _people(person_ids: pa.Array) -> pa.Table:
    n = len(person_ids)
    return typed_table(
        "people",
        {
            "person_id": person_ids,
            "name": pc.binary_join_element_wise("Payee ", person_ids, ""),
            "hire_date": dates(np.full(n, day_number(ORG_START), dtype=np.int64)),
        },
        n,
    )


def _assignments(org: _Org, person_ids: pa.Array, year: Period, seed: int) -> pa.Table:
    """Payees in their team under its manager; managers under directors; directors under the VP; movers."""
    payees, teams = len(org.roles), _teams(org)
    vp = org.people - 1
    director_of_team = payees + np.arange(teams) // TEAMS_PER_DIRECTOR
    manager = np.where(org.roles == "manager", director_of_team[org.team], org.team * len(TEAM_ROLES))
    rng = rng_for(seed, "synthetic:movers")
    movers = org.aes[rng.random(len(org.aes)) < MOVER_SHARE] if teams > 1 else np.array([], np.int64)
    move_day = day_number(year.start) + (year.end - year.start).days // 2
    move_day = day_number(
        FiscalCalendar(FISCAL_YEAR_START_MONTH).containing(_day(move_day), PeriodKind.QUARTER).start
    )
    new_team = (org.team[movers] + 1) % teams
    person = np.concatenate([np.arange(payees), np.arange(payees, vp), [vp], movers])
    unit = pa.concat_arrays(
        [
            _team_ids(org.team),
            _ids("ORG-R", np.arange(1, org.directors + 1), 4),
            pa.array(["ORG-SYN"]),
            _team_ids(new_team),
        ]
    )
    bosses = np.concatenate([manager, np.full(org.directors, vp), [-1], new_team * len(TEAM_ROLES)])
    roles = np.concatenate([org.roles, np.full(org.directors, "director", object), ["vp"], org.roles[movers]])
    n = len(person)
    start = np.full(n, day_number(ORG_START), dtype=np.int64)
    start[n - len(movers) :] = move_day
    end = np.zeros(n, dtype=np.int64)
    has_end = np.zeros(n, dtype=bool)
    end[movers] = move_day
    has_end[movers] = True
    return typed_table(
        "assignments",
        {
            "person_id": pc.take(person_ids, pa.array(person)),
            "role": pa.array(roles.tolist(), pa.string()),
            "org_unit_id": unit,
            "manager_id": pick(person_ids, bosses),
            "start_date": dates(start),
            "end_date": dates(end, has_end),
        },
        n,
    )


def _ids(prefix: str, numbers: Ints, width: int, valid: np.ndarray | None = None) -> pa.Array:
    """`prefix` + zero-padded number, as `columns.ids`, built from bytes at once (fast for 10M rows);
    null where `valid` is false."""
    n, size = len(numbers), len(prefix) + width
    text = np.empty((n, size), dtype=np.uint8)
    text[:, : len(prefix)] = np.frombuffer(prefix.encode(), dtype=np.uint8)
    rest = numbers.astype(np.int64)
    for column in range(size - 1, len(prefix) - 1, -1):
        text[:, column] = 48 + rest % 10
        rest //= 10
    offsets = np.arange(0, (n + 1) * size, size, dtype=np.int32)
    validity = None if valid is None else pa.array(valid, pa.bool_()).buffers()[1]
    buffers = [validity, pa.py_buffer(offsets), pa.py_buffer(text)]
    return pa.Array.from_buffers(pa.string(), n, buffers, null_count=-1)


def _day(number: int) -> date:
    return date(1970, 1, 1) + timedelta(days=number)


def _plan_assignments(org: _Org, person_ids: pa.Array, year: Period) -> pa.Table:
    """Every payee on their role's demo plan versions over the year (cut where a version ends)."""
    parts = []
    for role in ("ae", "sdr", "se", "manager"):
        people = np.flatnonzero(org.roles == role)
        if role == "ae":
            ti = np.asarray(AE_TARGET_INCENTIVES, dtype=np.int64)[org.team[people] % 3]
        else:
            ti = np.full(len(people), TARGET_INCENTIVES[role], dtype=np.int64)
        for plan in plans_in_turn(ROLE_PLANS[role]):
            start = max(year.start, plan.effective_from)
            end = plan.effective_to
            if start >= year.end or (end is not None and end <= start):
                continue
            n = len(people)
            parts.append(
                plan_assignments_table(
                    pa.table(
                        {
                            "person_id": pc.take(person_ids, pa.array(people)),
                            "plan": pa.repeat(pa.scalar(plan.name), n),
                            "version": pa.repeat(pa.scalar(plan.version, pa.int32()), n),
                            "start_date": pa.repeat(pa.scalar(start, pa.date32()), n),
                            "end_date": pa.repeat(pa.scalar(end, pa.date32()), n),
                            "target_incentive": money(ti * 100),
                            "currency": pa.repeat(pa.scalar(CURRENCY), n),
                        }
                    )
                )
            )
    return pa.concat_tables(parts).combine_chunks()


# --- accounts, territories, products ----------------------------------------------------------------


def _accounts(org: _Org, person_ids: pa.Array) -> pa.Table:
    n = len(org.aes) * ACCOUNTS_PER_AE
    account_ids = _ids("A", np.arange(1, n + 1), 8)
    owners = org.aes[np.arange(n) // ACCOUNTS_PER_AE]
    return typed_table(
        "accounts",
        {"account_id": account_ids, "name": account_ids, "owner_id": pc.take(person_ids, pa.array(owners))},
        n,
    )


def _territories(org: _Org, person_ids: pa.Array) -> pa.Table:
    n = len(org.aes)
    territory_ids = _ids("TER", np.arange(1, n + 1), 7)
    return typed_table(
        "territories",
        {
            "territory_id": territory_ids,
            "name": territory_ids,
            "owner_id": pc.take(person_ids, pa.array(org.aes)),
        },
        n,
    )


def _account_assignments(org: _Org) -> pa.Table:
    n = len(org.aes) * ACCOUNTS_PER_AE
    return typed_table(
        "account_assignments",
        {
            "account_id": _ids("A", np.arange(1, n + 1), 8),
            "territory_id": _ids("TER", np.arange(n) // ACCOUNTS_PER_AE + 1, 7),
            "start_date": dates(np.full(n, day_number(ORG_START), dtype=np.int64)),
        },
        n,
    )


def _products() -> pa.Table:
    return typed_table(
        "products",
        {
            "product_id": pa.array([p.product_id for p in PRODUCTS]),
            "name": pa.array([p.name for p in PRODUCTS]),
            "family": pa.array([p.family for p in PRODUCTS]),
            "list_price": money(np.array([p.list_price * 100 for p in PRODUCTS], dtype=np.int64)),
        },
        len(PRODUCTS),
    )


# --- deals and transactions -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Deals:
    ae: Ints  # AE index (into org.aes) of the owner
    account: Ints
    product: Ints
    cents: Ints
    created: Ints  # day numbers
    close: Ints
    eur: np.ndarray  # booked in EUR


def _deals(org: _Org, count: int, year: Period, seed: int) -> _Deals:
    rng = rng_for(seed, "synthetic:deals")
    first, last = day_number(year.start), day_number(year.end)
    created = rng.integers(first - 90, last - 30, count)
    ae = rng.integers(0, len(org.aes), count)
    return _Deals(
        ae=ae,
        account=ae * ACCOUNTS_PER_AE + rng.integers(0, ACCOUNTS_PER_AE, count),
        product=rng.integers(0, len(PRODUCTS), count),
        cents=np.round(rng.lognormal(np.log(20_000), 0.8, count) * 100).astype(np.int64),
        created=created,
        close=np.minimum(created + rng.integers(20, 120, count), last - 1),
        eur=rng.random(count) < EUR_SHARE,
    )


def _opportunities(deals: _Deals, person_ids: pa.Array, org: _Org) -> pa.Table:
    n = len(deals.ae)
    deal_ids = _ids("O", np.arange(1, n + 1), 8)
    return typed_table(
        "opportunities",
        {
            "opportunity_id": deal_ids,
            "account_id": _ids("A", deals.account + 1, 8),
            "owner_id": pc.take(person_ids, pa.array(org.aes[deals.ae])),
            "amount": money(deals.cents),
            "currency": pick(["USD", "EUR"], deals.eur.astype(np.int64)),
            "stage": pa.repeat(pa.scalar("Closed Won"), n),
            "created_date": dates(deals.created),
            "close_date": dates(deals.close),
            "is_closed": bools(np.ones(n, dtype=bool)),
            "is_won": bools(np.ones(n, dtype=bool)),
            "product_id": pick([p.product_id for p in PRODUCTS], deals.product),
            "forecast_category": pa.repeat(pa.scalar("Closed"), n),
        },
        n,
    )


def _splits(org: _Org, deals: _Deals, person_ids: pa.Array, seed: int) -> pa.Table:
    """The owner at 100 % revenue (or 60/40 with a teammate), and the team's SE as a 100 % overlay."""
    rng = rng_for(seed, "synthetic:splits")
    n = len(deals.ae)
    teammate = org.teammate[deals.ae]
    split = (rng.random(n) < SPLIT_SHARE) & (teammate != deals.ae)
    se = org.ses_of_team[org.team[org.aes[deals.ae]]]
    overlay = (rng.random(n) < OVERLAY_SHARE) & (se >= 0)
    deal = np.concatenate([np.arange(n), np.flatnonzero(split), np.flatnonzero(overlay)])
    person = np.concatenate([org.aes[deals.ae], org.aes[teammate[split]], se[overlay]])
    percent = np.concatenate(
        [np.where(split, 60, 100), np.full(int(split.sum()), 40), np.full(int(overlay.sum()), 100)]
    )
    kind = np.concatenate([np.zeros(n + int(split.sum()), np.int64), np.ones(int(overlay.sum()), np.int64)])
    order = np.argsort(deal, kind="stable")
    return typed_table(
        "opportunity_splits",
        {
            "opportunity_id": _ids("O", deal[order] + 1, 8),
            "person_id": pc.take(person_ids, pa.array(person[order])),
            "percent": decimal(percent[order], 0),
            "kind": pick(["revenue", "overlay"], kind[order]),
        },
        len(deal),
    )


@dataclass(frozen=True)
class _Lines:
    day: Ints
    deal: Ints  # -1: a renewal on an account
    ae: Ints  # AE index of the owner
    account: Ints
    product: Ints
    kind: Ints  # 0 booking, 1 cancellation, 2 renewal
    cents: Ints
    eur: np.ndarray


KINDS = ("booking", "cancellation", "renewal")


def _transactions(
    org: _Org, deals: _Deals, count: int, year: Period, seed: int
) -> tuple[_Lines, Ints, Ints, Ints]:
    """The lines (sorted by date) and, per line, the owner's AE index, USD cents and fiscal quarter 0–3."""
    rng = rng_for(seed, "synthetic:transactions")
    first, last = day_number(year.start), day_number(year.end)
    day = np.sort(rng.integers(first, last, count))
    renewal = rng.random(count) < RENEWAL_SHARE
    deal = np.where(renewal, -1, rng.integers(0, len(deals.ae), count))
    on_deal = np.maximum(deal, 0)
    ae = np.where(renewal, rng.integers(0, len(org.aes), count), deals.ae[on_deal])
    cancelled = ~renewal & (rng.random(count) < CANCELLATION_SHARE)
    base = np.round(rng.lognormal(np.log(2_500), 0.9, count) * 100).astype(np.int64)
    cents = np.where(cancelled, -base // 2, base)
    lines = _Lines(
        day=day,
        deal=deal,
        ae=ae,
        account=np.where(
            renewal, ae * ACCOUNTS_PER_AE + rng.integers(0, ACCOUNTS_PER_AE, count), deals.account[on_deal]
        ),
        product=np.where(renewal, rng.integers(0, 6, count), deals.product[on_deal]),
        kind=np.where(renewal, 2, cancelled.astype(np.int64)),
        cents=cents,
        eur=np.where(renewal, False, deals.eur[on_deal]),
    )
    return lines, ae, np.where(lines.kind == 2, 0, cents), _quarter(day, year)


def _quarter(days: Ints, year: Period) -> Ints:
    """The fiscal quarter (0–3) of each day of `year`."""
    calendar = FiscalCalendar(FISCAL_YEAR_START_MONTH)
    fiscal_year = int(year.label[2:])
    starts = np.array([day_number(calendar.quarter(fiscal_year, q).start) for q in (2, 3, 4)])
    return np.searchsorted(starts, days, side="right").astype(np.int64)


def _deal_ids(deal: Ints) -> pa.Array:
    """Opportunity ids of deal indexes; null where the index is -1."""
    return _ids("O", deal + 1, 8, deal >= 0)


def _transaction_table(lines: _Lines, person_ids: pa.Array, org: _Org) -> pa.Table:
    n = len(lines.day)
    return typed_table(
        "transactions",
        {
            "transaction_id": _ids("T", np.arange(1, n + 1), 9),
            "kind": pick(KINDS, lines.kind),
            "date": dates(lines.day),
            "amount": money(lines.cents),
            "currency": pick(["USD", "EUR"], lines.eur.astype(np.int64)),
            "opportunity_id": _deal_ids(lines.deal),
            "account_id": _ids("A", lines.account + 1, 8),
            "product_id": pick([p.product_id for p in PRODUCTS], lines.product),
            "owner_id": _ids("P", org.aes[lines.ae] + 1, 7),  # as person_ids, without a 10M-row take
        },
        n,
    )


# --- SDR activities, quotas, FX ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Meetings:
    sdr: Ints  # SDR index (into org.sdrs)
    day: Ints
    deal: Ints  # -1: not linked to a deal
    quarter: Ints


def _activities(org: _Org, deals: _Deals, year: Period, seed: int) -> _Meetings:
    rng = rng_for(seed, "synthetic:meetings")
    n = len(org.sdrs) * MEETINGS_PER_SDR_QUARTER * 4
    day = np.sort(rng.integers(day_number(year.start), day_number(year.end), n))
    linked = rng.random(n) < MEETING_TO_DEAL
    return _Meetings(
        sdr=rng.integers(0, max(len(org.sdrs), 1), n),
        day=day,
        deal=np.where(linked, rng.integers(0, len(deals.ae), n), -1),
        quarter=_quarter(day, year),
    )


def _activity_table(meetings: _Meetings, person_ids: pa.Array, org: _Org) -> pa.Table:
    n = len(meetings.day)
    minute = 8 * 60 + (np.arange(n) * 7919) % (9 * 60)  # a working-hours time of day, deterministic
    micros = meetings.day * US_PER_DAY + minute * US_PER_MINUTE
    return typed_table(
        "activities",
        {
            "activity_id": _ids("ACT", np.arange(1, n + 1), 9),
            "person_id": pc.take(person_ids, pa.array(org.sdrs[meetings.sdr])),
            "type": pa.repeat(pa.scalar("meeting"), n),
            "occurred_at": timestamps(micros),
            "duration_minutes": pa.array(np.full(n, 30.0)),
            "opportunity_id": _deal_ids(meetings.deal),
            "outcome": pa.repeat(pa.scalar("first_meeting"), n),
        },
        n,
    )


def _quotas(  # noqa: PLR0917 - the realised facts quotas are set from
    org: _Org,
    person_ids: pa.Array,
    year: Period,
    booked: tuple[Ints, Ints, Ints],
    meetings: _Meetings,
    deals: _Deals,
    seed: int,
) -> pa.Table:
    """Quarterly quotas from what was realised, each person's ambition drawn once (AEs 67–143 %)."""
    rng = rng_for(seed, "synthetic:quotas")
    ae_count, sdr_count = len(org.aes), len(org.sdrs)
    owner_ae, cents, quarter = booked
    realised = np.bincount(owner_ae * 4 + quarter, weights=cents, minlength=ae_count * 4)
    ae_quota = _rounded(realised.reshape(ae_count, 4) * rng.uniform(0.7, 1.5, (ae_count, 1)), 100_000)
    team_quota = np.zeros((_teams(org), 4))
    np.add.at(team_quota, org.team[org.aes], ae_quota)
    managers = np.flatnonzero(org.roles == "manager")
    ambition = rng.uniform(0.8, 1.3, (sdr_count, 1))
    held = np.bincount(meetings.sdr * 4 + meetings.quarter, minlength=sdr_count * 4).reshape(sdr_count, 4)
    linked = meetings.deal >= 0
    created = np.bincount(
        meetings.sdr[linked] * 4 + meetings.quarter[linked],
        weights=deals.cents[meetings.deal[linked]],
        minlength=sdr_count * 4,
    ).reshape(sdr_count, 4)
    parts = (  # (people, measure, quarterly amounts in cents, the least a quota may be)
        (org.aes, "bookings", ae_quota, 100_000),
        (managers, "bookings", team_quota[org.team[managers]], 100_000),
        (org.sdrs, "meetings", np.round(held * ambition) * 100, 100),
        (org.sdrs, "pipeline_created", _rounded(created * ambition, 500_000), 500_000),
    )
    subjects = np.concatenate([np.repeat(people, 4) for people, *_ in parts])
    measures = [measure for people, measure, *_ in parts for _ in range(len(people) * 4)]
    amounts = np.concatenate([np.maximum(a, least).reshape(-1) for _, _, a, least in parts])
    labels = [f"{year.label[2:]}-Q{q}" for q in (1, 2, 3, 4)]
    n = len(subjects)
    return typed_table(
        "quotas",
        {
            "subject_id": pc.take(person_ids, pa.array(subjects)),
            "subject_kind": pa.repeat(pa.scalar("person"), n),
            "measure": pa.array(measures),
            "period": pa.array(labels * (n // 4)),
            "amount": money(amounts.astype(np.int64)),
        },
        n,
    )


def _rounded(cents: np.ndarray, step: int) -> np.ndarray:
    return np.round(cents / step) * step


def _fx_rates(year: Period) -> pa.Table:
    """Monthly EUR (and GBP, unused) rates from a month before the year."""
    months = np.arange(np.datetime64(year.start, "M") - 1, np.datetime64(year.end, "M"))
    days = months.astype("datetime64[D]").astype(np.int64)
    n = len(days)
    wobble = (np.arange(n) % 5) * 50_000  # 0.0000 … 0.0200 in 1e-7 units
    eur = 10_800_000 + wobble
    gbp = 12_700_000 + wobble
    return typed_table(
        "fx_rates",
        {
            "currency": pa.array(["EUR"] * n + ["GBP"] * n),
            "date": dates(np.concatenate([days, days])),
            "rate": decimal(np.concatenate([eur, gbp]), 7),
        },
        2 * n,
    )
