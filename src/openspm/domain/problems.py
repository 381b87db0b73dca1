"""What is wrong with a configuration document (a plan, a sales process, a scorecard file): values that
name the path in the document and the reason, so every problem can be reported at once."""

from __future__ import annotations

from dataclasses import dataclass

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True, order=True)
class DocumentProblem:
    """One thing wrong with a document: the path in it (`components[2].tiers[1].rate`) and why."""

    path: str
    reason: str
    file: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        return f"{where}{self.path or '(document)'}: {self.reason}"


def format_path(loc: Loc) -> str:
    """`("components", 2, "tiers", 1, "rate")` → `components[2].tiers[1].rate`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out
