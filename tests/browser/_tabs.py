"""What the browser tests share besides fixtures: a recorded page and the result's checks."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from playwright.sync_api import BrowserContext, Locator, Page, Request, Response, expect

SIGNED_BY_BROWSER = "Signature checked by your browser"
REVOCATION_CHECKED = "Revocation checked with this registry"
NOT_CONFIRMED = "could not be confirmed"


@dataclass
class Tab:
    """A page in a context of its own, with what it logged and requested."""

    page: Page
    context: BrowserContext
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)

    def assert_quiet(self) -> None:
        """No uncaught exception and nothing logged as an error (CSP reports and failed
        requests included), and no request for an icon (the pages declare a data: one)."""
        assert self.page_errors == [], self.page_errors
        assert self.console_errors == [], self.console_errors
        assert not [r.url for r in self.requests if r.url.endswith("/favicon.ico")]


OpenTab = Callable[..., Tab]


def verdicts(result: Locator) -> tuple[str | None, str | None, str | None]:
    """The verdict shown, the browser's and the registry's."""
    return (
        result.get_attribute("data-verdict"),
        result.get_attribute("data-browser-verdict"),
        result.get_attribute("data-server-verdict"),
    )


def expect_not_valid(result: Locator) -> None:
    """✗ with its text alternative, and what the recruiter can do next."""
    mark = result.locator("#verdict-mark")
    expect(mark).to_have_attribute("role", "img")
    expect(mark).to_have_attribute("aria-label", "Not valid")
    expect(mark).to_contain_text("✗")
    expect(result.locator("#next-steps")).to_be_visible()
    expect(result.locator("#next-steps")).to_contain_text(NOT_CONFIRMED, ignore_case=True)


UTC_TIME = r"\d{2}:\d{2} UTC, \d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}"
"""How the pages write every time (the server and the script alike): ``14:02 UTC, 26 Nov 2026``."""
JARGON = ("canonical", "Ed25519", "WebCrypto", "status list of", "passed (", "failed (")


def expect_readable(result: Locator) -> None:
    """What the recruiter reads is plain words: every row shown has something in it, no raw
    epoch seconds, no brackets inside brackets, no protocol terms, and the precise names only
    in data attributes (each line of ``#checks`` names its check)."""
    rows = result.locator(".facts > div")
    for i in range(rows.count()):
        row = rows.nth(i)
        if row.is_visible():
            assert row.locator("dd").inner_text().strip(), row.inner_text()
    shown = result.evaluate(
        """(section) => {
            const copy = section.cloneNode(true);
            copy.querySelectorAll("#receipt, [hidden]").forEach((e) => e.remove());
            return copy.textContent;
        }"""
    )
    assert not re.search(r"\d{9,}", shown), shown
    assert not re.search(r"\([^()]*\(", shown), shown
    for term in JARGON:
        assert term not in shown, (term, shown)
    for verdict in ("bad_signature", "not_yet_valid", "unknown_issuer", "status_unavailable"):
        assert verdict not in shown, (verdict, shown)
    lines = result.locator("#checks li")
    assert lines.count() > 0
    for i in range(lines.count()):
        assert lines.nth(i).get_attribute("data-check"), lines.nth(i).inner_text()
        assert lines.nth(i).get_attribute("data-passed") in ("true", "false")


def expect_claims_withheld(result: Locator, *forged: str) -> None:
    """No fact of a token whose signature did not verify is shown, and the page says why."""
    expect(result.locator("#facts")).to_be_hidden()
    expect(result.locator("#facts-withheld")).to_be_visible()
    expect(result.locator("#facts-withheld")).to_contain_text("not shown")
    text = result.inner_text()
    for claim in forged:
        assert claim not in text, (claim, text)


def expect_no_qr(tab: Tab) -> None:
    """No QR code of a reference that is not valid (it must not be passed on), nor asked for."""
    expect(tab.page.locator("#qr")).to_be_hidden()
    assert tab.page.locator("#qr svg, #qr img").count() == 0
    assert not [r.url for r in tab.requests if r.url.endswith("/api/v1/qr")]


def qr_shown(page: Page) -> bool:
    """Whether ``#qr`` shows a loaded image now (no waiting: the page must be done)."""
    return bool(
        page.evaluate(
            """() => {
                const figure = document.getElementById("qr");
                const img = figure && figure.querySelector("img");
                return !!img && !figure.hidden && img.complete && img.naturalWidth > 0;
            }"""
        )
    )


CSP = {
    "default-src": {"'none'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "connect-src": {"'self'"},
    "form-action": {"'self'"},
    "base-uri": {"'none'"},
    "frame-ancestors": {"'none'"},
}
"""The contract's policy: a page may add directives, never allow more in these."""


def policy(header: str) -> dict[str, set[str]]:
    """A Content-Security-Policy header's directives and their sources."""
    directives: dict[str, set[str]] = {}
    for part in header.split(";"):
        if not part.strip():
            continue
        name, *sources = part.lower().split()
        assert name not in directives, f"{name} twice in {header!r}"
        directives[name] = set(sources)
    return directives


def check_headers(response: Response) -> None:
    """The contract's protections on a page or static file: CSP, no referrer, no sniffing,
    no cookie."""
    where = f"{response.request.method} {response.url}"
    headers = response.headers
    assert "content-security-policy" in headers, where
    given = policy(headers["content-security-policy"])
    for directive, allowed in CSP.items():
        assert directive in given, f"{where}: no {directive}"
        assert given[directive] <= allowed, f"{where}: {directive} {given[directive]}"
    assert headers.get("referrer-policy") == "no-referrer", where
    assert headers.get("x-content-type-options") == "nosniff", where
    assert not [h for h in response.headers_array() if h["name"].lower() == "set-cookie"], where
