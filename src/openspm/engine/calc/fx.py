"""Exchange rates for crediting: a small table of exact conversion factors per day and currency pair.

`fx_rates` holds, per currency, the units of the company's base currency one unit buys, effective from a
date until the next row of that currency (the base currency itself is 1 whether or not it has rows). A
source row in currency C credited on a plan in currency P converts at

    fx_rate = rate(C) / rate(P)          (plan currency per unit of source currency)

with both rates as of the plan's rate date (the transaction date, or the last day of the plan period).
The ratio is computed here with `Decimal` for the few hundred (day, currency pair) combinations a
calculation needs and rounded half-up to 10 decimal places (the calculation's EXACT scale), so every
backend multiplies by the same number; the engine then joins this table on (rate_date, currency pair).
A pair with no rate on a day (a currency without any row on or before it) is simply absent: its credits
get a null `fx_rate` and amount (`crediting.credit_problems` lists them).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pyarrow as pa

from openspm.engine.calc.tables import EXACT

FX_FACTORS = pa.schema(
    [
        ("rate_date", pa.date32()),
        ("from_currency", pa.string()),  # the source row's currency
        ("to_currency", pa.string()),  # the plan currency
        ("fx_rate", EXACT),  # plan currency per unit of the source currency
    ]
)

_QUANTUM = Decimal(1).scaleb(-EXACT.scale)


def _rate_history(fx_rates: pa.Table) -> dict[str, tuple[list[date], list[Decimal]]]:
    """currency → (effective dates ascending, rates); a later row on the same date wins."""
    history: dict[str, dict[date, Decimal]] = {}
    columns = fx_rates.select(["currency", "date", "rate"]).to_pydict()
    for currency, day, rate in zip(columns["currency"], columns["date"], columns["rate"], strict=True):
        if currency is not None and day is not None and rate is not None:
            history.setdefault(currency, {})[day] = Decimal(rate)
    return {c: (sorted(by_day), [by_day[d] for d in sorted(by_day)]) for c, by_day in history.items()}


def rate_on(
    history: dict[str, tuple[list[date], list[Decimal]]], base: str, currency: str, day: date
) -> Decimal | None:
    """Units of the base currency per unit of `currency` on `day`; None when no rate is in force."""
    if currency == base:
        return Decimal(1)
    if currency not in history:
        return None
    days, rates = history[currency]
    at = bisect_right(days, day)
    return rates[at - 1] if at else None


def fx_factors(
    fx_rates: pa.Table,
    base_currency: str,
    rate_dates: Iterable[date],
    to_currencies: Iterable[str],
    from_currencies: Iterable[str] = (),
) -> pa.Table:
    """The conversion factor for every rate date, source currency and plan currency (schema FX_FACTORS).

    Source currencies are those of `fx_rates`, the base currency and `from_currencies`; a pair of equal
    currencies is left out (the engine uses 1 for it).
    """
    history = _rate_history(fx_rates)
    targets = sorted(set(to_currencies))
    sources = sorted(set(history) | {base_currency} | set(from_currencies) | set(targets))
    out: dict[str, list[object]] = {name: [] for name in FX_FACTORS.names}
    for day in sorted(set(rate_dates)):
        for to in targets:
            divisor = rate_on(history, base_currency, to, day)
            if not divisor:
                continue
            for source in sources:
                rate = rate_on(history, base_currency, source, day)
                if source == to or rate is None:
                    continue
                out["rate_date"].append(day)
                out["from_currency"].append(source)
                out["to_currency"].append(to)
                out["fx_rate"].append((rate / divisor).quantize(_QUANTUM, rounding=ROUND_HALF_UP))
    return pa.table(out, schema=FX_FACTORS)
