"""Offline verification throughput: endorse's verify against raw PyNaCl and PyJWT, one run.

The contenders verify the same workload, interleaved round by round on one pinned core:

* ``endorse``: :func:`endorse.protocol.verify_endorsement` on distinct registered tokens
  (strict parse, canonical-form check, signature, issuer, status list, scope);
* ``floor``: what any strict verifier of this format must do at least, with no schema and no
  policy: split the token, base64url-decode payload and signature, parse the JSON and compare
  it with its canonical re-encoding, and check the signature. It shows how much of the gap to
  ``pynacl`` is the format itself and how much is endorse's schema and verification steps;
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
from dataclasses import dataclass
from typing import Any

import jwt
import nacl.signing
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

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
    signing_context,
    verify_endorsement,
    verify_status_list,
)
from endorse.protocol.encoding import b64url_decode

NOW = 1_767_225_600
REGISTRY = "https://registry.example"


@dataclass
class Workload:
    tokens: list[str]
    issuer_keys: list[nacl.signing.VerifyKey]
    jwts: list[tuple[str, Ed25519PublicKey]]
    raw: list[tuple[nacl.signing.VerifyKey, bytes, bytes]]
    issuers: dict[str, TrustedIssuer]
    lists: dict[tuple[str, str], StatusList]


def build(n_tokens: int, n_issuers: int) -> Workload:
    registry = SigningKey.from_seed(b"\xaa" * 32)
    keys = [SigningKey.from_seed(i.to_bytes(32, "big")) for i in range(1, n_issuers + 1)]
    w = Workload([], [], [], [], {}, {})
    jwt_keys: dict[str, Ed25519PrivateKey] = {}
    for i in range(n_tokens):
        key = keys[i % n_issuers]
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
        w.tokens.append(token)
        vk = nacl.signing.VerifyKey(key.public_key.raw)
        w.issuer_keys.append(vk)
        decoded = inspect(token)
        claims: dict[str, Any] = decoded.object.to_payload()
        # JWT reserves "sub" for a string: carry the same subject object under another name.
        claims["subject"] = claims.pop("sub")
        claims["sub"] = claims["subject"]["email"]
        priv = jwt_keys.setdefault(key.did, Ed25519PrivateKey.from_private_bytes(key.seed()))
        w.jwts.append((jwt.encode(claims, priv, algorithm="EdDSA"), priv.public_key()))
        message = os.urandom(len(decoded.signed_message))
        w.raw.append((vk, message, key.sign(message)))
    bits = Bitstring(MIN_SIZE)
    list_token = sign(StatusList(REGISTRY, "list-1", NOW, 300, bits).to_token_object(), registry)
    w.lists[(REGISTRY, "list-1")] = verify_status_list(list_token, registry.public_key, REGISTRY)
    w.issuers = {k.did: TrustedIssuer(k.did, identity=f"{k.did[-6:]}@example.com") for k in keys}
    return w


def contenders(w: Workload) -> dict[str, Callable[[], None]]:
    context = signing_context("endorsement")

    def run_endorse() -> None:
        for t in w.tokens:
            r = verify_endorsement(
                t,
                now=NOW + 60,
                issuers=w.issuers,
                status_lists=w.lists,
                purpose="employment-reference",
            )
            if not r.valid:
                raise SystemExit(f"benchmark token not valid: {r.verdict} {r.detail}")

    def run_floor() -> None:
        for t, vk in zip(w.tokens, w.issuer_keys, strict=True):
            _, payload_text, sig_text = t.split(".")
            payload = b64url_decode(payload_text)
            if orjson.dumps(orjson.loads(payload), option=orjson.OPT_SORT_KEYS) != payload:
                raise SystemExit("benchmark token not canonical")
            vk.verify(context + payload, b64url_decode(sig_text))

    def run_pynacl() -> None:
        for vk, message, signature in w.raw:
            vk.verify(message, signature)

    def run_pyjwt() -> None:
        for token, pub in w.jwts:
            jwt.decode(token, pub, algorithms=["EdDSA"], leeway=10**9)

    return {"endorse": run_endorse, "floor": run_floor, "pynacl": run_pynacl, "pyjwt": run_pyjwt}


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
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
    runs = contenders(w)
    rates: dict[str, list[float]] = {k: [] for k in runs}
    cpu_rates: dict[str, list[float]] = {k: [] for k in runs}
    for fn in runs.values():  # warm-up
        fn()
    for _ in range(args.rounds):
        for name, fn in runs.items():
            start, cpu = time.perf_counter(), time.process_time()
            fn()
            rates[name].append(len(w.tokens) / (time.perf_counter() - start))
            cpu_rates[name].append(len(w.tokens) / (time.process_time() - cpu))

    med = {k: statistics.median(v) for k, v in rates.items()}
    cpu_med = {k: statistics.median(v) for k, v in cpu_rates.items()}
    sample = inspect(w.tokens[0])
    print(f"python {platform.python_version()} on {platform.machine()}, one pinned core")
    print(
        f"{len(w.tokens)} distinct tokens from {args.issuers} issuers; payload"
        f" {len(sample.payload)} bytes, token {len(sample.token)} chars;"
        f" median of {args.rounds} rounds"
    )
    # Wall-clock rates are what a caller sees; CPU-time rates (this process's CPU only) hold
    # up better when other processes want the same core.
    print("  contender  verifications/s  µs each | per CPU second  µs CPU each")
    for name, rate in med.items():
        print(
            f"  {name:8s} {rate:12,.0f} {1e6 / rate:12.1f} |"
            f" {cpu_med[name]:14,.0f} {1e6 / cpu_med[name]:12.1f}"
        )
    for a, b, note in (
        ("endorse", "pynacl", "target >= 0.9x"),
        ("floor", "pynacl", "the format's own cost"),
        ("endorse", "floor", "schema and policy"),
        ("endorse", "pyjwt", "target >= 2x"),
    ):
        print(
            f"  {a:7s} / {b:6s} = {med[a] / med[b]:.2f}x wall,"
            f" {cpu_med[a] / cpu_med[b]:.2f}x CPU   ({note})"
        )


if __name__ == "__main__":
    main()
