"""Computing one canonical column from source columns, vectorised with pyarrow.compute.

Cells are non-null strings throughout; the empty string means "no value". Each step of a `ColumnSpec`
is a function `(values, spec, frame) -> values`, appending any problems to the frame; they run in the
order `STEPS` lists them, which is the order the mapping reference documents. Every step but the last
(`default`) maps a value to a value, so when a column repeats its values (owners, stages, products) the
steps run once per distinct value and the results are spread back over the rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from openspm.domain.canonical import Problem
from openspm.ingest.mapping.sources import Source
from openspm.ingest.mapping.spec import ColumnSpec, Slot, parse_template

NUMBER_PATTERN = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"
DEFAULT_DECIMALS = 4
DISTINCT_MIN_ROWS = 1000  # below this, running steps on distinct values is not worth the encoding
_ARITHMETIC_TYPE = pa.decimal256(40, 10)


@dataclass
class Frame:
    """The rows a feed computes columns over, where they came from, and the problems found so far."""

    source: Source
    table: pa.Table  # the source rows that passed the feed's filter
    rows: pa.Array  # their spreadsheet rows
    target: str  # "entity.column", named in problems
    lookup: Callable[[str], Source | None]  # another source of the mapping, by name
    problems: list[Problem] = field(default_factory=list)
    spread: pa.Array | None = None  # when steps run on distinct values: each row's index into them

    def subset(self, indices: pa.Array) -> Frame:
        return Frame(
            self.source,
            self.table.take(indices),
            self.rows.take(indices),
            self.target,
            self.lookup,
            self.problems,
        )

    def on_distinct(self, spread: pa.Array) -> Frame:
        """This frame for steps that run on distinct values; `spread` gives each row's value."""
        return Frame(self.source, self.table, self.rows, self.target, self.lookup, self.problems, spread)

    def column(self, name: str) -> pa.Array:
        return pc.utf8_trim_whitespace(self.table.column(name).combine_chunks())

    def report(
        self, bad: pa.Array, values: pa.Array, column: str | None, reason: Callable[[str], str]
    ) -> None:
        """One problem per row where `bad` holds, naming the source row and column."""
        if not pc.any(bad).as_py():
            return
        if self.spread is not None:
            bad, values = pc.take(bad, self.spread), pc.take(values, self.spread)
        for i in pc.indices_nonzero(bad).to_pylist():
            self.problems.append(
                Problem(
                    self.source.file,
                    self.rows[i].as_py(),
                    column,
                    f"{reason(values[i].as_py())} (for {self.target})",
                )
            )


def empty(n: int) -> pa.Array:
    return pa.repeat(pa.scalar("", pa.string()), n)


def evaluate(spec: ColumnSpec, frame: Frame) -> pa.Array:
    """The column `spec` computes over `frame`, as non-null strings."""
    values = _take(spec, frame)
    if _transforms_values(spec) and len(values) > DISTINCT_MIN_ROWS:
        encoded = pc.dictionary_encode(values)
        if len(encoded.dictionary) <= len(values) // 2:
            distinct = _by_value(encoded.dictionary, spec, frame.on_distinct(encoded.indices))
            return _default(pc.take(distinct, encoded.indices), spec, frame)
    return _default(_by_value(values, spec, frame), spec, frame)


def _by_value(values: pa.Array, spec: ColumnSpec, frame: Frame) -> pa.Array:
    for step in STEPS:
        values = step(values, spec, frame)
    return values


def _transforms_values(spec: ColumnSpec) -> bool:
    """Whether any step besides trimming and the default is given."""
    given = spec.model_fields_set - {"column", "value", "template", "optional", "trim", "default"}
    return bool(given)


def map_distinct(values: pa.Array, function: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """`function` applied once per distinct value (for value-to-value functions such as slugify)."""
    if len(values) <= DISTINCT_MIN_ROWS:
        return function(values)
    encoded = pc.dictionary_encode(values)
    return pc.take(function(encoded.dictionary), encoded.indices)


def _origin(spec: ColumnSpec) -> str | None:
    """The source column a problem in this spec's values is reported against."""
    cols = spec.source_columns()
    return cols[0][0] if cols else None


def _take(spec: ColumnSpec, frame: Frame) -> pa.Array:
    n = frame.table.num_rows
    if spec.value is not None:
        return pa.repeat(pa.scalar(spec.value, pa.string()), n)
    if spec.template is not None:
        return _render(spec.template, frame, optional=spec.optional)
    assert spec.column is not None
    if spec.column not in frame.table.column_names:
        return empty(n)  # absent but optional: the missing required columns were reported up front
    column = frame.table.column(spec.column).combine_chunks()
    return column if not spec.trim else pc.utf8_trim_whitespace(column)


def _render(template: str, frame: Frame, *, optional: bool) -> pa.Array:
    """Fill a template row by row; the result is empty wherever a placeholder's value is empty."""
    n = frame.table.num_rows
    parts: list[pa.Array | pa.Scalar] = []
    blank = pa.repeat(pa.scalar(False), n)
    for part in parse_template(template):
        if isinstance(part, str):
            parts.append(pa.scalar(part, pa.string()))
            continue
        values = frame.column(part.column) if part.column in frame.table.column_names else empty(n)
        blank = pc.or_(blank, pc.equal(values, ""))
        parts.append(_filter_slot(values, part))
    if not any(isinstance(p, pa.Array) for p in parts):
        return pa.repeat(pa.scalar("".join(p.as_py() for p in parts), pa.string()), n)
    joined = pc.binary_join_element_wise(*parts, "")
    return pc.if_else(blank, "", joined)


def _filter_slot(values: pa.Array, slot: Slot) -> pa.Array:
    for name in slot.filters:
        values = map_distinct(values, {"slug": slugify, "lower": pc.utf8_lower, "upper": pc.utf8_upper}[name])
    return values


def slugify(values: pa.Array) -> pa.Array:
    """ "Müller & Co." → "muller-co": accents dropped, lower case, runs of other characters → "-"."""
    values = pc.utf8_normalize(values, "NFKD")
    values = pc.replace_substring_regex(values, pattern=r"\p{Mn}", replacement="")
    values = pc.replace_substring_regex(pc.utf8_lower(values), pattern="[^a-z0-9]+", replacement="-")
    return pc.utf8_trim(values, characters="-")


def _split(values: pa.Array, spec: ColumnSpec, frame: Frame) -> pa.Array:
    if spec.split is None:
        return values
    first = pc.list_element(pc.split_pattern(values, pattern=spec.split, max_splits=1), 0)
    return pc.utf8_trim_whitespace(first)


def _replace(values: pa.Array, spec: ColumnSpec, frame: Frame) -> pa.Array:
    for pattern, replacement in (spec.replace or {}).items():
        values = pc.replace_substring_regex(values, pattern=pattern, replacement=replacement)
    return values


def _empty_values(values: pa.Array, spec: ColumnSpec, frame: Frame) -> pa.Array:
    if not spec.empty_values:
        return values
    return pc.if_else(pc.is_in(values, value_set=pa.array(spec.empty_values, pa.string())), "", values)


def _case(values: pa.Array, spec: ColumnSpec, frame: Frame) -> pa.Array:
    if spec.case is None:
        return values
    return {"lower": pc.utf8_lower, "upper": pc.utf8_upper, "title": pc.utf8_title}[spec.case](values)


def _matches(values: pa.Array, spec: ColumnSpec, frame: Frame) -> pa.Array:
    if spec.matches is None:
        return values
    return pc.if_else(pc.match_substring_regex(values, pattern=spec.matches), values, "")


def _value_map(values: pa.Array, spec: ColumnSpec, frame: Frame) -> pa.Array:
    if spec.values is None:
        return values
    mapped = pc.take(
        pa.array(list(spec.values.values()), pa.string()),
        pc.index_in(values, value_set=pa.array(list(spec.values), pa.string())),
    )
    unmapped = pc.and_(pc.is_null(mapped), pc.not_equal(values, ""))
    if spec.strict:
        listed = ", ".join(spec.values)
        frame.report(
            unmapped, values, _origin(spec), lambda v: f"{v!r} is not one of the mapped values ({listed})"
        )
    fallback = values if spec.otherwise is None else pc.if_else(unmapped, spec.otherwise, values)
    return pc.coalesce(mapped, fallback)


def _lookup(values: pa.Array, spec: ColumnSpec, frame: Frame) -> pa.Array:
    if spec.lookup is None:
        return values
    other = frame.lookup(spec.lookup.source)
    if other is None:  # missing file or column: reported where the sources were read
        return empty(len(values))
    keys = pc.utf8_trim_whitespace(other.table.column(spec.lookup.match).combine_chunks())
    taken = pc.utf8_trim_whitespace(other.table.column(spec.lookup.take).combine_chunks())
    found = pc.take(taken, pc.index_in(values, value_set=keys))
    if spec.lookup.strict:
        missing = pc.and_(pc.is_null(found), pc.not_equal(values, ""))
        where = f"{other.file} column {spec.lookup.match}"
        frame.report(missing, values, _origin(spec), lambda v: f"{v!r} is not found in {where}")
    return pc.fill_null(found, "")


def _dates(values: pa.Array, spec: ColumnSpec, frame: Frame) -> pa.Array:
    formats = spec.date if spec.date is not None else spec.timestamp
    if formats is None:
        return values
    parsed = [_strptime(values, f) for f in formats]
    stamps = pc.coalesce(*parsed) if len(parsed) > 1 else parsed[0]
    what = "a date" if spec.date is not None else "a timestamp"
    frame.report(
        pc.and_(pc.is_null(stamps), pc.not_equal(values, "")),
        values,
        _origin(spec),
        lambda v: f"{v!r} is not {what} in the format {' or '.join(formats)}",
    )
    if spec.date is not None:
        text = pc.cast(pc.cast(stamps, pa.date32()), pa.string())
    else:
        text = pc.strftime(stamps, format="%Y-%m-%dT%H:%M:%S")
    return pc.fill_null(text, "")


def _strptime(values: pa.Array, fmt: str) -> pa.Array:
    """Parse with one format; `.%f` accepts (and drops) fractional seconds; %z converts to UTC."""
    if ".%f" in fmt:
        fmt = fmt.replace(".%f", "")
        values = pc.replace_substring_regex(values, pattern=r"(:\d\d)\.\d+", replacement=r"\1")
    stamps = pc.strptime(values, format=fmt, unit="s", error_is_null=True)
    return pc.cast(stamps, pa.timestamp("s")) if stamps.type.tz is not None else stamps


def _arithmetic(values: pa.Array, spec: ColumnSpec, frame: Frame) -> pa.Array:
    if spec.multiply is None and spec.divide is None and spec.round is None:
        return values
    is_number = pc.match_substring_regex(values, pattern=NUMBER_PATTERN)
    bad = pc.and_(pc.invert(is_number), pc.not_equal(values, ""))
    frame.report(bad, values, _origin(spec), lambda v: f"{v!r} is not a number")
    numbers = pc.cast(pc.if_else(is_number, values, "0"), _ARITHMETIC_TYPE, safe=False)
    if spec.multiply is not None:
        numbers = pc.multiply(numbers, _decimal_scalar(spec.multiply))
    if spec.divide is not None:
        numbers = pc.divide(numbers, _decimal_scalar(spec.divide))
    digits = DEFAULT_DECIMALS if spec.round is None else spec.round
    rounded = pc.round(numbers, ndigits=digits, round_mode="half_up")
    return pc.if_else(is_number, decimal_text(pc.cast(rounded, pa.decimal256(76, digits))), "")


def decimal_text(numbers: pa.Array) -> pa.Array:
    """Decimals as plain text without trailing zeros: 2.5000 → "2.5", 0E-10 → "0", 1E-7 → "0.0000001"."""
    text = pc.cast(numbers, pa.string())
    scientific = pc.match_substring(text, "E")
    if pc.any(scientific).as_py():  # Arrow writes zero and tiny values in scientific notation
        plain = [format(Decimal(v), "f") for v in text.filter(scientific).to_pylist()]
        text = pc.replace_with_mask(text, scientific, pa.array(plain, pa.string()))
    text = pc.replace_substring_regex(text, pattern=r"(\.\d*?)0+$", replacement=r"\1")
    return pc.replace_substring_regex(text, pattern=r"\.$", replacement="")


def _decimal_scalar(value: Decimal) -> pa.Scalar:
    scalar = pa.scalar(value)
    return scalar.cast(pa.decimal256(scalar.type.precision, scalar.type.scale))


def _slug(values: pa.Array, spec: ColumnSpec, frame: Frame) -> pa.Array:
    return slugify(values) if spec.slug else values


def _default(values: pa.Array, spec: ColumnSpec, frame: Frame) -> pa.Array:
    """Fill empty results from the default spec, evaluated only on those rows (so only they report)."""
    if spec.default is None:
        return values
    is_empty = pc.equal(values, "")
    indices = pc.indices_nonzero(is_empty)
    if len(indices) == 0:
        return values
    filled = evaluate(spec.default, frame.subset(indices))
    return pc.replace_with_mask(values, is_empty, filled)


Step = Callable[[pa.Array, ColumnSpec, Frame], pa.Array]
STEPS: tuple[Step, ...] = (  # `_default`, which reads other columns row by row, runs after these
    _split,
    _replace,
    _empty_values,
    _case,
    _matches,
    _value_map,
    _lookup,
    _dates,
    _arithmetic,
    _slug,
)
