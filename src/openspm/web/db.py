"""One database connection per request: committed when the request succeeds, rolled back when it fails."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy import Connection, Engine


def get_conn(request: Request) -> Iterator[Connection]:
    engine: Engine = request.app.state.engine
    with engine.connect() as conn:
        try:
            yield conn
        except Exception:
            conn.rollback()
            raise
        conn.commit()
