"""Which behaviours matter: how strongly each behaviour predicts results in the company's own history.

Three analyses, each with a well-kept statistics library (no hand-written statistics):

1. **With vs without** (`compare_win_rates`): for every deal-level behaviour (discovery meeting held,
   next step set, MEDDICC items filled, …), the win rate of closed deals that show the evidence against
   those that do not, each with a Wilson interval, and the difference with a Newcomb interval and a
   two-proportion test (statsmodels). P-values are Holm-adjusted over the behaviours tested together.
2. **All together** (`fit_win_model`): an L2-regularised logistic regression of win on the deal
   behaviours (scikit-learn, standardised features), with the odds ratio of each piece of evidence and
   the cross-validated ROC AUC of the whole model.
3. **Lagged** (`lagged_correlations`): per role, a rep's weekly behaviour counts in a fiscal quarter
   against the pipeline they created or sourced, and the amount they won, in the *next* quarter
   (scipy's Spearman rank correlation, Holm-adjusted).

Data preparation is Ibis over Arrow (DuckDB); the statistics run on numpy arrays. A finding is only
`predictive` when it is unlikely to be noise *and* big enough to matter; findings come with plain
sentences, the sample sizes and the verdict. Correlation is not causation: see docs/scorecards.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    test_proportions_2indep,
)

#: Defaults of the verdicts (documented in docs/scorecards.md).
ALPHA = 0.05  # a difference this likely to be noise (Holm-adjusted) is not a finding
MIN_DEALS = 30  # fewer deals on either side: too few to tell
MIN_LIFT = 0.03  # a win-rate difference below 3 points is too small to manage by
MIN_RHO = 0.1  # a rank correlation below 0.1 is too weak to manage by
MIN_REP_QUARTERS = 20


class Verdict(StrEnum):
    PREDICTIVE = "predictive"  # a clear effect in the expected direction
    PREDICTS_WORSE = "predicts_worse"  # a clear effect, but the evidence goes with *worse* results
    NOT_PREDICTIVE = "not_predictive"  # no clear effect: may be noise, or too small to matter
    TOO_FEW = "too_few"  # not enough data (or no variation) to tell


@dataclass(frozen=True, slots=True)
class DealBehaviour:
    """A behaviour a closed deal shows or not; `phrase` completes "Deals that …"."""

    name: str
    label: str
    phrase: str
    composite: bool = False  # built from other behaviours: left out of the regression
    late: bool = False  # recorded only once a deal has progressed: partly a sign of progress, not a cause


CHECKLIST = (
    "metrics",
    "economic_buyer",
    "decision_criteria",
    "decision_process",
    "identify_pain",
    "champion",
)

DEAL_BEHAVIOURS: tuple[DealBehaviour, ...] = (
    DealBehaviour("discovery_done", "Discovery meeting held", "had a discovery meeting"),
    DealBehaviour("next_step_set", "Next step set", "had a next step set"),
    DealBehaviour(
        "discovery_and_next_step",
        "Discovery and next step",
        "had both a discovery meeting and a next step",
        composite=True,
    ),
    DealBehaviour(
        "first_meeting_held", "First meeting held", "started with a first meeting booked by an SDR"
    ),
    DealBehaviour("demo_done", "Demo given", "had a demo", late=True),
    DealBehaviour(
        "metrics_identified", "Metrics identified", "had their metrics (MEDDICC) identified", late=True
    ),
    DealBehaviour(
        "economic_buyer_identified", "Economic buyer identified", "had the economic buyer named", late=True
    ),
    DealBehaviour(
        "decision_criteria_known", "Decision criteria known", "had the decision criteria known", late=True
    ),
    DealBehaviour(
        "decision_process_known", "Decision process known", "had the decision process known", late=True
    ),
    DealBehaviour("pain_identified", "Pain identified", "had the customer's pain identified", late=True),
    DealBehaviour("champion_identified", "Champion identified", "had a champion named", late=True),
    DealBehaviour("mutual_action_plan", "Mutual action plan", "had a mutual action plan", late=True),
    DealBehaviour(
        "meddicc_complete", "MEDDICC complete", "had every MEDDICC item filled", composite=True, late=True
    ),
)
_CHECKLIST_BEHAVIOURS = dict(
    zip(
        CHECKLIST,
        (
            "metrics_identified",
            "economic_buyer_identified",
            "decision_criteria_known",
            "decision_process_known",
            "pain_identified",
            "champion_identified",
        ),
        strict=True,
    )
)


@dataclass(frozen=True, slots=True)
class RepBehaviour:
    """A behaviour counted per rep per week; `phrase` completes "Reps who …"."""

    name: str
    label: str
    phrase: str
    noun: str  # "how many … a rep …"


REP_BEHAVIOURS: tuple[RepBehaviour, ...] = (
    RepBehaviour("calls", "Calls a week", "made more calls", "calls"),
    RepBehaviour("connected_calls", "Connected calls a week", "had more connected calls", "connected calls"),
    RepBehaviour("emails", "Emails a week", "sent more emails", "emails"),
    RepBehaviour("meetings", "Meetings a week", "held more meetings", "meetings"),
    RepBehaviour("first_meetings", "First meetings a week", "booked more first meetings", "first meetings"),
    RepBehaviour(
        "discovery_meetings",
        "Discovery meetings a week",
        "held more discovery meetings",
        "discovery meetings",
    ),
    RepBehaviour("demos", "Demos a week", "gave more demos", "demos"),
    RepBehaviour(
        "opportunities_added", "Opportunities added a week", "opened more opportunities", "new opportunities"
    ),
)
OUTCOMES: dict[str, str] = {
    "next_pipeline": "pipeline created or sourced the next quarter",
    "next_won_amount": "amount won the next quarter",
}


# --- deal-level evidence ------------------------------------------------------------------------------


def deal_evidence(opportunities: ir.Table, activities: ir.Table) -> ir.Table:
    """One row per *closed* deal: opportunity_id, owner_id, close_date, is_won and a bool per behaviour.

    Evidence comes from the deal itself (`next_step`; the MEDDICC checklist in `extra`: `metrics`,
    `economic_buyer`, `decision_criteria`, `decision_process`, `identify_pain`, `champion` and
    `mutual_action_plan`, each filled when true or a non-empty text) and from the activities linked to
    it (a meeting with outcome `discovery` or `first_meeting`; any `demo`). Activities with
    `suspect = true` (the Goodhart guard, when the column is there) are no evidence.
    """
    if "suspect" in activities.columns:
        activities = activities.filter(~activities.suspect.fill_null(False))
    kind, outcome = activities.type.lower(), activities.outcome.lower()
    linked = (
        activities.filter(activities.opportunity_id.notnull())
        .group_by(activities.opportunity_id.name("deal"))
        .aggregate(
            discovery_done=((kind == "meeting") & (outcome == "discovery")).fill_null(False).any(),
            first_meeting_held=((kind == "meeting") & (outcome == "first_meeting")).fill_null(False).any(),
            demo_done=(kind == "demo").any(),
        )
    )
    deals = opportunities.filter(opportunities.is_closed)
    extra = deals.extra.cast("json")
    items = {_CHECKLIST_BEHAVIOURS[key]: _filled(extra[key]) for key in CHECKLIST}
    items["mutual_action_plan"] = _filled(extra["mutual_action_plan"])
    next_step = deals.next_step.strip().length().fill_null(0) > 0
    deals = deals.select(
        "opportunity_id", "owner_id", "close_date", "is_won", next_step_set=next_step, **items
    )
    joined = deals.left_join(linked, deals.opportunity_id == linked.deal).drop("deal")
    flags = {
        name: joined[name].fill_null(False) for name in ("discovery_done", "first_meeting_held", "demo_done")
    }
    joined = joined.mutate(**flags)
    return joined.mutate(
        discovery_and_next_step=joined.discovery_done & joined.next_step_set,
        meddicc_complete=ibis.and_(*(joined[_CHECKLIST_BEHAVIOURS[key]] for key in CHECKLIST)),
    ).select("opportunity_id", "owner_id", "close_date", "is_won", *(b.name for b in DEAL_BEHAVIOURS))


def _filled(value: ir.JSONValue) -> ir.BooleanValue:
    """A checklist item is filled when it is `true` or a non-empty text (a title such as "CFO")."""
    return value.bool.fill_null(False) | (value.str.strip().length() > 0).fill_null(False)


# --- 1. with vs without -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WinRateComparison:
    behaviour: str
    label: str
    deals_with: int
    won_with: int
    deals_without: int
    won_without: int
    win_rate_with: float | None
    win_rate_without: float | None
    ci_with: tuple[float, float] | None  # Wilson 95 % interval of the win rate with the evidence
    ci_without: tuple[float, float] | None
    difference: float | None  # win_rate_with − win_rate_without
    difference_ci: tuple[float, float] | None  # Newcomb interval of the difference
    p_value: float | None  # two-proportion test
    p_adjusted: float | None  # Holm-adjusted over the behaviours compared together
    verdict: Verdict
    finding: str


def compare_win_rates(
    evidence: pa.Table,
    behaviours: Sequence[DealBehaviour] = DEAL_BEHAVIOURS,
    *,
    alpha: float = ALPHA,
    min_deals: int = MIN_DEALS,
    min_lift: float = MIN_LIFT,
) -> list[WinRateComparison]:
    """Win rate with vs without each behaviour among the closed deals of `evidence` (`deal_evidence`)."""
    won = _bools(evidence, "is_won")
    counts = []
    for behaviour in behaviours:
        shown = _bools(evidence, behaviour.name)
        counts.append(
            (int(shown.sum()), int((won & shown).sum()), int((~shown).sum()), int((won & ~shown).sum()))
        )
    testable = [n1 >= min_deals and n0 >= min_deals for n1, _, n0, _ in counts]
    tests = [_two_proportions(*c) if ok else None for c, ok in zip(counts, testable, strict=True)]
    adjusted = _holm([t[2] for t in tests if t is not None], alpha)
    comparisons, k = [], 0
    for behaviour, (n1, w1, n0, w0), test in zip(behaviours, counts, tests, strict=True):
        p_adj = None
        if test is not None:
            p_adj, k = adjusted[k], k + 1
        comparisons.append(
            _comparison(
                behaviour, (n1, w1, n0, w0), test, p_adj, alpha=alpha, min_deals=min_deals, min_lift=min_lift
            )
        )
    return comparisons


def _two_proportions(n1: int, w1: int, n0: int, w0: int) -> tuple[float, tuple[float, float], float]:
    low, high = confint_proportions_2indep(w1, n1, w0, n0, method="newcomb", compare="diff")
    result = test_proportions_2indep(w1, n1, w0, n0, method="wald", compare="diff")
    return w1 / n1 - w0 / n0, (float(low), float(high)), float(result.pvalue)


def _comparison(
    behaviour: DealBehaviour,
    counts: tuple[int, int, int, int],
    test: tuple[float, tuple[float, float], float] | None,
    p_adjusted: float | None,
    *,
    alpha: float,
    min_deals: int,
    min_lift: float,
) -> WinRateComparison:
    n1, w1, n0, w0 = counts
    rate1, rate0 = (w1 / n1 if n1 else None), (w0 / n0 if n0 else None)
    if test is None or p_adjusted is None:
        verdict = Verdict.TOO_FEW
        difference, interval, p_value = None, None, None
    else:
        difference, interval, p_value = test
        clear = p_adjusted < alpha and (interval[0] > 0 or interval[1] < 0) and abs(difference) >= min_lift
        verdict = (
            (Verdict.PREDICTIVE if difference > 0 else Verdict.PREDICTS_WORSE)
            if clear
            else Verdict.NOT_PREDICTIVE
        )
    return WinRateComparison(
        behaviour=behaviour.name,
        label=behaviour.label,
        deals_with=n1,
        won_with=w1,
        deals_without=n0,
        won_without=w0,
        win_rate_with=rate1,
        win_rate_without=rate0,
        ci_with=_wilson(w1, n1),
        ci_without=_wilson(w0, n0),
        difference=difference,
        difference_ci=interval,
        p_value=p_value,
        p_adjusted=p_adjusted,
        verdict=verdict,
        finding=_win_rate_finding(
            behaviour, counts, difference, interval, verdict=verdict, min_deals=min_deals
        ),
    )


def _wilson(won: int, deals: int) -> tuple[float, float] | None:
    if deals == 0:
        return None
    low, high = proportion_confint(won, deals, alpha=0.05, method="wilson")
    return float(low), float(high)


def _win_rate_finding(
    behaviour: DealBehaviour,
    counts: tuple[int, int, int, int],
    difference: float | None,
    interval: tuple[float, float] | None,
    *,
    verdict: Verdict,
    min_deals: int,
) -> str:
    n1, w1, n0, w0 = counts
    if verdict is Verdict.TOO_FEW or difference is None or interval is None:
        return (
            f"Too few closed deals to tell whether deals that {behaviour.phrase} win more often: "
            f"{n1:,} with, {n0:,} without (at least {min_deals:,} on each side are needed)."
        )
    sentence = (
        f"Deals that {behaviour.phrase} were won {_pct(w1 / n1)} of the time (n={n1:,}) "
        f"vs {_pct(w0 / n0)} without (n={n0:,})"
    )
    points = f"{_points(interval[0])} to {_points(interval[1])} points"
    caveat = (
        " It is recorded only once a deal has progressed, so part of the difference is the progress itself."
        if behaviour.late
        else ""
    )
    if verdict is Verdict.PREDICTIVE:
        return f"{sentence}: {_points(difference)} points (95 % CI {points}).{caveat}"
    if verdict is Verdict.PREDICTS_WORSE:
        return f"{sentence}: {_points(difference)} points (95 % CI {points}); this evidence goes with losing."
    if interval[0] > 0 or interval[1] < 0:
        return f"{sentence}: {_points(difference)} points (95 % CI {points}), too small to manage by."
    return (
        f"{sentence}: no clear difference in this data (95 % CI {points}); it does not predict winning here."
    )


# --- 2. all together ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Coefficient:
    behaviour: str
    label: str
    coefficient: float  # log-odds per standard deviation of the (0/1) feature
    odds_ratio: float  # odds of winning with the evidence ÷ without, the others held equal


@dataclass(frozen=True, slots=True)
class WinModel:
    deals: int
    won: int
    coefficients: tuple[Coefficient, ...]  # largest effect first
    auc: float | None  # cross-validated ROC AUC: 0.5 = a coin toss, 1 = perfect
    left_out: tuple[str, ...]  # behaviours without variation (every deal the same)
    finding: str


def fit_win_model(
    evidence: pa.Table,
    behaviours: Sequence[DealBehaviour] = DEAL_BEHAVIOURS,
    *,
    regularisation: float = 1.0,
    folds: int = 5,
    seed: int = 0,
    include_late: bool = False,
) -> WinModel | None:
    """An L2-regularised logistic regression of win on the deal behaviours.

    Composite behaviours are left out (they repeat their parts), and so, unless `include_late`, is
    evidence recorded only once a deal has progressed: it mostly says "this deal got far", which would
    swamp the behaviours a rep controls from the start. `regularisation` is scikit-learn's `C` (smaller:
    stronger shrinkage). None when there are fewer than `folds` wins or losses, or no behaviour varies.
    """
    won = _bools(evidence, "is_won")
    chosen = [b for b in behaviours if not b.composite and (include_late or not b.late)]
    columns = {b.name: _bools(evidence, b.name) for b in chosen}
    varying = [b for b in chosen if 0 < columns[b.name].sum() < len(won)]
    left_out = tuple(b.name for b in chosen if b not in varying)
    if not varying or min(int(won.sum()), int((~won).sum())) < folds:
        return None
    x = np.column_stack([columns[b.name] for b in varying]).astype(np.float64)
    y = won.astype(np.int64)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=regularisation, max_iter=1000))
    splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    auc = float(np.mean(cross_val_score(model, x, y, cv=splits, scoring="roc_auc")))
    model.fit(x, y)
    scaler: StandardScaler = model[0]
    logistic: LogisticRegression = model[-1]
    raw = logistic.coef_[0]
    coefficients = sorted(
        (
            Coefficient(b.name, b.label, float(c), float(np.exp(c / s)))
            for b, c, s in zip(varying, raw, scaler.scale_, strict=True)
        ),
        key=lambda c: -abs(c.coefficient),
    )
    return WinModel(
        len(y), int(y.sum()), tuple(coefficients), auc, left_out, _model_finding(coefficients, auc, len(y))
    )


def _model_finding(coefficients: Sequence[Coefficient], auc: float, deals: int) -> str:
    top = [c for c in coefficients if c.odds_ratio >= 1.1][:3]
    strongest = (
        "; ".join(f"{c.label.lower()} multiplies the odds of winning by {c.odds_ratio:.1f}" for c in top)
        if top
        else "no behaviour raises the odds of winning by 10 % or more"
    )
    quality = (
        "barely better than a coin toss"
        if auc < 0.55
        else "better than a coin toss"
        if auc < 0.65
        else "clearly better than a coin toss"
    )
    return (
        f"Taken together ({deals:,} closed deals, regularised logistic regression): {strongest}. "
        f"The behaviours tell wins from losses {quality} (cross-validated AUC {auc:.2f}; 0.5 = coin toss)."
    )


# --- 3. lagged correlation ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Quarter:
    label: str
    start: date
    end: date  # exclusive


def rep_quarters(
    opportunities: ir.Table, activities: ir.Table, assignments: ir.Table, quarters: Sequence[Quarter]
) -> ir.Table:
    """One row per person and quarter `q` (followed by `q+1` in `quarters`): the person's role at the start
    of `q`, each `REP_BEHAVIOURS` count per week in `q`, and the `OUTCOMES` in `q+1`.

    The person must hold an assignment on the first day of both quarters. Pipeline is the amount of deals
    created in `q+1` that the person owns or sourced (`extra.sdr_id`); won amount is the amount of the
    person's deals won with close date in `q+1`. Suspect activities (a `suspect` column) are not counted.
    """
    spans = ibis.memtable(
        pa.table(
            {
                "q": pa.array(range(len(quarters)), pa.int64()),
                "q_start": pa.array([q.start for q in quarters], pa.date32()),
                "q_end": pa.array([q.end for q in quarters], pa.date32()),
                "weeks": pa.array([(q.end - q.start).days / 7 for q in quarters], pa.float64()),
            }
        )
    )
    base = _people_in_quarters(assignments, spans, len(quarters))
    counts = _weekly_counts(activities, opportunities, spans)
    outcomes = _next_quarter_outcomes(opportunities, spans)
    joined = base.left_join(counts, (base.person_id == counts.c_person) & (base.q == counts.c_q))
    joined = joined.left_join(
        outcomes, (joined.person_id == outcomes.o_person) & (joined.q + 1 == outcomes.o_q)
    )
    names = [b.name for b in REP_BEHAVIOURS]
    return joined.select(
        "person_id",
        "role",
        "q",
        **{n: (joined[n].fill_null(0) / joined.weeks) for n in names},
        **{n: joined[n].fill_null(0.0) for n in OUTCOMES},
    ).order_by("person_id", "q")


def _in_effect(assignments: ir.Table, day: ir.DateValue) -> ir.BooleanValue:
    return (assignments.start_date <= day) & (assignments.end_date.isnull() | (assignments.end_date > day))


def _people_in_quarters(assignments: ir.Table, spans: ir.Table, count: int) -> ir.Table:
    a = assignments.select("person_id", "role", "start_date", "end_date")
    first = spans.filter(spans.q < count - 1)
    start = a.join(first, _in_effect(a, first.q_start)).select("person_id", "role", "q", "q_end", "weeks")
    later = assignments.select(l_person="person_id", l_start="start_date", l_end="end_date")
    still = (later.l_start <= start.q_end) & (later.l_end.isnull() | (later.l_end > start.q_end))
    kept = start.semi_join(later, (start.person_id == later.l_person) & still)
    return kept.distinct(on=["person_id", "q"], keep="first").select("person_id", "role", "q", "weeks")


def _weekly_counts(activities: ir.Table, opportunities: ir.Table, spans: ir.Table) -> ir.Table:
    if "suspect" in activities.columns:
        activities = activities.filter(~activities.suspect.fill_null(False))
    day = activities.occurred_at.date()
    acts = activities.join(spans, (day >= spans.q_start) & (day < spans.q_end))
    kind, outcome = acts.type.lower(), acts.outcome.lower()
    meeting = kind == "meeting"
    per = acts.group_by(c_person=acts.person_id, c_q=acts.q).aggregate(
        calls=(kind == "call").sum(),
        connected_calls=((kind == "call") & (outcome == "connected")).fill_null(False).sum(),
        emails=(kind == "email").sum(),
        meetings=meeting.sum(),
        first_meetings=(meeting & (outcome == "first_meeting")).fill_null(False).sum(),
        discovery_meetings=(meeting & (outcome == "discovery")).fill_null(False).sum(),
        demos=(kind == "demo").sum(),
    )
    deals = opportunities.join(
        spans, (opportunities.created_date >= spans.q_start) & (opportunities.created_date < spans.q_end)
    )
    added = deals.group_by(a_person=deals.owner_id, a_q=deals.q).aggregate(opportunities_added=deals.count())
    keys = per.select("c_person", "c_q").union(added.select(c_person="a_person", c_q="a_q"), distinct=True)
    out = keys.left_join(per, (keys.c_person == per.c_person) & (keys.c_q == per.c_q)).select(
        keys.c_person, keys.c_q, *(per[b.name] for b in REP_BEHAVIOURS if b.name != "opportunities_added")
    )
    out = out.left_join(added, (out.c_person == added.a_person) & (out.c_q == added.a_q))
    return out.drop("a_person", "a_q")


def _next_quarter_outcomes(opportunities: ir.Table, spans: ir.Table) -> ir.Table:
    amount = opportunities.amount.cast("float64")
    sdr = opportunities.extra.cast("json")["sdr_id"].str
    deals = opportunities.select(
        "created_date", "close_date", "is_won", owner=opportunities.owner_id, sdr=sdr, amount=amount
    )
    created = deals.join(spans, (deals.created_date >= spans.q_start) & (deals.created_date < spans.q_end))
    owned = created.select(person=created.owner, q=created.q, amount=created.amount)
    sourced = created.filter(created.sdr.notnull() & (created.sdr != created.owner)).select(
        person=created.sdr, q=created.q, amount=created.amount
    )
    both = owned.union(sourced, distinct=False)
    pipeline = both.group_by(p_person="person", p_q="q").aggregate(next_pipeline=both.amount.sum())
    won = deals.filter(deals.is_won).join(
        spans, (deals.close_date >= spans.q_start) & (deals.close_date < spans.q_end)
    )
    won = won.group_by(w_person=won.owner, w_q=won.q).aggregate(next_won_amount=won.amount.sum())
    keys = pipeline.select(o_person="p_person", o_q="p_q").union(
        won.select(o_person="w_person", o_q="w_q"), distinct=True
    )
    out = keys.left_join(pipeline, (keys.o_person == pipeline.p_person) & (keys.o_q == pipeline.p_q))
    out = out.select("o_person", "o_q", "next_pipeline")
    out = out.left_join(won, (out.o_person == won.w_person) & (out.o_q == won.w_q))
    return out.select("o_person", "o_q", "next_pipeline", "next_won_amount")


@dataclass(frozen=True, slots=True)
class LaggedCorrelation:
    role: str
    behaviour: str
    label: str
    outcome: str
    rep_quarters: int
    reps: int
    rho: float | None  # Spearman rank correlation
    p_value: float | None
    p_adjusted: float | None  # Holm-adjusted over the role's behaviour × outcome pairs
    verdict: Verdict
    finding: str


def lagged_correlations(
    table: pa.Table,
    *,
    alpha: float = ALPHA,
    min_rho: float = MIN_RHO,
    min_rep_quarters: int = MIN_REP_QUARTERS,
) -> list[LaggedCorrelation]:
    """Spearman correlation of each weekly behaviour with each next-quarter outcome, per role.

    `table` is what `rep_quarters` returns. A behaviour or outcome that never varies within a role (an AE
    books no first meetings, an SDR wins no deals) is not reported for that role.
    """
    roles = sorted(set(table.column("role").to_pylist()))
    found: list[LaggedCorrelation] = []
    for role in roles:
        rows = table.filter(pa.compute.equal(table.column("role"), role))
        reps = len(set(rows.column("person_id").to_pylist()))
        pairs = [
            (b, o) for b in REP_BEHAVIOURS for o in OUTCOMES if _varies(rows, b.name) and _varies(rows, o)
        ]
        tests = [_spearman(rows, b.name, o, min_rep_quarters) for b, o in pairs]
        adjusted = _holm([t[1] for t in tests if t is not None], alpha)
        k = 0
        for (behaviour, outcome), test in zip(pairs, tests, strict=True):
            p_adj = None
            if test is not None:
                p_adj, k = adjusted[k], k + 1
            found.append(
                _correlation(
                    role,
                    behaviour,
                    outcome,
                    n=rows.num_rows,
                    reps=reps,
                    test=test,
                    p_adjusted=p_adj,
                    alpha=alpha,
                    min_rho=min_rho,
                )
            )
    return found


def _varies(rows: pa.Table, column: str) -> bool:
    """Whether a column takes more than one value (a behaviour a role never shows is not reported)."""
    values = rows.column(column)
    return len(values) > 0 and pa.compute.min(values).as_py() != pa.compute.max(values).as_py()


def _spearman(rows: pa.Table, x: str, y: str, minimum: int) -> tuple[float, float] | None:
    xs, ys = (rows.column(c).to_numpy().astype(np.float64) for c in (x, y))
    if len(xs) < minimum:
        return None
    result = spearmanr(xs, ys)
    return float(result.statistic), float(result.pvalue)


def _correlation(
    role: str,
    behaviour: RepBehaviour,
    outcome: str,
    *,
    n: int,
    reps: int,
    test: tuple[float, float] | None,
    p_adjusted: float | None,
    alpha: float,
    min_rho: float,
) -> LaggedCorrelation:
    who = f"{role.upper()}s" if len(role) <= 3 else f"People in the role {role!r}"
    if test is None or p_adjusted is None:
        verdict = Verdict.TOO_FEW
        rho = p_value = None
        finding = (
            f"Too little data to tell whether {who} who {behaviour.phrase} had more {OUTCOMES[outcome]} "
            f"({n:,} rep-quarters; at least {MIN_REP_QUARTERS} needed)."
        )
    else:
        rho, p_value = test
        clear = p_adjusted < alpha and abs(rho) >= min_rho
        verdict = (
            (Verdict.PREDICTIVE if rho > 0 else Verdict.PREDICTS_WORSE) if clear else Verdict.NOT_PREDICTIVE
        )
        stats = f"Spearman ρ = {rho:.2f}, {_p_text(p_adjusted)}, {n:,} rep-quarters of {reps:,} people"
        if verdict is Verdict.PREDICTIVE:
            finding = f"{who} who {behaviour.phrase} in a quarter had more {OUTCOMES[outcome]} ({stats})."
        elif verdict is Verdict.PREDICTS_WORSE:
            finding = f"{who} who {behaviour.phrase} in a quarter had less {OUTCOMES[outcome]} ({stats})."
        elif p_adjusted < alpha:
            finding = (
                f"Only a weak link between {behaviour.noun} a week and {OUTCOMES[outcome]} for {who}, "
                f"too weak to manage by ({stats})."
            )
        else:
            finding = (
                f"No clear link between {behaviour.noun} a week and {OUTCOMES[outcome]} for {who} ({stats})."
            )
    return LaggedCorrelation(
        role, behaviour.name, behaviour.label, outcome, n, reps, rho, p_value, p_adjusted, verdict, finding
    )


# --- helpers ------------------------------------------------------------------------------------------


def _bools(table: pa.Table, column: str) -> np.ndarray:
    values = table.column(column).fill_null(False)
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=bool)


def _holm(p_values: Sequence[float], alpha: float) -> list[float]:
    if not p_values:
        return []
    return [float(p) for p in multipletests(list(p_values), alpha=alpha, method="holm")[1]]


def _pct(share: float) -> str:
    return f"{share * 100:.0f} %"


def _points(share: float) -> str:
    return f"{share * 100:+.1f}".replace("-", "−")


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
