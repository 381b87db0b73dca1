"""Who am I: the caller's user, roles, permissions and person (`SelfViewer`)."""

from __future__ import annotations

from fastapi import APIRouter

from openspm.services import records
from openspm.web.deps import Conn, SelfViewer

router = APIRouter(tags=["me"])


@router.get("/me", summary="The signed-in user")
def get_me(viewer: SelfViewer, conn: Conn) -> records.MePublic:
    """The caller's user name, roles, what they allow, and the person the user is (if any)."""
    return records.me(conn, viewer.principal)
