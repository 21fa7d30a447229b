"""The core's short-link flows (spec §11.6): make one, resolve one, withdraw one.

A short link is a pointer the registry keeps, never evidence: :meth:`Linking.resolve_link`
answers the token, which the caller verifies as any token.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from endorse.client._base import CoreBase
from endorse.client._wire import Flow, LinkOut, LinkRevokedOut, LinksRevokedOut, ResolvedLinkOut
from endorse.client.errors import RegistryStatementInvalid
from endorse.client.models import ShortLink, ShortLinkRevoked, ShortLinksRevoked
from endorse.protocol import (
    Endorsement,
    InvalidArgument,
    SigningKey,
    decode_unverified,
    token_hash,
)
from endorse.protocol.paste import Paste, ShortLinkPaste, UnreadablePaste, read_paste

SHORT_PATH = "/s"
_ID = re.compile(r"[A-Za-z0-9_-]{21}[AQgw]")
_SECRET = re.compile(r"[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]")
_TOKEN = re.compile(r"[a-z0-9-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
"""A token's outline (spec §11.5 step 6): what a registry's answer for a short link must have."""
_ISO = "%Y-%m-%dT%H:%M:%SZ"


class Linking(CoreBase):
    """Short links at this client's registry."""

    def shorten(self, token: str) -> Flow[ShortLink]:
        """Ask the registry for a short link to ``token`` (registered there)."""
        if type(token) is not str:
            raise InvalidArgument("a token is a str")
        decode_unverified(token, Endorsement)  # refuse to send what is no endorsement
        yield from self.contact(strict=True)
        response = yield from self._one(self._post("/api/v1/links", {"token": token}))
        made = self._decode(self._expect(response, 201), LinkOut, "a short link")
        if _ID.fullmatch(made.id) is None or made.url != self.short_url(made.id):
            raise RegistryStatementInvalid(f"{self.registry}: answered a malformed short link")
        if _SECRET.fullmatch(made.revocation_secret) is None:
            raise RegistryStatementInvalid(f"{self.registry}: answered a malformed secret")
        return ShortLink(made.id, made.url, made.revocation_secret, self._time(made.created_at))

    def short_url(self, link_id: str) -> str:
        return f"{self.registry}{SHORT_PATH}#{link_id}"

    def link_id(self, id_or_url: str) -> str:
        """The id of a short link of this registry, given as its id or as a pasted link
        (read by spec §11.5).

        Raises:
            InvalidArgument: neither, or a short link of another registry.
        """
        if type(id_or_url) is not str:
            raise InvalidArgument("a short link or its id is a str")
        if _ID.fullmatch(id_or_url):
            return id_or_url
        try:
            read: Paste | ShortLinkPaste = read_paste(id_or_url)
        except UnreadablePaste as e:
            raise InvalidArgument(f"not a short link: {e}") from e
        if not isinstance(read, ShortLinkPaste):
            raise InvalidArgument("not a short link (…/s#ID): a token or a verification link")
        if read.registry != self.registry:
            raise InvalidArgument(
                f"this short link belongs to another registry, {read.registry} (this client's"
                f" is {self.registry}): resolve it there"
            )
        return read.id

    def resolve_link(self, id_or_url: str) -> Flow[str]:
        """The token short link ``id_or_url`` stands for, asked by POST (the id in a body).
        Verify it as any token: a short link is a pointer, never evidence.

        Raises:
            RegistryStatementInvalid: the registry answered something that is no token (a
                link, text): it is not passed on to be verified as one.
        """
        link_id = self.link_id(id_or_url)
        yield from self.contact(strict=True)
        request = self._post("/api/v1/links/resolve", {"id": link_id}, idempotent=True)
        response = yield from self._one(request)
        token = self._decode(self._expect(response, 200), ResolvedLinkOut, "a short link").token
        if _TOKEN.fullmatch(token) is None:
            raise RegistryStatementInvalid(f"{self.registry}: answered no token for a short link")
        return token

    def revoke_link(
        self,
        id_or_url: str,
        *,
        revocation_secret: str | None,
        key: SigningKey | None,
        now: int,
    ) -> Flow[ShortLinkRevoked]:
        """Withdraw a short link with its revocation secret, or by a request signed by
        ``key`` (the key that signed its token)."""
        link_id = self.link_id(id_or_url)
        if (revocation_secret is None) == (key is None):
            raise InvalidArgument("withdraw a short link with its revocation secret or a key")
        yield from self.contact(strict=True)
        path = "/api/v1/links/revoke"
        if revocation_secret is not None:
            if type(revocation_secret) is not str or not _SECRET.fullmatch(revocation_secret):
                raise InvalidArgument(
                    "a revocation secret is the 43 characters given with the short link"
                )
            body = {"id": link_id, "revocation_secret": revocation_secret}
            request = self._post(path, body)
        else:
            assert key is not None
            request = self._signed(key, "POST", path, {"id": link_id}, now)
        response = yield from self._one(request)
        done = self._decode(self._expect(response, 200), LinkRevokedOut, "a withdrawal")
        if done.id != link_id:
            raise RegistryStatementInvalid(f"{self.registry}: withdrew another short link")
        return ShortLinkRevoked(done.id, self._time(done.revoked_at))

    def revoke_links(self, token: str, *, key: SigningKey, now: int) -> Flow[ShortLinksRevoked]:
        """Withdraw every short link of ``token``, by a request signed by ``key`` (the key
        that signed it): whoever made them, so with no id or secret."""
        if type(token) is not str:
            raise InvalidArgument("a token is a str")
        decode_unverified(token, Endorsement)  # refuse to hash what is no endorsement
        th = token_hash(token)
        yield from self.contact(strict=True)
        request = self._signed(key, "POST", "/api/v1/links/revoke-all", {"token_hash": th}, now)
        response = yield from self._one(request)
        done = self._decode(self._expect(response, 200), LinksRevokedOut, "a withdrawal")
        if done.token_hash != th or type(done.withdrawn) is not int or done.withdrawn < 0:
            raise RegistryStatementInvalid(f"{self.registry}: answered another withdrawal")
        return ShortLinksRevoked(th, done.withdrawn, self._time(done.revoked_at))

    def _time(self, text: str) -> int:
        try:
            return int(datetime.strptime(text, _ISO).replace(tzinfo=UTC).timestamp())
        except ValueError as e:
            raise RegistryStatementInvalid(f"{self.registry}: answered a malformed time") from e
