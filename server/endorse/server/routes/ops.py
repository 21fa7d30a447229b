"""Operational endpoints: liveness, readiness, and the registry's self-description."""

from __future__ import annotations

import functools
from importlib.metadata import version

from fastapi import APIRouter, Response
from pydantic import BaseModel

from endorse.protocol import PROTOCOL_VERSION
from endorse.server.deps import Ctx
from endorse.server.problems import Unavailable

router = APIRouter()


class Health(BaseModel):
    status: str


class RegistryKeyInfo(BaseModel):
    key: str
    """did:key of a key the registry signs or signed with."""
    valid_from: int | None
    """Since when it signs (Unix time); None: since the registry began."""
    valid_until: int | None
    """When a rotation ended its signing; None for the key in force."""
    rotation: str | None
    """The registry-key-rotation token (spec §4.14), signed by the key before, that made this
    key the registry's; None for the first key."""


class RegistryInfo(BaseModel):
    registry: str
    """The registry's id, as written in tokens and statements."""
    key: str
    """did:key of the registry's signing key: pin it."""
    keys: list[RegistryKeyInfo]
    """Every key the registry has had, the one in force first: a client that pinned an older
    one follows the rotations (spec §4.14)."""
    protocol_version: int
    server_version: str
    status_max_age: int
    endpoints: dict[str, str]


@router.get("/healthz", response_model=Health, tags=["operations"])
def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, tags=["operations"])
def readyz(ctx: Ctx) -> Health:
    """The database answers."""
    try:
        ctx.db.ping()
    except Exception as e:  # any driver error means: not ready
        raise Unavailable("the database is not reachable") from e
    return Health(status="ready")


@functools.cache
def _server_version() -> str:
    """The installed distribution's version: read from its metadata once, not per request
    (the verification page asks for this document on every view)."""
    return version("endorse")


@router.get("/.well-known/endorse-registry", response_model=RegistryInfo, tags=["operations"])
def well_known(ctx: Ctx, response: Response) -> RegistryInfo:
    """Who this registry is, its key, and where its endpoints are.

    Not to be stored by caches: the verification page takes the registry's time from this
    answer's ``Date`` (spec §11.3), which a cached copy would give from the past.
    """
    response.headers["Cache-Control"] = "no-store"
    return RegistryInfo(
        registry=ctx.registry,
        key=ctx.key.did,
        keys=[
            RegistryKeyInfo(
                key=k.did, valid_from=k.valid_from, valid_until=k.valid_until, rotation=k.rotation
            )
            for k in ctx.published_keys
        ],
        protocol_version=PROTOCOL_VERSION,
        server_version=_server_version(),
        status_max_age=ctx.settings.status_max_age,
        endpoints={
            "status_lists": "/api/v1/status-lists/{list_id}",
            "verify": "/api/v1/verify",
            "verify_batch": "/api/v1/verify/batch",
            "register": "/api/v1/identities/register",
            "confirm": "/api/v1/identities/confirm",
            "key_binding": "/api/v1/identities/{key}",
            "requests": "/api/v1/requests",
            "request": "/api/v1/requests/{id}",
            "request_answer": "/api/v1/requests/{id}/answer",
            "inbox": "/api/v1/inbox",
            "policy": "/api/v1/policy",
            "standing_refusals": "/api/v1/standing-refusals",
            "checks": "/api/v1/checks",
            "mail_stop": "/mail/stop",
        },
    )
