"""JSON-RPC 2.0 (https://www.jsonrpc.org/specification), sans-I/O: a message in, a reply out.

A transport (HTTP POST, or a WebSocket) hands each whole message to
:meth:`Dispatcher.handle_message` and sends back what it returns, or nothing when it returns
None (notifications). Nothing here knows about sockets, so the protocol is tested without a
server and every transport answers alike. A WebSocket also passes its connection's session,
which the subscription methods need (over HTTP they answer that they need a WebSocket).

Each method is registered with what the node's policy and its docs need to know of it: its
cost in a batch, whether it is *unsafe* (it changes the node or reveals what only its operator
should see: refused when the dispatcher denies unsafe methods, as Substrate's
``--rpc-methods safe`` does) and whether it needs a session. The handler's signature and
docstring are the method's parameters and documentation (``flockchain/rpc/docs.py`` renders
them into ``docs/rpc.md``).

Error codes follow the specification, plus the limits Substrate's server (jsonrpsee) reports
with its own codes, so that Substrate tooling recognises them.

What one message may cost is bounded: a batch holds at most ``max_batch_size`` calls whose
methods' costs add up to at most ``max_batch_cost`` (checked before any call runs), and a reply,
one response or a whole batch's, is at most ``max_reply_size`` characters (ASCII: bytes). A
response over the limit is replaced by an error; a batch stops at the call whose reply crosses it
and is answered with one error. A method whose result could be large checks its own size before
building it (``author_pendingExtrinsics``), so that no answer is built only to be thrown away.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from runtime.errors import FlockError

LOGGER = logging.getLogger(__name__)

JSONRPC_VERSION = "2.0"

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_ERROR = -32000  # the spec's range for implementation-defined server errors starts here
OVERSIZED_REQUEST = -32007  # jsonrpsee's code
OVERSIZED_RESPONSE = -32008  # jsonrpsee's code
TOO_BIG_BATCH_REQUEST = -32010  # jsonrpsee's code
TOO_BIG_BATCH_RESPONSE = -32011  # jsonrpsee's code

DEFAULT_MAX_BATCH_SIZE = 1000
DEFAULT_MAX_BATCH_COST = 1000  # a batch of 1000 transactions, as bulk submission sends
DEFAULT_MAX_REPLY_SIZE = 15 * 1024 * 1024  # Substrate's default (--rpc-max-response-size 15 MiB)
DEFAULT_COST = 1  # what a call costs in a batch unless its method says otherwise

RequestId = int | str | None
Params = list[Any] | dict[str, Any]
Handler = Callable[..., Awaitable[Any]]
CallObserver = Callable[[str, str], None]  # (method name or "unknown", "ok" or the error code)


# --- errors -------------------------------------------------------------------------------


class RpcError(FlockError):
    """An error object sent back instead of a result; methods raise it to choose code and data."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        """The ``error`` member of a response; ``data`` only when there is some."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class ParseError(RpcError):
    """The message is not JSON."""

    def __init__(self, data: Any = None) -> None:
        super().__init__(PARSE_ERROR, "Parse error", data)


class InvalidRequest(RpcError):
    """JSON, but not a request object (or an empty batch)."""

    def __init__(self, data: Any = None) -> None:
        super().__init__(INVALID_REQUEST, "Invalid Request", data)


class MethodNotFound(RpcError):
    """No method of that name is registered."""

    def __init__(self, data: Any = None) -> None:
        super().__init__(METHOD_NOT_FOUND, "Method not found", data)


class InvalidParams(RpcError):
    """The parameters do not fit the method: wrong count, names, types or values."""

    def __init__(self, data: Any = None) -> None:
        super().__init__(INVALID_PARAMS, "Invalid params", data)


class UnsafeMethodDenied(RpcError):
    """An unsafe method called where the node's policy denies them (Substrate's message)."""

    def __init__(self, name: str) -> None:
        super().__init__(METHOD_NOT_FOUND, "RPC call is unsafe to be called externally", name)


class SessionRequired(RpcError):
    """A subscription method called without a WebSocket connection to deliver notifications on."""

    def __init__(self, name: str) -> None:
        super().__init__(METHOD_NOT_FOUND, "Subscriptions need a WebSocket connection", name)


class InternalError(RpcError):
    """The method failed unexpectedly; the cause is logged on the node, never sent."""

    def __init__(self) -> None:
        super().__init__(INTERNAL_ERROR, "Internal error")


class OversizedRequest(RpcError):
    """The message exceeds the transport's size limit (the transport raises it)."""

    def __init__(self, limit: int) -> None:
        super().__init__(OVERSIZED_REQUEST, "Request is too big", f"Exceeded max limit of {limit}")


class OversizedResponse(RpcError):
    """One response exceeds the reply size limit; ``hint`` says how to ask for less."""

    def __init__(self, limit: int, hint: str = "") -> None:
        super().__init__(OVERSIZED_RESPONSE, "Response is too big", f"Exceeded max limit of {limit}{hint}")


class BatchTooLarge(RpcError):
    """A batch holds more requests, or costlier ones, than the server answers in one message."""

    def __init__(self, limit: int, what: str = "limit") -> None:
        super().__init__(TOO_BIG_BATCH_REQUEST, "The batch request was too large", f"Exceeded max {what} of {limit}")


class BatchResponseTooLarge(RpcError):
    """A batch's replies together exceed the reply size limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(TOO_BIG_BATCH_RESPONSE, "The batch response was too large", f"Exceeded max limit of {limit}")


# --- requests -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One well-formed call; a notification (no ``id`` member) is executed but never answered."""

    method: str
    params: Params
    id: RequestId
    is_notification: bool


def decode_message(message: bytes | str) -> Any:
    """The JSON value of ``message``; raises :class:`ParseError`.

    NaN and Infinity are refused (they are not JSON), and so is nesting too deep for the parser.
    """
    try:
        return json.loads(message, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ParseError() from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def is_valid_id(value: Any) -> bool:
    """Ids are strings, integers or null (booleans are ints to Python, not to JSON)."""
    return value is None or isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def parse_request(item: Any) -> Request:
    """A :class:`Request` from one JSON value; raises :class:`InvalidRequest`."""
    if not isinstance(item, dict):
        raise InvalidRequest("a request is a JSON object")
    if item.get("jsonrpc") != JSONRPC_VERSION:
        raise InvalidRequest('"jsonrpc" must be "2.0"')
    if not isinstance(item.get("method"), str):
        raise InvalidRequest('"method" must be a string')
    params = item.get("params", [])
    if not isinstance(params, (list, dict)):
        raise InvalidRequest('"params" must be an array or an object')
    if not is_valid_id(item.get("id")):
        raise InvalidRequest('"id" must be a string, an integer or null')
    return Request(item["method"], params, item.get("id"), "id" not in item)


def get_echoable_id(item: Any) -> RequestId:
    """The id to answer an invalid request with: its own when usable, else null (per the spec)."""
    if isinstance(item, dict) and is_valid_id(item.get("id")):
        return item.get("id")
    return None


# --- responses ----------------------------------------------------------------------------


def build_result_response(request_id: RequestId, result: Any) -> dict[str, Any]:
    return {"jsonrpc": JSONRPC_VERSION, "result": result, "id": request_id}


def build_error_response(request_id: RequestId, error: RpcError) -> dict[str, Any]:
    return {"jsonrpc": JSONRPC_VERSION, "error": error.to_json(), "id": request_id}


def encode_response(response: dict[str, Any]) -> str:
    """Compact JSON of one response; a result that is not JSON becomes an internal error."""
    try:
        return json.dumps(response, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        LOGGER.exception("RPC result is not JSON-serialisable")
        return json.dumps(build_error_response(response.get("id"), InternalError()), separators=(",", ":"))


# --- dispatch -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MethodInfo:
    """A registered method: what it costs, whether it is unsafe or needs a session, and its
    handler (whose signature lists its params and whose docstring documents it)."""

    name: str
    handler: Handler
    signature: inspect.Signature
    cost: int  # of one call, in a batch's budget
    unsafe: bool
    needs_session: bool  # the handler's first argument is the connection's session
    example: tuple[Any, ...]  # params of an example call, for the docs


class Dispatcher:
    """Registered methods by name, and the message handling the spec prescribes.

    A batch runs its calls one after another, in order: bulk submission relies on a batch of
    transactions with consecutive nonces reaching the pool in the order sent.
    ``deny_unsafe`` refuses every unsafe method; ``observe_call`` is told of every call's outcome
    (for the node's metrics).
    """

    def __init__(
        self,
        *,
        max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
        max_batch_cost: int = DEFAULT_MAX_BATCH_COST,
        max_reply_size: int = DEFAULT_MAX_REPLY_SIZE,
        deny_unsafe: bool = False,
        observe_call: CallObserver | None = None,
    ) -> None:
        self.max_batch_size = max_batch_size
        self.max_batch_cost = max_batch_cost
        self.max_reply_size = max_reply_size
        self.deny_unsafe = deny_unsafe
        self._observe_call = observe_call
        self._methods: dict[str, MethodInfo] = {}

    def register(
        self,
        name: str,
        handler: Handler,
        *,
        cost: int = DEFAULT_COST,
        unsafe: bool = False,
        needs_session: bool = False,
        example: tuple[Any, ...] = (),
    ) -> None:
        """Expose ``handler`` (an async callable) as ``name``; its signature checks the params
        (after the session, for a method that ``needs_session``). ``cost`` is what one call
        counts against a batch's budget: more for methods whose work or reply grows with the
        node's data."""
        if name in self._methods:
            raise ValueError(f"RPC method {name!r} is already registered")
        if cost < 1:
            raise ValueError("a method costs at least 1")
        signature = inspect.signature(handler)
        if needs_session:
            parameters = list(signature.parameters.values())[1:]
            signature = signature.replace(parameters=parameters)
        self._methods[name] = MethodInfo(name, handler, signature, cost, unsafe, needs_session, example)

    def describe_methods(self) -> list[MethodInfo]:
        """Every registered method, by name."""
        return [self._methods[name] for name in self.method_names]

    @property
    def method_names(self) -> list[str]:
        return sorted(self._methods)

    async def handle_message(self, message: bytes | str, session: Any = None) -> str | None:
        """The reply to one message (a request or a batch), or None when nothing is owed;
        ``session``: the WebSocket connection's, for subscription methods."""
        try:
            value = decode_message(message)
        except ParseError as error:
            return encode_response(build_error_response(None, error))
        if isinstance(value, list):
            return await self._handle_batch(value, session)
        response = await self._handle_item(value, session)
        return None if response is None else self._encode_bounded(response)

    async def _handle_batch(self, items: list[Any], session: Any) -> str | None:
        """An array of replies; an empty, oversized or too costly batch, or one whose replies
        together exceed the reply limit, gets one error, not an array."""
        if not items:
            return encode_response(build_error_response(None, InvalidRequest("empty batch")))
        if len(items) > self.max_batch_size:
            return encode_response(build_error_response(None, BatchTooLarge(self.max_batch_size)))
        if sum(map(self._get_cost, items)) > self.max_batch_cost:
            return encode_response(build_error_response(None, BatchTooLarge(self.max_batch_cost, "cost")))
        replies = []
        size = len("[]")
        for item in items:
            response = await self._handle_item(item, session)
            if response is None:
                continue
            replies.append(self._encode_bounded(response))
            size += len(replies[-1]) + len(",")
            if size > self.max_reply_size:
                return encode_response(build_error_response(None, BatchResponseTooLarge(self.max_reply_size)))
        return f"[{','.join(replies)}]" if replies else None

    def _get_cost(self, item: Any) -> int:
        """What one batch item counts against the budget: its method's cost (1 if it has none)."""
        name = item.get("method") if isinstance(item, dict) else None
        method = self._methods.get(name) if isinstance(name, str) else None
        return DEFAULT_COST if method is None else method.cost

    def _encode_bounded(self, response: dict[str, Any]) -> str:
        """The encoded response, or an error in its place when it exceeds the reply limit."""
        encoded = encode_response(response)
        if len(encoded) <= self.max_reply_size:
            return encoded
        return encode_response(build_error_response(response.get("id"), OversizedResponse(self.max_reply_size)))

    async def _handle_item(self, item: Any, session: Any) -> dict[str, Any] | None:
        """The response to one request value, or None for a notification."""
        try:
            request = parse_request(item)
        except InvalidRequest as error:
            return build_error_response(get_echoable_id(item), error)
        try:
            response = build_result_response(request.id, await self.call(request.method, request.params, session))
        except RpcError as error:
            response = build_error_response(request.id, error)
        return None if request.is_notification else response

    async def call(self, name: str, params: Params, session: Any = None) -> Any:
        """Run method ``name``; raises :class:`RpcError`, never another exception."""
        method = self._methods.get(name)
        try:
            result = await self._call(method, name, params, session)
        except RpcError as error:
            self._count(method, str(error.code))
            raise
        self._count(method, "ok")
        return result

    async def _call(self, method: MethodInfo | None, name: str, params: Params, session: Any) -> Any:
        if method is None:
            raise MethodNotFound(name)
        if method.unsafe and self.deny_unsafe:
            raise UnsafeMethodDenied(name)
        if method.needs_session and session is None:
            raise SessionRequired(name)
        arguments = bind_params(method.signature, params)
        leading = (session,) if method.needs_session else ()
        try:
            return await method.handler(*leading, *arguments.args, **arguments.kwargs)
        except RpcError:
            raise
        except Exception:
            LOGGER.exception("RPC method %s failed", name)
            raise InternalError() from None

    def _count(self, method: MethodInfo | None, outcome: str) -> None:
        """Tell the observer; an unknown name counts as "unknown", so that what clients send
        cannot grow the metrics' label set."""
        if self._observe_call is not None:
            self._observe_call("unknown" if method is None else method.name, outcome)


def bind_params(signature: inspect.Signature, params: Params) -> inspect.BoundArguments:
    """Positional (array) or named (object) params bound to the handler; raises InvalidParams."""
    try:
        if isinstance(params, list):
            return signature.bind(*params)
        return signature.bind(**params)
    except TypeError as error:
        raise InvalidParams(str(error)) from None
