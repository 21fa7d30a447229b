"""endorse.server: the verifier server (registry) of endorse.

Not built yet: it will bind endorser keys to verified identities, record issuance and
revocation, publish signed status lists and answer verification requests, on top of
:mod:`endorse.protocol`. Nothing is exported until then.
"""

__all__: list[str] = []
