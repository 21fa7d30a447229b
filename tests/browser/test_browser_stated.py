"""What the page says the check did not cover (spec §6.5): a signed endorser name that
differs from the registry-verified one, the relationship as stated by the endorser beside the
verified e-mail's domain, whether the endorser may be contacted, and each expectation the
recruiter left out; with JavaScript and without."""

from __future__ import annotations

from pathlib import Path

import pytest
from _browser import BOB, EMPLOYMENT, LiveServer, new_endorser, screenshot, wait_checked
from _tabs import OpenTab, verdicts
from playwright.sync_api import Page, expect

from endorse.client import Client
from endorse.protocol import Relationship

CANDIDATE = "The candidate was not compared: check that the name and e-mail in it are theirs."
PURPOSE = "The purpose was not compared: check that it allows what you will use it for."


def famous_person(registry: LiveServer, tmp_path: Path) -> tuple[str, str]:
    """A reference signed as "Famous Person" by a key registered as "Alice Smith"."""
    with Client(registry.url, pin_store=tmp_path / "pins.json") as client:
        key, email = new_endorser(client, registry.data_dir, "Alice Smith")
        ceo = Relationship("work", "CEO", org="Big Corp")
        issued = client.issue(key, "Famous Person", BOB, ceo, [EMPLOYMENT], contact=True)
    return issued.token, email


def check(page: Page, registry: LiveServer, token: str, subject: str, purpose: str) -> None:
    page.goto(f"{registry.url}/check")
    page.fill("#token", token)
    page.fill("#subject", subject)
    page.select_option("#purpose", purpose)
    page.click("#check-button")


@pytest.mark.parametrize("javascript", [True, False], ids=["script", "no-script"])
def test_a_signed_name_unlike_the_verified_one_is_a_visible_warning(
    javascript: bool, registry: LiveServer, open_tab: OpenTab, tmp_path: Path
) -> None:
    token, email = famous_person(registry, tmp_path)
    tab = open_tab(java_script_enabled=javascript)
    page = tab.page
    if javascript:
        check(page, registry, token, "", "")
        result = wait_checked(page)
        assert verdicts(result) == ("valid", "valid", "valid")
    else:
        with page.expect_navigation():
            check(page, registry, token, "", "")
        result = page.locator("#result")
        expect(result).to_have_attribute("data-verdict", "valid")
    screenshot(page, tmp_path / f"name-warning-{javascript}.png")
    warning = result.locator("#name-warning")
    expect(warning).to_be_visible()
    expect(warning).to_have_text(
        "The endorser signed as “Famous Person”, but this registry verified their key as"
        " “Alice Smith”: only the verified name is confirmed."
    )
    expect(result.locator("#relationship-row dt")).to_have_text(
        "Relationship (as stated by the endorser)"
    )
    domain = email.rpartition("@")[2]
    expect(result.locator("#relationship")).to_have_text(
        f"CEO · work · Big Corp (their verified e-mail is at {domain})"
    )
    expect(result.locator("#contact")).to_have_text(
        "Yes: the endorser agrees to be contacted about this reference"
    )
    # Neither the candidate nor the purpose was given: the page says both were not compared.
    expect(result.locator("#not-compared li")).to_have_text([CANDIDATE, PURPOSE])
    tab.assert_quiet()


@pytest.mark.parametrize("javascript", [True, False], ids=["script", "no-script"])
def test_what_was_given_is_not_listed_as_not_compared(
    javascript: bool, registry: LiveServer, open_tab: OpenTab, tmp_path: Path
) -> None:
    token, _ = famous_person(registry, tmp_path)
    tab = open_tab(java_script_enabled=javascript)
    page = tab.page
    if javascript:
        check(page, registry, token, "Bob Jones", EMPLOYMENT)
        result = wait_checked(page)
    else:
        with page.expect_navigation():
            check(page, registry, token, "Bob Jones", EMPLOYMENT)
        result = page.locator("#result")
    expect(result).to_have_attribute("data-verdict", "valid")
    expect(result.locator("#not-compared")).to_be_hidden()
    expect(result.locator("#not-compared li")).to_have_count(0)
    tab.assert_quiet()
