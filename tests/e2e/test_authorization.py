"""The authorisation matrix: every route of the app × every role.

Routes are enumerated from the app itself, so a new route cannot escape: it must either declare exactly
one `require(...)` dependency or be listed in `PUBLIC_ROUTES`, and its path parameters must have sample
values below. Then each role is sent to each route and must be refused (403) exactly when its roles lack
the route's permission — and a rep or manager asking for someone else's data by id must never get it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Mount, Route

from openspm.access.roles import GRANTS, Permission
from openspm.web.security import PUBLIC_ROUTES, require
from tests.e2e.conftest import USERS, Web

#: A sample value for every path parameter, owned by the rep "rep" (P-AE1) or visible to them.
OWN = {
    "person_id": "P-AE1",
    "org_unit_id": "T-EAST",
    "account_id": "A1",
    "opportunity_id": "O3",
    "activity_id": "AC1",
    "transaction_id": "TX1",
    "username": "rep2",
    "token_id": "1",
    "label": "2025-Q1",
    "quota_id": "1",
    "period": "2025-Q1",
    "kpi": "win_rate",
    "run_id": "1",
    "subject_id": "P-AE1",
}
#: The same parameters naming rows of *other* people: P-AE2's person, deal, account and activity, and the
#: solutions engineer P-SE, who is outside the manager's subtree.
FOREIGN = {
    "person_id": ["P-AE2", "P-SE"],
    "opportunity_id": ["O2"],
    "account_id": ["A2"],
    "activity_id": ["AC3"],
}


def requirements(route: APIRoute) -> list[Permission]:
    found: list[Permission] = []

    def walk(dependant) -> None:  # type: ignore[no-untyped-def]
        for dependency in dependant.dependencies:
            if isinstance(dependency.call, require):
                found.append(dependency.call.permission)
            walk(dependency)

    walk(route.dependant)
    return found


def api_routes(web: Web) -> Iterator[tuple[str, APIRoute]]:
    """Every route as the app serves it: its full path, and the route with router dependencies applied."""
    for context in iter_route_contexts(web.app.routes):
        route = context.route
        if isinstance(route, APIRoute):
            yield context.path, route
        else:
            assert isinstance(route, Mount | Route), route
            assert context.path in PUBLIC_ROUTES, f"{context.path} is neither authorised nor public"


def test_every_route_declares_exactly_one_permission_or_is_public(web: Web) -> None:
    routes = list(api_routes(web))
    assert len(routes) > 20, "the app should have its API and pages mounted"
    for path, route in routes:
        needed = requirements(route)
        if path in PUBLIC_ROUTES:
            assert needed == [], f"{path} is public but also requires {needed}"
        else:
            assert len(needed) == 1, f"{route.methods} {path} declares {needed}, not exactly one require()"


def fill(path: str, values: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        assert name in values, f"add a sample value for path parameter {name!r} ({path})"
        return values[name]

    return re.sub(r"\{([^}]+)\}", value, path)


def cases(web: Web) -> Iterator[tuple[str, str, Permission]]:
    for path, route in api_routes(web):
        if path in PUBLIC_ROUTES:
            continue
        (permission,) = requirements(route)
        for method in sorted(route.methods - {"HEAD"}):
            yield method, path, permission


@pytest.mark.parametrize("username", sorted(USERS))
def test_each_role_is_refused_exactly_where_it_lacks_the_permission(web: Web, username: str) -> None:
    roles, _person = USERS[username]
    client = web.client(username)
    checked = 0
    for method, path, permission in cases(web):
        allowed = any(permission in GRANTS[r][0] for r in roles)
        if method != "GET" and allowed:
            continue  # allowed mutations are exercised by their own tests; here only refusals are sent
        response = client.request(method, fill(path, OWN))
        checked += 1
        if allowed:
            assert response.status_code not in (401, 403), (
                f"{username} refused {method} {path}: {response.text}"
            )
            assert response.status_code < 500, f"{method} {path} failed for {username}: {response.text}"
        else:
            assert response.status_code == 403, f"{username} was not refused {method} {path}"
            assert response.headers["content-type"].startswith(("application/problem+json", "text/html"))
    assert checked > 10


def test_anonymous_requests_are_refused_everywhere(web: Web) -> None:
    client = web.client(None)
    for method, path, _permission in cases(web):
        response = client.request(method, fill(path, OWN), headers={"accept": "application/json"})
        assert response.status_code == 401, f"anonymous {method} {path} got {response.status_code}"


@pytest.mark.parametrize("username", ["rep", "manager"])
def test_nobody_reads_data_outside_their_scope_by_id(web: Web, username: str) -> None:
    """The rep may not read P-AE2's (or P-SE's) data; the manager may not read P-SE, outside the subtree."""
    client = web.client(username)
    leaked = []
    for method, path, _permission in cases(web):
        if method != "GET":
            continue
        for name, others in FOREIGN.items():
            if f"{{{name}" not in path:
                continue
            for other in others:
                if username == "manager" and other != "P-SE":
                    continue  # P-AE2 and their deals are in the manager's subtree
                response = client.get(fill(path, {**OWN, name: other}))
                if response.status_code not in (403, 404):
                    leaked.append(f"{path} with {name}={other}: {response.status_code}")
    assert leaked == []
