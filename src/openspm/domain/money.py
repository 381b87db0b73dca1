"""Money: exact `Decimal` amounts and the one place where they are rounded.

OpenSPM never uses floats for money. Amounts travel as `Decimal` (in Python) or `decimal128`
(in Arrow) and are rounded exactly once, half-up to the currency's minor unit, by
`round_money` — every payout line and every displayed amount goes through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 minor units for the currencies a sales organisation commonly books in.
# Anything not listed here has two decimals, which is right for nearly all others.
MINOR_UNITS: dict[str, int] = {
    "BHD": 3,
    "CLP": 0,
    "ISK": 0,
    "JOD": 3,
    "JPY": 0,
    "KRW": 0,
    "KWD": 3,
    "OMR": 3,
    "TND": 3,
    "UGX": 0,
    "VND": 0,
    "XAF": 0,
    "XOF": 0,
}

#: Scale at which the store keeps amounts: 1/10,000 of a unit, enough for every currency's minor
#: unit (at most 3 decimals) and for sub-cent unit prices. See `store/types.py`.
STORE_SCALE = 4


def minor_units(currency: str) -> int:
    """Number of decimals in the currency's minor unit (ISO 4217), 2 unless listed."""
    return MINOR_UNITS.get(currency.upper(), 2)


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit: the only rounding of money in OpenSPM."""
    exponent = Decimal(1).scaleb(-minor_units(currency))
    return amount.quantize(exponent, rounding=ROUND_HALF_UP)


def parse_decimal(text: str) -> Decimal:
    """Parse a plain decimal (`1234.50`, `-3`, `1e3` refused); raise ValueError if not one."""
    cleaned = text.strip()
    if not cleaned or any(c in cleaned for c in "eEnNiI,_ "):
        raise ValueError(f"not a plain decimal number: {text!r}")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError(f"not a plain decimal number: {text!r}") from exc
    return value


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in a currency."""

    amount: Decimal
    currency: str

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money(self.amount + other.amount, self.currency)

    def rounded(self) -> Money:
        return Money(round_money(self.amount, self.currency), self.currency)

    def __str__(self) -> str:
        return f"{self.rounded().amount:,} {self.currency}"
