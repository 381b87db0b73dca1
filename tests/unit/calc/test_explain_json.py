"""Canonical JSON numbers in explanations: plain notation, no trailing zeros, exactly the value."""

from __future__ import annotations

import json
import re
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
