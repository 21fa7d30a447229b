"""``endorse demo`` (the README's first command) runs and shows every verdict of the story."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def _endorse() -> str:
    found = shutil.which("endorse", path=str(Path(sys.executable).parent))
    assert found is not None, "the endorse console script is not installed in this environment"
    return found


def test_demo_tells_the_whole_story() -> None:
    done = subprocess.run([_endorse(), "demo"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for marker in (
        "✓ valid",
        "✗ bad_signature",
        "✗ subject_mismatch",
        "✗ purpose_not_allowed",
        "✗ revoked",
        "Every verdict came out as expected.",
    ):
        assert marker in out, marker
