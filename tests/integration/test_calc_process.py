"""A long-lived process is readied for calculating once, at start-up (`services.calc.prepare_process`).

Freezing the garbage collector's view is process-wide, so it is checked in a child process; the web
app's start-up is checked to call it without freezing the test process itself.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from openspm.services import calc
from openspm.settings import Settings
from openspm.store.db import make_engine
from openspm.store.migrate import upgrade
from openspm.web.app import create_app

CHILD = """
import gc, sys
from openspm.services import calc
assert gc.get_freeze_count() == 0 and "openspm.engine.calc.run" not in sys.modules
calc.prepare_process()
frozen = gc.get_freeze_count()
calc.prepare_process()  # a second call changes nothing
print(frozen, gc.get_freeze_count(), "openspm.engine.calc.run" in sys.modules)
"""


def test_prepare_process_imports_the_engine_and_freezes_what_is_alive_once() -> None:
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True)
    frozen, after, imported = out.stdout.split()
    assert int(frozen) > 100_000, "the engine's libraries are frozen out of the collector's view"
    assert after == frozen
    assert imported == "True"


def test_the_web_app_readies_its_process_before_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'spm.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    calls: list[str] = []
    monkeypatch.setattr(calc, "prepare_process", lambda: calls.append("prepared"))
    app = create_app(Settings(database_url=url, kpi_warm_seconds=0))
    assert calls == []
    with TestClient(app) as client:
        assert calls == ["prepared"]
        assert client.get("/healthz").status_code == 200
    app.state.engine.dispose()
