"""The check page in a real browser: pasted tokens and links, the candidate's name and the
purpose, keyboard-only use, bad input, and the form without JavaScript."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _browser import (
    BOB,
    EMPLOYMENT,
    MANAGER,
    LiveServer,
    Seeded,
    new_endorser,
    screenshot,
    wait_checked,
)
from _tabs import (
    SIGNED_BY_BROWSER,
    OpenTab,
    Tab,
    check_headers,
    expect_claims_withheld,
    expect_no_qr,
    expect_not_valid,
    expect_readable,
    qr_shown,
    verdicts,
)
from playwright.sync_api import Page, Route, expect

from endorse.client import Client
from endorse.protocol import Subject, Verdict
from endorse.server import pages


def check_url(seeded: Seeded) -> str:
    return seeded.valid.url.split("/v#")[0] + "/check"


def fill_and_check(page: Page, token: str, subject: str = "", purpose: str = "") -> None:
    page.fill("#token", token)
    page.fill("#subject", subject)
    page.select_option("#purpose", purpose)
    page.click("#check-button")


def test_form_is_labelled(seeded: Seeded, open_tab: OpenTab, tmp_path: Path) -> None:
    tab = open_tab()
    response = tab.page.goto(check_url(seeded))
    assert response is not None and response.status == 200
    screenshot(tab.page, tmp_path / "check.png")
    form = tab.page.locator("form#check-form")
    expect(form).to_have_attribute("method", "post")
    expect(form).to_have_attribute("action", "/check")
    expect(tab.page.get_by_label("Reference token or verification link")).to_have_id("token")
    expect(tab.page.get_by_label("Purpose", exact=True)).to_have_id("purpose")
    # A menu of the protocol's purposes, and a field for one of the endorser's own.
    options = tab.page.locator("#purpose option")
    assert options.evaluate_all("(os) => os.map((o) => o.value)") == [
        "",
        "academic-reference",
        "character-reference",
        "employment-reference",
        "tenancy-reference",
        "volunteer-reference",
        "other",
    ]
    expect(tab.page.locator("#purpose-other")).to_be_hidden()
    tab.page.select_option("#purpose", "other")
    expect(tab.page.get_by_label("Other purpose")).to_have_id("purpose-other")
    subject_label = tab.page.locator("label[for='subject']")
    expect(subject_label).to_contain_text("name", ignore_case=True)
    expect(subject_label).to_contain_text("e-mail", ignore_case=True)
    expect(tab.page.locator("#check-button")).to_have_text("Check")
    tab.assert_quiet()


@pytest.mark.parametrize(
    ("subject", "purpose", "verdict"),
    [
        ("Mallory Someone", "", "subject_mismatch"),
        ("", "tenancy-reference", "purpose_not_allowed"),
        ("bob@example.com", "employment-reference", "valid"),
        ("Bob Jones", "", "valid"),
    ],
    ids=["wrong-candidate", "wrong-purpose", "email-and-purpose", "name"],
)
def test_candidate_and_purpose(
    subject: str, purpose: str, verdict: str, seeded: Seeded, open_tab: OpenTab, tmp_path: Path
) -> None:
    tab = open_tab()
    tab.page.goto(check_url(seeded))
    fill_and_check(tab.page, seeded.valid.token, subject, purpose)
    result = wait_checked(tab.page)
    screenshot(tab.page, tmp_path / f"{verdict}.png")
    assert verdicts(result) == (verdict, verdict, verdict)
    if verdict != "valid":
        expect_not_valid(result)
        expect_no_qr(tab)
        failed = result.locator("#checks li[data-passed='false']")
        expect(failed).to_have_count(2)  # the browser's finding, and the registry's check
        expect(failed.first).to_have_attribute("data-check", "browser")
        expect(failed.last).to_have_attribute("data-check", verdict.split("_")[0])
    else:
        assert qr_shown(tab.page)
    expect_readable(result)
    tab.assert_quiet()


def test_a_pasted_verification_link_is_checked(
    seeded: Seeded, open_tab: OpenTab, tmp_path: Path
) -> None:
    tab = open_tab()
    tab.page.goto(check_url(seeded))
    fill_and_check(tab.page, seeded.revoked.url)
    result = wait_checked(tab.page)
    screenshot(tab.page, tmp_path / "pasted-link.png")
    assert verdicts(result) == ("revoked", "revoked", "revoked")
    expect_no_qr(tab)
    tab.assert_quiet()


def test_each_check_replaces_the_last(seeded: Seeded, open_tab: OpenTab, tmp_path: Path) -> None:
    """Checking one reference after another on the same page leaves nothing of the earlier
    result: no QR code of a revoked one, no facts beside a forged one."""
    tab = open_tab()
    tab.page.goto(check_url(seeded))
    fill_and_check(tab.page, seeded.valid.token)
    assert verdicts(wait_checked(tab.page))[0] == "valid"
    assert qr_shown(tab.page)
    tab.page.evaluate("document.getElementById('result').dataset.state = 'again'")
    fill_and_check(tab.page, seeded.revoked.token)
    result = wait_checked(tab.page)
    assert verdicts(result)[0] == "revoked"
    expect(tab.page.locator("#qr")).to_be_hidden()
    assert tab.page.locator("#qr svg, #qr img").count() == 0
    expect(result.locator("#statement-row")).to_be_hidden()  # the valid one had a statement
    tab.page.evaluate("document.getElementById('result').dataset.state = 'again'")
    forged = seeded.valid.token[:-4] + "AAAA"
    fill_and_check(tab.page, forged)
    result = wait_checked(tab.page)
    screenshot(tab.page, tmp_path / "after-forged.png")
    assert verdicts(result)[0] == "bad_signature"
    expect_claims_withheld(result, "Alice Smith", "Bob Jones", "payments")
    expect_readable(result)
    tab.assert_quiet()


def focused_id(page: Page) -> str:
    return str(page.evaluate("document.activeElement ? document.activeElement.id : ''"))


def assert_focus_visible(page: Page) -> None:
    """The focused element matches :focus-visible and draws an outline or a ring."""
    shown = page.evaluate(
        """() => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
            return el.matches(':focus-visible') && (outline || style.boxShadow !== 'none');
        }"""
    )
    assert shown is True, f"no visible focus on #{focused_id(page)}"


@pytest.mark.parametrize("key", ["Enter", "Space"])
def test_keyboard_only(key: str, seeded: Seeded, open_tab: OpenTab, tmp_path: Path) -> None:
    tab = open_tab()
    page = tab.page
    page.goto(check_url(seeded))
    for _ in range(40):
        if focused_id(page) == "token":
            break
        page.keyboard.press("Tab")
    assert focused_id(page) == "token", "Tab never reaches the token box"
    assert_focus_visible(page)
    page.keyboard.insert_text(seeded.valid.url)  # as a paste does
    page.keyboard.press("Tab")
    assert focused_id(page) == "subject"
    assert_focus_visible(page)
    page.keyboard.insert_text("Bob Jones")
    page.keyboard.press("Tab")
    assert focused_id(page) == "purpose"
    assert_focus_visible(page)
    page.keyboard.type("Employment")  # a menu's type-ahead picks "Employment reference"
    expect(page.locator("#purpose")).to_have_value("employment-reference")
    # "Other…" not chosen: its text field is hidden, and Tab skips it.
    expect(page.locator("#purpose-other")).to_be_hidden()
    # The candidate's key (optional): its button and answer box are reached in turn.
    page.keyboard.press("Tab")
    assert focused_id(page) == "make-challenge"
    assert_focus_visible(page)
    page.keyboard.press("Tab")
    assert focused_id(page) == "presentation"
    page.keyboard.press("Tab")
    assert focused_id(page) == "audience"  # optional: this reference names no recipient
    assert_focus_visible(page)
    page.keyboard.press("Tab")
    assert focused_id(page) == "check-button"
    assert_focus_visible(page)
    page.keyboard.press(key)
    result = wait_checked(page)
    screenshot(page, tmp_path / f"keyboard-{key}.png")
    assert verdicts(result) == ("valid", "valid", "valid")
    expect(result.locator("#verdict-mark")).to_have_attribute("aria-label", "Valid reference")
    tab.assert_quiet()


def expect_input_error(tab: Tab) -> None:
    """A readable error in the page, and the form still there to try again."""
    error = tab.page.locator("#input-error")
    expect(error).to_be_visible()
    expect(error).to_have_attribute("role", "alert")
    assert len(error.inner_text().strip()) >= 10, error.inner_text()
    expect(tab.page.locator("#check-form")).to_be_visible()
    expect(tab.page.locator("#token")).to_be_editable()
    expect(tab.page.locator("#check-button")).to_be_enabled()
    assert tab.page_errors == []


NOT_A_REFERENCE = "not a reference"
TOO_LONG = "too long"


@pytest.mark.parametrize(
    ("pasted", "says"),
    [
        ("this is not a reference at all", NOT_A_REFERENCE),
        ("endorsement-v1.%%%.!!!", NOT_A_REFERENCE),
        ('<img src=x onerror="window.__pwned=1">', NOT_A_REFERENCE),
        ("A" * 200_000, TOO_LONG),
        ("endorsement-v1." + "QUFB" * 40_000 + ".AAAA", TOO_LONG),
    ],
    ids=["prose", "bad-base64", "markup", "oversized-garbage", "oversized-token"],
)
def test_bad_input_gets_a_readable_error(
    pasted: str, says: str, seeded: Seeded, open_tab: OpenTab, tmp_path: Path
) -> None:
    tab = open_tab()
    tab.page.goto(check_url(seeded))
    fill_and_check(tab.page, pasted)
    expect_input_error(tab)
    expect(tab.page.locator("#input-error")).to_contain_text(says, ignore_case=True)
    expect(tab.page.locator("#result")).to_be_hidden()
    screenshot(tab.page, tmp_path / "input-error.png")
    assert tab.page.evaluate("typeof window.__pwned") == "undefined"
    tab.assert_quiet()


# --- without JavaScript: the server's verdict ----------------------------------------------


@pytest.mark.parametrize(
    ("which", "subject", "verdict"),
    [
        ("valid", "Bob Jones", "valid"),
        ("revoked", "", "revoked"),
        ("valid", "Mallory Someone", "subject_mismatch"),
    ],
)
def test_form_without_javascript(
    which: str,
    subject: str,
    verdict: str,
    seeded: Seeded,
    open_tab: OpenTab,
    tmp_path: Path,
) -> None:
    tab = open_tab(java_script_enabled=False)
    page = tab.page
    page.goto(check_url(seeded))
    with page.expect_navigation() as navigation:
        fill_and_check(page, getattr(seeded, which).token, subject)
    response = navigation.value
    assert response is not None and response.request.method == "POST"
    assert response.status == 200
    check_headers(response)
    screenshot(page, tmp_path / f"nojs-{verdict}.png")
    result = page.locator("#result")
    expect(result).to_have_attribute("data-state", "server")
    expect(result).to_have_attribute("data-verdict", verdict)
    expect(result).to_have_attribute("data-server-verdict", verdict)
    label = "Valid reference" if verdict == "valid" else "Not valid"
    expect(result.locator("#verdict-mark")).to_have_attribute("aria-label", label)
    # Nothing ran in the browser, and the page does not pretend otherwise.
    expect(result.locator("#checks")).not_to_contain_text(SIGNED_BY_BROWSER)
    expect_readable(result)
    # A QR code for sharing only of a valid reference.
    if verdict == "valid":
        expect(result.locator("#qr svg")).to_be_visible()
    else:
        expect_no_qr(tab)
    tab.assert_quiet()


@pytest.mark.parametrize(
    ("pasted", "says"),
    [
        ("garbage <b>here</b>", NOT_A_REFERENCE),
        ("B" * 20_000, TOO_LONG),
        ("C" * 70_000, "too large"),  # over the registry's 64 KiB body limit
    ],
    ids=["markup", "oversized", "over-body-limit"],
)
def test_bad_input_without_javascript(
    pasted: str, says: str, seeded: Seeded, open_tab: OpenTab, tmp_path: Path
) -> None:
    tab = open_tab(java_script_enabled=False)
    page = tab.page
    page.goto(check_url(seeded))
    with page.expect_navigation() as navigation:
        fill_and_check(page, pasted)
    response = navigation.value
    assert response is not None
    assert 400 <= response.status < 500, response.status
    check_headers(response)
    screenshot(page, tmp_path / "nojs-input-error.png")
    expect_input_error(tab)
    expect(page.locator("#input-error")).to_contain_text(says, ignore_case=True)
    # The refused input is shown back as text, never as markup.
    assert page.locator("b").filter(has_text="here").count() == 0


@pytest.mark.parametrize(
    ("other", "says"),
    [
        ("Employment reference", "A purpose of your own is written like x-board-reference"),
        ("", "Type the purpose you chose"),
    ],
    ids=["prose", "empty"],
)
def test_purpose_of_ones_own_must_be_an_identifier(
    other: str, says: str, seeded: Seeded, open_tab: OpenTab
) -> None:
    """Free text such as "Employment reference" is an input error, not a reference that
    fails (it used to be checked, and shown as purpose_not_allowed)."""
    tab = open_tab()
    page = tab.page
    page.goto(check_url(seeded))
    page.fill("#token", seeded.valid.token)
    page.select_option("#purpose", "other")
    expect(page.locator("#purpose-other")).to_be_visible()
    page.fill("#purpose-other", other)
    page.click("#check-button")
    expect_input_error(tab)
    expect(page.locator("#input-error")).to_contain_text(says)
    expect(page.locator("#result")).to_be_hidden()
    assert not [r.url for r in tab.requests if r.url.endswith("/api/v1/verify")]
    tab.assert_quiet()


def test_purpose_of_ones_own_is_checked(seeded: Seeded, open_tab: OpenTab) -> None:
    tab = open_tab()
    page = tab.page
    page.goto(check_url(seeded))
    page.fill("#token", seeded.valid.token)
    page.select_option("#purpose", "other")
    page.fill("#purpose-other", "x-board-reference")
    page.click("#check-button")
    result = wait_checked(page)
    assert verdicts(result) == ("purpose_not_allowed",) * 3
    tab.assert_quiet()


def test_check_button_is_busy_while_checking(seeded: Seeded, open_tab: OpenTab) -> None:
    tab = open_tab()
    page = tab.page
    page.goto(check_url(seeded))
    seen: list[object] = []

    # The button as it is while the registry's verdict is on its way.
    def hold(route: Route) -> None:
        seen.append(
            page.evaluate(
                """() => {
                    const b = document.getElementById("check-button");
                    return [b.disabled, b.getAttribute("aria-busy"), b.textContent];
                }"""
            )
        )
        route.continue_()

    page.route("**/api/v1/verify", hold)
    page.fill("#token", seeded.valid.token)
    page.click("#check-button")
    wait_checked(page)
    assert seen == [[True, "true", "Checking…"]]
    expect(page.locator("#check-button")).to_be_enabled()
    expect(page.locator("#check-button")).to_have_text("Check")
    tab.assert_quiet()


def test_registry_over_its_rate_limit_says_it_is_busy(seeded: Seeded, open_tab: OpenTab) -> None:
    tab = open_tab()
    page = tab.page
    page.goto(check_url(seeded))
    page.route(
        "**/api/v1/verify",
        lambda route: route.fulfill(
            status=429,
            headers={"retry-after": "30"},
            content_type="application/problem+json",
            body='{"type": "urn:endorse:problem:rate-limited", "status": 429}',
        ),
    )
    fill_and_check(page, seeded.valid.token)
    page.wait_for_selector('#result[data-state="done"]', state="attached")
    expect(page.locator("#input-error")).to_have_text(
        "The registry is busy: try again in a minute."
    )
    expect(page.locator("#result")).to_be_hidden()
    expect(page.locator("#disagreement")).to_be_hidden()


DOTLESS_I = "\u0131"


def test_a_name_folded_differently_is_not_blamed_on_the_registry(
    registry: LiveServer, open_tab: OpenTab, tmp_path: Path
) -> None:
    """The browser folds case as JavaScript does (dotless i, U+0131, to "i"), the registry
    as Python's casefold (keeps it): the page says the name could not be matched the same
    way, with the subject_mismatch explanation, not that the registry disagrees."""
    with Client(registry.url, pin_store=tmp_path / "pins.json") as client:
        key, _ = new_endorser(client, registry.data_dir, "Alice Smith")
        ivan = Subject("Ivan Petrov", email="ivan@example.com")
        token = client.issue(key, "Alice Smith", ivan, MANAGER, [EMPLOYMENT]).token
    tab = open_tab()
    page = tab.page
    page.goto(f"{registry.url}/check")
    fill_and_check(page, token, f"{DOTLESS_I}van Petrov")
    result = wait_checked(page)
    screenshot(page, tmp_path / "name-folding.png")
    assert verdicts(result) == ("subject_mismatch", "valid", "subject_mismatch")
    expect_not_valid(result)
    expect(result.locator("#disagreement")).to_be_hidden()
    expect(result.locator("#verdict-sentence")).to_have_text(
        "This reference is about someone other than the person presenting it."
    )
    expect(result.locator("#match-note")).to_have_text(
        "The candidate's name could not be matched the same way by your browser and the"
        " registry: compare the name you typed with the one in the reference."
    )
    expect(result.locator("#copy-receipt")).to_be_visible()
    expect_readable(result)
    tab.assert_quiet()


def test_a_damaged_link_says_so_in_the_page(
    seeded: Seeded, open_tab: OpenTab, tmp_path: Path
) -> None:
    """A link cut or joined on its way (a "/" inside the token) gets the page's own error,
    and the page's script leaves that alone (no result, no script error). The 404 itself is
    the answer, so it is the one console error allowed."""
    tab = open_tab()
    base = seeded.valid.url.split("/v#")[0]
    response = tab.page.goto(base + "/v/" + seeded.valid.token[:40] + "/" + seeded.valid.token[40:])
    assert response is not None and response.status == 404
    error = tab.page.locator("#input-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("This link is damaged")
    expect(tab.page.locator("#result")).to_be_hidden()
    screenshot(tab.page, tmp_path / "damaged-link.png")
    assert tab.page_errors == []


def test_a_pasted_credential_is_checked_by_the_registry(
    registry: LiveServer, open_tab: OpenTab, tmp_path: Path
) -> None:
    """An exported credential (``endorse export TOKEN --vc``) pasted into the box is posted to
    the registry, which verifies it (its proof too) with the token's verdicts and sentences; the
    page says the proof was checked by the registry only and why there is no receipt. Revoked,
    it is revoked; altered by a letter, its facts are withheld."""
    with Client(registry.url, pin_store=tmp_path / "pins.json") as client:
        key, _ = new_endorser(client, registry.data_dir, "Alice Smith")
        token = client.issue(
            key, "Alice Smith", BOB, MANAGER, [EMPLOYMENT], statement="<b>Kind</b> & able"
        ).token
        credential = client.export_vc(key, token)
        tab = open_tab()
        page = tab.page
        page.goto(f"{registry.url}/check")
        fill_and_check(page, json.dumps(credential, indent=2), "bob@example.com")
        result = page.locator("#result")
        expect(result).to_have_attribute("data-verdict", "valid")
        screenshot(page, tmp_path / "credential.png")
        expect(result.locator("#verdict-sentence")).to_have_text(Verdict.VALID.sentence)
        expect(result.locator("#statement")).to_have_text("<b>Kind</b> & able")
        expect(result.locator("#facts-note")).to_contain_text("checked by this registry only")
        expect(result.locator("#receipt-missing")).to_have_text(pages.NO_CREDENTIAL_RECEIPT)
        expect(result.locator("#receipt-section")).to_be_hidden()
        expect(result.locator("#checks li[data-passed='false']")).to_have_count(0)
        expect_readable(result)

        client.revoke(key, token)
        fill_and_check(page, json.dumps(credential), "")
        expect(result).to_have_attribute("data-verdict", "revoked")
        expect(result.locator("#verdict-sentence")).to_have_text(Verdict.REVOKED.sentence)
        expect_not_valid(result)

    credential["credentialSubject"]["subjectName"] = "Mallory Jones"
    fill_and_check(page, json.dumps(credential), "")
    expect(result).to_have_attribute("data-verdict", "bad_signature")
    expect_claims_withheld(result, "Mallory")
    expect(page.locator("#token")).to_have_value(json.dumps(credential))
    tab.assert_quiet()
