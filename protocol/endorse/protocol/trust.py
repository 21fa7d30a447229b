"""Trusted facts a verifier holds, and how registry-signed tokens become them (spec §6.1).

:func:`~endorse.protocol.verify.verify_endorsement` takes only trusted inputs. The functions
here produce them from tokens fetched from a registry, checking the registry's signature with
a key the verifier pinned; the types (:class:`TrustedIssuer`, :class:`StatusList`) can be
built by hand only by code that decides to trust something directly (a pinned issuer key).
"""

from __future__ import annotations

from dataclasses import dataclass

from endorse.protocol.errors import BadSignature, InvalidArgument, MalformedToken
from endorse.protocol.keys import PublicKey
from endorse.protocol.objects import (
    KeyBinding,
    KeyRevocation,
    Receipt,
    Registration,
    RegistryKeyRotation,
    Revocation,
    StatusListToken,
)
from endorse.protocol.status import StatusList
from endorse.protocol.token import verify_token


@dataclass(frozen=True, slots=True)
class TrustedIssuer:
    """What a verifier trusts about one issuer key.

    ``identity`` is the registry-verified e-mail, or None for a key the verifier pinned
    itself (``endorse verify --issuer DID``). ``revoked_from``: when the key was revoked;
    its tokens then need a registration older than that (spec §6.3 step 5).

    Raises:
        InvalidArgument: a field of the wrong type (when built in code).
    """

    key: str
    identity: str | None = None
    name: str | None = None
    since: int | None = None
    registry: str | None = None
    revoked_from: int | None = None

    def __post_init__(self) -> None:
        if (
            type(self.key) is not str
            or (self.identity is not None and type(self.identity) is not str)
            or (self.name is not None and type(self.name) is not str)
            or (self.since is not None and type(self.since) is not int)
            or (self.registry is not None and type(self.registry) is not str)
            or (self.revoked_from is not None and type(self.revoked_from) is not int)
        ):
            raise InvalidArgument(
                "TrustedIssuer(key: str, identity, name, registry: str | None,"
                " since, revoked_from: int | None)"
            )

    @classmethod
    def pinned(cls, did: str) -> TrustedIssuer:
        """Trust ``did`` directly, without a registry binding.

        Raises:
            InvalidKey: ``did`` is not a valid Ed25519 did:key.
        """
        return cls(key=PublicKey.from_did(did).did)

    @classmethod
    def from_binding(
        cls, binding: KeyBinding, revocation: KeyRevocation | None = None
    ) -> TrustedIssuer:
        """Trust a key as its verified registry binding (and key revocation, if any) say.

        Raises:
            MalformedToken: the key revocation is for another key.
            InvalidArgument: not a KeyBinding (and a KeyRevocation or None).
        """
        if type(binding) is not KeyBinding or (
            revocation is not None and type(revocation) is not KeyRevocation
        ):
            raise InvalidArgument("from_binding needs a KeyBinding and a KeyRevocation or None")
        if revocation is not None and revocation.key != binding.key:
            raise MalformedToken("key revocation is for another key than the binding")
        return cls(
            key=binding.key,
            identity=binding.email,
            name=binding.name,
            since=binding.since,
            registry=binding.registry,
            revoked_from=None if revocation is None else revocation.revoked_from,
        )


def verify_key_binding(token: str, registry_key: PublicKey, registry: str) -> KeyBinding:
    """Check a key-binding token signed by ``registry_key`` for ``registry``.

    Raises:
        MalformedToken: not a well-formed key binding, or for another registry.
        BadSignature: not signed by ``registry_key``.
        InvalidArgument: ``registry_key`` is not a PublicKey, or ``registry`` not a str.
    """
    _check_registry(registry)
    binding = verify_token(token, KeyBinding, registry_key).object
    _same_registry(binding.registry, registry)
    return binding


def verify_status_list(token: str, registry_key: PublicKey, registry: str) -> StatusList:
    """Check a status-list token of ``registry`` and decode its bits.

    Raises:
        MalformedToken: malformed, for another registry, or bits that do not decode.
        BadSignature: not signed by ``registry_key``.
        InvalidArgument: ``registry_key`` is not a PublicKey, or ``registry`` not a str.
    """
    _check_registry(registry)
    obj = verify_token(token, StatusListToken, registry_key).object
    _same_registry(obj.registry, registry)
    return StatusList.from_token_object(obj)


def verify_receipt(token: str, registry_key: PublicKey, registry: str) -> Receipt:
    """Check a verification receipt signed by the registry.

    Raises:
        MalformedToken: malformed, or for another registry.
        BadSignature: not signed by ``registry_key``.
        InvalidArgument: ``registry_key`` is not a PublicKey, or ``registry`` not a str.
    """
    _check_registry(registry)
    receipt = verify_token(token, Receipt, registry_key).object
    _same_registry(receipt.registry, registry)
    return receipt


def verify_registry_key_rotation(
    token: str, registry_key: PublicKey, registry: str
) -> RegistryKeyRotation:
    """Check that ``registry_key``, a key trusted for ``registry``, names its successor.

    A verifier that pinned ``registry_key`` follows the rotation to ``successor`` (spec §4.14);
    a rotation is the only way a pinned registry key may change.

    Raises:
        MalformedToken: malformed, for another registry, or not about ``registry_key``.
        BadSignature: not signed by ``registry_key``.
        InvalidArgument: ``registry_key`` is not a PublicKey, or ``registry`` not a str.
    """
    _check_registry(registry)
    rotation = verify_token(token, RegistryKeyRotation, registry_key).object
    _same_registry(rotation.registry, registry)
    return rotation


def verify_registration(token: str, registry_key: PublicKey, registry: str) -> Registration:
    """Check a registration record signed by the registry (spec §4.10).

    Raises:
        MalformedToken: malformed, or for another registry.
        BadSignature: not signed by ``registry_key``.
        InvalidArgument: ``registry_key`` is not a PublicKey, or ``registry`` not a str.
    """
    _check_registry(registry)
    registration = verify_token(token, Registration, registry_key).object
    _same_registry(registration.registry, registry)
    return registration


def verify_revocation(token: str, registry_key: PublicKey | None = None) -> Revocation:
    """Check a revocation signed by the endorsement's issuer, or by the registry's key.

    Unlike :func:`~endorse.protocol.verify_token`, this checks who may sign: ``by`` must be
    the issuer named in the revocation or ``registry_key``.

    Raises:
        MalformedToken: not a well-formed revocation.
        BadSignature: signed by neither the issuer nor ``registry_key``.
        InvalidArgument: ``registry_key`` is not a PublicKey or None.
    """
    _check_key(registry_key)
    revocation = verify_token(token, Revocation).object
    _signed_by_key_or_registry(revocation.by, revocation.issuer, registry_key)
    return revocation


def verify_key_revocation(token: str, registry_key: PublicKey | None = None) -> KeyRevocation:
    """Check a key revocation signed by the key itself, or by the registry's key.

    Unlike :func:`~endorse.protocol.verify_token`, this checks who may sign: ``by`` must be
    the revoked key itself or ``registry_key``.

    Raises:
        MalformedToken: not a well-formed key revocation.
        BadSignature: signed by neither the key nor ``registry_key``.
        InvalidArgument: ``registry_key`` is not a PublicKey or None.
    """
    _check_key(registry_key)
    revocation = verify_token(token, KeyRevocation).object
    _signed_by_key_or_registry(revocation.by, revocation.key, registry_key)
    return revocation


def _check_registry(registry: object) -> None:
    # registry_key is checked by verify_token (check_signature).
    if type(registry) is not str:
        raise InvalidArgument("the registry id must be a str")


def _check_key(registry_key: object) -> None:
    if registry_key is not None and type(registry_key) is not PublicKey:
        raise InvalidArgument("the registry key must be a PublicKey")


def _signed_by_key_or_registry(by: str, key: str, registry_key: PublicKey | None) -> None:
    # verify_token already checked the signature of `by`; here: is `by` allowed to sign?
    if by != key and (registry_key is None or by != registry_key.did):
        raise BadSignature("signed by a key that is neither the owner's nor the registry's")


def _same_registry(found: str, expected: str) -> None:
    if found != expected:
        raise MalformedToken(f"statement is by registry {found[:80]!r}, expected {expected[:80]!r}")
