"""What the browser tests share besides fixtures: a recorded page and the result's checks."""

from __future__ import annotations

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
        """No uncaught exception and nothing logged as an error (CSP reports included)."""
        assert self.page_errors == [], self.page_errors
        assert self.console_errors == [], self.console_errors


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
