"""The recruiter pages (spec §11): ``/v`` (verification URL), ``/check`` and their files.

* ``GET /v`` — the verification page for ``/v#<token>``: the token stays in the fragment, so
  the server never sees it; the page's script (``/static/endorse-check.js``) reads it, checks
  the token in the browser and asks ``POST /api/v1/verify`` for the registry's verdict.
  Without JavaScript the page says so and links to ``/check``.
* ``GET /v/<token>`` — the same page with the registry's verdict rendered by the server
  (works without JavaScript); with ``Accept: application/json`` the JSON answer of
  ``POST /api/v1/verify`` instead.
* ``GET /check`` and ``POST /check`` (a web form: ``token``, ``subject``, ``purpose``): the
  paste box, and the registry's verdict on what was pasted. With JavaScript the submit is
  checked in the page instead.
* ``POST /api/v1/qr`` (``{"token": …}``): the SVG QR code of the token's verification URL,
  for the script's result view (the server-rendered views carry it inline).

Every verdict comes from :func:`endorse.server.routes.verify.verify_counted`, exactly as the
API's (counted against the same rate limit, with a signed receipt). What the pages add is
wording and layout (:mod:`endorse.server.pages`), strict reading of the form, and the headers
of :class:`~endorse.server.pages.PageHeaders`. Templates autoescape everything; no route here
logs a path or a token (access logs name the route template only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import Scope, Send

from endorse.server import pages, verification
from endorse.server.context import Context
from endorse.server.deps import Ctx
from endorse.server.limits import add_form_route
from endorse.server.problems import MalformedInput
from endorse.server.routes.verify import verify_counted

_HERE = Path(__file__).resolve().parent.parent
templates = Jinja2Templates(directory=_HERE / "templates")
router = APIRouter(include_in_schema=False)
HTML = "text/html; charset=utf-8"


def install(app: FastAPI) -> None:
    """Add the pages to ``app``: routes, static files, the form route and the page headers."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    add_form_route(app, "/check", _refuse_form)
    app.add_middleware(pages.PageHeaders)


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _page(
    request: Request,
    name: str,
    *,
    status: int = 200,
    view: pages.ResultView | None = None,
    error: str | None = None,
    form: pages.CheckInput | None = None,
    script: bool = True,
) -> Response:
    return templates.TemplateResponse(
        request,
        name,
        {"view": view, "error": error, "form": form, "script": script},
        status_code=status,
        media_type=HTML,
    )


async def _verify(request: Request, item: verification.VerifyItem) -> verification.Outcome:
    return await verify_counted(request.app, item, _client(request))


def _wants_json(request: Request) -> bool:
    """``Accept`` names ``application/json`` and not HTML (a browser always names HTML)."""
    accept = request.headers.get("accept", "")
    types = {part.split(";", 1)[0].strip().lower() for part in accept.split(",")}
    return "application/json" in types and not types & {"text/html", "application/xhtml+xml"}


@router.get("/v")
def verify_page(request: Request) -> Response:
    """The page of ``/v#<token>``; the browser holds the token (spec §11)."""
    return _page(request, "verify.html")


@router.get("/v/{token}")
async def verify_path(token: str, request: Request, ctx: Ctx) -> Response:
    """The registry's verdict on the token in the path, as a page or (``Accept``) as JSON."""
    if _wants_json(request):
        if len(token) > pages.MAX_INPUT_CHARS:
            raise MalformedInput(f"a token has at most {pages.MAX_INPUT_CHARS} characters")
        outcome = await _verify(request, verification.VerifyItem(token=token))
        return Response(
            orjson.dumps(verification.outcome_document(outcome)), media_type="application/json"
        )
    try:
        token = pages.token_from_input(token)
    except pages.InputError as e:
        return _page(request, "verify.html", status=e.status, error=e.message)
    outcome = await _verify(request, verification.VerifyItem(token=token))
    return _page(request, "verify.html", view=_view(ctx, outcome))


@router.get("/check")
def check_page(request: Request) -> Response:
    """The paste box."""
    return _page(request, "check.html")


@router.post("/check")
async def check_form(request: Request, ctx: Ctx) -> Response:
    """The registry's verdict on what was pasted, for browsers without JavaScript."""
    try:
        form = pages.parse_check_form(await request.body())
    except pages.InputError as e:
        return _page(request, "check.html", status=e.status, error=e.message)
    item = verification.VerifyItem(token=form.token, subject=form.subject, purpose=form.purpose)
    outcome = await _verify(request, item)
    return _page(request, "check.html", view=_view(ctx, outcome), form=form)


class QrRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    token: str = Field(max_length=pages.MAX_INPUT_CHARS)


@router.post("/api/v1/qr")
async def qr(body: Annotated[QrRequest, Body()], request: Request, ctx: Ctx) -> Response:
    """The SVG QR code of the token's verification URL at this registry (``{registry}/v#…``).

    Only verification URLs of readable endorsements are drawn (so this is no general QR
    service), and each drawing counts against the verification rate limit.
    """
    client = _client(request)
    if not verification.count_request_locally(ctx, client):
        await run_in_threadpool(verification.count_request, ctx, client)
    url = pages.verification_url(ctx.registry, body.token)
    if url is None:
        raise MalformedInput("not a readable endorsement token")
    svg = pages.qr_svg(url, inline=False)
    if svg is None:
        raise MalformedInput("the verification URL is too long for a QR code")
    return Response(svg, media_type="image/svg+xml")


def _view(ctx: Context, outcome: verification.Outcome) -> pages.ResultView:
    return pages.result_view(outcome, ctx.registry)


async def _refuse_form(scope: Scope, send: Send, status: int, detail: str) -> None:
    """The check page with the body limits' refusal (``detail``), as a page."""
    message = (
        f"What was sent is too large to be a reference ({detail}); paste only the reference"
        " or its link."
        if status == 413
        else "The form could not be read; use the form on this page."
    )
    response = _page(Request(scope), "check.html", status=status, error=message)
    await response(scope, _no_receive, send)


async def _no_receive() -> Any:  # pragma: no cover - a response never reads the request
    return {"type": "http.disconnect"}
