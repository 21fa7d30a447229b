"""``GET /api/v1/status-lists/{list_id}``: signed status lists, cacheable (spec §5)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Header, Path, Response

from endorse.server import status_lists
from endorse.server.deps import Ctx
from endorse.server.problems import NotFound
from endorse.server.schemas.endorsements import StatusListResponse

router = APIRouter(prefix="/api/v1", tags=["status"])

ListId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


@router.get(
    "/status-lists/{list_id}",
    response_model=StatusListResponse,
    responses={304: {"description": "The copy named by If-None-Match is current."}},
)
def status_list(
    list_id: ListId,
    ctx: Ctx,
    if_none_match: Annotated[str | None, Header(max_length=1024)] = None,
) -> Response:
    """The list signed now (``iat`` rounded down to a tenth of the max-age).

    ``Cache-Control: public, max-age`` is what is left of the token's freshness; ``ETag`` is
    strong (equal tags, equal bytes), and a matching ``If-None-Match`` answers 304.
    """
    now = ctx.clock()
    published = status_lists.publish(ctx, list_id, now, if_none_match=if_none_match)
    if published is None:
        raise NotFound("no status list with this id")
    remaining = published.fresh_until - now
    headers = {"ETag": published.etag, "Cache-Control": f"public, max-age={remaining}"}
    if published.token is None:
        return Response(status_code=304, headers=headers)
    return Response(
        orjson.dumps({"token": published.token}), media_type="application/json", headers=headers
    )
