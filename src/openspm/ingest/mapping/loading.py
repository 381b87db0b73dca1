"""Reading a mapping file: YAML → `MappingSpec`, with every mistake reported by its path in the file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from openspm.domain.canonical import Problem
from openspm.ingest.mapping.spec import Loc, MappingSpec, check_references

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "mappings"

_MESSAGES = {
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "decimal_type": "must be a number",
    "decimal_parsing": "must be a number",
    "missing": "is required",
    "extra_forbidden": "unknown key",
    "too_short": "must not be empty",
}


class MappingError(ValueError):
    """A mapping file that cannot be used; `errors` lists every mistake as "path.in.yaml: reason"."""

    def __init__(self, source: str, errors: list[str]) -> None:
        self.source = source
        self.errors = errors
        lines = "\n".join(f"  - {e}" for e in errors)
        super().__init__(f"mapping {source} is not valid:\n{lines}")

    @property
    def problems(self) -> list[Problem]:
        """The mistakes as import problems (file = the mapping), to report them like bad rows."""
        return [Problem(self.source, None, None, error) for error in self.errors]


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false are booleans, so `Yes`, `No`, `On` and `NO` stay text."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def shipped_mappings() -> dict[str, Path]:
    """The mappings that come with OpenSPM, by name (`salesforce`, `hubspot`, `maven-crm`, …)."""
    return {p.stem: p for p in sorted(SHIPPED_DIR.glob("*.yaml"))}


def resolve_mapping(name_or_path: str | Path) -> Path:
    """An existing file path as given, else the shipped mapping of that name (`salesforce`)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = shipped_mappings()
    name = path.name.removesuffix(".yaml").removesuffix(".yml")
    if path.parent == Path() and name in shipped:
        return shipped[name]
    raise MappingError(
        str(name_or_path),
        [f"no such file, and no shipped mapping of that name (shipped: {', '.join(shipped)})"],
    )


def load_mapping(path: Path) -> MappingSpec:
    """Parse and check a mapping file; raise `MappingError` listing every mistake."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(str(path), [f"cannot read: {exc.strerror or exc}"]) from exc
    return parse_mapping(text, source=str(path))


def parse_mapping(text: str, *, source: str = "<mapping>") -> MappingSpec:
    """`load_mapping` for YAML text already in hand."""
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise MappingError(
            source, [f"{where}not valid YAML ({getattr(exc, 'problem', None) or exc})"]
        ) from exc
    if not isinstance(data, dict):
        raise MappingError(source, ["the file must be a mapping with sources: and entities:"])
    single = _single_feed_entities(data)
    try:
        spec = MappingSpec.model_validate(data)
    except ValidationError as exc:
        raise MappingError(source, [_describe(e, single) for e in exc.errors()]) from exc
    problems = check_references(spec)
    if problems:
        raise MappingError(source, [f"{_path(loc, single)}: {reason}" for loc, reason in problems])
    return spec


def _single_feed_entities(data: dict[str, Any]) -> set[str]:
    """Entities written as one feed (a mapping), not a list: their paths show no list index."""
    entities = data.get("entities")
    if not isinstance(entities, dict):
        return set()
    return {str(k) for k, v in entities.items() if isinstance(v, dict)}


def _describe(error: ErrorDetails, single: set[str]) -> str:
    reason = _MESSAGES.get(error["type"])
    if reason is None:
        reason = error["msg"].removeprefix("Value error, ").removeprefix("Input should be ")
        if error["type"] == "literal_error":
            reason = f"must be {reason}"
    return f"{_path(error['loc'], single)}: {reason}"


def _path(loc: Loc, single: set[str]) -> str:
    parts = list(loc)
    if len(parts) > 2 and parts[0] == "entities" and parts[1] in single and parts[2] == 0:
        del parts[2]
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part == "[key]":
            text += " (key)"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"
