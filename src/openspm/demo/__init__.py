"""The demo company: a deterministic, realistic generator of canonical tables."""

from openspm.demo.company import DemoCompany, generate_company

__all__ = ["DemoCompany", "generate_company"]
