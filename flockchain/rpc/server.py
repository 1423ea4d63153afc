"""The RPC port: a Starlette app served by Hypercorn's HTTP server, inside the node's nursery.

Routes (DESIGN §10): JSON-RPC 2.0 over HTTP POST and over a WebSocket at ``/`` (the WebSocket
adds subscriptions: :mod:`flockchain.rpc.websocket`), Substrate's health endpoints, and the
node's Prometheus metrics at ``/metrics``. The JSON-RPC protocol itself lives in
:mod:`flockchain.rpc.jsonrpc`; this module only moves messages in and out. A browser's request
from an origin the CORS policy does not allow is refused before anything runs
(:class:`CorsGuard`); unsafe methods are refused when the options deny them.

Everything an outsider sends is bounded (:class:`RpcLimits`): the size, cost and reply of one
message; how many connections are open, overall and per client address; how long a connection
may sit idle or take to send a request's head, how slowly a body may arrive, and how long a
client may take to read a reply. The accept loop is ours so that connections can be counted
(:mod:`flockchain.rpc.connections`); each admitted one is served by Hypercorn.

Start with ``port = await nursery.start(serve_rpc, api, host, port)``; stop by cancelling the
surrounding scope.
"""

from __future__ import annotations

import logging
from contextlib import aclosing
from dataclasses import dataclass
from functools import partial

import trio
from hypercorn.app_wrappers import ASGIWrapper
from hypercorn.config import Config
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flockchain.metrics import METRICS_CONTENT_TYPE, NodeMetrics
from flockchain.rpc.api import NodeApi, NodeHealth
from flockchain.rpc.connections import ConnectionGate, serve_connection
from flockchain.rpc.jsonrpc import (
    DEFAULT_MAX_BATCH_COST,
    DEFAULT_MAX_BATCH_SIZE,
    DEFAULT_MAX_REPLY_SIZE,
    OversizedRequest,
    build_error_response,
    encode_response,
)
from flockchain.rpc.methods import encode_health_json, get_health
from flockchain.rpc.options import DEFAULT_OPTIONS, CorsPolicy, RpcOptions
from flockchain.rpc.registry import build_dispatcher
from flockchain.rpc.subscriptions import (
    DEFAULT_MAX_SUBSCRIPTIONS,
    DEFAULT_MAX_WATCHED_KEYS,
    DEFAULT_OUTBOX_CAPACITY,
    SessionLimits,
)
from flockchain.rpc.websocket import handle_websocket
from runtime.errors import FlockError

LOGGER = logging.getLogger(__name__)

DEFAULT_RPC_HOST = "127.0.0.1"
DEFAULT_RPC_PORT = 9944
DEFAULT_MAX_BODY_SIZE = 10 * 1024 * 1024


@dataclass(frozen=True)
class RpcLimits:
    """What clients may ask of the server: in one message, in connections, and in time."""

    # One message.
    max_body_size: int = DEFAULT_MAX_BODY_SIZE  # bytes; larger requests get HTTP 413
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE  # calls; larger batches get one error
    max_batch_cost: int = DEFAULT_MAX_BATCH_COST  # the calls' methods' costs, summed
    max_reply_size: int = DEFAULT_MAX_REPLY_SIZE  # bytes of one reply (a response, or a whole batch's)
    # Connections open at once (Substrate's default is 100 in all).
    max_connections: int = 100
    max_connections_per_client: int = 16  # from one IP address
    # Time (seconds; bytes per second).
    keep_alive_timeout_s: float = 5.0  # idle between requests, or before a request's head has arrived
    read_timeout_s: int = 30  # silence from a client while its request is in flight
    body_grace_s: float = 5.0  # a body must arrive within this, plus a second for each ...
    min_body_rate: int = 16 * 1024  # ... this many bytes: a slower one gets HTTP 408
    send_timeout_s: float = 30.0  # for the client to take each piece of a reply
    # WebSocket subscriptions, per connection (Substrate's defaults).
    max_subscriptions_per_connection: int = DEFAULT_MAX_SUBSCRIPTIONS
    max_watched_keys_per_connection: int = DEFAULT_MAX_WATCHED_KEYS  # storage keys, all subscriptions together
    max_buffered_messages: int = (
        DEFAULT_OUTBOX_CAPACITY  # waiting to be sent: a subscriber that lets more pile up is dropped
    )
    websocket_ping_interval_s: float = 10.0  # a client must answer (pongs count as traffic) within read_timeout_s

    def get_session_limits(self) -> SessionLimits:
        return SessionLimits(
            self.max_subscriptions_per_connection, self.max_watched_keys_per_connection, self.max_buffered_messages
        )


DEFAULT_LIMITS = RpcLimits()


@dataclass(frozen=True)
class RpcSettings:
    """Where and how a node serves RPC (``flockchain.cli.rpc_options`` builds it from flags)."""

    host: str = DEFAULT_RPC_HOST
    port: int = DEFAULT_RPC_PORT
    limits: RpcLimits = DEFAULT_LIMITS
    options: RpcOptions = DEFAULT_OPTIONS


class SlowRequest(FlockError):
    """A request's body arrived more slowly than the limits allow."""


# --- the ASGI app -------------------------------------------------------------------------


def build_app(
    api: NodeApi,
    *,
    limits: RpcLimits = DEFAULT_LIMITS,
    options: RpcOptions = DEFAULT_OPTIONS,
    metrics: NodeMetrics | None = None,
) -> ASGIApp:
    """The app; its state holds the node interface, the dispatcher, the limits and the metrics
    (a registry of its own when the node gives none)."""
    app = Starlette(
        routes=[
            Route("/", handle_rpc_post, methods=["POST"]),
            WebSocketRoute("/", handle_websocket),
            Route("/health", handle_health, methods=["GET"]),
            Route("/health/readiness", handle_readiness, methods=["GET"]),
            Route("/metrics", handle_metrics, methods=["GET"]),
        ]
    )
    metrics = metrics or NodeMetrics()
    app.state.api = api
    app.state.limits = limits
    app.state.session_limits = limits.get_session_limits()
    app.state.metrics = metrics
    app.state.count_subscriptions = metrics.rpc_subscriptions.inc
    app.state.dispatcher = build_dispatcher(
        api,
        max_batch_size=limits.max_batch_size,
        max_batch_cost=limits.max_batch_cost,
        max_reply_size=limits.max_reply_size,
        deny_unsafe=options.deny_unsafe,
        observe_call=metrics.count_rpc_call,
    )
    return CorsGuard(app, options.cors)


class CorsGuard:
    """Browsers' requests only from allowed origins: another origin gets HTTP 403 (a WebSocket,
    a refused handshake) before anything runs, as Substrate's server does; an allowed one gets
    the CORS headers its browser needs, preflights included. Requests without an ``Origin``
    header do not come from a browser page and pass."""

    def __init__(self, app: ASGIApp, policy: CorsPolicy) -> None:
        self.app = app
        self.policy = policy

    @property
    def state(self) -> object:
        return self.app.state  # type: ignore[attr-defined]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = get_header(scope, b"origin") if scope["type"] in ("http", "websocket") else None
        if origin is None:
            await self.app(scope, receive, send)
        elif not self.policy.is_allowed(origin):
            await refuse_origin(scope, receive, send, origin)
        elif scope["type"] == "http" and scope["method"] == "OPTIONS":
            await send_preflight(send, origin)
        else:
            await self.app(scope, receive, partial(send_with_cors, send, origin))


def get_header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


async def refuse_origin(scope: Scope, receive: Receive, send: Send, origin: str) -> None:
    LOGGER.debug("RPC request from origin %s refused by the CORS policy", origin)
    if scope["type"] == "websocket":
        await receive()  # the handshake
        await send({"type": "websocket.close", "code": 1008, "reason": ""})  # before accept: HTTP 403
        return
    body = b"Origin of the request is not whitelisted (--rpc-cors)"
    await send({"type": "http.response.start", "status": 403, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def build_cors_headers(origin: str) -> list[tuple[bytes, bytes]]:
    return [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"origin")]


async def send_preflight(send: Send, origin: str) -> None:
    headers = build_cors_headers(origin) + [
        (b"access-control-allow-methods", b"POST, GET, OPTIONS"),
        (b"access-control-allow-headers", b"content-type"),
        (b"access-control-max-age", b"3600"),
    ]
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def send_with_cors(send: Send, origin: str, message: Message) -> None:
    if message["type"] == "http.response.start":
        message = {**message, "headers": [*message.get("headers", ()), *build_cors_headers(origin)]}
    await send(message)


async def handle_rpc_post(request: Request) -> Response:
    """One JSON-RPC message per POST; JSON-RPC errors still travel with HTTP 200.

    A client that goes away, or sends too slowly, costs one debug line: either is cheap to do
    on purpose, so neither may cost a traceback in the log.
    """
    try:
        body = await read_body(request, request.app.state.limits)
    except OversizedRequest as error:
        return Response(encode_response(build_error_response(None, error)), 413, media_type="application/json")
    except SlowRequest as error:
        LOGGER.debug("RPC client %s: %s; closing", describe_client(request), error)
        return Response(status_code=408, headers={"connection": "close"})
    except ClientDisconnect:
        LOGGER.debug("RPC client %s went away before its request arrived", describe_client(request))
        return Response(status_code=400)  # nobody is left to read it
    reply = await request.app.state.dispatcher.handle_message(body)
    if reply is None:
        return Response(status_code=204)  # only notifications: nothing is owed
    return Response(reply, media_type="application/json")


async def read_body(request: Request, limits: RpcLimits) -> bytes:
    """The request body, refused as soon as it is known to exceed ``max_body_size`` bytes or to
    arrive too slowly.

    The declared length is checked first and the stream is counted as it arrives, so an
    oversized (or lying) client never makes the node buffer more than the limit. Each byte
    received moves the deadline for the rest (:func:`compute_body_deadline`), so a client that
    trickles its body cannot hold the connection for long; raises :class:`SlowRequest`.
    """
    limit = limits.max_body_size
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise OversizedRequest(limit)
    chunks: list[bytes] = []
    size = 0
    started = trio.current_time()
    with trio.move_on_at(compute_body_deadline(started, 0, limits)) as deadline:
        async with aclosing(request.stream()) as stream:
            async for chunk in stream:
                size += len(chunk)
                if size > limit:
                    raise OversizedRequest(limit)
                chunks.append(chunk)
                deadline.deadline = compute_body_deadline(started, size, limits)
    if deadline.cancelled_caught:
        raise SlowRequest(f"{size} bytes of its body in {trio.current_time() - started:.1f} s")
    return b"".join(chunks)


def compute_body_deadline(started: float, received: int, limits: RpcLimits) -> float:
    """When the rest of a body must have arrived by, given ``received`` bytes so far: the grace,
    plus a second per ``min_body_rate`` bytes received."""
    return started + limits.body_grace_s + received / limits.min_body_rate


def describe_client(request: Request) -> str:
    return "unknown" if request.client is None else f"{request.client.host}:{request.client.port}"


async def handle_health(request: Request) -> JSONResponse:
    """Substrate's ``/health``: ``system_health`` over plain GET, for load balancers."""
    return JSONResponse(encode_health_json(get_health(request.app.state.api)))


async def handle_readiness(request: Request) -> JSONResponse:
    """Substrate's ``/health/readiness``: 200 once the node can serve current data, else 503."""
    health = get_health(request.app.state.api)
    return JSONResponse(encode_health_json(health), 200 if is_ready(health) else 503)


async def handle_metrics(request: Request) -> Response:
    """The node's metrics in Prometheus' text format."""
    return Response(request.app.state.metrics.render(), media_type=METRICS_CONTENT_TYPE)


def is_ready(health: NodeHealth) -> bool:
    """Caught up, and connected unless the chain is meant to run alone (a dev chain)."""
    return not health.is_syncing and (health.peers > 0 or not health.should_have_peers)


# --- serving ------------------------------------------------------------------------------


def build_hypercorn_config(limits: RpcLimits) -> Config:
    """Hypercorn's timeouts from ours; it logs through ours, with no access log per request.

    Its keep-alive timeout also runs from a connection's start until a request's head has
    arrived, so it bounds a client that trickles its headers.
    """
    config = Config()
    config.accesslog = None
    config.errorlog = LOGGER
    config.keep_alive_timeout = limits.keep_alive_timeout_s
    config.read_timeout = limits.read_timeout_s
    config.websocket_max_message_size = limits.max_body_size
    config.websocket_ping_interval = limits.websocket_ping_interval_s
    return config


class RpcPortUnavailable(FlockError):
    """The RPC address cannot be listened on (in use, or not an address of this host)."""


async def serve_rpc(
    api: NodeApi,
    host: str = DEFAULT_RPC_HOST,
    port: int = DEFAULT_RPC_PORT,
    *,
    limits: RpcLimits = DEFAULT_LIMITS,
    options: RpcOptions = DEFAULT_OPTIONS,
    metrics: NodeMetrics | None = None,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve RPC until cancelled; reports the bound port (the real one for ``port=0``).

    Start with ``await nursery.start(serve_rpc, api, host, port)`` (``nursery.start`` passes
    no keyword arguments, hence positional ``host`` and ``port``). ``host`` is an IP address.
    ``start`` returns once the socket listens, so clients can connect; a port that cannot be
    listened on raises :class:`RpcPortUnavailable` from ``start``. Cancellation is the
    shutdown: ``trio.serve_listeners`` closes the listening socket on its way out and open
    connections close as their tasks are cancelled, so the port is free once this returns.
    """
    try:
        listeners = await trio.open_tcp_listeners(port, host=host)
    except OSError as error:
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        raise RpcPortUnavailable(f"cannot listen for RPC on {address}: {error}") from None
    gate = ConnectionGate(limits.max_connections, limits.max_connections_per_client)
    app = ASGIWrapper(build_app(api, limits=limits, options=options, metrics=metrics))  # type: ignore[arg-type]
    handler = partial(serve_connection, app, build_hypercorn_config(limits), gate, limits.send_timeout_s)
    task_status.started(listeners[0].socket.getsockname()[1])
    await trio.serve_listeners(handler, listeners)
