"""The sans-I/O core of the registry client, shared by :class:`Client` and :class:`AsyncClient`.

Every call is a *flow*: a generator that yields batches of :class:`Request` and is sent back
one :class:`Outcome` per request (a :class:`Response`, or :class:`RegistryUnreachable` when the
network failed), and finally returns the call's answer. The flow builds each request (method,
URL, headers with the spec §10 request signature, body bytes) and checks each answer: problem
documents become :class:`RegistryError`, registry statements are verified under the pinned
registry key (:class:`RegistryStatementInvalid` when they do not), and verified facts go to the
:class:`~endorse.client.cache.FactCache`. The flows never touch the network and never read a
clock: the current time is an argument. The two clients only drive them, as httpx's clients
drive its auth flows::

    flow = core.verify([VerifyItem(token)], now=int(time.time()), allow_stale=0)
    batch = next(flow)
    while True:
        try:
            batch = flow.send([send(request) for request in batch])
        except StopIteration as done:
            results = done.value
            break

Verification is offline-first (spec §6.1): the flow asks the registry for facts only (an
issuer's key binding and key state, a status list, a registration), never for a verdict, and
runs :func:`~endorse.protocol.verify_endorsement` itself. It runs it first with the fresh facts
the cache holds (with warm caches that is all: one parse and one signature check per token);
the tokens whose good signature names an issuer, list or registration the cache lacks (or
holds past its freshness) are verified again once those are fetched, each fact once per call.
The core does no network I/O and reads no clock; the stores it is handed (the fact cache, the
pin store) may keep files when the caller asked for that (:attr:`Core.uses_files`: the async
client then runs the flows' steps, one at a time, in a worker thread, through :func:`advance`).

:class:`Core` is assembled from one module per concern: :mod:`._wire` (requests, outcomes and
the answers' shapes), :mod:`._base` (state, request building, statement checks, retries, the
first contact), :mod:`._verifying` (the verifier's flows) and :mod:`._endorsing` (the
endorser's flows), :mod:`._claiming` (claimed references: requests, answers, standing
statements, refusals) and :mod:`._linking` (short links, spec §11.6).
"""

from __future__ import annotations

from endorse.client._claiming import Claiming
from endorse.client._linking import Linking
from endorse.client._wire import Done, Flow, Outcome, Request, Response, advance

__all__ = ["Core", "Done", "Flow", "Outcome", "Request", "Response", "advance"]


class Core(Claiming, Linking):
    """The client's state (pinned key, registry description, caches) and its flows.

    Args:
        registry: the registry's id, its base URL (``https://…``; ``http`` only on loopback).
        registry_key: the registry's did:key when the caller pins it; else trust on first use
            through ``pins``.
        pins: where first-contact keys are recorded and read (ignored with ``registry_key``).
        cache: the verified facts.
        retries: how often an idempotent request is retried.

    Raises:
        InvalidArgument: ``registry`` is not a registry id, ``retries`` not an int >= 0, or
            neither ``registry_key`` nor ``pins`` was given.
        InvalidKey: ``registry_key`` is not an Ed25519 did:key.
        PinStoreError: the pin store cannot be read.
    """
