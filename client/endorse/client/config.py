"""Which registry a command talks to: ``--registry``, ``$ENDORSE_REGISTRY`` or the config file.

The config file is TOML with two settings, both optional::

    registry = "https://registry.example"
    registry_key = "did:key:z6Mk…"   # pin that registry's key yourself, instead of on first use

It is read strictly (unknown settings, wrong types, a malformed registry id or did:key are
errors naming the file), so a typo never silently falls back to another registry.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path

from endorse.client import keystore
from endorse.client.errors import ConfigError
from endorse.protocol.errors import EndorseError
from endorse.protocol.keys import PublicKey
from endorse.protocol.objects import check_registry

__all__ = [
    "CONFIG_ENV",
    "REGISTRY_ENV",
    "Config",
    "RegistryChoice",
    "choose_registry",
    "config_path",
    "read_config",
]

REGISTRY_ENV = "ENDORSE_REGISTRY"
"""Environment variable naming the default registry (below ``--registry``)."""
CONFIG_ENV = "ENDORSE_CONFIG"
"""Environment variable naming the config file, instead of its default place."""
MAX_CONFIG_BYTES = 65536
_CONFIG_KEYS = ("registry", "registry_key")


def config_path() -> Path:
    """The config file: ``$ENDORSE_CONFIG``, else ``$ENDORSE_HOME/config.toml``, else
    ``${XDG_CONFIG_HOME:-~/.config}/endorse/config.toml``."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    home = os.environ.get(keystore.HOME_ENV)
    if home:
        return Path(home).expanduser() / "config.toml"
    xdg = os.environ.get("XDG_CONFIG_HOME")
    # As for the data directory: the XDG spec says a relative path must be ignored.
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".config"
    return base / "endorse" / "config.toml"


@dataclasses.dataclass(frozen=True, slots=True)
class Config:
    """The config file's settings, checked: a registry id and that registry's pinned key."""

    registry: str | None = None
    registry_key: str | None = None


@contextlib.contextmanager
def _about(prefix: str) -> Iterator[None]:
    """A malformed setting becomes a :class:`ConfigError` whose message says where it came from."""
    try:
        yield
    except EndorseError as e:
        raise ConfigError(f"{prefix}{e}") from None


def read_config(path: Path) -> Config:
    """Read and check the config file; a missing file is an empty config unless it was named
    by ``$ENDORSE_CONFIG``.

    Raises:
        ConfigError: the file cannot be read or is not a valid config; the message names it.
    """
    try:
        with path.open("rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        if os.environ.get(CONFIG_ENV):
            raise ConfigError(f"{path}: no such config file (named by ${CONFIG_ENV})") from None
        return Config()
    except OSError as e:
        detail = e.strerror or type(e).__name__
        raise ConfigError(f"{path}: cannot read the config file: {detail}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: too large for a config file")
    try:
        table = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: not a TOML file: {e}") from None
    unknown = sorted(set(table) - set(_CONFIG_KEYS))
    if unknown:
        known = ", ".join(_CONFIG_KEYS)
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r} (known: {known})")
    values: dict[str, str | None] = {}
    for name in _CONFIG_KEYS:
        value = table.get(name)
        if value is not None and type(value) is not str:
            raise ConfigError(f"{path}: {name} must be a string")
        values[name] = value
    registry, key = values["registry"], values["registry_key"]
    if key is not None and registry is None:
        raise ConfigError(f"{path}: registry_key pins the key of the registry set by registry")
    with _about(f"{path}: "):
        registry = None if registry is None else check_registry(registry, "registry")
    with _about(f"{path}: registry_key: "):
        key = None if key is None else PublicKey.from_did(key).did
    return Config(registry, key)


class NoRegistryConfigured(ConfigError):
    """No option, environment variable or config file names a registry (a verifier may then
    use the registry a pasted link or token names, spec §11.5)."""


@dataclasses.dataclass(frozen=True, slots=True)
class RegistryChoice:
    """The registry a command talks to, and its key when pinned by option or config."""

    url: str
    key: str | None
    named: bool = False
    """Chosen because the reference named it (spec §11.5), not by the verifier's settings."""


def choose_registry(option: str | None, key_option: str | None) -> RegistryChoice:
    """``--registry``, else ``$ENDORSE_REGISTRY``, else the config file's ``registry``.

    The config file's ``registry_key`` pins the key of the registry it names (whichever way
    that registry was chosen); ``--registry-key`` pins the key of the chosen one.

    Raises:
        ConfigError: no registry is configured, or a setting is malformed.
    """
    path = config_path()
    config = read_config(path)
    env = os.environ.get(REGISTRY_ENV)
    if option is not None:
        url, source = option, "--registry"
    elif env is not None:
        if not env:
            raise ConfigError(f"${REGISTRY_ENV} is set but empty")
        url, source = env, f"${REGISTRY_ENV}"
    elif config.registry is not None:
        url, source = config.registry, str(path)
    else:
        raise NoRegistryConfigured(
            "no registry configured: pass --registry URL, set $ENDORSE_REGISTRY, or write"
            f' registry = "URL" in {path}'
        )
    with _about(f"{source}: "):
        url = check_registry(url, "registry")
    if key_option is None:
        return RegistryChoice(url, config.registry_key if config.registry == url else None)
    with _about("--registry-key: "):
        key = PublicKey.from_did(key_option).did
    return RegistryChoice(url, key)
