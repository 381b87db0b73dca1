"""`/api/v1/kpis`: the §8 list, the catalogue and a KPI's trend, scoped to the caller (small company).

In 2025-Q1 (fiscal year = calendar year) P-AE1 won O1 for 120,000 USD against a 150,000 quota and P-AE2
lost O2; both are in T-EAST under P-MGR.
"""

from __future__ import annotations

from openspm.domain.kpis import CATALOGUE
from tests.e2e.conftest import Web


def test_the_list_has_the_contract_shape_and_values(web: Web) -> None:
    response = web.client("admin").get(
        "/api/v1/kpis",
        params={
            "level": "person",
            "period": "2025-Q1",
            "kpi": ["won_amount", "attainment"],
            "as_of": "2025-04-01",
        },
    )
    assert response.status_code == 200, response.text
    rows = response.json()
    assert all(set(r) == {"subject_id", "subject_level", "period", "kpi", "value"} for r in rows)
    values = {(r["subject_id"], r["kpi"]): r["value"] for r in rows}
    assert values[("P-AE1", "won_amount")] == 120000.0
    assert values[("P-AE1", "attainment")] == 0.8  # 120,000 ÷ 150,000
    assert values[("P-AE2", "attainment")] == 0.0
    assert values[("P-SE", "attainment")] is None  # no quota


def test_rows_are_scoped_to_the_caller(web: Web) -> None:
    params = {"level": "person", "period": "2025-Q1", "kpi": "won_count", "as_of": "2025-04-01"}
    rep = web.client("rep").get("/api/v1/kpis", params=params).json()
    assert [r["subject_id"] for r in rep] == ["P-AE1"]
    manager = web.client("manager").get("/api/v1/kpis", params=params).json()
    assert [r["subject_id"] for r in manager] == ["P-AE1", "P-AE2", "P-MGR"]
    teams = web.client("rep").get("/api/v1/kpis", params={**params, "level": "team"}).json()
    assert teams == []


def test_bad_names_are_problems(web: Web) -> None:
    client = web.client("admin")
    response = client.get("/api/v1/kpis", params={"period": "2025-Q1", "kpi": "winrate"})
    assert response.status_code == 422
    assert "unknown KPI" in response.json()["detail"]
    assert client.get("/api/v1/kpis", params={"period": "Q1-2025"}).status_code == 422
    assert client.get("/api/v1/kpis").status_code == 422  # a period is required


def test_catalogue_and_series(web: Web) -> None:
    client = web.client("rep")
    catalogue = client.get("/api/v1/kpis/catalogue").json()
    assert [k["name"] for k in catalogue] == [k.name for k in CATALOGUE]
    series = client.get(
        "/api/v1/kpis/won_count/series",
        params={"level": "person", "end": "2025-Q1", "count": 2, "as_of": "2025-04-01"},
    )
    assert series.status_code == 200, series.text
    assert [(r["subject_id"], r["period"], r["value"]) for r in series.json()] == [
        ("P-AE1", "2024-Q4", 0.0),
        ("P-AE1", "2025-Q1", 1.0),
    ]
