"""``endorse key new|show|list|rotate|revoke``: the endorser's keys."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from endorse.client import keystore
from endorse.client.cli._input import (
    DEFAULT_KEY_HELP,
    KEY_FILE_HELP,
    load_signing_key,
    opt_nfc,
    passphrase_from_env,
    prompt_passphrase,
)
from endorse.client.cli._output import (
    JsonOption,
    binding_json,
    echo,
    echo_err,
    json_aware,
    json_document,
    key_revocation_json,
    reported,
    usage_error,
    when,
)
from endorse.client.cli._registry import (
    DEFAULT_TIMEOUT,
    RegistryKeyOption,
    RegistryOption,
    TimeoutOption,
    connected,
    registry_choice,
)
from endorse.protocol.errors import EndorseError
from endorse.protocol.keys import SigningKey


@json_aware
def key_new(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="FILE",
            help=f"Where to write the new key; default: {DEFAULT_KEY_HELP}.",
        ),
    ] = None,
    passphrase: Annotated[
        bool,
        typer.Option(
            "--passphrase",
            help=f"Encrypt the key file; the passphrase is prompted twice, or read from"
            f" ${keystore.PASSPHRASE_ENV}.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Generate a new Ed25519 signing key; print its did:key and where it was written."""
    path = keystore.default_key_path() if out is None else out
    if os.path.lexists(path):  # checked again, atomically, when the file is created
        usage_error(f"{path}: already exists; refusing to overwrite a key file")
    secret: bytes | None = None
    if passphrase:
        secret = passphrase_from_env() or prompt_passphrase("Passphrase", confirm=True)
    key = SigningKey.generate()
    with reported():
        keystore.write_key(key, path, secret)
    if as_json:
        echo(json_document({"key": key.did, "file": str(path), "encrypted": secret is not None}))
    else:
        echo(key.did)
    echo_err(f"key written to {path} (mode 0600{', encrypted' if secret else ''})")


@json_aware
def key_show(
    file: Annotated[
        Path | None, typer.Argument(help=KEY_FILE_HELP, show_default=False, metavar="FILE")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Print the did:key of a key file (asks for the passphrase if it is encrypted)."""
    did = load_signing_key(file).did
    path = keystore.default_key_path() if file is None else file
    echo(json_document({"key": did, "file": str(path)}) if as_json else did)


@json_aware
def key_list(as_json: JsonOption = False) -> None:
    """List the key files in the key directory with their did:keys (an encrypted file shows
    its did:key only when ENDORSE_PASSPHRASE opens it; nothing is prompted)."""
    directory = keystore.default_key_path().parent
    try:
        files = sorted(directory.glob("*.pem"))
    except OSError as e:
        usage_error(f"{directory}: cannot list keys: {e.strerror or type(e).__name__}")
    env = os.environ.get(keystore.PASSPHRASE_ENV)
    secret = env.encode("utf-8") if env else None
    keys: list[dict[str, Any]] = []
    for path in files:
        entry: dict[str, Any] = {"file": str(path), "key": None, "encrypted": False, "error": None}
        try:
            entry["encrypted"] = keystore.is_encrypted(keystore.read_key_file(path))
            if secret is not None or not entry["encrypted"]:
                entry["key"] = keystore.load_key(path, secret).did
        except EndorseError as e:
            entry["error"] = str(e)
        keys.append(entry)
    if as_json:
        echo(json_document({"directory": str(directory), "keys": keys}))
        return
    if not keys:
        echo_err(f"no key files in {directory} (create one with: endorse key new)")
    for k in keys:
        what = k["key"] or ("unreadable: " + k["error"] if k["error"] else "(encrypted)")
        echo(f"{what}  {k['file']}")


@json_aware
def key_rotate(
    new: Annotated[
        Path,
        typer.Option(
            "--new",
            metavar="FILE",
            help="The successor key's file (create it first: endorse key new --out FILE).",
        ),
    ],
    key: Annotated[
        Path | None,
        typer.Option("--key", metavar="FILE", help=f"The key to retire. {KEY_FILE_HELP}"),
    ] = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
) -> None:
    """Rotate your key: the registry binds the successor to your identity; what the old key
    issued stays valid, and it issues nothing more."""
    choice = registry_choice(registry, registry_key)
    old_key, new_key = load_signing_key(key), load_signing_key(new)
    if old_key.did == new_key.did:
        usage_error("--new: the successor must be another key than the one rotated")
    with connected(choice, timeout) as client:
        binding = client.rotate_key(old_key, new_key)
    if as_json:
        echo(json_document({"old_key": old_key.did, **binding_json(binding)}))
        return
    echo(f"✓ rotated to {binding.key}, bound to {binding.name} <{binding.email}>")
    echo(f"  retired       {old_key.did} (what it issued stays valid)")
    echo(f"  from now on   endorse issue --key {new} …")


@json_aware
def key_revoke(
    yes: Annotated[
        bool,
        typer.Option("--yes", help="Confirm: the key is revoked from now on, for good."),
    ] = False,
    key: Annotated[
        Path | None,
        typer.Option("--key", metavar="FILE", help=f"The key to revoke. {KEY_FILE_HELP}"),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", metavar="TEXT", help="Why (at most 200).")
    ] = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
) -> None:
    """Revoke your key from now on (it was lost or compromised). What it registered before
    stays valid; it can issue nothing more."""
    if not yes:  # refused before anything is read or prompted for
        path = keystore.default_key_path() if key is None else key
        usage_error(f"revoking the key in {path} cannot be undone: pass --yes to confirm")
    choice = registry_choice(registry, registry_key)
    signing_key = load_signing_key(key)
    with connected(choice, timeout) as client:
        revocation = client.revoke_key(signing_key, opt_nfc(reason))
    if as_json:
        echo(json_document(key_revocation_json(revocation)))
        return
    echo(f"✓ revoked {revocation.key} from {when(revocation.revoked_from)}")
    if revocation.reason is not None:
        echo(f"  reason        {revocation.reason}")
