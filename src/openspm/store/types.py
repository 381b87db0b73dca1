"""Column types that keep values exact on every backend.

`Money` stores an amount as a BIGINT of 1/10,000 units (`STORE_SCALE` = 4): exact on SQLite, which has
no decimal type, fast to read into Arrow (`int64` → `decimal128(18, 4)` without parsing), and the same
on PostgreSQL so one code path serves both. Python code always sees a `Decimal`.
`ExactDecimal` does the same for rates and percentages with 10 decimals.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Dialect
from sqlalchemy.types import TypeDecorator

from openspm.domain.money import STORE_SCALE


class _ScaledInteger(TypeDecorator[Decimal]):
    impl = BigInteger
    cache_ok = True
    scale = STORE_SCALE

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        scaled = Decimal(value).scaleb(self.scale)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than {self.scale} decimals")
        return int(scaled)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-self.scale)


class Money(_ScaledInteger):
    """An exact money amount stored as integer 1/10,000 units."""

    cache_ok = True
    scale = STORE_SCALE


class ExactDecimal(_ScaledInteger):
    """An exact rate or percentage stored as integer 1e-10 units."""

    cache_ok = True
    scale = 10
