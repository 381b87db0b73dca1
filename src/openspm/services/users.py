"""Users, sign-in (with back-off after failures), browser sessions and API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from openspm.access import passwords, tokens
from openspm.access.roles import Principal, Role
from openspm.domain.errors import Conflict, InvalidRequest, NotFound
from openspm.store.audit import record_event
from openspm.store.models import ApiToken, Person, User, UserRole, WebSession

FREE_ATTEMPTS = 5  # failures before a sign-in is locked
MAX_LOCK = timedelta(hours=1)
SESSION_LIFETIME = timedelta(hours=12)
LAST_USED_RESOLUTION = timedelta(minutes=1)  # how precisely an API token's last use is recorded


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def lock_duration(failures: int) -> timedelta:
    """Back-off after the free attempts: 1, 2, 4 … minutes, at most an hour."""
    if failures < FREE_ATTEMPTS:
        return timedelta(0)
    return min(timedelta(minutes=2 ** (failures - FREE_ATTEMPTS)), MAX_LOCK)


# --- users ---------------------------------------------------------------------------------------
def principal_for(conn: Connection, user_id: int) -> Principal:
    user = conn.execute(select(User.id, User.username, User.person_id).where(User.id == user_id)).one()
    roles = conn.execute(select(UserRole.role).where(UserRole.user_id == user_id)).scalars()
    return Principal(user.id, user.username, user.person_id, frozenset(Role(r) for r in roles))


def normalise_username(username: str) -> str:
    """User names are compared and recorded trimmed and in lower case."""
    return username.strip().lower()


def user_id_of(conn: Connection, username: str) -> int:
    found = conn.execute(select(User.id).where(User.username == normalise_username(username))).scalar()
    if found is None:
        raise NotFound(f"no user {username!r}")
    return found


def create_user(
    conn: Connection,
    *,
    username: str,
    password: str,
    roles: frozenset[Role],
    actor: str,
    display_name: str | None = None,
    person_id: str | None = None,
) -> int:
    """Add a user (audited; the password itself is never logged)."""
    username = normalise_username(username)
    if not username:
        raise InvalidRequest("a user name is required")
    if problems := passwords.password_problems(password, username=username):
        raise InvalidRequest("password " + "; ".join(problems))
    if conn.execute(select(User.id).where(User.username == username)).first():
        raise Conflict(f"user {username!r} already exists")
    if (
        person_id
        and conn.execute(select(Person.person_id).where(Person.person_id == person_id)).first() is None
    ):
        raise InvalidRequest(f"no person {person_id!r}")
    now = _now()
    try:
        user_id = conn.execute(
            insert(User)
            .values(
                username=username,
                display_name=display_name or username,
                person_id=person_id,
                password_hash=passwords.hash_password(password),
                is_active=True,
                failed_sign_ins=0,
                created_at=now,
                password_changed_at=now,
            )
            .returning(User.id)
        ).scalar_one()
    except IntegrityError as exc:  # a concurrent request created the same user name first
        raise Conflict(f"user {username!r} already exists") from exc
    if roles:
        conn.execute(insert(UserRole), [{"user_id": user_id, "role": r.value} for r in sorted(roles)])
    record_event(
        conn,
        actor=actor,
        action="user.create",
        entity="user",
        entity_key=username,
        after={"person_id": person_id, "roles": sorted(roles)},
    )
    return user_id


def set_roles(conn: Connection, username: str, roles: frozenset[Role], *, actor: str) -> None:
    """Replace a user's roles (audited); the last active admin cannot lose the admin role."""
    username = normalise_username(username)
    user_id = user_id_of(conn, username)
    before = sorted(principal_for(conn, user_id).roles)
    if Role.ADMIN in before and Role.ADMIN not in roles:
        other_admins = conn.execute(
            select(func.count())
            .select_from(UserRole)
            .join(User, User.id == UserRole.user_id)
            .where(UserRole.role == Role.ADMIN.value, User.is_active.is_(True), User.id != user_id)
        ).scalar_one()
        if other_admins == 0:
            raise Conflict(f"{username} is the last admin: make someone else admin first")
    conn.execute(delete(UserRole).where(UserRole.user_id == user_id))
    if roles:
        conn.execute(insert(UserRole), [{"user_id": user_id, "role": r.value} for r in sorted(roles)])
    record_event(
        conn,
        actor=actor,
        action="user.roles",
        entity="user",
        entity_key=username,
        before={"roles": before},
        after={"roles": sorted(roles)},
    )


def set_password(conn: Connection, username: str, new_password: str, *, actor: str) -> None:
    """Replace a password (audited) and end the user's other sessions."""
    username = normalise_username(username)
    user_id = user_id_of(conn, username)
    if problems := passwords.password_problems(new_password, username=username):
        raise InvalidRequest("password " + "; ".join(problems))
    conn.execute(
        update(User)
        .where(User.id == user_id)
        .values(
            password_hash=passwords.hash_password(new_password),
            password_changed_at=_now(),
            failed_sign_ins=0,
            locked_until=None,
        )
    )
    conn.execute(delete(WebSession).where(WebSession.user_id == user_id))
    record_event(conn, actor=actor, action="user.password", entity="user", entity_key=username)


def change_own_password(conn: Connection, principal: Principal, current: str, new_password: str) -> None:
    stored = conn.execute(select(User.password_hash).where(User.id == principal.user_id)).scalar_one()
    if not passwords.verify_password(stored, current):
        raise InvalidRequest("the current password is not right")
    set_password(conn, principal.username, new_password, actor=principal.username)


# --- sign-in -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SignIn:
    principal: Principal | None
    reason: str = ""  # why not, in words safe to show (never whether the user exists)
    locked_until: datetime | None = None


def authenticate(conn: Connection, username: str, password: str, *, now: datetime | None = None) -> SignIn:
    """Check a password, counting failures; after FREE_ATTEMPTS the account backs off exponentially."""
    now = now or _now()
    user = conn.execute(select(User).where(User.username == normalise_username(username))).first()
    generic = "user name or password is not right"
    if user is None:
        passwords.verify_password(_dummy_hash(), password)  # same cost as a real check: no user enumeration
        return SignIn(None, generic)
    row = user
    if row.locked_until is not None and row.locked_until > now:
        return SignIn(None, "too many failed sign-ins; try again later", row.locked_until)
    if not row.is_active or not passwords.verify_password(row.password_hash, password):
        failures = conn.execute(  # counted in the database, so concurrent attempts are never lost
            update(User)
            .where(User.id == row.id)
            .values(failed_sign_ins=User.failed_sign_ins + 1)
            .returning(User.failed_sign_ins)
        ).scalar_one()
        locked_until = now + lock_duration(failures) if failures >= FREE_ATTEMPTS else None
        if locked_until is not None:
            conn.execute(update(User).where(User.id == row.id).values(locked_until=locked_until))
        record_event(
            conn,
            actor="system",
            action="user.locked" if locked_until is not None else "user.sign_in_failed",
            entity="user",
            entity_key=row.username,
            after={"failed_sign_ins": failures, "locked_until": locked_until},
        )
        return SignIn(None, generic, locked_until)
    values: dict[str, object] = {"failed_sign_ins": 0, "locked_until": None}
    rehashed = passwords.needs_rehash(row.password_hash)
    if rehashed:
        values["password_hash"] = passwords.hash_password(password)
    conn.execute(update(User).where(User.id == row.id).values(**values))
    if rehashed:
        record_event(
            conn, actor="system", action="user.password_rehash", entity="user", entity_key=row.username
        )
    return SignIn(principal_for(conn, row.id))


@cache
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist (computed once, on first need)."""
    return passwords.hash_password("not a real password, only for timing")


# --- sessions --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Session:
    token: str  # goes in the cookie; only its digest is stored
    csrf_token: str


def start_session(conn: Connection, principal: Principal) -> Session:
    token, csrf = tokens.new_secret(), tokens.new_secret()
    now = _now()
    conn.execute(
        insert(WebSession).values(
            token_hash=tokens.digest(token),
            user_id=principal.user_id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    conn.execute(delete(WebSession).where(WebSession.expires_at < now))  # tidy expired sessions
    record_event(
        conn, actor=principal.username, action="user.sign_in", entity="user", entity_key=principal.username
    )
    return Session(token, csrf)


def resolve_session(conn: Connection, token: str) -> tuple[Principal, str] | None:
    """The principal and CSRF token of a live session, or None."""
    row = conn.execute(
        select(WebSession.user_id, WebSession.csrf_token, WebSession.expires_at, User.is_active)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.token_hash == tokens.digest(token))
    ).first()
    if row is None or row.expires_at < _now() or not row.is_active:
        return None
    return principal_for(conn, row.user_id), row.csrf_token


def end_session(conn: Connection, principal: Principal, token: str) -> None:
    conn.execute(delete(WebSession).where(WebSession.token_hash == tokens.digest(token)))
    record_event(
        conn, actor=principal.username, action="user.sign_out", entity="user", entity_key=principal.username
    )


# --- API tokens ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def create_token(conn: Connection, principal: Principal, name: str) -> tuple[int, str]:
    """A new API token for the principal; the plain token is returned once and never stored."""
    if not name.strip():
        raise InvalidRequest("a token needs a name")
    token = tokens.new_api_token()
    token_id = conn.execute(
        insert(ApiToken)
        .values(
            user_id=principal.user_id,
            name=name.strip(),
            token_hash=tokens.digest(token),
            prefix=token[:12],
            created_at=_now(),
        )
        .returning(ApiToken.id)
    ).scalar_one()
    record_event(
        conn,
        actor=principal.username,
        action="token.create",
        entity="api_token",
        entity_key=str(token_id),
        after={"name": name.strip(), "prefix": token[:12]},
    )
    return token_id, token


def list_tokens(conn: Connection, principal: Principal) -> list[TokenInfo]:
    rows = conn.execute(
        select(
            ApiToken.id,
            ApiToken.name,
            ApiToken.prefix,
            ApiToken.created_at,
            ApiToken.last_used_at,
            ApiToken.revoked_at,
        )
        .where(ApiToken.user_id == principal.user_id)
        .order_by(ApiToken.id)
    ).all()
    return [TokenInfo(*r) for r in rows]


def revoke_token(conn: Connection, principal: Principal, token_id: int) -> None:
    found = conn.execute(
        select(ApiToken.id).where(
            ApiToken.id == token_id, ApiToken.user_id == principal.user_id, ApiToken.revoked_at.is_(None)
        )
    ).first()
    if found is None:
        raise NotFound(f"no active token {token_id}")
    conn.execute(update(ApiToken).where(ApiToken.id == token_id).values(revoked_at=_now()))
    record_event(
        conn, actor=principal.username, action="token.revoke", entity="api_token", entity_key=str(token_id)
    )


def resolve_token(conn: Connection, token: str) -> Principal | None:
    row = conn.execute(
        select(ApiToken.id, ApiToken.user_id, ApiToken.last_used_at, User.is_active)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == tokens.digest(token), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None or not row.is_active:
        return None
    now = _now()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        # at most one write a minute per token: reads stay reads, and concurrent clients do not queue
        conn.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return principal_for(conn, row.user_id)


def list_users(
    conn: Connection, *, username: str | None = None
) -> list[tuple[str, str, str | None, list[str], bool]]:
    """Every user (or only `username`, matched after normalisation) with their roles, by user name."""
    query = select(User.id, User.username, User.display_name, User.person_id, User.is_active)
    role_query = select(UserRole.user_id, UserRole.role)
    if username is not None:
        query = query.where(User.username == normalise_username(username))
        role_query = role_query.join(User, User.id == UserRole.user_id).where(
            User.username == normalise_username(username)
        )
    users = conn.execute(query.order_by(User.username)).all()
    roles: dict[int, list[str]] = {}
    for user_id, role in conn.execute(role_query.order_by(UserRole.role)):
        roles.setdefault(user_id, []).append(role)
    return [(u.username, u.display_name, u.person_id, roles.get(u.id, []), u.is_active) for u in users]
