"""Monthly exchange rates for the company's foreign business (EUR, GBP) into USD."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from openspm.demo.columns import Floats, Ints, dates, decimal, rng_for, typed_table
from openspm.demo.timeline import Timeline

CURRENCIES = ("USD", "EUR", "GBP")
START_RATES = (1.0, 1.08, 1.27)
RATE_DECIMALS = 6


@dataclass(frozen=True)
class FxRates:
    month_starts: Ints  # day numbers of the first day of each month
    micro_rates: Ints  # (currencies, months): USD per unit, in millionths

    def rate(self, currency: Ints, days: Ints) -> Floats:
        month = np.searchsorted(self.month_starts, days, side="right") - 1
        return np.asarray(
            self.micro_rates[currency, np.maximum(month, 0)] / 10**RATE_DECIMALS, dtype=np.float64
        )

    def table(self) -> pa.Table:
        months = len(self.month_starts)
        currency = np.repeat(np.arange(1, len(CURRENCIES)), months)
        rates = self.micro_rates[1:].reshape(-1)
        return typed_table(
            "fx_rates",
            {
                "currency": pa.array([CURRENCIES[c] for c in currency], pa.string()),
                "date": dates(np.tile(self.month_starts, len(CURRENCIES) - 1)),
                "rate": decimal(rates, RATE_DECIMALS),
            },
            len(rates),
        )


def build_fx(seed: int, timeline: Timeline) -> FxRates:
    rng = rng_for(seed, "fx")
    first = np.datetime64(timeline.burn_start, "M")
    last = np.datetime64(timeline.today, "M")
    months = np.arange(first, last + 1).astype("datetime64[D]").astype(np.int64)
    walk = np.exp(np.cumsum(rng.normal(0.0, 0.012, size=(len(CURRENCIES), len(months))), axis=1))
    walk[0] = 1.0
    rates = np.round(np.asarray(START_RATES)[:, None] * walk * 10**RATE_DECIMALS).astype(np.int64)
    return FxRates(months, rates)
