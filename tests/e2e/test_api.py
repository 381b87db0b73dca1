"""The JSON API (`/api/v1`) over the small company: every resource, row scopes, paging, filters and errors."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from openspm.access.roles import Role
from openspm.services import users
from openspm.services.imports import import_directory
from openspm.settings import Settings
from openspm.store.db import make_engine
from openspm.store.migrate import upgrade
from openspm.web.app import create_app
from tests.e2e.conftest import PASSWORD, SMALL, Web

API = "/api/v1"
PROBLEM = "application/problem+json"

#: resource → (list path, key field, a key the admin can get)
RESOURCES = {
    "people": ("/people", "person_id", "P-AE1"),
    "org-units": ("/org-units", "org_unit_id", "T-EAST"),
    "accounts": ("/accounts", "account_id", "A1"),
    "opportunities": ("/opportunities", "opportunity_id", "O1"),
    "activities": ("/activities", "activity_id", "AC1"),
    "transactions": ("/transactions", "transaction_id", "TX1"),
    "quotas": ("/quotas", "id", "1"),
}


def get(client: TestClient, path: str, **params: Any) -> Response:
    response: Response = client.get(API + path, params=params)
    return response


def ids(client: TestClient, path: str, key: str, **params: Any) -> list[str]:
    response = get(client, path, limit=500, **params)
    assert response.status_code == 200, response.text
    return [str(item[key]) for item in response.json()["items"]]


def assert_problem(response: Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    return body


# --- every resource ------------------------------------------------------------------------------------
@pytest.mark.parametrize("resource", RESOURCES)
def test_admin_lists_and_gets_every_resource(web: Web, resource: str) -> None:
    path, key, wanted = RESOURCES[resource]
    admin = web.client("admin")
    page = get(admin, path).json()
    assert wanted in [str(item[key]) for item in page["items"]]
    assert page["total"] == len(page["items"])
    assert (page["limit"], page["offset"]) == (50, 0)
    one = get(admin, f"{path}/{wanted}")
    assert one.status_code == 200, one.text
    body = one.json()
    assert str(body["unit"][key] if resource == "org-units" else body[key]) == wanted


def test_money_is_an_exact_string(web: Web) -> None:
    admin = web.client("admin")
    assert get(admin, "/opportunities/O2").json()["amount"] == "45000.75"
    assert get(admin, "/transactions/TX2").json()["amount"] == "-20000.00"
    assert get(admin, "/accounts/A2").json()["potential"] == "400000.50"
    assert get(admin, "/quotas/1").json()["amount"] == "150000.00"


def test_times_are_utc_and_days_iso(web: Web) -> None:
    admin = web.client("admin")
    assert get(admin, "/activities/AC3").json()["occurred_at"] == "2025-02-10T16:00:00Z"
    assert get(admin, "/opportunities/O1/history").json()["items"][0]["changed_at"] == "2025-01-10T09:00:00Z"
    assert get(admin, "/opportunities/O3").json()["next_step_date"] == "2025-04-02"


def test_an_opportunity_comes_with_its_history_and_splits(web: Web) -> None:
    admin = web.client("admin")
    deal = get(admin, "/opportunities/O1").json()
    assert [h["stage"] for h in deal["history"]] == ["Discovery", "Negotiation", "Closed Won"]
    assert deal["history"][0]["probability"] == "10"
    assert {(s["person_id"], s["percent"], s["kind"]) for s in deal["splits"]} == {
        ("P-AE1", "60", "revenue"),
        ("P-AE2", "40", "revenue"),
        ("P-SE", "100", "overlay"),
    }
    history = get(admin, "/opportunities/O1/history", limit=2)
    assert [h["stage"] for h in history.json()["items"]] == ["Discovery", "Negotiation"]
    assert 'rel="next"' in history.headers["link"]


def test_a_person_comes_with_current_assignment_reports_and_history(web: Web) -> None:
    admin = web.client("admin")
    manager = get(admin, "/people/P-MGR").json()
    assert manager["current_assignment"]["org_unit_id"] == "T-EAST"
    assert [r["person_id"] for r in manager["direct_reports"]] == ["P-AE1", "P-AE2"]
    history = get(admin, "/people/P-AE2/assignments").json()
    assert history["items"][0]["manager_name"] == "Maria Garcia"
    assert get(admin, "/people/P-AE2", as_of="2024-01-01").json()["current_assignment"] is None


def test_org_unit_subtree_and_head_counts_follow_the_scope(web: Web) -> None:
    admin, manager = web.client("admin"), web.client("manager")
    tree = get(admin, "/org-units/R-AMER").json()
    assert [p["org_unit_id"] for p in tree["path"]] == ["CO", "R-AMER"]
    assert tree["unit"]["headcount"] == 4
    assert [c["org_unit_id"] for c in tree["unit"]["children"]] == ["T-EAST"]
    assert get(manager, "/org-units/R-AMER").json()["unit"]["headcount"] == 3  # P-SE is not in the subtree
    assert_problem(get(admin, "/org-units/NOPE"), 404)


def test_me_and_periods_for_a_rep(web: Web) -> None:
    rep = web.client("rep")
    me = get(rep, "/me").json()
    assert (me["username"], me["person_id"], me["person_name"]) == ("rep", "P-AE1", "Alex Kim")
    assert me["roles"] == ["rep"]
    assert "manage_users" not in me["permissions"]
    assert get(rep, "/periods").status_code == 200
    quarter = get(rep, "/periods/2025-Q1").json()
    assert (quarter["start_date"], quarter["end_date"]) == ("2025-01-01", "2025-04-01")
    assert quarter["status"] == "open"
    assert_problem(get(rep, "/periods/not-a-period"), 404)


# --- row scopes ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("username", "path", "key"),
    [
        ("rep", "/people", "P-AE2"),
        ("rep", "/opportunities", "O2"),
        ("rep", "/activities", "AC3"),
        ("rep", "/accounts", "A2"),
        ("rep2", "/transactions", "TX1"),
        ("rep2", "/opportunities", "O1"),
        ("manager", "/people", "P-SE"),
        ("manager", "/activities", "AC4"),
    ],
)
def test_a_row_out_of_scope_is_indistinguishable_from_a_missing_one(
    web: Web, username: str, path: str, key: str
) -> None:
    client = web.client(username)
    hidden = assert_problem(get(client, f"{path}/{key}"), 404)
    missing = assert_problem(get(client, f"{path}/NO-SUCH-ROW"), 404)
    assert hidden["detail"].replace(key, "?") == missing["detail"].replace("NO-SUCH-ROW", "?")
    assert set(hidden) == {"type", "title", "status", "detail"}  # nothing of the row itself
    assert key not in ids(client, path, path_key(path))


def path_key(path: str) -> str:
    return {
        "/people": "person_id",
        "/opportunities": "opportunity_id",
        "/activities": "activity_id",
        "/accounts": "account_id",
        "/transactions": "transaction_id",
    }[path]


def test_a_rep_lists_only_their_own_rows(web: Web) -> None:
    rep = web.client("rep")
    assert ids(rep, "/people", "person_id") == ["P-AE1"]
    assert ids(rep, "/accounts", "account_id") == ["A1", "A3"]
    assert ids(rep, "/opportunities", "opportunity_id") == ["O1", "O3"]
    assert ids(rep, "/activities", "activity_id") == ["AC1", "AC2"]
    assert ids(rep, "/transactions", "transaction_id") == ["TX1", "TX2", "TX3"]
    assert ids(rep, "/quotas", "subject_id") == ["P-AE1"]  # not P-AE2's, not the team's
    assert get(rep, "/people").json()["total"] == 1
    rep2 = web.client("rep2")
    assert ids(rep2, "/transactions", "transaction_id") == []
    assert ids(rep2, "/opportunities", "opportunity_id") == ["O2"]


def test_the_manager_sees_the_team_but_not_the_se(web: Web) -> None:
    manager = web.client("manager")
    assert ids(manager, "/people", "person_id") == ["P-AE1", "P-AE2", "P-MGR"]
    assert ids(manager, "/activities", "activity_id") == ["AC1", "AC2", "AC3"]
    assert ids(manager, "/opportunities", "opportunity_id") == ["O1", "O2", "O3"]
    assert ids(manager, "/quotas", "subject_id") == ["P-AE1", "P-AE2", "T-EAST"]
    assert get(manager, "/people/P-AE2").status_code == 200


def test_finance_sees_all_people_and_deals(web: Web) -> None:
    finance, admin = web.client("finance"), web.client("admin")
    for path, key in (
        ("/people", "person_id"),
        ("/opportunities", "opportunity_id"),
        ("/activities", "activity_id"),
        ("/transactions", "transaction_id"),
    ):
        assert ids(finance, path, key) == ids(admin, path, key)
    assert ids(finance, "/people", "person_id") == ["P-AE1", "P-AE2", "P-MGR", "P-SE"]


@pytest.mark.parametrize(
    ("username", "path"),
    [
        ("rep", "/org-units"),
        ("rep", "/audit-events"),
        ("manager", "/audit-events"),
        ("manager", "/users"),
        ("revops", "/users"),
        ("finance", "/users"),
    ],
)
def test_a_role_without_the_permission_is_refused(web: Web, username: str, path: str) -> None:
    assert_problem(get(web.client(username), path), 403)


def test_unauthenticated_requests_get_401_problems(web: Web) -> None:
    anonymous = web.client(None)
    for path in ("/people", "/people/P-AE1", "/me", "/periods", "/users"):
        response = get(anonymous, path)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
    bad_token = TestClient(web.app, headers={"Authorization": "Bearer spm_not-a-token"})
    assert_problem(get(bad_token, "/people"), 401)


# --- paging, filters, bad parameters -------------------------------------------------------------------
def test_pages_walk_the_list_in_key_order_with_links(web: Web) -> None:
    admin = web.client("admin")
    first = get(admin, "/people", limit=3)
    assert first.json()["total"] == 4
    assert [p["person_id"] for p in first.json()["items"]] == ["P-AE1", "P-AE2", "P-MGR"]
    assert first.headers["link"].endswith('rel="next"')
    assert "offset=3" in first.headers["link"]
    assert "limit=3" in first.headers["link"]
    last = admin.get(first.headers["link"].split(">")[0][1:])
    assert [p["person_id"] for p in last.json()["items"]] == ["P-SE"]
    assert (last.json()["limit"], last.json()["offset"], last.json()["total"]) == (3, 3, 4)
    assert 'rel="next"' not in last.headers["link"]
    assert 'rel="prev"' in last.headers["link"]
    beyond = get(admin, "/people", offset=10).json()
    assert (beyond["items"], beyond["total"]) == ([], 4)
    assert "link" not in get(admin, "/people").headers


@pytest.mark.parametrize(
    ("path", "params", "key", "expected"),
    [
        ("/people", {"q": "KIM"}, "person_id", ["P-AE1"]),
        ("/people", {"org_unit_id": "R-AMER"}, "person_id", ["P-SE"]),
        ("/people", {"role": "ae"}, "person_id", ["P-AE1", "P-AE2"]),
        ("/people", {"role": "ae", "as_of": "2024-01-01"}, "person_id", ["P-AE1"]),
        ("/people", {"q": "%"}, "person_id", []),
        ("/accounts", {"segment": "Enterprise"}, "account_id", ["A1", "A3"]),
        ("/accounts", {"q": "globex", "owner_id": "P-AE1"}, "account_id", ["A1"]),
        ("/accounts", {"industry": "Software"}, "account_id", ["A2"]),
        ("/opportunities", {"is_closed": "false"}, "opportunity_id", ["O3"]),
        ("/opportunities", {"is_closed": "true", "is_won": "false"}, "opportunity_id", ["O2"]),
        ("/opportunities", {"owner_id": "P-AE1", "stage": "Proposal"}, "opportunity_id", ["O3"]),
        ("/opportunities", {"account_id": "A2"}, "opportunity_id", ["O2"]),
        (
            "/opportunities",
            {"close_date_from": "2025-03-06", "close_date_to": "2025-03-31"},
            "opportunity_id",
            ["O1"],
        ),
        ("/activities", {"type": "meeting"}, "activity_id", ["AC1", "AC4"]),
        ("/activities", {"person_id": "P-AE1", "opportunity_id": "O1"}, "activity_id", ["AC1"]),
        (
            "/activities",
            {"occurred_from": "2025-01-20", "occurred_to": "2025-02-10"},
            "activity_id",
            ["AC2", "AC3"],
        ),
        ("/transactions", {"kind": "booking"}, "transaction_id", ["TX1"]),
        ("/transactions", {"opportunity_id": "O1", "date_from": "2025-04-01"}, "transaction_id", ["TX2"]),
        ("/transactions", {"owner_id": "P-AE1", "date_to": "2025-03-20"}, "transaction_id", ["TX1"]),
        ("/quotas", {"subject_kind": "org_unit"}, "subject_id", ["T-EAST"]),
        ("/quotas", {"period": "2025-Q1", "subject_id": "P-AE2"}, "subject_id", ["P-AE2"]),
        ("/org-units", {"kind": "team"}, "org_unit_id", ["T-EAST"]),
        ("/org-units", {"parent_id": "CO"}, "org_unit_id", ["R-AMER"]),
    ],
)
def test_filters(web: Web, path: str, params: dict[str, str], key: str, expected: list[str]) -> None:
    admin = web.client("admin")
    assert ids(admin, path, key, **params) == expected
    assert get(admin, path, **params).json()["total"] == len(expected)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/people", {"limit": "0"}),
        ("/people", {"limit": "501"}),
        ("/people", {"offset": "-1"}),
        ("/people", {"limit": "ten"}),
        ("/people", {"as_of": "2025-02-30"}),
        ("/inspections/goodhart", {"as_of": "0001-01-01"}),  # its 90-day window would start before year 1
        ("/kpis", {"period": "2025-Q1", "as_of": "9999-12-31"}),
        ("/people", {"q": ""}),
        ("/opportunities", {"is_closed": "maybe"}),
        ("/opportunities", {"close_date_from": "yesterday"}),
        ("/activities", {"occurred_to": "2025-13-01"}),
        ("/transactions", {"date_to": "0"}),
        ("/periods", {"status": "paid"}),
        ("/audit-events", {"since": "soon"}),
        ("/quotas/abc", {}),
        ("/quotas/0", {}),
    ],
)
def test_bad_parameters_are_422_problems(web: Web, path: str, params: dict[str, str]) -> None:
    assert_problem(get(web.client("admin"), path, **params), 422)


# --- users and the audit log ----------------------------------------------------------------------------
def test_admin_creates_a_user_with_a_token_and_it_is_audited(web: Web) -> None:
    admin = web.client("admin")
    created = admin.post(
        f"{API}/users",
        json={
            "username": "Coach",
            "password": "a long enough passphrase",
            "roles": ["manager"],
            "person_id": "P-MGR",
        },
    )
    assert created.status_code == 201, created.text
    assert created.json() == {
        "username": "coach",
        "display_name": "coach",
        "person_id": "P-MGR",
        "roles": ["manager"],
        "is_active": True,
    }
    assert "coach" in ids(admin, "/users", "username")
    events = get(admin, "/audit-events", action="user.create", entity_key="coach").json()["items"]
    assert [(e["actor"], e["after"]["roles"]) for e in events] == [("admin", ["manager"])]
    assert "password" not in str(events)
    changed = admin.put(f"{API}/users/coach/roles", json={"roles": ["manager", "finance"]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["roles"] == ["finance", "manager"]
    event = get(admin, "/audit-events", action="user.roles", entity_key="coach").json()["items"][0]
    assert (event["before"], event["after"]) == ({"roles": ["manager"]}, {"roles": ["finance", "manager"]})
    again = {"username": "coach", "password": "a long enough passphrase"}
    assert_problem(admin.post(f"{API}/users", json=again), 409)


def test_creating_a_user_checks_the_body(web: Web) -> None:
    admin = web.client("admin")
    assert_problem(admin.post(f"{API}/users", json={"username": "weak", "password": "short"}), 422)
    unknown_role = {"username": "x", "password": "a long enough passphrase", "roles": ["king"]}
    assert_problem(admin.post(f"{API}/users", json=unknown_role), 422)
    assert_problem(admin.post(f"{API}/users", json={"password": "a long enough passphrase"}), 422)
    assert_problem(admin.put(f"{API}/users/nobody/roles", json={"roles": []}), 404)
    assert "weak" not in ids(admin, "/users", "username")


def test_only_the_admin_manages_users(web: Web) -> None:
    body = {"username": "intruder", "password": "a long enough passphrase", "roles": ["admin"]}
    for username in ("revops", "finance", "manager", "rep"):
        assert_problem(web.client(username).post(f"{API}/users", json=body), 403)
        assert_problem(web.client(username).put(f"{API}/users/rep/roles", json={"roles": ["admin"]}), 403)
    assert "intruder" not in ids(web.client("admin"), "/users", "username")
    assert get(web.client("admin"), "/users/rep").json()["roles"] == ["rep"]


def test_a_cookie_session_needs_the_csrf_token_to_change_anything(web: Web) -> None:
    browser = web.browser("admin")
    assert get(browser, "/me").json()["username"] == "admin"
    body = {"username": "via-browser", "password": "a long enough passphrase"}
    assert_problem(browser.post(f"{API}/users", json=body), 403)
    csrf = browser.get("/").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert browser.post(f"{API}/users", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201


# --- OpenAPI ------------------------------------------------------------------------------------------------
def test_the_openapi_document_is_clean(web: Web) -> None:
    document = web.client(None).get("/openapi.json").json()
    operations = [
        (path, method, op)
        for path, item in document["paths"].items()
        if path.startswith(API)
        for method, op in item.items()
    ]
    assert len(operations) >= 20
    for path, method, op in operations:
        where = f"{method.upper()} {path}"
        assert op.get("tags"), where
        assert op.get("summary"), where
        assert op["operationId"].replace("_", "").isalpha(), where
        success = op["responses"]["201" if method == "post" else "200"]["content"]["application/json"]
        # a named schema: one object, or a list of them where DESIGN.md §8 promises a plain JSON list
        schema = success["schema"].get("items", success["schema"])
        assert schema["$ref"].startswith("#/components/schemas/"), where
        for status in ("401", "403", "422"):
            assert PROBLEM in op["responses"][status]["content"], where
        if "{" in path:
            assert PROBLEM in op["responses"]["404"]["content"], where
    schemas = document["components"]["schemas"]
    assert schemas["OpportunityPublic"]["properties"]["amount"]["type"] == "string"
    assert {"ApiToken", "Session"} <= set(document["components"]["securitySchemes"])


# --- a reorganisation -------------------------------------------------------------------------------------
def _append(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields, existing = reader.fieldnames or [], list(reader)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(existing + [{k: r.get(k, "") for k in fields} for r in rows])


def _end_assignment(path: Path, person_id: str, end_date: str) -> None:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields, rows = reader.fieldnames or [], list(reader)
    for row in rows:
        if row["person_id"] == person_id:
            row["end_date"] = end_date
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


@dataclass
class Site:
    app: FastAPI
    tokens: dict[str, str]

    def client(self, username: str) -> TestClient:
        return TestClient(self.app, headers={"Authorization": f"Bearer {self.tokens[username]}"})


@pytest.fixture(scope="module")
def reorg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The small company, after which P-AE2 moves from P-MGR to a new manager P-MGR2 on 2025-07-01."""
    folder = tmp_path_factory.mktemp("reorg")
    data = folder / "data"
    shutil.copytree(SMALL, data)
    _append(
        data / "org_units.csv",
        [{"org_unit_id": "T-WEST", "name": "West team", "kind": "team", "parent_id": "R-AMER"}],
    )
    _append(data / "people.csv", [{"person_id": "P-MGR2", "name": "Noor Haddad", "hire_date": "2024-01-02"}])
    _end_assignment(data / "assignments.csv", "P-AE2", "2025-07-01")
    _append(
        data / "assignments.csv",
        [
            {"person_id": "P-MGR2", "role": "manager", "org_unit_id": "T-WEST", "start_date": "2024-01-02"},
            {
                "person_id": "P-AE2",
                "role": "ae",
                "org_unit_id": "T-WEST",
                "manager_id": "P-MGR2",
                "start_date": "2025-07-01",
            },
        ],
    )
    booking = {"kind": "booking", "owner_id": "P-AE2"}
    _append(
        data / "transactions.csv",
        [
            {"transaction_id": "TX-BEFORE", "date": "2025-05-10", "amount": "1000", **booking},
            {"transaction_id": "TX-AFTER", "date": "2025-08-10", "amount": "2000", **booking},
        ],
    )
    _append(
        data / "opportunities.csv",
        [
            {
                "opportunity_id": "O-OPEN",
                "account_id": "A2",
                "owner_id": "P-AE2",
                "amount": "5000",
                "stage": "Discovery",
                "created_date": "2025-05-01",
                "is_closed": "false",
                "is_won": "false",
            },
        ],
    )
    url = f"sqlite:///{folder / 'spm.db'}"
    engine = make_engine(url)
    upgrade(engine)
    report = import_directory(engine, data)
    assert report.ok, report.as_dict()
    tokens = {}
    with engine.begin() as conn:
        for name, person in (("manager", "P-MGR"), ("manager2", "P-MGR2")):
            user_id = users.create_user(
                conn,
                username=name,
                password=PASSWORD,
                actor="test",
                roles=frozenset({Role.MANAGER}),
                person_id=person,
            )
            tokens[name] = users.create_token(conn, users.principal_for(conn, user_id), "tests")[1]
    engine.dispose()
    app = create_app(Settings(database_url=url))
    yield Site(app, tokens)
    app.state.engine.dispose()


def test_after_a_reorg_each_manager_keeps_the_facts_of_their_own_time(reorg: Site) -> None:
    old, new = reorg.client("manager"), reorg.client("manager2")
    assert "TX-BEFORE" in ids(old, "/transactions", "transaction_id")
    assert "TX-AFTER" not in ids(old, "/transactions", "transaction_id")
    assert ids(new, "/transactions", "transaction_id") == ["TX-AFTER"]
    assert get(old, "/transactions/TX-AFTER").status_code == 404
    assert get(new, "/transactions/TX-BEFORE").status_code == 404
    assert get(new, "/transactions/TX-AFTER").json()["amount"] == "2000.00"
    # a closed deal stays with the line of its close date; an open one follows the line as of the viewed day
    assert "O2" in ids(old, "/opportunities", "opportunity_id")
    assert "O2" not in ids(new, "/opportunities", "opportunity_id")
    assert "O-OPEN" in ids(old, "/opportunities", "opportunity_id", as_of="2025-06-01")
    assert "O-OPEN" not in ids(old, "/opportunities", "opportunity_id", as_of="2025-08-01")
    assert "O-OPEN" in ids(new, "/opportunities", "opportunity_id", as_of="2025-08-01")


def test_as_of_changes_whom_a_manager_sees(reorg: Site) -> None:
    old, new = reorg.client("manager"), reorg.client("manager2")
    assert ids(old, "/people", "person_id", as_of="2025-06-01") == ["P-AE1", "P-AE2", "P-MGR"]
    assert ids(old, "/people", "person_id", as_of="2025-08-01") == ["P-AE1", "P-MGR"]
    assert ids(new, "/people", "person_id", as_of="2025-06-01") == ["P-MGR2"]
    assert ids(new, "/people", "person_id", as_of="2025-08-01") == ["P-AE2", "P-MGR2"]
    assert get(old, "/people/P-AE2", as_of="2025-08-01").status_code == 404
    moved = get(new, "/people/P-AE2", as_of="2025-08-01").json()
    assert moved["current_assignment"]["manager_id"] == "P-MGR2"
