"""Endorser authentication: each call is signed by the endorser's key (spec §10).

:func:`require_signed` checks the ``Endorse-*`` headers against the exact method, path and
body received, the registry's clock and id, then records the nonce so the same signed request
can never be replayed: the nonce row's primary key makes a second use fail atomically.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from endorse.protocol.errors import BadSignature, MalformedToken
from endorse.protocol.requests import REQUEST_MAX_SKEW, SignedRequest, verify_request
from endorse.server.deps import Ctx
from endorse.server.models import RequestNonce
from endorse.server.problems import Unauthorized


async def require_signed(request: Request, ctx: Ctx) -> SignedRequest:
    body = await request.body()
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    now = ctx.clock()
    try:
        signed = verify_request(ctx.registry, request.method, path, body, request.headers, now=now)
    except (MalformedToken, BadSignature) as e:
        raise Unauthorized(str(e)) from e
    try:
        with ctx.db.write() as session:
            session.execute(delete(RequestNonce).where(RequestNonce.expires_at < now))
            session.add(
                RequestNonce(
                    key=signed.did, nonce=signed.nonce, expires_at=now + 2 * REQUEST_MAX_SKEW + 1
                )
            )
    except IntegrityError as e:
        raise Unauthorized("this signed request was already used (replay)") from e
    return signed


Signed = Annotated[SignedRequest, Depends(require_signed)]
