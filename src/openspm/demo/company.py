"""`generate_company`: the steps that build the demo company, in order, and what they planted."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from openspm.demo.activities import build_activities
from openspm.demo.catalogue import (
    BASE_CURRENCY,
    COMPANY_NAME,
    EXIT_EVIDENCE,
    FISCAL_YEAR_START_MONTH,
    PRODUCTS,
    REGIONS,
    STAGES,
)
from openspm.demo.columns import money, to_date, typed_table
from openspm.demo.deals import (
    MAX_PUSHES,
    PUSHES,
    STUCK_MIN_DAYS,
    STUCK_SHARE,
    WIN_WITH_EVIDENCE,
    WIN_WITHOUT_EVIDENCE,
    Deals,
    build_deals,
)
from openspm.demo.fx import CURRENCIES, build_fx
from openspm.demo.opportunities import build_opportunity_tables, opportunity_ids
from openspm.demo.org import Org, build_org
from openspm.demo.pipeline import FIRST_MEETING_CONVERSION, open_deals
from openspm.demo.quotas import GROWTH, RAMP, build_quotas
from openspm.demo.splits import build_splits
from openspm.demo.territories import Territories, build_territories, territory_ids
from openspm.demo.timeline import DEFAULT_TODAY, QUOTA_WEIGHTS, SEASONALITY, Timeline, build_timeline
from openspm.demo.transactions import Booked, build_transactions
from openspm.domain.canonical import ENTITIES


@dataclass(frozen=True)
class DemoCompany:
    """The generated company: one typed table per canonical entity, and what was planted in it."""

    tables: dict[str, pa.Table]
    facts: dict[str, Any]

    def summary(self) -> dict[str, int]:
        """Row count of every table, in load order."""
        return {name: table.num_rows for name, table in self.tables.items()}

    def fingerprint(self) -> str:
        """SHA-256 of every table's Arrow IPC stream, in load order: equal tables, equal fingerprint."""
        digest = hashlib.sha256()
        for name, table in self.tables.items():
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, table.schema) as writer:
                writer.write_table(table)
            digest.update(name.encode())
            digest.update(sink.getvalue().to_pybytes())
        return digest.hexdigest()


def generate_company(scale: float = 1.0, seed: int = 2025, *, today: date | None = None) -> DemoCompany:
    """The demo company at `scale` (1 ≈ 120 reps, 6,000 accounts), the same for the same arguments.

    Two fiscal years (starting in February) run up to `today` (default 2025-10-15, never the clock);
    open deals close after it. Pure: no I/O, no database.
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    timeline = build_timeline(today or DEFAULT_TODAY)
    org = build_org(scale, seed, timeline)
    terr = build_territories(org, scale, seed, timeline)
    fx = build_fx(seed, timeline)
    openings, meetings = open_deals(org, terr, timeline, seed)
    deals = build_deals(org, terr, fx, openings, timeline=timeline, seed=seed)
    account_names = terr.tables["accounts"]["name"].combine_chunks()
    opportunities, history, evidence = build_opportunity_tables(org, deals, account_names, timeline, seed)
    splits, split, overlay = build_splits(org, deals, seed)
    activities = build_activities(org, terr, deals, meetings, overlay=overlay, timeline=timeline, seed=seed)
    booked = build_transactions(org, terr, deals, timeline, seed)
    quotas, targets = build_quotas(org, deals, meetings, fx, timeline)
    built = {
        **org.tables,
        **terr.tables,
        "products": _products(),
        "opportunities": opportunities,
        "opportunity_history": history,
        "opportunity_splits": splits,
        "activities": activities,
        "transactions": booked.table,
        "quotas": quotas,
        "fx_rates": fx.table(),
    }
    tables = {entity.name: built[entity.name] for entity in ENTITIES}
    facts = _facts(
        scale, seed, timeline=timeline, org=org, terr=terr, deals=deals, booked=booked, tables=tables
    )
    facts["evidence_share"] = {name: round(float(flags.mean()), 3) for name, flags in evidence.items()}
    facts["split_opportunity_ids"] = _opportunity_list(split)
    facts["overlay_opportunity_count"] = int((overlay >= 0).sum())
    facts["quota_targets"] = targets
    return DemoCompany(tables, facts)


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


def _opportunity_list(mask: np.ndarray) -> list[str]:
    return list(opportunity_ids(np.flatnonzero(mask).astype(np.int64)).to_pylist())


def _facts(
    scale: float,
    seed: int,
    *,
    timeline: Timeline,
    org: Org,
    terr: Territories,
    deals: Deals,
    booked: Booked,
    tables: dict[str, pa.Table],
) -> dict[str, Any]:
    today = timeline.today_n
    reached = np.where(deals.is_closed, deals.final_stage, deals.stage_now(today))
    visible_skip = (deals.skipped >= 0) & (reached > deals.skipped)  # the deal got past the stage it skipped
    ids = org.person_ids
    return {
        "company_name": COMPANY_NAME,
        "scale": scale,
        "seed": seed,
        "today": timeline.today,
        "fiscal_year_start_month": FISCAL_YEAR_START_MONTH,
        "fiscal_years": [f"FY{fy}" for fy in timeline.fiscal_years],
        "quarters": [q.label for q in timeline.quarters],
        "data_start": timeline.data_start,
        "base_currency": BASE_CURRENCY,
        "currencies": list(CURRENCIES),
        "stages": [
            {"name": s.name, "probability": s.probability, "forecast_category": s.forecast_category}
            for s in STAGES
        ],
        "exit_evidence": dict(EXIT_EVIDENCE),
        "people": _people(org),
        "gaming_rep_ids": [ids[p] for p in np.flatnonzero(org.is_gaming)],
        "stuck_opportunity_ids": _opportunity_list(deals.is_stuck),
        "skipped_stage_opportunity_ids": _opportunity_list(visible_skip),
        "unearned_stage_opportunity_ids": _unearned(tables),
        "slipped_opportunity_ids": _opportunity_list((deals.push_at < today).sum(axis=1) >= 3),
        "reorganisation": _reorganisation(org, terr, timeline),
        "hires": _hires(org, terr, timeline),
        "leavers": [
            {
                "person_id": ids[leaver],
                "termination_date": to_date(int(org.end_day[leaver]) - 1),
                "replaced_by": ids[hire],
                "transferred_opportunity_ids": _opportunity_list(
                    (deals.owner0 == leaver) & (deals.owner == hire)
                ),
            }
            for leaver, hire, _ in org.leavers
        ],
        "multi_line_opportunity_ids": list(opportunity_ids(booked.multi_line).to_pylist()),
        "cancelled_opportunity_ids": list(opportunity_ids(booked.cancelled).to_pylist()),
        "cancellation_transaction_ids": booked.cancellation_ids,
        "effects": {
            "win_rate_with_discovery_and_next_step": WIN_WITH_EVIDENCE,
            "win_rate_without_discovery_and_next_step": WIN_WITHOUT_EVIDENCE,
            "first_meeting_to_opportunity_rate": FIRST_MEETING_CONVERSION,
            "stuck_share_of_open_deals": STUCK_SHARE,
            "stuck_min_days_in_stage": STUCK_MIN_DAYS,
            "skipped_stage_share": round(float(np.mean(visible_skip)), 3),
            "close_date_pushes_distribution": list(PUSHES),
            "max_close_date_pushes": MAX_PUSHES,
            "gaming_calls_per_burst": [15, 40],
            "ramp_quota_shares": list(RAMP),
            "deal_creation_seasonality": list(SEASONALITY),
            "quota_quarter_weights": list(QUOTA_WEIGHTS),
            "quota_growth": list(GROWTH),
        },
    }


def _people(org: Org) -> dict[str, Any]:
    """People worth signing in as: the VP, RevOps, the directors, an SMB manager untouched by the changes and
    reps of that team (its most and least disciplined AE), and an SE of its region."""
    ids, roles = org.person_ids, org.roles
    special = {p for _, pod, _, _ in org.moved_pods for p in org.seat["occ0"][pod]} | set(
        np.flatnonzero(org.is_gaming)
    )
    changed = {t for _, _, source, target in org.moved_pods for t in (source, target)}
    changed |= {int(org.seat["team0"][seat]) for *_, seat in org.leavers}
    changed |= {int(org.seat["team0"][seat]) for _, seat in org.expansions}
    team = next((t for t in org.teams if t.segment == 0 and t.index not in changed), org.teams[0])
    members = [
        p
        for p, person in enumerate(org.people)
        if person.team == team.index
        and p not in special
        and person.leaves is None
        and person.role in ("ae", "sdr")
    ]
    aes = sorted((p for p in members if roles[p] == "ae"), key=lambda p: org.discipline[p])
    sdrs = [p for p in members if roles[p] == "sdr"]
    return {
        "vp": ids[org.vp],
        "revops": ids[org.revops],
        "directors": {REGIONS[r].code: ids[d] for r, d in enumerate(org.directors)},
        "manager": ids[team.manager],
        "team": team.org_unit_id,
        "disciplined_ae": ids[aes[-1]],
        "undisciplined_ae": ids[aes[0]],
        "sdr": ids[sdrs[0]] if sdrs else None,
        "se": ids[org.ses_by_region[team.region][0]],
    }


def _unearned(tables: dict[str, pa.Table]) -> list[str]:
    """Open deals at Solution or later with no discovery meeting and no MEDDICC metrics."""
    activities = tables["activities"]
    discovered = pc.unique(activities.filter(pc.equal(activities["outcome"], "discovery"))["opportunity_id"])
    opportunities = tables["opportunities"]
    late = pc.is_in(opportunities["stage"], pa.array(["Solution", "Proposal", "Negotiation"]))
    no_discovery = pc.invert(pc.is_in(opportunities["opportunity_id"], discovered))
    no_metrics = pc.invert(pc.match_substring(opportunities["extra"], '"metrics": true'))
    chosen = opportunities.filter(pc.and_(pc.and_(late, no_discovery), no_metrics))
    return list(chosen["opportunity_id"].to_pylist())


def _reorganisation(org: Org, terr: Territories, timeline: Timeline) -> dict[str, Any]:
    day = np.datetime64(timeline.reorg_date, "D").astype(np.int64)
    ids, names = org.person_ids, territory_ids(org, terr)
    moved_seats = [s for _, pod, _, _ in org.moved_pods for s in pod]
    return {
        "date": timeline.reorg_date,
        "moved_person_ids": [
            ids[p] for sdr, pod, _, _ in org.moved_pods for p in [sdr, *org.seat["occ0"][pod]]
        ],
        "from_org_unit_ids": [org.teams[source].org_unit_id for _, _, source, _ in org.moved_pods],
        "to_org_unit_ids": [org.teams[target].org_unit_id for _, _, _, target in org.moved_pods],
        "moved_account_ids": [f"A{a + 1:06d}" for a in np.flatnonzero(terr.move_day == day)],
        "closed_territory_ids": [names[terr.seat_terr0[s]] for s in moved_seats],
        "new_territory_ids": [names[terr.seat_terr1[s]] for s in moved_seats],
    }


def _hires(org: Org, terr: Territories, timeline: Timeline) -> list[dict[str, Any]]:
    names = territory_ids(org, terr)
    replaced = {hire: leaver for leaver, hire, _ in org.leavers}
    seats = {hire: seat for _, hire, seat in org.leavers} | dict(org.expansions)
    hires = []
    for hire, seat in sorted(seats.items()):
        territory = int(terr.seat_terr0[seat])
        carved = (
            np.flatnonzero(terr.terr1 == territory) if hire not in replaced else np.array([], dtype=np.int64)
        )
        hires.append(
            {
                "person_id": org.person_ids[hire],
                "hire_date": to_date(int(org.hire_day[hire])),
                "replaces": org.person_ids[replaced[hire]] if hire in replaced else None,
                "territory_id": names[territory],
                "carved_account_ids": [f"A{a + 1:06d}" for a in carved],
            }
        )
    return hires
