"""The portable form's verification beside the token's, one run (issue 12).

The same registered endorsements, verified offline with the same trusted facts (issuer keys,
the registry's status list) and the same expectations:

* ``token``: :func:`endorse.protocol.verify_endorsement` on the compact tokens;
* ``credential``: :func:`endorse.protocol.vc.verify_credential` on their exported
  ``EndorsementCredential`` JSON (bytes as received: strict JSON parse, schema, JCS of the
  document and of the proof options, two SHA-256, the Ed25519 check, the same §6.3 steps);
* ``digitalbazaar`` (unless ``--no-node``): Digital Bazaar's ``@digitalbazaar/vc`` verifying
  one such credential in a loop with the eddsa-jcs-2022 suite and its bitstring status check
  (Node.js, ``tests/interop``; a static document loader, the status list credential in memory).

Run: ``python bench/verify_vc.py`` (``--quick`` for a smoke run). Figures: ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

import orjson

from endorse.protocol import (
    MIN_SIZE,
    Bitstring,
    Endorsement,
    Relationship,
    SigningKey,
    StatusList,
    StatusRef,
    Subject,
    TrustedIssuer,
    issue,
    sign,
    verify_endorsement,
    verify_status_list,
    verify_token,
)
from endorse.protocol.vc import (
    ENDORSE_CONTEXT,
    context_url,
    date_time,
    endorsement_credential,
    status_list_credential,
    verify_credential,
)

NOW = 1_767_225_600
REGISTRY = "https://registry.example"
INTEROP = Path(__file__).resolve().parent.parent / "tests" / "interop"


def workload(count: int, issuers: int) -> tuple[list[str], list[bytes], dict[str, Any]]:
    keys = [SigningKey.from_seed(i.to_bytes(32, "big")) for i in range(1, issuers + 1)]
    tokens, credentials = [], []
    for n in range(count):
        key = keys[n % issuers]
        token = issue(
            key,
            f"Endorser {n % issuers}",
            Subject("Bob Jones", email="bob@example.com"),
            Relationship("work", "manager", org="Acme", start="2019", end="2023"),
            ["employment-reference"],
            now=NOW,
            statement="A careful colleague who led the payments team.",
            status=StatusRef(REGISTRY, "list-1", n),
        )
        tokens.append(token)
        e = verify_token(token, Endorsement).object
        credentials.append(orjson.dumps(endorsement_credential(e, key)))
    registry_key = SigningKey.from_seed(b"\xee" * 32)
    status_token = sign(
        StatusList(REGISTRY, "list-1", NOW, 300, Bitstring(MIN_SIZE)).to_token_object(),
        registry_key,
    )
    facts = {
        "issuers": {
            k.did: TrustedIssuer(k.did, identity=f"{i}@example.com") for i, k in enumerate(keys)
        },
        "status_lists": {
            (REGISTRY, "list-1"): verify_status_list(
                status_token, registry_key.public_key, REGISTRY
            )
        },
        "keys": keys,
    }
    return tokens, credentials, facts


def rates(runs: list[tuple[Any, list[Any]]], rounds: int) -> list[float]:
    """Verifications per CPU second of each run, median of ``rounds`` interleaved rounds.

    CPU time of this process (``time.process_time``), not wall time: the machine is shared,
    and other processes' load would otherwise decide the ratio.
    """
    timings: list[list[float]] = [[] for _ in runs]
    for _ in range(rounds):
        for timing, (run, items) in zip(timings, runs, strict=True):
            start = time.process_time()
            run(items)
            timing.append(time.process_time() - start)
    return [len(items) / statistics.median(t) for t, (_, items) in zip(timings, runs, strict=True)]


def node_rate(facts: dict[str, Any], credential: bytes, seconds: float) -> float | None:
    node = shutil.which("node")
    if node is None or not (INTEROP / "node_modules" / "@digitalbazaar" / "vc").is_dir():
        return None
    key = facts["keys"][0]
    document = json.loads(credential)
    slc = status_list_credential(key, REGISTRY, "list-1", Bitstring(MIN_SIZE), valid_from=NOW)
    request = {
        "op": "bench",
        "credential": document,
        "documents": {context_url(REGISTRY): ENDORSE_CONTEXT, slc["id"]: slc},
        "now": date_time(NOW + 100),
        "seconds": seconds,
    }
    done = subprocess.run(
        [node, "verify.mjs"],
        cwd=INTEROP,
        input=json.dumps(request).encode(),
        capture_output=True,
        check=True,
        timeout=600,
    )
    answer = json.loads(done.stdout)
    return float(answer["verifications"] / answer["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--no-node", action="store_true", help="skip Digital Bazaar's verifier")
    args = parser.parse_args()
    count, rounds, seconds = (200, 3, 0.5) if args.quick else (2000, 7, 5.0)
    tokens, credentials, facts = workload(count, 20)
    issuers, lists = facts["issuers"], facts["status_lists"]
    now = NOW + 100

    def tokens_run(items: list[str]) -> None:
        for token in items:
            result = verify_endorsement(
                token,
                now=now,
                issuers=issuers,
                status_lists=lists,
                purpose="employment-reference",
            )
            assert result.valid, result.detail

    def credentials_run(items: list[bytes]) -> None:
        for credential in items:
            result = verify_credential(
                credential,
                now=now,
                issuers=issuers,
                status_lists=lists,
                purpose="employment-reference",
            )
            assert result.valid, result.detail

    tokens_run(tokens)  # warm-up
    credentials_run(credentials)
    token_rate, credential_rate = rates(
        [(tokens_run, tokens), (credentials_run, credentials)], rounds
    )
    print(
        f"python {platform.python_version()}, {count} endorsements, 20 issuers,"
        f" per CPU second, median of {rounds} interleaved rounds"
    )
    print(f"token       verify_endorsement   {token_rate:10,.0f} /s")
    print(
        f"credential  verify_credential    {credential_rate:10,.0f} /s"
        f"   ({credential_rate / token_rate:.2f}x token)"
    )
    print(
        f"  token {sum(map(len, tokens)) / count:,.0f} chars, credential"
        f" {sum(map(len, credentials)) / count:,.0f} bytes of JSON on average"
    )
    if args.no_node:
        return
    node = node_rate(facts, credentials[0], seconds)
    if node is None:
        raise SystemExit("Node.js or tests/interop's npm packages are missing (or pass --no-node)")
    print(
        f"credential  @digitalbazaar/vc    {node:10,.0f} /s"
        f"   ({node / token_rate:.2f}x token, status check included, node {shutil.which('node')})"
    )


if __name__ == "__main__":
    main()
