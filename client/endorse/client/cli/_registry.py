"""The registry a command talks to: the ``--registry`` options, the choice, the client."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, NoReturn

import typer

from endorse.client.cli._output import (
    EXIT_USAGE,
    echo_err,
    fail,
    reported,
)
from endorse.client.client import Client
from endorse.client.config import (
    CONFIG_ENV,
    REGISTRY_ENV,
    NoRegistryConfigured,
    RegistryChoice,
    choose_registry,
)
from endorse.client.errors import ConfigError
from endorse.client.pins import default_pin_store
from endorse.protocol.errors import EndorseError


def registry_choice(option: str | None, key_option: str | None) -> RegistryChoice:
    """The registry chosen by option, environment or config file; a problem is exit 2."""
    with reported():
        choice = choose_registry(option, key_option)
    return choice


CHECKING = "checking at {registry}, the registry it names"


def registry_for(
    named: str | None, option: str | None, key_option: str | None, *, doing: str = CHECKING
) -> RegistryChoice:
    """Where to check a reference that names the registry ``named`` (its link's, else its
    status list's; None when it names none), spec §11.5: the configured registry, else the
    one the reference names (its key trusted on first use, shown by :func:`connected`; said
    on stderr as ``doing``, a sentence of what the command does at ``{registry}``). A
    reference of another registry than the configured one is checked at the configured one,
    which trusts its own keys only: see :func:`other_registry`."""
    try:
        return choose_registry(option, key_option)
    except NoRegistryConfigured as e:
        if named is None:
            with reported():
                raise ConfigError(
                    f"{e} (a verification link names its registry: pass the whole link)"
                ) from None
        echo_err(f"endorse: no registry configured: {doing.format(registry=named)}")
        return RegistryChoice(named, None, named=True)
    except EndorseError:
        with reported():
            raise


def other_registry(named: str | None, checked_at: str) -> NoReturn:
    """The answer for a reference that names another registry than the one it was checked
    at, when that one could not vouch for it (``unknown_issuer``, ``status_unavailable``):
    exactly that, not a verdict that blames the endorser (spec §11.5). Exit 2."""
    fail(
        EXIT_USAGE,
        "other_registry",
        f"this reference belongs to the registry {named}, not to {checked_at} (configured),"
        f" which does not know its endorser or its status: check it there with --registry"
        f" {named}",
        registry=named,
    )


@contextlib.contextmanager
def connected(choice: RegistryChoice, timeout: float) -> Iterator[Client]:
    """A client of the chosen registry; SDK errors become exit statuses (see :func:`reported`).

    On first contact (trust on first use) the key the registry presented, now pinned, is
    shown on stderr, so the user can compare it with what the registry's operator publishes.
    ``timeout`` bounds each call of the client in all (see ``TimeoutOption``).
    """
    with reported():
        client = Client(choice.url, registry_key=choice.key, timeout=timeout, retries=RETRIES)
    try:
        with reported():
            yield client
    finally:
        if client.first_contact:
            echo_err(
                f"endorse: first contact with {client.registry}: trusting its key"
                f" {client.registry_key} (pinned in {default_pin_store()}; a change of key"
                " will be refused)"
            )
        client.close()


_REGISTRY_HELP = (
    f"The registry's URL; default: ${REGISTRY_ENV}, else registry in the config file"
    f" (${CONFIG_ENV}, else $ENDORSE_HOME/config.toml, else"
    " ${XDG_CONFIG_HOME:-~/.config}/endorse/config.toml)."
)
RegistryOption = Annotated[
    str | None,
    typer.Option("--registry", metavar="URL", help=_REGISTRY_HELP, show_default=False),
]
RegistryKeyOption = Annotated[
    str | None,
    typer.Option(
        "--registry-key",
        metavar="DID",
        help="Pin the registry's did:key (else registry_key in the config file, else trust"
        " on first use).",
        show_default=False,
    ),
]

DEFAULT_TIMEOUT = 5.0
"""Seconds a registry verb's call waits for the registry in all: a person is waiting, and a
registry that answers at all answers well within it."""
RETRIES = 1
"""Retries of an idempotent request (a read) after a network failure or a 502/503/504, within
the call's deadline (``--timeout``): a registry that does not answer is reported after
``--timeout``, whatever the retries."""
TimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        min=0.1,
        max=600.0,
        help="How long a verification (each call to the registry a command makes) may take"
        " in all: connecting, every answer, retries and Retry-After waits; then exit status 3.",
    ),
]
