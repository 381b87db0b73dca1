"""The KPI catalogue keeps the names DESIGN.md §8 promises, once each."""

import pytest

from openspm.domain.kpis import BY_NAME, CATALOGUE, Kind, kpi

#: DESIGN.md §8: "Stable KPI names include …" — users script against these.
CONTRACT = (
    "won_amount",
    "won_count",
    "lost_count",
    "win_rate",
    "win_rate_value",
    "avg_deal_size",
    "cycle_days",
    "open_pipeline",
    "pipeline_created",
    "attainment",
    "activities",
    "meetings",
)


def test_every_contract_name_is_in_the_catalogue_exactly_once() -> None:
    names = [k.name for k in CATALOGUE]
    assert len(names) == len(set(names))
    assert set(CONTRACT) <= set(names)


def test_results_and_behaviours_are_both_there_and_described() -> None:
    assert {k.kind for k in CATALOGUE} == {Kind.RESULT, Kind.BEHAVIOUR}
    assert all(k.label and k.formula and k.name.islower() and " " not in k.name for k in CATALOGUE)
    assert not BY_NAME["lost_count"].higher_is_better
    assert BY_NAME["meetings"].kind is Kind.BEHAVIOUR


def test_unknown_names_are_refused_with_the_known_ones() -> None:
    assert kpi("win_rate").label == "Win rate"
    with pytest.raises(ValueError, match="known: won_amount"):
        kpi("winrate")
