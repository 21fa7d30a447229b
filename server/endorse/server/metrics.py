"""Prometheus metrics of the registry (``GET /metrics``).

Metrics go to a registry object per app (not the process-global default), so several apps in
one process (tests) never share counters. Labels carry no personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "endorse_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "endorse_http_request_seconds",
            "Time to answer a request",
            ["route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )
        self.verdicts = Counter(
            "endorse_verifications",
            "Verifications answered, by verdict",
            ["verdict"],
            registry=self.registry,
        )
        self.revocations = Counter(
            "endorse_revocations", "Endorsements revoked", registry=self.registry
        )
        self.registrations = Counter(
            "endorse_registrations", "Endorsements registered", registry=self.registry
        )
        self.codes_sent = Counter(
            "endorse_confirmation_codes_sent",
            "Confirmation codes e-mailed",
            registry=self.registry,
        )
