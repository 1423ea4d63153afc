"""The RPC port's command-line options, shared by every command that runs a node.

Named and defaulted as Substrate names them, so an operator's habits carry over: ``--rpc-port``,
``--rpc-external``, ``--unsafe-rpc-external``, ``--rpc-methods``, ``--rpc-cors`` and the
``--rpc-max-*`` limits. :func:`add_rpc_arguments` adds them to a subcommand's parser;
:func:`get_rpc_settings` turns the parsed arguments into what the node serves with.
"""

from __future__ import annotations

import argparse

from flockchain.rpc.options import (
    DEFAULT_CORS,
    InvalidRpcOption,
    MethodsPolicy,
    RpcOptions,
    parse_cors,
    resolve_deny_unsafe,
)
from flockchain.rpc.server import DEFAULT_LIMITS, DEFAULT_RPC_HOST, DEFAULT_RPC_PORT, RpcLimits, RpcSettings

ALL_INTERFACES = "0.0.0.0"
MIB = 1024 * 1024
LIMIT_FLAGS = (
    "--rpc-max-connections",
    "--rpc-max-request-size",
    "--rpc-max-response-size",
    "--rpc-max-batch-request-len",
    "--rpc-max-subscriptions-per-connection",
    "--rpc-message-buffer-capacity-per-connection",
)


def add_rpc_arguments(parser: argparse.ArgumentParser, *, development: bool) -> None:
    """The RPC options; a development chain allows every browser origin by default (as
    Substrate's ``--dev`` does), any other chain Substrate's list of local origins."""
    group = parser.add_argument_group("RPC (JSON-RPC over HTTP and WebSocket on one port)")
    group.add_argument("--rpc-port", type=int, default=DEFAULT_RPC_PORT, help="port (default 9944)")
    group.add_argument(
        "--rpc-external", action="store_true", help="listen on all interfaces, not only 127.0.0.1 (unsafe methods off)"
    )
    group.add_argument(
        "--unsafe-rpc-external",
        action="store_true",
        help="listen on all interfaces and allow --rpc-methods unsafe there (the keystore and pool become reachable)",
    )
    group.add_argument(
        "--rpc-methods",
        choices=[policy.value for policy in MethodsPolicy],
        default=MethodsPolicy.AUTO.value,
        help="which methods to serve: auto (default) serves unsafe ones only on 127.0.0.1",
    )
    group.add_argument(
        "--rpc-cors",
        default="all" if development else ",".join(DEFAULT_CORS.origins or ()),
        help='browser origins allowed to call, comma-separated (":*" for any port), or "all"'
        + (" (default: all, on a development chain)" if development else " (default: localhost and polkadot.js)"),
    )
    limits = DEFAULT_LIMITS
    group.add_argument("--rpc-max-connections", type=int, default=limits.max_connections, help="(default 100)")
    group.add_argument(
        "--rpc-max-request-size", type=int, default=limits.max_body_size // MIB, help="MiB per request (default 10)"
    )
    group.add_argument(
        "--rpc-max-response-size", type=int, default=limits.max_reply_size // MIB, help="MiB per reply (default 15)"
    )
    group.add_argument(
        "--rpc-max-batch-request-len", type=int, default=limits.max_batch_size, help="calls per batch (default 1000)"
    )
    group.add_argument(
        "--rpc-max-subscriptions-per-connection",
        type=int,
        default=limits.max_subscriptions_per_connection,
        help="(default 1024)",
    )
    group.add_argument(
        "--rpc-message-buffer-capacity-per-connection",
        type=int,
        default=limits.max_buffered_messages,
        help="messages waiting to be sent before a slow subscriber is dropped (default 64)",
    )


def get_rpc_settings(args: argparse.Namespace) -> RpcSettings:
    """Where and how to serve RPC; refuses unsafe methods on an external interface unless
    ``--unsafe-rpc-external`` (``flockchain.rpc.options.UnsafeRpcExternal``), and limits below 1."""
    for flag in LIMIT_FLAGS:
        if getattr(args, flag.removeprefix("--").replace("-", "_")) < 1:
            raise InvalidRpcOption(f"{flag} must be at least 1")
    host = ALL_INTERFACES if args.rpc_external or args.unsafe_rpc_external else DEFAULT_RPC_HOST
    deny_unsafe = resolve_deny_unsafe(MethodsPolicy(args.rpc_methods), host, unsafe_external=args.unsafe_rpc_external)
    limits = RpcLimits(
        max_body_size=args.rpc_max_request_size * MIB,
        max_reply_size=args.rpc_max_response_size * MIB,
        max_batch_size=args.rpc_max_batch_request_len,
        max_connections=args.rpc_max_connections,
        max_subscriptions_per_connection=args.rpc_max_subscriptions_per_connection,
        max_buffered_messages=args.rpc_message_buffer_capacity_per_connection,
    )
    return RpcSettings(host, args.rpc_port, limits, RpcOptions(deny_unsafe=deny_unsafe, cors=parse_cors(args.rpc_cors)))
