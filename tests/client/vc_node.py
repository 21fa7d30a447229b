"""Digital Bazaar's VC 2.0 verifier (Node.js), run on credentials the tests produce.

``tests/interop/verify.mjs`` does the work (a static document loader: no network); the npm
packages are installed by ``.ci/run`` (``npm install`` in ``tests/interop``). A missing ``node``
or missing packages fail the test that needs them, never skip it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

INTEROP = Path(__file__).resolve().parent.parent / "interop"
TIMEOUT = 120


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is not installed (`node` not on PATH): .ci/run installs it")
    if not (INTEROP / "node_modules" / "@digitalbazaar" / "vc").is_dir():
        pytest.fail(f"the npm packages are not installed: run `npm install` in {INTEROP}")
    return node


def run(request: dict[str, Any]) -> dict[str, Any]:
    """One request to verify.mjs; its JSON answer."""
    done = subprocess.run(
        [_node(), "verify.mjs"],
        cwd=INTEROP,
        input=json.dumps(request).encode(),
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"verify.mjs failed: {done.stderr.decode(errors='replace')[-2000:]}")
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def documents_for(credential: dict[str, Any]) -> dict[str, Any]:
    """The documents a verifier loads for ``credential`` that no npm package bundles, fetched
    now from the registry: the endorse context and the status list credential."""
    context_url = credential["@context"][2]
    list_url = credential["credentialStatus"]["statusListCredential"]
    out = {}
    for url in (context_url, list_url):
        response = httpx.get(url)
        assert response.status_code == 200, (url, response.text)
        out[url] = response.json()
    return out


def verify(
    credential: dict[str, Any], *, documents: dict[str, Any] | None = None, now: str | None = None
) -> dict[str, Any]:
    """Digital Bazaar's verdict on ``credential`` (with the registry's documents by default)."""
    return run(
        {
            "op": "verify",
            "credential": credential,
            "documents": documents_for(credential) if documents is None else documents,
            "now": now,
        }
    )


def sign(document: dict[str, Any], seed: bytes, created: str) -> dict[str, Any]:
    """``document`` signed by Digital Bazaar's eddsa-jcs-2022 suite with the key of ``seed``."""
    answer = run({"op": "sign", "document": document, "seedHex": seed.hex(), "created": created})
    signed: dict[str, Any] = answer["credential"]
    return signed
