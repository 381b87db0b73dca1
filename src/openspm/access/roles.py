"""Roles, the permissions they grant, and the rows each role may see (DESIGN.md §4, issue: access model).

| role    | may                                                               | rows                     |
| ------- | ----------------------------------------------------------------- | ------------------------ |
| admin   | everything, including managing users                              | all                      |
| revops  | everything but managing users                                     | all                      |
| finance | org, people, deals, pay and audit — never coaching notes          | all                      |
| manager | org, people, deals, pay, coaching                                 | their reporting subtree  |
| rep     | their own people-data, deals, plan and pay, coaching about them   | themselves               |

A user may hold several roles; permissions are the union, and rows are the widest scope of the roles that
grant the permission in question. Subtrees are effective-dated: see `reporting.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    REVOPS = "revops"
    FINANCE = "finance"
    MANAGER = "manager"
    REP = "rep"


class Permission(StrEnum):
    """What a request needs. Every route declares exactly one (or is listed as public)."""

    VIEW_ORG = "view_org"  # the org tree and its units
    VIEW_PEOPLE = "view_people"  # people, their assignments, quotas
    VIEW_DEALS = "view_deals"  # accounts, opportunities, activities, transactions
    VIEW_PAY = "view_pay"  # plans, payouts, statements
    VIEW_COACHING = "view_coaching"  # coaching notes, reviews
    VIEW_AUDIT = "view_audit"  # the audit log
    MANAGE_DATA = "manage_data"  # imports, periods, settings
    MANAGE_USERS = "manage_users"  # users, roles
    SELF = "self"  # one's own account: password, API tokens


class Reach(StrEnum):
    """How far a role's rows reach."""

    ALL = "all"
    SUBTREE = "subtree"
    SELF = "self"


_EVERYTHING = frozenset(Permission)
GRANTS: dict[Role, tuple[frozenset[Permission], Reach]] = {
    Role.ADMIN: (_EVERYTHING, Reach.ALL),
    Role.REVOPS: (_EVERYTHING - {Permission.MANAGE_USERS}, Reach.ALL),
    Role.FINANCE: (
        frozenset(
            {
                Permission.VIEW_ORG,
                Permission.VIEW_PEOPLE,
                Permission.VIEW_DEALS,
                Permission.VIEW_PAY,
                Permission.VIEW_AUDIT,
                Permission.SELF,
            }
        ),
        Reach.ALL,
    ),
    Role.MANAGER: (
        frozenset(
            {
                Permission.VIEW_ORG,
                Permission.VIEW_PEOPLE,
                Permission.VIEW_DEALS,
                Permission.VIEW_PAY,
                Permission.VIEW_COACHING,
                Permission.SELF,
            }
        ),
        Reach.SUBTREE,
    ),
    Role.REP: (
        frozenset(
            {
                Permission.VIEW_PEOPLE,
                Permission.VIEW_DEALS,
                Permission.VIEW_PAY,
                Permission.VIEW_COACHING,
                Permission.SELF,
            }
        ),
        Reach.SELF,
    ),
}
_WIDTH = {Reach.SELF: 0, Reach.SUBTREE: 1, Reach.ALL: 2}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a user, the person they are (if any) and their roles."""

    user_id: int
    username: str
    person_id: str | None
    roles: frozenset[Role] = field(default_factory=frozenset)

    def may(self, permission: Permission) -> bool:
        return any(permission in GRANTS[r][0] for r in self.roles)

    def reach(self, permission: Permission) -> Reach | None:
        """The widest reach among the roles granting `permission` (None: not granted)."""
        reaches = [GRANTS[r][1] for r in self.roles if permission in GRANTS[r][0]]
        return max(reaches, key=_WIDTH.__getitem__) if reaches else None


def parse_roles(names: list[str] | tuple[str, ...]) -> frozenset[Role]:
    """Roles from their names; raise ValueError naming an unknown one."""
    roles = set()
    for name in names:
        try:
            roles.add(Role(name.strip().lower()))
        except ValueError:
            raise ValueError(f"unknown role {name!r} (roles: {', '.join(Role)})") from None
    return frozenset(roles)
