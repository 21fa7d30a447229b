"""Server settings: pydantic-settings from ``ENDORSE_*`` environment variables.

Nothing is read at import time: :func:`load_settings` reads the environment when the app is
built, and tests pass a :class:`Settings` of their own to :func:`endorse.server.app.create_app`.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from endorse.protocol.errors import MalformedToken
from endorse.protocol.objects import MAX_STATUS_LIST_AGE, check_registry


class Settings(BaseSettings):
    """Everything the registry can be configured with. Secrets are ``SecretStr``."""

    model_config = SettingsConfigDict(env_prefix="ENDORSE_", extra="forbid", frozen=True)

    registry_url: str = "http://127.0.0.1:8080"
    """The registry's id: its public base URL, as written in tokens and statements."""
    data_dir: Path = Path("endorse-data")
    """Where the embedded SQLite database and the mail outbox live."""
    database_url: str | None = None
    """SQLAlchemy URL; unset means SQLite in ``data_dir``. PostgreSQL: postgresql+psycopg://…"""
    dev: bool = False
    """Development mode: the outbox mailer also logs confirmation codes. Never in production."""

    status_max_age: int = Field(300, ge=1, le=MAX_STATUS_LIST_AGE)
    """Seconds a published status list stays fresh (its ``ttl`` and Cache-Control max-age)."""
    status_list_size: int = Field(131_072, ge=131_072, le=2**24, multiple_of=8)
    status_list_fill: float = Field(0.5, gt=0, le=0.9)
    """A list stops taking new slots at this fill ratio, so random indexes stay cheap."""

    mailer: Literal["outbox", "smtp"] = "outbox"
    outbox_dir: Path | None = None
    """Outbox directory (``.eml`` files); default ``data_dir/outbox``."""
    mail_from: str = "endorse registry <registry@localhost>"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_starttls: bool = True
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout: float = Field(10.0, gt=0)

    redis_url: str | None = None
    """Rate-limit state in Redis when set; in the database otherwise."""

    max_body_bytes: int = Field(64 * 1024, ge=1024, le=4 * 1024 * 1024)
    max_json_depth: int = Field(8, ge=2, le=64)
    verify_batch_max: int = Field(100, ge=1, le=1000)
    code_ttl: int = Field(900, ge=60, le=3600)
    code_max_attempts: int = Field(5, ge=1, le=20)

    limit_register_per_email: int = Field(5, ge=1)
    limit_register_per_client: int = Field(20, ge=1)
    limit_register_window: int = Field(3600, ge=1)
    limit_confirm_per_client: int = Field(30, ge=1)
    limit_confirm_window: int = Field(900, ge=1)
    limit_verify_per_client: int = Field(6000, ge=1)
    limit_verify_window: int = Field(60, ge=1)
    limit_qr_per_client: int = Field(30, ge=1)
    limit_qr_window: int = Field(60, ge=1)
    """QR codes a client may have drawn per window (``POST /api/v1/qr`` and the QR code of a
    valid result page; one already drawn comes from a small cache and is not counted). Each
    drawing costs a worker thread tens to hundreds of milliseconds of CPU (longer tokens
    more), so the limit is far below the verification limit."""

    limit_links_per_client: int = Field(30, ge=1)
    """Short links (``POST /api/v1/links``) and short-link withdrawals a client address may
    ask for per ``limit_links_window`` (spec §11.6); opening one counts as a verification."""
    limit_links_window: int = Field(3600, ge=1)

    limit_ask_per_client: int = Field(30, ge=1)
    """Reference requests (``POST /api/v1/requests``) a client address may start per hour."""
    limit_ask_per_requester: int = Field(20, ge=1)
    """Reference requests one requester address may make per day."""
    limit_ask_per_referee: int = Field(10, ge=1)
    """Reference requests naming one referee address the registry takes per day."""
    limit_ask_per_triple: int = Field(3, ge=1)
    """Requests by one requester to one referee about one subject per 30 days."""
    check_flush_interval: float = Field(30.0, gt=0, le=3600)
    """Seconds between writes of the online-check counts a process holds in memory (they
    are also written when the endorser asks for them and when the process stops), and
    between sweeps that end reference requests and delete the addresses they held."""

    key_encryption_key: SecretStr | None = None
    """The key-encryption key of the registry's signing keys, base64url of 32 bytes (or use
    ``key_encryption_key_file``). Every instance sharing the database needs the same one."""
    key_encryption_key_file: Path | None = None
    """A file holding the key-encryption key (mode 0600, owned by the server's user); without
    this or ``key_encryption_key``, ``data_dir/registry-key-encryption-key`` is made on first
    start."""

    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()
    """Addresses or networks (comma-separated) of the reverse proxies in front of the registry.
    Only a connection from one of them has its ``X-Forwarded-For`` and ``X-Forwarded-Proto``
    honoured (for rate limits and logs); by default nobody's is, not even loopback's."""

    max_connections: int = Field(1000, ge=1, le=100_000)
    """Connections and requests one worker takes at once; past it a request is answered 503."""
    max_header_bytes: int = Field(16 * 1024, ge=1024, le=1024 * 1024)
    """Bytes of a request's line and headers together; more is answered 431 and closed."""
    max_header_count: int = Field(100, ge=8, le=1000)
    """Headers one request may carry; more is answered 431 and closed."""
    header_timeout: float = Field(10.0, gt=0, le=300)
    """Seconds a client has, from its first byte (or from connecting), to send the request's
    line and headers; a slower one is answered 408 and dropped."""
    body_timeout: float = Field(30.0, gt=0, le=600)
    """Seconds a client has, once its headers are in, to send the whole body; a slower one
    is dropped."""

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _trusted_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list | tuple):
            return value
        networks = []
        for part in value:
            try:
                networks.append(str(ipaddress.ip_network(str(part), strict=False)))
            except ValueError as e:
                raise ValueError(
                    f"{part!r} is not an IP address or network (names and * are not allowed)"
                ) from e
        return tuple(networks)

    @field_validator("registry_url")
    @classmethod
    def _registry_url(cls, value: str) -> str:
        try:
            return check_registry(value, "ENDORSE_REGISTRY_URL")
        except MalformedToken as e:
            raise ValueError(str(e)) from e

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'endorse.sqlite3').resolve()}"

    @property
    def outbox_path(self) -> Path:
        return self.outbox_dir if self.outbox_dir is not None else self.data_dir / "outbox"


def load_settings() -> Settings:
    """Settings from the environment (``ENDORSE_*``), read now.

    Raises:
        pydantic.ValidationError: a variable has a value out of range; the message names it.
    """
    return Settings()


__all__ = ["Settings", "load_settings"]
