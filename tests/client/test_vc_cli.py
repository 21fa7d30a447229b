"""``endorse issue --vc FILE`` and ``endorse export TOKEN --vc`` against a real registry; the
credentials they write verify in Digital Bazaar's verifier and stop verifying after revoke."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import vc_node
from sdk_helpers import LiveServer
from test_cli_registry import issue_args, new_endorser, run, run_json

from endorse.protocol.vc import verify_credential


@pytest.fixture(autouse=True)
def configured(registry: LiveServer, monkeypatch: pytest.MonkeyPatch) -> LiveServer:
    for name in ("ENDORSE_REGISTRY", "ENDORSE_CONFIG", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENDORSE_REGISTRY", registry.url)
    return registry


def test_issue_with_vc_export_and_revoke(registry: LiveServer, tmp_path: Path) -> None:
    key = new_endorser(registry, tmp_path)
    vc_path = tmp_path / "reference.json"
    issued = run_json(*issue_args(key), "--vc", str(vc_path))
    assert issued["vc"] == str(vc_path)
    credential = json.loads(vc_path.read_text())
    assert credential["id"] == f"urn:endorse:v1:endorsement:{issued['id']}"
    # Written once: the file is not overwritten, and nothing is issued when it exists.
    refused = run(*issue_args(key), "--vc", str(vc_path), code=2)
    assert "already exists" in refused.stderr

    exported = json.loads(run("export", issued["token"], "--vc", "--key", str(key)).stdout)
    # The same endorsement, the same key, the same proof (Ed25519 is deterministic).
    assert exported == credential
    assert run("export", issued["token"], "--key", str(key), code=2).stderr
    out = tmp_path / "again.json"
    answer = run_json("export", issued["url"], "--vc", "--key", str(key), "--out", str(out))
    assert answer == {"file": str(out), "id": credential["id"]}
    assert json.loads(out.read_text()) == credential

    assert vc_node.verify(credential)["revoked"] is False
    run("revoke", "--key", str(key), "--", issued["id"])
    there = vc_node.verify(credential)
    assert there["revoked"] is True, there
    # Offline, our own check of the proof still holds (the registry says it is revoked).
    assert verify_credential(credential, now=0, issuers={}).credential is not None

    other = new_endorser(registry, tmp_path, name="Mallory")
    refused = run("export", issued["token"], "--vc", "--key", str(other), code=2)
    assert "another key" in refused.stderr
