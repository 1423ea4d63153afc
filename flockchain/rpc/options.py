"""Who may call what on the RPC port: unsafe methods by interface, and browser origins (CORS).

Substrate's rules, which operators know: ``--rpc-methods auto`` (the default) exposes unsafe
methods only when the port listens on a loopback address; ``safe`` never does; ``unsafe``
always does, but on an external interface only with ``--unsafe-rpc-external`` said as well,
so that a typo cannot open a validator's keystore to the internet. A browser's request carries
an ``Origin`` header: one not allowed by ``--rpc-cors`` is refused (HTTP 403, or the WebSocket
handshake refused) before anything runs; requests without one (scripts, tools) are not
browser requests and pass.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from runtime.errors import FlockError

# Substrate's default origins: local pages and polkadot.js apps.
DEFAULT_CORS_ORIGINS = (
    "http://localhost:*",
    "http://127.0.0.1:*",
    "https://localhost:*",
    "https://127.0.0.1:*",
    "https://polkadot.js.org",
)
ANY_PORT = ":*"
_PORT = re.compile(r":[0-9]{1,5}")


class MethodsPolicy(StrEnum):
    SAFE = "safe"
    UNSAFE = "unsafe"
    AUTO = "auto"


class InvalidRpcOption(FlockError):
    """An RPC option the node cannot serve with."""


class UnsafeRpcExternal(InvalidRpcOption):
    """Unsafe methods were asked for on an external interface without saying so twice."""


class InvalidCorsOrigin(InvalidRpcOption):
    """An origin given to ``--rpc-cors`` is not ``scheme://host[:port|:*]`` or ``null``."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an IP address) is a loopback address, reachable only from this machine."""
    return ipaddress.ip_address(host).is_loopback


def resolve_deny_unsafe(policy: MethodsPolicy, host: str, *, unsafe_external: bool = False) -> bool:
    """Whether unsafe methods are refused on ``host``. Raises :class:`UnsafeRpcExternal` for
    ``unsafe`` on an external interface unless ``unsafe_external``."""
    if policy is MethodsPolicy.SAFE:
        return True
    if policy is MethodsPolicy.AUTO:
        return not is_loopback(host)
    if not is_loopback(host) and not unsafe_external:
        raise UnsafeRpcExternal(
            f"--rpc-methods unsafe on an external interface ({host}) exposes the keystore and the pool to "
            "whoever reaches the port; add --unsafe-rpc-external if that is what you want"
        )
    return False


@dataclass(frozen=True)
class CorsPolicy:
    """The browser origins allowed to call; ``origins`` None allows any."""

    origins: tuple[str, ...] | None = None

    def is_allowed(self, origin: str) -> bool:
        if self.origins is None:
            return True
        return any(is_origin_match(pattern, origin) for pattern in self.origins)


ALLOW_ANY_ORIGIN = CorsPolicy(None)
DEFAULT_CORS = CorsPolicy(DEFAULT_CORS_ORIGINS)


def is_origin_match(pattern: str, origin: str) -> bool:
    """``pattern`` is an origin, or one ending in ``:*`` (any port, or none)."""
    if not pattern.endswith(ANY_PORT):
        return origin == pattern
    base = pattern[: -len(ANY_PORT)]
    return origin == base or (origin.startswith(base) and _PORT.fullmatch(origin[len(base) :]) is not None)


def parse_cors(text: str) -> CorsPolicy:
    """``all``, or origins separated by commas (Substrate's ``--rpc-cors``)."""
    if text.strip() == "all":
        return ALLOW_ANY_ORIGIN
    return CorsPolicy(tuple(check_origins(part.strip() for part in text.split(","))))


def check_origins(origins: Iterable[str]) -> list[str]:
    checked = []
    for origin in origins:
        if origin != "null" and not re.fullmatch(r"[a-z][a-z0-9+.-]*://[^/\s:]+(:[0-9]{1,5}|:\*)?", origin):
            raise InvalidCorsOrigin(f"--rpc-cors: {origin!r} is not an origin (scheme://host[:port], :* for any port)")
        checked.append(origin)
    return checked


@dataclass(frozen=True)
class RpcOptions:
    """The policy of one RPC port (its limits are :class:`~flockchain.rpc.server.RpcLimits`)."""

    deny_unsafe: bool = False
    cors: CorsPolicy = ALLOW_ANY_ORIGIN


DEFAULT_OPTIONS = RpcOptions()
