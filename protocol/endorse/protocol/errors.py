"""The one exception tree of endorse.

Every error raised by a public function of ``endorse`` derives from :class:`EndorseError`,
whatever the input; parsers wrap library errors (``raise MalformedToken(...) from e``) so no
``KeyError``, ``ValueError`` or ``binascii.Error`` escapes.

    EndorseError
    ├── MalformedToken            input is not a well-formed protocol object (spec §2-§4)
    │   ├── NonCanonicalEncoding  valid data, but not its one canonical form (spec §2)
    │   └── WrongTokenType        a well-formed token of another type (spec §3)
    ├── InvalidKey                not a usable Ed25519 key / did:key (spec §2.4)
    ├── BadSignature              the signature does not verify (spec §3.3)
    ├── KeyFileError              a private key file cannot be read or decrypted
    ├── InvalidArgument           a caller passed an argument of the wrong type (a bug in the
    │                             caller, never a defect of a token)
    └── VerificationFailed        a verification ended in a verdict other than ``valid``
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from endorse.protocol.verify import VerificationResult


class EndorseError(Exception):
    """Base class of every error raised by endorse."""


class MalformedToken(EndorseError):
    """The input is not a well-formed protocol object; the message names the defect."""


class NonCanonicalEncoding(MalformedToken):
    """The input decodes, but is not the one canonical encoding of what it decodes to."""


class WrongTokenType(MalformedToken):
    """A well-formed token of another type than the one expected (type confusion)."""


class InvalidKey(EndorseError):
    """A key or key identifier is not a valid, strict Ed25519 public or private key."""


class BadSignature(EndorseError):
    """The signature does not verify for the key, signing context and payload bytes."""


class KeyFileError(EndorseError):
    """A private key file is unreadable, not PKCS#8 Ed25519 PEM, or the passphrase is wrong."""


class InvalidArgument(EndorseError):
    """An argument that is not untrusted input (a key, a verifier expectation, a clock, a
    type to expect) has the wrong type: a bug in the calling code, not a defect of a token.

    Untrusted input of the wrong type (a token that is not text, JSON that is not bytes) is
    :class:`MalformedToken` instead.
    """


class VerificationFailed(EndorseError):
    """Raised by :func:`~endorse.protocol.verify_endorsement_strict` for any verdict but valid.

    The full :class:`~endorse.protocol.VerificationResult` is kept on ``result``.
    """

    def __init__(self, result: VerificationResult) -> None:
        from endorse.protocol.verify import VerificationResult  # here: verify imports errors

        if type(result) is not VerificationResult:
            raise InvalidArgument("VerificationFailed needs the VerificationResult that failed")
        super().__init__(f"{result.verdict.value}: {result.message}")
        self.result = result

    @property
    def verdict(self) -> str:
        return self.result.verdict.value
