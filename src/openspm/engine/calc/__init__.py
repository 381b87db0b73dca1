"""The compensation calculation: credits → measures → attainment → earnings → caps → draws/clawbacks →
payout lines, as pure relational steps over Arrow tables (see `tables.py` for the contract, `run.py`
for the pipeline)."""

from __future__ import annotations

from openspm.engine.calc.explain import Waterfall
from openspm.engine.calc.inputs import CalcInputs
from openspm.engine.calc.run import MEASURES, CalcResult, calculate, explain

__all__ = ["MEASURES", "CalcInputs", "CalcResult", "Waterfall", "calculate", "explain"]
