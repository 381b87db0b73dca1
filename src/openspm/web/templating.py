"""Jinja2 templates and the context every page gets (the viewer, the navigation for their roles)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from openspm.access.roles import Permission, Principal

TEMPLATES = Path(__file__).parent / "templates"

#: Navigation: (label, path, permission needed). A link shows only when the viewer has the permission.
NAVIGATION: list[tuple[str, str, Permission]] = [
    ("Home", "/", Permission.SELF),
    ("Dashboards", "/dashboards", Permission.VIEW_DEALS),
    ("Inspection", "/inspection", Permission.VIEW_DEALS),
    ("Scorecards", "/scorecards", Permission.VIEW_DEALS),
    ("Behaviours", "/behaviours", Permission.VIEW_DEALS),
    ("Organisation", "/org", Permission.VIEW_ORG),
    ("Pay", "/pay", Permission.VIEW_PAY),
    ("Audit log", "/audit", Permission.VIEW_AUDIT),
    ("Users", "/admin/users", Permission.MANAGE_USERS),
    ("Account", "/account", Permission.SELF),
]


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=TEMPLATES)
    templates.env.globals["navigation_for"] = navigation_for
    return templates


def navigation_for(principal: Principal | None) -> list[tuple[str, str]]:
    if principal is None:
        return []
    return [(label, path) for label, path, permission in NAVIGATION if principal.may(permission)]


def render(request: Request, template: str, context: dict[str, Any], *, status_code: int = 200) -> Response:
    """Render a page; `context` should hold `viewer` (or None on public pages)."""
    templates: Jinja2Templates = request.app.state.templates
    viewer = context.get("viewer")
    page = {
        "principal": viewer.principal if viewer is not None else None,
        "csrf_token": viewer.csrf_token if viewer is not None else context.get("csrf_token"),
        **context,
    }
    return templates.TemplateResponse(request, template, page, status_code=status_code)
