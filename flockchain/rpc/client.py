"""A small blocking JSON-RPC 2.0 client over HTTP, for the CLI and tests."""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.request
from typing import Any

from runtime.errors import FlockError

DEFAULT_RPC_URL = "http://127.0.0.1:9944"


class RpcError(FlockError):
    """The node answered with a JSON-RPC error, or could not be reached."""

    def __init__(self, message: str, code: int | None = None, data: Any = None) -> None:
        super().__init__(message if data is None else f"{message}: {data}")
        self.code = code
        self.data = data


class RpcClient:
    def __init__(self, url: str = DEFAULT_RPC_URL, *, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout
        self._ids = itertools.count(1)

    def call(self, method: str, *params: Any) -> Any:
        request = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        body = json.dumps(request).encode()
        http_request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(http_request, timeout=self.timeout) as response:
                reply = json.loads(response.read())
        except (urllib.error.URLError, OSError) as exc:
            raise RpcError(f"cannot reach the node at {self.url} ({exc})") from None
        if "error" in reply:
            error = reply["error"]
            raise RpcError(error.get("message", "error"), error.get("code"), error.get("data"))
        return reply["result"]
