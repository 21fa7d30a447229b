"""``/api/v1/identities``: bind keys to verified e-mail addresses, rotate and revoke them.

Thin handlers: they parse, call :mod:`endorse.server.identities`, and answer. Which calls are
signed requests (``Endorse-*`` headers, spec §10) and by which key is part of each contract:

* ``POST /register``, ``POST /confirm``: signed by the key being bound.
* ``GET /{key}``: not signed; the key binding and key state verifiers fetch.
* ``POST /{key}/rotate``, ``POST /{key}/revoke``: signed by ``{key}``.
* ``POST /{key}/recover``, ``POST /{key}/recover/confirm``: not signed (the key is lost); the
  e-mail code is the proof.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from endorse.server import codes, identities
from endorse.server.auth import Signed
from endorse.server.deps import Ctx
from endorse.server.problems import Forbidden, openapi_problems
from endorse.server.ratelimit import client_host
from endorse.server.schemas.identities import (
    ConfirmRequest,
    KeyStateResponse,
    PendingResponse,
    RecoverConfirmRequest,
    RecoverRequest,
    RegisterRequest,
    RevokeRequest,
    RotateRequest,
)

router = APIRouter(prefix="/api/v1/identities", tags=["identities"])


_PROBLEMS = {
    400: "Malformed input, a token or proof that does not verify, or an invalid or expired code",
    401: "The request signature is missing, wrong, stale or replayed",
    403: "Signed by another key than the one in the path",
    404: "No identity is bound to the key",
    409: "The key's state does not allow it",
    422: "The body does not match the schema",
    429: "Too many requests; see Retry-After",
    503: "The confirmation e-mail could not be sent",
}


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return openapi_problems(_PROBLEMS, *statuses)


def _pending(pending: codes.Pending) -> PendingResponse:
    return PendingResponse(pending=pending.id, expires_at=pending.expires_at)


def _state(state: identities.KeyState) -> KeyStateResponse:
    return KeyStateResponse(
        key=state.key,
        binding=state.binding,
        revoked_from=state.revoked_from,
        key_revocation=state.key_revocation,
        successor=state.successor,
        rotation=state.rotation,
    )


def _signed_by(signer: str, key: str) -> str:
    key = identities.parse_key(key)
    if signer != key:
        raise Forbidden("the request must be signed by the key in the path")
    return key


@router.post(
    "/register",
    status_code=202,
    response_model=PendingResponse,
    responses={
        200: {
            "model": KeyStateResponse,
            "description": "The key is bound already: its state, as ``GET /{key}`` answers it;"
            " nothing was sent",
        },
        **_problems(400, 401, 422, 429, 503),
    },
)
def register(
    body: RegisterRequest, signed: Signed, ctx: Ctx, request: Request
) -> PendingResponse | JSONResponse:
    """Ask to bind the signing key (``Endorse-Key``) to ``email``; a code is e-mailed.

    The request signature proves possession of the key. 202 with the pending id to confirm; a
    key that is bound already gets 200 with its state (as ``GET /{key}`` answers it, binding
    and any rotation or revocation), and nothing is stored or sent. The answer never depends on
    whether the address is registered.

    Problems: 401 unsigned, forged or replayed; 400 ``malformed`` e-mail or name; 429 too many
    requests for this address or client (``Retry-After``); 503 the mail could not be sent.
    """
    answer = identities.start_registration(
        ctx, signed.did, body.email, body.name, client_host(request)
    )
    if isinstance(answer, identities.KeyState):
        return JSONResponse(_state(answer).model_dump(exclude_none=True))
    return _pending(answer)


@router.post(
    "/confirm",
    response_model=KeyStateResponse,
    response_model_exclude_none=True,
    responses=_problems(400, 401, 422, 429),
)
def confirm(body: ConfirmRequest, signed: Signed, ctx: Ctx, request: Request) -> KeyStateResponse:
    """Return the e-mailed code, signed by the same key; get the registry-signed key binding.

    The request signature covers the body (the code) and the registry id. Problems: 400
    ``invalid-code`` for a wrong, expired, used or unknown code or too many attempts (one answer
    for all; a wrong code uses up one of the attempts); 401; 429.
    """
    return _state(
        identities.confirm_registration(
            ctx, signed.did, body.pending, body.code, client_host(request)
        )
    )


@router.get(
    "/{key}",
    response_model=KeyStateResponse,
    response_model_exclude_none=True,
    responses=_problems(400, 404),
)
def get_key(key: str, ctx: Ctx) -> KeyStateResponse:
    """The registry-signed key binding of a did:key, and its rotation or revocation if any.

    What verifiers fetch: it reveals only what the binding states, for a key the caller
    already has. Problems: 400 ``malformed`` did:key; 404 unknown key.
    """
    return _state(identities.key_state(ctx, identities.parse_key(key)))


@router.post(
    "/{key}/rotate",
    response_model=KeyStateResponse,
    response_model_exclude_none=True,
    responses=_problems(400, 401, 403, 404, 409, 422),
)
def rotate(key: str, body: RotateRequest, signed: Signed, ctx: Ctx) -> KeyStateResponse:
    """Rotate ``{key}`` to a successor; both keys sign. Answers the successor's state.

    * The request is signed by the old key ``{key}``.
    * ``rotation`` is a key-rotation token signed by the old key: ``key`` = ``{key}``, ``next``
      = the successor.
    * ``successor_proof`` is the successor key's consent: base64url of its Ed25519 signature
      over ``b"endorse/v1/rotation-consent\\0" || SHA-256(rotation token, UTF-8)``.

    The successor gets its own key binding to the same identity, since now; the old key records
    its successor and the rotation, and its tokens stay valid (rotation is not revocation).
    Sending the same rotation again answers the same successor state.

    Problems: 400 ``malformed``/``bad-request`` token or proof; 401; 403 signed by another key;
    404 unknown key; 409 ``conflict``: key revoked, rotated to another key, or the successor
    already bound.
    """
    old = _signed_by(signed.did, key)
    return _state(identities.rotate_key(ctx, old, body.rotation, body.successor_proof))


@router.post(
    "/{key}/revoke",
    response_model=KeyStateResponse,
    response_model_exclude_none=True,
    responses=_problems(400, 401, 403, 404, 422),
)
def revoke(key: str, body: RevokeRequest, signed: Signed, ctx: Ctx) -> KeyStateResponse:
    """Revoke ``{key}`` with a key-revocation token signed by the key itself (``by`` = key).

    ``from`` must lie between the binding's ``since`` and now (plus the 300 s signed-request
    window). Revoking a revoked key answers the revocation already recorded. Problems: 400; 401;
    403 signed by another key; 404 unknown key.
    """
    revoked = _signed_by(signed.did, key)
    return _state(identities.revoke_key(ctx, revoked, body.revocation))


@router.post(
    "/{key}/recover",
    status_code=202,
    response_model=PendingResponse,
    responses=_problems(400, 422, 429, 503),
)
def recover(
    key: str,
    ctx: Ctx,
    request: Request,
    body: Annotated[RecoverRequest | None, Body()] = None,
) -> PendingResponse:
    """The key is lost: e-mail a revocation code to the address the key is bound to.

    Not signed. The answer is the same for unknown, revoked and active keys; only an active
    key's address gets mail. The body is empty or ``{}``. Problems: 400 malformed did:key; 429.
    """
    return _pending(identities.start_recovery(ctx, identities.parse_key(key), client_host(request)))


@router.post(
    "/{key}/recover/confirm",
    response_model=KeyStateResponse,
    response_model_exclude_none=True,
    responses=_problems(400, 422, 429),
)
def recover_confirm(
    key: str, body: RecoverConfirmRequest, ctx: Ctx, request: Request
) -> KeyStateResponse:
    """Return the recovery code; the registry revokes ``{key}`` and signs the key revocation.

    Not signed. The key revocation has ``by`` = the registry's key and ``from`` = now, or the
    earlier ``revoked_from`` given (not before the binding's ``since``). If the key is already
    revoked, the revocation on record is answered. Problems: 400 ``invalid-code`` (as for
    ``/confirm``); 400 ``malformed`` ``revoked_from``; 429.
    """
    return _state(
        identities.confirm_recovery(
            ctx,
            identities.parse_key(key),
            body.pending,
            body.code,
            body.revoked_from,
            client_host(request),
        )
    )
