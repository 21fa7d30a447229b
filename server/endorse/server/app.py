"""The FastAPI application factory.

>>> from endorse.server.settings import Settings
>>> app = create_app(Settings(database_url="sqlite:///:memory:"))  # doctest: +SKIP

``create_app`` reads nothing from the environment unless no settings are passed;
:func:`create_app_from_env` is the factory uvicorn starts (``endorse serve``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from endorse.server import claims, migrate, openapi, problems, registry_key
from endorse.server.context import Context, system_clock
from endorse.server.db import Database
from endorse.server.limits import BodyLimits
from endorse.server.mailer import make_mailer
from endorse.server.methods import HeadAsGet
from endorse.server.observability import RequestMetrics
from endorse.server.ratelimit import BatchedLimiter, DatabaseLimiter, RedisLimiter
from endorse.server.routes import (
    claims as claims_routes,
)
from endorse.server.routes import (
    endorsements,
    identities,
    links,
    metrics,
    ops,
    pages,
    status,
    vc,
    verify,
)
from endorse.server.settings import Settings, load_settings


def create_app(settings: Settings, *, clock: Callable[[], int] = system_clock) -> FastAPI:
    """A registry app for ``settings``; the database must be at the newest schema."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database.connect(settings.sqlalchemy_url)
        try:
            migrate.require_current(db.engine)
            keys = registry_key.load_or_create(db, clock(), registry_key.load_kek(settings))
        except BaseException:
            db.dispose()  # a registry that cannot start holds no connections
            raise
        limiter = BatchedLimiter(
            RedisLimiter(settings.redis_url) if settings.redis_url else DatabaseLimiter(db)
        )
        app.state.context = context = Context(
            settings=settings,
            db=db,
            key=keys.signing,
            mac_seed=keys.mac_seed,
            published_keys=keys.published,
            mailer=make_mailer(settings),
            limiter=limiter,
            clock=clock,
        )
        flusher = asyncio.create_task(_housekeeping(context))
        try:
            yield
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            try:
                context.checks.flush(db)
            except Exception as e:  # the process stops anyway; say what was lost
                log.warning("online-check counts could not be written (%s)", type(e).__name__)
            limiter.dispose()
            db.dispose()

    app = FastAPI(
        title="endorse registry",
        summary="Binds endorser keys to verified identities, records endorsements and"
        " revocations, publishes signed status lists and verifies tokens.",
        version="1",
        lifespan=lifespan,
        # The registry exports its own metrics (/metrics); FastAPI's telemetry hooks would
        # only add work to every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    problems.install(app)
    openapi.install(app)
    app.add_middleware(
        BodyLimits, max_bytes=settings.max_body_bytes, max_depth=settings.max_json_depth
    )
    app.add_middleware(HeadAsGet)
    if settings.trusted_proxies:
        # The client's address (rate limits, logs) and the scheme come from X-Forwarded-For
        # and X-Forwarded-Proto only on connections from these proxies; uvicorn's own
        # handling, which trusts loopback by default, is off (endorse serve).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
    # Outermost, so requests refused by the body limits are counted too.
    app.add_middleware(RequestMetrics)
    app.include_router(ops.router)
    app.include_router(metrics.router)
    app.include_router(identities.router)
    app.include_router(endorsements.router)
    app.include_router(status.router)
    app.include_router(verify.router)
    app.include_router(links.router)
    app.include_router(claims_routes.router)
    claims_routes.install(app)
    app.include_router(vc.router)
    # The recruiter pages; their headers' middleware goes outermost, so that refusals made
    # before any route (the body limits') carry them too.
    pages.install(app)
    return app


log = logging.getLogger("endorse.server")


async def _housekeeping(context: Context) -> None:
    """Every ``check_flush_interval`` seconds (wall time): write the online-check counts, and
    end the reference requests past their deadline, deleting the addresses they held."""
    while True:
        await asyncio.sleep(context.settings.check_flush_interval)
        try:
            await run_in_threadpool(context.checks.flush, context.db)
        except Exception as e:  # kept in memory for the next try
            log.warning("online-check counts could not be written (%s)", type(e).__name__)
        try:
            await run_in_threadpool(claims.sweep_now, context)
        except Exception as e:  # the next sweep (or request or answer) tries again
            log.warning("ended reference requests could not be swept (%s)", type(e).__name__)


def create_app_from_env() -> FastAPI:
    """The factory ``endorse serve`` gives uvicorn: settings from ``ENDORSE_*`` variables."""
    return create_app(load_settings())
