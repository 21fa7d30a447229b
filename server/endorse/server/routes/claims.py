"""Claimed references (issue 9): thin handlers over :mod:`endorse.server.claims`.

Every ``/api/v1`` call here is a signed request (spec §10); ``docs/claims.md`` ("Registry
API") is the contract. ``GET /mail/stop`` is a page with one button, and ``POST /mail/stop``
(a web form, or an RFC 8058 one-click POST from a mail client) stops all mail to the address
the link was made for; no GET changes anything.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.types import Scope, Send

from endorse.server import claims
from endorse.server.auth import Signed
from endorse.server.claims_mail import day
from endorse.server.deps import Ctx
from endorse.server.limits import add_form_route
from endorse.server.pages import SECURITY_HEADERS
from endorse.server.problems import openapi_problems
from endorse.server.ratelimit import client_host
from endorse.server.routes.pages import templates
from endorse.server.schemas.claims import (
    AnswerOut,
    AnswerRequest,
    AskRequest,
    CheckDay,
    CheckedEndorsement,
    ChecksResponse,
    ConfirmAskRequest,
    InboxItem,
    InboxResponse,
    InboxSettings,
    PolicyBody,
    RefusalBody,
    RequestId,
    RequestRecord,
    StandingCreated,
    StandingItem,
    StandingList,
)
from endorse.server.schemas.identities import PendingResponse

router = APIRouter(prefix="/api/v1", tags=["claims"])
pages = APIRouter(include_in_schema=False)
HTML = "text/html; charset=utf-8"

_PROBLEMS = {
    400: "Malformed input (a member breaking its rule, a token that does not parse), or an"
    " invalid or expired code",
    401: "The request signature is missing, wrong, stale or replayed",
    403: "The signing key is not bound to a verified identity here, or is revoked or rotated",
    404: "No such request for this key (the same answer for an unknown id and another's)",
    409: "The request has ended, or a newer statement is stored",
    422: "The body does not match the schema, or the token is not an answer or statement"
    " this call takes",
    429: "Too many requests; see Retry-After",
    503: "The confirmation e-mail could not be sent",
}


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return openapi_problems(_PROBLEMS, *statuses)


def _ask(body: AskRequest) -> claims.Ask:
    requester = body.requester
    return claims.Ask(
        referee=body.referee,
        sub=body.sub.model_dump(exclude_none=True),
        rel=body.rel.model_dump(by_alias=True, exclude_none=True),
        purpose=body.purpose,
        exp=body.exp,
        aud=body.aud,
        requester_email=None if requester is None else requester.email,
        requester_name=None if requester is None else requester.name,
    )


def _answer(answer: claims.Answer | None) -> AnswerOut | None:
    if answer is None:
        return None
    return AnswerOut(
        kind=answer.kind,
        token=answer.token,
        standing=True if answer.standing else None,
    )


def _record(record: claims.Record) -> RequestRecord:
    return RequestRecord(
        id=record.id,
        request=record.request,
        state=record.state,
        answer=_answer(record.answer),
        answered_at=record.answered_at,
    )


def _json(model: RequestRecord | PendingResponse, status: int) -> JSONResponse:
    return JSONResponse(model.model_dump(exclude_none=True), status_code=status)


# --- requests ------------------------------------------------------------------------------


@router.post(
    "/requests",
    status_code=201,
    response_model=None,
    responses={
        201: {"model": RequestRecord, "description": "The request was made (key bound here)."},
        202: {"model": PendingResponse, "description": "A code was e-mailed to confirm it."},
        **_problems(400, 401, 422, 429, 503),
    },
)
def ask(body: AskRequest, signed: Signed, ctx: Ctx, request: Request) -> JSONResponse:
    """Put a claimed reference to a referee.

    Signed by a key bound to a verified identity here: the request is made at once (201, the
    request record; ``by.method`` = ``key-binding``). Signed by any other key: a code goes to
    ``requester.email`` (202; confirm with ``POST /requests/confirm`` signed by the same key).
    The answer never depends on whether the referee is registered; a referee's standing
    refusal for exactly ``sub.email`` or their policy answers at once (``state: answered``),
    and an address that stopped all mail gives ``state: unreachable``.
    """
    asked = claims.start_ask(ctx, signed.did, _ask(body), client_host(request))
    if asked.record is not None:
        return _json(_record(asked.record), 201)
    assert asked.pending is not None
    pending = PendingResponse(pending=asked.pending.id, expires_at=asked.pending.expires_at)
    return _json(pending, 202)


@router.post(
    "/requests/confirm",
    status_code=201,
    response_model=RequestRecord,
    response_model_exclude_none=True,
    responses=_problems(400, 401, 422, 429),
)
def confirm(body: ConfirmAskRequest, signed: Signed, ctx: Ctx, request: Request) -> RequestRecord:
    """Return the e-mailed code, signed by the key that asked; the request is made (201)."""
    return _record(
        claims.confirm_ask(ctx, signed.did, body.pending, body.code, client_host(request))
    )


@router.get(
    "/requests/{request_id}",
    response_model=RequestRecord,
    response_model_exclude_none=True,
    responses=_problems(401, 404, 422),
)
def get_request(request_id: RequestId, signed: Signed, ctx: Ctx) -> RequestRecord:
    """The request record, for the key that made it; anyone else gets 404 as for no request."""
    return _record(claims.request_record(ctx, signed.did, request_id))


@router.post(
    "/requests/{request_id}/answer",
    response_model=RequestRecord,
    response_model_exclude_none=True,
    responses=_problems(400, 401, 403, 404, 409, 422),
)
def answer(request_id: RequestId, body: AnswerRequest, signed: Signed, ctx: Ctx) -> RequestRecord:
    """The referee answers: ``{"endorsement": token}`` or ``{"refusal": token}``.

    Signed by a key bound here to the address the request names. An endorsement must be
    registered here, issued by the signing key, for the subject asked about (name and address
    or handle; the subject's key when the request gave one), allow the purpose, carry the
    request's ``aud`` if it has one, and be neither revoked nor expired. A refusal must be
    signed by the signing key, name this request (``req``) and its subject, and have no other
    purpose. 422 ``answer-refused`` says which rule failed; 409 ``request-ended``.
    """
    return _record(
        claims.answer(
            ctx, signed.did, request_id, endorsement=body.endorsement, refusal=body.refusal
        )
    )


@router.post(
    "/requests/{request_id}/block",
    status_code=204,
    response_class=Response,
    responses=_problems(401, 403, 404, 422),
)
def block(request_id: RequestId, signed: Signed, ctx: Ctx) -> Response:
    """The referee blocks this request's requester: their requests are kept, never mailed."""
    claims.set_blocked(ctx, signed.did, request_id, True)
    return Response(status_code=204)


@router.delete(
    "/requests/{request_id}/block",
    status_code=204,
    response_class=Response,
    responses=_problems(401, 403, 404, 422),
)
def unblock(request_id: RequestId, signed: Signed, ctx: Ctx) -> Response:
    """The referee unblocks this request's requester."""
    claims.set_blocked(ctx, signed.did, request_id, False)
    return Response(status_code=204)


# --- the referee's inbox -------------------------------------------------------------------


@router.get(
    "/inbox",
    response_model=InboxResponse,
    response_model_exclude_none=True,
    responses=_problems(401, 403),
)
def inbox(signed: Signed, ctx: Ctx) -> InboxResponse:
    """Every request naming the signing key's verified address, newest first (at most 200),
    each as the registry-signed request token with its state."""
    return InboxResponse(
        requests=[
            InboxItem(
                id=item.id,
                request=item.request,
                state=item.state,
                blocked=item.blocked,
                answer=_answer(item.answer),
            )
            for item in claims.inbox(ctx, signed.did)
        ]
    )


@router.get("/inbox/settings", response_model=InboxSettings, responses=_problems(401, 403))
def get_settings(signed: Signed, ctx: Ctx) -> InboxSettings:
    """Whether claim alerts are muted for the signing key's identity."""
    return InboxSettings(muted=claims.muted(ctx, signed.did))


@router.put("/inbox/settings", response_model=InboxSettings, responses=_problems(401, 403, 422))
def put_settings(body: InboxSettings, signed: Signed, ctx: Ctx) -> InboxSettings:
    """Mute (or unmute) claim alerts; muted requests still appear in the inbox."""
    return InboxSettings(muted=claims.muted(ctx, signed.did, body.muted))


# --- standing statements -------------------------------------------------------------------


@router.put("/policy", response_model=PolicyBody, responses=_problems(400, 401, 403, 409, 422))
def put_policy(body: PolicyBody, signed: Signed, ctx: Ctx) -> PolicyBody:
    """Store the signing key's identity's policy (signed by that key); the newest ``iat``
    wins: an older or equal one (another token) is a 409."""
    return PolicyBody(policy=claims.put_policy(ctx, signed.did, body.policy))


@router.get("/policy", response_model=PolicyBody, responses=_problems(401, 403, 404))
def get_policy(signed: Signed, ctx: Ctx) -> PolicyBody:
    """The identity's stored policy; 404 when none."""
    return PolicyBody(policy=claims.get_policy(ctx, signed.did))


@router.delete("/policy", status_code=204, response_class=Response, responses=_problems(401, 403))
def delete_policy(signed: Signed, ctx: Ctx) -> Response:
    """Withdraw the identity's policy (204 whether or not one was stored)."""
    claims.delete_policy(ctx, signed.did)
    return Response(status_code=204)


@router.post(
    "/standing-refusals",
    status_code=201,
    response_model=StandingCreated,
    responses={
        200: {"model": StandingCreated, "description": "Stored before."},
        **_problems(400, 401, 403, 409, 422),
    },
)
def add_standing(
    body: RefusalBody, signed: Signed, ctx: Ctx, response: Response
) -> StandingCreated:
    """Keep a standing refusal (signed by the signing key; no ``req``; ``sub.email`` given).

    Returned, the signed refusal itself, to a request naming exactly that subject address;
    listed to nobody but its author. The same token again answers 200.
    """
    stored = claims.add_standing_refusal(ctx, signed.did, body.refusal)
    if not stored.created:
        response.status_code = 200
    return StandingCreated(id=stored.id)


@router.get("/standing-refusals", response_model=StandingList, responses=_problems(401, 403))
def list_standing(signed: Signed, ctx: Ctx) -> StandingList:
    """The identity's own standing refusals."""
    return StandingList(
        refusals=[
            StandingItem(id=s.id, refusal=s.refusal)
            for s in claims.standing_refusals(ctx, signed.did)
        ]
    )


@router.delete(
    "/standing-refusals/{refusal_id}",
    status_code=204,
    response_class=Response,
    responses=_problems(401, 403, 404, 422),
)
def delete_standing(refusal_id: RequestId, signed: Signed, ctx: Ctx) -> Response:
    """Withdraw one of the identity's standing refusals."""
    claims.delete_standing_refusal(ctx, signed.did, refusal_id)
    return Response(status_code=204)


# --- check counts --------------------------------------------------------------------------


@router.get("/checks", response_model=ChecksResponse, responses=_problems(401, 403))
def checks(signed: Signed, ctx: Ctx) -> ChecksResponse:
    """How often each endorsement of the signing key's identity was verified online here
    (verify API, batch, pages), per UTC day. Counts only; nobody else can see them."""
    return ChecksResponse(
        endorsements=[
            CheckedEndorsement(
                id=c.id, days=[CheckDay(day=day(d * 86_400), count=n) for d, n in c.days]
            )
            for c in claims.checks(ctx, signed.did)
        ]
    )


# --- mail stop -----------------------------------------------------------------------------


def _stop_page(
    request: Request, *, t: str = "", done: bool = False, damaged: bool = False, status: int = 200
) -> Response:
    response = templates.TemplateResponse(
        request,
        "mail_stop.html",
        {"t": t, "done": done, "damaged": damaged, "script": False},
        status_code=status,
        media_type=HTML,
    )
    # The recruiter pages' headers (no script, no framing, no referrer, no caching): the
    # link's ``t`` must not leak through a Referer or a shared cache either.
    for name, value in SECURITY_HEADERS:
        response.headers[name.decode()] = value.decode()
    return response


@pages.get("/mail/stop")
def stop_page(request: Request, t: str = "") -> Response:
    """A page with one button; the GET itself changes nothing."""
    if len(t) > 128:
        return _stop_page(request, damaged=True, status=400)
    return _stop_page(request, t=t)


@pages.post("/mail/stop")
async def stop(request: Request, ctx: Ctx) -> Response:
    """Stop all mail to the link's address: the page's button (form member ``t``) or an
    RFC 8058 one-click POST (``t`` in the query, body ``List-Unsubscribe=One-Click``)."""
    body = (await request.body()).decode("ascii", "replace")
    try:
        form = dict(parse_qsl(body, max_num_fields=4)) if body else {}
    except ValueError:
        form = {}
    t = request.query_params.get("t") or form.get("t", "")
    if len(t) > 128 or not await run_in_threadpool(claims.stop_mail, ctx, t):
        return _stop_page(request, damaged=True, status=400)
    return _stop_page(request, done=True)


async def _refuse_form(scope: Scope, send: Send, status: int, detail: str) -> None:
    response = _stop_page(Request(scope), damaged=True, status=status)
    await response(scope, _no_receive, send)


async def _no_receive() -> Any:  # pragma: no cover - a response never reads the request
    return {"type": "http.disconnect"}


def install(app: FastAPI) -> None:
    """Add the mail-stop page, whose POST takes a web form rather than JSON."""
    app.include_router(pages)
    add_form_route(app, "/mail/stop", _refuse_form)


__all__ = ["install", "router"]
