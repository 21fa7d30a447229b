"""The candidate's key on the check page (spec §4.8): the page makes a challenge, the
candidate answers with ``endorse present`` (here the SDK's ``present``), the recruiter pastes
the answer, and the page says what it proved; an answer that is none is an input error."""

from __future__ import annotations

from pathlib import Path

from _browser import EMPLOYMENT, MANAGER, LiveServer, new_endorser, screenshot, wait_checked
from _tabs import OpenTab, verdicts
from playwright.sync_api import Page, expect

from endorse.client import Client, present
from endorse.protocol import SigningKey, Subject


def bound_reference(registry: LiveServer, tmp_path: Path) -> tuple[str, SigningKey]:
    bob = SigningKey.generate()
    with Client(registry.url, pin_store=tmp_path / "pins.json") as client:
        key, _ = new_endorser(client, registry.data_dir, "Alice Smith")
        subject = Subject("Bob Jones", email="bob@example.com", key=bob.did)
        token = client.issue(key, "Alice Smith", subject, MANAGER, [EMPLOYMENT]).token
    return token, bob


def challenge(page: Page, registry: LiveServer, token: str) -> str:
    page.goto(f"{registry.url}/check")
    page.fill("#token", token)
    page.click("#make-challenge")
    command = page.locator("#challenge-command")
    expect(command).to_be_visible()
    text = command.text_content() or ""
    assert text.startswith("endorse present THEIR-LINK --nonce ")
    return text.rsplit(" ", 1)[1]


def test_the_candidate_answers_a_challenge_made_by_the_page(
    registry: LiveServer, open_tab: OpenTab, tmp_path: Path
) -> None:
    token, bob = bound_reference(registry, tmp_path)
    tab = open_tab()
    page = tab.page
    nonce = challenge(page, registry, token)
    assert len(nonce) == 22
    page.fill("#presentation", present(bob, token, nonce) + "\n")
    page.click("#check-button")
    result = wait_checked(page)
    screenshot(page, tmp_path / "challenge-answered.png")
    assert verdicts(result) == ("valid", "valid", "valid")
    proven = result.locator("#checks li[data-check='browser-holder']")
    expect(proven).to_have_text(
        "Candidate's key checked by your browser: whoever sent the answer holds the key this"
        " reference names, and signed your challenge"
    )
    expect(result.locator("#not-compared")).not_to_contain_text("did not prove")
    tab.assert_quiet()


def test_an_answer_to_another_challenge_or_by_another_key_is_not_proof(
    registry: LiveServer, open_tab: OpenTab, tmp_path: Path
) -> None:
    token, bob = bound_reference(registry, tmp_path)
    tab = open_tab()
    page = tab.page
    challenge(page, registry, token)
    page.fill("#presentation", present(bob, token, "A" * 22))  # not the page's challenge
    page.click("#check-button")
    result = wait_checked(page)
    assert verdicts(result) == ("subject_mismatch", "subject_mismatch", "subject_mismatch")
    expect(result.locator("#checks li[data-check='browser-holder']")).to_have_count(0)
    tab.assert_quiet()


def test_an_answer_that_is_no_presentation_is_an_input_error(
    registry: LiveServer, open_tab: OpenTab, tmp_path: Path
) -> None:
    token, _ = bound_reference(registry, tmp_path)
    tab = open_tab()
    page = tab.page
    challenge(page, registry, token)
    page.fill("#presentation", "thank you, here it is")
    page.click("#check-button")
    error = page.locator("#input-error")
    expect(error).to_be_visible()
    expect(error).to_have_text(
        "That answer is not a presentation: ask the candidate for exactly what endorse present"
        " printed."
    )
    expect(page.locator("#result")).to_be_hidden()
    # Without a challenge made first, an answer cannot be checked.
    page.goto(f"{registry.url}/check")
    page.fill("#token", token)
    page.fill("#presentation", "presentation-v1.e30.c2ln")
    page.click("#check-button")
    expect(error).to_contain_text("Make a challenge first")
