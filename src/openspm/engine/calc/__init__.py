"""The compensation calculation: credits → measures → attainment → earnings → caps → draws/clawbacks →
payout lines, as pure relational steps over Arrow tables (see `tables.py` for the contract, `run.py`
for the pipeline).

The names below load on first use: importing the contract (`tables`, `inputs`) must not import Ibis,
so that commands which only describe plans or data start quickly.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CalcInputs": "openspm.engine.calc.inputs",
    "CalcResult": "openspm.engine.calc.run",
    "MEASURES": "openspm.engine.calc.run",
    "Waterfall": "openspm.engine.calc.explain",
    "calculate": "openspm.engine.calc.run",
    "explain": "openspm.engine.calc.run",
}
__all__ = ["MEASURES", "CalcInputs", "CalcResult", "Waterfall", "calculate", "explain"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
