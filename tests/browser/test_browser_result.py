"""The verification page in a real browser: verdicts the page reaches by itself, and the facts
it shows. Each test saves a full-page screenshot in its temporary directory."""

from __future__ import annotations

import datetime
import re
import time
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

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
    UTC_TIME,
    OpenTab,
    expect_claims_withheld,
    expect_no_qr,
    expect_not_valid,
    expect_readable,
    qr_shown,
    verdicts,
)
from playwright.sync_api import Locator, Response, Route, expect

from endorse.protocol import Endorsement, decode_unverified, token_hash


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
    # The status's time said once, written as every time on the page.
    expect(result.locator("#status")).to_have_text(re.compile(rf"^Not revoked as of {UTC_TIME}$"))
    expect(result.locator("#validity")).to_have_text(re.compile(rf"^{UTC_TIME} to {UTC_TIME}$"))
    expect(result.locator("#validity-row dt")).to_have_text("Validity period")
    checks = result.locator("#checks")
    expect(checks).to_contain_text(SIGNED_BY_BROWSER)
    expect(checks).to_contain_text(REVOCATION_CHECKED)
    expect(result.locator("#next-steps")).to_be_hidden()
    expect(result.locator("#disagreement")).to_be_hidden()
    expect(result.locator("#receipt")).not_to_be_empty()
    expect(result.locator("#copy-receipt")).to_be_visible()
    expect(result.locator("#facts-withheld")).to_be_hidden()
    expect_readable(result)


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
    # "done" means done: the QR code, asked for last, is already there.
    assert qr_shown(tab.page)
    screenshot(tab.page, tmp_path / f"valid-{form}.png")
    assert verdicts(result) == ("valid", "valid", "valid")
    expect_all_facts(result, reference)
    expect(result.locator("#statement")).to_have_text(
        "Bob ran our payments team with care and good humour."
    )
    tab.assert_quiet()
    if form == "fragment":
        # The fragment never leaves the browser: no request line carries the token, nor the
        # endorser's key or the token's hash (the registry's statements come by POST).
        e = decode_unverified(reference.token, Endorsement).object
        named = (reference.token, e.issuer, token_hash(reference.token))
        assert not [r.url for r in tab.requests if any(n in unquote(r.url) for n in named)]
        gets = {urlsplit(r.url).path for r in tab.requests if r.method == "GET"}
        assert gets <= {
            "/v",
            "/static/endorse-check.js",
            "/static/endorse-text.js",
            "/static/endorse-unicode14.js",
            "/static/endorse.css",
            "/.well-known/endorse-registry",
        }, gets
        posts = sorted(urlsplit(r.url).path for r in tab.requests if r.method == "POST")
        assert posts == ["/api/v1/qr", "/api/v1/statements", "/api/v1/verify"], posts
    expect(result.locator("#clock-note")).to_be_hidden()
    expect(result.locator("#receipt-hint")).to_contain_text("does not record the candidate")


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
    expect_claims_withheld(result, seeded.valid.endorser_name, "Bob Jones", "Acme")
    expect(result.locator("#checks")).not_to_contain_text(SIGNED_BY_BROWSER)
    expect(result.locator("#checks")).to_contain_text("Your browser's finding: the signature")
    expect_readable(result)
    expect_no_qr(tab)
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
    claimed: list[object] = []
    tab.page.on(
        "response",
        lambda r: claimed.append(r.json()["claims"]) if r.url.endswith("/api/v1/verify") else None,
    )
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
        expect(result.locator("#disagreement")).to_contain_text(
            "Your browser's finding: the signature does not match"
        )
    expect(result.locator("#checks")).not_to_contain_text(SIGNED_BY_BROWSER)
    # An answer not trusted: its receipt is not offered as a record of the check.
    if verdict == "disagreement":
        expect(result.locator("#receipt-hint")).to_contain_text("proves nothing")
        expect(result.locator("#copy-receipt")).to_be_hidden()
    # The registry vouched for the forged claims too; the page shows none of them.
    assert claimed and all(c is not None for c in claimed)
    expect_claims_withheld(result, lying.reference.endorser_name, "Bob Jones", "Acme")
    expect_readable(result)
    expect_no_qr(tab)
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
    expect(result.locator("#status")).to_have_text(
        re.compile(
            rf"^Revoked: the endorser has withdrawn it, as this registry's list of {UTC_TIME}"
            r" shows\.$"
        )
    )
    expect_readable(result)
    expect_no_qr(tab)
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
    expect(result.locator("#validity-row dt")).to_have_text("Validity period")
    expect(result.locator("li[data-check='browser']")).to_have_text(
        "Your browser's finding: it has expired"
    )
    expect(result.locator("li[data-check='validity']")).to_have_text(
        re.compile(rf"^Dates checked by this registry: expired at {UTC_TIME}$")
    )
    expect_readable(result)
    expect_no_qr(tab)
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
    assert qr_shown(tab.page)
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
    assert qr_shown(tab.page)
    tab.page.emulate_media(media="print")
    screenshot(tab.page, tmp_path / "print.png")
    for shown in ("#verdict-mark", "#endorser", "#status", "#receipt", "#qr"):
        expect(result.locator(shown)).to_be_visible()
    expect(result.locator("#copy-receipt")).to_be_hidden()
    # The border prints black, whatever colour the verdict gives it on screen.
    border = result.evaluate("(e) => getComputedStyle(e).borderTopColor")
    assert border == "rgb(0, 0, 0)", border
    tab.assert_quiet()


def test_phone_layout_does_not_scroll_sideways(
    seeded: Seeded, open_tab: OpenTab, tmp_path: Path
) -> None:
    tab = open_tab(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    for url in (seeded.valid.url, seeded.hostile.url):
        tab.page.goto(url)
        wait_checked(tab.page)
        assert qr_shown(tab.page)
        screenshot(tab.page, tmp_path / "phone.png")
        overflow = tab.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{overflow}px wider than a phone's screen: {url}"
    tab.assert_quiet()


@pytest.mark.parametrize("minutes", [10, -10])
def test_a_computer_clock_that_is_off_is_said_not_blamed_on_the_registry(
    minutes: int, seeded: Seeded, open_tab: OpenTab, tmp_path: Path
) -> None:
    """Dates are judged by the registry's time (its Date header), and a clock off by more
    than the protocol's allowance is named: it used to give ✗ (``not_yet_valid`` at -10 min,
    a stale status list at +10 min) and a "disagreement" blaming the registry."""
    tab = open_tab()
    off = datetime.timedelta(minutes=minutes)
    tab.page.clock.install(time=datetime.datetime.now(datetime.UTC) + off)
    tab.page.clock.resume()
    tab.page.goto(seeded.valid.url)
    result = wait_checked(tab.page)
    screenshot(tab.page, tmp_path / f"clock{minutes:+d}.png")
    assert verdicts(result) == ("valid", "valid", "valid")
    expect(result.locator("#disagreement")).to_be_hidden()
    note = result.locator("#clock-note")
    expect(note).to_be_visible()
    fast_or_slow = "fast" if minutes > 0 else "slow"
    expect(note).to_have_text(
        f"Your computer's clock is {abs(minutes)} minutes {fast_or_slow}; dates were judged by"
        " the registry's time."
    )
    expect_readable(result)
    tab.assert_quiet()


def test_a_receipt_not_made_now_is_not_trusted(
    seeded: Seeded, open_tab: OpenTab, tmp_path: Path
) -> None:
    """The receipt's time is checked against the registry's time as read before the token
    was sent (the Date header of its key's answer): here that header says an hour later, so
    the genuine receipt looks an hour old, as a replayed one would, and is not trusted."""
    tab = open_tab()
    page = tab.page

    def an_hour_later(route: Route) -> None:
        answer = route.fetch()
        later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
        headers = {**answer.headers, "date": format_datetime(later, usegmt=True)}
        route.fulfill(response=answer, headers=headers)

    page.route("**/.well-known/endorse-registry", an_hour_later)
    page.goto(seeded.valid.url)
    result = wait_checked(page)
    screenshot(page, tmp_path / "old-receipt.png")
    assert verdicts(result)[0] == "disagreement"
    expect(result.locator("#disagreement")).to_contain_text("its signed receipt is dated")
    expect(result.locator("#copy-receipt")).to_be_hidden()
    expect(result.locator("#receipt-hint")).to_contain_text("proves nothing")
    expect_no_qr(tab)


def test_a_cached_registry_description_is_aged_by_its_age_header(
    seeded: Seeded, open_tab: OpenTab, tmp_path: Path
) -> None:
    """A cache in front of the registry (one that ignores its no-store) hands out an hour-old
    copy: its Date is an hour old and its Age says so. The page adds the Age, so it neither
    calls the recruiter's clock fast nor distrusts the fresh receipt."""
    tab = open_tab()
    page = tab.page

    def an_hour_old_copy(route: Route) -> None:
        answer = route.fetch()
        earlier = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
        headers = {**answer.headers, "date": format_datetime(earlier, usegmt=True), "age": "3600"}
        route.fulfill(response=answer, headers=headers)

    page.route("**/.well-known/endorse-registry", an_hour_old_copy)
    page.goto(seeded.valid.url)
    result = wait_checked(page)
    screenshot(page, tmp_path / "aged-copy.png")
    assert verdicts(result) == ("valid", "valid", "valid")
    expect(result.locator("#clock-note")).to_be_hidden()
    tab.assert_quiet()
