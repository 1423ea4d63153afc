"""The node's RPC port (DESIGN §10): JSON-RPC 2.0 with Substrate's methods, and health checks.

``api`` is the interface the node implements, ``jsonrpc`` the transport-free protocol,
``methods`` the chain methods over the interface, ``server`` the HTTP app and its serving task,
``connections`` who may hold a connection and for how long.
"""

from flockchain.rpc.api import NodeApi, NodeHealth
from flockchain.rpc.jsonrpc import Dispatcher, RpcError
from flockchain.rpc.server import DEFAULT_RPC_PORT, RpcLimits, RpcPortUnavailable, build_app, serve_rpc

__all__ = [
    "DEFAULT_RPC_PORT",
    "Dispatcher",
    "NodeApi",
    "NodeHealth",
    "RpcError",
    "RpcLimits",
    "RpcPortUnavailable",
    "build_app",
    "serve_rpc",
]
