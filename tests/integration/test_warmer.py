"""The served app keeps the KPI cache warm: its lifespan starts the warmer, which computes the dashboards'
quarters once the store has data, and stops it on shutdown."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from openspm.services import inspections, kpis
from openspm.services.imports import import_directory
from openspm.settings import Settings
from openspm.web.app import create_app

SMALL = Path(__file__).parent.parent / "fixtures" / "canonical" / "small"


def test_the_served_app_warms_the_cache_after_an_import(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the store has data the warmer computes the KPIs and inspects today's open deals, once."""
    assert import_directory(engine, SMALL).ok
    kpis.clear_cache()
    inspections.clear_cache()
    inspected: list[object] = []
    real = inspections.inspect_pipeline
    monkeypatch.setattr(inspections, "inspect_pipeline", lambda *a, **k: inspected.append(k) or real(*a, **k))
    url = engine.url.render_as_string(hide_password=False)
    app = create_app(Settings(database_url=url, kpi_warm_seconds=0.05))
    with TestClient(app):
        warmer = app.state.cache_warmer
        deadline = time.monotonic() + 60
        while warmer.warmed is None and time.monotonic() < deadline:
            time.sleep(0.05)
        with engine.connect() as conn:
            assert warmer.warmed == kpis.data_version(conn)
        time.sleep(0.2)  # a few more checks: the data did not change, so nothing is recomputed
    assert len(inspected) == 1
    assert not warmer.running  # stopped with the app
    kpis.clear_cache()
    inspections.clear_cache()


def test_warming_is_off_when_the_interval_is_zero(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    app = create_app(Settings(database_url=url, kpi_warm_seconds=0))
    with TestClient(app):
        assert app.state.cache_warmer is None
