"""The verification page in a real browser: verdicts the page reaches by itself, and the facts
it shows. Each test saves a full-page screenshot in its temporary directory."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from _browser import (
    HOSTILE_NAME,
    HOSTILE_ORG,
    HOSTILE_ROLE,
    HOSTILE_STATEMENT,
    Reference,
    Seeded,
    screenshot,
    wait_checked,
)
from _lying import LyingRegistry
from _tabs import (
    REVOCATION_CHECKED,
    SIGNED_BY_BROWSER,
    OpenTab,
    expect_not_valid,
    verdicts,
)
from playwright.sync_api import Locator, Response, expect


def tampered(token: str) -> str:
    """The token with the last three bytes of its signature zeroed.

    Zeroing the most significant bytes of the signature's S keeps it canonical (below the
    group order), so only the signature check can fail, not the token's parsing.
    """
    forged = token[:-4] + "AAAA"
    assert forged != token, "pick another tampering for this token"
    return forged


def expect_all_facts(result: Locator, reference: Reference) -> None:
    """✓ and every fact the issue asks for, verified by the browser itself."""
    mark = result.locator("#verdict-mark")
    expect(mark).to_have_attribute("role", "img")
    expect(mark).to_have_attribute("aria-label", "Valid reference")
    expect(mark).to_contain_text("✓")
    expect(result.locator("#verdict-sentence")).not_to_be_empty()
    expect(result.locator("#endorser")).to_contain_text(reference.endorser_name)
    expect(result.locator("#subject-name")).to_contain_text("Bob Jones")
    relationship = result.locator("#relationship")
    for part in ("work", "Acme", "manager", "2019", "2023"):
        expect(relationship).to_contain_text(part, ignore_case=True)
    expect(result.locator("#purposes")).to_contain_text(re.compile(r"employment[ -]reference"))
    # Issued now and valid one year: the window names this year and the next.
    year = time.gmtime().tm_year
    expect(result.locator("#validity")).to_contain_text(str(year))
    expect(result.locator("#validity")).to_contain_text(str(year + 1))
    expect(result.locator("#identity")).to_contain_text(reference.endorser_email)
    expect(result.locator("#identity")).to_contain_text(str(year))  # verified since
    expect(result.locator("#status")).to_contain_text(
        re.compile(r"not revoked as of .*\d{1,2}:\d{2}.*UTC", re.IGNORECASE)
    )
    checks = result.locator("#checks")
    expect(checks).to_contain_text(SIGNED_BY_BROWSER)
    expect(checks).to_contain_text(REVOCATION_CHECKED)
    expect(result.locator("#next-steps")).to_be_hidden()
    expect(result.locator("#disagreement")).to_be_hidden()
    expect(result.locator("#receipt")).not_to_be_empty()
    expect(result.locator("#copy-receipt")).to_be_visible()
    expect(result.locator("#qr")).to_be_visible()


@pytest.mark.parametrize("form", ["fragment", "path"])
def test_valid_reference_shows_every_fact(
    form: str, seeded: Seeded, open_tab: OpenTab, tmp_path: Path
) -> None:
    reference = seeded.valid
    tab = open_tab()
    url = reference.url if form == "fragment" else reference.path_url
    response = tab.page.goto(url)
    assert response is not None and response.status == 200
    result = wait_checked(tab.page)
    screenshot(tab.page, tmp_path / f"valid-{form}.png")
    assert verdicts(result) == ("valid", "valid", "valid")
    expect_all_facts(result, reference)
    expect(result.locator("#statement")).to_have_text(
        "Bob ran our payments team with care and good humour."
    )
    tab.assert_quiet()
    if form == "fragment":
        # The fragment never leaves the browser: no request line carries the token.
        assert not [r.url for r in tab.requests if reference.token in r.url]


def test_path_form_answers_json_when_asked(seeded: Seeded, open_tab: OpenTab) -> None:
    tab = open_tab()
    answer = tab.context.request.get(seeded.valid.path_url, headers={"Accept": "application/json"})
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["verdict"] == "valid"


@pytest.mark.parametrize("form", ["fragment", "path"])
def test_tampered_token_is_a_bad_signature(
    form: str, seeded: Seeded, open_tab: OpenTab, tmp_path: Path
) -> None:
    forged = tampered(seeded.valid.token)
    base = seeded.valid.url.split("/v#")[0]
    tab = open_tab()
    tab.page.goto(f"{base}/v#{forged}" if form == "fragment" else f"{base}/v/{forged}")
    result = wait_checked(tab.page)
    screenshot(tab.page, tmp_path / f"tampered-{form}.png")
    assert verdicts(result) == ("bad_signature", "bad_signature", "bad_signature")
    expect_not_valid(result)
    expect(result.locator("#checks")).not_to_contain_text(SIGNED_BY_BROWSER)
    tab.assert_quiet()


def test_browser_catches_a_registry_that_says_valid(
    lying: LyingRegistry, open_tab: OpenTab, tmp_path: Path
) -> None:
    forged = tampered(lying.reference.token)
    tab = open_tab()
    told: list[str] = []

    def note(response: Response) -> None:
        if response.url.endswith("/api/v1/verify") and response.request.method == "POST":
            told.append(response.json()["verdict"])

    tab.page.on("response", note)
    lies_before = lying.middleware.lies
    tab.page.goto(f"{lying.url}/v#{forged}")
    result = wait_checked(tab.page)
    screenshot(tab.page, tmp_path / "lying-registry.png")
    # The registry under test did answer "valid" to the page ...
    assert told and set(told) == {"valid"}
    assert lying.middleware.lies > lies_before
    # ... and the page believed its own check of the signature.
    verdict, browser_verdict, _ = verdicts(result)
    assert browser_verdict == "bad_signature"
    assert verdict in ("disagreement", "bad_signature")
    expect_not_valid(result)
    if verdict == "disagreement":
        expect(result.locator("#disagreement")).to_be_visible()
        expect(result.locator("#disagreement")).not_to_be_empty()
    expect(result.locator("#checks")).not_to_contain_text(SIGNED_BY_BROWSER)
    tab.assert_quiet()


def test_revoked_reference(seeded: Seeded, open_tab: OpenTab, tmp_path: Path) -> None:
    tab = open_tab()
    tab.page.goto(seeded.revoked.url)
    result = wait_checked(tab.page)
    screenshot(tab.page, tmp_path / "revoked.png")
    assert verdicts(result) == ("revoked", "revoked", "revoked")
    expect_not_valid(result)
    # The signature itself is genuine, and the browser says it checked it.
    expect(result.locator("#endorser")).to_contain_text("Alice Smith")
    expect(result.locator("#checks")).to_contain_text(SIGNED_BY_BROWSER)
    expect(result.locator("#checks")).to_contain_text(REVOCATION_CHECKED)
    tab.assert_quiet()


def test_expired_reference(seeded: Seeded, open_tab: OpenTab, tmp_path: Path) -> None:
    tab = open_tab()
    tab.page.goto(seeded.expired.url)
    result = wait_checked(tab.page)
    screenshot(tab.page, tmp_path / "expired.png")
    assert verdicts(result) == ("expired", "expired", "expired")
    expect_not_valid(result)
    # Issued three days ago for one day: the window shows when it ended.
    ended = time.gmtime(time.time() - 2 * 86_400)
    expect(result.locator("#validity")).to_contain_text(str(ended.tm_year))
    tab.assert_quiet()


@pytest.mark.parametrize("form", ["fragment", "path"])
def test_markup_in_a_reference_is_shown_as_text(
    form: str, seeded: Seeded, open_tab: OpenTab, tmp_path: Path
) -> None:
    reference = seeded.hostile
    tab = open_tab()
    tab.page.goto(reference.url if form == "fragment" else reference.path_url)
    result = wait_checked(tab.page)
    screenshot(tab.page, tmp_path / f"markup-{form}.png")
    assert verdicts(result) == ("valid", "valid", "valid")
    # Every piece of markup reads as the literal text it is ...
    expect(result.locator("#endorser")).to_contain_text(HOSTILE_NAME)
    expect(result.locator("#identity")).to_contain_text(HOSTILE_NAME)
    expect(result.locator("#identity")).to_contain_text(reference.endorser_email)
    expect(result.locator("#relationship")).to_contain_text(HOSTILE_ORG)
    expect(result.locator("#relationship")).to_contain_text(HOSTILE_ROLE)
    expect(result.locator("#statement")).to_have_text(HOSTILE_STATEMENT)
    # ... and none of it became an element or ran.
    assert tab.page.evaluate("typeof window.__pwned") == "undefined"
    assert tab.page.locator("#result img[src='x'], #result script").count() == 0
    assert tab.page.locator("img[onerror], [onerror]").count() == 0
    assert not [r.url for r in tab.requests if r.url.split("?")[0].endswith("/x")]
    tab.assert_quiet()


def test_receipt_is_copied(seeded: Seeded, open_tab: OpenTab, tmp_path: Path) -> None:
    tab = open_tab(permissions=["clipboard-read", "clipboard-write"])
    tab.page.goto(seeded.valid.url)
    result = wait_checked(tab.page)
    receipt = result.locator("#receipt").inner_text().strip()
    assert receipt.startswith("receipt-v1."), receipt
    tab.page.click("#copy-receipt")
    screenshot(tab.page, tmp_path / "copied.png")
    copied = tab.page.evaluate("navigator.clipboard.readText()")
    assert "".join(copied.split()) == "".join(receipt.split())
    tab.assert_quiet()


def test_print_layout_keeps_the_result_only(
    seeded: Seeded, open_tab: OpenTab, tmp_path: Path
) -> None:
    tab = open_tab()
    tab.page.goto(seeded.valid.url)
    result = wait_checked(tab.page)
    expect(result.locator("#qr")).to_be_visible()  # the page asks for it last
    tab.page.emulate_media(media="print")
    screenshot(tab.page, tmp_path / "print.png")
    for shown in ("#verdict-mark", "#endorser", "#status", "#receipt"):
        expect(result.locator(shown)).to_be_visible()
    expect(result.locator("#copy-receipt")).to_be_hidden()
    tab.assert_quiet()


def test_phone_layout_does_not_scroll_sideways(
    seeded: Seeded, open_tab: OpenTab, tmp_path: Path
) -> None:
    tab = open_tab(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    for url in (seeded.valid.url, seeded.hostile.url):
        tab.page.goto(url)
        result = wait_checked(tab.page)
        expect(result.locator("#qr")).to_be_visible()
        screenshot(tab.page, tmp_path / "phone.png")
        overflow = tab.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{overflow}px wider than a phone's screen: {url}"
    tab.assert_quiet()
