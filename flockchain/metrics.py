"""The node's Prometheus metrics: one registry per node, served at the RPC port's ``/metrics``.

Every metric the node exports is declared here, so the names stay in one place and the network
code (gossip verdicts, peers) feeds the same registry as the chain and the RPC. Each node gets a
registry of its own (not ``prometheus_client``'s global one), so several nodes in one process,
as tests run them, do not mix their figures. Names follow Prometheus' conventions with a
``flockchain_`` prefix, and Substrate's where it has one (block height by status, peers,
ready and future transactions).
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

PREFIX = "flockchain"
# Seconds a block takes to import or author (execution, state commit, the finality voter): a
# dev chain's blocks take milliseconds, a full block of transfers up to a second or so.
IMPORT_TIME_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST


class NodeMetrics:
    """The node's metrics, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.block_height = Gauge(
            f"{PREFIX}_block_height", "Number of the best and of the finalized block", ["status"], registry=registry
        )
        self.finality_lag = Gauge(
            f"{PREFIX}_finality_lag_blocks", "Blocks between the best block and the finalized one", registry=registry
        )
        self.peers = Gauge(f"{PREFIX}_peers", "Peers the node is connected to", registry=registry)
        self.pool_transactions = Gauge(
            f"{PREFIX}_pool_transactions", "Transactions in the pool, ready or future", ["status"], registry=registry
        )
        self.block_import_time = Histogram(
            f"{PREFIX}_block_import_seconds",
            "Time to import a peer's block or author one of our own, finality votes included",
            ["origin"],
            buckets=IMPORT_TIME_BUCKETS,
            registry=registry,
        )
        self.blocks_authored = Counter(f"{PREFIX}_blocks_authored", "Blocks this node authored", registry=registry)
        self.rpc_calls = Counter(
            f"{PREFIX}_rpc_calls",
            "JSON-RPC calls by method and outcome ('ok' or the error code)",
            ["method", "outcome"],
            registry=registry,
        )
        self.gossip_messages = Counter(
            f"{PREFIX}_gossip_messages",
            "Gossip messages received, by topic and verdict (accept, ignore, reject)",
            ["topic", "verdict"],
            registry=registry,
        )
        self.rpc_subscriptions = Gauge(
            f"{PREFIX}_rpc_subscriptions", "Open JSON-RPC subscriptions over WebSocket", registry=registry
        )

    def set_heights(self, best: int, finalized: int) -> None:
        self.block_height.labels(status="best").set(best)
        self.block_height.labels(status="finalized").set(finalized)
        self.finality_lag.set(best - finalized)

    def set_pool(self, ready: int, future: int) -> None:
        self.pool_transactions.labels(status="ready").set(ready)
        self.pool_transactions.labels(status="future").set(future)

    def count_rpc_call(self, method: str, outcome: str) -> None:
        self.rpc_calls.labels(method=method, outcome=outcome).inc()

    def render(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)
