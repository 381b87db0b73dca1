"""Read a sales process from YAML: the shipped default (`config/sales_process.yaml`) or the user's file.

Numbers stay exact and duplicate keys are problems (the plan loader's YAML rules); every problem carries
the file name and the path in the document (`sales_process.yaml: stages[2].exit_criteria[0].field: …`).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from openspm.domain.errors import InvalidRequest
from openspm.domain.sales_process import (
    ProcessProblem,
    ProcessValidation,
    SalesProcess,
    validate_sales_process,
)
from openspm.ingest.plans import parse_yaml

DEFAULT_FILE = "sales_process.yaml"


class SalesProcessError(InvalidRequest):
    """The sales-process file cannot be used; `problems` lists every reason, each with file and path."""

    def __init__(self, problems: tuple[ProcessProblem, ...]) -> None:
        self.problems = problems
        super().__init__("invalid sales process:\n" + "\n".join(f"  {p}" for p in problems))


def read_sales_process(text: str, *, file: str | None = None) -> ProcessValidation:
    """Parse and validate a sales process's YAML source; every problem carries `file` when given."""
    data, parse_problems = parse_yaml(text)
    problems = [ProcessProblem(p.path, p.reason) for p in parse_problems]
    process = None
    if data is not None:
        validation = validate_sales_process(data)
        process, problems = validation.process, problems + list(validation.problems)
    elif not problems:
        problems = [ProcessProblem("", "the document is empty")]
    located = tuple(ProcessProblem(p.path, p.reason, file) for p in problems)
    return ProcessValidation(None if located else process, located)


def default_sales_process_text() -> str:
    """The YAML source of the shipped default process."""
    return resources.files("openspm.config").joinpath(DEFAULT_FILE).read_text(encoding="utf-8")


def load_sales_process(path: str | Path | None = None) -> SalesProcess:
    """The process in `path` (None: the shipped default); raises `SalesProcessError` listing every problem."""
    if path is None:
        validation = read_sales_process(default_sales_process_text(), file=DEFAULT_FILE)
    else:
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SalesProcessError((ProcessProblem("", f"cannot read: {exc}", str(file)),)) from exc
        validation = read_sales_process(text, file=str(file))
    if validation.process is None:
        raise SalesProcessError(validation.problems)
    return validation.process
