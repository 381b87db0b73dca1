"""The inspection service caches one inspection of every open deal per data version and filters it.

The small company (tests/fixtures/canonical/small) has one open deal: O3 of P-AE1, 80,000 EUR.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from openspm.services import inspections
from openspm.services.imports import import_directory

SMALL = Path(__file__).parent.parent / "fixtures" / "canonical" / "small"
AS_OF = date(2025, 4, 1)


@pytest.fixture
def small(engine: Engine) -> Iterator[Engine]:
    assert import_directory(engine, SMALL).ok
    inspections.clear_cache()
    yield engine
    inspections.clear_cache()


def test_one_run_answers_every_subject_until_the_data_changes(
    small: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[date] = []
    real = inspections.inspect_pipeline

    def counted(*args: Any, **kwargs: Any) -> Any:
        runs.append(kwargs["as_of"])
        return real(*args, **kwargs)

    monkeypatch.setattr(inspections, "inspect_pipeline", counted)
    everyone = inspections.inspect_deals(small, as_of=AS_OF)
    mine = inspections.inspect_deals(small, subjects=["P-AE1"], as_of=AS_OF)
    theirs = inspections.inspect_deals(small, subjects=["P-AE2"], as_of=AS_OF)
    assert runs == [AS_OF]  # the second and third came from the cache
    assert [d.opportunity_id for d in everyone.deals] == ["O3"]
    assert mine.deals == everyone.deals
    assert theirs.deals == []
    assert [r.person_id for r in theirs.reps] == []

    changed = tmp_path / "changed"
    changed.mkdir()
    rows = (SMALL / "opportunities.csv").read_text().replace("80000", "90000")
    assert rows != (SMALL / "opportunities.csv").read_text()
    (changed / "opportunities.csv").write_text(rows)
    assert import_directory(small, changed).ok
    after = inspections.inspect_deals(small, subjects=["P-AE1"], as_of=AS_OF)
    assert len(runs) == 2  # a new data version: inspected again
    assert after.deals[0].value != everyone.deals[0].value
