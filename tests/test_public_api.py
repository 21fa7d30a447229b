"""The public surface is what we mean it to be: exported names, types, no stray errors."""

from __future__ import annotations

import importlib
import inspect as pyinspect
import pathlib

import endorse.protocol
from endorse.protocol import EndorseError

EXPECTED_PROTOCOL_API = {
    # constants
    "DEFAULT_CLOCK_SKEW",
    "DEFAULT_VALIDITY",
    "MAX_VALIDITY",
    "MIN_SIZE",
    "PROTOCOL_VERSION",
    "PURPOSES",
    "REFUSAL_REASONS",
    "SIGNED_TOKENS_ONLY",
    # errors
    "EndorseError",
    "MalformedToken",
    "NonCanonicalEncoding",
    "WrongTokenType",
    "InvalidKey",
    "BadSignature",
    "KeyFileError",
    "InvalidArgument",
    "VerificationFailed",
    # keys
    "PublicKey",
    "SigningKey",
    # objects
    "SignedObject",
    "Endorsement",
    "Subject",
    "Relationship",
    "StatusRef",
    "Revocation",
    "KeyRotation",
    "KeyRevocation",
    "Presentation",
    "KeyBinding",
    "StatusListToken",
    "Receipt",
    "check_purpose",
    # claimed references (spec §4.11-§4.13, §6.4)
    "ReferenceRequest",
    "Requester",
    "Refusal",
    "Policy",
    "build_reference_request",
    "build_refusal",
    "sign_refusal",
    "build_policy",
    "sign_policy",
    "verify_reference_request",
    "verify_refusal",
    "verify_policy",
    # issuing and tokens
    "build_endorsement",
    "issue",
    "new_id",
    "sign",
    "signing_context",
    "token_hash",
    "inspect",
    "decode_unverified",
    "Unverified",
    "Verified",
    "check_signature",
    "verify_token",
    # status lists
    "Bitstring",
    "StatusList",
    # trust and verification
    "TrustedIssuer",
    "verify_key_binding",
    "verify_key_revocation",
    "verify_receipt",
    "verify_revocation",
    "verify_registration",
    "Registration",
    # registry key rotation (spec §4.14)
    "RegistryKeyRotation",
    "verify_registry_key_rotation",
    "verify_status_list",
    "Verdict",
    "Check",
    "VerificationResult",
    "index_status_lists",
    "verify_endorsement",
    "verify_endorsement_strict",
    "verify_endorsement_with",
    "Expectations",
    "TrustedFacts",
    "verify_endorsements",
    "VerificationCancelled",
    "VerificationWorkerFailed",
    "SignaturePool",
    "default_workers",
}


EXPECTED_CLIENT_API = {
    # clients
    "Client",
    "AsyncClient",
    # what they answer
    "VerifyItem",
    "OnlineResult",
    "OnlineIssuer",
    "OnlineStatus",
    "Issued",
    "Listed",
    "Pending",
    "AlreadyRegistered",
    "Revoked",
    "ShortLink",
    "ShortLinkRevoked",
    "ShortLinksRevoked",
    "RegistryInfo",
    "CacheStats",
    # claimed references
    "RequestStatus",
    "Answer",
    "InboxItem",
    "StandingRefusal",
    "CheckCounts",
    # errors
    "RegistryError",
    "RegistryUnreachable",
    "PinMismatch",
    "RegistryStatementInvalid",
    "StatusBitCleared",
    "PinStoreError",
    "ConfigError",
    # subjects
    "verification_url",
    "token_from_url",
    "registry_of",
    "short_link_in",
    "qr_png",
    "qr_svg",
    "qr_text",
    "present",
    "new_challenge",
    # keys and pins
    "default_key_path",
    "load_key",
    "write_key",
    "default_pin_store",
}


def test_client_exports_exactly_the_intended_names() -> None:
    import endorse.client

    assert set(endorse.client.__all__) == EXPECTED_CLIENT_API
    for name in endorse.client.__all__:
        obj = getattr(endorse.client, name)
        if pyinspect.isclass(obj) and issubclass(obj, Exception):
            assert issubclass(obj, EndorseError), name


def test_both_clients_offer_the_same_calls() -> None:
    from endorse.client import AsyncClient, Client

    def public(cls: type) -> dict[str, list[str]]:
        return {
            name: list(pyinspect.signature(member).parameters)
            for name, member in vars(cls).items()
            if not name.startswith("_") and callable(member)
        }

    sync, asynchronous = public(Client), public(AsyncClient)
    sync["aclose"] = sync.pop("close")
    assert sync == asynchronous
    for name, member in vars(AsyncClient).items():
        if not name.startswith("_") and callable(member) and name != "cache_stats":
            assert pyinspect.iscoroutinefunction(member), name


def test_protocol_exports_exactly_the_intended_names() -> None:
    assert set(endorse.protocol.__all__) == EXPECTED_PROTOCOL_API
    for name in endorse.protocol.__all__:
        assert hasattr(endorse.protocol, name), name


def test_one_exception_tree() -> None:
    for name in endorse.protocol.__all__:
        obj = getattr(endorse.protocol, name)
        if pyinspect.isclass(obj) and issubclass(obj, Exception):
            assert issubclass(obj, EndorseError), name


def test_namespace_package_without_init() -> None:
    # PEP 420: three source roots share the "endorse" namespace; none may own it.
    import endorse

    assert getattr(endorse, "__file__", None) is None
    roots = {pathlib.Path(p).parent.name for p in endorse.__path__}
    assert {"protocol", "client"} <= roots


def test_typed_markers_shipped() -> None:
    for package in ("endorse.protocol", "endorse.client"):
        module = importlib.import_module(package)
        assert module.__file__ is not None
        assert (pathlib.Path(module.__file__).parent / "py.typed").is_file(), package


def test_protocol_imports_no_io_layers() -> None:
    # The core is pure: it never imports the server, the client or network libraries.
    source_dir = pathlib.Path(endorse.protocol.__file__).parent  # type: ignore[arg-type]
    forbidden = ("endorse.server", "endorse.client", "httpx", "fastapi", "sqlalchemy", "socket")
    for path in source_dir.glob("*.py"):
        text = path.read_text()
        for name in forbidden:
            assert f"import {name}" not in text, (path.name, name)
            assert f"from {name}" not in text, (path.name, name)


def test_dependency_direction() -> None:
    # server -> protocol and client -> protocol only; the client starts the server by module
    # path (python -m endorse.server), never by import.
    roots = pathlib.Path(__file__).resolve().parent.parent
    for path in (roots / "client" / "endorse" / "client").rglob("*.py"):
        text = path.read_text()
        assert "from endorse.server" not in text, path.name
        assert "import endorse.server" not in text, path.name
    for path in (roots / "server" / "endorse" / "server").rglob("*.py"):
        text = path.read_text()
        assert "from endorse.client" not in text, path.name
        assert "import endorse.client" not in text, path.name
