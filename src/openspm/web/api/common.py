"""What every API route shares: paging with RFC 8288 links, the as-of date, path keys, problem responses."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Query, Request, Response
from fastapi.security import APIKeyCookie, HTTPBearer
from pydantic import BaseModel

from openspm.services.records import MAX_LIMIT, MAX_OFFSET, Day, Page, Window
from openspm.web.problems import PROBLEM_JSON
from openspm.web.security import SESSION_COOKIE

P = TypeVar("P", bound=Page[Any])


class Paging:
    """`limit` and `offset` from the query; `respond` adds the `Link` header (`rel="next"`, `rel="prev"`)."""

    def __init__(
        self,
        request: Request,
        response: Response,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="rows per page")] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip")] = 0,
    ) -> None:
        self.request = request
        self.response = response
        self.window = Window(limit, offset)

    def respond(self, page: P) -> P:
        links = []
        if page.has_more:
            links.append(self._link(page.offset + page.limit, "next"))
        if page.offset > 0:
            links.append(self._link(max(0, page.offset - page.limit), "prev"))
        if links:
            self.response.headers["Link"] = ", ".join(links)
        return page

    def _link(self, offset: int, rel: str) -> str:
        return f'<{self.request.url.include_query_params(offset=offset)}>; rel="{rel}"'


Pages = Annotated[Paging, Depends()]


def _as_of(
    as_of: Annotated[
        Day | None,
        Query(
            description="the day the organisation is viewed as of (default: today; 1900-01-01 … 2999-12-31);"
            " scopes follow it",
            json_schema_extra={"pattern": r"^(19|2\d)\d\d-\d\d-\d\d$"},  # security.AS_OF_RANGE
        ),
    ] = None,
) -> None:
    """Documents and validates `?as_of=`; `require(...)` reads it into the viewer's scope."""


#: Router dependency of every resource whose rows depend on the day viewed.
AS_OF = Depends(_as_of)

#: A key in a path: any text without NUL (which PostgreSQL refuses in text).
Key = Annotated[str, Path(pattern=r"^[^\x00]+$")]

#: The two ways to authenticate, for the OpenAPI document (`require` does the checking).
AUTHENTICATION = [
    Depends(HTTPBearer(auto_error=False, scheme_name="ApiToken", description="a personal API token")),
    Depends(
        APIKeyCookie(
            name=SESSION_COOKIE,
            auto_error=False,
            scheme_name="Session",
            description="a browser session (unsafe methods also need the X-CSRF-Token header)",
        )
    ),
]


class Problem(BaseModel):
    """An RFC 9457 problem detail."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[dict[str, Any]] | None = None


_PROBLEM_SCHEMA = Problem.model_json_schema()


def problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}}}


#: Problems any API route may answer with.
COMMON_PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: problem("Not signed in: no valid API token or session"),
    403: problem("The caller's roles do not grant this (or a cookie session sent no CSRF token)"),
    422: problem("A parameter or the body does not match the schema"),
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: problem("No such row — or one outside the caller's scope, which looks the same"),
}
