"""Row scopes as SQL: the one query builder every read of people-data goes through.

A `Scope` is what one principal may see under one permission, as of one date. It turns into a WHERE
clause for a person column — on its own for people-data as of the viewed date, or together with the
fact's own date for deals, activities and transactions, so that after a reorganisation a manager keeps
the moved rep's earlier facts and does not see the later ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true

from openspm.access.roles import Permission, Principal, Reach
from openspm.store.models import ReportingLine


@dataclass(frozen=True, slots=True)
class Scope:
    principal: Principal
    permission: Permission
    as_of: date

    @property
    def reach(self) -> Reach | None:
        return self.principal.reach(self.permission)

    @property
    def sees_everything(self) -> bool:
        return self.reach is Reach.ALL

    def people(self, person_column: Any) -> ColumnElement[bool]:
        """Rows about a person the principal may see as of the viewed date."""
        return self._on(person_column, self.as_of)

    def facts(self, person_column: Any, date_column: Any) -> ColumnElement[bool]:
        """Facts (deals, activities, transactions) whose person was in scope on the fact's own date."""
        return self._on(person_column, date_column)

    def _on(self, person_column: Any, day: Any) -> ColumnElement[bool]:
        reach, me = self.reach, self.principal.person_id
        if reach is Reach.ALL:
            return true()
        if reach is None or me is None:
            return false()
        if reach is Reach.SELF:
            return person_column == me  # type: ignore[no-any-return]
        line = ReportingLine
        in_window = and_(line.start_date <= day, or_(line.end_date.is_(None), line.end_date > day))
        return exists(
            select(line.id).where(line.ancestor_id == me, line.person_id == person_column, in_window)
        )
