"""``endorse ask|ask-confirm|request|requests|answer|policy|refuse|block|mute|unmute|checks``:
claimed references (docs/claims.md). A requester puts a reference named without a token to
its referee; the referee sees every request naming them and answers with a signature (an
endorsement or a refusal), or once in advance (a policy, standing refusals).

A requester needs a key to sign with, not a registered one: without ``--key``, the default
endorser key is used when there is one, else a requester key kept next to it
(``requester.pem``), made on first use (see :func:`requester_key_path`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from endorse.client import keystore
from endorse.client.cli._input import (
    KeyFileOption,
    load_signing_key,
    nfc,
    opt_nfc,
    parse_period,
    parse_time,
)
from endorse.client.cli._options import (
    ContactOption,
    ReasonOption,
    SignerNameOption,
    StatementOption,
)
from endorse.client.cli._output import (
    EXIT_OK,
    EXIT_VERDICT,
    JsonOption,
    echo,
    echo_err,
    json_aware,
    json_document,
    reported,
    usage_error,
    when,
)
from endorse.client.cli._registry import (
    DEFAULT_TIMEOUT,
    RegistryKeyOption,
    RegistryOption,
    TimeoutOption,
    connected,
    registry_choice,
)
from endorse.client.models import Answer, InboxItem, Pending, RequestStatus, StandingRefusal
from endorse.protocol import (
    REFUSAL_REASONS,
    Policy,
    ReferenceRequest,
    Relationship,
    SigningKey,
    Subject,
)

ID_HELP = "; put -- before an id that starts with -."
POLICY_SENTENCE = "references from {name} come only as signed endorse tokens: {ask} ({told})"

# --- the requester's key ------------------------------------------------------------------


def requester_key_path() -> Path:
    """Where the CLI keeps the key a requester signs with when they have no endorser key."""
    return keystore.data_dir() / "keys" / "requester.pem"


def requester_key(path: Path | None) -> SigningKey:
    """The key a request is signed with: ``--key``, else the default endorser key, else the
    requester key (made now, stored like an endorser key: mode 0600, when missing)."""
    if path is not None:
        return load_signing_key(path)
    if os.path.lexists(keystore.default_key_path()):
        return load_signing_key(None)
    ad_hoc = requester_key_path()
    if os.path.lexists(ad_hoc):
        return load_signing_key(ad_hoc)
    key = SigningKey.generate()
    with reported():
        keystore.write_key(key, ad_hoc)
    echo_err(f"note: made a key to sign your requests with: {ad_hoc} (mode 0600)")
    return key


RequesterKeyOption = Annotated[
    Path | None,
    typer.Option(
        "--key",
        metavar="FILE",
        help="The key that signs your requests; default: your endorser key if you have one,"
        " else a requester key kept next to it (made on first use).",
        show_default=False,
    ),
]

# --- what is shown -------------------------------------------------------------------------


def _subject_text(s: Subject) -> str:
    ids = ", ".join(x for x in (s.email, s.handle) if x is not None)
    return s.name + (f" ({ids})" if ids else "")


def _relationship_text(r: Relationship) -> str:
    text = f"{r.role} — {r.context}" + (f", {r.org}" if r.org else "")
    if r.start or r.end:
        text += f", {r.start or '…'}..{r.end or '…'}"
    return text


def answer_sentence(answer: Answer, request: ReferenceRequest | None = None) -> str:
    """What the requester reads of an answer: the verdict's sentence, or the policy's.

    The policy's says only what the signed policy states: whether the referee wants to be
    told of requests (the registry does not tell them when their mail is stopped or the
    requester blocked, which the requester must not learn). A candidate who asked for
    themself is not told to ask the candidate."""
    if answer.policy is not None:
        name = answer.policy.issuer_name
        own = (
            request is not None
            and request.subject.email is not None
            and request.subject.email.lower() == request.requester.email.lower()
        )
        return POLICY_SENTENCE.format(
            name=name,
            ask=f"ask {name} for one yourself" if own else "ask the candidate for one",
            told="the referee asked to be told of requests"
            if answer.policy.notify
            else "the referee asked not to be told of requests",
        )
    assert answer.result is not None
    return answer.result.message


def answer_json(
    answer: Answer | None, request: ReferenceRequest | None = None
) -> dict[str, Any] | None:
    if answer is None:
        return None
    doc: dict[str, Any] = {"kind": answer.kind, "token": answer.token, "standing": answer.standing}
    if answer.result is not None:
        content = answer.result.endorsement if answer.kind == "endorsement" else answer.refusal
        doc.update(
            verdict=answer.result.verdict.value,
            valid=answer.result.valid,
            message=answer.result.message,
            claims=None if content is None else content.to_payload(),
        )
    if answer.policy is not None:
        doc.update(
            verdict=None,
            valid=False,
            message=answer_sentence(answer, request),
            claims=answer.policy.to_payload(),
        )
    return doc


def request_json(r: ReferenceRequest) -> dict[str, Any]:
    return r.to_payload()


def status_json(status: RequestStatus) -> dict[str, Any]:
    return {
        "id": status.id,
        "state": status.state,
        "request": None if status.request is None else request_json(status.request),
        "request_token": status.token,
        "answer": answer_json(status.answer, status.request),
        "answered_at": status.answered_at,
    }


def item_json(item: InboxItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "state": item.state,
        "blocked": item.blocked,
        "request": request_json(item.request),
        "request_token": item.token,
        "answer": answer_json(item.answer, item.request),
    }


def _print_request(r: ReferenceRequest) -> None:
    by = r.requester
    how = "a registered key" if by.method == "key-binding" else "an e-mailed code"
    who = by.email + (f" ({by.name})" if by.name else "")
    echo(f"  asked by      {who}, verified by {how}")
    echo(f"  referee       {r.referee}")
    echo(f"  subject       {_subject_text(r.subject)}")
    if r.subject.key is not None:
        echo(f"  subject key   {r.subject.key}")
    echo(f"  claimed       {_relationship_text(r.relationship)} (as the candidate says)")
    echo(f"  purpose       {r.purpose}")
    if r.audience is not None:
        echo(f"  audience      {r.audience}")
    echo(f"  asked         {when(r.issued_at)}, answer by {when(r.expires)}")


def _print_answer(
    answer: Answer | None,
    state: str,
    request: ReferenceRequest | None = None,
    *,
    referee: bool = False,
) -> None:
    if answer is None:
        no_answer = {
            "open": "none yet",
            "expired": "no answer (the deadline passed; this is not a refusal)",
            "unreachable": "none: the referee cannot be reached (their address stopped all mail"
            " from this registry)",
        }
        if referee:  # the referee reads their own inbox: it was their address that stopped mail
            no_answer["unreachable"] = (
                "none: your address stopped all mail from this registry, so the requester was"
                " told you cannot be reached; it can no longer be answered"
            )
        echo(f"  answer        {no_answer.get(state, 'none')}")
        return
    mark = "✓" if answer.result is not None and answer.result.valid else "✗"
    label = answer.kind + (" (standing)" if answer.standing else "")
    verdict = "" if answer.result is None else f"{answer.result.verdict.value} — "
    echo(f"  answer        {label}: {mark} {verdict}{answer_sentence(answer, request)}")
    if answer.kind == "endorsement":
        echo(f"  token         {answer.token}")


def _status_exit(status: RequestStatus) -> int:
    """0: no answer yet (or none by the deadline), or a valid endorsement; 1: the referee
    answered with a refusal, a policy, or an endorsement that is not valid (any more)."""
    answer = status.answer
    if answer is None or (answer.result is not None and answer.result.valid):
        return EXIT_OK
    return EXIT_VERDICT


def _show_status(status: RequestStatus, as_json: bool, headline: str) -> None:
    if as_json:
        echo(json_document(status_json(status)))
    else:
        echo(f"{headline} {status.id} — {status.state}")
        if status.request is None:
            echo("  (ended; the registry deleted the unregistered referee's address with it)")
        else:
            _print_request(status.request)
        _print_answer(status.answer, status.state, status.request)
        if status.request is not None and status.token is not None:
            # The requester's page (spec §11.4): the request and its answer, checked in the
            # browser; the mail brings it only once there is an answer.
            answer = "" if status.answer is None else f"~{status.answer.token}"
            echo(f"  page          {status.request.registry}/r#{status.token}{answer}")
    raise typer.Exit(_status_exit(status))


# --- endorse ask | ask-confirm | request ---------------------------------------------------


@json_aware
def ask_command(
    referee: Annotated[
        str,
        typer.Option("--referee", metavar="EMAIL", help="The referee's e-mail address, as named."),
    ],
    subject: Annotated[
        str, typer.Option("--subject", metavar="NAME", help="The candidate's full name.")
    ],
    relationship: Annotated[
        str,
        typer.Option(
            "--relationship",
            metavar="ROLE",
            help="The referee's role as the candidate claims it: manager, …",
        ),
    ],
    purpose: Annotated[
        str,
        typer.Option("--purpose", metavar="PURPOSE", help="What the reference is for."),
    ],
    subject_email: Annotated[
        str | None,
        typer.Option("--subject-email", metavar="EMAIL", help="The candidate's e-mail address."),
    ] = None,
    subject_handle: Annotated[
        str | None,
        typer.Option("--subject-handle", metavar="HANDLE", help="The candidate's handle."),
    ] = None,
    subject_key: Annotated[
        str | None,
        typer.Option(
            "--subject-key",
            metavar="DID",
            help="The candidate's did:key: an endorsement given will be bound to it.",
        ),
    ] = None,
    org: Annotated[
        str | None, typer.Option("--org", metavar="ORG", help="The organisation, as claimed.")
    ] = None,
    context: Annotated[
        str, typer.Option("--context", metavar="CONTEXT", help="The network: work, …")
    ] = "work",
    period: Annotated[
        str | None,
        typer.Option("--period", metavar="FROM..TO", help="When, as claimed: 2019-01..2023-06."),
    ] = None,
    audience: Annotated[
        str | None,
        typer.Option("--audience", metavar="AUDIENCE", help="Who the reference would be for."),
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires",
            metavar="WHEN",
            help="Answer by (YYYY-MM-DD or ISO datetime); default 14 days, at most 30.",
        ),
    ] = None,
    email: Annotated[
        str | None,
        typer.Option(
            "--email",
            metavar="EMAIL",
            help="Your e-mail address: a code is sent to it (not needed with a registered key).",
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", metavar="NAME", help="Your name, as you give it.")
    ] = None,
    key: RequesterKeyOption = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
) -> None:
    """Ask a referee named without a token (a CV's "Alice Smith, alice@example.com") whether
    they give the candidate a reference. They answer with a signature: an endorsement or a
    refusal; a referee who said in advance that they give references only as signed tokens
    is answered at once. Exit 1 when the answer already is a refusal or a policy."""
    exp = None if expires is None else parse_time(expires, "--expires")
    start, end = (None, None) if period is None else parse_period(period)
    with reported():
        who = Subject(nfc(subject), email=subject_email, handle=subject_handle, key=subject_key)
        rel = Relationship(nfc(context), nfc(relationship), org=opt_nfc(org), start=start, end=end)
    choice = registry_choice(registry, registry_key)
    signing_key = requester_key(key)
    with connected(choice, timeout) as client:
        asked = client.ask(
            signing_key,
            referee,
            who,
            rel,
            purpose,
            audience=audience,
            expires=exp,
            requester_email=email,
            requester_name=opt_nfc(name),
        )
    if isinstance(asked, Pending):
        if as_json:
            doc = {"pending": asked.id, "expires_at": asked.expires_at, "email": email}
            echo(json_document({**doc, "key": signing_key.did, "registry": client.registry}))
            return
        echo(
            f"✓ a confirmation code was e-mailed to {email} (valid until {when(asked.expires_at)})"
        )
        echo(f"  next          endorse ask-confirm --pending={asked.id} CODE")
        return
    _show_status(asked, as_json, "✓ request")


@json_aware
def ask_confirm_command(
    code: Annotated[str, typer.Argument(metavar="CODE", help="The code you were e-mailed.")],
    pending: Annotated[
        str, typer.Option("--pending", metavar="ID", help="The id `endorse ask` printed.")
    ],
    key: RequesterKeyOption = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
) -> None:
    """Return the code e-mailed to you by `endorse ask`: the request is made and the referee
    told."""
    choice = registry_choice(registry, registry_key)
    signing_key = requester_key(key)
    with connected(choice, timeout) as client:
        status = client.confirm_ask(signing_key, pending, code.strip())
    _show_status(status, as_json, "✓ request")


@json_aware
def request_command(
    request_id: Annotated[
        str,
        typer.Argument(metavar="ID", help="The request's id (endorse ask printed it)" + ID_HELP),
    ],
    key: RequesterKeyOption = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
) -> None:
    """Show a request you made and its answer, verified: an endorsement, a signed refusal or
    the referee's policy. Exit 0 while there is no answer (none by the deadline is not a
    refusal) or for a valid endorsement; 1 for a refusal, a policy or an endorsement that
    is not valid."""
    choice = registry_choice(registry, registry_key)
    signing_key = requester_key(key)
    with connected(choice, timeout) as client:
        status = client.request_status(signing_key, request_id)
    _show_status(status, as_json, "request")


# --- endorse requests | answer | block | mute | unmute -------------------------------------


@json_aware
def requests_command(
    key: KeyFileOption = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
) -> None:
    """List every request naming you (your key's verified address), newest first: who asked
    (their verified address), for whom, for what, as claimed, and how it was answered."""
    choice = registry_choice(registry, registry_key)
    signing_key = load_signing_key(key)
    with connected(choice, timeout) as client:
        items = client.requests(signing_key)
    if as_json:
        echo(json_document({"key": signing_key.did, "requests": [item_json(i) for i in items]}))
        return
    if not items:
        echo_err("no requests name you")
    for item in items:
        blocked = ", requester blocked" if item.blocked else ""
        echo(f"{item.id} — {item.state}{blocked}")
        _print_request(item.request)
        _print_answer(item.answer, item.state, item.request, referee=True)
        if item.state == "open":
            echo(f"  to answer     endorse answer (--endorse | --refuse [--reason R]) -- {item.id}")
        echo("")


@json_aware
def answer_command(
    request_id: Annotated[
        str, typer.Argument(metavar="ID", help="The request (endorse requests)" + ID_HELP)
    ],
    endorse: Annotated[
        bool,
        typer.Option(
            "--endorse", help="Give an endorsement, prefilled from the request (see the options)."
        ),
    ] = False,
    refuse: Annotated[
        bool, typer.Option("--refuse", help="Give a signed refusal of the candidate.")
    ] = False,
    reason: ReasonOption = None,
    name: SignerNameOption = None,
    relationship: Annotated[
        str | None,
        typer.Option("--relationship", metavar="ROLE", help="Your role, if not as claimed."),
    ] = None,
    org: Annotated[
        str | None,
        typer.Option("--org", metavar="ORG", help="The organisation, if not as claimed."),
    ] = None,
    period: Annotated[
        str | None,
        typer.Option("--period", metavar="FROM..TO", help="The period, if not as claimed."),
    ] = None,
    statement: StatementOption = None,
    contact: ContactOption = False,
    expires: Annotated[
        str | None,
        typer.Option("--expires", metavar="WHEN", help="YYYY-MM-DD or ISO datetime; default 1y."),
    ] = None,
    key: KeyFileOption = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
) -> None:
    """Answer a request naming you, signed with your key: --endorse issues an endorsement
    prefilled from the request (the candidate, their key if given, the relationship as
    claimed, the purpose, the audience; --relationship, --org, --period replace what was
    claimed) and registers it; --refuse signs "I do not give a reference for <candidate>"
    with an optional coded --reason."""
    if endorse == refuse:
        usage_error("give one of --endorse and --refuse")
    if refuse and any(x is not None for x in (relationship, org, period, statement, expires)):
        usage_error("--relationship, --org, --period, --statement, --expires go with --endorse")
    if endorse and reason is not None:
        usage_error("--reason goes with --refuse")
    if reason is not None and reason not in REFUSAL_REASONS:
        usage_error(f"--reason: one of {', '.join(REFUSAL_REASONS)}")
    exp = None if expires is None else parse_time(expires, "--expires")
    choice = registry_choice(registry, registry_key)
    signing_key = load_signing_key(key)
    with connected(choice, timeout) as client:
        if refuse:
            status = client.answer_refuse(signing_key, request_id, reason)
            issued = None
        else:
            rel = None
            if any(x is not None for x in (relationship, org, period)):
                item = next((i for i in client.requests(signing_key) if i.id == request_id), None)
                if item is None:
                    usage_error(f"no request {request_id} in your inbox")
                claimed = item.request.relationship
                start, end = (
                    (claimed.start, claimed.end) if period is None else parse_period(period)
                )
                with reported():
                    rel = Relationship(
                        claimed.context,
                        claimed.role if relationship is None else nfc(relationship),
                        org=claimed.org if org is None else nfc(org),
                        start=start,
                        end=end,
                    )
            issued, status = client.answer_endorse(
                signing_key,
                request_id,
                issuer_name=opt_nfc(name),
                relationship=rel,
                expires=exp,
                statement=opt_nfc(statement),
                contact=contact,
            )
    if as_json:
        doc = status_json(status)
        if issued is not None:
            doc["endorsement"] = {"id": issued.id, "token": issued.token, "url": issued.url}
        echo(json_document(doc))
        return
    if issued is not None:
        echo(issued.token)
        echo(issued.url)
        echo_err(f"✓ answered request {status.id} with endorsement {issued.id}")
    else:
        echo(f"✓ answered request {status.id} with a signed refusal")
        assert status.answer is not None
        echo(f"  the requester reads: {answer_sentence(status.answer, status.request)}")


@json_aware
def block_command(
    request_id: Annotated[
        str, typer.Argument(metavar="ID", help="A request whose requester you block" + ID_HELP)
    ],
    undo: Annotated[bool, typer.Option("--undo", help="Unblock instead.")] = False,
    key: KeyFileOption = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
) -> None:
    """Block the address that made a request: its requests naming you are no longer mailed
    to you (they still show in endorse requests, marked blocked)."""
    choice = registry_choice(registry, registry_key)
    signing_key = load_signing_key(key)
    with connected(choice, timeout) as client:
        if undo:
            client.unblock_requester(signing_key, request_id)
        else:
            client.block_requester(signing_key, request_id)
    if as_json:
        echo(json_document({"id": request_id, "blocked": not undo}))
        return
    echo(f"✓ the requester of {request_id} is {'un' if undo else ''}blocked")


def _mute(muted: bool, key: Path | None, choice_args: tuple[Any, ...], as_json: bool) -> None:
    registry, registry_key, timeout = choice_args
    choice = registry_choice(registry, registry_key)
    signing_key = load_signing_key(key)
    with connected(choice, timeout) as client:
        stored = client.mute(signing_key, muted)
    if as_json:
        echo(json_document({"muted": stored}))
        return
    echo(
        "✓ mail about requests is muted (they still show in endorse requests)"
        if stored
        else "✓ mail about requests is on"
    )


@json_aware
def mute_command(
    key: KeyFileOption = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
) -> None:
    """Stop the mail about requests naming you (they still show in endorse requests)."""
    _mute(True, key, (registry, registry_key, timeout), as_json)


@json_aware
def unmute_command(
    key: KeyFileOption = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
) -> None:
    """Be told by mail of requests naming you again."""
    _mute(False, key, (registry, registry_key, timeout), as_json)


# --- endorse policy | refuse | checks ------------------------------------------------------


def _policy_json(policy: Policy | None) -> dict[str, Any]:
    return {"policy": None if policy is None else policy.to_payload()}


@json_aware
def policy_command(
    set_: Annotated[
        bool,
        typer.Option(
            "--set", help="Sign your policy: references from you come only as signed tokens."
        ),
    ] = False,
    show: Annotated[bool, typer.Option("--show", help="Show your policy.")] = False,
    clear: Annotated[bool, typer.Option("--clear", help="Withdraw your policy.")] = False,
    notify: Annotated[
        bool,
        typer.Option("--notify/--no-notify", help="With --set: whether you are told of requests."),
    ] = True,
    name: SignerNameOption = None,
    key: KeyFileOption = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
) -> None:
    """Your standing policy, signed by your key: "references from me come only as signed
    endorse tokens". Requests naming you are then answered at once with it."""
    if sum((set_, show, clear)) != 1:
        usage_error("give one of --set, --show and --clear")
    choice = registry_choice(registry, registry_key)
    signing_key = load_signing_key(key)
    with connected(choice, timeout) as client:
        if set_:
            policy: Policy | None = client.set_policy(
                signing_key, notify=notify, issuer_name=opt_nfc(name)
            )
        elif show:
            policy = client.policy(signing_key)
        else:
            client.clear_policy(signing_key)
            policy = None
    if as_json:
        echo(json_document(_policy_json(policy)))
        return
    if clear:
        echo("✓ your policy is withdrawn")
    elif policy is None:
        echo("no policy: requests naming you are put to you one by one")
    else:
        told = "you are told of requests" if policy.notify else "you are not told of requests"
        echo(f"✓ policy of {policy.issuer_name}: references come only as signed endorse tokens")
        echo(f"  since         {when(policy.issued_at)}; {told}")


def _standing_json(s: StandingRefusal) -> dict[str, Any]:
    return {"id": s.id, "token": s.token, "claims": s.refusal.to_payload()}


@json_aware
def refuse_command(
    subject_email: Annotated[
        str | None,
        typer.Option(
            "--subject-email", metavar="EMAIL", help="The address of the person you refuse."
        ),
    ] = None,
    subject: Annotated[
        str | None,
        typer.Option("--subject", metavar="NAME", help="Their name; default: the address."),
    ] = None,
    purpose: Annotated[
        str | None,
        typer.Option("--purpose", metavar="PURPOSE", help="Only for this purpose (default: any)."),
    ] = None,
    reason: ReasonOption = None,
    list_: Annotated[bool, typer.Option("--list", help="List your standing refusals.")] = False,
    withdraw: Annotated[
        str | None,
        typer.Option("--withdraw", metavar="ID", help="Withdraw one of your standing refusals."),
    ] = None,
    name: SignerNameOption = None,
    key: KeyFileOption = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
) -> None:
    """Sign a standing refusal: "I do not give references for <address>". A request naming
    exactly that address is answered with it at once; nobody but you can list it."""
    if sum((subject_email is not None, list_, withdraw is not None)) != 1:
        usage_error("give one of --subject-email, --list and --withdraw")
    if subject_email is None and any(x is not None for x in (subject, purpose, reason)):
        usage_error("--subject, --purpose and --reason go with --subject-email")
    if reason is not None and reason not in REFUSAL_REASONS:
        usage_error(f"--reason: one of {', '.join(REFUSAL_REASONS)}")
    choice = registry_choice(registry, registry_key)
    signing_key = load_signing_key(key)
    with connected(choice, timeout) as client:
        if list_:
            listed = client.standing_refusals(signing_key)
        elif withdraw is not None:
            client.withdraw_standing_refusal(signing_key, withdraw)
        else:
            assert subject_email is not None
            made = client.refuse_standing(
                signing_key,
                subject_email,
                purpose,
                reason,
                subject_name=opt_nfc(subject),
                issuer_name=opt_nfc(name),
            )
    if withdraw is not None:
        if as_json:
            echo(json_document({"id": withdraw, "withdrawn": True}))
        else:
            echo(f"✓ standing refusal {withdraw} withdrawn")
        return
    if list_:
        if as_json:
            echo(json_document({"refusals": [_standing_json(s) for s in listed]}))
            return
        if not listed:
            echo_err("no standing refusals")
        for s in listed:
            r = s.refusal
            scope = f" for {r.purpose}" if r.purpose else ""
            echo(f"{s.id}  {_subject_text(r.subject)}{scope}  since {when(r.issued_at)}")
        return
    if as_json:
        echo(json_document(_standing_json(made)))
        return
    echo(f"✓ standing refusal {made.id}: no reference from you for {subject_email}")
    echo(f"  withdraw it   endorse refuse --withdraw {made.id}")


@json_aware
def checks_command(
    key: KeyFileOption = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
) -> None:
    """How often each of your endorsements was checked online at the registry, per day.
    Counts only: nobody else can see them, and no verifier is recorded."""
    choice = registry_choice(registry, registry_key)
    signing_key = load_signing_key(key)
    with connected(choice, timeout) as client:
        counts = client.checks(signing_key)
    if as_json:
        docs = [
            {"id": c.id, "total": c.total, "days": [{"day": d, "count": n} for d, n in c.days]}
            for c in counts
        ]
        echo(json_document({"endorsements": docs}))
        return
    if not counts:
        echo_err("none of your endorsements was checked online here")
    for c in counts:
        days = ", ".join(f"{d}: {n}" for d, n in c.days)
        echo(f"{c.id}  {c.total} checks  ({days})")
