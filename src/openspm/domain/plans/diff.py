"""Structural difference of two plan documents: what changed, by path (named items matched by name)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from openspm.domain.plans.model import Plan


@dataclass(frozen=True, slots=True)
class Change:
    """One difference: `before` is None for an addition, `after` is None for a removal."""

    path: str
    before: object
    after: object

    @property
    def kind(self) -> str:
        if self.before is None:
            return "added"
        return "removed" if self.after is None else "changed"

    def __str__(self) -> str:
        if self.kind == "added":
            return f"+ {self.path}: {_show(self.after)}"
        if self.kind == "removed":
            return f"- {self.path}: {_show(self.before)}"
        return f"~ {self.path}: {_show(self.before)} → {_show(self.after)}"


def diff_plans(before: Plan, after: Plan) -> list[Change]:
    """Every difference between two plans, in document order; items with a `name` are matched by name."""
    old = before.model_dump(mode="json", by_alias=True, exclude_defaults=False)
    new = after.model_dump(mode="json", by_alias=True, exclude_defaults=False)
    return list(_diff("", old, new))


def _diff(path: str, old: object, new: object) -> Iterator[Change]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in [*old, *(k for k in new if k not in old)]:
            yield from _diff(_join(path, str(key)), old.get(key), new.get(key))
    elif isinstance(old, list) and isinstance(new, list) and _named(old) and _named(new):
        olds = {item["name"]: item for item in old}
        news = {item["name"]: item for item in new}
        for name in [*olds, *(n for n in news if n not in olds)]:
            yield from _diff(f"{path}[{name}]", olds.get(name), news.get(name))
    elif isinstance(old, list) and isinstance(new, list):
        for i in range(max(len(old), len(new))):
            yield from _diff(f"{path}[{i}]", _at(old, i), _at(new, i))
    elif old != new:
        yield Change(path, old, new)


def _named(items: list[object]) -> bool:
    names = [item.get("name") for item in items if isinstance(item, Mapping)]
    return (
        len(names) == len(items) and all(isinstance(n, str) for n in names) and len(set(names)) == len(names)
    )


def _at(items: list[object], i: int) -> object:
    return items[i] if i < len(items) else None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _show(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
