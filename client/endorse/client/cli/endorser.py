"""``endorse register|confirm|issue|list|revoke``: the endorser's flows at the registry."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from endorse.client import _clock
from endorse.client.cli._input import (
    KeyFileOption,
    load_signing_key,
    nfc,
    opt_nfc,
    parse_period,
    parse_time,
    plain_code,
    token_arg,
)
from endorse.client.cli._options import ContactOption, StatementOption
from endorse.client.cli._output import (
    EXIT_USAGE,
    JsonOption,
    binding_json,
    echo,
    echo_err,
    fail,
    iso,
    json_aware,
    json_document,
    key_revocation_json,
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
from endorse.client.cli.portable import VcFileOption, refuse_existing, write_credential
from endorse.client.models import AlreadyRegistered
from endorse.client.share import verification_url
from endorse.protocol.issue import issue as issue_token
from endorse.protocol.objects import (
    Endorsement,
    Relationship,
    Subject,
)
from endorse.protocol.token import decode_unverified

# --- endorse register | confirm ------------------------------------------------------------


@json_aware
def register_command(
    email: Annotated[
        str, typer.Option("--email", metavar="EMAIL", help="Your e-mail address (verified).")
    ],
    name: Annotated[str, typer.Option("--name", metavar="NAME", help="Your name, as shown.")],
    key: KeyFileOption = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
) -> None:
    """Ask the registry to bind your key to your e-mail address; a code is e-mailed to it.

    A key that is registered already is said so, with the identity it is bound to: there is
    nothing to confirm (a revoked key cannot be registered again: make a new key).
    """
    choice = registry_choice(registry, registry_key)
    signing_key = load_signing_key(key)
    with connected(choice, timeout) as client:
        answer = client.register(signing_key, email, nfc(name))
    if isinstance(answer, AlreadyRegistered):
        already_registered(answer, email, as_json=as_json)
        return
    if as_json:
        echo(
            json_document(
                {
                    "already_registered": False,
                    "pending": answer.id,
                    "expires_at": iso(answer.expires_at),
                    "key": signing_key.did,
                    "email": email,
                    "registry": client.registry,
                }
            )
        )
        return
    echo(f"✓ a confirmation code was e-mailed to {email} (valid until {when(answer.expires_at)})")
    echo(f"  next          endorse confirm --pending {answer.id} CODE")


def already_registered(answer: AlreadyRegistered, email: str, *, as_json: bool) -> None:
    """Say what the key is bound to (exit 0), or that it was revoked (exit 2)."""
    binding, revocation = answer.binding, answer.key_revocation
    identity = f"{binding.name} <{binding.email}>"
    if revocation is not None:
        fail(
            EXIT_USAGE,
            "key_revoked",
            f"this key was registered as {identity} and revoked from"
            f" {when(revocation.revoked_from)}: a revoked key cannot be registered again; make a"
            " new key (endorse key new --out FILE) and register that",
            key_revocation=key_revocation_json(revocation),
        )
    if as_json:
        echo(json_document({"already_registered": True, **binding_json(binding)}))
        return
    echo(f"✓ this key is already registered as {identity} — nothing to confirm")
    echo(f"  registry      {binding.registry} (since {when(binding.since)})")
    if binding.email.lower() != email.lower():
        echo(
            f"  not {email}: a key is bound to one address; for another, make a new key"
            " (endorse key new --out FILE) and register that"
        )


@json_aware
def confirm_command(
    code: Annotated[
        str,
        typer.Argument(
            metavar="CODE", help="The code you were e-mailed (spaces and dashes are ignored)."
        ),
    ],
    pending: Annotated[
        str,
        typer.Option("--pending", metavar="ID", help="The id `endorse register` printed."),
    ],
    key: KeyFileOption = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
) -> None:
    """Return the e-mailed code: the registry binds your key to your verified e-mail."""
    choice = registry_choice(registry, registry_key)
    signing_key = load_signing_key(key)
    with connected(choice, timeout) as client:
        binding = client.confirm(signing_key, pending, plain_code(code))
    if as_json:
        echo(json_document(binding_json(binding)))
        return
    echo(f"✓ {binding.key} is bound to {binding.name} <{binding.email}>")
    echo(f"  registry      {binding.registry} (since {when(binding.since)})")


# --- endorse issue -------------------------------------------------------------------------


@json_aware
def issue_command(
    name: Annotated[str, typer.Option("--name", metavar="NAME", help="Your name as the endorser.")],
    subject: Annotated[
        str, typer.Option("--subject", metavar="NAME", help="The subject's full name.")
    ],
    relationship: Annotated[
        str,
        typer.Option(
            "--relationship", metavar="ROLE", help="Your role towards the subject: manager, …"
        ),
    ],
    purpose: Annotated[
        list[str],
        typer.Option(
            "--purpose",
            metavar="PURPOSE",
            help="A use the reference may be put to (repeatable): employment-reference,"
            " tenancy-reference, academic-reference, volunteer-reference,"
            " character-reference, or x-….",
        ),
    ],
    key: KeyFileOption = None,
    subject_email: Annotated[
        str | None,
        typer.Option("--subject-email", metavar="EMAIL", help="The subject's e-mail address."),
    ] = None,
    subject_handle: Annotated[
        str | None, typer.Option("--subject-handle", metavar="HANDLE", help="The subject's handle.")
    ] = None,
    subject_key: Annotated[
        str | None,
        typer.Option(
            "--subject-key", metavar="DID", help="The subject's did:key, for holder binding."
        ),
    ] = None,
    org: Annotated[
        str | None, typer.Option("--org", metavar="ORG", help="The organisation.")
    ] = None,
    context: Annotated[
        str,
        typer.Option(
            "--context", metavar="CONTEXT", help="The network: work, university, a community…"
        ),
    ] = "work",
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            metavar="FROM..TO",
            help="When you knew them, FROM..TO, e.g. 2019-01..2023-06.",
        ),
    ] = None,
    audience: Annotated[
        str | None,
        typer.Option(
            "--audience", metavar="AUDIENCE", help="Restrict the reference to one recipient."
        ),
    ] = None,
    statement: StatementOption = None,
    contact: ContactOption = False,
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires", metavar="WHEN", help="YYYY-MM-DD (00:00 UTC) or ISO datetime; default 1y."
        ),
    ] = None,
    not_before: Annotated[
        str | None,
        typer.Option(
            "--not-before",
            metavar="WHEN",
            help="YYYY-MM-DD (00:00 UTC) or ISO datetime; default now.",
        ),
    ] = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="Sign locally only: no registry, no revocation status entry (you cannot"
            " withdraw the token later), no verification URL.",
        ),
    ] = False,
    vc_file: VcFileOption = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
) -> None:
    """Sign an endorsement with your (registered) key, register it with the registry, and
    print its token and verification URL (share the URL with the subject).

    With --offline the token is only signed: it carries no revocation status entry.
    """
    if offline and (registry is not None or registry_key is not None):
        usage_error("--offline issues without a registry: drop --registry / --registry-key")
    if offline and vc_file is not None:
        usage_error("--vc needs a registered endorsement (its revocation must reach it)")
    refuse_existing(vc_file)
    now = _clock.now()
    nbf = None if not_before is None else parse_time(not_before, "--not-before")
    exp = None if expires is None else parse_time(expires, "--expires")
    if nbf is not None and nbf < now:
        usage_error("--not-before: must not be in the past (a reference cannot be backdated)")
    start, end = (None, None) if period is None else parse_period(period)
    with reported():
        who = Subject(nfc(subject), email=subject_email, handle=subject_handle, key=subject_key)
        rel = Relationship(nfc(context), nfc(relationship), org=opt_nfc(org), start=start, end=end)
    if offline:
        signing_key = load_signing_key(key)
        with reported():
            token = issue_token(
                signing_key,
                nfc(name),
                who,
                rel,
                purpose,
                now=now,
                expires=exp,
                not_before=nbf,
                audience=audience,
                statement=opt_nfc(statement),
                contact=contact,
            )
        if as_json:
            e = decode_unverified(token, Endorsement).object  # just signed by us
            echo(json_document({"id": e.id, "token": token, "url": None, "registry": None}))
        else:
            echo(token)
        echo_err(
            "note: issued offline, this token carries no revocation status entry;"
            " verifiers cannot learn if you withdraw it."
        )
        return
    choice = registry_choice(registry, registry_key)  # a usage error before any prompt
    signing_key = load_signing_key(key)
    with connected(choice, timeout) as client:
        issued = client.issue(
            signing_key,
            nfc(name),
            who,
            rel,
            purpose,
            expires=exp,
            not_before=nbf,
            audience=audience,
            statement=opt_nfc(statement),
            contact=contact,
        )
        credential = None if vc_file is None else client.export_vc(signing_key, issued.token)
    if vc_file is not None and credential is not None:
        write_credential(vc_file, credential)
    if as_json:
        status = issued.endorsement.status
        echo(
            json_document(
                {
                    "id": issued.id,
                    "token": issued.token,
                    "url": issued.url,
                    "registry": client.registry,
                    "registered_at": iso(issued.registration.registered_at),
                    "list_id": None if status is None else status.list_id,
                    "index": None if status is None else status.index,
                    "vc": None if vc_file is None else str(vc_file),
                }
            )
        )
        return
    echo(issued.token)
    echo(issued.url)
    echo_err(
        f"✓ endorsement {issued.id} registered at {client.registry}: share the URL (second"
        " line) with the subject; withdraw it any time with: endorse revoke -- " + issued.id
    )


# --- endorse list | revoke -----------------------------------------------------------------


@json_aware
def list_command(
    key: KeyFileOption = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
) -> None:
    """List every endorsement your key registered, oldest first, withdrawn ones included."""
    choice = registry_choice(registry, registry_key)
    signing_key = load_signing_key(key)
    with connected(choice, timeout) as client:
        listed = client.list(signing_key)
    if as_json:
        echo(
            json_document(
                {
                    "key": signing_key.did,
                    "endorsements": [
                        {
                            "id": x.id,
                            "token": x.token,
                            "url": verification_url(client.registry, x.token),
                            "registered_at": iso(x.registered_at),
                            "revoked_at": iso(x.revoked_at),
                            "list_id": x.list_id,
                            "index": x.index,
                            "claims": x.endorsement.to_payload(),
                        }
                        for x in listed
                    ],
                }
            )
        )
        return
    if not listed:
        echo_err(f"no endorsements registered with {signing_key.did}")
    for x in listed:
        e = x.endorsement
        state = "revoked " + when(x.revoked_at) if x.revoked_at is not None else "active"
        rel = e.relationship.role + (f", {e.relationship.org}" if e.relationship.org else "")
        echo(
            f"{x.id}  {state:<28}  {e.subject.name} — {rel}  [{', '.join(e.purposes)}]"
            f"  issued {when(e.issued_at)}"
        )


ENDORSEMENT_ID = re.compile(r"[A-Za-z0-9_-]{21}[AQgw]")
"""An endorsement id: 16 random bytes in base64url (22 characters; the last one carries 4
bits, hence its 4 possible values), as ``endorse.protocol.new_id`` makes them. Checked here
so that a mistyped id is refused in plain words, before any key is loaded."""


@json_aware
def revoke_command(
    endorsement: Annotated[
        str,
        typer.Argument(
            metavar="ID_OR_TOKEN",
            help="The endorsement's id (see endorse list; put -- before an id that starts"
            " with -), or its token.",
        ),
    ],
    reason: Annotated[
        str | None, typer.Option("--reason", metavar="TEXT", help="Why (at most 200).")
    ] = None,
    key: KeyFileOption = None,
    registry: RegistryOption = None,
    registry_key: RegistryKeyOption = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
) -> None:
    """Withdraw an endorsement. The registry records it at once; every verifier sees it
    within the status list's max-age."""
    choice = registry_choice(registry, registry_key)
    target = token_arg(endorsement)
    if not (target.startswith(f"{Endorsement.TYPE}-v1.") or ENDORSEMENT_ID.fullmatch(target)):
        usage_error(f"{target!r} is not an endorsement id or token (see endorse list)")
    signing_key = load_signing_key(key)
    with connected(choice, timeout) as client:
        revoked = client.revoke(signing_key, target, opt_nfc(reason))
    if as_json:
        echo(
            json_document(
                {
                    "id": revoked.id,
                    "revoked_at": iso(revoked.revoked_at),
                    "reason": revoked.revocation.reason,
                }
            )
        )
        return
    echo(f"✓ revoked {revoked.id} at {when(revoked.revoked_at)}")
    if revoked.revocation.reason is not None:
        echo(f"  reason        {revoked.revocation.reason}")
