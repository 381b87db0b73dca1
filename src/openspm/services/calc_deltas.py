"""Retroactive corrections: what a recomputed closed period owes, as delta lines in the open period.

An approved or locked period never changes. When recomputing it gives a different total for a person,
plan version and component than what was recorded for it (its own lines plus every delta already
recorded for it), the difference becomes one `delta` line in the open period being run, pointing at the
period it corrects (`corrects_period`). Its explanation carries what was recorded, what the period
comes to now, and the recomputed lines' own explanations — down to the source transactions.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa

from openspm.domain.money import round_money
from openspm.engine.calc.tables import PAYOUT_LINES

Key = tuple[str, str, int, str, str]  # person_id, plan, version, component, currency
LINE_ORDER = ("person_id", "period", "plan", "version", "component", "line_kind", "corrects_period")


def dumps(value: Any) -> str:
    """The one JSON spelling of an explanation: sorted keys, no spaces, decimals as text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _totals(rows: Iterable[dict[str, Any]]) -> dict[Key, Decimal]:
    totals: dict[Key, Decimal] = defaultdict(Decimal)
    for r in rows:
        key = (r["person_id"], r["plan"], int(r["version"]), r["component"], r["currency"])
        totals[key] += r["amount"]
    return totals


def delta_lines(recorded: pa.Table, recomputed: pa.Table, *, corrects: str, into: str) -> pa.Table:
    """Delta lines (schema `PAYOUT_LINES`, period `into`) that bring `recorded` to `recomputed`.

    `recorded` holds what was recorded for the closed period `corrects` (its lines and earlier deltas
    for it), `recomputed` what the period comes to now. Rounding: both sides are rounded payout lines,
    so a delta is an exact difference of cents and is not rounded again.
    """
    columns = ["person_id", "plan", "version", "component", "currency", "amount"]
    before = _totals(recorded.select(columns).to_pylist())
    now_rows = recomputed.select([*columns, "line_kind", "period", "explanation"]).to_pylist()
    now = _totals(now_rows)
    explained: dict[Key, list[Any]] = defaultdict(list)
    for r in now_rows:
        key = (r["person_id"], r["plan"], int(r["version"]), r["component"], r["currency"])
        explained[key].append(
            {
                "period": r["period"],
                "line_kind": r["line_kind"],
                "amount": str(round_money(r["amount"], r["currency"])),
                "explanation": json.loads(r["explanation"]) if r["explanation"] else None,
            }
        )
    out = []
    for key in sorted(set(before) | set(now)):
        was, is_now = before.get(key, Decimal(0)), now.get(key, Decimal(0))
        if was == is_now:
            continue
        person, plan, version, component, currency = key
        explanation = {
            "kind": "delta",
            "corrects_period": corrects,
            "recorded": str(round_money(was, currency)),
            "recomputed": str(round_money(is_now, currency)),
            "delta": str(round_money(is_now - was, currency)),
            "lines": explained.get(key, []),
        }
        out.append(
            (
                person,
                into,
                plan,
                version,
                component,
                "delta",
                is_now - was,
                currency,
                corrects,
                dumps(explanation),
            )
        )
    return table_of(out)


def table_of(rows: Sequence[tuple[Any, ...]], schema: pa.Schema = PAYOUT_LINES) -> pa.Table:
    if not rows:
        return schema.empty_table()
    columns = list(zip(*rows, strict=True))
    return pa.table([pa.array(list(c), f.type) for c, f in zip(columns, schema, strict=True)], schema=schema)


def sorted_lines(lines: pa.Table) -> pa.Table:
    """Lines in their one order (person, period, plan, version, component, kind, corrected period)."""
    if lines.num_rows == 0:
        return lines
    return lines.sort_by([(n, "ascending") for n in (*LINE_ORDER, "amount", "explanation")])
