"""Subscriptions over a WebSocket: Substrate's ``chain_subscribe*``, ``state_subscribe*`` and
``author_submitAndWatchExtrinsic``, each with its unsubscribe method.

One :class:`Session` per connection holds its subscriptions and an :class:`Outbox`: the bounded
queue of messages the connection's writer sends. A subscribe call answers the subscription's
id; notifications (``{"jsonrpc": "2.0", "method": "chain_newHead", "params": {"subscription":
id, "result": …}}``) follow only after that answer has been queued, the subscription's first
notification (the current head, the current values) included.

Notifications come from the node's event feed (``flockchain.node.notifications``), opened
while the connection holds a subscription. Nothing here waits for a slow client: a feed that
falls behind is closed by the node, and an outbox that is full refuses the notification; either
way the connection is closed with a reason (WebSocket code 1008), so a client that does not
read costs the node at most its outbox and its feed.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import trio

from flockchain.node.notifications import (
    BlockFinalized,
    BlockImported,
    EventFeed,
    NewBestBlock,
    NodeEvent,
    TransactionStatus,
)
from flockchain.rpc.api import NodeApi
from flockchain.rpc.jsonrpc import JSONRPC_VERSION, InvalidParams, RpcError
from flockchain.rpc.methods import (
    INVALID_TRANSACTION,
    describe_invalid_transaction,
    encode_header_json,
    encode_runtime_version_json,
    parse_hex_bytes,
    resolve_block,
    to_hex,
)
from flockchain.rpc.state import encode_changes_json, parse_storage_keys
from runtime.block import compute_extrinsic_hash
from runtime.errors import FlockError, InvalidTransaction

TOO_MANY_SUBSCRIPTIONS = -32006  # jsonrpsee's code
DEFAULT_MAX_SUBSCRIPTIONS = 1024  # per connection (Substrate's --rpc-max-subscriptions-per-connection)
DEFAULT_MAX_WATCHED_KEYS = 1024  # storage keys all of a connection's storage subscriptions watch together
DEFAULT_OUTBOX_CAPACITY = 64  # messages (Substrate's --rpc-message-buffer-capacity-per-connection)
MAX_EARLY_NOTIFICATIONS = 16  # held for a subscription whose id has not been answered yet
SLOW_CLOSE_CODE = 1008  # WebSocket "policy violation": the client did not keep up


class TooManySubscriptions(RpcError):
    def __init__(self, what: str) -> None:
        super().__init__(TOO_MANY_SUBSCRIPTIONS, "Too many subscriptions on the connection", what)


class SubscriberTooSlow(FlockError):
    """The client did not take its notifications fast enough: its connection is closed."""


@dataclass(frozen=True)
class SessionLimits:
    max_subscriptions: int = DEFAULT_MAX_SUBSCRIPTIONS
    max_watched_keys: int = DEFAULT_MAX_WATCHED_KEYS
    outbox_capacity: int = DEFAULT_OUTBOX_CAPACITY


class Outbox:
    """The messages waiting for the connection's writer: replies wait for room, notifications
    never do (a full outbox means the client does not read)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._send, self.receive = trio.open_memory_channel[str](capacity)

    async def send_reply(self, message: str) -> None:
        await self._send.send(message)

    def offer_notification(self, message: str) -> None:
        try:
            self._send.send_nowait(message)
        except trio.WouldBlock:
            raise SubscriberTooSlow(f"too slow: {self.capacity} messages were waiting to be sent") from None

    def close(self) -> None:
        self._send.close()


def encode_notification(method: str, subscription: str, result: Any) -> str:
    message = {"jsonrpc": JSONRPC_VERSION, "method": method, "params": {"subscription": subscription, "result": result}}
    return json.dumps(message, separators=(",", ":"))


def encode_tx_status_json(status: TransactionStatus) -> Any:
    """Substrate's ``TransactionStatus``: a bare string, or ``{"inBlock": "0x…"}`` and the like."""
    if status.subject is None:
        return str(status.kind)
    return {str(status.kind): to_hex(status.subject)}


# --- subscriptions ------------------------------------------------------------------------


@dataclass(eq=False)
class Subscription:
    """One subscription of a connection; ``notify`` turns a node event into its results."""

    id: str
    method: str  # the notifications' method name, e.g. "chain_newHead"
    unsubscribe: str  # the method that ends it
    early: list[str] | None = field(default_factory=list)  # held until its id is answered; None: active

    def notify(self, node: NodeApi, event: NodeEvent) -> list[Any]:
        """Results to send for ``event`` (none by default)."""
        return []

    def initial(self, node: NodeApi) -> list[Any]:
        """Results to send right after the id (the current value)."""
        return []

    def is_done(self, event: NodeEvent) -> bool:
        """Whether ``event`` ends the subscription (after its results are sent)."""
        return False


@dataclass(eq=False)
class HeadsSubscription(Subscription):
    event_type: type = NewBestBlock
    initial_head: Callable[[NodeApi], bytes] | None = None

    def notify(self, node: NodeApi, event: NodeEvent) -> list[Any]:
        if isinstance(event, (BlockImported, NewBestBlock, BlockFinalized)) and isinstance(event, self.event_type):
            return [encode_header_json(event.header)]
        return []

    def initial(self, node: NodeApi) -> list[Any]:
        header = None if self.initial_head is None else node.get_header(self.initial_head(node))
        return [] if header is None else [encode_header_json(header)]


@dataclass(eq=False)
class StorageSubscription(Subscription):
    """The values of some keys: all of them first, then those that changed, at each new best block."""

    keys: list[bytes] = field(default_factory=list)
    last: dict[bytes, bytes | None] = field(default_factory=dict)

    def notify(self, node: NodeApi, event: NodeEvent) -> list[Any]:
        if not isinstance(event, NewBestBlock):
            return []
        return self._changes(node, event.block_hash, only_changed=True)

    def initial(self, node: NodeApi) -> list[Any]:
        return self._changes(node, node.best_hash(), only_changed=False)

    def _changes(self, node: NodeApi, block_hash: bytes, *, only_changed: bool) -> list[Any]:
        block = resolve_block(node, to_hex(block_hash))
        if block is None:
            return []  # already pruned (the client is far behind): the next block tells
        values = {key: block.state.get(key) for key in self.keys}
        changed = [key for key in self.keys if not only_changed or self.last.get(key) != values[key]]
        self.last = values
        return [encode_changes_json(block, changed)] if changed else []


@dataclass(eq=False)
class RuntimeVersionSubscription(Subscription):
    """The node runs one runtime, so the version is sent once."""

    def initial(self, node: NodeApi) -> list[Any]:
        return [encode_runtime_version_json()]


@dataclass(eq=False)
class ExtrinsicWatch(Subscription):
    """A submitted transaction's statuses, until a final one (then the subscription ends)."""

    tx_hash: bytes = b""

    def notify(self, node: NodeApi, event: NodeEvent) -> list[Any]:
        if isinstance(event, TransactionStatus) and event.tx_hash == self.tx_hash:
            return [encode_tx_status_json(event)]
        return []

    def is_done(self, event: NodeEvent) -> bool:
        return isinstance(event, TransactionStatus) and event.tx_hash == self.tx_hash and event.is_final


# --- the session --------------------------------------------------------------------------


class Session:
    """One WebSocket connection's subscriptions. Runs its feed's reader in ``nursery``;
    ``on_change`` hears of each subscription opened (+1) or ended (-1), for the metrics."""

    def __init__(
        self,
        node: NodeApi,
        outbox: Outbox,
        nursery: trio.Nursery,
        limits: SessionLimits | None = None,
        on_change: Callable[[int], None] | None = None,
    ) -> None:
        self._node = node
        self._outbox = outbox
        self._nursery = nursery
        self.limits = limits or SessionLimits()
        self._on_change = on_change
        self.subscriptions: dict[str, Subscription] = {}
        self._feed: EventFeed | None = None
        self._watched_keys = 0

    # --- adding and removing ----------------------------------------------------------

    def add(self, subscription: Subscription, *, keys: int = 0) -> str:
        """Register ``subscription`` (held until :meth:`activate_pending`); its id."""
        if len(self.subscriptions) >= self.limits.max_subscriptions:
            raise TooManySubscriptions(f"Exceeded max limit of {self.limits.max_subscriptions}")
        if self._watched_keys + keys > self.limits.max_watched_keys:
            raise TooManySubscriptions(f"Exceeded max limit of {self.limits.max_watched_keys} watched storage keys")
        if self._feed is None:
            self._feed = self._node.open_event_feed()
            self._nursery.start_soon(self._read_feed, self._feed)
        self._watched_keys += keys
        self.subscriptions[subscription.id] = subscription
        self._count(1)
        return subscription.id

    def remove(self, subscription_id: Any, unsubscribe: str) -> bool:
        """End a subscription by its id; False when the connection has none of that id and kind."""
        subscription = self.subscriptions.get(subscription_id) if isinstance(subscription_id, str) else None
        if subscription is None or subscription.unsubscribe != unsubscribe:
            return False
        self._drop(subscription)
        return True

    def _drop(self, subscription: Subscription) -> None:
        del self.subscriptions[subscription.id]
        if isinstance(subscription, StorageSubscription):
            self._watched_keys -= len(subscription.keys)
        if isinstance(subscription, ExtrinsicWatch):
            self._node.unwatch_transaction(subscription.tx_hash)
        if not self.subscriptions and self._feed is not None:
            self._feed.close()
            self._feed = None
        self._count(-1)

    def close(self) -> None:
        """The connection ended: every subscription ends with it."""
        for subscription in list(self.subscriptions.values()):
            self._drop(subscription)

    def _count(self, delta: int) -> None:
        if self._on_change is not None:
            self._on_change(delta)

    # --- notifications ----------------------------------------------------------------

    def activate_pending(self) -> None:
        """The replies naming new subscriptions are queued: send their first notifications and
        what arrived for them meanwhile. Raises :class:`SubscriberTooSlow`."""
        for subscription in list(self.subscriptions.values()):
            if subscription.early is None:
                continue
            early, subscription.early = subscription.early, None
            for result in subscription.initial(self._node):
                self._outbox.offer_notification(encode_notification(subscription.method, subscription.id, result))
            for message in early:
                self._outbox.offer_notification(message)

    async def _read_feed(self, feed: EventFeed) -> None:
        """Turn the feed's events into notifications until the feed closes; a feed the node
        closed because it fell behind ends the connection."""
        async with feed.receive:
            async for event in feed.receive:
                self._deliver(event)
                await trio.lowlevel.checkpoint()
        if feed.overflowed:
            raise SubscriberTooSlow(f"too slow: fell {feed.capacity} node events behind")

    def _deliver(self, event: NodeEvent) -> None:
        for subscription in list(self.subscriptions.values()):
            for result in subscription.notify(self._node, event):
                message = encode_notification(subscription.method, subscription.id, result)
                if subscription.early is None:
                    self._outbox.offer_notification(message)
                elif len(subscription.early) < MAX_EARLY_NOTIFICATIONS:
                    subscription.early.append(message)
                else:
                    raise SubscriberTooSlow("too slow: notifications piled up before the subscription was answered")
            if subscription.is_done(event):
                self._drop(subscription)


def new_subscription_id() -> str:
    """An id no other client can guess (Substrate's are random strings too)."""
    return secrets.token_hex(8)


# --- the methods --------------------------------------------------------------------------


class SubscriptionMethods:
    """Subscribe and unsubscribe handlers; each takes the connection's session first."""

    def __init__(self, node: NodeApi) -> None:
        self._node = node

    async def chain_subscribe_new_heads(self, session: Session) -> str:
        """Subscription id; ``chain_newHead`` notifications carry the header of each new best
        block, the current one first."""
        return session.add(
            HeadsSubscription(
                new_subscription_id(),
                "chain_newHead",
                "chain_unsubscribeNewHeads",
                event_type=NewBestBlock,
                initial_head=lambda node: node.best_hash(),
            )
        )

    async def chain_subscribe_finalized_heads(self, session: Session) -> str:
        """Subscription id; ``chain_finalizedHead`` notifications carry the header of each newly
        finalized block, in order (every one, when finality skips ahead), the current one first."""
        return session.add(
            HeadsSubscription(
                new_subscription_id(),
                "chain_finalizedHead",
                "chain_unsubscribeFinalizedHeads",
                event_type=BlockFinalized,
                initial_head=lambda node: node.finalized_hash(),
            )
        )

    async def chain_subscribe_all_heads(self, session: Session) -> str:
        """Subscription id; ``chain_allHead`` notifications carry the header of every imported
        block, forks included, the current best one first."""
        return session.add(
            HeadsSubscription(
                new_subscription_id(),
                "chain_allHead",
                "chain_unsubscribeAllHeads",
                event_type=BlockImported,
                initial_head=lambda node: node.best_hash(),
            )
        )

    async def state_subscribe_storage(self, session: Session, keys: Any) -> str:
        """Subscription id; ``state_storage`` notifications are ``{"block", "changes": [[key,
        value | null], ...]}``: every key's value first, then the keys whose value changed at
        each new best block. ``keys``: 1 to 256 storage keys (a connection watches at most 1024
        in all)."""
        storage_keys = parse_storage_keys(keys)
        subscription = StorageSubscription(
            new_subscription_id(), "state_storage", "state_unsubscribeStorage", keys=storage_keys
        )
        return session.add(subscription, keys=len(storage_keys))

    async def state_subscribe_runtime_version(self, session: Session) -> str:
        """Subscription id; one ``state_runtimeVersion`` notification with the runtime version
        (the node runs one runtime: it never changes while the node runs)."""
        return session.add(
            RuntimeVersionSubscription(new_subscription_id(), "state_runtimeVersion", "state_unsubscribeRuntimeVersion")
        )

    async def author_submit_and_watch_extrinsic(self, session: Session, extrinsic: Any) -> str:
        """Submit like ``author_submitExtrinsic`` (a refusal is error 1010), and subscribe to the
        transaction's statuses: ``author_extrinsicUpdate`` notifications, each one of
        ``"future"``, ``"ready"``, ``{"broadcast": [peers]}`` (once the node has a network: a dev
        node never broadcasts), ``{"inBlock": block}``, ``{"retracted": block}``,
        ``{"finalized": block}``, ``{"usurped": tx}``, ``"dropped"``, ``"invalid"``; the last four
        are final and end the subscription."""
        encoded = parse_hex_bytes(extrinsic, "extrinsic")
        tx_hash = compute_extrinsic_hash(encoded)
        watch = ExtrinsicWatch(
            new_subscription_id(), "author_extrinsicUpdate", "author_unwatchExtrinsic", tx_hash=tx_hash
        )
        session.add(watch)
        self._node.watch_transaction(tx_hash)
        try:
            await self._node.submit_extrinsic(encoded)
        except InvalidTransaction as error:
            session.remove(watch.id, watch.unsubscribe)
            raise RpcError(INVALID_TRANSACTION, "Invalid Transaction", describe_invalid_transaction(error)) from None
        except BaseException:
            session.remove(watch.id, watch.unsubscribe)
            raise
        return watch.id

    def _unsubscribe(self, session: Session, subscription: Any, method: str) -> bool:
        if not isinstance(subscription, str):
            raise InvalidParams("subscription must be a subscription id (a string)")
        return session.remove(subscription, method)

    async def chain_unsubscribe_new_heads(self, session: Session, subscription: Any) -> bool:
        """True if the connection had that ``chain_subscribeNewHeads`` subscription (it ends)."""
        return self._unsubscribe(session, subscription, "chain_unsubscribeNewHeads")

    async def chain_unsubscribe_finalized_heads(self, session: Session, subscription: Any) -> bool:
        """True if the connection had that ``chain_subscribeFinalizedHeads`` subscription."""
        return self._unsubscribe(session, subscription, "chain_unsubscribeFinalizedHeads")

    async def chain_unsubscribe_all_heads(self, session: Session, subscription: Any) -> bool:
        """True if the connection had that ``chain_subscribeAllHeads`` subscription."""
        return self._unsubscribe(session, subscription, "chain_unsubscribeAllHeads")

    async def state_unsubscribe_storage(self, session: Session, subscription: Any) -> bool:
        """True if the connection had that ``state_subscribeStorage`` subscription."""
        return self._unsubscribe(session, subscription, "state_unsubscribeStorage")

    async def state_unsubscribe_runtime_version(self, session: Session, subscription: Any) -> bool:
        """True if the connection had that ``state_subscribeRuntimeVersion`` subscription."""
        return self._unsubscribe(session, subscription, "state_unsubscribeRuntimeVersion")

    async def author_unwatch_extrinsic(self, session: Session, subscription: Any) -> bool:
        """True if the connection was watching a transaction under that id (it stops)."""
        return self._unsubscribe(session, subscription, "author_unwatchExtrinsic")
