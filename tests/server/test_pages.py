"""The recruiter pages (spec §11) without a browser: headers, the server-rendered verdicts,
the JSON form of ``/v/<token>``, escaping of attacker-controlled text, and readable refusals
of bad input. The browser's own checks are tested in ``tests/browser``."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from html import escape as html_escape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from _clock import Clock
from endorsers import BOB, EMPLOYMENT, Endorser, context
from fastapi.testclient import TestClient

from endorse.protocol import (
    PURPOSES,
    Endorsement,
    KeyRevocation,
    Subject,
    Verdict,
    decode_unverified,
    sign,
    sign_policy,
    sign_refusal,
    verify_key_binding,
    verify_receipt,
    verify_status_list,
)
from endorse.protocol.vc import endorsement_credential
from endorse.server import pages
from endorse.server import settings as settings_module
from endorse.server.app import create_app
from endorse.server.pages import utc
from endorse.server.settings import Settings

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
FORM = {"content-type": "application/x-www-form-urlencoded"}
REGISTRY = "http://127.0.0.1:8080"
"""The registry id of the ``settings`` fixture."""


def _headers_ok(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["content-security-policy"] == CSP
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
    assert "set-cookie" not in headers


def _attr(html: str, name: str) -> str:
    match = re.search(rf'<section id="result"[^>]*?\s{name}="([^"]*)"', html, re.S)
    assert match is not None, html
    return match.group(1)


def _text(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert match is not None, f"#{element_id} missing"
    return match.group(1)


UTC_TIME = r"\d{2}:\d{2} UTC, \d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}"
"""How the pages write every time: ``14:02 UTC, 26 Nov 2026``."""


def _shown(html: str) -> str:
    """The result's text a recruiter reads: tags, the receipt and the QR code left out."""
    section = html.split('<section id="result"', 1)[1].split("</section>", 1)[0]
    section = re.sub(r'<pre id="receipt".*?</pre>', "", section, flags=re.S)
    section = re.sub(r"<svg.*?</svg>", "", section, flags=re.S)
    return re.sub(r"<[^>]+>", " ", section)


def _readable(html: str) -> None:
    """Plain words: no raw epoch seconds, no brackets inside brackets, no protocol names."""
    shown = _shown(html)
    assert not re.search(r"\d{9,}", shown), shown
    assert not re.search(r"\([^()]*\(", shown), shown
    for jargon in ("canonical", "Ed25519", "status list of", "passed (", "failed ("):
        assert jargon not in shown, (jargon, shown)


def _rows_shown(html: str) -> dict[str, str]:
    """The fact rows not hidden, by id, with their text (empty rows must be hidden)."""
    facts = re.search(r'<dl id="facts" class="facts"( hidden)?>(.*?)</dl>', html, re.S)
    assert facts is not None, html
    if facts.group(1):
        return {}
    rows = re.findall(
        r'<div id="([a-z-]+)-row"( hidden)?><dt>[^<]*</dt><dd[^>]*>(.*?)</dd>', facts.group(2), re.S
    )
    shown = {field: text for field, hidden, text in rows if not hidden}
    assert all(shown.values()), f"an empty row is shown: {shown}"
    return shown


def _checks(html: str) -> list[tuple[str, str, str]]:
    """``#checks``: each line's ``data-check``, ``data-passed`` and text."""
    return re.findall(r'<li data-check="([a-z_]+)" data-passed="(true|false)">([^<]*)</li>', html)


def _check(client: TestClient, **fields: str) -> tuple[int, str]:
    r = client.post("/check", content=urlencode(fields), headers=FORM)
    _headers_ok(r)
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    return r.status_code, r.text


@pytest.mark.parametrize(
    "path",
    ["/v", "/check", "/static/endorse-check.js", "/static/endorse.css", "/static/nothing.js"],
)
def test_page_headers_on_pages_and_static_files(client: TestClient, path: str) -> None:
    r = client.get(path)
    _headers_ok(r)
    assert r.status_code == (404 if "nothing" in path else 200)


def test_static_files_have_their_types(client: TestClient) -> None:
    js = client.get("/static/endorse-check.js")
    assert js.headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript")
    assert client.get("/static/endorse.css").headers["content-type"].startswith("text/css")


def test_pages_load_script_and_style_from_self_only(client: TestClient) -> None:
    html = client.get("/check").text
    assert '<script type="module" src="/static/endorse-check.js"></script>' in html
    assert re.findall(r"<script[^>]*>", html) == [
        '<script type="module" src="/static/endorse-check.js">'
    ]
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html), "no inline event handlers"
    assert "style=" not in html


def test_pages_declare_an_icon_that_needs_no_request(client: TestClient) -> None:
    """Without an icon, Chromium asks for /favicon.ico (a 404 in its console); a data: URL
    is loaded without a request, and the policy's img-src allows data:."""
    for path in ("/v", "/check"):
        html = client.get(path).text
        assert re.findall(r"<link[^>]*rel=\"icon\"[^>]*>", html) == [
            '<link rel="icon" href="data:,">'
        ]
    assert "img-src 'self' data:" in CSP


def test_check_page_form_is_labelled(client: TestClient) -> None:
    html = client.get("/check").text
    assert '<form id="check-form" method="post" action="/check"' in html
    for field in ("token", "subject", "purpose"):
        assert f'<label for="{field}">' in html
    assert '<button id="check-button" type="submit">Check</button>' in html


def test_fragment_page_explains_itself_without_javascript(client: TestClient) -> None:
    html = client.get("/v").text
    assert "<noscript>" in html and 'href="/check"' in html
    assert _attr(html, "data-state") == "server"


def test_valid_token_by_path_renders_the_registrys_verdict(client: TestClient) -> None:
    alice = Endorser(client, 1).bind()
    token, _ = alice.issue(statement="Led our billing team.")
    r = client.get(f"/v/{token}")
    _headers_ok(r)
    assert r.status_code == 200
    html = r.text
    assert _attr(html, "data-verdict") == "valid"
    assert _attr(html, "data-server-verdict") == "valid"
    assert 'aria-label="Valid reference">✓' in html
    assert _text(html, "endorser") == "Alice Smith"
    assert _text(html, "subject-name") == "Bob Jones (bob@example.com)"
    # As stated by the endorser, beside the domain of their verified e-mail (spec §6.5).
    assert _text(html, "relationship") == (
        "manager · work · Acme · 2019-03 to 2023-06 (their verified e-mail is at example.com)"
    )
    assert _text(html, "purposes") == EMPLOYMENT
    assert re.fullmatch(
        rf"Alice Smith &lt;endorser1@example.com&gt;, e-mail address confirmed by this registry"
        rf" at {UTC_TIME}",
        _text(html, "identity"),
    )
    # The time of the status said once, as every time on the page is written.
    assert re.fullmatch(rf"Not revoked as of {UTC_TIME}", _text(html, "status"))
    assert re.fullmatch(rf"{UTC_TIME} to {UTC_TIME}", _text(html, "validity"))
    assert set(_rows_shown(html)) == {
        "endorser",
        "subject-name",
        "relationship",
        "purposes",
        "validity",
        "identity",
        "status",
        "contact",
        "statement",
    }
    assert _text(html, "contact") == "No: the endorser has not agreed to be contacted"
    # No candidate or purpose was given with the link: the page says neither was compared.
    assert "<li>The candidate was not compared: check that the name and e-mail in it are" in html
    assert "<li>The purpose was not compared: check that it allows what you" in html
    assert "<dt>Validity period</dt>" in html and "<dt>Valid</dt>" not in html
    checks = _checks(html)
    assert [name for name, _, _ in checks] == [
        "format",
        "signature",
        "issuer",
        "issuer_key",
        "validity",
        "status",
    ]
    assert all(passed == "true" for _, passed, _ in checks)
    assert ("status", "true", "Revocation checked with this registry: not revoked") in checks
    assert ("signature", "true", "Signature checked by this registry: genuine") in checks
    _readable(html)
    assert re.search(r'id="next-steps"[^>]*hidden', html)
    assert re.search(r'id="facts-withheld"[^>]*hidden', html)
    assert "<svg" in html.split('id="qr"', 1)[1][:400]
    assert not re.search(r'<figure id="qr"[^>]*hidden', html)
    receipt = _text(html, "receipt")
    ctx = client.app.state.context  # type: ignore[attr-defined]
    assert verify_receipt(receipt, ctx.key.public_key, ctx.registry).verdict == "valid"


def test_path_form_answers_json_when_asked(client: TestClient) -> None:
    token, _ = Endorser(client, 1).bind().issue()
    r = client.get(f"/v/{token}", headers={"accept": "application/json"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    answer = r.json()
    api = client.post("/api/v1/verify", json={"token": token}).json()
    assert answer["verdict"] == api["verdict"] == "valid"
    assert answer["claims"] == api["claims"]
    assert set(answer) == set(api)


def test_markup_in_a_statement_is_shown_as_text(client: TestClient) -> None:
    alice = Endorser(client, 1, name="<b>Alice</b>").bind()
    statement = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    token, _ = alice.issue(statement=statement)
    html = client.get(f"/v/{token}").text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in html
    assert "&lt;b&gt;Alice&lt;/b&gt;" in html


def test_post_check_valid(client: TestClient) -> None:
    token, _ = Endorser(client, 1).bind().issue()
    status, html = _check(client, token=token, subject="bob@example.com", purpose=EMPLOYMENT)
    assert status == 200
    assert _attr(html, "data-verdict") == "valid"
    assert f"{token}</textarea>" in html


def test_post_check_accepts_a_verification_link(client: TestClient) -> None:
    token, _ = Endorser(client, 1).bind().issue()
    link = f"  http://127.0.0.1:8080/v#{token}\n"
    status, html = _check(client, token=link, subject="", purpose="")
    assert status == 200
    assert _attr(html, "data-verdict") == "valid"


def test_post_check_revoked(client: TestClient) -> None:
    alice = Endorser(client, 1).bind()
    token, answer = alice.issue()
    r = alice.signed(
        "POST",
        f"/api/v1/endorsements/{answer['id']}/revoke",
        {"revocation": alice.revocation(answer["id"])},
    )
    assert r.status_code == 200, r.text
    status, html = _check(client, token=token)
    assert status == 200
    assert _attr(html, "data-verdict") == "revoked"
    assert 'aria-label="Not valid">✗' in html
    assert re.fullmatch(
        rf"Revoked: the endorser has withdrawn it, as this registry&#39;s list of {UTC_TIME}"
        " shows.",
        _text(html, "status"),
    )
    assert (
        "status",
        "false",
        "Revocation checked with this registry: revoked by the endorser",
    ) in _checks(html)
    _readable(html)
    assert "This reference could not be confirmed" in html
    assert not re.search(r'id="next-steps"[^>]*hidden', html)
    # No QR code of a reference that must not be passed on.
    assert re.search(r'<figure id="qr"[^>]*hidden', html)
    assert "<svg" not in html


@pytest.mark.parametrize(
    ("fields", "verdict"),
    [
        ({"subject": "Robert Jones"}, "subject_mismatch"),
        ({"subject": "  BOB  jones "}, "valid"),
        ({"purpose": "tenancy-reference"}, "purpose_not_allowed"),
    ],
)
def test_post_check_expectations(client: TestClient, fields: dict[str, str], verdict: str) -> None:
    token, _ = Endorser(client, 1).bind().issue(subject=BOB)
    status, html = _check(client, token=token, **fields)
    assert status == 200
    assert _attr(html, "data-verdict") == verdict
    _readable(html)
    failed = [(name, text) for name, passed, text in _checks(html) if passed == "false"]
    assert (
        failed
        == {
            "valid": [],
            "subject_mismatch": [
                ("subject", "Candidate checked by this registry: the reference names someone else")
            ],
            "purpose_not_allowed": [
                ("purpose", "Purpose checked by this registry: not agreed by the endorser")
            ],
        }[verdict]
    )


def test_expired_reference_says_when_in_words(client: TestClient, clock: Clock) -> None:
    token, _ = Endorser(client, 1).bind().issue()
    e = decode_unverified(token, Endorsement).object
    clock.now = e.expires + 3600
    status, html = _check(client, token=token)
    assert status == 200
    assert _attr(html, "data-verdict") == "expired"
    assert (
        "validity",
        "false",
        f"Dates checked by this registry: expired at {utc(e.expires)}",
    ) in _checks(html)
    assert _text(html, "validity") == f"{utc(e.not_before)} to {utc(e.expires)}"
    assert re.fullmatch(rf"Not revoked as of {UTC_TIME}", _text(html, "status"))
    _readable(html)
    assert re.search(r'<figure id="qr"[^>]*hidden', html)


def test_unknown_issuer_claims_are_labelled_unconfirmed(client: TestClient) -> None:
    stranger = Endorser(client, 2, name="Carol Unknown")  # a key never bound to an identity
    slot = {"registry": client.app.state.context.registry, "list_id": "L0", "index": 7}  # type: ignore[attr-defined]
    token = stranger.token(slot)
    status, html = _check(client, token=token)
    assert status == 200
    assert _attr(html, "data-verdict") == "unknown_issuer"
    assert _text(html, "facts-note").startswith("Signed with a key that is not linked")
    rows = _rows_shown(html)
    assert rows["endorser"] == "Unconfirmed: the reference says it is from “Carol Unknown”"
    assert rows["status"] == "Not checked: the reference failed an earlier check."
    _readable(html)


def test_tampered_token_is_bad_signature(client: TestClient) -> None:
    token, _ = Endorser(client, 1).bind().issue()
    head, payload, sig = token.split(".")
    tampered = f"{head}.{payload}.{'A' if sig[0] != 'A' else 'B'}{sig[1:]}"
    status, html = _check(client, token=tampered)
    assert status == 200
    assert _attr(html, "data-verdict") == "bad_signature"
    # The claims of a forged token are attacker text: none shown, and the page says why.
    assert _rows_shown(html) == {}
    assert "Alice Smith" not in html and "Bob Jones" not in html
    assert _text(html, "facts-withheld") == (
        "What this reference says is not shown: its signature does not match, so anyone could"
        " have written it."
    )
    assert not re.search(r'id="facts-withheld"[^>]*hidden', html)
    assert (
        "signature",
        "false",
        "Signature checked by this registry: does not match, so it was altered or forged",
    ) in _checks(html)
    _readable(html)
    assert re.search(r'<figure id="qr"[^>]*hidden', html)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"token": ""}, 400, "Paste a reference"),
        ({"token": "x" * 9000}, 400, "too long"),
        ({"token": "https://registry.example/elsewhere"}, 400, "holds no reference"),
        ({"token": "t", "subject": "s" * 257}, 400, "at most 256"),
        ({"token": "t", "purpose": "other", "purpose_other": "x-" + "p" * 63}, 400, "at most 64"),
        ({"token": "t", "purpose": "Employment reference"}, 400, "Choose the purpose in the list"),
        (
            {"token": "t", "purpose": "other", "purpose_other": "Employment reference"},
            400,
            "A purpose of your own is written like x-board-reference",
        ),
        ({"token": "t", "purpose": "other", "purpose_other": " "}, 400, "Type the purpose"),
        ({"token": "t", "other": "x"}, 400, "could not be read"),
    ],
)
def test_bad_input_is_a_readable_error(
    client: TestClient, body: dict[str, str], status: int, message: str
) -> None:
    code, html = _check(client, **body)
    assert code == status
    assert message in _text(html, "input-error")
    assert 'id="input-error" role="alert">' in html


@pytest.mark.parametrize(
    "pasted", ["<script>alert(1)</script>", "this is not a reference", "endorsement-v1.%%.!!"]
)
def test_text_that_cannot_be_a_token_is_an_input_error(client: TestClient, pasted: str) -> None:
    code, html = _check(client, token=pasted)
    assert code == 400
    assert "That is not a reference" in _text(html, "input-error")
    assert "<script>alert" not in html
    assert re.search(r'<section id="result"[^>]*hidden', html, re.S)


def test_token_shaped_garbage_is_malformed(client: TestClient) -> None:
    code, html = _check(client, token="endorsement-v1.e30.AAAA")
    assert code == 200
    assert _attr(html, "data-verdict") == "malformed"
    assert 'aria-label="Not valid">✗' in html
    assert _rows_shown(html) == {}
    assert _text(html, "facts-withheld") == (
        "What this reference says is not shown: it could not be read."
    )
    assert _checks(html) == [
        (
            "format",
            "false",
            "Reference read by this registry: damaged, incomplete or not a reference",
        )
    ]
    _readable(html)


def test_oversized_form_is_a_page_not_a_problem(client: TestClient) -> None:
    r = client.post("/check", content=b"token=" + b"x" * 70_000, headers=FORM)
    _headers_ok(r)
    assert r.status_code == 413
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "too large" in _text(r.text, "input-error")


def test_check_form_refuses_json(client: TestClient) -> None:
    r = client.post("/check", json={"token": "t"})
    assert r.status_code == 415
    assert "could not be read" in _text(r.text, "input-error")


def test_non_utf8_form_is_refused(client: TestClient) -> None:
    r = client.post("/check", content=b"token=%ff%fe", headers=FORM)
    assert r.status_code == 400
    assert "could not be read" in _text(r.text, "input-error")


def test_oversized_path_token_is_refused_as_a_page(client: TestClient) -> None:
    r = client.get("/v/" + "A" * 9000)
    _headers_ok(r)
    assert r.status_code == 400
    assert "too long" in _text(r.text, "input-error")


@pytest.mark.parametrize("path", ["/v/", "/v/a/b", "/v/endorsement-v1.e30/AAAA"])
def test_a_damaged_link_is_a_page_saying_so(client: TestClient, path: str) -> None:
    """Not a problem document for a recruiter, and no redirect built from the Host header."""
    r = client.get(path, follow_redirects=False)
    _headers_ok(r)
    assert r.status_code == 404
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "This link is damaged" in _text(r.text, "input-error")


@pytest.mark.parametrize("length", [8705, 12_000])
def test_path_form_json_answers_as_post_verify_at_any_length(
    client: TestClient, length: int
) -> None:
    """Spec §11.1.3: the same answer as POST /api/v1/verify, past the paste box's limit too
    (it used to be 400 there, where POST answers ``malformed`` with a receipt)."""
    token = "endorsement-v1." + "A" * (length - 15)
    by_path = client.get(f"/v/{token}", headers={"accept": "application/json"})
    by_post = client.post("/api/v1/verify", json={"token": token})
    assert by_path.status_code == by_post.status_code == 200
    a, b = by_path.json(), by_post.json()
    assert a["verdict"] == b["verdict"] == "malformed"
    assert set(a) == set(b) and a["checks"] == b["checks"]
    ctx = client.app.state.context  # type: ignore[attr-defined]
    assert verify_receipt(a["receipt"], ctx.key.public_key, ctx.registry).verdict == "malformed"


@pytest.fixture
def no_qr_cache() -> Iterator[None]:
    """QR codes are cached per process: each test that counts drawings starts empty."""
    pages._QR_CACHE.clear()
    yield
    pages._QR_CACHE.clear()


def test_qr_of_a_verification_url(client: TestClient, no_qr_cache: None) -> None:
    token, _ = Endorser(client, 1).bind().issue()
    r = client.post("/api/v1/qr", json={"token": token})
    _headers_ok(r)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/svg+xml"
    assert r.text.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in r.text
    bad = client.post("/api/v1/qr", json={"token": "not a token"})
    assert bad.status_code == 422


def test_qr_only_for_a_reference_valid_here(client: TestClient, no_qr_cache: None) -> None:
    """A readable but unsigned or unregistered token is no reason to draw (CPU) a QR code."""
    alice = Endorser(client, 1).bind()
    token, _ = alice.issue()
    head, payload, sig = token.split(".")
    forged = f"{head}.{payload}.{'A' if sig[0] != 'A' else 'B'}{sig[1:]}"
    stranger = Endorser(client, 2).token({"registry": REGISTRY, "list_id": "L0", "index": 1})
    for other, verdict in ((forged, "bad_signature"), (stranger, "unknown_issuer")):
        r = client.post("/api/v1/qr", json={"token": other})
        assert r.status_code == 422, r.text
        assert r.json()["type"].endswith("not-valid")
        assert verdict in r.json()["detail"]
    assert len(pages._QR_CACHE) == 0


def test_an_audience_bound_reference_is_valid_and_drawn_for_its_audience(
    client: TestClient, no_qr_cache: None
) -> None:
    """A reference given for a named recipient (§6.3 step 8d): the check form and the QR
    endpoint take the recipient's audience, so the recruiter it was given for sees ✓ and
    gets its QR code; anyone else, or no audience, is audience_mismatch and no QR code."""
    token, _ = Endorser(client, 1).bind().issue(audience="hiring@globex.example")
    for audience, status in ((None, 422), ("someone@else.example", 422)):
        body = {"token": token} if audience is None else {"token": token, "audience": audience}
        r = client.post("/api/v1/qr", json=body)
        assert r.status_code == status, r.text
        assert r.json()["type"].endswith("not-valid")
        assert "audience_mismatch" in r.json()["detail"]
    r = client.post("/api/v1/qr", json={"token": token, "audience": "hiring@globex.example"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/svg+xml"
    too_long = client.post("/api/v1/qr", json={"token": token, "audience": "a" * 257})
    assert too_long.status_code == 422
    for audience, verdict in (
        ("", "audience_mismatch"),
        ("someone@else.example", "audience_mismatch"),
        ("  hiring@globex.example ", "valid"),
    ):
        html = client.post(
            "/check", content=urlencode({"token": token, "audience": audience}), headers=FORM
        ).text
        assert _attr(html, "data-verdict") == verdict, audience
    assert 'value="  hiring@globex.example "' in html  # the form again, as typed
    long = client.post(
        "/check", content=urlencode({"token": token, "audience": "a" * 257}), headers=FORM
    )
    assert long.status_code == 400
    assert "at most 256 characters" in _text(long.text, "input-error")
    # The verification page offers the field for the script to fill in (it shows it only
    # for a token with aud).
    page = client.get("/v").text
    assert '<form id="audience-form" hidden' in page and 'id="audience"' in page


def test_qr_is_drawn_off_the_event_loop(
    client: TestClient, no_qr_cache: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn_on_loop: list[bool] = []
    draw = pages.qr_svg

    def recording(url: str, *, inline: bool) -> str | None:
        try:
            asyncio.get_running_loop()
            drawn_on_loop.append(True)
        except RuntimeError:
            drawn_on_loop.append(False)
        return draw(url, inline=inline)

    monkeypatch.setattr(pages, "qr_svg", recording)
    token, _ = Endorser(client, 1).bind().issue()
    assert client.post("/api/v1/qr", json={"token": token}).status_code == 200
    assert "<svg" in client.get(f"/v/{token}").text
    assert drawn_on_loop == [False, False]  # the endpoint's standalone SVG, the page's inline


def test_qr_has_its_own_rate_limit_and_cache(
    settings: Settings, clock: Clock, no_qr_cache: None
) -> None:
    limited = settings.model_copy(update={"limit_qr_per_client": 2})
    with TestClient(create_app(limited, clock=clock), base_url=REGISTRY) as c:
        alice = Endorser(c, 1).bind()
        first, second, third = (alice.issue()[0] for _ in range(3))
        assert c.post("/api/v1/qr", json={"token": first}).status_code == 200
        assert c.post("/api/v1/qr", json={"token": second}).status_code == 200
        r = c.post("/api/v1/qr", json={"token": third})
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) > 0
        # One drawn before comes from the cache, uncounted.
        assert c.post("/api/v1/qr", json={"token": first}).status_code == 200
        # The page still answers over the QR limit, saying why it has no QR code.
        html = c.get(f"/v/{third}").text
        assert _attr(html, "data-verdict") == "valid"
        assert _text(html, "qr-caption") == pages.QR_BUSY
        assert "<svg" not in html
        # Verifications are not QR drawings: the verification limit is untouched.
        assert c.post("/api/v1/verify", json={"token": third}).status_code == 200


def test_qr_counts_its_verification_even_when_the_drawing_is_cached(
    settings: Settings, clock: Clock, no_qr_cache: None
) -> None:
    """A cached drawing skips the QR limit, not the verification limit: otherwise the QR
    endpoint would be an unlimited verification service."""
    limited = settings.model_copy(update={"limit_verify_per_client": 4, "limit_qr_per_client": 100})
    with TestClient(create_app(limited, clock=clock), base_url=REGISTRY) as c:
        token, _ = Endorser(c, 1).bind().issue()
        codes = [c.post("/api/v1/qr", json={"token": token}).status_code for _ in range(6)]
        assert codes == [200, 200, 200, 200, 429, 429]
        assert c.post("/api/v1/verify", json={"token": token}).status_code == 429


def test_statements_count_as_three_verifications(settings: Settings, clock: Clock) -> None:
    limited = settings.model_copy(update={"limit_verify_per_client": 6})
    with TestClient(create_app(limited, clock=clock), base_url=REGISTRY) as c:
        token, _ = Endorser(c, 1).bind().issue()
        codes = [c.post("/api/v1/statements", json={"token": token}).status_code for _ in range(3)]
        assert codes == [200, 200, 429]


def test_registry_description_is_not_stored_by_caches(client: TestClient) -> None:
    """The page takes the registry's time from this answer's Date (spec §11.3): a cached
    copy would give a time from the past."""
    assert client.get("/.well-known/endorse-registry").headers["cache-control"] == "no-store"


def test_qr_limit_is_a_documented_setting() -> None:
    assert "limit_qr_per_client" in Settings.model_fields
    source = Path(settings_module.__file__).read_text()
    assert "QR codes a client may have drawn per window" in source


def test_statements_for_the_page_come_in_a_post_answer(client: TestClient) -> None:
    """The page's script gets the registry's statements with the token in a body, so no
    request line names the endorser's key or the token (spec §11.2)."""
    alice = Endorser(client, 1).bind()
    token, answer = alice.issue()
    ctx = client.app.state.context  # type: ignore[attr-defined]
    r = client.post("/api/v1/statements", json={"token": token})
    assert r.status_code == 200, r.text
    got = r.json()
    assert set(got) == {"key_binding", "key_revocation", "registration", "status_list"}
    binding = verify_key_binding(got["key_binding"], ctx.key.public_key, ctx.registry)
    assert binding.key == alice.did
    assert got["key_revocation"] is None
    assert got["registration"] == answer["registration"]
    e = decode_unverified(token, Endorsement).object
    assert e.status is not None
    status = verify_status_list(got["status_list"], ctx.key.public_key, ctx.registry)
    assert status.list_id == e.status.list_id
    # A stranger's key: nothing signed about it, and no error.
    stranger = Endorser(client, 2).token({"registry": REGISTRY, "list_id": "L0", "index": 3})
    none = client.post("/api/v1/statements", json={"token": stranger}).json()
    assert none["key_binding"] is None and none["registration"] is None
    bad = client.post("/api/v1/statements", json={"token": "endorsement-v1.e30.AAAA"})
    assert bad.status_code == 400
    assert client.post("/api/v1/statements", json={"token": token, "x": 1}).status_code == 422
    assert "/api/v1/statements" in client.get("/openapi.json").json()["paths"]


def test_the_page_asks_for_nothing_by_a_url_that_names_the_reference() -> None:
    """The script fetches the registry's statements by POST, not from the GET endpoints
    whose paths hold the endorser's key or the token hash."""
    script = (Path(pages.__file__).parent / "static" / "endorse-check.js").read_text()
    assert "/api/v1/identities/" not in script
    assert "/api/v1/registrations/" not in script
    assert "/api/v1/status-lists/" not in script
    assert '"/api/v1/statements"' in script


def test_the_script_words_every_verdict_as_the_protocol_does() -> None:
    """The page's script shows a sentence itself when the registry could not answer: each
    one is the protocol's (spec §6.2), a refusal's scope verdicts the refusal's (§6.4)."""
    from endorse.protocol.verdicts import REFUSAL_SENTENCES, SENTENCES

    script = (Path(pages.__file__).parent / "static" / "endorse-check.js").read_text()

    def table(name: str) -> dict[str, str]:
        body = re.search(rf"const {name} = \{{\n(.*?)\n\}};", script, re.S)
        assert body is not None, name
        return dict(re.findall(r'^  (\w+): "([^"]*)",$', body.group(1), re.M))

    words = table("SENTENCES")
    for verdict, sentence in SENTENCES.items():
        if verdict.value != "refused":  # the script names no referee it has not verified
            assert words[verdict.value] == sentence, verdict
    assert table("REFUSAL_SENTENCES") == {v.value: t for v, t in REFUSAL_SENTENCES.items()}


@pytest.mark.parametrize("path", ["/v", "/check"])
def test_head_answers_like_get_without_a_body(client: TestClient, path: str) -> None:
    r = client.head(path)
    _headers_ok(r)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.content == b""


def test_pages_over_the_rate_limit_say_the_registry_is_busy(
    settings: Settings, clock: Clock
) -> None:
    limited = settings.model_copy(update={"limit_verify_per_client": 1})
    with TestClient(create_app(limited, clock=clock), base_url=REGISTRY) as c:
        assert c.post("/api/v1/verify", json={"token": "t"}).status_code == 200
        r = c.post(
            "/check",
            content=urlencode({"token": "endorsement-v1.e30.AAAA", "subject": "Bob"}),
            headers=FORM,
        )
        _headers_ok(r)
        assert r.status_code == 429
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        assert int(r.headers["retry-after"]) > 0
        assert _text(r.text, "input-error") == "The registry is busy: try again in a minute."
        assert "endorsement-v1.e30.AAAA</textarea>" in r.text
        assert 'value="Bob"' in r.text
        r = c.get("/v/endorsement-v1.e30.AAAA")
        assert r.status_code == 429
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        assert "registry is busy" in _text(r.text, "input-error")


def test_input_error_keeps_what_was_pasted_escaped(client: TestClient) -> None:
    pasted = "<b>my reference</b> & more"
    code, html = _check(
        client, token=pasted, subject="<i>Bob</i>", purpose="other", purpose_other="x-Board"
    )
    assert code == 400
    assert "&lt;b&gt;my reference&lt;/b&gt; &amp; more</textarea>" in html
    assert 'value="&lt;i&gt;Bob&lt;/i&gt;"' in html
    assert 'value="x-Board"' in html
    assert '<option value="other" selected>' in html
    assert "<b>my reference" not in html and "<i>Bob" not in html


def test_purpose_is_chosen_from_the_protocols_purposes(client: TestClient) -> None:
    html = client.get("/check").text
    select = html.split('<select id="purpose" name="purpose"', 1)[1].split("</select>", 1)[0]
    values = re.findall(r'<option value="([^"]*)"', select)
    assert values == ["", *sorted(PURPOSES), "other"]
    assert '<input id="purpose-other" name="purpose_other"' in html
    token, _ = Endorser(client, 1).bind().issue()
    status, page = _check(client, token=token, purpose="other", purpose_other="x-board-reference")
    assert status == 200
    assert _attr(page, "data-verdict") == "purpose_not_allowed"
    assert '<option value="other" selected>' in page
    status, page = _check(client, token=token, purpose=EMPLOYMENT)
    assert _attr(page, "data-verdict") == "valid"
    assert f'<option value="{EMPLOYMENT}" selected>' in page


def test_receipt_hint_says_what_the_receipt_proves(client: TestClient) -> None:
    token, _ = Endorser(client, 1).bind().issue()
    html = client.get(f"/v/{token}").text
    hint = _text(html, "receipt-hint")
    assert "which reference" in hint and "verdict" in hint and "when" in hint
    assert "does not record the candidate or purpose" in hint
    assert "hiring file" not in html


def test_footer_is_true_without_javascript(client: TestClient) -> None:
    html = client.get("/check").text
    assert "Signatures are also checked by your browser" not in html
    assert "with JavaScript on, your browser checks the signatures too" in html


def test_pages_set_no_cookies_and_are_not_cached(client: TestClient) -> None:
    token, _ = Endorser(client, 1).bind().issue()
    r = client.get(f"/v/{token}")
    assert r.headers["cache-control"] == "no-store"
    assert not client.cookies


def test_api_keeps_its_own_headers(settings: Settings, clock: Clock) -> None:
    with TestClient(create_app(settings, clock=clock)) as c:
        r = c.get("/healthz")
    assert "content-security-policy" not in r.headers


# --- claimed references: refusals and the requester's page (spec §11.4) ----------------------


def _refusal(client: TestClient, alice: Endorser, **extra: Any) -> str:
    now = context(client).clock()
    return sign_refusal(alice.key, alice.name, BOB, now=now, **extra)


def _refusal_rows(html: str) -> dict[str, str]:
    """The refusal's rows not hidden, by id, with their text."""
    facts = re.search(r'<dl id="refusal-facts" class="facts"( hidden)?>(.*?)</dl>', html, re.S)
    assert facts is not None, html
    if facts.group(1):
        return {}
    rows = re.findall(
        r'<div id="([a-z-]+)-row"( hidden)?><dt>[^<]*</dt><dd[^>]*>(.*?)</dd>', facts.group(2), re.S
    )
    shown = {field: text for field, hidden, text in rows if not hidden}
    assert all(shown.values()), f"an empty row is shown: {shown}"
    return shown


def _hidden(html: str, element_id: str) -> bool:
    match = re.search(rf'<[a-z0-9]+ id="{element_id}"[^>]*>', html)
    assert match is not None, f"#{element_id} missing"
    return " hidden" in match.group(0)


SENTENCE = "Alice Smith states that they do not give a reference for Bob Jones"


def test_refusal_by_path_is_a_signed_refusal_never_a_forgery(client: TestClient) -> None:
    alice = Endorser(client, 1).bind()
    token = _refusal(client, alice, purpose=EMPLOYMENT, reason="not_known")
    r = client.get(f"/v/{token}")
    _headers_ok(r)
    assert r.status_code == 200
    html = r.text
    assert _attr(html, "data-verdict") == _attr(html, "data-server-verdict") == "refused"
    assert 'aria-label="A refusal, not a reference">✗' in html
    assert _text(html, "verdict-sentence") == f"{SENTENCE} for {EMPLOYMENT}."
    rows = _refusal_rows(html)
    assert rows["refusal-referee"] == "Alice Smith"
    assert rows["refusal-subject"] == "Bob Jones (bob@example.com)"
    assert rows["refusal-purpose"] == EMPLOYMENT
    assert re.fullmatch(rf"{UTC_TIME} to {UTC_TIME}", rows["refusal-validity"])
    assert re.fullmatch(
        rf"Alice Smith &lt;endorser1@example.com&gt;, e-mail address confirmed by this registry"
        rf" at {UTC_TIME}",
        rows["refusal-identity"],
    )
    assert rows["refusal-kind"] == "Made in advance, for anyone who asks"
    assert _rows_shown(html) == {}  # the endorsement's rows stay hidden
    assert not _hidden(html, "refusal-note")
    assert _hidden(html, "next-steps") and _hidden(html, "facts-withheld")
    # What the reader sees (the hidden advice for references that failed left out) never
    # calls a refusal forged, altered or unconfirmed, nor says its reason.
    shown = _shown(re.sub(r'<div id="next-steps".*?</div>', "", html, flags=re.S))
    for word in ("forged", "altered", "could not be confirmed", "not_known", "does not know"):
        assert word not in shown, (word, shown)
    assert "<svg" not in html.split('id="qr"', 1)[1][:400]
    assert re.search(r'<figure id="qr"[^>]*hidden', html)
    checks = _checks(html)
    assert all(passed == "true" for _, passed, _ in checks), checks
    assert (
        "issuer",
        "true",
        "Referee&#39;s identity checked with this registry: e-mail address confirmed",
    ) in checks
    _readable(html)
    ctx = context(client)
    assert (
        verify_receipt(_text(html, "receipt"), ctx.key.public_key, ctx.registry).verdict
        == "refused"
    )


def test_refusal_by_path_answers_json_as_post_verify(client: TestClient) -> None:
    alice = Endorser(client, 1).bind()
    token = _refusal(client, alice, request="A" * 22)
    r = client.get(f"/v/{token}", headers={"accept": "application/json"})
    assert r.status_code == 200
    answer = r.json()
    api = client.post("/api/v1/verify", json={"token": token}).json()
    assert answer["verdict"] == api["verdict"] == "refused"
    assert answer["message"] == f"{SENTENCE}."
    assert answer["claims"] == api["claims"]
    assert answer["claims"]["type"] == "refusal" and answer["claims"]["req"] == "A" * 22
    assert answer["issuer"]["email"] == "endorser1@example.com"
    assert set(answer) == set(api)
    ctx = context(client)
    assert verify_receipt(answer["receipt"], ctx.key.public_key, ctx.registry).verdict == "refused"
    batch = client.post("/api/v1/verify/batch", json={"items": [{"token": token}]}).json()
    assert batch["results"][0]["verdict"] == "refused"
    assert batch["results"][0]["claims"] == api["claims"]
    html = client.get(f"/v/{token}").text
    assert (
        _refusal_rows(html)["refusal-kind"] == "An answer to a request made through this registry"
    )


@pytest.mark.parametrize(
    ("fields", "verdict"),
    [
        ({"subject": "bob@example.com", "purpose": EMPLOYMENT}, "refused"),
        ({"subject": "Bob Jones", "purpose": ""}, "refused"),
        ({"subject": "carol@example.com", "purpose": ""}, "subject_mismatch"),
        ({"subject": "", "purpose": "tenancy-reference"}, "purpose_not_allowed"),
    ],
)
def test_post_check_with_a_refusal(
    client: TestClient, fields: dict[str, str], verdict: str
) -> None:
    alice = Endorser(client, 1).bind()
    token = _refusal(client, alice, purpose=EMPLOYMENT)
    status, html = _check(client, token=token, **fields)
    assert status == 200
    assert _attr(html, "data-verdict") == verdict
    # Genuine whatever the expectations: its members are shown as the refusal's.
    assert _refusal_rows(html)["refusal-referee"] == "Alice Smith"
    assert _hidden(html, "refusal-note") is (verdict != "refused")


def test_tampered_refusal_is_bad_signature_and_withheld(client: TestClient) -> None:
    alice = Endorser(client, 1).bind()
    token = _refusal(client, alice)
    forged = token[:-4] + "AAAA"
    html = client.get(f"/v/{forged}").text
    assert _attr(html, "data-verdict") == "bad_signature"
    assert 'aria-label="Not valid">✗' in html
    assert _refusal_rows(html) == {} and _rows_shown(html) == {}
    assert not _hidden(html, "facts-withheld") and _hidden(html, "refusal-note")
    assert "Bob Jones" not in _shown(html)


def test_refusal_of_an_unbound_key_is_unconfirmed(client: TestClient) -> None:
    stranger = Endorser(client, 2, name="Mallory")
    token = _refusal(client, stranger)
    html = client.get(f"/v/{token}").text
    assert _attr(html, "data-verdict") == "unknown_issuer"
    rows = _refusal_rows(html)
    assert rows["refusal-referee"] == "Unconfirmed: the refusal says it is from “Mallory”"
    assert rows["refusal-identity"].startswith("Not linked to a verified identity")
    assert "refusal claims, unconfirmed" in _text(html, "facts-note")
    assert _hidden(html, "refusal-note")


def test_markup_in_a_refusal_is_shown_as_text(client: TestClient) -> None:
    alice = Endorser(client, 1, name="<b>Alice</b>").bind()
    now = context(client).clock()
    subject = Subject('"><img src=x onerror=alert(1)>', email="bob@example.com")
    token = sign_refusal(alice.key, "<script>alert(2)</script>", subject, now=now)
    html = client.get(f"/v/{token}").text
    assert _attr(html, "data-verdict") == "refused"
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in _text(html, "verdict-sentence")
    assert "&lt;b&gt;Alice&lt;/b&gt;" in _refusal_rows(html)["refusal-referee"]


def test_statements_of_a_refusal_or_policy_are_the_signers_only(client: TestClient) -> None:
    alice = Endorser(client, 1).bind()
    ctx = context(client)
    for token in (
        _refusal(client, alice),
        sign_policy(alice.key, alice.name, now=ctx.clock(), notify=True),
    ):
        got = client.post("/api/v1/statements", json={"token": token}).json()
        binding = verify_key_binding(got["key_binding"], ctx.key.public_key, ctx.registry)
        assert binding.key == alice.did
        assert got["key_revocation"] is None
        assert got["registration"] is None and got["status_list"] is None
    bad = client.post("/api/v1/statements", json={"token": "refusal-v1.e30.AAAA"})
    assert bad.status_code == 400


def test_requester_page_is_a_page_of_its_own(client: TestClient) -> None:
    r = client.get("/r")
    _headers_ok(r)
    assert r.status_code == 200
    html = r.text
    # The tokens are in the fragment: the server renders only the page, which says so.
    assert "<noscript>" in html and "never sent to the registry" in html
    section = re.search(r'<section id="request"[^>]*>', html)
    assert section is not None and 'data-state="server"' in section.group(0)
    assert re.search(r'<section id="answer"[^>]*hidden', html)
    assert '<script type="module" src="/static/endorse-check.js"></script>' in html
    head = client.head("/r")
    _headers_ok(head)
    assert head.status_code == 200 and head.content == b""
    # Nothing else under /r is a page.
    assert client.get("/r/anything").status_code == 404


def test_refusal_of_a_revoked_key_counts_for_nothing(client: TestClient) -> None:
    """A refusal is never registered, so once its referee revoked the key no refusal signed
    with it counts, whatever its date (spec §6.4 step 5)."""
    alice = Endorser(client, 1).bind()
    token = _refusal(client, alice)
    now = context(client).clock()
    revocation = sign(
        KeyRevocation(key=alice.did, revoked_from=now, by=alice.did, issued_at=now), alice.key
    )
    r = alice.signed("POST", f"/api/v1/identities/{alice.did}/revoke", {"revocation": revocation})
    assert r.status_code == 200, r.text
    html = client.get(f"/v/{token}").text
    assert _attr(html, "data-verdict") == "issuer_key_revoked"
    assert 'aria-label="Not valid">✗' in html
    assert _hidden(html, "refusal-note")
    assert "the referee revoked this key" in _refusal_rows(html)["refusal-identity"]
    statements = client.post("/api/v1/statements", json={"token": token}).json()
    assert statements["key_revocation"] == revocation


# --- a pasted endorsement credential (spec §13) -------------------------------------------


def _credential(alice: Endorser, token: str) -> dict[str, Any]:
    """What ``endorse export TOKEN --vc`` writes for ``token``."""
    return endorsement_credential(decode_unverified(token, Endorsement).object, alice.key)


def _pasted(credential: object) -> str:
    return json.dumps(credential, indent=2, ensure_ascii=False) + "\n"


def test_pasted_credential_is_verified_by_the_registry(client: TestClient) -> None:
    alice = Endorser(client, 1).bind()
    token, _ = alice.issue(statement="<script>alert(1)</script> & more")
    status, html = _check(
        client, token=_pasted(_credential(alice, token)), subject="bob@example.com"
    )
    assert status == 200
    assert _attr(html, "data-verdict") == "valid"
    assert 'aria-label="Valid reference">✓' in html
    assert _text(html, "verdict-sentence") == Verdict.VALID.sentence
    assert _text(html, "endorser") == "Alice Smith"
    assert _text(html, "statement") == "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"
    assert "<script>alert(1)" not in html
    checked = _checks(html)
    assert [c[0] for c in checked] == [
        "format",
        "signature",
        "issuer",
        "issuer_key",
        "validity",
        "subject",
        "status",
    ]
    assert all(passed == "true" for _, passed, _ in checked)
    assert "checked by this registry only" in html
    # No receipt for a credential (a receipt's th is a token hash, spec §4.9), and why.
    assert _text(html, "receipt-missing") == html_escape(pages.NO_CREDENTIAL_RECEIPT)
    assert re.search(r'<div id="receipt-section"[^>]*hidden', html)
    assert _text(html, "receipt") == ""
    _readable(html)


def test_pasted_credential_answers_json_when_asked(client: TestClient) -> None:
    alice = Endorser(client, 1).bind()
    token, _ = alice.issue()
    r = client.post(
        "/check",
        content=urlencode({"token": _pasted(_credential(alice, token))}),
        headers={**FORM, "accept": "application/json"},
    )
    assert r.status_code == 200
    answer = r.json()
    assert answer["verdict"] == "valid"
    assert answer["receipt"] is None
    assert answer["issuer"]["key"] == alice.did
    assert answer["claims"]["subjectName"] == "Bob Jones"


def test_pasted_credential_revoked_after_revoke(client: TestClient) -> None:
    alice = Endorser(client, 1).bind()
    token, answer = alice.issue()
    pasted = _pasted(_credential(alice, token))
    assert _attr(_check(client, token=pasted)[1], "data-verdict") == "valid"
    r = alice.signed(
        "POST",
        f"/api/v1/endorsements/{answer['id']}/revoke",
        {"revocation": alice.revocation(answer["id"])},
    )
    assert r.status_code == 200, r.text
    status, html = _check(client, token=pasted)
    assert status == 200
    assert _attr(html, "data-verdict") == "revoked"
    assert _text(html, "verdict-sentence") == Verdict.REVOKED.sentence
    assert (
        "status",
        "false",
        "Revocation checked with this registry: revoked by the endorser",
    ) in _checks(html)


def test_pasted_credential_tampered_is_bad_signature(client: TestClient) -> None:
    alice = Endorser(client, 1).bind()
    token, _ = alice.issue()
    credential = _credential(alice, token)
    credential["credentialSubject"]["subjectName"] = "Mallory Jones"
    status, html = _check(client, token=_pasted(credential))
    assert status == 200
    assert _attr(html, "data-verdict") == "bad_signature"
    assert "Mallory" not in _shown(html)
    assert re.search(r'<dl id="facts"[^>]*hidden', html)
    assert _text(html, "facts-withheld") == html_escape(
        pages.CREDENTIAL_WITHHELD[Verdict.BAD_SIGNATURE]
    )


def test_pasted_credential_with_an_undefined_term_is_malformed(client: TestClient) -> None:
    alice = Endorser(client, 1).bind()
    token, _ = alice.issue()
    credential = _credential(alice, token)
    credential["credentialSubject"]["<b>salary</b>"] = "high"
    status, html = _check(client, token=_pasted(credential))
    assert status == 200
    assert _attr(html, "data-verdict") == "malformed"
    assert "<b>salary" not in html
    assert _checks(html)[0][:2] == ("format", "false")


def test_pasted_credential_of_an_unbound_key_is_unknown_issuer(client: TestClient) -> None:
    alice = Endorser(client, 1).bind()
    slot = alice.slot()
    stranger = Endorser(client, 2)
    credential = _credential(stranger, stranger.token(slot))
    status, html = _check(client, token=_pasted(credential))
    assert status == 200
    assert _attr(html, "data-verdict") == "unknown_issuer"
    assert "Unconfirmed: the credential says it is from" in html


@pytest.mark.parametrize(
    ("pasted", "said"),
    [
        ('{"a": "' + "x" * (16 * 1024) + '"}', "too large to be a credential"),
        ('{"type": ["VerifiableCredential", "EndorsementCredential"],', "not valid JSON"),
        ("{}", "not an endorsement credential"),
        ('{"type": "EndorsementCredential"}', "not an endorsement credential"),
    ],
)
def test_pasted_json_that_cannot_be_checked_is_an_input_error(
    client: TestClient, pasted: str, said: str
) -> None:
    status, html = _check(client, token=pasted)
    assert status == 400
    assert said in html
    assert re.search(r'<section id="result"[^>]*hidden', html)
