"""Money is exact and rounded once, half-up, to the currency's minor unit."""

from decimal import Decimal

import pytest

from openspm.domain.money import Money, parse_decimal, round_money


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("2.345", "USD", "2.35"),  # half-up, not banker's rounding (which gives 2.34)
        ("2.344999", "USD", "2.34"),
        ("-2.345", "USD", "-2.35"),  # half away from zero for negatives
        ("1234.5", "JPY", "1235"),
        ("1.2345", "KWD", "1.235"),
    ],
)
def test_round_money_half_up_to_minor_unit(amount: str, currency: str, expected: str) -> None:
    assert round_money(Decimal(amount), currency) == Decimal(expected)
    assert str(round_money(Decimal(amount), currency)) == expected


@pytest.mark.parametrize("text", ["1e3", "1,000", "NaN", "inf", "", " ", "12.3.4", "$5"])
def test_parse_decimal_refuses_anything_but_plain_decimals(text: str) -> None:
    with pytest.raises(ValueError, match="plain decimal"):
        parse_decimal(text)


def test_money_refuses_to_add_currencies() -> None:
    with pytest.raises(ValueError, match="EUR"):
        _ = Money(Decimal(1), "USD") + Money(Decimal(1), "EUR")
    assert Money(Decimal("0.1"), "USD") + Money(Decimal("0.2"), "USD") == Money(Decimal("0.3"), "USD")
