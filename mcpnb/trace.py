"""The protocol trace: every JSON-RPC message a connection sends and receives.

A learner sees the handshake or ``server/discover``, the ``_meta`` envelope of
the 2026-07-28 era, notifications and cancellations; an analyst sees which call
was slow. ``Tap`` wraps the SDK transport's two streams and notes each message
as it passes, with the time; nothing is serialised on the way (the call path
stays as fast as without a trace). Summaries and sizes are worked out when
someone looks (``Trace.frame``), and every text goes through the connection's
redactor. The last ``KEEP`` messages are kept.

In-process servers have no wire: the SDK calls them directly (or through its
own memory transport), so their trace is empty.

Authorization happens below JSON-RPC, in HTTP exchanges (a 401 and its
challenge, metadata, registration, token). ``mcpnb.auth`` notes each as an
``HttpExchange`` (kind ``"http"``, its step's name in ``method``), masked
before it is kept.
"""

from __future__ import annotations

import collections
import json
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import pandas as pd
from mcp.shared.message import SessionMessage

from .streams import ReadThrough, WriteThrough

__all__ = ["Trace", "Tap", "HttpExchange"]

KEEP = 1000
_COLUMNS = ["time", "direction", "kind", "method", "id", "duration_ms", "size", "summary", "message"]


@dataclass
class HttpExchange:
    """One HTTP exchange of an authorization flow, secrets already masked (see mcpnb.auth)."""

    step: str
    method: str
    url: str
    status: int | None
    summary: str
    duration_ms: float | None = None
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: Any = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value not in (None, {}, "")}


class Trace:
    """The messages of one connection, oldest first (bounded)."""

    def __init__(self, redact: Callable[[str], str], keep: int | None = None) -> None:
        self._redact = redact
        self._entries: collections.deque[tuple[float, str, Any]] = collections.deque(maxlen=keep or KEEP)
        self.dropped = 0

    def note(self, direction: str, message: Any) -> None:
        """Remember one message (called by Tap for every message; cheap)."""
        if len(self._entries) == self._entries.maxlen:
            self.dropped += 1
        self._entries.append((time.time(), direction, message))

    def note_http(self, exchange: HttpExchange) -> None:
        """Remember one HTTP exchange of an authorization flow (direction ⇄: a request and its answer)."""
        self.note("⇄", exchange)

    def clear(self) -> None:
        self._entries.clear()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._entries)

    def frame(self) -> pd.DataFrame:
        """The messages as a table: time, direction, kind, method, id, duration, size, summary, message."""
        rows = []
        started: dict[tuple[str, Any], tuple[float, str]] = {}
        for moment, direction, message in list(self._entries):
            if isinstance(message, HttpExchange):
                data = json.loads(self._redact(json.dumps(message.as_dict())))
                rows.append({
                    "time": datetime.fromtimestamp(moment, timezone.utc), "direction": direction, "kind": "http",
                    "method": message.step, "id": None, "duration_ms": message.duration_ms,
                    "size": len(json.dumps(data, separators=(",", ":"))), "summary": self._redact(message.summary),
                    "message": data,
                })
                continue
            data = json.loads(self._redact(message.model_dump_json(by_alias=True, exclude_unset=True)))
            kind, method, ident = _describe(data)
            duration = None
            if kind == "request":
                started[(direction, ident)] = (moment, method)
            elif kind in ("response", "error"):
                asked = "→" if direction == "←" else "←"
                begun = started.pop((asked, ident), None)
                if begun is not None:
                    duration = round((moment - begun[0]) * 1000, 1)
                    method = begun[1]
            rows.append({
                "time": datetime.fromtimestamp(moment, timezone.utc), "direction": direction, "kind": kind,
                "method": method, "id": ident, "duration_ms": duration,
                "size": len(json.dumps(data, separators=(",", ":"))), "summary": _summary(kind, data),
                "message": data,
            })
        frame = pd.DataFrame(rows, columns=_COLUMNS)
        frame["id"] = pd.Series([row["id"] for row in rows], dtype=object)  # ids are ints or strings, never floats
        frame.attrs["mcp"] = {"kept": len(rows), "dropped": self.dropped}
        return frame


def _describe(data: dict[str, Any]) -> tuple[str, str | None, Any]:
    if "method" in data:
        return ("request" if "id" in data else "notification"), data["method"], data.get("id")
    if "error" in data:
        return "error", None, data.get("id")
    return "response", None, data.get("id")


def _summary(kind: str, data: dict[str, Any]) -> str:
    if kind == "error":
        error = data.get("error", {})
        return _short(f"error {error.get('code')}: {error.get('message')}")
    if kind == "response":
        result = data.get("result") or {}
        parts = []
        if isinstance(result, dict):
            for key in ("content", "tools", "resources", "resourceTemplates", "prompts", "messages", "contents"):
                if isinstance(result.get(key), list):
                    parts.append(f"{len(result[key])} {key}")
            if result.get("structuredContent") is not None:
                parts.append("structured")
            if result.get("isError"):
                parts.append("isError")
            if result.get("protocolVersion") or result.get("supportedVersions"):
                parts.append(f"protocol {result.get('protocolVersion') or result.get('supportedVersions')}")
            if result.get("nextCursor"):
                parts.append("more pages")
        return ", ".join(parts) or _short(json.dumps(result))
    params = data.get("params") or {}
    shown = {k: v for k, v in params.items() if k != "_meta"} if isinstance(params, dict) else params
    text = json.dumps(shown, ensure_ascii=False) if shown else ""
    if isinstance(params, dict) and params.get("_meta"):
        text += f" _meta: {', '.join(sorted(params['_meta']))}"
    return _short(text)


def _short(text: str, limit: int = 140) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Noting:
    """Notes each message that passes in a Trace, with its ``direction``."""

    direction = ""

    def __init__(self, inner: Any, trace: Trace) -> None:
        super().__init__(inner)  # type: ignore[call-arg]  (the stream class beside it in the bases)
        self._trace = trace

    def seen(self, item: Any) -> Any:
        if isinstance(item, SessionMessage):
            self._trace.note(self.direction, item.message)
        return item


class _TapRead(_Noting, ReadThrough):
    direction = "←"


class _TapWrite(_Noting, WriteThrough):
    direction = "→"


class Tap:
    """An SDK transport, entered as is, whose two streams note every message in a Trace."""

    def __init__(self, transport: Any, trace: Trace) -> None:
        self._transport, self._trace = transport, trace

    async def __aenter__(self) -> tuple[Any, Any]:
        read_stream, write_stream = await self._transport.__aenter__()
        return _TapRead(read_stream, self._trace), _TapWrite(write_stream, self._trace)

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        return await self._transport.__aexit__(*exc_info)
