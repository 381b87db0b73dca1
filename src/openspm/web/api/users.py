"""Users and their roles (`UserManager`: admins only). Every change is audited by `services.users`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from openspm.access.roles import Role
from openspm.services import records, users
from openspm.web.api.common import NOT_FOUND, Key, Pages, problem
from openspm.web.deps import Conn, UserManager

router = APIRouter(prefix="/users", tags=["users"])


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=254, pattern=r"^[^\x00]+$")
    password: str = Field(min_length=1, max_length=1024, description="checked against the password rules")
    roles: list[Role] = []
    display_name: str | None = Field(None, max_length=200, pattern=r"^[^\x00]*$")
    person_id: str | None = Field(None, max_length=64, pattern=r"^[^\x00]+$", description="who the user is")


class RolesUpdate(BaseModel):
    roles: list[Role]


@router.get("", summary="List users")
def list_users(viewer: UserManager, conn: Conn, paging: Pages) -> records.UserPage:
    return paging.respond(records.list_users(conn, paging.window))


ALREADY_EXISTS: dict[int | str, dict[str, Any]] = {409: problem("The user already exists")}


@router.post("", summary="Create a user", status_code=201, responses=ALREADY_EXISTS)
def create_user(viewer: UserManager, conn: Conn, user: UserCreate) -> records.UserPublic:
    """A new user with a password (checked against the rules) and roles; audited as `user.create`."""
    users.create_user(
        conn,
        username=user.username,
        password=user.password,
        roles=frozenset(user.roles),
        display_name=user.display_name,
        person_id=user.person_id,
        actor=viewer.principal.username,
    )
    conn.commit()
    return records.get_user(conn, user.username)


@router.get("/{username}", summary="One user", responses=NOT_FOUND)
def get_user(viewer: UserManager, conn: Conn, username: Key) -> records.UserPublic:
    return records.get_user(conn, username)


@router.put("/{username}/roles", summary="Replace a user's roles", responses=NOT_FOUND)
def set_user_roles(viewer: UserManager, conn: Conn, username: Key, change: RolesUpdate) -> records.UserPublic:
    users.set_roles(conn, username, frozenset(change.roles), actor=viewer.principal.username)
    conn.commit()
    return records.get_user(conn, username)
