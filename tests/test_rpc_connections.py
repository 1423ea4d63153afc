"""What a client can hold of the RPC port: connections, time, and the log.

Attacks that cost an outsider next to nothing: bodies that never finish arriving, a thousand
held connections, replies never read, connections dropped mid-request. Each test serves the
in-memory fake node of ``tests/test_rpc.py`` with short limits, attacks from 127.0.0.1 and,
where it matters, checks that a client from another loopback address (127.0.0.2) is still
served. Every wait is on the server's reaction (a reply, a closed connection, a log record),
bounded by ``trio.fail_after``.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from functools import partial

import httpx
import pytest
import trio
import trio.testing
from test_rpc import FakeNode, call, fill_pool

from flockchain.rpc.connections import ClientStream
from flockchain.rpc.server import RpcLimits, compute_body_deadline, serve_rpc

TIMEOUT = 10
ATTACKER, HONEST = "127.0.0.1", "127.0.0.2"
SHORT = RpcLimits(
    max_connections=8,
    max_connections_per_client=3,
    keep_alive_timeout_s=0.5,
    body_grace_s=0.3,
    min_body_rate=1000,
    send_timeout_s=0.3,
)
REQUEST_HEAD = b"POST / HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"

Serve = Callable[[RpcLimits], Awaitable[int]]


@pytest.fixture
def node() -> FakeNode:
    return FakeNode()


@pytest.fixture
def serve(nursery: trio.Nursery, node: FakeNode) -> Serve:
    """Start the server with the given limits; the port."""

    async def start(limits: RpcLimits) -> int:
        with trio.fail_after(TIMEOUT):
            return await nursery.start(partial(serve_rpc, limits=limits), node, "127.0.0.1", 0)

    return start


async def connect(port: int, source: str = ATTACKER, receive_buffer: int | None = None) -> trio.SocketStream:
    """A raw connection from ``source`` (any 127.0.0.0/8 address reaches loopback)."""
    sock = trio.socket.socket()
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    await sock.bind((source, 0))
    await sock.connect(("127.0.0.1", port))
    return trio.SocketStream(sock)


async def read_until_closed(stream: trio.SocketStream) -> bytes:
    """Whatever the server sends before it closes the connection."""
    data = b""
    try:
        while chunk := await stream.receive_some():
            data += chunk
    except trio.BrokenResourceError:  # closed with our bytes unread: a reset
        pass
    return data


async def open_client(stack: AsyncExitStack, port: int, source: str) -> httpx.AsyncClient:
    """An HTTP client from ``source`` that keeps one connection open between requests."""
    transport = httpx.AsyncHTTPTransport(local_address=source, limits=httpx.Limits(max_connections=1))
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", transport=transport, timeout=TIMEOUT)
    return await stack.enter_async_context(client)


async def is_refused(client: httpx.AsyncClient) -> bool:
    """Whether the server turned the client's connection away (503, or closed before a reply)."""
    with trio.fail_after(TIMEOUT):
        try:
            response = await client.post("/", json={"jsonrpc": "2.0", "method": "system_name", "id": 1})
        except httpx.TransportError:
            return True
    return response.status_code == 503


class LogWatcher(logging.Handler):
    """Collects the RPC server's log records; ``arrived`` is set by the first."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.arrived = trio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.arrived.set()


@contextmanager
def watch_rpc_log() -> Iterator[LogWatcher]:
    logger = logging.getLogger("flockchain.rpc")
    watcher, level = LogWatcher(), logger.level
    logger.addHandler(watcher)
    logger.setLevel(logging.DEBUG)
    try:
        yield watcher
    finally:
        logger.removeHandler(watcher)
        logger.setLevel(level)


# --- slow requests ------------------------------------------------------------------------


async def test_slow_bodies_are_cut_off_while_a_normal_client_is_served(serve: Serve) -> None:
    """The attack: connections that declare a body and never finish sending it, held forever.
    Each is answered 408 and closed once its body falls behind the minimum rate; those over
    the per-client limit are refused at once; a client from elsewhere is served meanwhile."""
    port = await serve(SHORT)
    results: list[bytes] = []

    async def attack() -> None:
        stream = await connect(port)
        try:
            await stream.send_all(REQUEST_HEAD + b'{"jsonrpc"')
        except trio.BrokenResourceError:  # refused before we could send
            pass
        results.append(await read_until_closed(stream))

    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as attackers, AsyncExitStack() as stack:
            for _ in range(2 * SHORT.max_connections_per_client):
                attackers.start_soon(attack)
            honest = await open_client(stack, port, HONEST)
            assert await call(honest, "system_name") == "flockchain"
    assert len(results) == 2 * SHORT.max_connections_per_client
    assert all(reply.startswith((b"HTTP/1.1 408", b"HTTP/1.1 503")) or reply == b"" for reply in results)
    assert sum(reply.startswith(b"HTTP/1.1 408") for reply in results) <= SHORT.max_connections_per_client


async def test_unfinished_request_head_is_closed_after_the_keep_alive_timeout(serve: Serve) -> None:
    port = await serve(SHORT)
    stream = await connect(port)
    await stream.send_all(b"POST / HTTP/1.1\r\nHost: no")
    with trio.fail_after(SHORT.keep_alive_timeout_s + 2):
        await read_until_closed(stream)


def test_body_deadline_follows_the_bytes_received() -> None:
    limits = RpcLimits(body_grace_s=5.0, min_body_rate=1000)
    assert compute_body_deadline(100.0, 0, limits) == 105.0
    assert compute_body_deadline(100.0, 3000, limits) == 108.0


# --- held connections ---------------------------------------------------------------------


async def test_one_client_holds_at_most_its_share_of_connections(serve: Serve) -> None:
    port = await serve(SHORT)
    async with AsyncExitStack() as stack:
        for _ in range(SHORT.max_connections_per_client):  # each keeps its connection open
            assert await call(await open_client(stack, port, ATTACKER), "system_name") == "flockchain"
        assert await is_refused(await open_client(stack, port, ATTACKER))
        assert await call(await open_client(stack, port, HONEST), "system_name") == "flockchain"


async def test_all_clients_together_hold_a_bounded_number_of_connections(serve: Serve) -> None:
    port = await serve(RpcLimits(max_connections=4, max_connections_per_client=2))
    async with AsyncExitStack() as stack:
        for source in ("127.0.0.3", "127.0.0.3", "127.0.0.4", "127.0.0.4"):
            assert await call(await open_client(stack, port, source), "system_name") == "flockchain"
        assert await is_refused(await open_client(stack, port, HONEST))


async def test_a_connection_the_client_closed_gives_its_place_back_at_once(serve: Serve) -> None:
    """Clients that open a connection per request (the CLI's does) are not refused for the
    connections they closed: Hypercorn would keep each one until the keep-alive timeout."""
    port = await serve(RpcLimits(max_connections_per_client=2, keep_alive_timeout_s=60))
    body = b'{"jsonrpc":"2.0","method":"system_name","id":1}'
    for _ in range(10):
        stream = await connect(port)
        with trio.fail_after(TIMEOUT):
            await stream.send_all(REQUEST_HEAD.replace(b"1000", str(len(body)).encode()) + body)
            reply = b""
            while not reply.endswith(b'"flockchain","id":1}'):
                chunk = await stream.receive_some()
                assert chunk, reply  # closed: refused
                reply += chunk
            await trio.testing.wait_all_tasks_blocked()  # the server waits, idle, for the next request
            await stream.aclose()
            await trio.testing.wait_all_tasks_blocked()  # and has seen the connection close


async def test_client_that_never_reads_its_reply_is_disconnected(serve: Serve, node: FakeNode) -> None:
    """A reply larger than the socket buffers, to a client that reads nothing: the send gives
    up after the send timeout, and the connection (and the reply it held) is let go."""
    fill_pool(node, 64, size=256 * 1024)  # a 32 MiB reply
    port = await serve(RpcLimits(max_reply_size=64 * 1024 * 1024, send_timeout_s=0.3))
    stream = await connect(port, receive_buffer=4096)
    body = b'{"jsonrpc":"2.0","method":"author_pendingExtrinsics","id":1}'
    with watch_rpc_log() as log, trio.fail_after(TIMEOUT):
        await stream.send_all(REQUEST_HEAD.replace(b"1000", str(len(body)).encode()) + body)
        await log.arrived.wait()
    assert "took more than 0.3 s to take a reply" in log.records[0].getMessage()
    await stream.aclose()


async def test_the_end_of_sending_waits_for_a_send_in_progress() -> None:
    """Hypercorn closes a connection (``send_eof``) from the task that saw the client close,
    while the reply's task may still be sending: that raised BusyResourceError (a traceback in
    the log) until the stream made them take turns."""
    ours, theirs = trio.socket.socketpair()
    ended = trio.Event()

    async def on_end() -> None:
        ended.set()

    stream = ClientStream(trio.SocketStream(ours), TIMEOUT, "peer", on_end)
    peer = trio.SocketStream(theirs)
    reply = b"x" * 8 * 1024 * 1024  # more than the socket buffers: the send waits for the peer
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(stream.send_all, reply)
            await trio.testing.wait_all_tasks_blocked()
            nursery.start_soon(stream.send_eof)
            received = 0
            while chunk := await peer.receive_some():
                received += len(chunk)
        assert received == len(reply)
        await peer.aclose()
        assert await stream.receive_some() == b"" and ended.is_set()
        await stream.aclose()


# --- the log ------------------------------------------------------------------------------


async def test_client_going_away_costs_one_line_without_a_traceback(serve: Serve) -> None:
    """Each dropped connection used to log Starlette's traceback (about 2.9 KB): cheap to cause
    a thousand times."""
    port = await serve(SHORT)
    with watch_rpc_log() as log, trio.fail_after(TIMEOUT):
        stream = await connect(port)
        await stream.send_all(REQUEST_HEAD + b'{"jsonrpc"')
        await stream.aclose()
        await log.arrived.wait()
    record = log.records[0]
    assert record.exc_info is None and record.levelno == logging.DEBUG
    assert "went away" in record.getMessage() and "\n" not in record.getMessage()
