"""endorse.protocol: the pure core of endorse: keys, canonical encoding, signed objects,
status lists and verification. No network, no database, no clock: time and every trusted
fact are passed in.

>>> from endorse.protocol import SigningKey, Subject, Relationship, TrustedIssuer
>>> from endorse.protocol import issue, verify_endorsement
>>> alice = SigningKey.from_seed(bytes(32))
>>> token = issue(alice, "Alice Smith", Subject("Bob Jones", email="bob@example.com"),
...               Relationship("work", "manager", org="Acme"), ["employment-reference"],
...               now=1_700_000_000)
>>> verify_endorsement(token, now=1_700_000_100, require_status=False,
...                    issuers={alice.did: TrustedIssuer.pinned(alice.did)}).verdict.value
'valid'
"""

from endorse.protocol.batch import VerificationCancelled, default_workers, verify_endorsements
from endorse.protocol.errors import (
    BadSignature,
    EndorseError,
    InvalidArgument,
    InvalidKey,
    KeyFileError,
    MalformedToken,
    NonCanonicalEncoding,
    VerificationFailed,
    WrongTokenType,
)
from endorse.protocol.issue import build_endorsement, issue, new_id
from endorse.protocol.keys import PublicKey, SigningKey
from endorse.protocol.objects import (
    DEFAULT_VALIDITY,
    MAX_VALIDITY,
    PROTOCOL_VERSION,
    PURPOSES,
    Endorsement,
    KeyBinding,
    KeyRevocation,
    KeyRotation,
    Presentation,
    Receipt,
    Registration,
    Relationship,
    Revocation,
    SignedObject,
    StatusListToken,
    StatusRef,
    Subject,
    check_purpose,
)
from endorse.protocol.status import MIN_SIZE, Bitstring, StatusList
from endorse.protocol.token import (
    Unverified,
    Verified,
    check_signature,
    decode_unverified,
    inspect,
    sign,
    signing_context,
    token_hash,
    verify_token,
)
from endorse.protocol.trust import (
    TrustedIssuer,
    verify_key_binding,
    verify_key_revocation,
    verify_receipt,
    verify_registration,
    verify_revocation,
    verify_status_list,
)
from endorse.protocol.verdicts import Verdict
from endorse.protocol.verify import (
    DEFAULT_CLOCK_SKEW,
    Check,
    Expectations,
    TrustedFacts,
    VerificationResult,
    index_status_lists,
    verify_endorsement,
    verify_endorsement_strict,
    verify_endorsement_with,
)

__all__ = [
    "DEFAULT_CLOCK_SKEW",
    "DEFAULT_VALIDITY",
    "MAX_VALIDITY",
    "MIN_SIZE",
    "PROTOCOL_VERSION",
    "PURPOSES",
    "BadSignature",
    "Bitstring",
    "Check",
    "EndorseError",
    "Endorsement",
    "Expectations",
    "InvalidArgument",
    "InvalidKey",
    "KeyBinding",
    "KeyFileError",
    "KeyRevocation",
    "KeyRotation",
    "MalformedToken",
    "NonCanonicalEncoding",
    "Presentation",
    "PublicKey",
    "Receipt",
    "Registration",
    "Relationship",
    "Revocation",
    "SignedObject",
    "SigningKey",
    "StatusList",
    "StatusListToken",
    "StatusRef",
    "Subject",
    "TrustedFacts",
    "TrustedIssuer",
    "Unverified",
    "Verdict",
    "VerificationCancelled",
    "VerificationFailed",
    "VerificationResult",
    "Verified",
    "WrongTokenType",
    "build_endorsement",
    "check_purpose",
    "check_signature",
    "decode_unverified",
    "default_workers",
    "index_status_lists",
    "inspect",
    "issue",
    "new_id",
    "sign",
    "signing_context",
    "token_hash",
    "verify_endorsement",
    "verify_endorsement_strict",
    "verify_endorsement_with",
    "verify_endorsements",
    "verify_key_binding",
    "verify_key_revocation",
    "verify_receipt",
    "verify_registration",
    "verify_revocation",
    "verify_status_list",
    "verify_token",
]
