"""Read a scorecard YAML file into a validated `ScorecardSet`: numbers stay exact, every problem has its path.

`read_scorecards_file(None)` reads the shipped default (`openspm/config/scorecards.yaml`); a file that
cannot be read, is not YAML or breaks a rule comes back as problems naming the file and the path
(`scorecards[0].behaviours[3].kpi: unknown KPI 'calls_made'`), never as an exception.
"""

from __future__ import annotations

import dataclasses
from importlib import resources
from pathlib import Path

from openspm.domain.scorecards import ScorecardProblem, ScorecardValidation, validate_scorecards
from openspm.ingest.plans import parse_yaml

SHIPPED = "scorecards.yaml"


def shipped_scorecards_text() -> str:
    """The text of the shipped default scorecards."""
    return resources.files("openspm.config").joinpath(SHIPPED).read_text(encoding="utf-8")


def read_scorecards(text: str, *, file: str | None = None) -> ScorecardValidation:
    """Parse and validate scorecard YAML; every problem carries `file` when given."""
    data, parse_problems = parse_yaml(text)
    problems = [ScorecardProblem(p.path, p.reason) for p in parse_problems]
    scorecards = None
    if data is not None:
        validation = validate_scorecards(data)
        scorecards, problems = validation.scorecards, problems + list(validation.problems)
    elif not problems:
        problems = [ScorecardProblem("", "the document is empty")]
    located = tuple(dataclasses.replace(p, file=file) for p in problems)
    return ScorecardValidation(None if located else scorecards, located)


def read_scorecards_file(path: Path | str | None = None) -> ScorecardValidation:
    """`read_scorecards` over a file (UTF-8), or the shipped default when `path` is None."""
    if path is None:
        return read_scorecards(shipped_scorecards_text(), file=f"openspm/config/{SHIPPED}")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return ScorecardValidation(None, (ScorecardProblem("", f"cannot read: {exc}", str(path)),))
    return read_scorecards(text, file=str(path))
