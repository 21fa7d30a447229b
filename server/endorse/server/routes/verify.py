"""``POST /api/v1/verify`` and ``/api/v1/verify/batch``: verdicts for recruiters (spec §6).

The single form is the hot path, and is answered in one of two ways with the same result:

* **Directly from the body limits** (:func:`answer_directly`, registered for the app by this
  router's lifespan, see :func:`endorse.server.limits.add_direct_route`): the body the
  :class:`~endorse.server.limits.BodyLimits` middleware has read and size-checked is parsed
  with orjson and checked against the request schema by :func:`parse_request`; when it is a
  well-formed request, it is verified and answered there, without the router, dependency
  resolution and request objects (about as costly as the verification itself). Anything else
  (malformed JSON, a body that does not match the schema, a path under a root path) is left to
  the route below, which answers as it always did (400 or 422 problem documents). The direct
  answer runs no FastAPI dependencies: the route declares none, and the lifespan does not
  register it if the route gains some (one added where the app includes this router would
  have to be added to :func:`answer_directly` too).
* **By the FastAPI route** :func:`verify`, the declared endpoint (and the OpenAPI
  description, given by hand from the same schemas).

Either way the request counts against the client's rate limit first, without blocking the
event loop unless the shared rate-limit state must be written (then in the thread pool, once
per batch of hits); the facts are read on the event loop's own connections
(:class:`~endorse.server.verification.LoopReaders`: synchronously on SQLite, asynchronously on
PostgreSQL) and the protocol's verification and the receipt run on the loop too. A
thread-pool hop per request, with its hand-over of the GIL, cost more than all of that.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.types import Scope, Send

from endorse.server import verification
from endorse.server.context import Context
from endorse.server.deps import Ctx
from endorse.server.limits import add_direct_route
from endorse.server.problems import Problem, problem_response
from endorse.server.schemas.verify import BatchRequest, BatchResponse, VerifyRequest, VerifyResult

JSON = "application/json"


@asynccontextmanager
async def _answer_directly_in(app: FastAPI) -> AsyncIterator[None]:
    """The route's share of the app's lifespan: the event loop's reader connections (closed
    at shutdown), and :func:`answer_directly` registered with the body limits."""
    ctx: Context = app.state.context
    app.state.verify_readers = readers = verification.LoopReaders(ctx.db)
    if not _ROUTE.dependencies:
        add_direct_route(app, "POST", app.url_path_for("verify"), answer_directly)
    try:
        yield
    finally:
        await readers.aclose()


router = APIRouter(prefix="/api/v1", tags=["verification"], lifespan=_answer_directly_in)


class BatchTooLarge(Problem):
    status, slug, title = 413, "batch-too-large", "Too many items in one batch"


# --- the request body, checked without pydantic ------------------------------------------


def _string_fields() -> tuple[dict[str, int], frozenset[str]]:
    """``VerifyRequest``'s members, each a string of bounded length, and the required ones.

    Read from the model, so the quick check below cannot drift from it; a member of any other
    shape makes this module fail to import, so the check is revisited with the schema.
    """
    limits: dict[str, int] = {}
    required = set()
    for name, field in VerifyRequest.model_fields.items():
        lengths = [m.max_length for m in field.metadata if hasattr(m, "max_length")]
        if field.annotation is str and field.is_required():
            required.add(name)
        elif field.annotation != (str | None) or field.default is not None:
            raise TypeError(f"VerifyRequest.{name}: parse_request handles bounded strings only")
        if field.alias not in (None, name) or len(lengths) != 1:
            raise TypeError(f"VerifyRequest.{name}: parse_request handles bounded strings only")
        limits[name] = lengths[0]
    if VerifyRequest.model_config.get("extra") != "forbid":
        raise TypeError("parse_request refuses unknown members, as VerifyRequest must")
    return limits, frozenset(required)


_LIMITS, _REQUIRED = _string_fields()


def parse_request(body: bytes) -> verification.VerifyItem | None:
    """The verification asked for in ``body``, if it is a valid ``VerifyRequest``; else None.

    Accepts exactly what ``VerifyRequest.model_validate_json`` accepts without error (a JSON
    object of known members, each a string within its length or, if optional, null; the last
    of duplicate members wins in both) and reads it the same way. None means only "not
    handled here": the caller then validates with pydantic, which names the error. Such a body
    is one level deep, well within the depth limit.

    >>> parse_request(b'{"token": "t", "purpose": null}')
    VerifyItem(token='t', subject=None, purpose=None, audience=None, presentation=None, nonce=None)
    >>> parse_request(b'{"token": "t", "extra": 1}') is None
    True
    """
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(document) is not dict or not _REQUIRED.issubset(document.keys()):
        return None
    for name, value in document.items():
        limit = _LIMITS.get(name)
        if limit is None:
            return None
        if type(value) is str:
            if len(value) > limit:
                return None
        elif value is not None or name in _REQUIRED:
            return None
    return verification.VerifyItem(**document)


def _item(body: VerifyRequest) -> verification.VerifyItem:
    return verification.VerifyItem(
        token=body.token,
        subject=body.subject,
        purpose=body.purpose,
        audience=body.audience,
        presentation=body.presentation,
        nonce=body.nonce,
    )


# --- answering ---------------------------------------------------------------------------


async def verify_counted(
    app: Any, item: verification.VerifyItem, client: str
) -> verification.Outcome:
    """One verification as this route makes it: counted against ``client``'s rate limit,
    verified with the registry's facts, signed (the recruiter pages use it too).

    Raises:
        TooManyRequests: the client is over its limit.
    """
    ctx: Context = app.state.context
    if not verification.count_request_locally(ctx, client):
        await run_in_threadpool(verification.count_request, ctx, client)
    readers: verification.LoopReaders = app.state.verify_readers
    if readers.is_sqlite:
        return verification.verify_single(ctx, readers, item)
    return await verification.verify_single_async(ctx, readers, item)


async def _answer(app: Any, item: verification.VerifyItem, client: str) -> bytes:
    """The JSON answer to one verification: counted, verified, signed.

    Raises:
        TooManyRequests: the client is over its limit.
    """
    return orjson.dumps(verification.outcome_document(await verify_counted(app, item, client)))


def _client_of(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


_CONTENT_TYPE = (b"content-type", JSON.encode())


async def answer_directly(scope: Scope, body: bytes, send: Send) -> bool:
    """Answer ``POST /api/v1/verify`` from the body limits (see the module's description).

    Returns False, having sent nothing, when the body is not a valid request (or the app is
    mounted under a root path): the route then answers. Problems (429) are sent as the app's
    handlers would send them; anything unexpected propagates to the app's error handler.
    """
    item = parse_request(body)
    if item is None or scope.get("root_path"):
        return False
    scope["route"] = _ROUTE  # as the router would: the metrics label the route by it
    try:
        content = await _answer(scope["app"], item, _client_of(scope))
    except Problem as e:
        response = problem_response(
            e.status, e.slug, e.title, e.detail, headers=e.headers, extra=e.extra
        )
        await response(scope, _no_receive, send)
        return True
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(len(content)).encode()), _CONTENT_TYPE],
        }
    )
    await send({"type": "http.response.body", "body": content})
    return True


async def _no_receive() -> Any:  # pragma: no cover - a response never reads the request
    return {"type": "http.disconnect"}


# --- routes ------------------------------------------------------------------------------


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
async def verify(request: Request) -> Response:
    """Verify one token: the protocol's verdict with the registry's facts, signed.

    A token that is not a readable endorsement is answered (verdict ``malformed``); a body
    that does not match the schema is a 422 problem.
    """
    body = await request.body()
    item = parse_request(body)
    if item is None:
        try:
            item = _item(VerifyRequest.model_validate_json(body))
        except ValidationError as e:
            raise RequestValidationError(e.errors(include_url=False)) from e
    content = await _answer(request.app, item, _client_of(request.scope))
    return Response(content, media_type=JSON)


_ROUTE = next(r for r in router.routes if isinstance(r, APIRoute) and r.endpoint is verify)


@router.post("/verify/batch", response_model=BatchResponse)
def verify_batch(body: BatchRequest, request: Request, ctx: Ctx) -> Response:
    """Verify up to ``verify_batch_max`` tokens in one request; results in the same order."""
    limit = ctx.settings.verify_batch_max
    if len(body.items) > limit:
        raise BatchTooLarge(f"a batch holds at most {limit} items")
    outcomes = verification.verify_items(
        ctx, [_item(i) for i in body.items], _client_of(request.scope)
    )
    document = {"results": [verification.outcome_document(o) for o in outcomes]}
    return Response(orjson.dumps(document), media_type=JSON)
