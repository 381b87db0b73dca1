"""The Goodhart guard: gamed or low-quality behaviour, found in activities and deals (DESIGN.md §1).

A behaviour made a target gets gamed: empty calls logged in bursts, activities that touch nothing,
stages advanced without their evidence, next steps dated in the past. This module flags them so that a
behaviour count can be shown both raw and *quality-adjusted* (suspect activities left out).

Every step is an Ibis expression (DuckDB over Arrow by default); nothing loops over rows in Python.

Activity rules (reason codes in `suspect_reason`, joined by ", " when several apply):

* ``short_call`` — a call with a logged duration under `short_call_minutes` whose outcome does not
  explain a short call (`short_call_outcomes`, default ``no_answer``; outcomes compare ignoring case,
  with spaces and dashes read as underscores). Calls with no duration logged are
  not judged (many CRMs do not record one).
* ``burst`` — one of at least `burst_min_size` activities of one type by the same person, each within
  `burst_gap_minutes` of the one before (nobody makes twenty real calls two minutes apart). Activities of
  other types in between do not break a burst, nor are they part of it.
* ``unlinked`` — an activity with no deal, no account and no outcome: it is evidence of nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

SHORT_CALL = "short_call"
BURST = "burst"
UNLINKED = "unlinked"
ACTIVITY_REASONS = (SHORT_CALL, BURST, UNLINKED)

#: Defaults of the activity rules (documented in docs/inspection.md).
SHORT_CALL_MINUTES = 0.5
SHORT_CALL_OUTCOMES: tuple[str, ...] = ("no_answer",)
BURST_GAP_MINUTES = 5.0
BURST_MIN_SIZE = 10

_SEPARATOR = ", "


def flag_activities(
    activities: ir.Table,
    *,
    short_call_minutes: float = SHORT_CALL_MINUTES,
    short_call_outcomes: Sequence[str] = SHORT_CALL_OUTCOMES,
    burst_gap_minutes: float = BURST_GAP_MINUTES,
    burst_min_size: int = BURST_MIN_SIZE,
) -> ir.Table:
    """`activities` with two more columns: `suspect` (bool) and `suspect_reason` (string, null if clean).

    `activities` needs the canonical columns activity_id, person_id, type, occurred_at,
    duration_minutes, account_id, opportunity_id and outcome; any other columns pass through.

    - short_call_minutes: a call shorter than this (in minutes, default 0.5 = 30 s) is suspect unless its
      outcome is one of `short_call_outcomes` (default ``("no_answer",)``).
    - burst_gap_minutes, burst_min_size: a run of at least `burst_min_size` (default 10) activities of one
      type by one person, each at most `burst_gap_minutes` (default 5) after the previous one, is a burst.
    """
    columns = activities.columns
    t = suspect_flags(
        activities,
        short_call_minutes=short_call_minutes,
        short_call_outcomes=short_call_outcomes,
        burst_gap_minutes=burst_gap_minutes,
        burst_min_size=burst_min_size,
    )
    reason = (
        t._short.ifelse(SHORT_CALL + _SEPARATOR, "")
        + t._burst.ifelse(BURST + _SEPARATOR, "")
        + t._unlinked.ifelse(UNLINKED + _SEPARATOR, "")
    )
    trimmed = reason.substr(0, reason.length() - len(_SEPARATOR))
    return t.select(*columns, "suspect", suspect_reason=t.suspect.ifelse(trimmed, ibis.null(str)))


def suspect_flags(
    activities: ir.Table,
    *,
    short_call_minutes: float = SHORT_CALL_MINUTES,
    short_call_outcomes: Sequence[str] = SHORT_CALL_OUTCOMES,
    burst_gap_minutes: float = BURST_GAP_MINUTES,
    burst_min_size: int = BURST_MIN_SIZE,
) -> ir.Table:
    """`activities` with the rules' booleans `_short`, `_burst`, `_unlinked` and their union `suspect`.

    The cheap core of `flag_activities` (no reason text): what the KPI engine needs for its
    quality-adjusted counts. Same arguments as `flag_activities`.
    """
    t = _with_bursts(activities, burst_gap_minutes, burst_min_size)
    is_call = t.type.lower() == "call"
    outcomes = [normalised_text(ibis.literal(o)) for o in short_call_outcomes]
    explained = normalised_text(t.outcome).isin(outcomes).fill_null(False) if outcomes else False
    short = is_call & t.duration_minutes.notnull() & (t.duration_minutes < short_call_minutes) & ~explained
    unlinked = t.opportunity_id.isnull() & t.account_id.isnull() & t.outcome.isnull()
    t = t.mutate(_short=short.fill_null(False), _unlinked=unlinked)
    return t.mutate(suspect=t._short | t._burst | t._unlinked)


def normalised_text(value: ir.StringValue) -> ir.StringValue:
    """Lower case, spaces and dashes as underscores: "No Answer", "no-answer" and "no_answer" agree."""
    return value.lower().strip().replace(" ", "_").replace("-", "_")


def _with_bursts(t: ir.Table, gap_minutes: float, min_size: int) -> ir.Table:
    """`t` with `_burst`: in a run of ≥ `min_size` activities of one type by one person, close together.

    One window pass (one sort by person, type and time): an activity is in a run of ≥ `min_size` when
    the links (gap ≤ `gap_minutes`) it has unbroken behind it plus those ahead of it plus itself reach
    `min_size`; the `min_size - 1` neighbours on each side are read with lag/lead over the same window.
    """
    if min_size <= 1:
        return t.mutate(_burst=ibis.literal(True))
    reach = min_size - 1
    limit = gap_minutes * 60
    seconds = t.occurred_at.epoch_seconds()
    # activities at the same moment are always in the same run, so their order among themselves
    # (e.g. by id) cannot change a flag: time alone orders the window
    window = ibis.window(group_by=[t.person_id, t.type], order_by=t.occurred_at)
    near = {f"_b{k}": seconds.lag(k).over(window) for k in range(1, reach + 1)}
    near |= {f"_f{k}": seconds.lead(k).over(window) for k in range(1, reach + 1)}
    w = t.mutate(_s0=seconds, **near)

    def linked(later: ir.IntegerValue, earlier: ir.IntegerValue) -> ir.BooleanValue:
        return (later - earlier <= limit).fill_null(False)

    back = [linked(w[f"_b{k - 1}"] if k > 1 else w._s0, w[f"_b{k}"]) for k in range(1, reach + 1)]
    ahead = [linked(w[f"_f{k}"], w[f"_f{k - 1}"] if k > 1 else w._s0) for k in range(1, reach + 1)]
    behind = ibis.cases(*[(~link, k) for k, link in enumerate(back)], else_=reach)
    after = ibis.cases(*[(~link, k) for k, link in enumerate(ahead)], else_=reach)
    w = w.mutate(_burst=behind + after + 1 >= min_size)
    return w.drop("_s0", *near)


# --- deals ---------------------------------------------------------------------------------------------

ADVANCED_WITHOUT_EVIDENCE = "advanced_without_evidence"
NEXT_STEP_IN_PAST = "next_step_in_past"
DEAL_REASONS = (ADVANCED_WITHOUT_EVIDENCE, NEXT_STEP_IN_PAST)
MAX_SUSPECT_SHARE = 0.10
MIN_ACTIVITIES = 20  # fewer activities than this never flag a rep: one short call is not a pattern


def flag_deals(deals: ir.Table) -> ir.Table:
    """Inspected deals (`engine.inspection.DEALS`) that look gamed: (opportunity_id, owner_id, reason).

    ``advanced_without_evidence`` — a criterion of a stage the deal already left is not met;
    ``next_step_in_past`` — the next step's date lies before the inspection day. A deal may have both.
    """
    rules = (
        (ADVANCED_WITHOUT_EVIDENCE, deals.advanced_without_evidence),
        (NEXT_STEP_IN_PAST, deals.next_step_overdue),
    )
    parts = [
        deals.filter(condition).select("opportunity_id", "owner_id", reason=ibis.literal(name))
        for name, condition in rules
    ]
    return ibis.union(*parts, distinct=False)


def behaviour_counts(flagged: ir.Table) -> ir.Table:
    """Per person and activity type: `raw` count, `suspect` count and `quality_adjusted` (= raw − suspect).

    `flagged` is the output of `flag_activities`.
    """
    return flagged.group_by("person_id", "type").aggregate(
        raw=flagged.count(),
        suspect=flagged.suspect.cast("int64").sum(),
        quality_adjusted=(~flagged.suspect).cast("int64").sum(),
    )


def rep_summary(
    flagged: ir.Table,
    deals: ir.Table,
    *,
    max_suspect_share: float = MAX_SUSPECT_SHARE,
    min_activities: int = MIN_ACTIVITIES,
) -> ir.Table:
    """One row per person with activities or open deals: how much of their work looks gamed.

    Columns: person_id, activities, suspect_activities, suspect_share (0–1, null without activities),
    short_calls, burst_activities, unlinked_activities, open_deals, advanced_without_evidence,
    next_steps_in_past, flagged_deals (deals with either deal rule) and is_flagged: suspect_share above
    `max_suspect_share` (default 0.10) over at least `min_activities` activities (default 20).

    The deal counts are reported beside the flag, not folded into it: a deal missing its evidence is
    usually neglect, a burst of empty calls is a choice.
    """
    reasons = flagged.suspect_reason.fill_null("")
    work = flagged.group_by(_a_person=flagged.person_id).aggregate(
        activities=flagged.count(),
        suspect_activities=flagged.suspect.cast("int64").sum(),
        short_calls=reasons.contains(SHORT_CALL).cast("int64").sum(),
        burst_activities=reasons.contains(BURST).cast("int64").sum(),
        unlinked_activities=reasons.contains(UNLINKED).cast("int64").sum(),
    )
    gamed = deals.advanced_without_evidence | deals.next_step_overdue
    pipeline = deals.group_by(_d_person=deals.owner_id).aggregate(
        open_deals=deals.count(),
        advanced_without_evidence=deals.advanced_without_evidence.cast("int64").sum(),
        next_steps_in_past=deals.next_step_overdue.cast("int64").sum(),
        flagged_deals=gamed.cast("int64").sum(),
    )
    joined = work.outer_join(pipeline, work._a_person == pipeline._d_person)
    activities = joined.activities.fill_null(0)
    share = (activities > 0).ifelse(
        joined.suspect_activities.fill_null(0).cast("float64") / activities.cast("float64"),
        ibis.null("float64"),
    )
    counts = {
        name: joined[name].fill_null(0)
        for name in (
            "suspect_activities",
            "short_calls",
            "burst_activities",
            "unlinked_activities",
            "open_deals",
            "advanced_without_evidence",
            "next_steps_in_past",
            "flagged_deals",
        )
    }
    flagged_rep = ((share > max_suspect_share) & (activities >= min_activities)).fill_null(False)
    return joined.select(
        person_id=ibis.coalesce(joined._a_person, joined._d_person),
        activities=activities,
        suspect_share=share,
        is_flagged=flagged_rep,
        **counts,
    )


def seen_by(activities: ir.Table, lines: ir.Table) -> ir.Table:
    """The activities whose person is in `lines` (person_id, [start, end) in days) on the activity's day.

    The services pass the viewer's reporting lines here, so a manager sees a moved rep's activities only
    from the days the rep was in their team.
    """
    day = activities.occurred_at.date()
    seen = lines.select(_person="person_id", _start="start", _end="end")
    joined = activities.inner_join(
        seen,
        (activities.person_id == seen._person)
        & (seen._start <= day)
        & (seen._end.isnull() | (seen._end > day)),
    )
    return joined.select(*activities.columns).distinct()
