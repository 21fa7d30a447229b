"""``GET /metrics``: the registry's Prometheus metrics (text exposition format).

The metrics carry counts and times by route template, verdict and status; no personal data.
With several worker processes (``endorse serve --workers N``) each worker writes its metrics to
the directory named by ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode,
set up by ``endorse serve``), and whichever worker answers reports the sum over all of them.
"""

from __future__ import annotations

import os

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from endorse.server.deps import Ctx

router = APIRouter()

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


@router.get(
    "/metrics",
    tags=["operations"],
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
def metrics(ctx: Ctx) -> Response:
    """Requests, latencies, verdict counts, registrations and revocations."""
    # prometheus-client itself reads this variable (when it is imported) to choose where
    # metric values live; the exposition has to follow the same choice.
    directory = os.environ.get(MULTIPROCESS_ENV)
    if directory:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    else:
        registry = ctx.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
