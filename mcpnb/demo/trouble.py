"""Trouble on purpose for a demo server over HTTP: a rate limit and a share of failures.

    python -m mcpnb.demo helpdesk --http 8000 --rate-limit 20 --fail-rate 0.05

``--rate-limit N`` answers HTTP 429 with a ``Retry-After`` header once more than
N tool calls a second arrive (a token bucket that holds N); ``--fail-rate P``
answers HTTP 503 to a share P of them, drawn from a seeded generator so a run
can be repeated. Real services do both, and a long ``map()`` meets them: this is
how the lessons and tests show retries, backoff and ``rate=`` working.

Only tool calls (POSTs whose JSON-RPC method is ``tools/call``) are limited or
failed, so connecting and listing always work. It is an ASGI middleware around
the SDK's own Streamable HTTP app: MCP itself is left to the SDK.
"""

from __future__ import annotations

import json
import math
import random
import time
from typing import Any

__all__ = ["Trouble", "serve"]

Message = dict[str, Any]


class Trouble:
    """An ASGI app that throttles and fails a share of the tool calls before ``app`` sees them."""

    def __init__(self, app: Any, *, rate_limit: float | None = None, fail_rate: float = 0.0, seed: int = 0) -> None:
        self.app = app
        self.rate_limit = rate_limit
        self.fail_rate = fail_rate
        # The bucket holds N tokens (at least one, so that a limit below 1 a second still lets calls through).
        self._capacity = max(1.0, float(rate_limit or 0))
        self._tokens = self._capacity  # the bucket starts full: N calls in the first second pass
        self._filled = time.monotonic()
        self._random = random.Random(seed)
        self.throttled = 0  # tool calls answered 429
        self.failed = 0  # tool calls answered 503

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        received = []  # the body is read to see the method, then handed on as it came
        while True:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        if _is_tool_call(b"".join(m.get("body", b"") for m in received)):
            wait = self._take()
            if wait is not None:
                self.throttled += 1
                limit = f"{self.rate_limit:g}"
                await _answer(send, 429, f"Too many requests: at most {limit} tool calls a second.",
                              [(b"retry-after", str(wait).encode())])
                return
            if self.fail_rate and self._random.random() < self.fail_rate:
                self.failed += 1
                await _answer(send, 503, "Service unavailable (a failure on purpose: --fail-rate).")
                return

        async def replay() -> Message:
            return received.pop(0) if received else await receive()

        await self.app(scope, replay, send)

    def _take(self) -> int | None:
        """Take a token from the bucket: None if there was one, else the whole seconds until there is."""
        if self.rate_limit is None:
            return None
        now = time.monotonic()
        self._tokens = min(self._capacity, self._tokens + (now - self._filled) * self.rate_limit)
        self._filled = now
        if self._tokens >= 1:
            self._tokens -= 1
            return None
        return max(1, math.ceil((1 - self._tokens) / self.rate_limit))


def _is_tool_call(body: bytes) -> bool:
    try:
        message = json.loads(body)
    except ValueError:
        return False
    return isinstance(message, dict) and message.get("method") == "tools/call"


async def _answer(send: Any, status: int, text: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = (text + "\n").encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


def serve(server: Any, *, host: str, port: int, rate_limit: float | None, fail_rate: float) -> None:
    """Serve ``server`` (an MCPServer) over Streamable HTTP at /mcp with the trouble asked for."""
    import uvicorn

    app = Trouble(server.streamable_http_app(host=host), rate_limit=rate_limit, fail_rate=fail_rate)
    uvicorn.run(app, host=host, port=port, log_level=server.settings.log_level.lower())
