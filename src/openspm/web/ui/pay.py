"""The pay page: the viewer's (or a visible person's) payout lines per period, one period as a waterfall."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from openspm.services.calc_explain import pay_view
from openspm.services.records import money_text
from openspm.web.deps import Conn, PayViewer
from openspm.web.templating import render

router = APIRouter()

Choice = Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00]*$")]


@router.get("/pay")
def pay(
    request: Request, viewer: PayViewer, conn: Conn, person_id: Choice = None, period: Choice = None
) -> Response:
    view = pay_view(conn, viewer.scope, person_id or None, period or None)
    return render(request, "pay.html", {"viewer": viewer, "pay": view, "money": money_text})
