"""Read-side records for the JSON API: a list and a get per entity, every query through the viewer's `Scope`.

A list returns a `Page` (items in key order, the total *in scope*, the window asked for); a get raises
`NotFound` for a row that does not exist *or* lies outside the scope, so the two cannot be told apart.
Deals, activities and transactions are scoped on the fact's own date (`Scope.facts`): a closed deal
belongs to whoever managed its owner when it closed, an open deal to the owner's line as of the viewed
date. Money stays a `Decimal`; in JSON it is a string with at least two decimals ("1200.50").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    Row,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    true,
)

from openspm.access.roles import Permission, Principal, Reach, Role
from openspm.domain.errors import NotFound
from openspm.domain.periods import PeriodKind, PeriodStatus
from openspm.services import audit_log, company, org, users
from openspm.services.org import assignment_rows, in_effect
from openspm.services.scopes import Scope
from openspm.store.models import (
    Account,
    Activity,
    Assignment,
    Base,
    Opportunity,
    OpportunityHistory,
    OpportunitySplit,
    Person,
    Quota,
    Transaction,
)

MAX_LIMIT = 500
MAX_OFFSET = 1_000_000_000


# --- exact numbers as text ---------------------------------------------------------------------------
def money_text(value: Decimal) -> str:
    """An exact amount as text with at least two decimals: 1200.5 → "1200.50", 0.1234 → "0.1234"."""
    whole, _, fraction = format(value, "f").partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')}"


def exact_text(value: Decimal) -> str:
    """An exact decimal as text without trailing zeros: 60.0000000000 → "60", 33.5 → "33.5"."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


MoneyText = Annotated[
    Decimal,
    PlainSerializer(money_text, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2,}$", "examples": ["1200.50"]}),
]
ExactText = Annotated[
    Decimal,
    PlainSerializer(exact_text, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "examples": ["33.5"]}),
]


def utc_text(value: datetime) -> str:
    """A stored (naive UTC) time as RFC 3339 text: 2025-01-12T14:00:00Z."""
    utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return utc.isoformat().replace("+00:00", "Z")


def _iso_day(value: object) -> object:
    """Only `YYYY-MM-DD` text is a day (pydantic alone would take "0" as a Unix time)."""
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("a day is written YYYY-MM-DD")
    return value


UtcTime = Annotated[
    datetime,
    PlainSerializer(utc_text, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2025-01-12T14:00:00Z"]}),
]
#: A day in a query: ISO `YYYY-MM-DD` only.
Day = Annotated[date, BeforeValidator(_iso_day)]
#: A text filter: no NUL (PostgreSQL refuses it in text), and short.
FilterText = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]


class Public(BaseModel):
    """A record as the API shows it: immutable."""

    model_config = ConfigDict(frozen=True)


# --- paging -------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Window:
    """Which slice of a list: `limit` rows after skipping `offset`."""

    limit: int = 50
    offset: int = 0

    def slice(self, items: Sequence[Any]) -> list[Any]:
        return list(items[self.offset : self.offset + self.limit])


T = TypeVar("T", bound=BaseModel)


class Page(Public, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int = Field(description="rows in scope that match the filters, over all pages")
    limit: int
    offset: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.items) < self.total


P = TypeVar("P", bound=Page[Any])


def _paged(page: type[P], items: list[Any], total: int, window: Window) -> P:
    return page(items=items, total=total, limit=window.limit, offset=window.offset)


def _sliced(page: type[P], items: list[Any], window: Window) -> P:
    """A page cut from a list already in memory (short lists: units, periods, users, a deal's history)."""
    return _paged(page, window.slice(items), len(items), window)


def _listed(
    conn: Connection,
    model: type[Base],
    where: list[ColumnElement[bool]],
    window: Window,
    *,
    record: type[BaseModel],
    page: type[P],
) -> P:
    """A page of `model` rows in key order, each validated as `record`, with the total that match `where`."""
    rows = _rows(conn, model, where, list(model.__table__.primary_key), window)
    return _paged(page, [record.model_validate(r._mapping) for r in rows], _count(conn, model, where), window)


def _count(conn: Connection, model: type[Base], where: Sequence[ColumnElement[bool]]) -> int:
    return int(conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def _rows(
    conn: Connection, model: type[Base], where: Sequence[ColumnElement[bool]], order: Any, window: Window
) -> Sequence[Row[Any]]:
    columns = model.__table__.columns
    query = select(*columns).where(*where).order_by(*order).limit(window.limit).offset(window.offset)
    return conn.execute(query).all()


def _one(conn: Connection, model: type[Base], where: Sequence[ColumnElement[bool]], what: str) -> Row[Any]:
    row = conn.execute(select(*model.__table__.columns).where(*where)).first()
    if row is None:
        raise NotFound(f"no {what}")
    return row


def _equal(pairs: Iterable[tuple[Any, Any]]) -> list[ColumnElement[bool]]:
    """`column == value` for every filter that was given."""
    return [column == value for column, value in pairs if value is not None]


def _day_start(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time())


def _day_after(day: date) -> datetime | None:
    return None if day == date.max else _day_start(day + timedelta(days=1))


# --- people -------------------------------------------------------------------------------------------
class AssignmentPublic(Public):
    role: str
    org_unit_id: str
    org_unit_name: str
    manager_id: str | None
    manager_name: str | None
    start_date: date
    end_date: date | None = Field(description="exclusive; null while the assignment lasts")


class MemberPublic(Public):
    person_id: str
    name: str
    role: str
    manager_id: str | None


class PersonPublic(Public):
    person_id: str
    name: str
    email: str | None
    hire_date: date | None
    termination_date: date | None
    current_assignment: AssignmentPublic | None = Field(description="the one in effect as of the viewed date")


class PersonDetailPublic(PersonPublic):
    direct_reports: list[MemberPublic] = Field(description="as of the viewed date, those the viewer may see")


class PersonPage(Page[PersonPublic]):
    pass


class AssignmentPage(Page[AssignmentPublic]):
    pass


class PeopleFilter(BaseModel):
    org_unit_id: FilterText | None = Field(None, description="assigned to this unit as of the viewed date")
    role: FilterText | None = Field(None, description="holding this role as of the viewed date")
    q: FilterText | None = Field(None, description="name contains (case-insensitive)")


def _current_assignments(conn: Connection, person_ids: list[str], day: date) -> dict[str, AssignmentPublic]:
    """Each person's assignment in effect on `day` (the latest started, if several)."""
    if not person_ids:
        return {}
    rows = conn.execute(
        assignment_rows(Assignment.person_id)
        .where(Assignment.person_id.in_(person_ids), in_effect(day))
        .order_by(Assignment.person_id, Assignment.start_date.desc(), Assignment.role)
    ).all()
    current: dict[str, AssignmentPublic] = {}
    for person_id, *fields in rows:
        current.setdefault(person_id, AssignmentPublic(**_assignment_fields(*fields)))
    return current


def _assignment_fields(*values: Any) -> dict[str, Any]:
    names = ("role", "org_unit_id", "org_unit_name", "manager_id", "manager_name", "start_date", "end_date")
    return dict(zip(names, values, strict=True))


def list_people(conn: Connection, scope: Scope, where: PeopleFilter, window: Window) -> PersonPage:
    conditions = [scope.people(Person.person_id)]
    placed = _equal([(Assignment.org_unit_id, where.org_unit_id), (Assignment.role, where.role)])
    if placed:
        conditions.append(
            exists(
                select(Assignment.id).where(
                    Assignment.person_id == Person.person_id, in_effect(scope.as_of), *placed
                )
            )
        )
    if where.q:
        conditions.append(Person.name.icontains(where.q, autoescape=True))
    rows = _rows(conn, Person, conditions, [Person.person_id], window)
    current = _current_assignments(conn, [r.person_id for r in rows], scope.as_of)
    items = [
        PersonPublic(
            person_id=r.person_id,
            name=r.name,
            email=r.email,
            hire_date=r.hire_date,
            termination_date=r.termination_date,
            current_assignment=current.get(r.person_id),
        )
        for r in rows
    ]
    return _paged(PersonPage, items, _count(conn, Person, conditions), window)


def _assignment(row: org.AssignmentRow) -> AssignmentPublic:
    return AssignmentPublic(
        **_assignment_fields(
            row.role,
            row.org_unit_id,
            row.org_unit_name,
            row.manager_id,
            row.manager_name,
            row.start_date,
            row.end_date,
        )
    )


def _member(member: org.Member) -> MemberPublic:
    return MemberPublic(
        person_id=member.person_id, name=member.name, role=member.role, manager_id=member.manager_id
    )


def get_person(conn: Connection, scope: Scope, person_id: str) -> PersonDetailPublic:
    """The person page's view (`org.person_view`) as a record."""
    view = org.person_view(conn, scope, person_id)
    return PersonDetailPublic(
        person_id=view.person_id,
        name=view.name,
        email=view.email,
        hire_date=view.hire_date,
        termination_date=view.termination_date,
        current_assignment=view.current and _assignment(view.current),
        direct_reports=[_member(m) for m in view.reports],
    )


def list_assignments(conn: Connection, scope: Scope, person_id: str, window: Window) -> AssignmentPage:
    """A person's assignment history, newest first."""
    history = [_assignment(a) for a in org.person_view(conn, scope, person_id).history]
    return _sliced(AssignmentPage, history, window)


# --- org units ------------------------------------------------------------------------------------------
class OrgUnitPublic(Public):
    org_unit_id: str
    name: str
    kind: str
    parent_id: str | None
    headcount: int = Field(description="people in the unit and below as of the viewed date (those in scope)")


class OrgNodePublic(OrgUnitPublic):
    members: list[MemberPublic] = Field(description="people assigned directly to this unit")
    children: list[OrgNodePublic]


class BreadcrumbPublic(Public):
    org_unit_id: str
    name: str


class OrgTreePublic(Public):
    as_of: date
    path: list[BreadcrumbPublic] = Field(description="from the root down to the unit")
    unit: OrgNodePublic


class OrgUnitPage(Page[OrgUnitPublic]):
    pass


class OrgUnitFilter(BaseModel):
    kind: FilterText | None = Field(None, description="company, region, team, …")
    parent_id: FilterText | None = None


def _walk(node: org.OrgNode) -> Iterable[org.OrgNode]:
    yield node
    for child in node.children:
        yield from _walk(child)


def list_org_units(conn: Connection, scope: Scope, where: OrgUnitFilter, window: Window) -> OrgUnitPage:
    """Every unit (in key order) with its head count; built on the drill-down's `org.org_view`."""
    try:
        top = org.org_view(conn, scope).unit
    except NotFound:  # no units at all
        return _sliced(OrgUnitPage, [], window)
    nodes = sorted((n for n in _walk(top) if n.org_unit_id), key=lambda n: n.org_unit_id)
    matching = [
        OrgUnitPublic(
            org_unit_id=n.org_unit_id, name=n.name, kind=n.kind, parent_id=n.parent_id, headcount=n.headcount
        )
        for n in nodes
        if (where.kind is None or n.kind == where.kind)
        and (where.parent_id is None or n.parent_id == where.parent_id)
    ]
    return _sliced(OrgUnitPage, matching, window)


def _node(node: org.OrgNode) -> OrgNodePublic:
    return OrgNodePublic(
        org_unit_id=node.org_unit_id,
        name=node.name,
        kind=node.kind,
        parent_id=node.parent_id,
        headcount=node.headcount,
        members=[_member(m) for m in node.members],
        children=[_node(c) for c in node.children],
    )


def get_org_unit(conn: Connection, scope: Scope, org_unit_id: str) -> OrgTreePublic:
    """The drill-down's view (`org.org_view`) of one unit and its subtree."""
    view = org.org_view(conn, scope, org_unit_id)
    path = [BreadcrumbPublic(org_unit_id=i, name=n) for i, n in view.path]
    return OrgTreePublic(as_of=view.as_of, path=path, unit=_node(view.unit))


# --- accounts ---------------------------------------------------------------------------------------------
class AccountPublic(Public):
    account_id: str
    name: str
    industry: str | None
    segment: str | None
    country: str | None
    lat: float | None
    lon: float | None
    potential: MoneyText | None
    owner_id: str | None
    extra: dict[str, Any] | None = Field(description="custom fields")


class AccountPage(Page[AccountPublic]):
    pass


class AccountFilter(BaseModel):
    owner_id: FilterText | None = None
    segment: FilterText | None = None
    industry: FilterText | None = None
    q: FilterText | None = Field(None, description="name contains (case-insensitive)")


def _account_scope(scope: Scope) -> ColumnElement[bool]:
    return scope.people(Account.owner_id)  # an account without an owner: only for those who see everything


def list_accounts(conn: Connection, scope: Scope, where: AccountFilter, window: Window) -> AccountPage:
    conditions = [
        _account_scope(scope),
        *_equal(
            [
                (Account.owner_id, where.owner_id),
                (Account.segment, where.segment),
                (Account.industry, where.industry),
            ]
        ),
    ]
    if where.q:
        conditions.append(Account.name.icontains(where.q, autoescape=True))
    return _listed(conn, Account, conditions, window, record=AccountPublic, page=AccountPage)


def get_account(conn: Connection, scope: Scope, account_id: str) -> AccountPublic:
    where = [Account.account_id == account_id, _account_scope(scope)]
    return AccountPublic.model_validate(_one(conn, Account, where, f"account {account_id!r}")._mapping)


# --- opportunities ------------------------------------------------------------------------------------------
class OpportunityPublic(Public):
    opportunity_id: str
    account_id: str
    owner_id: str
    name: str | None
    amount: MoneyText
    currency: str
    stage: str
    created_date: date
    close_date: date | None
    is_closed: bool
    is_won: bool
    product_id: str | None
    next_step: str | None
    next_step_date: date | None
    forecast_category: str | None
    extra: dict[str, Any] | None = Field(description="custom fields")


class OpportunityChangePublic(Public):
    changed_at: UtcTime
    stage: str
    amount: MoneyText | None
    close_date: date | None
    forecast_category: str | None
    probability: ExactText | None


class SplitPublic(Public):
    person_id: str
    percent: ExactText
    kind: str = Field(description="revenue (totals 100 per deal) or overlay")


class OpportunityDetailPublic(OpportunityPublic):
    history: list[OpportunityChangePublic] = Field(description="its state after each change, oldest first")
    splits: list[SplitPublic]


class OpportunityPage(Page[OpportunityPublic]):
    pass


class OpportunityChangePage(Page[OpportunityChangePublic]):
    pass


class OpportunityFilter(BaseModel):
    owner_id: FilterText | None = None
    account_id: FilterText | None = None
    stage: FilterText | None = None
    is_closed: bool | None = None
    is_won: bool | None = None
    close_date_from: Day | None = Field(None, description="inclusive")
    close_date_to: Day | None = Field(None, description="inclusive")


def _deal_scope(scope: Scope) -> ColumnElement[bool]:
    """A closed deal is judged on its close date, an open one on the viewed date."""
    viewed = literal(scope.as_of, Date)
    day = case((Opportunity.is_closed, func.coalesce(Opportunity.close_date, viewed)), else_=viewed)
    return scope.facts(Opportunity.owner_id, day)


def list_opportunities(
    conn: Connection, scope: Scope, where: OpportunityFilter, window: Window
) -> OpportunityPage:
    deal = Opportunity
    conditions = [
        _deal_scope(scope),
        *_equal(
            [
                (deal.owner_id, where.owner_id),
                (deal.account_id, where.account_id),
                (deal.stage, where.stage),
                (deal.is_closed, where.is_closed),
                (deal.is_won, where.is_won),
            ]
        ),
    ]
    if where.close_date_from is not None:
        conditions.append(Opportunity.close_date >= where.close_date_from)
    if where.close_date_to is not None:
        conditions.append(Opportunity.close_date <= where.close_date_to)
    return _listed(conn, deal, conditions, window, record=OpportunityPublic, page=OpportunityPage)


def _changes(conn: Connection, opportunity_id: str) -> list[OpportunityChangePublic]:
    rows = conn.execute(
        select(*OpportunityHistory.__table__.columns)
        .where(OpportunityHistory.opportunity_id == opportunity_id)
        .order_by(OpportunityHistory.changed_at)
    ).all()
    return [OpportunityChangePublic.model_validate(r._mapping) for r in rows]


def _visible_opportunity(conn: Connection, scope: Scope, opportunity_id: str) -> Row[Any]:
    where = [Opportunity.opportunity_id == opportunity_id, _deal_scope(scope)]
    return _one(conn, Opportunity, where, f"opportunity {opportunity_id!r}")


def get_opportunity(conn: Connection, scope: Scope, opportunity_id: str) -> OpportunityDetailPublic:
    """A deal with its history and splits."""
    row = _visible_opportunity(conn, scope, opportunity_id)
    splits = conn.execute(
        select(OpportunitySplit.person_id, OpportunitySplit.percent, OpportunitySplit.kind)
        .where(OpportunitySplit.opportunity_id == opportunity_id)
        .order_by(OpportunitySplit.kind, OpportunitySplit.person_id)
    ).all()
    history = _changes(conn, opportunity_id)
    parts = [SplitPublic.model_validate(s._mapping) for s in splits]
    return OpportunityDetailPublic(**row._mapping, history=history, splits=parts)


def list_opportunity_history(
    conn: Connection, scope: Scope, opportunity_id: str, window: Window
) -> OpportunityChangePage:
    _visible_opportunity(conn, scope, opportunity_id)
    return _sliced(OpportunityChangePage, _changes(conn, opportunity_id), window)


# --- activities -------------------------------------------------------------------------------------------
class ActivityPublic(Public):
    activity_id: str
    person_id: str
    type: str
    occurred_at: UtcTime
    duration_minutes: ExactText | None
    account_id: str | None
    opportunity_id: str | None
    outcome: str | None
    subject: str | None
    extra: dict[str, Any] | None = Field(description="custom fields")


class ActivityPage(Page[ActivityPublic]):
    pass


class ActivityFilter(BaseModel):
    person_id: FilterText | None = None
    type: FilterText | None = Field(None, description="call, email, meeting, demo, …")
    opportunity_id: FilterText | None = None
    occurred_from: Day | None = Field(None, description="inclusive (UTC day)")
    occurred_to: Day | None = Field(None, description="inclusive (UTC day)")


def _activity_scope(scope: Scope) -> ColumnElement[bool]:
    return scope.facts(Activity.person_id, Activity.occurred_at)


def list_activities(conn: Connection, scope: Scope, where: ActivityFilter, window: Window) -> ActivityPage:
    conditions = [
        _activity_scope(scope),
        *_equal(
            [
                (Activity.person_id, where.person_id),
                (Activity.type, where.type),
                (Activity.opportunity_id, where.opportunity_id),
            ]
        ),
    ]
    if where.occurred_from is not None:
        conditions.append(Activity.occurred_at >= _day_start(where.occurred_from))
    if where.occurred_to is not None and (after := _day_after(where.occurred_to)) is not None:
        conditions.append(Activity.occurred_at < after)
    return _listed(conn, Activity, conditions, window, record=ActivityPublic, page=ActivityPage)


def get_activity(conn: Connection, scope: Scope, activity_id: str) -> ActivityPublic:
    where = [Activity.activity_id == activity_id, _activity_scope(scope)]
    return ActivityPublic.model_validate(_one(conn, Activity, where, f"activity {activity_id!r}")._mapping)


# --- transactions ---------------------------------------------------------------------------------------
class TransactionPublic(Public):
    transaction_id: str
    kind: str = Field(description="booking, renewal, cancellation or invoice")
    date: date
    amount: MoneyText
    currency: str
    opportunity_id: str | None
    account_id: str | None
    product_id: str | None
    owner_id: str | None
    extra: dict[str, Any] | None = Field(description="custom fields")


class TransactionPage(Page[TransactionPublic]):
    pass


class TransactionFilter(BaseModel):
    owner_id: FilterText | None = None
    kind: FilterText | None = None
    date_from: Day | None = Field(None, description="inclusive")
    date_to: Day | None = Field(None, description="inclusive")
    opportunity_id: FilterText | None = None


def _transaction_scope(scope: Scope) -> ColumnElement[bool]:
    return scope.facts(Transaction.owner_id, Transaction.date)


def list_transactions(
    conn: Connection, scope: Scope, where: TransactionFilter, window: Window
) -> TransactionPage:
    line = Transaction
    conditions = [
        _transaction_scope(scope),
        *_equal(
            [
                (line.owner_id, where.owner_id),
                (line.kind, where.kind),
                (line.opportunity_id, where.opportunity_id),
            ]
        ),
    ]
    if where.date_from is not None:
        conditions.append(Transaction.date >= where.date_from)
    if where.date_to is not None:
        conditions.append(Transaction.date <= where.date_to)
    return _listed(conn, line, conditions, window, record=TransactionPublic, page=TransactionPage)


def get_transaction(conn: Connection, scope: Scope, transaction_id: str) -> TransactionPublic:
    where = [Transaction.transaction_id == transaction_id, _transaction_scope(scope)]
    row = _one(conn, Transaction, where, f"transaction {transaction_id!r}")
    return TransactionPublic.model_validate(row._mapping)


# --- quotas ------------------------------------------------------------------------------------------------
class QuotaPublic(Public):
    id: int
    subject_id: str
    subject_kind: str = Field(description="person or org_unit")
    measure: str
    period: str
    amount: MoneyText
    version: int


class QuotaPage(Page[QuotaPublic]):
    pass


class QuotaFilter(BaseModel):
    subject_id: FilterText | None = None
    subject_kind: FilterText | None = None
    measure: FilterText | None = None
    period: FilterText | None = Field(None, description="a period label: 2025-03, 2025-Q1, FY2025")


def _quota_scope(scope: Scope) -> ColumnElement[bool]:
    """A person's quota goes with the person; org-unit quotas only to those who see all or a subtree."""
    if scope.reach is Reach.ALL:
        return true()
    mine = and_(Quota.subject_kind == "person", scope.people(Quota.subject_id))
    return or_(mine, Quota.subject_kind == "org_unit") if scope.reach is Reach.SUBTREE else mine


def list_quotas(conn: Connection, scope: Scope, where: QuotaFilter, window: Window) -> QuotaPage:
    conditions = [
        _quota_scope(scope),
        *_equal(
            [
                (Quota.subject_id, where.subject_id),
                (Quota.subject_kind, where.subject_kind),
                (Quota.measure, where.measure),
                (Quota.period, where.period),
            ]
        ),
    ]
    return _listed(conn, Quota, conditions, window, record=QuotaPublic, page=QuotaPage)


def get_quota(conn: Connection, scope: Scope, quota_id: int) -> QuotaPublic:
    where = [Quota.id == quota_id, _quota_scope(scope)]
    return QuotaPublic.model_validate(_one(conn, Quota, where, f"quota {quota_id}")._mapping)


# --- periods -----------------------------------------------------------------------------------------------
class PeriodPublic(Public):
    label: str = Field(examples=["2025-Q1"])
    kind: PeriodKind
    start_date: date
    end_date: date = Field(description="exclusive")
    status: PeriodStatus


class PeriodPage(Page[PeriodPublic]):
    pass


class PeriodFilter(BaseModel):
    kind: PeriodKind | None = None
    status: PeriodStatus | None = None


def _period(state: company.PeriodState) -> PeriodPublic:
    start, end = date.fromisoformat(state.start), date.fromisoformat(state.end)
    return PeriodPublic(
        label=state.label, kind=PeriodKind(state.kind), status=state.status, start_date=start, end_date=end
    )


def list_periods(conn: Connection, where: PeriodFilter, window: Window) -> PeriodPage:
    """Periods whose status was ever set (any other period is open), by start date."""
    periods = [
        _period(p)
        for p in company.list_periods(conn)
        if where.kind in (None, p.kind) and where.status in (None, p.status)
    ]
    return _sliced(PeriodPage, periods, window)


def get_period(conn: Connection, label: str) -> PeriodPublic:
    try:
        return _period(company.period_status(conn, label))
    except ValueError as exc:
        raise NotFound(str(exc)) from exc


# --- audit events -------------------------------------------------------------------------------------------
class AuditEventPublic(Public):
    id: int
    at: UtcTime
    actor: str
    action: str
    entity: str
    entity_key: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    hash: str


class AuditEventPage(Page[AuditEventPublic]):
    pass


class AuditEventFilter(BaseModel):
    actor: FilterText | None = None
    action: FilterText | None = Field(None, description="e.g. user.create, import, period.status")
    entity: FilterText | None = None
    entity_key: FilterText | None = None
    since: Day | None = Field(None, description="inclusive (UTC day)")
    until: Day | None = Field(None, description="inclusive (UTC day)")


def list_audit_events(conn: Connection, where: AuditEventFilter, window: Window) -> AuditEventPage:
    """Newest first (the audit page's `audit_log.browse`)."""
    until = None if where.until == date.max else where.until  # the day after it does not exist
    wanted = audit_log.AuditFilter(
        where.actor, where.action, where.entity, where.entity_key, where.since, until
    )
    found = audit_log.browse(conn, wanted, limit=window.limit, offset=window.offset)
    items = [
        AuditEventPublic(
            id=e.id,
            at=e.at,
            actor=e.actor,
            action=e.action,
            entity=e.entity,
            entity_key=e.entity_key,
            before=e.before,
            after=e.after,
            hash=e.hash,
        )
        for e in found.entries
    ]
    return _paged(AuditEventPage, items, found.total, window)


# --- users and me -------------------------------------------------------------------------------------------
class UserPublic(Public):
    username: str
    display_name: str
    person_id: str | None
    roles: list[Role]
    is_active: bool


class UserPage(Page[UserPublic]):
    pass


class MePublic(Public):
    username: str
    person_id: str | None
    person_name: str | None
    roles: list[Role]
    permissions: list[Permission] = Field(description="what the roles allow")


def _user(row: tuple[str, str, str | None, list[str], bool]) -> UserPublic:
    username, display_name, person_id, roles, is_active = row
    return UserPublic(
        username=username,
        display_name=display_name,
        person_id=person_id,
        roles=[Role(r) for r in roles],
        is_active=is_active,
    )


def list_users(conn: Connection, window: Window) -> UserPage:
    found = [_user(u) for u in users.list_users(conn)]
    return _sliced(UserPage, found, window)


def get_user(conn: Connection, username: str) -> UserPublic:
    found = next(iter(users.list_users(conn, username=username)), None)
    if found is None:
        raise NotFound(f"no user {username!r}")
    return _user(found)


def me(conn: Connection, principal: Principal) -> MePublic:
    name = None
    if principal.person_id is not None:
        name = conn.execute(select(Person.name).where(Person.person_id == principal.person_id)).scalar()
    permissions = [p for p in Permission if principal.may(p)]
    return MePublic(
        username=principal.username,
        person_id=principal.person_id,
        person_name=name,
        roles=sorted(principal.roles),
        permissions=permissions,
    )
