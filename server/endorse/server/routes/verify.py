"""``POST /api/v1/verify`` and ``/api/v1/verify/batch``: verdicts for recruiters (spec §6).

The single form is the hot path: it reads the raw body and validates it with pydantic's JSON
parser in one step, hands the blocking work (rate limit, one read, verification, receipt) to
the thread pool in one hop, and writes the answer with orjson. Its OpenAPI description is
declared by hand from the same schemas, so it stays accurate.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from endorse.server import verification
from endorse.server.deps import Ctx
from endorse.server.problems import Problem
from endorse.server.schemas.verify import BatchRequest, BatchResponse, VerifyRequest, VerifyResult

router = APIRouter(prefix="/api/v1", tags=["verification"])

JSON = "application/json"


class BatchTooLarge(Problem):
    status, slug, title = 413, "batch-too-large", "Too many items in one batch"


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _item(body: VerifyRequest) -> verification.VerifyItem:
    return verification.VerifyItem(
        token=body.token,
        subject=body.subject,
        purpose=body.purpose,
        audience=body.audience,
        presentation=body.presentation,
        nonce=body.nonce,
    )


@router.post(
    "/verify",
    response_model=VerifyResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {JSON: {"schema": VerifyRequest.model_json_schema()}},
        }
    },
)
async def verify(request: Request, ctx: Ctx) -> Response:
    """Verify one token: the protocol's verdict with the registry's facts, signed.

    A token that is not a readable endorsement is answered (verdict ``malformed``); a body
    that does not match the schema is a 422 problem.
    """
    try:
        body = VerifyRequest.model_validate_json(await request.body())
    except ValidationError as e:
        raise RequestValidationError(e.errors(include_url=False)) from e
    outcomes = await run_in_threadpool(
        verification.verify_items, ctx, [_item(body)], _client(request)
    )
    return Response(orjson.dumps(verification.outcome_document(outcomes[0])), media_type=JSON)


@router.post("/verify/batch", response_model=BatchResponse)
def verify_batch(body: BatchRequest, request: Request, ctx: Ctx) -> Response:
    """Verify up to ``verify_batch_max`` tokens in one request; results in the same order."""
    limit = ctx.settings.verify_batch_max
    if len(body.items) > limit:
        raise BatchTooLarge(f"a batch holds at most {limit} items")
    outcomes = verification.verify_items(ctx, [_item(i) for i in body.items], _client(request))
    document = {"results": [verification.outcome_document(o) for o in outcomes]}
    return Response(orjson.dumps(document), media_type=JSON)
