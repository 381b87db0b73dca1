"""The server-rendered pages: who sees which page, row scopes, forms, CSRF and HTMX fragments."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openspm.access.roles import Role
from openspm.services import users
from openspm.settings import Settings
from openspm.store.db import make_engine
from openspm.web.app import create_app
from openspm.web.ui import errors

PASSWORD = "correct horse battery"  # every user's password in the `web` fixture (tests/e2e/conftest.py)
HTML = {"accept": "text/html"}
EVERYONE = ("admin", "revops", "finance", "manager", "rep", "rep2")

#: page → (users who may open it, text the page must show); a user whose roles allow the page but whose row
#: scope does not reach the row gets 404 (NOT_IN_SCOPE), everyone else 403.
PAGES: dict[str, tuple[tuple[str, ...], str]] = {
    "/": (EVERYONE, "Welcome"),
    "/org": (("admin", "revops", "finance", "manager"), "Acme Sales"),
    "/org/T-EAST": (("admin", "revops", "finance", "manager"), "East team"),
    "/people/P-AE1": (("admin", "revops", "finance", "manager", "rep"), "Assignment history"),
    "/audit": (("admin", "revops", "finance"), "Audit log"),
    "/admin/users": (("admin",), "Add a user"),
    "/account": (EVERYONE, "API tokens"),
}
NOT_IN_SCOPE = {("/people/P-AE1", "rep2")}


def expected_status(path: str, user: str) -> int:
    if (path, user) in NOT_IN_SCOPE:
        return 404
    return 200 if user in PAGES[path][0] else 403


CASES = [(path, user, expected_status(path, user)) for path in PAGES for user in EVERYONE]


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(web: Any, username: str, password: str) -> TestClient:
    client = TestClient(web.app, follow_redirects=False)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(client.get("/login").text)},
    )
    assert response.status_code == 303, response.text
    return client


def add_user(web: Any, username: str, roles: frozenset[Role], person_id: str | None = None) -> None:
    engine = make_engine(web.url)
    with engine.begin() as conn:
        users.create_user(
            conn, username=username, password=PASSWORD, roles=roles, actor="test", person_id=person_id
        )
    engine.dispose()


@pytest.fixture(scope="module")
def browsers(web: Any) -> dict[str, TestClient]:
    """One signed-in browser session per user, shared by the read-only tests."""
    return {name: web.browser(name) for name in EVERYONE}


# --- who sees which page ------------------------------------------------------------------------
@pytest.mark.parametrize(("path", "user", "status"), CASES)
def test_each_page_renders_for_the_roles_that_may_see_it_and_refuses_the_rest(
    browsers: dict[str, TestClient], path: str, user: str, status: int
) -> None:
    response = browsers[user].get(path, headers=HTML)
    assert response.status_code == status, response.text
    if status == 200:
        assert response.headers["content-type"].startswith("text/html")
        assert PAGES[path][1] in response.text


@pytest.mark.parametrize("path", list(PAGES))
def test_anonymous_visitors_are_sent_to_sign_in(web: Any, path: str) -> None:
    response = web.client().get(path, headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={path}"


def test_sign_in_returns_to_the_page_asked_for_with_its_query(web: Any) -> None:
    """The query survives the round trip through /login (encoded, so `&` cannot split `next`)."""
    client = web.client()
    response = client.get("/org?as_of=2025-03-01&x=1", headers=HTML)
    assert response.headers["location"] == "/login?next=/org%3Fas_of%3D2025-03-01%26x%3D1"
    form = client.get(response.headers["location"])
    assert 'value="/org?as_of=2025-03-01&amp;x=1"' in form.text


def test_navigation_shows_only_the_pages_a_role_may_open(browsers: dict[str, TestClient]) -> None:
    rep = browsers["rep"].get("/").text
    admin = browsers["admin"].get("/").text
    assert 'href="/admin/users"' in admin
    assert 'href="/audit"' in admin
    assert 'href="/admin/users"' not in rep
    assert 'href="/audit"' not in rep
    assert 'href="/org"' not in rep


# --- home -----------------------------------------------------------------------------------------
def test_home_is_shaped_by_role(browsers: dict[str, TestClient]) -> None:
    admin = browsers["admin"].get("/").text
    assert re.search(r'tile-value">4</span><span class="tile-label">people', admin)
    manager = browsers["manager"].get("/").text
    assert "Welcome, Maria Garcia" in manager
    assert "Your team" in manager
    assert re.search(r'tile-value">3</span><span class="tile-label">people in your reporting line', manager)
    assert "Alex Kim" in manager
    assert "Jo Müller" in manager
    assert "Sam Lee" not in manager
    rep = browsers["rep"].get("/").text
    assert "Welcome, Alex Kim" in rep
    assert "East team" in rep
    assert "Maria Garcia" in rep
    assert "Your team" not in rep
    assert "Jo Müller" not in rep


# --- org drill-down and row scopes ----------------------------------------------------------------
def test_managers_see_their_team_and_not_others_while_admin_sees_everyone(
    browsers: dict[str, TestClient],
) -> None:
    manager_team = browsers["manager"].get("/org/T-EAST").text
    assert "P-AE1" in manager_team
    assert "P-AE2" in manager_team
    manager_region = browsers["manager"].get("/org/R-AMER").text
    assert "P-SE" not in manager_region
    assert "Sam Lee" not in manager_region
    admin_region = browsers["admin"].get("/org/R-AMER").text
    assert "P-SE" in admin_region
    assert "Sam Lee" in admin_region
    assert '<strong class="headcount">4</strong>' in admin_region
    assert '<strong class="headcount">3</strong>' in manager_region


def test_the_org_page_has_breadcrumbs_drill_down_links_and_the_chart_data(
    browsers: dict[str, TestClient],
) -> None:
    page = browsers["admin"].get("/org/R-AMER").text
    assert 'href="/org/CO"' in page  # breadcrumb up to the company
    assert 'hx-get="/org/T-EAST"' in page
    assert 'hx-target="#org-view"' in page
    assert 'hx-push-url="true"' in page
    assert 'href="/people/P-SE"' in page
    chart = re.search(r"data-chart='([^']*)'", page)
    assert chart
    data = json.loads(chart.group(1))
    assert data["categories"] == ["East team"]
    assert data["links"] == ["T-EAST"]
    assert data["series"] == [{"name": "team", "data": [3]}]  # East team: P-MGR, P-AE1 and P-AE2


def test_htmx_navigation_gets_the_fragment_and_a_plain_request_the_whole_page(
    browsers: dict[str, TestClient],
) -> None:
    full = browsers["admin"].get("/org/T-EAST")
    fragment = browsers["admin"].get("/org/T-EAST", headers={"HX-Request": "true"})
    restore = browsers["admin"].get(
        "/org/T-EAST", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in full.text
    assert 'id="org-view"' in full.text
    assert "<html" not in fragment.text
    assert 'id="org-view"' in fragment.text
    assert "<title>East team · OpenSPM</title>" in fragment.text
    assert "<html" in restore.text
    assert "HX-Request" in full.headers["vary"]


def test_the_as_of_date_changes_the_team_and_is_kept_in_links(browsers: dict[str, TestClient]) -> None:
    before_jo = browsers["manager"].get("/org/T-EAST?as_of=2023-01-01").text
    assert "P-AE1" in before_jo
    assert "P-AE2" not in before_jo
    assert 'href="/people/P-AE1?as_of=2023-01-01"' in before_jo
    assert 'value="2023-01-01"' in before_jo  # the picker shows the viewed date
    region = browsers["manager"].get("/org/R-AMER?as_of=2023-01-01").text
    assert 'hx-get="/org/T-EAST?as_of=2023-01-01"' in region


def test_an_unknown_org_unit_is_a_404_page(browsers: dict[str, TestClient]) -> None:
    response = browsers["admin"].get("/org/NOPE")
    assert response.status_code == 404
    assert "Not found" in response.text
    assert "<html" in response.text


# --- people ---------------------------------------------------------------------------------------
def test_the_person_page_shows_the_current_assignment_history_and_reports(
    browsers: dict[str, TestClient],
) -> None:
    alex = browsers["manager"].get("/people/P-AE1").text
    assert "Alex Kim" in alex
    assert "East team" in alex
    assert "Maria Garcia" in alex
    assert "2021-03-01" in alex
    maria = browsers["admin"].get("/people/P-MGR").text
    assert 'href="/people/P-AE1"' in maria
    assert 'href="/people/P-AE2"' in maria


def test_a_person_out_of_scope_is_not_found(browsers: dict[str, TestClient]) -> None:
    assert browsers["rep"].get("/people/P-AE1").status_code == 200
    hidden = browsers["rep"].get("/people/P-AE2", headers=HTML)
    assert hidden.status_code == 404
    assert "Jo Müller" not in hidden.text
    assert browsers["manager"].get("/people/P-SE").status_code == 404
    assert browsers["admin"].get("/people/NOBODY").status_code == 404


# --- audit ----------------------------------------------------------------------------------------
def test_the_audit_page_filters_and_shows_before_and_after(browsers: dict[str, TestClient]) -> None:
    everything = browsers["revops"].get("/audit").text
    assert '<option value="user.create"' in everything
    filtered = browsers["revops"].get("/audit", params={"action": "user.create", "key": "rep2"}).text
    assert "<strong>1</strong> event" in filtered
    assert "&#34;person_id&#34;: &#34;P-AE2&#34;" in filtered  # the event's "after", as indented JSON
    assert "<details" in filtered
    none = browsers["revops"].get("/audit", params={"actor": "nobody-at-all"}).text
    assert "<strong>0</strong> events" in none


def test_a_bad_audit_date_is_reported_on_the_page(browsers: dict[str, TestClient]) -> None:
    response = browsers["admin"].get("/audit", params={"since": "yesterday"})
    assert response.status_code == 200
    assert "since must be a date" in response.text


# --- forms, CSRF and user management ----------------------------------------------------------------
def test_a_form_post_without_the_csrf_token_is_refused(web: Any) -> None:
    admin = web.browser("admin")
    form = {"username": "mallory", "password": "a long enough password", "roles": ["admin"]}
    assert admin.post("/admin/users", data=form).status_code == 403
    assert admin.post("/admin/users", data={**form, "csrf_token": "wrong"}).status_code == 403
    assert admin.post("/account/tokens", data={"name": "x"}).status_code == 403
    assert admin.post("/logout").status_code == 403
    assert "mallory" not in admin.get("/admin/users").text


def test_htmx_requests_may_send_the_csrf_token_as_a_header(web: Any) -> None:
    rep = web.browser("rep")
    token = csrf_of(rep.get("/account").text)
    page = rep.get("/account").text
    assert 'hx-headers=\'{"X-CSRF-Token": "' + token + "\"}'" in page
    response = rep.post("/account/tokens", data={"name": "via header"}, headers={"X-CSRF-Token": token})
    assert response.status_code == 200
    assert "via header" in response.text


def test_admin_adds_a_user_through_the_page_and_the_event_is_audited(web: Any) -> None:
    admin = web.browser("admin")
    csrf = csrf_of(admin.get("/admin/users").text)
    form = {
        "username": "Nora",
        "display_name": "Nora North",
        "person_id": "P-SE",
        "roles": ["manager", "rep"],
        "password": "a long enough password",
        "csrf_token": csrf,
    }
    response = admin.post("/admin/users", data=form)
    assert response.status_code == 303
    listing = admin.get(response.headers["location"]).text
    assert "Added user nora." in listing
    assert "Nora North" in listing
    assert re.search(r'id="user-nora".*?value="manager" checked.*?value="rep" checked', listing, re.DOTALL)
    audit = admin.get("/audit", params={"action": "user.create", "key": "nora"}).text
    assert "<strong>1</strong> event" in audit
    assert "nora" in audit
    assert sign_in(web, "nora", "a long enough password").get("/people/P-SE").status_code == 200


def test_add_user_errors_are_shown_inline_and_nothing_is_written(web: Any) -> None:
    admin = web.browser("admin")
    csrf = csrf_of(admin.get("/admin/users").text)
    taken = admin.post(
        "/admin/users", data={"username": "rep", "password": "a long enough password", "csrf_token": csrf}
    )
    assert taken.status_code == 409
    assert "already exists" in taken.text
    assert 'class="alert error"' in taken.text
    weak = admin.post(
        "/admin/users",
        data={"username": "weakling", "password": "short", "display_name": "Weak", "csrf_token": csrf},
    )
    assert weak.status_code == 422
    assert "password" in weak.text
    assert 'value="Weak"' in weak.text
    unknown = admin.post(
        "/admin/users",
        data={
            "username": "ghost",
            "password": "a long enough password",
            "person_id": "P-NONE",
            "csrf_token": csrf,
        },
    )
    assert unknown.status_code == 422
    listing = admin.get("/admin/users").text
    assert 'id="user-weakling"' not in listing
    assert 'id="user-ghost"' not in listing


def test_admin_changes_a_users_roles(web: Any) -> None:
    add_user(web, "promoted", frozenset({Role.REP}), "P-AE2")
    admin = web.browser("admin")
    csrf = csrf_of(admin.get("/admin/users").text)
    response = admin.post("/admin/users/promoted/roles", data={"roles": ["finance"], "csrf_token": csrf})
    assert response.status_code == 303
    assert (
        sign_in(web, "promoted", PASSWORD).get("/audit").status_code == 200
    )  # finance may read the audit log
    audit = admin.get("/audit", params={"action": "user.roles", "key": "promoted"}).text
    assert "<strong>1</strong> event" in audit
    assert "finance" in audit
    missing = admin.post("/admin/users/nobody/roles", data={"roles": ["rep"], "csrf_token": csrf})
    assert missing.status_code == 404
    assert "no user" in missing.text


# --- one's own account ----------------------------------------------------------------------------
def test_changing_the_password_retires_the_old_one(web: Any) -> None:
    add_user(web, "changer", frozenset({Role.REP}), "P-AE1")
    client = sign_in(web, "changer", PASSWORD)
    csrf = csrf_of(client.get("/account").text)
    wrong = client.post(
        "/account/password", data={"current_password": "not it", "new_password": "x" * 20, "csrf_token": csrf}
    )
    assert wrong.status_code == 422
    assert "not right" in wrong.text
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "a brand new passphrase", "csrf_token": csrf},
    )
    assert response.status_code == 303
    assert (
        "password was changed" in client.get(response.headers["location"]).text
    )  # this browser stays signed in
    fresh = TestClient(web.app, follow_redirects=False)
    old = fresh.post(
        "/login",
        data={"username": "changer", "password": PASSWORD, "csrf_token": csrf_of(fresh.get("/login").text)},
    )
    assert old.status_code == 401
    assert sign_in(web, "changer", "a brand new passphrase").get("/").status_code == 200


def test_a_user_creates_and_revokes_an_api_token(web: Any) -> None:
    add_user(web, "scripter", frozenset({Role.REP}), "P-AE1")
    client = sign_in(web, "scripter", PASSWORD)
    csrf = csrf_of(client.get("/account").text)
    created = client.post("/account/tokens", data={"name": "nightly export", "csrf_token": csrf})
    assert created.status_code == 200
    token = re.search(r'<code class="token" id="new-token">(spm_[^<]+)</code>', created.text)
    assert token, "the new token is shown once"
    assert token.group(1) not in client.get("/account").text  # …and only once
    api = TestClient(web.app, headers={"Authorization": f"Bearer {token.group(1)}"}, follow_redirects=False)
    assert api.get("/api/v1/me").status_code == 200
    token_id = re.search(r'action="/account/tokens/(\d+)/revoke"', created.text)
    assert token_id
    revoked = client.post(f"/account/tokens/{token_id.group(1)}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 303
    assert "revoked" in client.get("/account").text
    assert api.get("/api/v1/me").status_code == 401


def test_signing_out_ends_the_session(web: Any) -> None:
    client = web.browser("finance")
    csrf = csrf_of(client.get("/").text)
    response = client.post("/logout", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert client.get("/org", headers=HTML).status_code == 303


# --- friendly error pages --------------------------------------------------------------------------
def test_error_pages_are_html_for_browsers_and_problems_for_the_api(web: Any) -> None:
    app = create_app(Settings(database_url=web.url))
    errors.install(app)
    client = TestClient(app, follow_redirects=False)
    client.cookies = web.browser("rep").cookies
    forbidden = client.get("/org", headers=HTML)
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"].startswith("text/html")
    assert "Not allowed" in forbidden.text
    missing = client.get("/no/such/page", headers=HTML)
    assert missing.status_code == 404
    assert "Not found" in missing.text
    api = client.get("/org", headers={"accept": "application/json"})
    assert api.status_code == 403
    assert api.headers["content-type"].startswith("application/problem+json")
    app.state.engine.dispose()
