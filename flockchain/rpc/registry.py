"""Every RPC method the node serves, in one table: name, handler, cost, safety, example.

The table is the registry the dispatcher is built from, ``rpc_methods`` lists and
``docs/rpc.md``'s method reference is generated from (``flockchain/rpc/docs.py``; a test fails
when the two drift apart). A method is *unsafe* (``--rpc-methods safe`` refuses it, and so does
``auto`` on an external interface) when it changes the node or shows what only its operator
should see, as in Substrate; it *needs a session* when it subscribes (WebSocket only). Its cost
is what one call counts against a batch's budget: more where the work or reply grows with the
node's data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flockchain.rpc.api import NodeApi
from flockchain.rpc.flock import FlockMethods
from flockchain.rpc.grandpa import FinalityMethods
from flockchain.rpc.jsonrpc import (
    DEFAULT_COST,
    DEFAULT_MAX_BATCH_COST,
    DEFAULT_MAX_BATCH_SIZE,
    DEFAULT_MAX_REPLY_SIZE,
    CallObserver,
    Dispatcher,
    Handler,
)
from flockchain.rpc.methods import NodeMethods
from flockchain.rpc.state import StateMethods
from flockchain.rpc.subscriptions import SubscriptionMethods

HASH = "0x9c0a…e0f3"  # placeholders in the docs' examples
KEY = "0x7379…6572"
SUBSCRIPTION = "9f1b5e0c4a2d7e33"
EXTRINSIC = "0x9403…01"
ACCOUNT = "5C7UMh2anckygDECCMN1Y7KT2uKmoG9rbzwXJTHXXw3GQNhU"


@dataclass(frozen=True)
class MethodEntry:
    name: str
    handler: Callable[[Any], Handler]  # picks the handler from the method groups
    cost: int = DEFAULT_COST
    unsafe: bool = False
    needs_session: bool = False
    example: tuple[Any, ...] = ()


@dataclass(frozen=True)
class MethodGroups:
    node: NodeMethods
    state: StateMethods
    subscriptions: SubscriptionMethods
    finality: FinalityMethods
    flock: FlockMethods


def _entry(name: str, group: str, attribute: str, **options: Any) -> MethodEntry:
    return MethodEntry(name, lambda groups: getattr(getattr(groups, group), attribute), **options)


def _subscription(name: str, attribute: str, *example: Any) -> MethodEntry:
    return _entry(name, "subscriptions", attribute, needs_session=True, example=example)


METHODS: tuple[MethodEntry, ...] = (
    # chain
    _entry("chain_getHeader", "node", "chain_get_header", example=(HASH,)),
    _entry("chain_getBlock", "node", "chain_get_block", cost=10, example=(HASH,)),
    _entry("chain_getBlockHash", "node", "chain_get_block_hash", example=(1,)),
    _entry("chain_getFinalizedHead", "node", "chain_get_finalized_head"),
    _subscription("chain_subscribeNewHeads", "chain_subscribe_new_heads"),
    _subscription("chain_unsubscribeNewHeads", "chain_unsubscribe_new_heads", SUBSCRIPTION),
    _subscription("chain_subscribeFinalizedHeads", "chain_subscribe_finalized_heads"),
    _subscription("chain_unsubscribeFinalizedHeads", "chain_unsubscribe_finalized_heads", SUBSCRIPTION),
    _subscription("chain_subscribeAllHeads", "chain_subscribe_all_heads"),
    _subscription("chain_unsubscribeAllHeads", "chain_unsubscribe_all_heads", SUBSCRIPTION),
    # state
    _entry("state_getStorage", "state", "state_get_storage", example=(KEY,)),
    _entry("state_getStorageHash", "state", "state_get_storage_hash", example=(KEY,)),
    _entry("state_getStorageSize", "state", "state_get_storage_size", example=(KEY,)),
    _entry("state_getKeysPaged", "state", "state_get_keys_paged", cost=10, example=("0x7379", 100)),
    _entry("state_queryStorageAt", "state", "state_query_storage_at", cost=10, example=([KEY],)),
    _entry("state_getReadProof", "state", "state_get_read_proof", cost=10, example=([KEY], HASH)),
    _subscription("state_subscribeStorage", "state_subscribe_storage", [KEY]),
    _subscription("state_unsubscribeStorage", "state_unsubscribe_storage", SUBSCRIPTION),
    _entry("state_getMetadata", "node", "state_get_metadata", cost=10),
    _entry("state_getRuntimeVersion", "node", "state_get_runtime_version"),
    _subscription("state_subscribeRuntimeVersion", "state_subscribe_runtime_version"),
    _subscription("state_unsubscribeRuntimeVersion", "state_unsubscribe_runtime_version", SUBSCRIPTION),
    # author
    _entry("author_submitExtrinsic", "node", "author_submit_extrinsic", example=(EXTRINSIC,)),
    _subscription("author_submitAndWatchExtrinsic", "author_submit_and_watch_extrinsic", EXTRINSIC),
    _subscription("author_unwatchExtrinsic", "author_unwatch_extrinsic", SUBSCRIPTION),
    _entry("author_pendingExtrinsics", "node", "author_pending_extrinsics", cost=100, example=(256, None)),
    _entry("author_removeExtrinsic", "node", "author_remove_extrinsic", unsafe=True, example=([{"hash": HASH}],)),
    _entry("author_rotateKeys", "node", "author_rotate_keys", unsafe=True),
    _entry("author_hasKey", "node", "author_has_key", unsafe=True, example=(HASH, "babe")),
    # payment
    _entry("payment_queryInfo", "node", "payment_query_info", example=(EXTRINSIC,)),
    # system
    _entry("system_health", "node", "system_health"),
    _entry("system_chain", "node", "system_chain"),
    _entry("system_chainType", "node", "system_chain_type"),
    _entry("system_name", "node", "system_name"),
    _entry("system_version", "node", "system_version"),
    _entry("system_properties", "node", "system_properties"),
    _entry("system_nodeRoles", "node", "system_node_roles"),
    _entry("system_localPeerId", "node", "system_local_peer_id"),
    _entry("system_peers", "node", "system_peers", unsafe=True),
    _entry("system_syncState", "node", "system_sync_state"),
    _entry("system_accountNextIndex", "node", "system_account_next_index", example=(ACCOUNT,)),
    # finality
    _entry("grandpa_proveFinality", "finality", "grandpa_prove_finality", cost=10, example=(1,)),
    _entry("grandpa_roundState", "finality", "grandpa_round_state"),
    # flock: proven reads
    _entry("flock_proposals", "node", "flock_proposals", cost=10),
    _entry("flock_validators", "flock", "flock_validators", cost=10),
    _entry("flock_eraRewards", "flock", "flock_era_rewards", cost=10),
    _entry("flock_unappliedSlashes", "flock", "flock_unapplied_slashes", cost=10),
    _entry("flock_emission", "flock", "flock_emission"),
    _entry("flock_mlTasks", "flock", "flock_ml_tasks", cost=10, example=("arena",)),
    _entry("flock_mlTask", "flock", "flock_ml_task", example=("alliance", 0)),
    _entry("flock_mlSubmissions", "flock", "flock_ml_submissions", cost=10, example=("arena", 0, 1)),
    _entry("flock_mlScores", "flock", "flock_ml_scores", cost=10, example=("arena", 0, 1)),
    _entry("flock_mlRound", "flock", "flock_ml_round", cost=10, example=("alliance", 0, 1)),
    _entry("flock_modelProvenance", "flock", "flock_model_provenance", cost=10, example=(0,)),
)

# What one call counts against a batch's budget, for methods that cost more than DEFAULT_COST.
METHOD_COSTS = {entry.name: entry.cost for entry in METHODS if entry.cost != DEFAULT_COST}


def register_node_methods(dispatcher: Dispatcher, node: NodeApi) -> None:
    """Register every method of the table over ``node``, and ``rpc_methods`` listing them all."""
    groups = MethodGroups(
        NodeMethods(node, max_reply_size=dispatcher.max_reply_size),
        StateMethods(node),
        SubscriptionMethods(node),
        FinalityMethods(node),
        FlockMethods(node),
    )
    for entry in METHODS:
        dispatcher.register(
            entry.name,
            entry.handler(groups),
            cost=entry.cost,
            unsafe=entry.unsafe,
            needs_session=entry.needs_session,
            example=entry.example,
        )
    register_rpc_methods(dispatcher)


def register_rpc_methods(dispatcher: Dispatcher) -> None:
    """``rpc_methods`` reads the registry when called, so methods added later are listed too."""

    async def rpc_methods() -> dict[str, list[str]]:
        """``{"methods": [every method name, sorted]}`` (unsafe ones included: calling one where
        they are denied is an error)."""
        return {"methods": dispatcher.method_names}

    dispatcher.register("rpc_methods", rpc_methods)


def build_dispatcher(
    node: NodeApi,
    *,
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
    max_batch_cost: int = DEFAULT_MAX_BATCH_COST,
    max_reply_size: int = DEFAULT_MAX_REPLY_SIZE,
    deny_unsafe: bool = False,
    observe_call: CallObserver | None = None,
) -> Dispatcher:
    dispatcher = Dispatcher(
        max_batch_size=max_batch_size,
        max_batch_cost=max_batch_cost,
        max_reply_size=max_reply_size,
        deny_unsafe=deny_unsafe,
        observe_call=observe_call,
    )
    register_node_methods(dispatcher, node)
    return dispatcher
