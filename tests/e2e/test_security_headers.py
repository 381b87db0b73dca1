"""Every response carries the browser-hardening headers; session cookies are HttpOnly and SameSite."""

from __future__ import annotations

from tests.e2e.conftest import Web


def test_pages_and_api_responses_carry_security_headers(web: Web) -> None:
    for path, client in (
        ("/login", web.client(None)),
        ("/api/v1/me", web.client("rep")),
        ("/org", web.client("admin")),
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"


def test_the_session_cookie_is_http_only_and_same_site(web: Web) -> None:
    client = web.browser("manager")  # signed in through the login form
    jar = {c.name: c for c in client.cookies.jar}
    assert "spm_session" in jar
    session = jar["spm_session"]
    assert session.has_nonstandard_attr("HttpOnly")
    assert (session.get_nonstandard_attr("SameSite") or "").lower() == "lax"
    assert not session.secure  # plain HTTP in the test; Secure is set when the request came over HTTPS


def test_signing_in_and_out_is_audited(web: Web) -> None:
    client = web.browser("finance")
    csrf = client.get("/account").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
    events = web.client("admin").get("/api/v1/audit-events", params={"actor": "finance", "limit": 500}).json()
    actions = [e["action"] for e in events["items"]]
    assert actions[:2] == ["user.sign_out", "user.sign_in"]  # newest first


def test_the_last_admin_cannot_drop_the_admin_role(web: Web) -> None:
    admin = web.client("admin")
    response = admin.put("/api/v1/users/admin/roles", json={"roles": ["revops"]})
    assert response.status_code == 409
    assert "last admin" in response.json()["detail"]
    assert "admin" in admin.get("/api/v1/me").json()["roles"]


def test_failed_sign_ins_are_counted_and_audited(web: Web) -> None:
    client = web.client(None)
    page = client.get("/login")
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    form = {"username": " REP2 ", "password": "wrong password!", "csrf_token": csrf}
    assert client.post("/login", data=form).status_code == 401
    events = web.client("admin").get("/api/v1/audit-events", params={"action": "user.sign_in_failed"}).json()
    assert [(e["entity_key"], e["after"]["failed_sign_ins"]) for e in events["items"]][:1] == [("rep2", 1)]
