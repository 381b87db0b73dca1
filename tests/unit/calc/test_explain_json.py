"""Canonical JSON numbers in explanations: plain notation, no trailing zeros, exactly the value."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from openspm.engine.calc.explain import encode

PLAIN = re.compile(r'^"-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?"$')


def test_small_values_are_written_in_plain_notation() -> None:
    """Arrow writes 1E-10 for a tenth of a billionth; trimming that gave "1E-1" (a tenth)."""
    values = ["0.0000000001", "-0.0000000020", "0.0000001000", "123.4500000000", "0", "-5"]
    column = pa.array([Decimal(v) for v in values], pa.decimal128(38, 10))
    assert encode(column).to_pylist() == [
        '"0.0000000001"',
        '"-0.000000002"',
        '"0.0000001"',
        '"123.45"',
        '"0"',
        '"-5"',
    ]


@given(
    st.lists(
        st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=10, allow_nan=False),
        min_size=1,
        max_size=20,
    )
)
def test_every_decimal_is_its_exact_value_in_canonical_form(values: list[Decimal]) -> None:
    column = pa.array(values, pa.decimal128(38, 10))
    for value, text in zip(values, encode(column).to_pylist(), strict=True):
        assert PLAIN.match(text), text
        assert Decimal(json.loads(text)) == value


def test_every_kind_of_value_is_valid_json_for_its_value() -> None:
    texts = ["plain", 'a "quoted" word', "back\\slash", "line\nbreak", "tab\there", "café", None]
    encoded = encode(pa.array(texts, pa.string())).to_pylist()
    assert [json.loads(e) for e in encoded] == texts
    assert encode(pa.array([True, False, None])).to_pylist() == ["true", "false", "null"]
    assert encode(pa.array([0, -7, None], pa.int32())).to_pylist() == ["0", "-7", "null"]
    days = pa.array([date(2026, 1, 5), None], pa.date32())
    assert encode(days).to_pylist() == ['"2026-01-05"', "null"]
    whole = pa.array([Decimal(50), Decimal(-100), Decimal(0)], pa.decimal128(18, 0))
    assert encode(whole).to_pylist() == ['"50"', '"-100"', '"0"']  # no point: nothing to trim
    assert encode(pa.array(['{"a":1}', None]), raw=True).to_pylist() == ['{"a":1}', "null"]


def test_a_list_is_in_the_same_order_whatever_the_order_of_its_rows() -> None:
    """Rows equal in the list's order (two cancellations of one transaction on one day) are written in the
    order of their own text, so the same inputs give the same bytes."""
    import duckdb

    from openspm.engine.calc.explain import json_list, json_object

    rows = pa.table({"k": ["a", "a", "a"], "day": [1, 1, 0], "v": [Decimal(2), Decimal(1), Decimal(3)]})
    element = json_object(rows.schema, {"day": "day", "v": "v"})
    texts = set()
    for order in ([0, 1, 2], [1, 0, 2], [2, 1, 0]):
        with duckdb.connect() as duck:
            duck.register("t", rows.take(order))
            texts.add(
                duck.sql(f"SELECT {json_list(element, ['day'])} AS j FROM t GROUP BY k").fetchall()[0][0]
            )
    assert texts == {'[{"day":0,"v":"3"},{"day":1,"v":"1"},{"day":1,"v":"2"}]'}
