"""Regenerate the README's screenshots of the recruiter page: a valid and a revoked reference.

Starts a registry on 127.0.0.1 (SQLite, in a temporary directory), seeds one valid and one
revoked endorsement through the SDK, opens their verification links (``/v#<token>``) in
Debian's headless Chromium with the browser tests' launch settings, waits for the page's own
check to finish (``data-state="done"``: everything shown, QR code included) and saves
full-page screenshots::

    .venv/bin/python scripts/screenshots.py            # docs/screenshots/{valid,revoked}.png
    .venv/bin/python scripts/screenshots.py --out /tmp/shots
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from _browser import (  # noqa: E402
    SERVER_ENV,
    ChromiumMissing,
    LiveServer,
    launch,
    screenshot,
    seed,
    wait_checked,
)

VIEWPORT = {"width": 1000, "height": 900}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="endorse-screenshots-") as name:
        work = Path(name)
        database = f"sqlite:///{work / 'registry.sqlite3'}"
        with sync_playwright() as playwright, LiveServer(database, work, env=SERVER_ENV) as server:
            try:
                browser = launch(playwright)
            except ChromiumMissing as e:
                print(f"error: {e}", file=sys.stderr)
                return 1
            seeded = seed(server.url, server.data_dir, work)
            for shot, reference in (("valid", seeded.valid), ("revoked", seeded.revoked)):
                context = browser.new_context(viewport=VIEWPORT)
                page = context.new_page()
                page.goto(reference.url)
                verdict = wait_checked(page).get_attribute("data-verdict")
                if verdict != shot:
                    print(f"error: the {shot} reference shows {verdict!r}", file=sys.stderr)
                    return 1
                print(screenshot(page, args.out / f"{shot}.png"))
                context.close()
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
