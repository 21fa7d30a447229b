"""``endorse inspect|verify``: decoding a token, and verifying references."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import shlex
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from endorse.client import _clock
from endorse.client.cli._input import (
    STDIN,
    TOKEN_OR_URL_HELP,
    read_token,
)
from endorse.client.cli._output import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    EXIT_VERDICT,
    JsonOption,
    echo,
    echo_err,
    fail,
    iso,
    iso_times,
    json_aware,
    json_document,
    kind_of,
    reported,
    usage_error,
    verdict_exit,
    when,
)
from endorse.client.cli._problems import explain
from endorse.client.cli._registry import (
    DEFAULT_TIMEOUT,
    RegistryKeyOption,
    RegistryOption,
    TimeoutOption,
    connected,
    other_registry,
    registry_choice,
    registry_for,
)
from endorse.client.client import Client
from endorse.client.config import RegistryChoice
from endorse.client.errors import RegistryError, RegistryStatementInvalid, RegistryUnreachable
from endorse.client.models import OnlineResult
from endorse.client.share import (
    check_challenge,
    check_presentation,
    new_challenge,
    registry_of,
    short_link_in,
    token_from_url,
)
from endorse.protocol import Refusal, verify_refusal
from endorse.protocol.errors import EndorseError
from endorse.protocol.findings import NOT_CHECKED_SENTENCES, Findings, findings, findings_of
from endorse.protocol.objects import (
    Endorsement,
    check_purpose,
)
from endorse.protocol.paste import ShortLinkPaste, UnreadablePaste, read_paste
from endorse.protocol.token import decode_unverified
from endorse.protocol.token import inspect as inspect_token
from endorse.protocol.trust import TrustedIssuer
from endorse.protocol.verdicts import Verdict
from endorse.protocol.verify import VerificationResult, verify_endorsement

# --- endorse inspect -----------------------------------------------------------------------

_TOKEN_HELP = "The token, or - to read it from stdin."  # noqa: S105 - help text


@json_aware
def inspect_command(
    token: Annotated[str, typer.Argument(help=_TOKEN_HELP, metavar="TOKEN")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Decode a token of any type WITHOUT checking its signature."""
    text = read_token(token)
    try:
        decoded = inspect_token(text)
    except EndorseError as e:
        if as_json:
            doc = {"verified": False, "type": None, "payload": None}
            echo(json_document({**doc, "verdict": Verdict.MALFORMED.value, "detail": str(e)}))
        else:
            echo(f"✗ {Verdict.MALFORMED.value} — {Verdict.MALFORMED.sentence}")
            echo(f"  detail        {e}")
        raise typer.Exit(EXIT_USAGE) from None
    payload = json.loads(decoded.payload)
    if as_json:
        echo(json_document({"verified": False, "type": decoded.object.TYPE, "payload": payload}))
        return
    echo_err(f"UNVERIFIED — signature not checked ({decoded.object.TYPE} token)")
    echo(json_document(payload))


# --- endorse verify ------------------------------------------------------------------------

REFUSAL_PREFIX = Refusal.TYPE + "-v1."


_CHECK_TIME = re.compile(r"\b(list of|not before|expired at) ([0-9]{1,12})\b")
"""The times a check's detail names in Unix seconds (the protocol's words, spec §6.3)."""


def readable(detail: str) -> str:
    """A check's detail with its times in ISO 8601 UTC ("revoked (list of 2026-…Z)")."""
    return _CHECK_TIME.sub(lambda m: f"{m[1]} {when(int(m[2]))}", detail)


_NOT_VOUCHED = (Verdict.UNKNOWN_ISSUER, Verdict.STATUS_UNAVAILABLE)
"""What a registry answers for a reference of another registry: it knows neither its
endorser nor its status list."""

MAX_FILE_BYTES = 64 * 1024 * 1024
"""The largest file of tokens ``verify --file`` reads (about 30,000 tokens of 2 KiB)."""
BATCH = 2000
"""Tokens per ``verify_many`` call in ``verify --file``: the progress bar's step (the
client's caches are shared across calls, so each fact is still fetched once), and enough
chunks for every core (``verify_many`` spreads a batch over the machine's cores)."""


@json_aware
def verify_command(
    token: Annotated[
        str | None,
        typer.Argument(help=TOKEN_OR_URL_HELP, metavar="TOKEN_OR_URL", show_default=False),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            "-f",
            metavar="FILE",
            help="Verify every token, link or short link in FILE (one a line; blank and #"
            " lines skipped; - reads stdin): one line each. A short link is opened at the"
            " registry (one of another registry, or one that does not open, is that line's"
            " error).",
        ),
    ] = None,
    subject: Annotated[
        str | None,
        typer.Option(
            "--subject", metavar="WHO", help="Who presents it: their name, e-mail or handle."
        ),
    ] = None,
    purpose: Annotated[
        str | None,
        typer.Option("--purpose", metavar="PURPOSE", help="What you will use the reference for."),
    ] = None,
    audience: Annotated[
        str | None,
        typer.Option("--audience", metavar="AUDIENCE", help="Your own audience identifier."),
    ] = None,
    presentation: Annotated[
        str | None,
        typer.Option(
            "--presentation",
            metavar="TOKEN",
            help="The subject's holder-binding proof (endorse present) over --nonce.",
        ),
    ] = None,
    nonce: Annotated[
        str | None,
        typer.Option("--nonce", metavar="NONCE", help="The nonce you gave the subject."),
    ] = None,
    challenge: Annotated[
        bool,
        typer.Option(
            "--challenge",
            help="Make a fresh challenge (nonce) for the candidate to answer with endorse"
            " present, and print what to do with it; verifies nothing.",
        ),
    ] = False,
    online: Annotated[
        bool,
        typer.Option(
            "--online", help="Ask the registry's verification API and check its signed receipt."
        ),
    ] = False,
    issuer: Annotated[
        str | None,
        typer.Option(
            "--issuer",
            metavar="DID",
            help="Verify offline against this endorser key alone (no registry: revocation"
            " is not checked).",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            metavar="N",
            help="With --file: cores to check signatures on (default: all; 1: no subprocess).",
            show_default=False,
        ),
    ] = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
) -> None:
    """Verify a reference: the signature, the scope you give, the issuer's verified identity
    and whether it was withdrawn (offline-first: the registry is asked for facts only).

    A refusal token (a referee's signed "I do not give a reference for …") is verified the
    same way; a genuine one is shown as ✗ refused with its sentence, and exits 1."""
    if challenge:
        _print_challenge(token, as_json)
        return
    if (presentation is None) != (nonce is None):
        usage_error(
            "--presentation and --nonce go together (make a challenge with verify --challenge)"
        )
    if presentation is not None:
        with reported("--nonce: "):
            check_challenge(nonce)
        with reported("--presentation: "):
            check_presentation(presentation)
        presentation = token_from_url(presentation)
    if purpose is not None:
        with reported("--purpose: "):
            check_purpose(purpose)
    if file is not None:
        if token is not None or online or presentation is not None or issuer is not None:
            usage_error(
                "--file verifies offline-first at the registry: no TOKEN_OR_URL, --online,"
                " --presentation or --issuer with it"
            )
        _verify_file(
            file,
            registry_choice(registry, registry_key),
            timeout,
            as_json,
            subject,
            purpose,
            audience,
            workers,
        )
    if workers is not None:
        usage_error("--workers goes with --file")
    if token is None:
        usage_error("give a TOKEN_OR_URL (or --file FILE)")
    pasted = read_token(token)
    link = short_link_in(pasted)
    choice = None
    if link is None:
        text = token_from_url(pasted)
    else:
        if issuer is not None:
            usage_error("a short link is opened at its registry: no --issuer with it")
        choice = registry_for(link.registry, registry, registry_key)
        text = _resolve_short_link(link, choice, timeout)
    short_url = None if link is None else f"{link.registry}/s#{link.id}"
    refusal = text.startswith(REFUSAL_PREFIX)
    if refusal and (presentation is not None or audience is not None or online):
        usage_error(
            "a refusal is verified offline, with --subject and --purpose at most: no"
            " --presentation, --audience or --online"
        )
    if issuer is not None:
        if online or registry is not None or registry_key is not None:
            usage_error("--issuer verifies offline: drop --online, --registry, --registry-key")
        with reported("--issuer: "):
            trusted = TrustedIssuer.pinned(issuer)
        if refusal:
            result = verify_refusal(
                text,
                now=_clock.now(),
                issuers={trusted.key: trusted},
                subject=subject,
                purpose=purpose,
            )
            _show_result(result, as_json, pinned=trusted.key)
            raise typer.Exit(verdict_exit(result.verdict))
        result = verify_endorsement(
            text,
            now=_clock.now(),
            issuers={trusted.key: trusted},
            subject=subject,
            purpose=purpose,
            audience=audience,
            presentation=presentation,
            nonce=nonce,
            require_status=False,
        )
        _show_result(result, as_json, pinned=trusted.key)
        raise typer.Exit(verdict_exit(result.verdict))
    if choice is None:
        choice = registry_for(registry_of(pasted), registry, registry_key)
    with connected(choice, timeout) as client:
        if refusal:
            result = client.verify_refusal(text, subject=subject, purpose=purpose)
        elif online:
            answer = client.verify_online(
                text,
                subject=subject,
                purpose=purpose,
                audience=audience,
                presentation=presentation,
                nonce=nonce,
            )
        else:
            result = client.verify(
                text,
                subject=subject,
                purpose=purpose,
                audience=audience,
                presentation=presentation,
                nonce=nonce,
            )
        if choice.named and not client.first_contact and link is None:
            # A first contact shows it anyway, and so did the short link's resolution.
            echo_err(f"endorse: {client.registry}'s key {client.registry_key} (pinned before)")
    named = registry_of(pasted)
    verdict = answer.verdict if online else result.verdict
    if named not in (None, choice.url) and verdict in _NOT_VOUCHED:
        other_registry(named, choice.url)
    if online:
        _show_online(answer, text, as_json, short_link=short_url)
        raise typer.Exit(verdict_exit(answer.verdict))
    _show_result(result, as_json, pinned=None, short_link=short_url)
    raise typer.Exit(verdict_exit(result.verdict))


def _resolve_short_link(link: ShortLinkPaste, choice: RegistryChoice, timeout: float) -> str:
    """The token short link ``link`` stands for, asked at the registry it names (spec §11.6):
    a short link of another registry than the configured one is not opened there (exit 2)."""
    url = f"{link.registry}/s#{link.id}"
    if choice.url != link.registry:
        fail(
            EXIT_USAGE,
            "other_registry",
            f"this short link belongs to the registry {link.registry}, not to {choice.url}"
            f" (configured), which cannot open it: open it there with --registry"
            f" {link.registry}",
            registry=link.registry,
        )
    with connected(choice, timeout) as client:
        token = client.resolve_link(link.id)
        if choice.named and not client.first_contact:
            echo_err(f"endorse: {client.registry}'s key {client.registry_key} (pinned before)")
    echo_err(
        f"endorse: {url} is a short link: {link.registry} gave the reference it stands for,"
        " verified below as any reference (the link itself proves nothing)"
    )
    return token


def _print_challenge(token: str | None, as_json: bool) -> None:
    """``verify --challenge``: a fresh nonce, and the two commands that use it."""
    nonce = new_challenge()
    link = "TOKEN_OR_URL" if token is None else shlex.quote(token)
    present = f"endorse present {link} --nonce {nonce}"
    verify = f"endorse verify {link} --nonce {nonce} --presentation PRESENTATION"
    if as_json:
        echo(json_document({"nonce": nonce, "present": present, "verify": verify}))
        return
    echo(f"challenge     {nonce}")
    echo("  1. send the candidate this challenge; they run (with their own key):")
    echo(f"       {present}")
    echo("  2. check what they send back (within 5 minutes of their signing it):")
    echo(f"       {verify}")


def _verify_file(
    file: Path,
    choice: RegistryChoice,
    timeout: float,
    as_json: bool,
    subject: str | None,
    purpose: str | None,
    audience: str | None,
    workers: int | None,
) -> NoReturn:
    """``verify --file``: one line per token, all with the same expectations, verified on
    ``workers`` cores (default: every core); exit 0 when all are valid, else 1.

    Each batch's results are written as soon as they are known, so a run cut short keeps
    every line already written. On Ctrl-C it says how far it got and exits 130; with
    ``--json`` the one document is still closed (``"interrupted": true``)."""
    lines = _read_token_lines(file)
    if not lines:
        usage_error(f"{file}: no tokens in it")
    done = valid = 0
    with (
        _interruptible() as interrupted,
        connected(choice, timeout) as client,
        _progress(len(lines)) as advance,
    ):
        out = _JsonStream() if as_json else None
        opener = _ShortLinks(client)
        for i in range(0, len(lines), BATCH):
            batch = [opener.line(n, read) for n, read in lines[i : i + BATCH]]
            results = iter(
                client.verify_many(
                    [line.token for line in batch if line.token is not None],
                    subject=subject,
                    purpose=purpose,
                    audience=audience,
                    workers=workers,
                )
            )
            for line in batch:
                if line.token is None:
                    _show_unopened(line, out)
                    continue
                r = next(results)
                valid += r.valid
                via = {} if line.short_link is None else {"short_link": line.short_link}
                if out is not None:
                    out.item({"line": line.number, **via, **_result_json(r)})
                else:
                    from_link = (
                        ""
                        if line.short_link is None
                        else f" (from the short link {line.short_link})"
                    )
                    mark = "✓" if r.valid else "✗"
                    echo(f"line {line.number}: {mark} {r.verdict.value} — {r.message}{from_link}")
            done += len(batch)
            advance(len(batch))
            if interrupted():
                break
    if out is not None:
        out.close(total=done, valid=valid, interrupted=done < len(lines))
    if done < len(lines):
        echo_err(
            f"endorse: interrupted after {done} of {len(lines)} tokens ({valid} valid); the"
            f" results written are complete, the other {len(lines) - done} were not verified"
        )
        raise typer.Exit(EXIT_INTERRUPTED)
    if out is None:
        links = ""
        if opener.seen:
            links = f"; {opener.seen} short links, of which {opener.unopened} did not open"
        echo_err(f"{done} tokens: {valid} valid, {done - valid} not valid{links}")
    raise typer.Exit(EXIT_OK if valid == done else EXIT_VERDICT)


_UNOPENED = (
    "it was withdrawn, or never existed (the registry answers alike for both): ask whoever"
    " sent it for the full verification link"
)


@dataclasses.dataclass(frozen=True, slots=True)
class _FileLine:
    """A line of ``verify --file`` made ready to verify: its token; for a short link its URL
    too, or, when it did not open, no token and why (an error document's members)."""

    number: int
    token: str | None
    short_link: str | None = None
    problem: dict[str, Any] | None = None


class _ShortLinks:
    """Opens the short links of ``verify --file`` at the client's registry, as ``verify``
    opens one (spec §11.5, §11.6); counts them for the summary."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self.seen = self.unopened = 0

    def line(self, number: int, read: str | ShortLinkPaste) -> _FileLine:
        if isinstance(read, str):
            return _FileLine(number, read)
        self.seen += 1
        if self.seen == 1:
            echo_err(
                "endorse: short links are opened at the registry; each gives a reference,"
                " verified as any other (the link itself proves nothing)"
            )
        url = f"{read.registry}/s#{read.id}"
        problem: dict[str, Any]
        if read.registry != self._client.registry:
            problem = {
                "kind": "other_registry",
                "message": f"this short link belongs to the registry {read.registry}, not to"
                f" {self._client.registry} (configured), which cannot open it: verify it there"
                f" with --registry {read.registry}",
                "registry": read.registry,
            }
        else:
            try:
                return _FileLine(number, self._client.resolve_link(read.id), url)
            except RegistryError as e:
                message = _UNOPENED if e.slug == "no-short-link" else explain(e)[1]
                problem = {"kind": kind_of(e), "message": message, "problem": e.slug}
            except (RegistryUnreachable, RegistryStatementInvalid) as e:
                problem = {"kind": kind_of(e), "message": str(e)}
        self.unopened += 1
        return _FileLine(number, None, url, problem)


def _show_unopened(line: _FileLine, out: _JsonStream | None) -> None:
    """A short link of ``verify --file`` that did not open: that line's error, not a verdict
    (there was no token to verify)."""
    assert line.problem is not None
    if out is not None:
        doc = {"verdict": None, "valid": False, "error": line.problem}
        out.item({"line": line.number, "short_link": line.short_link, **doc})
    else:
        message = line.problem["message"]
        echo(f"line {line.number}: ✗ short link not opened — {line.short_link}: {message}")


@contextlib.contextmanager
def _interruptible() -> Iterator[Callable[[], bool]]:
    """Ctrl-C asks ``verify --file`` to stop after the batch in hand, whose results are then
    written whole (an exception in the middle of writing could not tell how far it got); a
    second Ctrl-C stops at once, as usual."""
    asked: list[bool] = []

    def on_sigint(signum: int, frame: object) -> None:
        if asked:
            raise KeyboardInterrupt
        asked.append(True)
        echo_err("endorse: stopping after this batch (Ctrl-C again to stop now)")

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield lambda: bool(asked)
    finally:
        signal.signal(signal.SIGINT, previous)


class _JsonStream:
    """``verify --file --json``: one JSON document, written a result at a time, so what was
    written before an interruption is kept and the document can still be closed."""

    def __init__(self) -> None:
        self._first = True
        echo("{")
        echo('  "results": [')

    def item(self, doc: dict[str, Any]) -> None:
        text = json_document(doc).replace("\n", "\n    ")
        echo(("    " if self._first else "  , ") + text)
        self._first = False

    def close(self, *, total: int, valid: int, interrupted: bool) -> None:
        echo("  ],")
        echo(f'  "total": {total}, "valid": {valid}, "interrupted": {json.dumps(interrupted)}')
        echo("}")


def _read_token_lines(file: Path) -> list[tuple[int, str | ShortLinkPaste]]:
    """The tokens of a file (or stdin for ``-``) with their line numbers, URLs unwrapped
    and short links read as such (spec §11.5)."""
    try:
        if str(file) == STDIN:
            data = typer.get_binary_stream("stdin").read(MAX_FILE_BYTES + 1)
        else:
            with file.open("rb") as f:
                data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        usage_error(f"{file}: cannot read: {e.strerror or type(e).__name__}")
    if len(data) > MAX_FILE_BYTES:
        usage_error(f"{file}: larger than {MAX_FILE_BYTES} bytes; split it")
    text = data.decode("utf-8", errors="replace")  # a bad byte makes its token malformed
    return [
        (n, _read_line(line))
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _read_line(line: str) -> str | ShortLinkPaste:
    """A line's token (a line that cannot be read is verified as it is, and is ``malformed``)
    or short link; read once, as :func:`token_from_url` and :func:`short_link_in` read."""
    try:
        read = read_paste(line)
    except UnreadablePaste:
        return line.strip()
    return read if isinstance(read, ShortLinkPaste) else read.token


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr when it is a terminal; else nothing (logs stay clean)."""
    if not sys.stderr.isatty():
        yield lambda _: None
        return
    with typer.progressbar(length=total, label="verifying", file=sys.stderr) as bar:
        yield bar.update


PINNED_OUTCOME = "signature_and_scope_valid"
PINNED_SENTENCE = (
    "the pinned key signed it, and it is in force and in scope; revocation NOT checked"
    " (--issuer is offline: whether it was withdrawn needs the registry, so run verify"
    " without --issuer)"
)
"""``verify --issuer``'s outcome for a registered token that passes every check it can
make: distinct from ``valid`` (exit 1 all the same), since its status list was not read."""


def _only_revocation_unchecked(result: VerificationResult) -> bool:
    failed = [c.name for c in result.checks if not c.passed]
    return result.verdict is Verdict.STATUS_UNAVAILABLE and failed == ["status"]


def _show_result(
    result: VerificationResult,
    as_json: bool,
    *,
    pinned: str | None,
    short_link: str | None = None,
) -> None:
    if as_json:
        doc = _result_json(result)
        if short_link is not None:
            doc["short_link"] = short_link
        if pinned is not None:
            unchecked = _only_revocation_unchecked(result)
            doc["outcome"] = PINNED_OUTCOME if unchecked else result.verdict.value
        echo(json_document(doc))
    else:
        _print_result(result, pinned)


def _online_claims(
    answer: OnlineResult, token: str
) -> tuple[Endorsement | None, TrustedIssuer | None]:
    """The claims and the issuer's verified identity behind a registry's verdict, to show the
    same facts as an offline check. The claims are read from the token only when the
    registry found its signature good (its receipt, verified, stands behind that verdict)."""
    if answer.verdict in (Verdict.MALFORMED, Verdict.BAD_SIGNATURE):
        return None, None
    try:
        e = decode_unverified(token, Endorsement).object
    except EndorseError:
        return None, None
    i = answer.issuer
    vouched = None
    if i is not None and i.email is not None:
        vouched = TrustedIssuer(
            i.key, identity=i.email, name=i.name, since=i.since, registry=answer.receipt.registry
        )
    return e, vouched


def _show_online(
    answer: OnlineResult, token: str, as_json: bool, *, short_link: str | None = None
) -> None:
    receipt = answer.receipt
    e, vouched = _online_claims(answer, token)
    verified = None if vouched is None else (vouched.key, vouched.name)
    found = findings_of(e, answer.checks, verified)
    if as_json:
        echo(
            json_document(
                {
                    "verdict": answer.verdict.value,
                    "valid": answer.valid,
                    "message": answer.message,
                    "detail": answer.detail,
                    "checks": [
                        {"name": c.name, "passed": c.passed, "detail": readable(c.detail)}
                        for c in answer.checks
                    ],
                    "claims": answer.claims,
                    "issuer": None
                    if answer.issuer is None
                    else iso_times(dataclasses.asdict(answer.issuer), "since"),
                    "status": None
                    if answer.status is None
                    else iso_times(dataclasses.asdict(answer.status), "checked_at", "fresh_until"),
                    "checked_at": iso(answer.checked_at),
                    "receipt": {
                        "registry": receipt.registry,
                        "token_hash": receipt.token_hash,
                        "verdict": receipt.verdict,
                        "checked_at": iso(receipt.checked_at),
                    },
                    "receipt_token": answer.receipt_token,
                    **_findings_json(found),
                    **({} if short_link is None else {"short_link": short_link}),
                }
            )
        )
        return
    echo(f"{'✓' if answer.valid else '✗'} {answer.verdict.value} — {answer.message}")
    if e is not None:
        _print_claims(e, None, vouched, found)
    elif answer.issuer is not None:
        who = answer.issuer.name or "?"
        email = f" <{answer.issuer.email}>" if answer.issuer.email else " (identity unknown)"
        echo(f"  issuer        {who}{email}, key {answer.issuer.key}")
    echo(f"  detail        {answer.detail}")
    failed = next((c for c in answer.checks if not c.passed), None)
    if failed is not None and failed.detail != answer.detail:
        echo(f"  failed check  {failed.name}: {readable(failed.detail)}")
    _print_scope(found, e)
    echo(
        f"  receipt       signed by {receipt.registry} at {when(receipt.checked_at)}"
        f" (token hash {receipt.token_hash})"
    )


def _result_json(result: VerificationResult) -> dict[str, Any]:
    e: Endorsement | Refusal | None = result.endorsement
    if result.refusal is not None:
        e = result.refusal
    return {
        "verdict": result.verdict.value,
        "valid": result.valid,
        "message": result.message,
        "detail": result.detail,
        "checks": [
            {"name": c.name, "passed": c.passed, "detail": readable(c.detail)}
            for c in result.checks
        ],
        "claims": None if e is None else e.to_payload(),
        "issuer": None
        if result.issuer is None
        else iso_times(dataclasses.asdict(result.issuer), "since", "revoked_from"),
        "revocation_checked": result.revocation_checked,
        "checked_at": iso(result.checked_at),
        "token_hash": result.token_hash,
        **_findings_json(findings(result)),
    }


def _findings_json(found: Findings) -> dict[str, Any]:
    """What was compared and what not (spec §6.5), and the name warning, for ``--json``."""
    warnings = []
    if found.name_mismatch is not None:
        signed, verified = found.name_mismatch
        warnings.append({"kind": "name_mismatch", "signed_name": signed, "verified_name": verified})
    return {
        "expectations": {"compared": list(found.checked), "not_compared": list(found.not_checked)},
        "warnings": warnings,
    }


def _print_result(result: VerificationResult, pinned: str | None) -> None:
    """The verdict line, then the claims and what was checked; ``pinned`` is the key given
    with ``--issuer`` (offline), None when the registry vouched for the issuer."""
    if pinned is not None and _only_revocation_unchecked(result):
        echo(f"~ {PINNED_OUTCOME} — {PINNED_SENTENCE}")
    else:
        echo(f"{'✓' if result.valid else '✗'} {result.verdict.value} — {result.message}")
    if result.refusal is not None:
        _print_refusal(result.refusal, pinned, None if pinned is not None else result.issuer)
        echo(f"  detail        {result.detail}")
        return
    e = result.endorsement
    found = findings(result)
    if e is not None:
        _print_claims(e, pinned, None if pinned is not None else result.issuer, found)
    echo(f"  detail        {result.detail}")
    failed = next((c for c in result.checks if not c.passed), None)
    if failed is not None and failed.detail != result.detail:
        echo(f"  failed check  {failed.name}: {readable(failed.detail)}")
    if e is None:
        return
    _print_scope(found, e)
    if result.verdict is Verdict.UNKNOWN_ISSUER and pinned is not None:
        echo(f"note: signed by {e.issuer}, not by the --issuer key {pinned}")
    if e.status is None:
        echo("note: revocation could not be checked: the token carries no status entry")
    elif result.revocation_checked:
        echo(f"  revocation    checked: status list {e.status.list_id} of {e.status.registry}")
    else:
        why = "this offline check does not fetch it" if pinned else "no fresh copy could be had"
        echo(
            f"note: revocation status lives at {e.status.registry} (list {e.status.list_id}); {why}"
        )


_NO_CONTACT = "no, the endorser has not agreed to be contacted"

_HOW_TO_COMPARE = {
    "subject": " (--subject WHO)",
    "purpose": " (--purpose PURPOSE)",
    "holder": " (verify --challenge)",
}


def _print_scope(found: Findings, e: Endorsement | None = None) -> None:
    """Which expectations were compared, and for each one that was not, what to do; what a
    presentation proved."""
    if found.checked:
        echo(f"  compared      {', '.join(found.checked)}")
    if "holder" in found.checked and e is not None:
        echo(
            "  holder        proven: whoever sent the presentation holds the subject key this"
            f" reference names ({e.subject.key}), signed over your challenge"
        )
    for name in found.not_checked:
        echo(f"  NOT compared  {NOT_CHECKED_SENTENCES[name]}{_HOW_TO_COMPARE[name]}")


def _print_claims(
    e: Endorsement, pinned: str | None, vouched: TrustedIssuer | None, found: Findings
) -> None:
    """The claims; ``vouched`` is the issuer as the registry knows it (its verified identity).
    What the endorser states about the relationship is labelled so (spec §6.5)."""
    mark = " (the pinned --issuer key)" if e.issuer == pinned else ""
    echo(f"  issuer        {e.issuer_name} <{e.issuer}>{mark}")
    if vouched is not None and vouched.identity is not None:
        since = "" if vouched.since is None else f" since {when(vouched.since)}"
        who = f"{vouched.name} <{vouched.identity}>" if vouched.name else vouched.identity
        echo(f"  identity      {who}, verified by {vouched.registry}{since}")
    if found.name_mismatch is not None:
        signed, verified = found.name_mismatch
        echo(
            f"  ⚠ WARNING     the endorser signed as “{signed}”, but the registry verified this"
            f" key as “{verified}”: the signed name is not checked"
        )
    s = e.subject
    ids = ", ".join(x for x in (s.email, s.handle) if x is not None)
    echo(f"  subject       {s.name}" + (f" ({ids})" if ids else ""))
    if s.key is not None:
        echo(f"  subject key   {s.key}")
    r = e.relationship
    rel = f"{r.role} — {r.context}" + (f", {r.org}" if r.org else "")
    if r.start or r.end:
        rel += f", {r.start or '…'}..{r.end or '…'}"
    echo(f"  relationship  {rel}")
    stated = "                as stated by the endorser (not verified)"
    if r.org and vouched is not None and vouched.identity is not None:
        stated += f"; their verified e-mail is at {vouched.identity.rpartition('@')[2]}"
    echo(stated)
    echo(f"  purposes      {', '.join(e.purposes)}")
    if e.audience is not None:
        echo(f"  audience      {e.audience}")
    echo(f"  in force      {when(e.not_before)} .. {when(e.expires)}")
    echo(f"  issued        {when(e.issued_at)}")
    echo(f"  contact       {'yes, the endorser may be contacted' if e.contact else _NO_CONTACT}")
    if e.statement is not None:
        echo("  statement     " + e.statement.replace("\n", "\n                "))


def _print_refusal(r: Refusal, pinned: str | None, vouched: TrustedIssuer | None) -> None:
    """What a refusal says, as signed: who refuses, whom, for what, and why (a code)."""
    mark = " (the pinned --issuer key)" if r.issuer == pinned else ""
    echo(f"  referee       {r.issuer_name} <{r.issuer}>{mark}")
    if vouched is not None and vouched.identity is not None:
        since = "" if vouched.since is None else f" since {when(vouched.since)}"
        echo(f"  identity      {vouched.identity}, verified by {vouched.registry}{since}")
    s = r.subject
    ids = ", ".join(x for x in (s.email, s.handle) if x is not None)
    echo(f"  subject       {s.name}" + (f" ({ids})" if ids else ""))
    echo(f"  purpose       {r.purpose or 'any'}")
    if r.reason is not None:
        echo(f"  reason        {r.reason}")
    if r.request is not None:
        echo(f"  answers       request {r.request}")
    else:
        echo("  standing      yes: a refusal signed in advance")
    echo(f"  signed        {when(r.issued_at)}, in force until {when(r.expires)}")
