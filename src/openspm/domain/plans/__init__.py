"""Compensation plans as code: the plan document model, its validation and structural diff (docs/plans.md)."""

from __future__ import annotations

from openspm.domain.plans.diff import Change, diff_plans
from openspm.domain.plans.fields import field_catalogue, resolve_field, visible_tables
from openspm.domain.plans.model import (
    Bonus,
    Cap,
    Commission,
    Component,
    CreditRule,
    Draw,
    Gate,
    Measure,
    MeasureSource,
    Milestone,
    Override,
    Plan,
    PlanAssignment,
    Spif,
    Tier,
)
from openspm.domain.plans.validation import ExpressionChecker, PlanProblem, PlanValidation, validate_plan

__all__ = [
    "Bonus",
    "Cap",
    "Change",
    "Commission",
    "Component",
    "CreditRule",
    "Draw",
    "ExpressionChecker",
    "Gate",
    "Measure",
    "MeasureSource",
    "Milestone",
    "Override",
    "Plan",
    "PlanAssignment",
    "PlanProblem",
    "PlanValidation",
    "Spif",
    "Tier",
    "diff_plans",
    "field_catalogue",
    "resolve_field",
    "validate_plan",
    "visible_tables",
]
