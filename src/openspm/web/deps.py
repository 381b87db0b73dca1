"""FastAPI dependencies as `Annotated` aliases, in one place."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy import Connection

from openspm.access.roles import Permission
from openspm.web.db import get_conn
from openspm.web.security import Viewer, require

Conn = Annotated[Connection, Depends(get_conn)]

OrgViewer = Annotated[Viewer, Depends(require(Permission.VIEW_ORG))]
PeopleViewer = Annotated[Viewer, Depends(require(Permission.VIEW_PEOPLE))]
DealsViewer = Annotated[Viewer, Depends(require(Permission.VIEW_DEALS))]
PayViewer = Annotated[Viewer, Depends(require(Permission.VIEW_PAY))]
AuditViewer = Annotated[Viewer, Depends(require(Permission.VIEW_AUDIT))]
DataManager = Annotated[Viewer, Depends(require(Permission.MANAGE_DATA))]
UserManager = Annotated[Viewer, Depends(require(Permission.MANAGE_USERS))]
SelfViewer = Annotated[Viewer, Depends(require(Permission.SELF))]
