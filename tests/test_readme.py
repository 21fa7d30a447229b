"""The README stays true: its Python example runs, and CI runs its test command verbatim."""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_python_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


def test_ci_runs_the_readme_test_command() -> None:
    commands = re.findall(r"^python3 -m venv \.venv && .*$", README, re.M)
    assert len(commands) == 2, commands
    assert "endorse demo" in commands[0]
    assert commands[1] in (ROOT / ".ci" / "run").read_text()
