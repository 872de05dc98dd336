"""Answers that do not parse end the request that waits for them.

The SDK hands a line it cannot read (not JSON, the wrong shape such as
``"result": 42``, nesting too deep, bytes that are not UTF-8) to the message
handler as an exception and drops it, so the request it answered would wait
forever. ``Unreadable`` watches a transport, notes the id of each request sent,
and turns such a line into a JSON-RPC error for the request it answered, the
one whose id it carries. A line with no id of a waiting request in it answers
nothing: the message handler notes it (a guess would fail the wrong request).
``is_unreadable`` tells the connection that an error is one of these, so that
the person reads a ProtocolError saying what came, at once.

Over HTTP, the SDK answers any HTTP error status with a stand-in ("Server
returned an error response", "Session terminated") and drops what the server
said. ``HttpFailures`` watches the HTTP client's responses, keeps the status,
the ``WWW-Authenticate`` challenge, the wait a ``Retry-After`` header asks for
(429, 503: in seconds, from either of its forms) and a short text excerpt of the body for
the request that failed, and the stand-in error is given them as its data
(``http_failure`` reads them back), so the person is told what happened.

A listing in which one item breaks the wire types (a tool whose input schema
is not an object, say) would fail whole, and every tool with it: the items
that break them are taken out of the answer before the SDK reads it, and
kept in ``left_out`` for the catalog to report.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from typing import Any

import mcp_types as types
from mcp.shared.message import SessionMessage
from mcp_types.methods import validate_server_result
from pydantic import ValidationError

__all__ = ["Unreadable", "is_unreadable", "received", "HttpFailure", "HttpFailures", "http_failure", "MARK",
           "retry_after_seconds"]

MARK = "mcpnb: unreadable answer"  # in the error's data, so it is known for ours
HTTP_MARK = "mcpnb: http error"
EXCERPT_CHARS = 200
# List methods whose answers are read item by item: the key of the items.
_LISTS = {"tools/list": "tools", "prompts/list": "prompts", "resources/list": "resources",
          "resources/templates/list": "resourceTemplates"}
_ID = re.compile(r'"id"\s*:\s*("(?:[^"\\]|\\.){0,200}"|-?\d{1,18})')


def is_unreadable(data: Any) -> str | None:
    """What was received, if an error's data marks it as an unreadable answer."""
    if isinstance(data, dict) and data.get("mark") == MARK:
        return str(data.get("received", ""))
    return None


@dataclass(frozen=True)
class HttpFailure:
    """An HTTP error answer to one request: what the person needs of it, never the page itself."""

    status: int
    challenge: str | None  # the WWW-Authenticate header, if any
    excerpt: str  # the start of the body as plain text (markup removed, never rendered)
    in_session: bool = False  # the request carried an Mcp-Session-Id (a 404 then means the session ended)
    retry_after: float | None = None  # seconds the Retry-After header asked the client to wait, if it came


def http_failure(data: Any) -> HttpFailure | None:
    """The HTTP failure behind a stand-in error, if its data carries one."""
    if isinstance(data, dict) and data.get("mark") == HTTP_MARK:
        return HttpFailure(int(data["status"]), data.get("challenge"), str(data.get("excerpt", "")),
                           bool(data.get("in_session")), data.get("retry_after"))
    return None


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """The wait a ``Retry-After`` header asks for, in seconds: its delay-seconds form (``120``) or its
    HTTP-date form (``Wed, 21 Oct 2015 07:28:00 GMT``, counted from ``now``); None if absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT
        from datetime import timezone

        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _plain(body: bytes, content_type: str) -> str:
    text = body[:20_000].decode("utf-8", errors="replace")
    if "html" in content_type.lower() or text.lstrip().startswith("<"):
        text = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", " ", text)
        text = re.sub(r"(?s)<[^>]*>", " ", text)
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…"


class HttpFailures:
    """HTTP error answers by the JSON-RPC id of the request they answered (an httpx response hook)."""

    def __init__(self) -> None:
        self.by_id: dict[Any, HttpFailure] = {}
        self.last: HttpFailure | None = None

    async def observe(self, response: Any) -> None:
        if response.status_code < 400:
            return
        try:
            body = await response.aread()
        except Exception:
            body = b""
        failure = HttpFailure(response.status_code, response.headers.get("www-authenticate"),
                              _plain(body, response.headers.get("content-type", "")),
                              "mcp-session-id" in response.request.headers,
                              retry_after_seconds(response.headers.get("retry-after")))
        self.last = failure
        try:
            ident = json.loads(response.request.content or b"{}").get("id")
        except Exception:  # a body that was streamed, or is not a JSON object: no id to file it under
            ident = None
        if ident is not None:
            self.by_id[ident] = failure

    def take(self, ident: Any) -> HttpFailure | None:
        return self.by_id.pop(ident, None)


def received(error: Exception) -> str | None:
    """The text a transport could not read, where the error keeps it (pydantic keeps it as the input)."""
    errors = getattr(error, "errors", None)
    if callable(errors):
        try:
            found = errors()[0].get("input")
            if found is not None:
                return found if isinstance(found, str) else json.dumps(found, default=str)
        except Exception:
            pass
    return None


def _why(error: Exception) -> str:
    """What was wrong with it, in pydantic's words where it has them."""
    errors = getattr(error, "errors", None)
    if callable(errors):
        try:
            found = errors()
            if found:
                return "; ".join(sorted({str(e.get("msg", "")) for e in found[:4]})) or "not a JSON-RPC message"
        except Exception:
            pass
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _answer_id(text: str) -> Any:
    try:
        value = json.loads(text)
        if isinstance(value, dict) and "id" in value:
            return value["id"]
    except (ValueError, RecursionError):
        pass
    match = _ID.search(text)  # too deep or broken to parse: the first id in it
    return json.loads(match.group(1)) if match else None


class Unreadable:
    """A transport's watcher (``streams.Watched``): unreadable answers fail the request they answer."""

    def __init__(self, http: HttpFailures | None = None) -> None:
        self.http = http or HttpFailures()  # fed by the HTTP client's response hook, if there is one
        self.waiting: dict[Any, str] = {}  # requests sent and not yet answered, oldest first: id -> method
        self.version: str | None = None  # the negotiated protocol version, once known
        self.left_out: list[tuple[str, str, str]] = []  # (list key, item name, why), for the catalog to report

    def readable_items(self, item: SessionMessage, method: str) -> SessionMessage:
        """A list answer without the items that break the wire types (noted in ``left_out``)."""
        message = item.message
        key = _LISTS[method]
        result = message.result if isinstance(message.result, dict) else {}
        items = result.get(key)
        if self.version is None or not isinstance(items, list):
            return item
        try:
            validate_server_result(method, self.version, result)
            return item
        except (ValidationError, ValueError, KeyError) as error:
            problems = getattr(error, "errors", lambda: [])()
        bad: dict[int, str] = {}
        for problem in problems:
            where = problem.get("loc", ())
            if len(where) >= 2 and where[0] == key and isinstance(where[1], int):
                place = ".".join(str(part) for part in where[2:])
                bad.setdefault(where[1], f"{place}: {problem.get('msg')}" if place else str(problem.get("msg")))
        if not bad:
            return item  # not an item's fault: the SDK says what is wrong
        for index, why in sorted(bad.items()):
            entry = items[index] if isinstance(items[index], dict) else {}
            name = entry.get("name") or entry.get("uri") or entry.get("uriTemplate") or f"#{index}"
            self.left_out.append((key, str(name)[:100], why[:200]))
        kept = [entry for index, entry in enumerate(items) if index not in bad]
        return SessionMessage(types.JSONRPCResponse(jsonrpc="2.0", id=message.id, result={**result, key: kept}),
                              metadata=item.metadata)

    def read(self, item: Any) -> Any:
        """An item read: answers noted, unreadable ones and HTTP stand-ins made to say what came."""
        if isinstance(item, SessionMessage):
            message = item.message
            if isinstance(message, (types.JSONRPCResponse, types.JSONRPCError)):
                method = self.waiting.pop(message.id, None)
                if method in _LISTS and isinstance(message, types.JSONRPCResponse):
                    return self.readable_items(item, method)
                failure = self.http.take(message.id) if isinstance(message, types.JSONRPCError) else None
                if failure is not None:  # the SDK's stand-in for an HTTP error: give it what the server said
                    return SessionMessage(types.JSONRPCError(jsonrpc="2.0", id=message.id, error=types.ErrorData(
                        code=message.error.code, message=message.error.message,
                        data={"mark": HTTP_MARK, **asdict(failure)})), metadata=item.metadata)
            return item
        if not isinstance(item, Exception):
            return item
        text = received(item) or str(item)
        ident = _answer_id(text)
        if ident is None or ident not in self.waiting:
            return item  # it answers nothing we wait for: the message handler notes it
        self.waiting.pop(ident, None)
        return SessionMessage(types.JSONRPCError(jsonrpc="2.0", id=ident, error=types.ErrorData(
            code=types.INTERNAL_ERROR, message=f"unreadable answer: {_why(item)[:200]}",
            data={"mark": MARK, "received": text[:300]})))

    def write(self, item: Any) -> Any:
        """An item written: the id and method of each request sent noted."""
        message = item.message if isinstance(item, SessionMessage) else None
        if isinstance(message, types.JSONRPCRequest):
            self.waiting[message.id] = message.method
        elif isinstance(message, types.JSONRPCNotification) and message.method == "notifications/cancelled":
            self.waiting.pop((message.params or {}).get("requestId"), None)  # no answer is waited for
        return item
