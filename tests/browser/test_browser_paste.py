"""Pastes on the check page (spec §11.5): the page's readPaste against every vector of
spec/vectors/paste.json, and links wrapped by a mail client, in both forms, checked with
and without JavaScript."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from _browser import Seeded, screenshot, wait_checked
from _tabs import OpenTab, verdicts
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "server" / "endorse" / "server" / "static" / "endorse-check.js"
CASES = json.loads((ROOT / "spec" / "vectors" / "paste.json").read_text(encoding="utf-8"))["cases"]


def check_url(seeded: Seeded) -> str:
    return seeded.valid.url.split("/v#")[0] + "/check"


def mail_wrapped(url: str) -> str:
    """``url`` as a quoted-printable mail shows it: in angle brackets, ending a sentence,
    76-column lines ending in a soft break."""
    text = f"<{url}>."
    return "=\r\n".join(text[i : i + 75] for i in range(0, len(text), 75)) + "\r\n"


def test_the_page_reads_every_paste_vector_as_the_protocol_does(
    seeded: Seeded, open_tab: OpenTab
) -> None:
    # The page's own script, its functions taken out of the module (main() left out) and
    # run in the browser; bypass_csp only lets the test evaluate it, the page is unchanged.
    tab = open_tab(bypass_csp=True)
    tab.page.goto(check_url(seeded))
    source = SCRIPT.read_text(encoding="utf-8")
    assert source.rstrip().endswith("main();")
    # The module's imports (text rules) are not what readPaste uses: each imported name is
    # declared, unset, so the functions can be evaluated outside a module.
    imports = re.findall(r"^import \{([^}]*)\} from [^;]+;$", source, flags=re.MULTILINE)
    declared = "".join(f"let {n.strip()};\n" for names in imports for n in names.split(","))
    source = re.sub(r"^import [^;]+;$", "", source, flags=re.MULTILINE)
    body = '"use strict";\n' + declared + source.rstrip()[: -len("main();")]
    got: list[dict[str, Any]] = tab.page.evaluate(
        """([body, cases]) => {
            const exported = "\\nreturn { readPaste, InputError };";
            const { readPaste, InputError } = new Function(body + exported)();
            return cases.map((c) => {
                try {
                    const r = readPaste(c.input);
                    return { token: r.token, registry: r.registry, link: r.link };
                } catch (e) {
                    return { error: e instanceof InputError ? "UnreadablePaste" : String(e) };
                }
            });
        }""",
        [body, CASES],
    )
    expected = [{k: c[k] for k in ("token", "registry", "link", "error") if k in c} for c in CASES]
    for case, read, want in zip(CASES, got, expected, strict=True):
        assert read == want, case["name"]


@pytest.mark.parametrize("form", ["canonical", "path"])
def test_a_wrapped_link_pasted_in_the_check_form_is_checked(
    form: str, seeded: Seeded, open_tab: OpenTab, tmp_path: Path
) -> None:
    url = seeded.valid.url if form == "canonical" else seeded.valid.path_url
    tab = open_tab()
    tab.page.goto(check_url(seeded))
    tab.page.fill("#token", mail_wrapped(url))
    tab.page.click("#check-button")
    result = wait_checked(tab.page)
    screenshot(tab.page, tmp_path / f"wrapped-{form}.png")
    assert verdicts(result) == ("valid", "valid", "valid")
    tab.assert_quiet()


def test_a_wrapped_link_is_checked_without_javascript(
    seeded: Seeded, open_tab: OpenTab, tmp_path: Path
) -> None:
    tab = open_tab(java_script_enabled=False)
    page = tab.page
    page.goto(check_url(seeded))
    with page.expect_navigation():
        page.fill("#token", mail_wrapped(seeded.valid.url))
        page.click("#check-button")
    screenshot(page, tmp_path / "wrapped-nojs.png")
    expect(page.locator("#result")).to_have_attribute("data-verdict", "valid")
