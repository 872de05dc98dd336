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

``server.trace`` is a ``TraceFrame``: a DataFrame whose ``view()`` draws the
messages as a sequence (``mcpnb.widgets.sequence``). A view follows the Trace
with ``watch(fn)``; ``note`` pays for that only while someone watches (one
test of an empty tuple otherwise), and the view does its own work later, at
most a few times a second. Each message has a number, its place among all the
messages the Trace has noted, so a view reads only what is new (``since``)
and fetches a message's JSON when it is opened (``message``).

Authorization happens below JSON-RPC, in HTTP exchanges (a 401 and its
challenge, metadata, registration, token). ``mcpnb.auth`` notes each as an
``HttpExchange`` (kind ``"http"``, its step's name in ``method``), masked
before it is kept.
"""

from __future__ import annotations

import collections
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import pandas as pd
from mcp.shared.message import SessionMessage

from .streams import ReadThrough, WriteThrough

__all__ = ["Trace", "Tap", "HttpExchange", "TraceFrame", "Reader", "no_wire"]

logger = logging.getLogger("mcpnb")

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


Watcher = Callable[[], None]


class Trace:
    """The messages of one connection, oldest first (bounded)."""

    def __init__(self, redact: Callable[[str], str], keep: int | None = None) -> None:
        self._redact = redact
        # (time, direction, message, number): number counts every message noted, from 0
        self._entries: collections.deque[tuple[float, str, Any, int]] = collections.deque(maxlen=keep or KEEP)
        self.dropped = 0
        self.noted = 0  # messages noted in all (the next one's number)
        self.wired = False  # a transport was tapped (in-process servers have no wire)
        self._watchers: tuple[Watcher, ...] = ()  # replaced, never changed in place: note() may be iterating

    @property
    def keep(self) -> int:
        return self._entries.maxlen or KEEP

    def note(self, direction: str, message: Any) -> None:
        """Remember one message (called by Tap for every message; cheap)."""
        if len(self._entries) == self._entries.maxlen:
            self.dropped += 1
        self._entries.append((time.time(), direction, message, self.noted))
        self.noted += 1
        if self._watchers:
            self._tell()

    def _tell(self) -> None:
        for watcher in self._watchers:
            try:
                watcher()
            except Exception:  # a broken view must not break the connection
                logger.debug("a trace watcher failed", exc_info=True)

    def watch(self, watcher: Watcher) -> None:
        """Call ``watcher()`` after each new message (on the thread that noted it, mostly mcpnb's
        loop: it must be quick and hand real work elsewhere), until ``unwatch``."""
        if watcher not in self._watchers:
            self._watchers = (*self._watchers, watcher)

    def unwatch(self, watcher: Watcher) -> None:
        self._watchers = tuple(w for w in self._watchers if w != watcher)

    @property
    def watched(self) -> bool:
        return bool(self._watchers)

    def since(self, number: int) -> list[tuple[float, str, Any, int]]:
        """The entries kept whose number is ``number`` or later, oldest first."""
        entries = list(self._entries)
        if not entries or entries[-1][3] < number:
            return []
        start = max(0, number - entries[0][3])
        return entries[start:]

    def message(self, number: int) -> dict[str, Any] | None:
        """Message ``number`` as JSON data, secrets masked; None once it is no longer kept."""
        entries = list(self._entries)
        place = number - entries[0][3] if entries else -1
        if 0 <= place < len(entries) and entries[place][3] == number:
            return self.reader().data(entries[place][2])
        return None

    def reader(self) -> Reader:
        """A Reader that masks as this Trace does (a live view keeps one to read what is new)."""
        return Reader(self._redact)

    def note_http(self, exchange: HttpExchange) -> None:
        """Remember one HTTP exchange of an authorization flow (direction ⇄: a request and its answer)."""
        self.note("⇄", exchange)

    def clear(self) -> None:
        self._entries.clear()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._entries)

    def frame(self) -> TraceFrame:
        """The messages as a table: time, direction, kind, method, id, duration, size, summary, message."""
        reader = self.reader()
        rows = [reader.row(entry) for entry in list(self._entries)]
        frame = TraceFrame(rows, columns=_COLUMNS)
        frame["id"] = pd.Series([row["id"] for row in rows], dtype=object)  # ids are ints or strings, never floats
        frame.attrs["mcp"] = {"kept": len(rows), "dropped": self.dropped, "keep": self.keep}
        frame._trace = self  # only here: a frame derived from this one is a snapshot, not the live trace
        return frame


class Reader:
    """Describes entries as rows, pairing each response with its request.

    It remembers the requests still waiting for their answer between calls, so
    ``Trace.frame`` reads all entries with a fresh one, and a live view keeps
    one and reads only the entries that are new.
    """

    # Requests remembered while they wait (a server that never answers must not grow this forever).
    MAX_WAITING = 2 * KEEP

    def __init__(self, redact: Callable[[str], str]) -> None:
        self._redact = redact
        self._started: dict[tuple[str, Any], tuple[float, str | None]] = {}

    def data(self, message: Any) -> dict[str, Any]:
        """A message as JSON data, secrets masked."""
        if isinstance(message, HttpExchange):
            return json.loads(self._redact(json.dumps(message.as_dict())))
        return json.loads(self._redact(message.model_dump_json(by_alias=True, exclude_unset=True)))

    def row(self, entry: tuple[float, str, Any, int]) -> dict[str, Any]:
        """One entry as a row: the frame's columns, and the entry's ``number``."""
        moment, direction, message, number = entry
        data = self.data(message)
        when = datetime.fromtimestamp(moment, timezone.utc)
        size = len(json.dumps(data, separators=(",", ":")))
        if isinstance(message, HttpExchange):
            return {"time": when, "direction": direction, "kind": "http", "method": message.step, "id": None,
                    "duration_ms": message.duration_ms, "size": size, "summary": self._redact(message.summary),
                    "message": data, "number": number}
        kind, method, ident = _describe(data)
        duration = None
        if kind == "request":
            if len(self._started) >= self.MAX_WAITING:
                self._started.pop(next(iter(self._started)))
            self._started[(direction, ident)] = (moment, method)
        elif kind in ("response", "error"):
            begun = self._started.pop(("→" if direction == "←" else "←", ident), None)
            if begun is not None:
                duration = round((moment - begun[0]) * 1000, 1)
                method = begun[1]
        return {"time": when, "direction": direction, "kind": kind, "method": method, "id": ident,
                "duration_ms": duration, "size": size, "summary": _summary(kind, data), "message": data,
                "number": number}


class TraceFrame(pd.DataFrame):
    """``server.trace``: the messages as a DataFrame, and ``view()`` to see them as a sequence.

    Filtering, sorting or selecting gives a TraceFrame again (pandas asks
    ``_constructor``), but only the frame ``server.trace`` returned knows the
    live Trace: its ``view()`` follows the connection; a derived frame's view
    shows just its own rows.
    """

    _trace: Trace | None = None  # a plain attribute, not in _metadata: pandas does not pass it on

    @property
    def _constructor(self) -> type[TraceFrame]:
        return TraceFrame

    def view(self) -> Any:
        """The messages as a sequence between client and server lanes, in a widget.

        On ``server.trace`` itself: live, following the connection (across
        reconnects), the same widget each time for a connection; ``close()`` it
        to stop. On a filtered frame (``trace[trace.method == "tools/call"]``):
        those rows as they are.
        """
        # Lazily: trace is in the ground layer and widgets at the top; a script that reads the
        # table never loads ipywidgets. (tests/test_imports.py lists this as an allowed upward import.)
        from .widgets.sequence import SequenceView, live_view

        if self._trace is not None:
            return live_view(self._trace)
        return SequenceView.of_frame(self)


def no_wire() -> TraceFrame:
    """The trace of a connection that has none yet: no rows, the usual columns."""
    frame = TraceFrame(columns=_COLUMNS)
    frame.attrs["mcp"] = {"kept": 0, "dropped": 0, "keep": KEEP}
    return frame


def _describe(data: dict[str, Any]) -> tuple[str, str | None, Any]:
    if "method" in data:
        return ("request" if "id" in data else "notification"), data["method"], data.get("id")
    if "error" in data:
        return "error", None, data.get("id")
    return "response", None, data.get("id")


# A list's key as the summary says one of it ("1 tool", not "1 tools"); "content" is one word for both.
_ONE = {"tools": "tool", "resources": "resource", "resourceTemplates": "resourceTemplate", "prompts": "prompt",
        "messages": "message", "contents": "content"}


def _summary(kind: str, data: dict[str, Any]) -> str:
    if kind == "error":
        error = data.get("error", {})
        return _short(f"error {error.get('code')}: {error.get('message')}")
    if kind == "response":
        result = data.get("result") or {}
        parts = []
        if isinstance(result, dict) and result.get("resultType") == "input_required":
            # 2026-07-28: the server needs answers first (a multi-round-trip request); the client asks again
            asked = result.get("inputRequests")
            asked = asked.values() if isinstance(asked, dict) else []
            needs = [str(r.get("method")) for r in asked if isinstance(r, dict)]
            return _short(f"input required: {', '.join(needs) or 'answers'}")
        if isinstance(result, dict):
            for key in ("content", "tools", "resources", "resourceTemplates", "prompts", "messages", "contents"):
                if isinstance(result.get(key), list):
                    count = len(result[key])
                    parts.append(f"{count} {_ONE.get(key, key) if count == 1 else key}")
            completion = result.get("completion")
            if isinstance(completion, dict) and isinstance(completion.get("values"), list):
                parts.append(f"{len(completion['values'])} values" + (", more" if completion.get("hasMore") else ""))
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
    # The envelope after what was asked: a retried round's answers and opaque state, then _meta
    envelope = ("_meta", "inputResponses", "requestState")
    shown = {k: v for k, v in params.items() if k not in envelope} if isinstance(params, dict) else params
    text = json.dumps(shown, ensure_ascii=False) if shown else ""
    if isinstance(params, dict):
        answers = params.get("inputResponses")
        if isinstance(answers, dict) and answers:
            text += f" inputResponses: {len(answers)}"
        if params.get("requestState"):
            text += " requestState"
        if params.get("_meta"):
            text += f" _meta: {', '.join(sorted(params['_meta']))}"
    return _short(text.strip())


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
        trace.wired = True

    async def __aenter__(self) -> tuple[Any, Any]:
        read_stream, write_stream = await self._transport.__aenter__()
        return _TapRead(read_stream, self._trace), _TapWrite(write_stream, self._trace)

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        return await self._transport.__aexit__(*exc_info)
