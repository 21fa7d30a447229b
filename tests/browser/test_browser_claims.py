"""Claimed references in a real browser (issue 9, spec §11.4): a refusal on ``/v`` and
``/check``, and the requester's page ``/r#<request>~<answer>`` with each kind of answer, with
markup and script URLs in every claimed field, and with a tampered request or answer.

The reference requests are signed here with the live registry's own key (read from its
database, as another process of the registry would), so these tests need no request flow of
the registry's: they test what the page does with what the registry signs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from _browser import (
    BOB,
    DAY,
    EMPLOYMENT,
    HOSTILE_NAME,
    IMG_MARKUP,
    MANAGER,
    SCRIPT_MARKUP,
    LiveServer,
    new_endorser,
    screenshot,
    wait_checked,
)
from _tabs import (
    SIGNED_BY_BROWSER,
    OpenTab,
    Tab,
    expect_claims_withheld,
    expect_no_qr,
    expect_readable,
    qr_shown,
    verdicts,
)
from playwright.sync_api import Locator, Page, expect

from endorse.client import Client
from endorse.protocol import (
    MalformedToken,
    Relationship,
    Requester,
    SigningKey,
    Subject,
    build_reference_request,
    sign,
    sign_policy,
    sign_refusal,
)
from endorse.server.db import Database
from endorse.server.registry_key import load_kek, load_or_create
from endorse.server.settings import Settings

SENTENCE = "Alice Smith states that they do not give a reference for Bob Jones"
REFUSAL_LABEL = "A refusal, not a reference"
POLICY_SENTENCE = (
    "References from this person come only as signed tokens; ask the candidate for one."
)
JS_URL = "javascript:window.__pwned=1"
HOSTILE_SUBJECT = Subject('Bob "><img src=x onerror="window.__pwned=1">', handle=JS_URL)
HOSTILE_RELATIONSHIP = Relationship(
    f"work {SCRIPT_MARKUP}", f"boss {IMG_MARKUP}", org=f"Evil {SCRIPT_MARKUP} Corp"
)
RECRUITER = "recruiter@example.com"
"""The requester, and the audience of an endorsement given in answer to them."""
HOSTILE_REQUESTER = Requester(email="recruiter@example.com", method="email-code", name=HOSTILE_NAME)


@dataclass(frozen=True)
class Claims:
    """A referee registered at the live registry, and what the tests sign with."""

    url: str
    registry_key: SigningKey
    alice: SigningKey
    alice_email: str
    endorsement: str
    """A registered endorsement of Bob by Alice, for employment references."""
    bound: str
    """The same, given for one recipient only: :data:`RECRUITER` (``aud``)."""

    def request(
        self,
        *,
        now: int | None = None,
        expires_in: int = 7 * DAY,
        key: SigningKey | None = None,
        requester: Requester | None = None,
        subject: Subject = BOB,
        relationship: Relationship = MANAGER,
        audience: str | None = None,
    ) -> tuple[str, str]:
        """A reference request to Alice signed by the registry (or ``key``): (token, id)."""
        issued = int(time.time()) if now is None else now
        request = build_reference_request(
            registry=self.url,
            requester=requester
            or Requester(email="recruiter@example.com", method="email-code", name="Rita"),
            referee=self.alice_email,
            subject=subject,
            relationship=relationship,
            purpose=EMPLOYMENT,
            now=issued,
            expires=issued + expires_in,
            audience=audience,
        )
        return sign(request, key or self.registry_key), request.id

    def refusal(self, request_id: str | None, *, reason: str | None = None) -> str:
        """Alice's refusal for Bob, for employment references, answering ``request_id``."""
        return sign_refusal(
            self.alice,
            "Alice Smith",
            BOB,
            now=int(time.time()),
            purpose=EMPLOYMENT,
            request=request_id,
            reason=reason,
        )

    def policy(self) -> str:
        return sign_policy(self.alice, "Alice Smith", now=int(time.time()), notify=True)

    def page(self, request: str, answer: str | None = None) -> str:
        return f"{self.url}/r#{request}" + ("" if answer is None else f"~{answer}")


@pytest.fixture(scope="module")
def claims(registry: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Claims:
    database = Database.connect(registry.database_url)
    try:
        # The one it already has, unsealed with the key-encryption key in its data directory.
        settings = Settings(data_dir=registry.data_dir, database_url=registry.database_url)
        kek = load_kek(settings, create=False)
        registry_key = load_or_create(database, int(time.time()), kek).signing
    finally:
        database.dispose()
    work = tmp_path_factory.mktemp("claims")
    with Client(registry.url, pin_store=work / "pins.json") as client:
        alice, email = new_endorser(client, registry.data_dir, "Alice Smith")
        endorsement = client.issue(alice, "Alice Smith", BOB, MANAGER, [EMPLOYMENT]).token
        bound = client.issue(
            alice, "Alice Smith", BOB, MANAGER, [EMPLOYMENT], audience=RECRUITER
        ).token
    return Claims(registry.url, registry_key, alice, email, endorsement, bound)


def checked_request(page: Page) -> Locator:
    """The request section, once the page has checked the request and its answer."""
    page.wait_for_selector('#request[data-state="done"]', timeout=20_000)
    return page.locator("#request")


def expect_refusal(result: Locator, sentence: str, email: str) -> None:
    """A genuine refusal: ✗ as a refusal (never a forgery), its sentence, the referee's
    registry-verified identity, no advice for a reference that failed."""
    assert verdicts(result) == ("refused", "refused", "refused")
    mark = result.locator("#verdict-mark")
    expect(mark).to_have_text("✗")
    expect(mark).to_have_attribute("aria-label", REFUSAL_LABEL)
    expect(result.locator("#verdict-sentence")).to_have_text(sentence)
    expect(result.locator("#refusal-note")).to_be_visible()
    expect(result.locator("#refusal-referee")).to_have_text("Alice Smith")
    expect(result.locator("#refusal-subject")).to_have_text("Bob Jones (bob@example.com)")
    expect(result.locator("#refusal-identity")).to_contain_text(email)
    expect(result.locator("#refusal-identity")).to_contain_text("confirmed by this registry")
    expect(result.locator("#next-steps")).to_be_hidden()
    expect(result.locator("#facts")).to_be_hidden()
    expect(result.locator("#checks")).to_contain_text(f"{SIGNED_BY_BROWSER}: genuine")
    shown = result.inner_text()
    for word in ("forged", "altered", "could not be confirmed"):
        assert word not in shown, (word, shown)
    expect_readable(result)


def not_pwned(tab: Tab) -> None:
    """No script ran from any claimed field, and the page made no element of one."""
    assert tab.page.evaluate("window.__pwned") is None
    for where in ("#request", "#answer"):
        assert (
            tab.page.locator(f"{where} img, {where} script, {where} a, {where} iframe").count() == 0
        )


# --- refusals on /v and /check -----------------------------------------------------------------


@pytest.mark.parametrize("form", ["/v#", "/v/"], ids=["fragment", "path"])
def test_refusal_on_the_verification_page(
    form: str, claims: Claims, open_tab: OpenTab, tmp_path: Path
) -> None:
    tab = open_tab()
    tab.page.goto(f"{claims.url}{form}{claims.refusal(None)}")
    result = wait_checked(tab.page)
    screenshot(tab.page, tmp_path / "refusal.png")
    expect_refusal(result, f"{SENTENCE} for {EMPLOYMENT}.", claims.alice_email)
    expect(result.locator("#refusal-kind")).to_contain_text("in advance")
    expect(result.locator("#copy-receipt")).to_be_visible()  # the registry's receipt verified
    expect_no_qr(tab)
    tab.assert_quiet()


def test_refusal_pasted_on_the_check_page(
    claims: Claims, open_tab: OpenTab, tmp_path: Path
) -> None:
    tab = open_tab()
    tab.page.goto(f"{claims.url}/check")
    tab.page.fill("#token", f"{claims.url}/v#{claims.refusal(None)}")
    tab.page.fill("#subject", "Bob Jones")
    tab.page.select_option("#purpose", EMPLOYMENT)
    tab.page.click("#check-button")
    result = wait_checked(tab.page)
    screenshot(tab.page, tmp_path / "check-refusal.png")
    expect_refusal(result, f"{SENTENCE} for {EMPLOYMENT}.", claims.alice_email)
    expect_no_qr(tab)
    tab.assert_quiet()


def test_tampered_refusal_is_a_bad_signature(claims: Claims, open_tab: OpenTab) -> None:
    tab = open_tab()
    tab.page.goto(f"{claims.url}/v#{claims.refusal(None)[:-4]}AAAA")
    result = wait_checked(tab.page)
    assert verdicts(result) == ("bad_signature", "bad_signature", "bad_signature")
    expect(result.locator("#verdict-mark")).to_have_attribute("aria-label", "Not valid")
    expect(result.locator("#refusal-facts")).to_be_hidden()
    expect(result.locator("#refusal-note")).to_be_hidden()
    expect_claims_withheld(result, "Alice Smith", "Bob Jones")
    tab.assert_quiet()


# --- the requester's page ------------------------------------------------------------------------


def expect_request_shown(request: Locator, claims: Claims) -> None:
    assert request.get_attribute("data-request") == "genuine"
    expect(request.locator("#request-mark")).to_have_attribute("aria-label", "Genuine request")
    expect(request.locator("#request-check")).to_contain_text("checked by your browser")
    expect(request.locator("#requester")).to_have_text(
        "recruiter@example.com, e-mail address confirmed by this registry with a code"
    )
    expect(request.locator("#requester-name-row dt")).to_contain_text("as claimed")
    expect(request.locator("#referee")).to_have_text(claims.alice_email)
    expect(request.locator("#claimed-subject-row dt")).to_have_text("Candidate (as claimed)")
    expect(request.locator("#claimed-relationship-row dt")).to_have_text(
        "Relationship (as claimed)"
    )
    expect(request.locator("#claimed-purpose")).to_have_text(EMPLOYMENT)
    expect(request.locator("#request-claimed-note")).to_be_visible()


def test_requester_page_with_an_endorsement(
    claims: Claims, open_tab: OpenTab, tmp_path: Path
) -> None:
    request, _ = claims.request()
    tab = open_tab()
    tab.page.goto(claims.page(request, claims.endorsement))
    section = checked_request(tab.page)
    screenshot(tab.page, tmp_path / "request-endorsed.png")
    expect_request_shown(section, claims)
    expect(section.locator("#claimed-subject")).to_have_text("Bob Jones (bob@example.com)")
    expect(section.locator("#claimed-relationship")).to_have_text(
        "manager · work · Acme · 2019 to 2023"
    )
    assert section.get_attribute("data-answer") == "answered"
    answer = tab.page.locator("#answer")
    assert answer.get_attribute("data-kind") == "endorsement"
    result = wait_checked(tab.page)
    # The normal verified view, checked against the request's candidate and purpose.
    assert verdicts(result) == ("valid", "valid", "valid")
    expect(result.locator("#endorser")).to_have_text("Alice Smith")
    expect(tab.page.locator("#policy-answer")).to_be_hidden()
    tab.assert_quiet()


def recheck(page: Page, audience: str) -> tuple[str | None, str | None, str | None]:
    """The verdicts of checking again as ``audience`` on ``/v`` (the check has begun once
    the registry was asked: the page marks it so before it asks)."""
    page.fill("#audience", audience)
    with page.expect_response(lambda r: r.url.endswith("/api/v1/verify")):
        page.click("#audience-button")
    return verdicts(wait_checked(page))


def test_requester_page_with_an_audience_bound_endorsement(
    claims: Claims, open_tab: OpenTab, tmp_path: Path
) -> None:
    """The answer to a request that named an audience is given for that audience: valid on
    the requester's page, its QR code drawn for the same audience (spec §11.4 item 4)."""
    request, _ = claims.request(audience=RECRUITER)
    tab = open_tab()
    tab.page.goto(claims.page(request, claims.bound))
    checked_request(tab.page)
    result = wait_checked(tab.page)
    screenshot(tab.page, tmp_path / "request-endorsed-for-audience.png")
    assert verdicts(result) == ("valid", "valid", "valid")
    expect(tab.page.locator("#qr-caption")).not_to_contain_text("could not be loaded")
    assert qr_shown(tab.page)
    tab.assert_quiet()


def test_audience_bound_reference_on_the_verification_page(
    claims: Claims, open_tab: OpenTab, tmp_path: Path
) -> None:
    """``/v#<token>`` of a reference given for a named recipient: ✗ until the recruiter
    says who they are; someone else stays ✗ with no QR code, the recipient gets ✓ and it."""
    tab = open_tab()
    tab.page.goto(f"{claims.url}/v#{claims.bound}")
    result = wait_checked(tab.page)
    assert verdicts(result) == ("audience_mismatch",) * 3
    form = tab.page.locator("#audience-form")
    expect(form).to_be_visible()
    expect(tab.page.locator("#audience")).to_have_value("")  # never filled from the token
    expect_no_qr(tab)
    assert recheck(tab.page, "someone@else.example") == ("audience_mismatch",) * 3
    expect_no_qr(tab)
    assert recheck(tab.page, f" {RECRUITER} ") == ("valid", "valid", "valid")
    screenshot(tab.page, tmp_path / "verify-as-audience.png")
    expect(tab.page.locator("#qr-caption")).not_to_contain_text("could not be loaded")
    assert qr_shown(tab.page)
    tab.assert_quiet()


def test_audience_bound_reference_on_the_check_page(
    claims: Claims, open_tab: OpenTab, tmp_path: Path
) -> None:
    tab = open_tab()
    tab.page.goto(f"{claims.url}/check")
    tab.page.fill("#token", f"{claims.url}/v#{claims.bound}")
    tab.page.fill("#audience", RECRUITER)
    tab.page.click("#check-button")
    result = wait_checked(tab.page)
    assert verdicts(result) == ("valid", "valid", "valid")
    assert qr_shown(tab.page)
    tab.assert_quiet()


def test_requester_page_with_a_refusal(claims: Claims, open_tab: OpenTab, tmp_path: Path) -> None:
    request, request_id = claims.request()
    tab = open_tab()
    tab.page.goto(claims.page(request, claims.refusal(request_id, reason="no_reference")))
    section = checked_request(tab.page)
    screenshot(tab.page, tmp_path / "request-refused.png")
    expect_request_shown(section, claims)
    assert tab.page.locator("#answer").get_attribute("data-kind") == "refusal"
    result = wait_checked(tab.page)
    expect_refusal(result, f"{SENTENCE} for {EMPLOYMENT}.", claims.alice_email)
    expect(result.locator("#refusal-kind")).to_contain_text("answer to a request")
    expect(tab.page.locator("#answer-note")).to_be_hidden()
    # The coded reason is not shown (the reader may be the candidate).
    assert "no_reference" not in tab.page.locator("main").inner_text()
    tab.assert_quiet()


def test_requester_page_with_a_refusal_of_another_request(
    claims: Claims, open_tab: OpenTab
) -> None:
    request, _ = claims.request()
    _, other = claims.request()
    tab = open_tab()
    tab.page.goto(claims.page(request, claims.refusal(other)))
    checked_request(tab.page)
    expect(tab.page.locator("#answer-note")).to_have_text(
        "This refusal answers another request, not this one."
    )
    tab.assert_quiet()


def test_requester_page_with_a_policy(claims: Claims, open_tab: OpenTab, tmp_path: Path) -> None:
    request, _ = claims.request()
    tab = open_tab()
    tab.page.goto(claims.page(request, claims.policy()))
    section = checked_request(tab.page)
    screenshot(tab.page, tmp_path / "request-policy.png")
    expect_request_shown(section, claims)
    policy = tab.page.locator("#policy-answer")
    assert policy.get_attribute("data-verdict") == "policy"
    expect(policy.locator("#policy-sentence")).to_have_text(POLICY_SENTENCE)
    expect(policy.locator("#policy-referee")).to_have_text("Alice Smith")
    expect(policy.locator("#policy-identity")).to_contain_text(claims.alice_email)
    expect(policy.locator("#policy-checks")).to_contain_text(f"{SIGNED_BY_BROWSER}: genuine")
    expect(tab.page.locator("#result")).to_be_hidden()
    tab.assert_quiet()


@pytest.mark.parametrize(
    ("age", "state", "words"),
    [
        (0, "open", "No answer yet: the referee has until"),
        (10 * DAY, "expired", "No answer by the deadline"),
    ],
    ids=["open", "expired"],
)
def test_requester_page_without_an_answer(
    age: int, state: str, words: str, claims: Claims, open_tab: OpenTab, tmp_path: Path
) -> None:
    request, _ = claims.request(now=int(time.time()) - age, expires_in=7 * DAY)
    tab = open_tab()
    tab.page.goto(claims.page(request))
    section = checked_request(tab.page)
    screenshot(tab.page, tmp_path / f"request-{state}.png")
    expect_request_shown(section, claims)
    assert section.get_attribute("data-answer") == state
    expect(section.locator("#request-state")).to_contain_text(words)
    expect(tab.page.locator("#answer")).to_be_hidden()
    # No answer is never shown as a refusal.
    assert "refus" not in tab.page.locator("main").inner_text().lower()
    tab.assert_quiet()


def test_no_script_from_any_claimed_field(
    claims: Claims, open_tab: OpenTab, tmp_path: Path
) -> None:
    """Markup, attribute breakouts and javascript: URLs in every member a requester or a
    referee types are shown as text, and nothing of them runs or becomes an element."""
    request, request_id = claims.request(
        requester=HOSTILE_REQUESTER,
        subject=HOSTILE_SUBJECT,
        relationship=HOSTILE_RELATIONSHIP,
        audience=JS_URL,
    )
    refusal = sign_refusal(
        claims.alice,
        HOSTILE_NAME,
        HOSTILE_SUBJECT,
        now=int(time.time()),
        request=request_id,
    )
    tab = open_tab()
    tab.page.goto(claims.page(request, refusal))
    section = checked_request(tab.page)
    screenshot(tab.page, tmp_path / "request-hostile.png")
    assert section.get_attribute("data-request") == "genuine"
    expect(section.locator("#requester-name")).to_have_text(HOSTILE_NAME)
    expect(section.locator("#claimed-subject")).to_have_text(f"{HOSTILE_SUBJECT.name} ({JS_URL})")
    relationship = section.locator("#claimed-relationship")
    expect(relationship).to_contain_text(SCRIPT_MARKUP)
    expect(relationship).to_contain_text(IMG_MARKUP)
    expect(section.locator("#claimed-audience")).to_have_text(JS_URL)
    result = wait_checked(tab.page)
    assert verdicts(result)[0] == "refused"
    expect(result.locator("#verdict-sentence")).to_contain_text(HOSTILE_NAME)
    expect(result.locator("#refusal-subject")).to_contain_text(HOSTILE_SUBJECT.name)
    not_pwned(tab)
    tab.assert_quiet()


def test_right_to_left_overrides_cannot_be_signed(claims: Claims) -> None:
    """A right-to-left override (which could make a field read backwards on the page) is
    refused by the text rules before anything is signed, so no page ever shows one."""
    with pytest.raises(MalformedToken):
        claims.request(
            requester=Requester(
                email="recruiter@example.com", method="email-code", name="Rita \u202eevil"
            )
        )
    with pytest.raises(MalformedToken):
        claims.request(subject=Subject("Bob \u202eJones", email="bob@example.com"))
    with pytest.raises(MalformedToken):
        claims.request(relationship=Relationship("work", "boss \u202e", org="Acme"))


def test_tampered_request_shows_nothing_of_it(claims: Claims, open_tab: OpenTab) -> None:
    request, request_id = claims.request(requester=HOSTILE_REQUESTER)
    forgeries = {
        "bad-signature": request[:-4] + "AAAA",
        "another-key": claims.request(key=SigningKey.generate())[0],
    }
    for name, forged in forgeries.items():
        tab = open_tab()
        tab.page.goto(claims.page(forged, claims.refusal(request_id)))
        section = checked_request(tab.page)
        assert section.get_attribute("data-request") == "bad_signature", name
        expect(section.locator("#request-mark")).to_have_text("✗")
        expect(section.locator("#request-mark")).to_have_attribute("aria-label", "Not genuine")
        expect(section.locator("#request-check")).to_contain_text("not signed by this registry")
        expect(section.locator("#request-facts")).to_be_hidden()
        expect(tab.page.locator("#answer")).to_be_hidden()
        shown = tab.page.locator("main").inner_text()
        for claim in ("Mallory", "recruiter@example.com", "Bob Jones", claims.alice_email):
            assert claim not in shown, (name, claim)
        tab.assert_quiet()


@pytest.mark.parametrize("kind", ["endorsement", "refusal", "policy"])
def test_tampered_answer_shows_a_cross(kind: str, claims: Claims, open_tab: OpenTab) -> None:
    request, request_id = claims.request()
    answer = {
        "endorsement": claims.endorsement,
        "refusal": claims.refusal(request_id),
        "policy": claims.policy(),
    }[kind]
    tab = open_tab()
    tab.page.goto(claims.page(request, answer[:-4] + "AAAA"))
    section = checked_request(tab.page)
    assert section.get_attribute("data-request") == "genuine"
    if kind == "policy":
        policy = tab.page.locator("#policy-answer")
        assert policy.get_attribute("data-verdict") == "bad_signature"
        expect(policy.locator("#policy-mark")).to_have_attribute("aria-label", "Not genuine")
        expect(policy.locator("#policy-facts")).to_be_hidden()
        assert POLICY_SENTENCE not in policy.inner_text()
    else:
        result = wait_checked(tab.page)
        assert verdicts(result)[0] == "bad_signature"
        expect(result.locator("#verdict-mark")).to_have_text("✗")
        expect_claims_withheld(result, "Alice Smith")
    tab.assert_quiet()


def test_damaged_request_link_is_an_input_error(claims: Claims, open_tab: OpenTab) -> None:
    request, _ = claims.request()
    for link in (f"{claims.url}/r", f"{claims.url}/r#{request}~a~b", f"{claims.url}/r#<b>x</b>"):
        tab = open_tab()
        tab.page.goto(link)
        expect(tab.page.locator("#input-error")).to_be_visible()
        expect(tab.page.locator("#request")).to_be_hidden()
        tab.assert_quiet()


def test_refusal_of_a_revoked_key_counts_for_nothing(
    registry: LiveServer, claims: Claims, open_tab: OpenTab, tmp_path: Path
) -> None:
    """The browser, like the registry, lets no refusal of a revoked key count (spec §6.4)."""
    with Client(registry.url, pin_store=tmp_path / "pins.json") as client:
        carol, _ = new_endorser(client, registry.data_dir, "Carol Referee")
        token = sign_refusal(carol, "Carol Referee", BOB, now=int(time.time()))
        client.revoke_key(carol)
    tab = open_tab()
    tab.page.goto(f"{claims.url}/v#{token}")
    result = wait_checked(tab.page)
    assert verdicts(result) == ("issuer_key_revoked",) * 3
    expect(result.locator("#verdict-mark")).to_have_attribute("aria-label", "Not valid")
    expect(result.locator("#refusal-note")).to_be_hidden()
    expect(result.locator("#refusal-identity")).to_contain_text("the referee revoked this key")
    tab.assert_quiet()
