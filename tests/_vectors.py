"""Paths of the third-party test vectors vendored under ``tests/vectors/third_party``.

The suite reads only these in-repository copies (provenance in ``SOURCES.md`` there).
"""

from __future__ import annotations

import pathlib

THIRD_PARTY = pathlib.Path(__file__).resolve().parent / "vectors" / "third_party"


def third_party(*parts: str) -> pathlib.Path:
    """The path of a vendored vector file, e.g. ``third_party("wycheproof", "ed25519_test.json")``.

    Raises:
        FileNotFoundError: the file is not in the repository (a missing vector must fail loudly,
            never skip).
    """
    path = THIRD_PARTY.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"missing vendored test vector: {path}")
    return path
