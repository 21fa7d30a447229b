"""Options that several commands share word for word: what an endorser or referee signs.

The registry's options (``--registry``, ``--registry-key``, ``--timeout``) live with the
registry choice in :mod:`._registry`, ``--key`` with the key loading in :mod:`._input`, and
``--json`` with the output in :mod:`._output`. An option whose help differs from command to
command (``ask`` words what was claimed, ``issue`` what is signed) is written where it is used.
"""

from __future__ import annotations

from typing import Annotated

import typer

from endorse.protocol import REFUSAL_REASONS

REASON_HELP = "Why, as one code (no free text): " + ", ".join(REFUSAL_REASONS) + "."

StatementOption = Annotated[
    str | None,
    typer.Option("--statement", metavar="TEXT", help="A short statement (at most 1000)."),
]
ContactOption = Annotated[
    bool, typer.Option("--contact/--no-contact", help="Whether verifiers may contact you.")
]
SignerNameOption = Annotated[
    str | None,
    typer.Option("--name", metavar="NAME", help="Your name; default: as registered."),
]
"""The name a statement signed by a registered key gives; default: the binding's name."""
ReasonOption = Annotated[str | None, typer.Option("--reason", metavar="REASON", help=REASON_HELP)]
"""A refusal's coded reason."""
