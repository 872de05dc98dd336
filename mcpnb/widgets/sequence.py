"""The wire as a sequence: ``server.trace.view()``, and the explorer's Activity tab.

Two lanes, the client's and the server's, and each message an arrow between
them, newest last: a request from the client (or, for sampling, elicitation
and roots, from the server), its response coming back with how long it took,
errors marked, notifications as dashed one-way arrows, the HTTP exchanges of
a sign-in as two-headed ones. Each row opens to the message's JSON. A filter
by method narrows it to one conversation (``tools/call``: the calls, their
answers and the progress and cancellations that belong to them).

Python knows the protocol; the page only draws. ``Sequencer`` decides which
lane sent a message, which request a response answers, which call a progress
or cancelled notification is about, the rounds of a 2026-07-28 multi-round-trip
request (a request that repeats the ``requestState`` an ``input_required``
answer gave is that request's next round), the words on its badges, and the
method a row is filed under for the filter. ``sequence.js`` builds the rows
with DOM text nodes only (``textContent``: nothing from a server is ever
parsed as markup), hides those the filter leaves out, keeps the newest in view
unless the person has scrolled up, and sends intents: the filter chosen, a
message opened.

What crosses to the page, and why this way:

- rows go as custom messages, in batches: all of them when a page view
  starts (it asks with ``ready``), then only the new ones, at most five times a
  second (``Throttle``). A synced list trait would send every row again on each
  change (about 300 KB for a full trace), five times a second on a busy wire;
  the page appends a batch to what it has, so the DOM is never rebuilt and an
  opened row stays open;
- the synced traits are small: the filter, the methods seen, counts, a note;
- a message's JSON is fetched when the person opens it (``json``, answered
  with its pretty-printed text, masked as the trace masks it, cut at
  ``MAX_JSON_CHARS``): one ``tools/list`` answer can be hundreds of KB, and
  most messages are never opened.

A live view watches its Trace (``Trace.watch``) until ``close()``; the watcher
only pokes the throttle, so the connection's hot path stays cheap.
"""

from __future__ import annotations

import json
import math
import threading
import weakref
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from .. import runtime
from ..events import cut
from ..trace import KEEP, Trace
from .throttle import Throttle

__all__ = ["SequenceView", "Sequencer", "live_view", "clock", "MAX_JSON_CHARS"]

# The most of one message's JSON sent to the page when it is opened (characters).
MAX_JSON_CHARS = 200_000
HTTP_TOPIC = "HTTP (authorization)"
MAX_TOPICS = 200  # methods offered by the filter: a server that invents a new one per message is bounded
_WHO_ASKS = {"sampling/createMessage": "server asks the model", "elicitation/create": "server asks the person",
             "roots/list": "server asks for roots"}


def clock(moment: Any) -> str:
    """A time as a local clock to the millisecond (13:02:07.412)."""
    if isinstance(moment, datetime):
        try:
            moment = moment.to_pydatetime() if hasattr(moment, "to_pydatetime") else moment  # a pandas Timestamp
            return moment.astimezone().strftime("%H:%M:%S.%f")[:-3]
        except (ValueError, OSError, TypeError):  # NaT, or a time the platform cannot convert
            return ""
    return "" if moment is None else str(moment)


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return round(float(value), 1)
    return None


def _key(ident: Any) -> str:
    """Ids and tokens as one kind of key (a frame's ids may be ints or strings; JSON keeps them apart)."""
    return json.dumps(ident, default=str)


class Sequencer:
    """Compact rows for the page, from trace rows in order; remembers what it needs across batches."""

    MAX_REMEMBERED = 2000  # requests waiting, progress tokens, round states: a server that never answers is bounded

    def __init__(self) -> None:
        self._waiting: dict[tuple[str, str], tuple[int, str]] = {}  # (direction, id) -> (index, method)
        self._tokens: dict[tuple[str, str], tuple[int, str, str]] = {}  # (direction, token) -> (index, method, id)
        self._token_of: dict[int, tuple[str, str]] = {}  # index of a request -> its token's key
        # requestState -> (next round, index and id of round 1); index of a request -> the same for it
        self._states: dict[str, tuple[int, int, str]] = {}
        self._rounds: dict[int, tuple[int, int, str]] = {}

    def add(self, index: int, row: Mapping[str, Any]) -> dict[str, Any]:
        """The page's row for one trace row (the frame's columns): ``index`` identifies it."""
        kind = str(row.get("kind") or "")
        direction = str(row.get("direction") or "")
        method = row.get("method")
        method = method if isinstance(method, str) else ""
        ident = row.get("id")
        ident = None if ident is None or (isinstance(ident, float) and math.isnan(ident)) else ident
        data = row.get("message")
        data = data if isinstance(data, dict) else {}
        summary = row.get("summary")
        compact: dict[str, Any] = {
            "index": index, "time": clock(row.get("time")), "dir": direction, "kind": kind, "method": method,
            "id": "" if ident is None else str(ident), "ms": _number(row.get("duration_ms")),
            "summary": summary if isinstance(summary, str) else "", "badges": [], "pair": None, "about": None,
            "topic": method or f"({kind or 'unknown'})",
        }
        if kind == "http":
            compact["topic"] = HTTP_TOPIC
            compact["badges"].append("HTTP")
        elif kind == "request":
            self._request(index, direction, method, ident, data, compact)
        elif kind in ("response", "error"):
            self._answer(direction, ident, data, compact)
        elif kind == "notification":
            self._notification(direction, method, data, compact)
        return compact

    def _remember(self, table: dict, key: Any, value: Any) -> None:
        if len(table) >= self.MAX_REMEMBERED:
            table.pop(next(iter(table)))
        table[key] = value

    def _request(self, index: int, direction: str, method: str, ident: Any, data: dict, compact: dict) -> None:
        self._remember(self._waiting, (direction, _key(ident)), (index, method))
        params = data.get("params") if isinstance(data.get("params"), dict) else {}
        meta = params.get("_meta") if isinstance(params.get("_meta"), dict) else {}
        if meta.get("progressToken") is not None:
            token = (direction, _key(meta["progressToken"]))
            self._remember(self._tokens, token, (index, method, compact["id"]))
            self._remember(self._token_of, index, token)
        if direction == "←":
            compact["badges"].append(_WHO_ASKS.get(method, "server asks"))
        state = params.get("requestState")
        if isinstance(state, str) and state in self._states:
            number, first, first_id = self._states.pop(state)
            self._remember(self._rounds, index, (number, first, first_id))
            compact["badges"].append(f"round {number} of #{first_id}")
            compact["about"] = first

    def _answer(self, direction: str, ident: Any, data: dict, compact: dict) -> None:
        asked = "→" if direction == "←" else "←"
        found = self._waiting.pop((asked, _key(ident)), None)
        if found is None:
            return
        index, method = found
        compact["pair"] = index
        if not compact["method"]:
            compact["method"] = compact["topic"] = method
        token = self._token_of.pop(index, None)
        if token is not None:
            self._tokens.pop(token, None)  # progress after the answer is about nothing
        result = data.get("result")
        if isinstance(result, dict) and result.get("isError"):
            compact["badges"].append("tool error")  # an answer, not a failed request: the tool said it failed
        if isinstance(result, dict) and result.get("resultType") == "input_required":
            # 2026-07-28: instead of asking with requests of its own, the server answers with what it
            # needs; the client asks again with the answers and the state: the next round
            number, first, first_id = self._rounds.pop(index, (1, index, compact["id"]))
            asked = result.get("inputRequests")
            asked = asked.values() if isinstance(asked, dict) else []
            whom = {_WHO_ASKS.get(r.get("method"), "server asks") for r in asked if isinstance(r, dict)}
            compact["badges"] += ["input required", *sorted(whom)]
            if isinstance(result.get("requestState"), str):
                self._remember(self._states, result["requestState"], (number + 1, first, first_id))

    def _notification(self, direction: str, method: str, data: dict, compact: dict) -> None:
        params = data.get("params") if isinstance(data.get("params"), dict) else {}
        found: tuple[int, str, str] | None = None
        if method == "notifications/progress" and params.get("progressToken") is not None:
            # progress goes the other way from the request that carried the token
            found = self._tokens.get(("→" if direction == "←" else "←", _key(params["progressToken"])))
        elif method == "notifications/cancelled" and params.get("requestId") is not None:
            # sent by the side that made the request
            waiting = self._waiting.pop((direction, _key(params["requestId"])), None)
            found = (*waiting, str(params["requestId"])) if waiting else None
        if found is not None:
            index, request_method, request_id = found
            compact["about"] = index
            compact["topic"] = request_method
            compact["badges"].append(f"for #{request_id}")


_live: weakref.WeakKeyDictionary[Trace, SequenceView] = weakref.WeakKeyDictionary()


def live_view(trace: Trace) -> SequenceView:
    """The live view of a connection's trace: the same one while it is open (re-running a cell
    shows it again instead of adding a watcher each time)."""
    view = _live.get(trace)
    if view is None or not view.live:
        view = SequenceView.following(trace)
        _live[trace] = view
    return view


class SequenceView(anywidget.AnyWidget):
    """Messages between client and server lanes: ``SequenceView.following(trace)`` (live) or
    ``SequenceView.of_frame(frame)`` (those rows). ``rows`` are the page's rows; ``shown`` those
    the filter keeps; ``close()`` stops a live view."""

    _esm = Path(__file__).with_name("sequence.js")
    _css = Path(__file__).with_name("sequence.css")

    method = t.Unicode("").tag(sync=True)  # the filter: a topic from ``methods``, "" for all
    methods = t.List(t.Unicode()).tag(sync=True)  # the topics seen, sorted
    dropped = t.Int(0).tag(sync=True)  # earlier messages no longer kept
    keep = t.Int(KEEP).tag(sync=True)  # the most rows kept (the trace's bound)
    note = t.Unicode("").tag(sync=True)  # said where there are no rows
    live = t.Bool(False).tag(sync=True)  # following a connection

    def __init__(self, **traits: Any) -> None:
        super().__init__(**traits)
        self.rows: list[dict[str, Any]] = []
        self._sequencer = Sequencer()
        self._topics: set[str] = set()
        self._trace: Trace | None = None
        self._throttle: Throttle | None = None
        self._reader: Any = None
        self._next = 0  # the number of the next trace entry to read
        self._messages: dict[int, Any] = {}  # a frame's messages by row index (a live view asks its Trace)
        self._reading = threading.Lock()
        self._pages = 0  # page views drawing this widget now
        self._resting = False  # a live view whose every page view is gone: not watching until one comes
        self.on_msg(self._from_page)

    # -- making -------------------------------------------------------------------------

    @classmethod
    def following(cls, trace: Trace) -> SequenceView:
        """A view that follows ``trace`` as messages come, until ``close()``."""
        runtime.note_caller()  # the kernel's loop: where updates are drawn (see Throttle)
        view = cls(keep=trace.keep, live=True,
                   note="No messages yet." if trace.wired or len(trace) else
                   "An in-process server has no wire: the SDK calls it directly, so there is nothing to draw.")
        view._trace, view._reader = trace, trace.reader()
        view._throttle = Throttle(view._catch_up)
        trace.watch(view._throttle.poke)  # before the first read: nothing noted in between is missed
        view._catch_up()
        return view

    @classmethod
    def of_frame(cls, frame: Any) -> SequenceView:
        """A view of a trace frame's rows as they are (``trace[...].view()``)."""
        records = frame.to_dict("records") if len(frame) else []
        mcp = frame.attrs.get("mcp") if isinstance(frame.attrs.get("mcp"), dict) else {}
        view = cls(keep=max(len(records), int(mcp.get("keep") or KEEP)), note="No messages in this frame.",
                   dropped=int(mcp.get("dropped") or 0))  # what the trace had let go when the frame was taken
        view._messages = {index: record.get("message") for index, record in enumerate(records)}
        view._add([view._sequencer.add(index, record) for index, record in enumerate(records)])
        return view

    # -- following ----------------------------------------------------------------------

    def _catch_up(self) -> None:
        """Read what the Trace noted since the last read (on the kernel's thread, at most five times a second)."""
        trace = self._trace
        if trace is None or not self.live:
            return
        with self._reading:
            entries = trace.since(self._next)
            if not entries:
                return
            self._next = entries[-1][3] + 1
            self._add([self._sequencer.add(entry[3], self._reader.row(entry)) for entry in entries])
            self.dropped = self.rows[0]["index"] if self.rows else 0  # numbers count from the first message

    def _add(self, new: list[dict[str, Any]]) -> None:
        if not new:
            return
        self.rows.extend(new)
        del self.rows[: max(0, len(self.rows) - self.keep)]
        topics = {row["topic"] for row in new} - self._topics
        topics = set(sorted(topics)[: max(0, MAX_TOPICS - len(self._topics))])  # a server inventing methods
        if topics:
            self._topics |= topics
            self.methods = sorted(self._topics)
        self.send({"type": "rows", "rows": new})

    def _rest(self) -> None:
        """No page shows this view any more (its cell re-run or cleared): stop watching the
        connection, so an explorer left behind costs nothing; a page that shows it again wakes it."""
        if self.live and self._trace is not None and self._throttle is not None:
            self._trace.unwatch(self._throttle.poke)
            self._resting = True

    def _wake(self) -> None:
        if self.live and self._trace is not None and self._throttle is not None:
            self._resting = False
            self._trace.watch(self._throttle.poke)
            self._catch_up()  # what came while resting (what the trace still keeps)

    def close(self) -> None:
        """Stop following the connection (a live view) and close the widget."""
        if self._trace is not None and self._throttle is not None:
            self._throttle.stop()
            self._trace.unwatch(self._throttle.poke)
            if _live.get(self._trace) is self:
                del _live[self._trace]
        self.live = False
        super().close()

    # -- reading from Python ------------------------------------------------------------

    @property
    def shown(self) -> list[dict[str, Any]]:
        """The rows the filter keeps (all of them with no filter), oldest first."""
        return [row for row in self.rows if not self.method or row["topic"] == self.method]

    def message_text(self, index: int) -> str:
        """Row ``index``'s message as pretty-printed JSON (what the page shows when it is opened)."""
        if self._trace is not None:
            data = self._trace.message(index)
        else:
            data = self._messages.get(index)
        if data is None or (isinstance(data, float) and math.isnan(data)):
            return f"This message is no longer kept (the trace keeps the last {self.keep})." if self._trace \
                else "This frame has no message for the row (select the 'message' column to see it)."
        text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
        return cut(text, MAX_JSON_CHARS)

    # -- the page's intents -------------------------------------------------------------

    def _from_page(self, _widget: Any, content: Any, _buffers: Iterable[Any]) -> None:
        if not isinstance(content, dict):
            return
        if content.get("type") == "ready":  # a page view starts: everything so far
            self._pages += 1
            if self._resting:
                self._wake()
            with self._reading:
                rows = list(self.rows)
            self.send({"type": "rows", "rows": rows})
        elif content.get("type") == "gone":
            self._pages = max(0, self._pages - 1)
            if not self._pages:
                self._rest()
        elif content.get("type") == "json" and isinstance(content.get("index"), int):
            index = content["index"]
            self.send({"type": "json", "index": index, "text": self.message_text(index)})
