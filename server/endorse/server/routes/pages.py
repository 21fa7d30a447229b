"""The recruiter pages (spec §11): ``/v`` (verification URL), ``/check`` and their files.

* ``GET /v`` — the verification page for ``/v#<token>``: the token stays in the fragment, so
  the server never sees it; the page's script (``/static/endorse-check.js``) reads it, checks
  the token in the browser and asks ``POST /api/v1/verify`` for the registry's verdict. A
  reference given for a named recipient (``aud``) gets a field for the recruiter to say who
  they are, and is checked again with that audience (spec §11.3 item 11).
  Without JavaScript the page says so and links to ``/check``.
* ``GET /v/<token>`` — the same page with the registry's verdict rendered by the server
  (works without JavaScript); with ``Accept: application/json`` the JSON answer of
  ``POST /api/v1/verify`` instead.
* ``GET /s`` — the page of a short link ``/s#<id>`` (spec §11.6): the script reads the id
  from the fragment, fetches the token by ``POST /api/v1/links/resolve`` (the id in a body)
  and checks it exactly as on ``/v``. Without JavaScript the page says that a short link
  needs it and that the full link works without.
* ``GET /r`` — the requester's page of a reference request, ``/r#<request token>~<answer
  token>`` (spec §11.4): both tokens stay in the fragment; the page's script checks the
  registry's signature on the request and the answer's, and asks the registry for its verdict
  on an endorsement or refusal answer as on ``/v``. The server renders only the page.
* ``GET /check`` and ``POST /check`` (a web form: ``token``, ``subject``, ``purpose``,
  ``audience``): the paste box, and the registry's verdict on what was pasted. With
  JavaScript the submit is checked in the page instead, except a pasted JSON endorsement
  credential (spec §13): the registry verifies that one (its proof too) and renders the
  result, with no receipt.
* ``POST /api/v1/qr`` (``{"token": …}``, and ``"audience"`` for a reference given for a named
  recipient): the SVG QR code of the token's verification URL, for the script's result view
  (the server-rendered views carry it inline). Drawn only for a token this registry verifies
  as valid (for that audience), in a worker thread, from a small cache when drawn before,
  and counted against a QR limit of its own (``limit_qr_per_client``).
* ``POST /api/v1/statements`` (``{"token": …}``): what the registry has signed about the
  token's issuer and status, for the script's own verification. The token goes in a body so
  that no request line names the issuer or the token (spec §11.2).

Every verdict comes from :func:`endorse.server.routes.verify.verify_counted`, exactly as the
API's (counted against the same rate limit, with a signed receipt). What the pages add is
wording and layout (:mod:`endorse.server.pages`), strict reading of the form, and the headers
of :class:`~endorse.server.pages.PageHeaders`. Templates autoescape everything; no route here
logs a path or a token (access logs name the route template only). ``GET /v`` and
``GET /check`` answer ``HEAD`` too (link checkers), and a page over the rate limit is a page
saying so (429), not a problem document.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import anyio.to_thread
import orjson
from fastapi import APIRouter, Body, FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.types import Scope, Send

from endorse.protocol import (
    EndorseError,
    Endorsement,
    Policy,
    Refusal,
    Verdict,
    decode_unverified,
    token_hash,
)
from endorse.server import (
    endorsements,
    identities,
    pages,
    short_links,
    status_lists,
    verification,
)
from endorse.server.context import Context
from endorse.server.deps import Ctx
from endorse.server.limits import add_form_route
from endorse.server.problems import MalformedInput, NotFound, Problem, TooManyRequests
from endorse.server.ratelimit import bucket_name, client_host, enforce
from endorse.server.routes.verify import verify_counted
from endorse.server.schemas.verify import StatementsRequest, StatementsResponse, VerifyRequest

_HERE = Path(__file__).resolve().parent.parent
templates = Jinja2Templates(directory=_HERE / "templates")
router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["verification"])
"""The pages' API: in the OpenAPI description, unlike the pages themselves."""
HTML = "text/html; charset=utf-8"
QR_THREADS = 2
"""QR codes drawn at once per process: drawing holds the GIL, so more threads would only
slow the event loop and the other threads down."""
STATEMENTS_COST = 3
"""Units of the verification rate limit one ``POST /api/v1/statements`` counts as."""


_SIGNER_ONLY: dict[str, type[Refusal] | type[Policy]] = {
    "refusal-v1": Refusal,
    "policy-v1": Policy,
}
"""Token prefixes whose statements are the signer's key only (spec §11.4)."""


class QrTooLong(Problem):
    status, slug, title = 422, "qr-too-long", "Too long for a QR code"


class NotValidForQr(Problem):
    status, slug, title = 422, "not-valid", "Only a valid reference gets a QR code"


def install(app: FastAPI) -> None:
    """Add the pages to ``app``: routes, static files, the form route and the page headers."""
    app.include_router(router)
    app.include_router(api)
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    add_form_route(app, "/check", _refuse_form)
    app.add_middleware(pages.PageHeaders)


def _page(
    request: Request,
    name: str,
    *,
    status: int = 200,
    view: pages.ResultView | None = None,
    error: str | None = None,
    form: pages.CheckForm | None = None,
    script: bool = True,
    short: bool = False,
) -> Response:
    context = {
        "short": short,
        "view": view,
        "error": error,
        "form": form or pages.CheckForm(),
        "script": script,
        "purposes": pages.PURPOSE_CHOICES,
        "other_purpose": pages.OTHER_PURPOSE,
        "receipt_hint": pages.RECEIPT_HINT,
    }
    return templates.TemplateResponse(
        request,
        name,
        context,
        status_code=status,
        media_type=HTML,
    )


async def _verify(request: Request, item: verification.VerifyItem) -> verification.Outcome:
    return await verify_counted(request.app, item, client_host(request))


def _count_qr(ctx: Context, client: str) -> None:
    """Count one QR drawing of ``client`` (blocking: may write the shared rate-limit state).

    Raises:
        TooManyRequests: over ``limit_qr_per_client``.
    """
    s = ctx.settings
    enforce(
        ctx.limiter,
        bucket_name("qr", client),
        s.limit_qr_per_client,
        s.limit_qr_window,
        ctx.clock(),
    )


async def _draw_qr(request: Request, url: str, *, inline: bool) -> str | None:
    """The QR code of ``url`` (None: too long for one), drawn in a worker thread, at most
    :data:`QR_THREADS` at once per process, unless cached.

    Raises:
        TooManyRequests: not cached, and the client is over its QR limit.
    """
    if not pages.qr_cached(url, inline=inline):
        await run_in_threadpool(_count_qr, request.app.state.context, client_host(request))
    return await _drawn(request, url, inline=inline)


async def _drawn(request: Request, url: str, *, inline: bool) -> str | None:
    """:func:`endorse.server.pages.cached_qr` in a worker thread, :data:`QR_THREADS` at most
    at once in this app."""
    state = request.app.state
    if getattr(state, "qr_threads", None) is None:
        state.qr_threads = anyio.CapacityLimiter(QR_THREADS)
    return await anyio.to_thread.run_sync(
        lambda: pages.cached_qr(url, inline=inline), limiter=state.qr_threads
    )


async def _view(request: Request, ctx: Context, outcome: verification.Outcome) -> pages.ResultView:
    """The result view of ``outcome``, with the QR code of a valid reference."""
    if outcome.result.verdict is not Verdict.VALID:
        return pages.result_view(outcome)
    url = pages.verification_url(ctx.registry, outcome.result.token)
    if url is None:  # pragma: no cover - a valid token is a readable one
        return pages.result_view(outcome)
    try:
        qr = await _draw_qr(request, url, inline=True)
    except TooManyRequests:
        return pages.result_view(outcome, None, pages.QR_BUSY)
    return pages.result_view(outcome, qr)


def _busy(
    request: Request, name: str, e: TooManyRequests, form: pages.CheckForm | None = None
) -> Response:
    """The page saying the registry is busy (429, with the limit's ``Retry-After``)."""
    response = _page(request, name, status=429, error=pages.BUSY, form=form)
    response.headers.update(e.headers)
    return response


def _wants_json(request: Request) -> bool:
    """``Accept`` names ``application/json`` and not HTML (a browser always names HTML)."""
    accept = request.headers.get("accept", "")
    types = {part.split(";", 1)[0].strip().lower() for part in accept.split(",")}
    return "application/json" in types and not types & {"text/html", "application/xhtml+xml"}


@router.api_route("/v", methods=["GET", "HEAD"])
def verify_page(request: Request) -> Response:
    """The page of ``/v#<token>``; the browser holds the token (spec §11)."""
    return _page(request, "verify.html")


@router.get("/v/{token}")
async def verify_path(token: str, request: Request, ctx: Ctx) -> Response:
    """The registry's verdict on the token in the path, as a page or (``Accept``) as JSON."""
    if _wants_json(request):
        # Exactly POST /api/v1/verify's answer (spec §11.1.3): the same schema bound on the
        # token (a longer one is the same 422), a token that is no endorsement "malformed".
        try:
            VerifyRequest(token=token)
        except ValidationError as e:
            raise RequestValidationError(e.errors(include_url=False)) from e
        outcome = await _verify(request, verification.VerifyItem(token=token))
        return Response(
            orjson.dumps(verification.outcome_document(outcome)), media_type="application/json"
        )
    try:
        token = pages.token_from_input(token)
    except pages.InputError as e:
        return _page(request, "verify.html", status=e.status, error=e.message)
    try:
        outcome = await _verify(request, verification.VerifyItem(token=token))
    except TooManyRequests as e:
        return _busy(request, "verify.html", e)
    return _page(request, "verify.html", view=await _view(request, ctx, outcome))


@router.api_route("/v/{rest:path}", methods=["GET", "HEAD"], include_in_schema=False)
def damaged_link(request: Request, rest: str) -> Response:
    """A link cut or joined wrongly on its way (``/v/a/b``, ``/v/`` alone): a recruiter gets
    the page saying so, not a problem document (a token holds no ``/``)."""
    return _page(request, "verify.html", status=404, error=pages.DAMAGED_LINK)


@router.api_route("/s", methods=["GET", "HEAD"])
def short_link_page(request: Request) -> Response:
    """The page of a short link ``/s#<id>`` (spec §11.6): its script reads the id from the
    fragment, fetches the token with ``POST /api/v1/links/resolve`` and checks it as ``/v``
    does. The id and the token are on no request line."""
    return _page(request, "verify.html", short=True)


@router.api_route("/s/{rest:path}", methods=["GET", "HEAD"], include_in_schema=False)
def damaged_short_link(request: Request, rest: str) -> Response:
    """A short link with its id in the path is not one the registry makes (the id goes after
    "#"): the page says so."""
    return _page(request, "verify.html", status=404, error=pages.DAMAGED_SHORT_LINK, short=True)


@router.api_route("/r", methods=["GET", "HEAD"])
def request_page(request: Request) -> Response:
    """The requester's page of ``/r#<request>~<answer>``; the browser holds both tokens
    (spec §11.4)."""
    return _page(request, "request.html")


@router.api_route("/check", methods=["GET", "HEAD"])
def check_page(request: Request) -> Response:
    """The paste box."""
    return _page(request, "check.html")


@router.post("/check")
async def check_form(request: Request, ctx: Ctx) -> Response:
    """The registry's verdict on what was pasted, for browsers without JavaScript."""
    try:
        form, checked = pages.parse_check_form(await request.body())
    except pages.InputError as e:
        return _page(request, "check.html", status=e.status, error=e.message, form=e.form)
    if checked.credential is not None:
        return await _check_credential(request, ctx, form, checked)
    token = checked.token
    if checked.short_link is not None:
        if checked.short_link.registry != ctx.registry:
            error = (
                f"That short link is another registry's ({checked.short_link.registry}): open"
                " it there, or ask for the full verification link."
            )
            return _page(request, "check.html", status=400, error=error, form=form)
        link_id, client = checked.short_link.id, client_host(request)
        try:
            # Counted even when it does not open, as the API's resolve is (spec §11.6).
            token = await run_in_threadpool(short_links.resolve_counted, ctx, link_id, client)
        except short_links.NoShortLink as e:
            return _page(request, "check.html", status=404, error=_sentence(e.detail), form=form)
        except TooManyRequests as e:
            return _busy(request, "check.html", e, form)
    item = verification.VerifyItem(
        token=token,
        subject=checked.subject,
        purpose=checked.purpose,
        audience=checked.audience,
    )
    try:
        outcome = await _verify(request, item)
    except TooManyRequests as e:
        return _busy(request, "check.html", e, form)
    view = await _view(request, ctx, outcome)
    return _page(request, "check.html", view=view, form=form)


def _sentence(detail: str) -> str:
    return detail[:1].upper() + detail[1:] + "."


async def _check_credential(
    request: Request, ctx: Ctx, form: pages.CheckForm, checked: pages.CheckInput
) -> Response:
    """The registry's verdict on a pasted endorsement credential (spec §13.5), as a page or
    (``Accept``) as JSON; without a receipt (a receipt's ``th`` is a token hash, spec §4.9)."""
    assert checked.credential is not None
    try:
        result = await run_in_threadpool(
            verification.verify_credential_text,
            ctx,
            checked.credential,
            checked.subject,
            checked.purpose,
            client_host(request),
        )
    except TooManyRequests as e:
        return _busy(request, "check.html", e, form)
    if _wants_json(request):
        return Response(
            orjson.dumps(verification.credential_document(result)),
            media_type="application/json",
        )
    return _page(request, "check.html", view=pages.credential_view(result), form=form)


class QrRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    token: str = Field(max_length=pages.MAX_INPUT_CHARS)
    audience: str | None = Field(None, max_length=pages.MAX_AUDIENCE_CHARS)
    """The recipient the page checked the reference for (spec §6.3 step 8d): a reference
    given for a named recipient is valid, and gets its QR code, only for them."""


@api.post(
    "/qr",
    responses={
        200: {"content": {"image/svg+xml": {}}, "description": "The QR code, SVG."},
        422: {"description": "Not a valid reference here, or too long for a QR code."},
        429: {"description": "Over the client's QR limit (``limit_qr_per_client``)."},
    },
)
async def qr(body: Annotated[QrRequest, Body()], request: Request, ctx: Ctx) -> Response:
    """The SVG QR code of the token's verification URL at this registry (``{registry}/v#…``).

    Only for a token this registry verifies as valid now (a QR code is for sharing; this is
    no general QR service), counted against the client's QR limit unless it was drawn
    recently (a small cache), and drawn in a worker thread.
    """
    client = client_host(request)
    url = pages.verification_url(ctx.registry, body.token)
    if url is None or not pages.qr_cached(url, inline=False):
        await run_in_threadpool(_count_qr, ctx, client)
    # The verification behind it counts like any other: a cached drawing must not make this
    # an unlimited verification service.
    item = verification.VerifyItem(token=body.token, audience=body.audience)
    outcome = await verify_counted(request.app, item, client)
    if outcome.result.verdict is not Verdict.VALID or url is None:
        raise NotValidForQr(f"this registry's verdict on it is {outcome.result.verdict.value}")
    svg = await _drawn(request, url, inline=False)
    if svg is None:
        raise QrTooLong("the verification URL is too long for a QR code")
    return Response(svg, media_type="image/svg+xml")


@api.post("/statements", response_model=StatementsResponse)
def statements(body: StatementsRequest, request: Request, ctx: Ctx) -> StatementsResponse:
    """What this registry has signed about the token's issuer key (binding, revocation), the
    token (registration) and its status list (signed now), for a verifier that checks the
    token itself: the verification page's script (spec §11.3). For a refusal or a policy
    (spec §11.4), the signer's binding and revocation only: neither is registered or listed.

    The same statements as ``GET /api/v1/identities/{key}``, ``/registrations/{th}`` and
    ``/status-lists/{list}``, but asked for with the token in the body, so that no request
    line (in an access log, a proxy's or a CDN's) names the endorser's key or the token
    (spec §11.2). Counted against the verification rate limit. Problems: 400 ``malformed``
    (not a readable endorsement), 422, 429.
    """
    client = client_host(request)
    # It costs about three verifications (measured: ~330 answers/s against ~975 for
    # /api/v1/verify on one SQLite worker), so it counts as three.
    for _ in range(STATEMENTS_COST):
        if not verification.count_request_locally(ctx, client):
            verification.count_request(ctx, client)
    signer_only = _SIGNER_ONLY.get(body.token.split(".", 1)[0])
    try:
        if signer_only is not None:
            issuer, e = decode_unverified(body.token, signer_only).object.issuer, None
        else:
            e = decode_unverified(body.token, Endorsement).object
            issuer = e.issuer
    except EndorseError as error:
        raise MalformedInput(
            f"not a readable endorsement, refusal or policy token: {error}"
        ) from error
    try:
        state: identities.KeyState | None = identities.key_state(ctx, issuer)
    except NotFound:
        state = None
    if e is None:
        return StatementsResponse(
            key_binding=None if state is None else state.binding,
            key_revocation=None if state is None else state.key_revocation,
            registration=None,
            status_list=None,
        )
    status_list = None
    if e.status is not None and e.status.registry == ctx.registry:
        published = status_lists.publish(ctx, e.status.list_id, ctx.clock())
        status_list = None if published is None else published.token
    return StatementsResponse(
        key_binding=None if state is None else state.binding,
        key_revocation=None if state is None else state.key_revocation,
        registration=endorsements.registration_of(ctx, token_hash(body.token)),
        status_list=status_list,
    )


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
