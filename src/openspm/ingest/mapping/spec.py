"""The mapping file's model: which source file feeds which canonical entity, column by column."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from openspm.domain.canonical import ENTITY_BY_NAME

KEEP_ALL = "*"  # `keep: all` is stored as ["*"]
TEMPLATE_FILTERS = ("slug", "lower", "upper")
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


def _text(value: Any) -> Any:
    """YAML scalars written without quotes (1, 2.5, true) become the text the user meant."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if value is None:
        return ""
    return value


def _listed(value: Any) -> Any:
    """`x` and `[x]` mean the same where a list is expected."""
    return [value] if isinstance(value, str | int | float | bool) else value


Text = Annotated[str, BeforeValidator(_text)]
TextList = Annotated[list[Text], BeforeValidator(_listed)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SourceSpec(_Model):
    """One file of the export. `file` may list several names or glob patterns; the first that matches wins."""

    file: TextList = Field(min_length=1)
    encoding: str = "utf-8"
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    optional: bool = False  # a missing optional file skips what it feeds (with a warning)

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        return {"file": data} if isinstance(data, str) else data


class Condition(_Model):
    """A row filter: the row is kept when the test on `column` holds."""

    column: str
    equals: Text | None = None
    not_equals: Text | None = None
    in_: TextList | None = Field(default=None, alias="in")
    not_in: TextList | None = None
    empty: bool | None = None
    matches: str | None = None  # a regular expression (RE2 syntax) the value must contain

    @field_validator("matches")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        return _checked_pattern(value)

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        tests = [self.equals, self.not_equals, self.in_, self.not_in, self.empty, self.matches]
        if sum(t is not None for t in tests) != 1:
            raise ValueError("give exactly one of equals, not_equals, in, not_in, empty, matches")
        return self


class LookupSpec(_Model):
    """Replace the value by `take` from the first row of `source` whose `match` column equals it."""

    source: str
    match: str
    take: str
    strict: bool = False  # a value with no matching row is a problem (else it becomes empty)


class ColumnSpec(_Model):
    """How one canonical column is computed; the steps run in the order the fields are declared."""

    column: str | None = None  # first take: a source column …
    value: Text | None = None  # … or a constant …
    template: str | None = None  # … or a template such as "OPP-{Id}" or "{Owner Name|slug}"
    optional: bool = False  # the source column may be absent from the file: treated as empty
    trim: bool = True  # 1. strip surrounding whitespace
    split: str | None = None  # 2. keep the part before the first `split` ("A; B" → "A")
    replace: dict[str, Text] | None = None  # 3. regular expression → replacement, in order
    empty_values: TextList = Field(default_factory=list)  # 4. values that mean "no value"
    case: Literal["lower", "upper", "title"] | None = None  # 5.
    matches: str | None = None  # 6. a value not matching this regular expression becomes empty
    values: dict[Text, Text] | None = None  # 7. value map
    strict: bool = False  # … a non-empty value the map does not list is a problem
    otherwise: Text | None = None  # … the value of non-empty values the map does not list
    lookup: LookupSpec | None = None  # 8.
    date: TextList | None = None  # 9. source formats (strptime) → YYYY-MM-DD
    timestamp: TextList | None = None  # … → YYYY-MM-DDTHH:MM:SS (offsets converted to UTC)
    multiply: Decimal | None = None  # 10. exact decimal arithmetic
    divide: Decimal | None = None
    round: int | None = Field(default=None, ge=0, le=10)  # … decimals kept (default 4), half-up
    slug: bool = False  # 11. "Acme Corp." → "acme-corp"
    default: ColumnSpec | None = None  # 12. used where the result is empty: a constant or a column spec

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"column": data}
        if data is None or isinstance(data, bool | int | float):
            raise ValueError("must be a source column name or a mapping (write {value: …} for a constant)")
        return data

    @field_validator("matches")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        return _checked_pattern(value)

    @field_validator("replace")
    @classmethod
    def _patterns(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for pattern in value or {}:
            _checked_pattern(pattern)
        return value

    @field_validator("default", mode="before")
    @classmethod
    def _constant_default(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else {"value": _text(value)}

    @model_validator(mode="after")
    def _consistent(self) -> ColumnSpec:
        errors = _spec_conflicts(self)
        if errors:
            raise ValueError("; ".join(errors))
        return self

    def source_columns(self) -> list[tuple[str, bool]]:
        """Source columns this spec reads (not its default's), each with whether it may be absent."""
        if self.column is not None:
            return [(self.column, self.optional)]
        if self.template is not None:
            return [(p.column, self.optional) for p in parse_template(self.template) if isinstance(p, Slot)]
        return []


def _spec_conflicts(spec: ColumnSpec) -> list[str]:
    errors = []
    if sum(x is not None for x in (spec.column, spec.value, spec.template)) != 1:
        errors.append("give exactly one of column, value, template")
    if spec.date is not None and spec.timestamp is not None:
        errors.append("give date or timestamp, not both")
    if spec.values is None and (spec.strict or spec.otherwise is not None):
        errors.append("strict and otherwise need values")
    if spec.strict and spec.otherwise is not None:
        errors.append("give strict or otherwise, not both")
    if spec.divide is not None and spec.divide == 0:
        errors.append("divide by zero")
    if any("%" not in f for f in (spec.date or []) + (spec.timestamp or [])):
        errors.append("date and timestamp formats are strptime formats such as %m/%d/%Y")
    if spec.template is not None:
        try:
            parse_template(spec.template)
        except ValueError as exc:
            errors.append(str(exc))
    return errors


class FeedSpec(_Model):
    """Rows of one canonical entity computed from one source file."""

    from_: str = Field(alias="from")
    where: list[Condition] = Field(default_factory=list)
    columns: dict[str, ColumnSpec]
    keep: TextList = Field(default_factory=list)  # source columns passed through as custom fields
    distinct: bool = False  # keep only the first row of each key (for entities derived from a detail file)

    @field_validator("keep", mode="before")
    @classmethod
    def _keep_all(cls, value: Any) -> Any:
        return [KEEP_ALL] if value in ("all", KEEP_ALL) else value


class MappingSpec(_Model):
    """A whole mapping file."""

    name: str = ""
    description: str = ""
    sources: dict[str, SourceSpec] = Field(min_length=1)
    entities: dict[str, list[FeedSpec]] = Field(min_length=1)

    @field_validator("entities", mode="before")
    @classmethod
    def _single_feeds(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, dict) else v for k, v in value.items()}
        return value


class Slot:
    """A `{column|filter|…}` placeholder of a template."""

    __slots__ = ("column", "filters")

    def __init__(self, column: str, filters: tuple[str, ...]) -> None:
        self.column = column
        self.filters = filters


def parse_template(text: str) -> list[str | Slot]:
    """Split a template into literal text and placeholders; `{{` and `}}` are literal braces."""
    parts: list[str | Slot] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(text):
        parts.append(text[pos : m.start()])
        pos = m.end()
        if m.group(1) is None:
            parts.append(m.group(0)[0])
            continue
        column, *filters = (s.strip() for s in m.group(1).split("|"))
        unknown = [f for f in filters if f not in TEMPLATE_FILTERS]
        if not column or unknown:
            raise ValueError(
                f"bad placeholder {m.group(0)!r} (write {{column}} or {{column|filter}}; "
                f"filters: {', '.join(TEMPLATE_FILTERS)})"
            )
        parts.append(Slot(column, tuple(filters)))
    rest = text[pos:]
    if "{" in rest or "}" in rest:
        raise ValueError(f"unbalanced brace in template {text!r} (write {{{{ or }}}} for a literal brace)")
    parts.append(rest)
    return [p for p in parts if p != ""]


Loc = tuple[str | int, ...]


def check_references(spec: MappingSpec) -> list[tuple[Loc, str]]:
    """Problems a schema cannot see: unknown entities, columns and sources; unmapped required columns."""
    errors: list[tuple[Loc, str]] = []
    for entity_name, feeds in spec.entities.items():
        entity = ENTITY_BY_NAME.get(entity_name)
        if entity is None:
            errors.append(
                (("entities", entity_name), f"unknown entity (one of: {', '.join(ENTITY_BY_NAME)})")
            )
            continue
        for i, feed in enumerate(feeds):
            errors.extend(_check_feed(spec, entity_name, ("entities", entity_name, i), feed))
    return errors


def _check_feed(spec: MappingSpec, entity_name: str, loc: Loc, feed: FeedSpec) -> list[tuple[Loc, str]]:
    entity = ENTITY_BY_NAME[entity_name]
    errors: list[tuple[Loc, str]] = []
    if feed.from_ not in spec.sources:
        errors.append(((*loc, "from"), f"unknown source {feed.from_!r} (sources: {', '.join(spec.sources)})"))
    for name, col in feed.columns.items():
        if name not in entity.column_names:
            errors.append(
                (
                    (*loc, "columns", name),
                    f"not a column of {entity_name} (columns: {', '.join(entity.column_names)})",
                )
            )
        errors.extend(_check_lookups(spec, (*loc, "columns", name), col))
    missing = [c for c in entity.required_columns if c not in feed.columns]
    if missing:
        errors.append(((*loc, "columns"), f"required column(s) not mapped: {', '.join(missing)}"))
    clashes = [k for k in feed.keep if k in entity.column_names]
    if clashes:
        errors.append(
            ((*loc, "keep"), f"{', '.join(clashes)}: canonical column name(s); map them under columns")
        )
    return errors


def _check_lookups(spec: MappingSpec, loc: Loc, col: ColumnSpec) -> list[tuple[Loc, str]]:
    errors: list[tuple[Loc, str]] = []
    if col.lookup is not None and col.lookup.source not in spec.sources:
        errors.append(
            (
                (*loc, "lookup", "source"),
                f"unknown source {col.lookup.source!r} (sources: {', '.join(spec.sources)})",
            )
        )
    if col.default is not None:
        errors.extend(_check_lookups(spec, (*loc, "default"), col.default))
    return errors


def _checked_pattern(pattern: str | None) -> str | None:
    """`pattern` if the reader can run it as a regular expression (RE2 syntax), else a ValueError."""
    if pattern is not None:
        try:
            pc.match_substring_regex(pa.array([""], pa.string()), pattern=pattern)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from None
    return pattern
