"""endorse.protocol.vc: the portable form of an endorsement (spec §13).

A registered endorsement exports as a W3C VC 2.0 / Open Badges 3.0 ``EndorsementCredential``
with an ``eddsa-jcs-2022`` Data Integrity proof by the endorser's key; its revocation is
published in an endorser-signed ``BitstringStatusListCredential`` served by the registry.
Pure, like the rest of the protocol: no network, no clock.

>>> from endorse.protocol import SigningKey, Subject, Relationship, build_endorsement, StatusRef
>>> key = SigningKey.from_seed(bytes(32))
>>> e = build_endorsement(key, "Alice Smith", Subject("Bob Jones", email="bob@example.com"),
...     Relationship("work", "manager"), ["employment-reference"], now=1_700_000_000,
...     status=StatusRef("https://registry.example", "list1", 7))
>>> credential = endorsement_credential(e, key)
>>> credential["type"], credential["credentialStatus"]["statusListIndex"]
(['VerifiableCredential', 'EndorsementCredential'], '7')
>>> verify_jcs(credential) == key.public_key
True
"""

from endorse.protocol.vc._credential import (
    CONTEXT_PATH,
    ENDORSE_CONTEXT,
    OB_CONTEXT,
    STATUS_PATH,
    VC_CONTEXT,
    EndorsementCredential,
    StatusListCredential,
    context_url,
    date_time,
    decode_list,
    endorsement_credential,
    load_json,
    read_credential,
    read_status_list_credential,
    status_list_credential,
    status_list_url,
    subject_digest,
)
from endorse.protocol.vc._proof import (
    CRYPTOSUITE,
    jcs,
    key_of_verification_method,
    proof_options,
    sign_jcs,
    verification_method,
    verify_jcs,
)
from endorse.protocol.vc._verify import (
    CredentialResult,
    CredentialVerificationFailed,
    verify_credential,
)

__all__ = [
    "CONTEXT_PATH",
    "CRYPTOSUITE",
    "ENDORSE_CONTEXT",
    "OB_CONTEXT",
    "STATUS_PATH",
    "VC_CONTEXT",
    "CredentialResult",
    "CredentialVerificationFailed",
    "EndorsementCredential",
    "StatusListCredential",
    "context_url",
    "date_time",
    "decode_list",
    "endorsement_credential",
    "jcs",
    "key_of_verification_method",
    "load_json",
    "proof_options",
    "read_credential",
    "read_status_list_credential",
    "sign_jcs",
    "status_list_credential",
    "status_list_url",
    "subject_digest",
    "verification_method",
    "verify_credential",
    "verify_jcs",
]
