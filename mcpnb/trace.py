"""The protocol trace: every JSON-RPC message a connection sends and receives.

A learner sees the handshake or ``server/discover``, the ``_meta`` envelope of
the 2026-07-28 era, notifications and cancellations; an analyst sees which call
was slow. ``Tap`` watches the SDK transport's two streams and notes each message
as it passes, with the time; nothing is serialised on the way (the call path
stays as fast as without a trace). Summaries and sizes are worked out when
someone looks (``Trace.frame``), and every text goes through the connection's
redactor. The last ``KEEP`` messages are kept.

Each message kept has a bounded size. A message whose JSON is larger than
``WHOLE_UP_TO`` (64 KB) is kept as a ``Cut``: its summary, its size and an
excerpt of its first ``HEAD`` characters (``mcpnb.excerpt``: the envelope,
the start of each long string, the first items of each long list, each cut
marked), under a first key ``"(cut)"`` that says so and how to keep whole ones:
``server.trace.keep_full()`` (or ``Trace.full``), for as long as it is on. A
100,000-row result thus leaves a few kilobytes in the trace, not the rows.
Sizes are checked after the call, not on the way (``settle``): ``note`` only
makes sure a check runs ``SETTLE_AFTER`` seconds later on the connection's
loop (at most one waits at a time), and every read (``frame``, ``since``,
``message``) settles first. A check serialises each new message once in the
SDK's own serialiser (about a microsecond for a small one); only a large one
costs more, once.

In-process servers have no wire: the SDK calls them directly (or through its
own memory transport), so their trace is empty.

``server.trace`` is a ``TraceFrame`` (``mcpnb.traceframe``, which loads pandas when first
asked for): a DataFrame whose ``view()`` draws the messages as a sequence
(``mcpnb.widgets.sequence``). A view follows the Trace
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

import asyncio
import collections
import json
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable

from mcp.shared.message import SessionMessage

from .excerpt import excerpt

if TYPE_CHECKING:
    from .traceframe import TraceFrame

__all__ = ["Trace", "Tap", "HttpExchange", "Cut", "Reader", "no_wire", "WHOLE_UP_TO", "HEAD"]

logger = logging.getLogger("mcpnb")

KEEP = 1000
# A message whose JSON (in bytes) is larger than this is kept cut (see the module's docstring).
WHOLE_UP_TO = 64 * 1024
HEAD = 4 * 1024  # about how many characters of a cut message are kept
SETTLE_AFTER = 0.1  # seconds after a message is noted that its size is checked (unless someone reads first)
KEEP_WHOLE = "server.trace.keep_full() keeps messages whole"
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


@dataclass
class Cut:
    """A large message as the trace keeps it: its excerpt (masked, under a first key ``"(cut)"`` that
    says it was cut) as JSON text, its size in bytes of JSON and its summary, worked out from the whole
    message. Kept as text: smaller than the data, and each reader gets data of its own to change."""

    text: str
    size: int
    summary: str

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.text)


Watcher = Callable[[], None]


class Trace:
    """The messages of one connection, oldest first (bounded)."""

    def __init__(self, redact: Callable[[str], str], keep: int | None = None) -> None:
        self._redact = redact
        # [time, direction, message, number]: number counts every message noted, from 0; a list, so that
        # settle() can put a Cut in place of a large message whatever the entry's place in the deque now
        self._entries: collections.deque[list[Any]] = collections.deque(maxlen=keep or KEEP)
        self.dropped = 0
        self.noted = 0  # messages noted in all (the next one's number)
        self.wired = False  # a transport was tapped (in-process servers have no wire)
        self._watchers: tuple[Watcher, ...] = ()  # replaced, never changed in place: note() may be iterating
        self.whole_up_to = WHOLE_UP_TO  # bytes of JSON: a larger message is kept cut, unless full
        self._full = False
        self._checked = 0  # the number of the first message whose size settle() has not checked
        self._check_waits = False  # a settle() is due on the loop (note() schedules at most one at a time)
        self._settling = threading.Lock()

    @property
    def keep(self) -> int:
        return self._entries.maxlen or KEEP

    def note(self, direction: str, message: Any) -> None:
        """Remember one message (called by Tap for every message; cheap)."""
        if len(self._entries) == self._entries.maxlen:
            self.dropped += 1
        self._entries.append([time.time(), direction, message, self.noted])
        self.noted += 1
        if not self._check_waits:
            self._check_later()
        if self._watchers:
            self._tell()

    # -- a bounded size per message ------------------------------------------------------

    def _check_later(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # noted outside a loop: the next read settles
            return
        self._check_waits = True
        loop.call_later(SETTLE_AFTER, self._check_now)

    def _check_now(self) -> None:
        self._check_waits = False
        if not self.settle(wait=False):
            self._check_later()  # a reader is settling right now; look again shortly

    def settle(self, wait: bool = True) -> bool:
        """Cut each large message noted since the last check (see the module's docstring).

        Runs by itself shortly after messages come, and before every read. False when another
        thread is settling and ``wait`` is False."""
        if self._checked >= self.noted:
            return True
        if not self._settling.acquire(blocking=wait):
            return False
        try:
            entries = list(self._entries)
            if not entries:
                return True
            if not self._full:
                reader = self.reader()
                for entry in entries[max(0, self._checked - entries[0][3]):]:
                    message = entry[2]
                    if isinstance(message, (HttpExchange, Cut)):
                        continue
                    raw = _json(message)
                    if len(raw) > self.whole_up_to:
                        entry[2] = reader.cut(message, raw)
            self._checked = entries[-1][3] + 1
            return True
        finally:
            self._settling.release()

    @property
    def full(self) -> bool:
        """True while messages are kept whole, however large (``keep_full``); False: a message
        larger than ``whole_up_to`` bytes of JSON is kept cut."""
        return self._full

    @full.setter
    def full(self, on: bool) -> None:
        on = bool(on)
        if on == self._full:
            return
        if on:
            self.settle()  # what came before is kept as it was asked for then
            self._full = True
        else:
            self._full = False
            self._checked = 0  # look at every message kept again: the whole ones kept meanwhile are cut
            self.settle()

    def keep_full(self, on: bool = True) -> _Full:
        """Keep messages whole, however large, from now on (``on=False``: cut large ones again, those
        kept meanwhile too). As ``with trace.keep_full(): ...`` it lasts for the block."""
        before = self._full
        self.full = on
        return _Full(self, before)

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

    def since(self, number: int) -> list[list[Any]]:
        """The entries kept whose number is ``number`` or later, oldest first."""
        self.settle()
        entries = list(self._entries)
        if not entries or entries[-1][3] < number:
            return []
        start = max(0, number - entries[0][3])
        return entries[start:]

    def message(self, number: int) -> dict[str, Any] | None:
        """Message ``number`` as JSON data, secrets masked (cut, if it was); None once it is no longer kept."""
        self.settle()
        entries = list(self._entries)
        place = number - entries[0][3] if entries else -1
        if 0 <= place < len(entries) and entries[place][3] == number:
            return self.reader().data(entries[place][2])
        return None

    def reader(self) -> Reader:
        """A Reader that masks as this Trace does (a live view keeps one to read what is new)."""
        return Reader(self._redact, self)

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
        import pandas as pd  # lazily, as TraceFrame: a connection keeps a Trace without pandas

        from .traceframe import TraceFrame

        self.settle()
        reader = self.reader()
        entries = list(self._entries)
        rows = [reader.row(entry) for entry in entries]
        frame = TraceFrame(rows, columns=_COLUMNS)
        frame["id"] = pd.Series([row["id"] for row in rows], dtype=object)  # ids are ints or strings, never floats
        frame.attrs["mcp"] = {"kept": len(rows), "dropped": self.dropped, "keep": self.keep,
                              "cut": sum(isinstance(entry[2], Cut) for entry in entries),
                              "whole_up_to": None if self._full else self.whole_up_to}
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

    def __init__(self, redact: Callable[[str], str], trace: Trace | None = None) -> None:
        self._redact = redact
        self._trace = trace  # whose rule cuts large messages (none: everything whole)
        self._started: dict[tuple[str, Any], tuple[float, str | None]] = {}

    def data(self, message: Any) -> dict[str, Any]:
        """A message as JSON data, secrets masked; a large one cut, as its Trace keeps it."""
        if isinstance(message, Cut):
            return message.data
        if isinstance(message, HttpExchange):
            return json.loads(self._redact(json.dumps(message.as_dict())))
        raw = _json(message)
        if self._cuts(raw):  # not settled yet: cut it here too, as it will be kept
            return self.cut(message, raw).data
        return json.loads(self._redact(raw.decode()))

    def _cuts(self, raw: bytes) -> bool:
        trace = self._trace
        return trace is not None and not trace.full and len(raw) > trace.whole_up_to

    def cut(self, message: Any, raw: bytes) -> Cut:
        """``message`` (whose JSON is ``raw``) as a Cut: no copy of what it carries is made or kept."""
        whole = _envelope(message)
        kind = _describe(whole)[0]
        data = excerpt(whole, HEAD, self._redact)
        size = _amount(len(raw))
        note = f"cut: the trace kept only the start of this {size} message (each cut marked …); {KEEP_WHOLE}"
        text = json.dumps({"(cut)": note, **data}, ensure_ascii=False, separators=(",", ":"), default=str)
        return Cut(text, len(raw), f"{_summary(kind, data, whole)} · cut from {size}")

    def row(self, entry: list[Any]) -> dict[str, Any]:
        """One entry as a row: the frame's columns, and the entry's ``number``."""
        moment, direction, message, number = entry
        when = datetime.fromtimestamp(moment, timezone.utc)
        if isinstance(message, HttpExchange):
            data = self.data(message)
            return {"time": when, "direction": direction, "kind": "http", "method": message.step, "id": None,
                    "duration_ms": message.duration_ms, "size": len(json.dumps(data, separators=(",", ":"))),
                    "summary": self._redact(message.summary), "message": data, "number": number}
        summary = None
        if not isinstance(message, Cut):
            raw = _json(message)
            if self._cuts(raw):
                message = self.cut(message, raw)
            else:
                data, size = json.loads(self._redact(raw.decode())), len(raw)
        if isinstance(message, Cut):
            data, size, summary = message.data, message.size, message.summary
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
                "duration_ms": duration, "size": size, "summary": summary or _summary(kind, data), "message": data,
                "number": number}


def __getattr__(name: str) -> Any:
    """``mcpnb.trace.TraceFrame`` as before it moved to ``mcpnb.traceframe`` (loaded when asked: pandas)."""
    if name == "TraceFrame":
        from .traceframe import TraceFrame

        return TraceFrame
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def no_wire() -> TraceFrame:
    """The trace of a connection that has none yet: no rows, the usual columns."""
    from .traceframe import TraceFrame  # lazily: it imports pandas

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


def _summary(kind: str, data: dict[str, Any], whole: dict[str, Any] | None = None) -> str:
    """One line about a message. ``whole``: the message uncut when ``data`` is its excerpt; its lists
    are counted there, but no text is shown from it (it is not masked)."""
    if kind == "error":
        error = data.get("error", {})
        return _short(f"error {error.get('code')}: {error.get('message')}")
    if kind == "response":
        result = data.get("result") or {}
        counted = (whole or data).get("result") or {}
        parts = []
        if isinstance(result, dict) and result.get("resultType") == "input_required":
            # 2026-07-28: the server needs answers first (a multi-round-trip request); the client asks again
            asked = result.get("inputRequests")
            asked = asked.values() if isinstance(asked, dict) else []
            needs = [str(r.get("method")) for r in asked if isinstance(r, dict)]
            return _short(f"input required: {', '.join(needs) or 'answers'}")
        if isinstance(result, dict) and isinstance(counted, dict):
            for key in ("content", "tools", "resources", "resourceTemplates", "prompts", "messages", "contents"):
                if isinstance(counted.get(key), list):
                    count = len(counted[key])
                    parts.append(f"{count} {_ONE.get(key, key) if count == 1 else key}")
            completion = counted.get("completion")
            if isinstance(completion, dict) and isinstance(completion.get("values"), list):
                parts.append(f"{len(completion['values'])} values" + (", more" if completion.get("hasMore") else ""))
            if counted.get("structuredContent") is not None:
                parts.append("structured")
            if counted.get("isError"):
                parts.append("isError")
            if result.get("protocolVersion") or result.get("supportedVersions"):
                parts.append(f"protocol {result.get('protocolVersion') or result.get('supportedVersions')}")
            if counted.get("nextCursor"):
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


def _json(message: Any) -> bytes:
    """A message's JSON as the SDK writes it (compact), by its own serialiser: fast, no copy kept."""
    return message.__pydantic_serializer__.to_json(message, by_alias=True, exclude_unset=True)


def _envelope(model: Any) -> dict[str, Any]:
    """A message (or its error) as a dict of its fields, sharing what they hold (nothing copied)."""
    found = {}
    for name in type(model).model_fields:
        if name in model.model_fields_set:  # as the JSON is written (exclude_unset)
            value = getattr(model, name)
            found[name] = _envelope(value) if hasattr(value, "model_fields_set") else value
    return found


def _amount(size: int) -> str:
    """A size in bytes as people read it: 812 bytes, 64.0 KB, 6.3 MB."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


class _Full:
    """What ``Trace.keep_full`` returns: as a context manager, it puts the setting back when the block ends."""

    def __init__(self, trace: Trace, before: bool) -> None:
        self._trace, self._before = trace, before

    def __enter__(self) -> Trace:
        return self._trace

    def __exit__(self, *exc_info: Any) -> None:
        self._trace.full = self._before

    def __repr__(self) -> str:
        return f"<trace keeps messages {'whole' if self._trace.full else f'cut above {self._trace.whole_up_to:,} bytes'}>"


def _short(text: str, limit: int = 140) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Tap:
    """A transport's watcher (``streams.Watched``) that notes every message in a Trace."""

    def __init__(self, trace: Trace) -> None:
        self._trace = trace
        trace.wired = True

    def read(self, item: Any) -> Any:
        if isinstance(item, SessionMessage):
            self._trace.note("←", item.message)
        return item

    def write(self, item: Any) -> Any:
        if isinstance(item, SessionMessage):
            self._trace.note("→", item.message)
        return item
