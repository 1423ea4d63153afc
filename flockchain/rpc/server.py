"""The RPC port: a Starlette app served by Hypercorn's trio worker, inside the node's nursery.

Routes (DESIGN §10): JSON-RPC 2.0 over HTTP POST at ``/``, and Substrate's health endpoints.
The JSON-RPC protocol itself lives in :mod:`flockchain.rpc.jsonrpc`; this module only moves
messages in and out, so a WebSocket endpoint for subscriptions is one more route at ``/``
(``WebSocketRoute("/", ...)`` feeding each text message to the same dispatcher).

Start with ``port = await nursery.start(serve_rpc, api, host, port)``; stop by cancelling the
surrounding scope.
"""

from __future__ import annotations

import logging
from contextlib import aclosing
from dataclasses import dataclass

import hypercorn.trio
import trio
from hypercorn.config import Config
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from flockchain.rpc.api import NodeApi, NodeHealth
from flockchain.rpc.jsonrpc import (
    DEFAULT_MAX_BATCH_COST,
    DEFAULT_MAX_BATCH_SIZE,
    DEFAULT_MAX_REPLY_SIZE,
    OversizedRequest,
    build_error_response,
    encode_response,
)
from flockchain.rpc.methods import build_dispatcher, encode_health_json, get_health
from runtime.errors import FlockError

LOGGER = logging.getLogger(__name__)

DEFAULT_RPC_HOST = "127.0.0.1"
DEFAULT_RPC_PORT = 9944
DEFAULT_MAX_BODY_SIZE = 10 * 1024 * 1024


@dataclass(frozen=True)
class RpcLimits:
    """What one client may ask of the server in one message."""

    max_body_size: int = DEFAULT_MAX_BODY_SIZE  # bytes; larger requests get HTTP 413
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE  # calls; larger batches get one error
    max_batch_cost: int = DEFAULT_MAX_BATCH_COST  # the calls' methods' costs, summed
    max_reply_size: int = DEFAULT_MAX_REPLY_SIZE  # bytes of one reply (a response, or a whole batch's)


DEFAULT_LIMITS = RpcLimits()


# --- the ASGI app -------------------------------------------------------------------------


def build_app(api: NodeApi, *, limits: RpcLimits = DEFAULT_LIMITS) -> Starlette:
    """The app; its state holds the node interface, the dispatcher and the limits."""
    app = Starlette(
        routes=[
            Route("/", handle_rpc_post, methods=["POST"]),
            Route("/health", handle_health, methods=["GET"]),
            Route("/health/readiness", handle_readiness, methods=["GET"]),
        ]
    )
    app.state.api = api
    app.state.limits = limits
    app.state.dispatcher = build_dispatcher(
        api,
        max_batch_size=limits.max_batch_size,
        max_batch_cost=limits.max_batch_cost,
        max_reply_size=limits.max_reply_size,
    )
    return app


async def handle_rpc_post(request: Request) -> Response:
    """One JSON-RPC message per POST; JSON-RPC errors still travel with HTTP 200."""
    try:
        body = await read_body(request, request.app.state.limits.max_body_size)
    except OversizedRequest as error:
        return Response(encode_response(build_error_response(None, error)), 413, media_type="application/json")
    reply = await request.app.state.dispatcher.handle_message(body)
    if reply is None:
        return Response(status_code=204)  # only notifications: nothing is owed
    return Response(reply, media_type="application/json")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it is known to exceed ``limit`` bytes.

    The declared length is checked first and the stream is counted as it arrives, so an
    oversized (or lying) client never makes the node buffer more than ``limit`` bytes.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise OversizedRequest(limit)
    chunks: list[bytes] = []
    size = 0
    async with aclosing(request.stream()) as stream:
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                raise OversizedRequest(limit)
            chunks.append(chunk)
    return b"".join(chunks)


async def handle_health(request: Request) -> JSONResponse:
    """Substrate's ``/health``: ``system_health`` over plain GET, for load balancers."""
    return JSONResponse(encode_health_json(get_health(request.app.state.api)))


async def handle_readiness(request: Request) -> JSONResponse:
    """Substrate's ``/health/readiness``: 200 once the node can serve current data, else 503."""
    health = get_health(request.app.state.api)
    return JSONResponse(encode_health_json(health), 200 if is_ready(health) else 503)


def is_ready(health: NodeHealth) -> bool:
    """Caught up, and connected unless the chain is meant to run alone (a dev chain)."""
    return not health.is_syncing and (health.peers > 0 or not health.should_have_peers)


# --- serving ------------------------------------------------------------------------------


def build_hypercorn_config(host: str, port: int) -> Config:
    """Plain HTTP on one address; Hypercorn logs through ours, with no access log per request."""
    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = LOGGER
    return config


def parse_bound_port(binds: list[str]) -> int:
    """The port Hypercorn listens on, from the URLs it reports (``http://127.0.0.1:54321``)."""
    return int(binds[0].rsplit(":", 1)[1])


class RpcPortUnavailable(FlockError):
    """The RPC address cannot be listened on (in use, or not an address of this host)."""


class _PortReport(trio.TaskStatus[list[str]]):
    """Hypercorn's readiness report (the URLs it listens on) passed on as ours (the port)."""

    def __init__(self, task_status: trio.TaskStatus[int]) -> None:
        self._task_status = task_status
        self.is_listening = False

    def started(self, value: list[str] | None = None) -> None:
        if value is None:
            raise TypeError("Hypercorn reports the addresses it listens on")
        self.is_listening = True
        self._task_status.started(parse_bound_port(value))


async def serve_rpc(
    api: NodeApi,
    host: str = DEFAULT_RPC_HOST,
    port: int = DEFAULT_RPC_PORT,
    *,
    limits: RpcLimits = DEFAULT_LIMITS,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve RPC until cancelled; reports the bound port (the real one for ``port=0``).

    Start with ``await nursery.start(serve_rpc, api, host, port)`` (``nursery.start`` passes
    no keyword arguments, hence positional ``host`` and ``port``). Hypercorn reports
    its addresses once the socket listens, so ``start`` returns when clients can connect; a
    port that cannot be listened on raises :class:`RpcPortUnavailable` from ``start``.
    Cancellation is the shutdown: trio's ``serve_listeners`` closes the listening socket on
    its way out and open connections close as their tasks are cancelled, so the port is free
    once this returns.
    """
    config = build_hypercorn_config(host, port)
    report = _PortReport(task_status)
    try:
        await hypercorn.trio.serve(build_app(api, limits=limits), config, task_status=report, mode="asgi")
    except BaseExceptionGroup as group:
        bind_error, _ = group.split(OSError)
        if report.is_listening or bind_error is None:
            raise
        raise RpcPortUnavailable(f"cannot listen for RPC on {config.bind[0]}: {first_leaf(bind_error)}") from group


def first_leaf(group: BaseExceptionGroup) -> BaseException:
    """The first exception inside nested groups (Hypercorn nests one per nursery)."""
    leaf: BaseException = group
    while isinstance(leaf, BaseExceptionGroup):
        leaf = leaf.exceptions[0]
    return leaf
