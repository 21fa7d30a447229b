"""The portable form's documents (spec §13.2, §13.3): the endorse JSON-LD context, and the
endorser-signed status list credentials (uploaded by endorsers, read by any VC verifier)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from endorse.protocol.vc import ENDORSE_CONTEXT
from endorse.server import vc_status
from endorse.server.deps import Ctx
from endorse.server.problems import NotFound

router = APIRouter(prefix="/api/v1/vc", tags=["portable form"])

IssuerDid = Annotated[str, Path(pattern=r"^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{44}$")]
ListId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
_LD_JSON = "application/ld+json"
_CONTEXT = orjson.dumps(ENDORSE_CONTEXT)


@router.get(
    "/contexts/v1",
    response_class=Response,
    responses={200: {"content": {_LD_JSON: {}}, "description": "The JSON-LD context"}},
)
def endorse_context() -> Response:
    """The JSON-LD context of the endorse terms; the same document at every registry."""
    return Response(
        _CONTEXT, media_type=_LD_JSON, headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get(
    "/status-lists/{issuer}/{list_id}",
    response_class=Response,
    responses={
        200: {
            "content": {"application/vc+ld+json": {}},
            "description": "The issuer's status list credential, as they signed it",
        }
    },
)
def status_list_credential(issuer: IssuerDid, list_id: ListId, ctx: Ctx) -> Response:
    """The issuer's latest status list credential for ``list_id``, as they signed it.

    Not stored by caches: a revocation must reach the next fetch.
    """
    stored = vc_status.load(ctx, issuer, list_id)
    if stored is None:
        raise NotFound("no status list credential of this key for this list")
    return Response(
        stored.credential.encode("utf-8"),
        media_type="application/vc+ld+json",
        headers={"Cache-Control": "no-cache"},
    )


@router.put("/status-lists/{issuer}/{list_id}", status_code=204)
async def put_status_list_credential(
    issuer: IssuerDid, list_id: ListId, ctx: Ctx, request: Request
) -> Response:
    """Store the issuer's signed status list credential for ``list_id``.

    Authenticated by its own proof; stored only when its bits are the registry's record of the
    issuer's revoked entries in that list (409 otherwise) and it is not older than the stored
    one.
    """
    body = await request.body()
    # The checks and the database write block: off the event loop, like a sync route.
    await run_in_threadpool(vc_status.store, ctx, issuer, list_id, body)
    return Response(status_code=204)
