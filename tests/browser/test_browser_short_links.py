"""Short links (spec §11.6) in Chromium: /s#<id> fetches the token by POST and checks it as
/v#<token> does, with neither the id nor the token on any request line; a withdrawn link
says so; without JavaScript the page says a short link needs it; a short link pasted into
the check form is opened there."""

from __future__ import annotations

from pathlib import Path

import httpx
from _browser import LiveServer, Seeded, screenshot, wait_checked
from _tabs import OpenTab, Tab, verdicts
from playwright.sync_api import expect


def _shorten(registry: LiveServer, token: str) -> dict[str, str]:
    r = httpx.post(registry.url + "/api/v1/links", json={"token": token})
    assert r.status_code == 201, r.text
    made: dict[str, str] = r.json()
    return made


def _withdraw(registry: LiveServer, made: dict[str, str]) -> None:
    body = {"id": made["id"], "revocation_secret": made["revocation_secret"]}
    r = httpx.post(registry.url + "/api/v1/links/revoke", json=body)
    assert r.status_code == 200, r.text


def _no_request_line_holds(tab: Tab, *secrets: str) -> None:
    """No request the page made names the id or the token in its URL (path, query or
    fragment), and no page was navigated to /v/…."""
    assert tab.requests, "the page made no request"
    for request in tab.requests:
        for secret in secrets:
            assert secret not in request.url, (request.method, request.url)
        assert "/v/" not in request.url, request.url


def test_a_short_link_is_checked_with_nothing_on_a_request_line(
    registry: LiveServer, seeded: Seeded, open_tab: OpenTab, tmp_path: Path
) -> None:
    token = seeded.valid.token
    made = _shorten(registry, token)
    tab = open_tab()
    tab.page.goto(made["url"])
    result = wait_checked(tab.page)
    screenshot(tab.page, tmp_path / "short-link.png")
    assert verdicts(result) == ("valid", "valid", "valid")
    expect(tab.page.locator("#short-note")).to_be_visible()
    expect(tab.page.locator("#short-note")).to_contain_text("short link")
    expect(result).to_contain_text(seeded.valid.endorser_name)
    _no_request_line_holds(tab, made["id"], token, token[-40:])
    resolves = [r for r in tab.requests if r.url.endswith("/api/v1/links/resolve")]
    assert len(resolves) == 1 and resolves[0].method == "POST"
    assert made["id"] in (resolves[0].post_data or "")  # in the body, where logs do not look
    # The address bar keeps the short link: the page did not navigate to the token.
    assert tab.page.url == made["url"]
    tab.assert_quiet()


def test_a_withdrawn_short_link_says_so(
    registry: LiveServer, seeded: Seeded, open_tab: OpenTab, tmp_path: Path
) -> None:
    made = _shorten(registry, seeded.valid.token)
    _withdraw(registry, made)
    tab = open_tab()
    tab.page.goto(made["url"])
    error = tab.page.locator("#input-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("withdrawn")
    expect(error).to_contain_text("full verification link")
    screenshot(tab.page, tmp_path / "short-link-withdrawn.png")
    expect(tab.page.locator("#loading")).to_be_hidden()
    _no_request_line_holds(tab, made["id"], seeded.valid.token)
    assert tab.page_errors == []


def test_a_damaged_short_link_is_refused_without_asking(
    registry: LiveServer, open_tab: OpenTab
) -> None:
    tab = open_tab()
    tab.page.goto(registry.url + "/s#" + "A" * 21 + "B")
    expect(tab.page.locator("#input-error")).to_contain_text("damaged")
    assert not [r for r in tab.requests if "/api/v1/links" in r.url]
    tab.assert_quiet()


def test_without_javascript_the_page_says_a_short_link_needs_it(
    registry: LiveServer, seeded: Seeded, open_tab: OpenTab
) -> None:
    made = _shorten(registry, seeded.valid.token)
    tab = open_tab(java_script_enabled=False)
    tab.page.goto(made["url"])
    # With scripting off, Chromium renders <noscript>'s paragraph as markup.
    notice = tab.page.locator("noscript p.notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("A short link needs JavaScript")
    expect(notice).to_contain_text("works without JavaScript")


def test_a_short_link_pasted_into_the_check_form_is_opened(
    registry: LiveServer, seeded: Seeded, open_tab: OpenTab
) -> None:
    made = _shorten(registry, seeded.valid.token)
    tab = open_tab()
    tab.page.goto(registry.url + "/check")
    tab.page.fill("#token", f"<{made['url'][:30]}\r\n {made['url'][30:]}>.")
    tab.page.click("#check-button")
    result = wait_checked(tab.page)
    assert verdicts(result) == ("valid", "valid", "valid")
    _no_request_line_holds(tab, made["id"], seeded.valid.token)
    tab.assert_quiet()
    # A short link of another registry is not opened here.
    tab.page.fill("#token", f"https://other.example/s#{made['id']}")
    tab.page.click("#check-button")
    expect(tab.page.locator("#input-error")).to_contain_text("another registry")
