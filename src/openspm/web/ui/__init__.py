"""The server-rendered pages (Jinja2 + HTMX): one router per feature, all included here."""

from __future__ import annotations

from fastapi import APIRouter

from openspm.web.ui import admin_users, analytics, audit, auth, home, org, pay, people

router = APIRouter(include_in_schema=False)
for _feature in (auth, home, org, people, analytics, pay, audit, admin_users):
    router.include_router(_feature.router)

__all__ = ["router"]
