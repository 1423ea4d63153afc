"""Who may hold a connection to the RPC port, and for how long, beneath Hypercorn.

Hypercorn serves one HTTP connection at a time per task but admits every connection the kernel
accepts, and lets a client that stops reading its reply hold the connection as long as it
likes. An outsider with a thousand connections could therefore exhaust the node's file
descriptors (``EMFILE``), and RPC with them. So the accept loop is ours (``trio.serve_listeners``)
and each connection passes through here first: a :class:`ConnectionGate` admits it only under
both the overall and the per-client-address limit (a refused one gets a ``503`` and is closed at
once), and its sends are bounded in time (:class:`ClientStream`). What arrives is bounded by
Hypercorn's timeouts and the server's minimum body rate (``server.read_body``).
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable

import trio
from hypercorn.app_wrappers import ASGIWrapper
from hypercorn.config import Config
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState

LOGGER = logging.getLogger(__name__)

REFUSAL = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
REFUSAL_TIMEOUT_S = 1.0  # a fresh socket's send buffer takes the refusal at once; never wait long


class ConnectionGate:
    """Open connections counted overall and per client address; a new one is admitted only
    under both limits, so one client holds at most its share and all clients together hold a
    bounded number of the node's file descriptors."""

    def __init__(self, max_total: int, max_per_client: int) -> None:
        if min(max_total, max_per_client) < 1:
            raise ValueError("connection limits must be positive")
        self.max_total = max_total
        self.max_per_client = max_per_client
        self._open: Counter[str] = Counter()
        self._total = 0

    def try_admit(self, client: str) -> bool:
        """Count a new connection from ``client`` if both limits allow it."""
        if self._total >= self.max_total or self._open[client] >= self.max_per_client:
            return False
        self._open[client] += 1
        self._total += 1
        return True

    def release(self, client: str) -> None:
        """An admitted connection from ``client`` has closed."""
        self._open[client] -= 1
        self._total -= 1
        if not self._open[client]:
            del self._open[client]


class ClientStream(trio.abc.HalfCloseableStream):
    """A client's connection as Hypercorn sees it: each send must finish within ``timeout_s``,
    and ``on_end`` is awaited when nothing more can arrive (the client closed, or the stream broke).

    A client that stops reading its replies would otherwise hold the connection, and the reply
    waiting in it, forever: Hypercorn shields its sends from cancellation. The deadline's own
    cancel scope lies inside that shield, so it still fires; the stream is then closed and the
    send fails as a broken connection, which Hypercorn handles as the client having gone.

    ``on_end`` lets the connection's task end at once: Hypercorn keeps the task (and the socket)
    of a connection the client closed while idle until the keep-alive timeout, so a client making
    one request per connection would otherwise hold five seconds' worth of them.

    Sends and the end of sending take turns: Hypercorn locks its sends but not the ``send_eof``
    with which it closes a connection, and a client that closes while the end of a reply is
    being sent made the reply's task fail (``BusyResourceError``, and a traceback in the log).
    """

    def __init__(
        self, stream: trio.SocketStream, timeout_s: float, client: str, on_end: Callable[[], Awaitable[None]]
    ) -> None:
        self._stream = stream
        self.socket = stream.socket  # Hypercorn reads the peer's address here
        self.timeout_s = timeout_s
        self.client = client
        self._on_end = on_end
        self._sending = trio.Lock()

    async def send_all(self, data: bytes | memoryview) -> None:
        with trio.move_on_after(self.timeout_s) as deadline:
            async with self._sending:
                await self._stream.send_all(data)
        if deadline.cancelled_caught:
            LOGGER.debug("RPC client %s took more than %s s to take a reply; closing", self.client, self.timeout_s)
            await trio.aclose_forcefully(self._stream)
            raise trio.BrokenResourceError(f"the client took more than {self.timeout_s} s to take a reply")

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        async with self._sending:
            await self._stream.send_eof()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        try:
            data = await self._stream.receive_some(max_bytes)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            await self._on_end()
            raise
        if not data:
            await self._on_end()
        return data

    async def aclose(self) -> None:
        await self._stream.aclose()


class ConnectionContext(WorkerContext):
    """Hypercorn's per-connection context, whose sleeps end when the client has gone.

    Hypercorn's WebSocket keeps a ping loop (``sleep``, then ping, until the stream is closed)
    in the connection's task group, so without this a closed WebSocket held its connection,
    and its place at the gate, until the next ping was due.
    """

    async def sleep(self, wait: float) -> None:  # type: ignore[override]
        with trio.move_on_after(wait):
            await self.terminated.wait()


async def serve_connection(
    app: ASGIWrapper, config: Config, gate: ConnectionGate, send_timeout_s: float, stream: trio.SocketStream
) -> None:
    """Serve one accepted connection with Hypercorn's HTTP server, if the gate admits it.

    Each connection has a Hypercorn worker context of its own: marking it terminated when the
    client has closed wakes the connection's idle timer and WebSocket ping loop at once (the
    node's shutdown is a cancellation and needs no context).
    """
    try:
        client = stream.socket.getpeername()[0]
    except OSError:  # gone before we looked
        await stream.aclose()
        return
    if not gate.try_admit(client):
        LOGGER.debug("RPC connection from %s refused: at the limit of connections", client)
        await refuse(stream)
        return
    context = ConnectionContext(None)
    client_stream = ClientStream(stream, send_timeout_s, client, context.terminated.set)
    try:
        # Hypercorn's own accept loop hands TCPServer plain streams too; its signature names SSL ones.
        await TCPServer(app, config, context, ConnectionState({}), client_stream).run()  # type: ignore[arg-type]
    finally:
        try:
            await client_stream.aclose()  # closed already, unless a cancellation cut Hypercorn's close short
        finally:
            gate.release(client)


async def refuse(stream: trio.SocketStream) -> None:
    """Tell the client it is one connection too many, and close."""
    with trio.move_on_after(REFUSAL_TIMEOUT_S), contextlib.suppress(trio.BrokenResourceError):
        await stream.send_all(REFUSAL)
    await stream.aclose()
