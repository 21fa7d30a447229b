"""The pages' protections and fallbacks in a real browser: headers and cookies, rendering
without JavaScript, and a browser without WebCrypto Ed25519."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from _browser import Seeded, screenshot, wait_checked
from _tabs import (
    REVOCATION_CHECKED,
    SIGNED_BY_BROWSER,
    UTC_TIME,
    OpenTab,
    check_headers,
    expect_no_qr,
    expect_not_valid,
    expect_readable,
    verdicts,
)
from playwright.sync_api import Response, expect

PAGE_RESOURCES = {"document", "script", "stylesheet", "image", "font"}


def test_headers_and_no_cookies(seeded: Seeded, open_tab: OpenTab, tmp_path: Path) -> None:
    tab = open_tab()
    seen: list[Response] = []
    tab.page.on("response", lambda response: seen.append(response))
    base = seeded.valid.url.split("/v#")[0]
    for n, url in enumerate((seeded.valid.url, seeded.revoked.path_url, f"{base}/check")):
        tab.page.goto(url)
        if "/check" not in url:
            wait_checked(tab.page)
        screenshot(tab.page, tmp_path / f"page-{n}.png")
    # The form, submitted by the page's script: the result page keeps the same protections.
    tab.page.fill("#token", seeded.valid.token)
    tab.page.click("#check-button")
    wait_checked(tab.page)
    checked = [r for r in seen if r.request.resource_type in PAGE_RESOURCES]
    kinds = {r.request.resource_type for r in checked}
    assert {"document", "script", "stylesheet"} <= kinds, kinds
    for response in checked:
        assert response.url.startswith(base + "/"), f"a resource from elsewhere: {response.url}"
        check_headers(response)
    assert tab.context.cookies() == []
    assert tab.page.evaluate("document.cookie") == ""
    tab.assert_quiet()


def test_inline_script_is_refused(seeded: Seeded, open_tab: OpenTab) -> None:
    """The policy is enforced, not only sent: an injected inline script does not run."""
    tab = open_tab()
    tab.page.goto(seeded.valid.url)
    wait_checked(tab.page)
    tab.page.evaluate(
        """() => {
            const s = document.createElement('script');
            s.textContent = 'window.__pwned = 1';
            document.body.appendChild(s);
        }"""
    )
    assert tab.page.evaluate("typeof window.__pwned") == "undefined"
    # The refusal is the one console error here, and it names the policy.
    assert len(tab.console_errors) == 1
    assert "Content Security Policy" in tab.console_errors[0]


@pytest.mark.parametrize("which", ["valid", "revoked"])
def test_path_form_without_javascript(
    which: str, seeded: Seeded, open_tab: OpenTab, tmp_path: Path
) -> None:
    reference = getattr(seeded, which)
    tab = open_tab(java_script_enabled=False)
    response = tab.page.goto(reference.path_url)
    assert response is not None and response.status == 200
    check_headers(response)
    screenshot(tab.page, tmp_path / f"nojs-{which}.png")
    result = tab.page.locator("#result")
    expect(result).to_have_attribute("data-state", "server")
    expect(result).to_have_attribute("data-verdict", which)
    expect(result).to_have_attribute("data-server-verdict", which)
    expect(result.locator("#endorser")).to_contain_text("Alice Smith")
    expect(result.locator("#subject-name")).to_contain_text("Bob Jones")
    expect(result.locator("#relationship")).to_contain_text("Acme")
    expect(result.locator("#purposes")).to_contain_text(re.compile(r"employment[ -]reference"))
    expect(result.locator("#validity")).not_to_be_empty()
    expect(result.locator("#identity")).to_contain_text(reference.endorser_email)
    expect(result.locator("#checks")).to_contain_text(REVOCATION_CHECKED)
    expect(result.locator("#checks")).not_to_contain_text(SIGNED_BY_BROWSER)
    if which == "valid":
        expect(result.locator("#verdict-mark")).to_have_attribute("aria-label", "Valid reference")
        expect(result.locator("#status")).to_have_text(
            re.compile(rf"^Not revoked as of {UTC_TIME}$")
        )
        expect(result.locator("#qr svg")).to_be_visible()
    else:
        expect_not_valid(result)
        expect_no_qr(tab)
    expect_readable(result)
    tab.assert_quiet()


def test_fragment_form_without_javascript_points_to_the_check_page(
    seeded: Seeded, open_tab: OpenTab, tmp_path: Path
) -> None:
    tab = open_tab(java_script_enabled=False)
    response = tab.page.goto(seeded.valid.url)
    assert response is not None and response.status == 200
    screenshot(tab.page, tmp_path / "nojs-fragment.png")
    expect(tab.page.locator("a[href$='/check']").first).to_be_visible()
    # Nothing claims a verdict the server could not have given: it never saw the token.
    assert tab.page.locator("#result[data-verdict='valid']").count() == 0
    tab.assert_quiet()


NO_SUBTLE = """
Object.defineProperty(Crypto.prototype, 'subtle', {get() { return undefined; }});
"""
NO_ED25519 = """
(() => {
    const named = (a) => String(typeof a === 'string' ? a : a && a.name).toLowerCase();
    const refuse = (original) => function (...args) {
        if (args.some((a) => named(a) === 'ed25519')) {
            return Promise.reject(new DOMException('Unrecognized name.', 'NotSupportedError'));
        }
        return original.apply(this, args);
    };
    for (const method of ['importKey', 'verify', 'generateKey']) {
        SubtleCrypto.prototype[method] = refuse(SubtleCrypto.prototype[method]);
    }
})();
"""


@pytest.mark.parametrize("missing", ["crypto.subtle", "Ed25519"])
def test_without_webcrypto_ed25519_the_registry_decides(
    missing: str, seeded: Seeded, open_tab: OpenTab, tmp_path: Path
) -> None:
    tab = open_tab()
    # Init scripts run before the page's own, and the page's CSP does not apply to them.
    tab.context.add_init_script(NO_SUBTLE if missing == "crypto.subtle" else NO_ED25519)
    tab.page.goto(seeded.valid.url)
    result = wait_checked(tab.page)
    screenshot(tab.page, tmp_path / "unsupported.png")
    assert verdicts(result) == ("valid", "unsupported", "valid")
    checks = result.locator("#checks")
    expect(checks).not_to_contain_text(SIGNED_BY_BROWSER)
    expect(checks).to_contain_text(re.compile(r"signature.*registry only", re.IGNORECASE))
    expect(result.locator("#disagreement")).to_be_hidden()
    # The registry's facts are shown (its signature check is the one there is), and its time.
    expect(result.locator("#endorser")).to_have_text("Alice Smith")
    expect(result.locator("#status")).to_have_text(re.compile(rf"^Not revoked as of {UTC_TIME}$"))
    expect_readable(result)
    tab.assert_quiet()


def test_missing_chromium_fails_with_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import _browser

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(_browser, "DEBIAN_CHROMIUM", str(tmp_path / "chromium"))
    with pytest.raises(_browser.ChromiumMissing, match="apt-get install chromium"):
        _browser.chromium_path()
