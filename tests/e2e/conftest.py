"""A small company in a real store, a user per role, and clients signed in as each of them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from openspm.access.roles import Role
from openspm.services import users
from openspm.services.imports import import_directory
from openspm.settings import Settings
from openspm.store.db import make_engine
from openspm.store.migrate import upgrade
from openspm.web.app import create_app

SMALL = Path(__file__).parent.parent / "fixtures" / "canonical" / "small"
PASSWORD = "correct horse battery"

#: username → (roles, person). In the small company P-MGR manages P-AE1 and P-AE2; P-SE reports to nobody.
USERS: dict[str, tuple[frozenset[Role], str | None]] = {
    "admin": (frozenset({Role.ADMIN}), None),
    "revops": (frozenset({Role.REVOPS}), None),
    "finance": (frozenset({Role.FINANCE}), None),
    "manager": (frozenset({Role.MANAGER}), "P-MGR"),
    "rep": (frozenset({Role.REP}), "P-AE1"),
    "rep2": (frozenset({Role.REP}), "P-AE2"),
}


@dataclass
class Web:
    app: FastAPI
    url: str
    tokens: dict[str, str]

    def client(self, username: str | None = None) -> TestClient:
        """A client authenticated with the user's API token (None: anonymous)."""
        headers = {"Authorization": f"Bearer {self.tokens[username]}"} if username else {}
        return TestClient(self.app, headers=headers, follow_redirects=False)

    def browser(self, username: str) -> TestClient:
        """A client signed in through the login form, holding a session cookie (and its CSRF token)."""
        client = TestClient(self.app, follow_redirects=False)
        page = client.get("/login")
        csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        response = client.post(
            "/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf}
        )
        assert response.status_code == 303, response.text
        return client


def build_store(url: str) -> dict[str, str]:
    engine = make_engine(url)
    upgrade(engine)
    assert import_directory(engine, SMALL).ok
    tokens = {}
    with engine.begin() as conn:
        for name, (roles, person) in USERS.items():
            user_id = users.create_user(
                conn, username=name, password=PASSWORD, roles=roles, actor="test", person_id=person
            )
            tokens[name] = users.create_token(conn, users.principal_for(conn, user_id), "tests")[1]
    engine.dispose()
    return tokens


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'spm.db'}"
    tokens = build_store(url)
    app = create_app(Settings(database_url=url))
    yield Web(app, url, tokens)
    app.state.engine.dispose()


ClientFor = Callable[[str | None], TestClient]
