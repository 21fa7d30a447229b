"""``/api/v1/links``: short links (spec §11.6). Thin handlers over
:mod:`endorse.server.short_links`.

* ``POST /links`` (``{"token"}``): make a short link for a token registered here. Not signed:
  whoever holds the token may share it.
* ``POST /links/resolve`` (``{"id"}``): the token; the id travels in a body, so that no
  request line (an access log, a proxy's) holds it.
* ``POST /links/revoke`` (``{"id", "revocation_secret"}``, or ``{"id"}`` signed by the key
  that signed the link's token): withdraw it; idempotent.
* ``POST /links/revoke-all`` (``{"token_hash"}``, signed by the key that signed the token):
  withdraw every short link of that token, whoever made them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from endorse.server import short_links
from endorse.server.auth import require_signed
from endorse.server.context import Context
from endorse.server.deps import Ctx
from endorse.server.problems import openapi_problems
from endorse.server.ratelimit import bucket_name, client_host, enforce
from endorse.server.schemas.links import (
    CreateLinkRequest,
    LinkCreated,
    LinkRevoked,
    LinksRevoked,
    ResolvedLink,
    ResolveLinkRequest,
    RevokeAllLinksRequest,
    RevokeLinkRequest,
)

router = APIRouter(prefix="/api/v1/links", tags=["short links"])

_PROBLEMS = {
    400: "The token is malformed or its signature does not verify",
    401: "Without a revocation secret: the request signature is missing, wrong or replayed",
    403: "The revocation secret or the signing key is not this link's (or this token's)",
    404: "No such short link (or, when resolving, it was withdrawn), or no such token here",
    409: "The token has too many short links that are not withdrawn",
    422: "Not registered at this registry, or the body does not match the schema",
    429: "Too many requests; see Retry-After",
}


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return openapi_problems(_PROBLEMS, *statuses)


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _count(ctx: Context, client: str) -> None:
    s = ctx.settings
    enforce(
        ctx.limiter,
        bucket_name("links", client),
        s.limit_links_per_client,
        s.limit_links_window,
        ctx.clock(),
    )


@router.post(
    "", response_model=LinkCreated, status_code=201, responses=_problems(400, 409, 422, 429)
)
def create(body: CreateLinkRequest, request: Request, ctx: Ctx) -> LinkCreated:
    """Make a short link ``{registry}/s#{id}`` for an endorsement token registered here.

    Only for a well-formed endorsement whose signature verifies, registered at this registry
    by a key bound here. The id is 128 random bits; the revocation secret is answered this
    once. Counted against the client's short-link limit.
    """
    _count(ctx, client_host(request))
    made = short_links.create(ctx, body.token)
    return LinkCreated(
        id=made.id,
        url=made.url,
        revocation_secret=made.revocation_secret,
        created_at=_iso(made.created_at),
    )


@router.post("/resolve", response_model=ResolvedLink, responses=_problems(404, 429))
def resolve(body: ResolveLinkRequest, request: Request, ctx: Ctx) -> ResolvedLink:
    """The token a short link stands for; 404 alike for an unknown and a withdrawn id.

    Counted against the verification limit, as opening a verification link is.
    """
    return ResolvedLink(token=short_links.resolve_counted(ctx, body.id, client_host(request)))


@router.post("/revoke", response_model=LinkRevoked, responses=_problems(401, 403, 404, 429))
async def revoke(body: RevokeLinkRequest, request: Request, ctx: Ctx) -> LinkRevoked:
    """Withdraw a short link: with the revocation secret given when it was made, or, without
    one, as a request signed by the key that signed the link's token (spec §10). Withdrawing
    again answers the first withdrawal's time. The token itself stays valid (revoke the
    endorsement for that)."""
    await run_in_threadpool(_count, ctx, client_host(request))
    if body.revocation_secret is not None:
        done = await run_in_threadpool(
            short_links.revoke_with_secret, ctx, body.id, body.revocation_secret
        )
    else:
        signed = await require_signed(request, ctx)
        done = await run_in_threadpool(short_links.revoke_by_issuer, ctx, body.id, signed.did)
    return LinkRevoked(id=done.id, revoked_at=_iso(done.revoked_at))


@router.post("/revoke-all", response_model=LinksRevoked, responses=_problems(401, 403, 404, 429))
async def revoke_all(body: RevokeAllLinksRequest, request: Request, ctx: Ctx) -> LinksRevoked:
    """Withdraw every short link of a token registered here, as a request signed by the key
    that signed the token (spec §10): the endorser's way to clear links whose ids only their
    makers hold. The token itself stays valid (revoke the endorsement for that)."""
    await run_in_threadpool(_count, ctx, client_host(request))
    signed = await require_signed(request, ctx)
    done = await run_in_threadpool(
        short_links.revoke_all_by_issuer, ctx, body.token_hash, signed.did
    )
    return LinksRevoked(
        token_hash=done.token_hash, withdrawn=done.withdrawn, revoked_at=_iso(done.revoked_at)
    )
