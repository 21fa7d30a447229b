"""``/api/v1/slots``, ``/api/v1/endorsements`` and ``/api/v1/registrations``: the endorser's
side of the lifecycle. Thin handlers over :mod:`endorse.server.endorsements`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from endorse.server import endorsements
from endorse.server.auth import Signed
from endorse.server.deps import Ctx
from endorse.server.problems import NotFound, Unprocessable
from endorse.server.schemas.endorsements import (
    EndorsementItem,
    EndorsementPage,
    RegisterRequest,
    RegistrationLookup,
    RegistrationResponse,
    RevokeRequest,
    RevokeResponse,
    SlotResponse,
)

router = APIRouter(prefix="/api/v1", tags=["endorsements"])

EndorsementId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{21}[AQgw]$")]
TokenHash = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$")]


async def _no_body(request: Request) -> None:
    # The slot is the registry's choice: a body asking for one is refused, not ignored.
    if (await request.body()).strip() not in (b"", b"{}"):
        raise Unprocessable("this endpoint takes no body (or an empty object)")


@router.post(
    "/slots", response_model=SlotResponse, status_code=201, dependencies=[Depends(_no_body)]
)
def allocate_slot(ctx: Ctx, signed: Signed) -> SlotResponse:
    """Reserve a random status entry for the signing key's next endorsement.

    Signed request by a key bound to a verified identity, not revoked or rotated; no body.
    """
    grant = endorsements.allocate_slot(ctx, signed.did)
    return SlotResponse(registry=grant.registry, list_id=grant.list_id, index=grant.index)


@router.post(
    "/endorsements",
    response_model=RegistrationResponse,
    status_code=201,
    responses={200: {"model": RegistrationResponse, "description": "Registered before."}},
)
def register(body: RegisterRequest, ctx: Ctx, response: Response) -> RegistrationResponse:
    """Register an endorsement token; its own signature authenticates it.

    201 with the registry-signed registration; the same token again answers 200 with the
    same registration. Another token with the same id or slot is a 409.
    """
    registered = endorsements.register(ctx, body.token)
    if not registered.created:
        response.status_code = 200
    return RegistrationResponse(
        id=registered.id,
        token_hash=registered.token_hash,
        registered_at=registered.registered_at,
        registration=registered.registration,
    )


@router.get("/endorsements", response_model=EndorsementPage)
def list_mine(
    ctx: Ctx,
    signed: Signed,
    limit: Annotated[int, Query(ge=1, le=endorsements.MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> EndorsementPage:
    """The signing key's own endorsements (signed request); nobody else's, ever."""
    page = endorsements.list_issued(ctx, signed.did, limit=limit, cursor=cursor)
    return EndorsementPage(
        items=[
            EndorsementItem(
                id=row.id,
                token=row.token,
                registered_at=row.registered_at,
                revoked_at=row.revoked_at,
                list_id=row.list_id,
                index=row.idx,
            )
            for row in page.items
        ],
        next_cursor=page.next_cursor,
    )


@router.post("/endorsements/{endorsement_id}/revoke", response_model=RevokeResponse)
def revoke(endorsement_id: EndorsementId, body: RevokeRequest, ctx: Ctx) -> RevokeResponse:
    """Withdraw an endorsement with a revocation signed by its issuer.

    Durable before it answers; reflected in the next status-list fetch and verification.
    Revoking again answers 200 with the revocation stored first.
    """
    revoked = endorsements.revoke(ctx, endorsement_id, body.revocation)
    return RevokeResponse(
        id=revoked.id, revoked_at=revoked.revoked_at, revocation=revoked.revocation
    )


@router.get("/registrations/{token_hash}", response_model=RegistrationLookup)
def registration(token_hash: TokenHash, ctx: Ctx) -> RegistrationLookup:
    """The registry-signed registration of a token, by the token's hash (spec §6.3 step 5)."""
    found = endorsements.registration_of(ctx, token_hash)
    if found is None:
        raise NotFound("no token with this hash is registered here")
    return RegistrationLookup(token_hash=token_hash, registration=found)
