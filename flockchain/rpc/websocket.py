"""JSON-RPC over a WebSocket at ``/``: each message (text or binary) goes to the same dispatcher
as an HTTP POST, with the connection's subscription session.

Per connection, three things run: this handler reads messages and answers them one after
another (so a batch of nonces, or a subscribe and its unsubscribe, keep their order); a writer
sends what the outbox holds; and, while the connection holds subscriptions, a reader of the
node's event feed (:mod:`flockchain.rpc.subscriptions`). A client that stops reading fills its
outbox, or lets its feed fall behind, and is disconnected with close code 1008 and a reason.
Connections pass the same gate as HTTP ones (counted overall and per client, sends bounded in
time); Hypercorn bounds a message's size (``max_body_size``: close code 1009) and pings the
client, so a client that neither sends nor answers pings is closed after ``read_timeout_s``.
"""

from __future__ import annotations

import logging

import trio
from starlette.websockets import WebSocket, WebSocketDisconnect

from flockchain.rpc.jsonrpc import Dispatcher
from flockchain.rpc.subscriptions import SLOW_CLOSE_CODE, Outbox, Session, SubscriberTooSlow

LOGGER = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 5.0  # for a client to take the close frame that says why it is dropped


async def handle_websocket(websocket: WebSocket) -> None:
    """Serve one WebSocket connection until the client closes it or is dropped."""
    state = websocket.app.state
    await websocket.accept()
    outbox = Outbox(state.session_limits.outbox_capacity)
    reason = None
    try:
        async with trio.open_nursery() as nursery:
            session = Session(state.api, outbox, nursery, state.session_limits, state.count_subscriptions)
            nursery.start_soon(send_outbox, websocket, outbox)
            try:
                await answer_requests(websocket, state.dispatcher, session, outbox)
            finally:
                session.close()
            nursery.cancel_scope.cancel()
    except* SubscriberTooSlow as group:
        reason = str(group.exceptions[0])
    except* (WebSocketDisconnect, trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        LOGGER.debug("RPC WebSocket client went away")
    if reason is not None:
        LOGGER.debug("RPC WebSocket subscriber dropped: %s", reason)
        with trio.move_on_after(CLOSE_TIMEOUT_S):
            await websocket.close(SLOW_CLOSE_CODE, reason)


async def answer_requests(websocket: WebSocket, dispatcher: Dispatcher, session: Session, outbox: Outbox) -> None:
    """Answer each message in turn until the client closes the connection."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        data = message.get("text")
        if data is None:
            data = message.get("bytes")
        if data is None:
            continue
        reply = await dispatcher.handle_message(data, session)
        if reply is not None:
            await outbox.send_reply(reply)
        session.activate_pending()


async def send_outbox(websocket: WebSocket, outbox: Outbox) -> None:
    async for message in outbox.receive:
        await websocket.send_text(message)
