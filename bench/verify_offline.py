"""Offline verification throughput: endorse's verify against raw PyNaCl and PyJWT, one run.

Three contenders verify the same workload, interleaved round by round on one pinned core:

* ``endorse``: :func:`endorse.protocol.verify_endorsement` on distinct registered tokens
  (strict parse, canonical-form check, signature, issuer, status list, scope);
* ``pynacl``: ``nacl.signing.VerifyKey.verify`` on messages of the same size (signature only);
* ``pyjwt``: ``jwt.decode`` of EdDSA JWTs carrying the same claims (its own checks).

Run: ``python bench/verify_offline.py`` (``--quick`` for a smoke run).
Targets (issue 2): endorse >= 0.9x pynacl and >= 2x pyjwt.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

import jwt
import nacl.signing
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from endorse.protocol import (
    MIN_SIZE,
    Bitstring,
    Relationship,
    SigningKey,
    StatusList,
    StatusRef,
    Subject,
    TrustedIssuer,
    inspect,
    issue,
    sign,
    verify_endorsement,
    verify_status_list,
)

NOW = 1_767_225_600
REGISTRY = "https://registry.example"


def build(n_tokens: int, n_issuers: int) -> dict[str, object]:
    registry = SigningKey.from_seed(b"\xaa" * 32)
    issuers = [SigningKey.from_seed(i.to_bytes(32, "big")) for i in range(1, n_issuers + 1)]
    tokens, jwts, raw = [], [], []
    jwt_keys = {}
    for i in range(n_tokens):
        key = issuers[i % n_issuers]
        token = issue(
            key,
            f"Endorser {i % n_issuers}",
            Subject(f"Candidate {i}", email=f"candidate{i}@example.com"),
            Relationship("work", "manager", org="Acme Corporation", start="2019", end="2023"),
            ["employment-reference"],
            now=NOW,
            statement="Reliable, kind and thorough; I would hire again.",
            status=StatusRef(REGISTRY, "list-1", i),
        )
        tokens.append(token)
        claims = inspect(token).object.to_payload()
        # JWT reserves "sub" for a string: carry the same subject object under another name.
        claims["subject"] = claims.pop("sub")
        claims["sub"] = claims["subject"]["email"]
        priv = jwt_keys.setdefault(key.did, Ed25519PrivateKey.from_private_bytes(key.seed()))
        jwts.append((jwt.encode(claims, priv, algorithm="EdDSA"), priv.public_key()))
        payload = inspect(token).payload
        message = os.urandom(len(payload) + len(b"endorse/v1/endorsement\0"))
        vk = nacl.signing.VerifyKey(key.public_key.raw)
        raw.append((vk, message, key.sign(message)))
    status = verify_status_list(
        sign(StatusList(REGISTRY, "list-1", NOW, 300, Bitstring(MIN_SIZE)).to_token_object(), registry),
        registry.public_key,
        REGISTRY,
    )
    trusted = {k.did: TrustedIssuer(k.did, identity=f"{k.did[-6:]}@example.com") for k in issuers}
    return {
        "tokens": tokens,
        "jwts": jwts,
        "raw": raw,
        "issuers": trusted,
        "lists": {(REGISTRY, "list-1"): status},
        "payload_bytes": len(inspect(tokens[0]).payload),
        "token_chars": len(tokens[0]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=2000)
    ap.add_argument("--issuers", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="tiny smoke run")
    args = ap.parse_args()
    if args.quick:
        args.tokens, args.rounds = 200, 2
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    w = build(args.tokens, args.issuers)
    tokens, jwts, raw = w["tokens"], w["jwts"], w["raw"]
    issuers, lists = w["issuers"], w["lists"]

    def run_endorse() -> None:
        for t in tokens:  # type: ignore[attr-defined]
            r = verify_endorsement(
                t, now=NOW + 60, issuers=issuers, status_lists=lists,  # type: ignore[arg-type]
                purpose="employment-reference",
            )
            if not r.valid:
                raise SystemExit(f"benchmark token not valid: {r.verdict} {r.detail}")

    def run_pynacl() -> None:
        for vk, message, signature in raw:  # type: ignore[attr-defined]
            vk.verify(message, signature)

    def run_pyjwt() -> None:
        for token, pub in jwts:  # type: ignore[attr-defined]
            jwt.decode(token, pub, algorithms=["EdDSA"], options={"verify_exp": True}, leeway=10**9)

    contenders: dict[str, Callable[[], None]] = {
        "endorse": run_endorse,
        "pynacl": run_pynacl,
        "pyjwt": run_pyjwt,
    }
    rates: dict[str, list[float]] = {k: [] for k in contenders}
    for fn in contenders.values():  # warm-up
        fn()
    for _ in range(args.rounds):
        for name, fn in contenders.items():
            start = time.perf_counter()
            fn()
            rates[name].append(len(tokens) / (time.perf_counter() - start))  # type: ignore[arg-type]

    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"python {platform.python_version()} on {platform.machine()}, one pinned core")
    print(
        f"{len(tokens)} distinct tokens from {args.issuers} issuers, payload"  # type: ignore[arg-type]
        f" {w['payload_bytes']} bytes, token {w['token_chars']} chars; median of {args.rounds} rounds"
    )
    for name, rate in med.items():
        print(f"  {name:8s} {rate:10,.0f} verifications/s  ({1e6 / rate:6.1f} µs each)")
    print(f"  endorse / pynacl = {med['endorse'] / med['pynacl']:.2f}x   (target >= 0.9x)")
    print(f"  endorse / pyjwt  = {med['endorse'] / med['pyjwt']:.2f}x   (target >= 2x)")


if __name__ == "__main__":
    main()
