"""``Server``: one live MCP connection, with sync methods and async twins.

Every operation exists three times, kept in step by construction:

- ``_call(...)``, the one implementation, a coroutine that runs on mcpnb's
  background loop (``runtime``);
- ``call(...)``, for plain cells and scripts: runs it there and waits
  (an interrupt cancels the request on the server);
- ``acall(...)``, for ``await`` in a cell or any other event loop.

Listings (``tools``, ``resources``, ``templates``, ``prompts``) are fetched
whole (every page) on first use and kept until the server says the list
changed (``notifications/*/list_changed`` in the 2025-11-25 era, a
``subscriptions/listen`` stream in the 2026-07-28 era), or until ``refresh()``.

Open servers are kept in a registry by name: ``mcpnb.servers()`` lists them,
``mcpnb.close_all()`` closes them, and interpreter exit (a kernel shutting down)
closes them too, so no server process outlives the notebook.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import logging
import threading
import warnings
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import anyio
import mcp_types as types

from . import runtime
from .connection import Link, close_every_link, negotiated_era
from .errors import (CallCancelled, ConfigError, ConnectionClosed, InvalidArguments, MCPNBError, ProtocolError,
                     RequestTimeout)
from .handlers import Answers, root_uris, roots_from
from .listings import Listing, Prompt, Resource, ResourceTemplate, Tool
from .progress import Progress
from .results import Completions, PromptResult, ResourceResult, ServerInfo, ToolResult
from .schema import check_arguments, to_json
from .targets import Target, resolve
from .trace import Trace

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Server", "connect", "aconnect", "servers", "close_all"]

# Guards against a server whose cursors never end (or repeat).
MAX_PAGES = 10_000
# Log messages and notifications kept per connection.
KEEP_EVENTS = 1000

_UNSET: Any = object()
logger = logging.getLogger("mcpnb")

_KINDS = {
    # kind: (SDK list method, result attribute, item class, key field, singular, capability)
    "tools": ("list_tools", "tools", Tool, "name", "tool", "tools"),
    "resources": ("list_resources", "resources", Resource, "uri", "resource", "resources"),
    "templates": ("list_resource_templates", "resource_templates", ResourceTemplate, "uri_template",
                  "template", "resources"),
    "prompts": ("list_prompts", "prompts", Prompt, "name", "prompt", "prompts"),
}
_CHANGED = {
    types.ToolListChangedNotification: ("tools",),
    types.ResourceListChangedNotification: ("resources", "templates"),
    types.PromptListChangedNotification: ("prompts",),
}




def _list_change_flags(capabilities: types.ServerCapabilities) -> dict[str, bool]:
    """listen() filter flags for the lists the server says can change."""
    flags = {
        "tools_list_changed": bool(capabilities.tools and capabilities.tools.list_changed),
        "prompts_list_changed": bool(capabilities.prompts and capabilities.prompts.list_changed),
        "resources_list_changed": bool(capabilities.resources and capabilities.resources.list_changed),
    }
    return flags if any(flags.values()) else {}


class Server:
    """A live connection to one MCP server. Make one with ``mcpnb.connect()``."""

    def __init__(self, target: Target, *, protocol: str | None, timeout: float | None,
                 connect_timeout: float | None, log_level: str | None = "info",
                 sampling: Any = "ask", elicitation: Any = "ask", roots: Any = "default") -> None:
        self.target = target
        self.name = target.name
        self._options = {"protocol": protocol, "timeout": timeout, "connect_timeout": connect_timeout,
                         "log_level": log_level}
        self.timeout = timeout
        self._link: Link | None = None
        self._listings: dict[str, Listing[Any]] = {}
        self._stale: set[str] = set()
        self._locks: dict[str, anyio.Lock] = {}
        self._info: ServerInfo | None = None
        self._replaced_by: str | None = None
        self._closed_link: Link | None = None  # kept after close() so stderr can still be read
        self._logs: collections.deque[tuple[datetime, types.LoggingMessageNotificationParams]] = \
            collections.deque(maxlen=KEEP_EVENTS)
        self.notifications: collections.deque[Any] = collections.deque(maxlen=KEEP_EVENTS)
        self._trace: Trace | None = None  # made with the first link, kept across reconnects
        self._activity: collections.deque[tuple[datetime, str, str]] = collections.deque(maxlen=KEEP_EVENTS)
        self._watchers: list[Any] = []  # called (on the loop) after each new event: open explorers
        self._answers = Answers(self.name, sampling=sampling, elicitation=elicitation, roots=roots,
                                record=self._record)
        self._subscriptions: dict[str, Subscription] = {}

    # -- lifecycle ---------------------------------------------------------------------

    async def _open(self) -> None:
        link = Link(
            self.target,
            message_handler=self._on_message,
            logging_callback=self._on_log,
            client_info=types.Implementation(name="mcpnb", version=_version()),
            callbacks=self._answers.callbacks(),
            **self._options,
        )
        if self._answers.asker is None:
            from .widgets.answer import WidgetAsker

            self._answers.asker = WidgetAsker()
        if self._trace is None:
            self._trace = Trace(link.redact)
        link.trace = self._trace
        try:
            await link.open()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await link.close()
            raise
        self._link = link
        self._listings.clear()
        self._stale.clear()
        self._subscriptions.clear()  # a new connection starts with none
        client = link.require_client()
        server_info = client.server_info
        self._info = ServerInfo(
            name=server_info.name if server_info else None,
            title=server_info.title if server_info else None,
            version=server_info.version if server_info else None,
            protocol_version=client.protocol_version,
            era=negotiated_era(client.protocol_version),
            capabilities=client.server_capabilities,
            instructions=link.redact(client.instructions) if client.instructions else None,
            transport=self.target.describe(),
        )
        if self._info.era == "stateless" and _list_change_flags(client.server_capabilities):
            link.spawn(self._listen_for_list_changes, "listening for list changes")
        level = self._options["log_level"]
        if level and self._info.era == "handshake" and client.server_capabilities.logging is not None:
            await _set_log_level(link, level)

    async def _listen_for_list_changes(self, client: Any) -> None:
        """2026-07-28 servers announce list changes on a subscriptions/listen stream."""
        async with client.listen(**_list_change_flags(client.server_capabilities)) as subscription:
            async for _ in subscription:
                pass  # the SDK also hands each event to _on_message, which notes it

    async def _close(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            with anyio.CancelScope(shield=True):
                await link.close()
        self._closed_link = link

    def close(self) -> None:
        """Close the connection; a stdio server process is stopped."""
        _unregister(self)
        runtime.run(self._close())

    async def aclose(self) -> None:
        _unregister(self)
        await runtime.arun(self._close())

    def reconnect(self) -> Server:
        """Close (if need be) and connect again with the same target and options."""
        runtime.run(self._reconnect())
        return self

    async def areconnect(self) -> Server:
        """Async twin of :meth:`reconnect`."""
        await runtime.arun(self._reconnect())
        return self

    async def _reconnect(self) -> None:
        await self._close()
        self._replaced_by = None
        await self._open()
        await _replace_older(self)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    @property
    def closed(self) -> bool:
        return self._link is None or self._link.closed

    @property
    def alive(self) -> bool:
        """Open, and not known to have lost its server."""
        return self._link is not None and self._link.client is not None and self._link.lost is None

    def _require_link(self) -> Link:
        if self._link is None:
            if self._replaced_by:
                raise ConnectionClosed(
                    f"This connection to {self.name!r} was replaced by a newer one with the same name.",
                    hint="use the new Server object (mcpnb.servers()), or connect with another name=.",
                )
            raise ConnectionClosed(f"The connection to {self.name!r} is closed.",
                                   hint="server.reconnect() opens it again.")
        return self._link

    # -- what the server is ------------------------------------------------------------

    @property
    def info(self) -> ServerInfo:
        """Identity, negotiated protocol version and era, capabilities, instructions."""
        self._require_link()
        assert self._info is not None
        return self._info

    @property
    def protocol_version(self) -> str:
        return self.info.protocol_version

    @property
    def stderr(self) -> str:
        """What a stdio server has written to stderr (the last 64 KB, secrets masked)."""
        link = self._link or self._closed_link
        if link is None or link.stderr is None:
            return ""
        return link.redact(link.stderr.text())

    @property
    def trace(self) -> pd.DataFrame:
        """Every JSON-RPC message sent and received (the last 1000), as a table; secrets masked.

        Columns: time, direction (→ sent, ← received), kind, method, id,
        duration_ms (request to response), size (bytes), summary, message.
        In-process servers have no wire, so their trace is empty.
        """
        import pandas as pd

        if self._trace is None:
            return pd.DataFrame()
        return self._trace.frame()

    @property
    def pid(self) -> int | None:
        """The process id of a stdio server."""
        return self._link.watch.pid if self._link and self._link.watch else None

    # -- listings ----------------------------------------------------------------------

    @property
    def tools(self) -> Listing[Tool]:
        """Every tool the server offers."""
        return runtime.run(self._listing("tools"))

    @property
    def resources(self) -> Listing[Resource]:
        """Every resource the server lists."""
        return runtime.run(self._listing("resources"))

    @property
    def templates(self) -> Listing[ResourceTemplate]:
        """Every resource template the server lists."""
        return runtime.run(self._listing("templates"))

    @property
    def prompts(self) -> Listing[Prompt]:
        """Every prompt the server offers."""
        return runtime.run(self._listing("prompts"))

    async def atools(self) -> Listing[Tool]:
        return await runtime.arun(self._listing("tools"))

    async def aresources(self) -> Listing[Resource]:
        return await runtime.arun(self._listing("resources"))

    async def atemplates(self) -> Listing[ResourceTemplate]:
        return await runtime.arun(self._listing("templates"))

    async def aprompts(self) -> Listing[Prompt]:
        return await runtime.arun(self._listing("prompts"))

    def refresh(self) -> None:
        """Forget every cached listing; the next access fetches them again."""
        self._stale.update(_KINDS)

    async def _listing(self, kind: str) -> Listing[Any]:
        cached = self._listings.get(kind)
        if cached is not None and kind not in self._stale:
            return cached
        lock = self._locks.setdefault(kind, anyio.Lock())
        async with lock:
            cached = self._listings.get(kind)
            if cached is not None and kind not in self._stale:
                return cached
            listing = await self._fetch(kind)
            self._listings[kind] = listing
            return listing

    async def _fetch(self, kind: str) -> Listing[Any]:
        link = self._require_link()
        method, attribute, item_class, key, singular, capability = _KINDS[kind]
        if getattr(self.info.capabilities, capability, None) is None:
            self._stale.discard(kind)  # the server offers none of these
            return Listing(singular, self.name, [], key)
        refresh = kind in self._stale or kind in self._listings
        self._stale.discard(kind)  # a change notice during the fetch marks it stale again
        items: list[Any] = []
        cursor: str | None = None
        seen: set[str] = set()
        action = f"Listing {kind} of {self.name!r}"
        for _ in range(MAX_PAGES):
            page = await link.request(
                action,
                lambda c: getattr(c, method)(cursor=cursor, cache_mode="refresh" if refresh else "use"),
                timeout=self.timeout,
            )
            items.extend(item_class.from_sdk(item) for item in getattr(page, attribute))
            cursor = page.next_cursor
            if not cursor:
                break
            if cursor in seen:
                raise ProtocolError(f"{action}: the server sent the same page cursor twice ({cursor[:40]!r}).")
            seen.add(cursor)
        else:
            raise ProtocolError(f"{action}: more than {MAX_PAGES} pages; stopped.")
        return Listing(singular, self.name, items, key)

    async def _on_message(self, message: Any) -> None:
        """Notifications from the server: note list changes, keep the rest for display."""
        root = getattr(message, "root", message)
        for notice, kinds in _CHANGED.items():
            if isinstance(root, notice):
                self._stale.update(kinds)
                self._record("list changed", f"{', '.join(kinds)} changed")
        self.notifications.append(root)
        if isinstance(root, types.ResourceUpdatedNotification):
            self._resource_updated(str(root.params.uri))
        elif isinstance(root, Exception):
            self._record("transport", f"{type(root).__name__}: {self._redact(root)}")

    async def _on_log(self, params: types.LoggingMessageNotificationParams) -> None:
        # Filtered here too: some servers send every level whatever the client asked for.
        wanted = self._options["log_level"]
        if wanted is None or _LOG_LEVELS.index(wanted) > _severity(params.level):
            return
        self._logs.append((datetime.now(timezone.utc), params))
        self._changed("log")

    def _record(self, kind: str, summary: str) -> None:
        """Note an event for ``server.activity`` (and any open explorer)."""
        self._activity.append((datetime.now(timezone.utc), kind, summary))
        self._changed(kind)

    def _changed(self, kind: str) -> None:
        for watcher in list(self._watchers):
            try:
                watcher(kind)
            except Exception:  # a broken view must not break the connection
                logger.debug("an activity watcher failed", exc_info=True)

    def _redact(self, value: Any) -> str:
        link = self._link or self._closed_link
        return link.redact(str(value)) if link else str(value)

    @property
    def activity(self) -> pd.DataFrame:
        """What happened besides your own calls (the last 1000): list changes, resource
        updates, the server's questions and their answers, roots sent; time, kind, summary."""
        import pandas as pd

        return pd.DataFrame(list(self._activity), columns=["time", "kind", "summary"])

    @property
    def logs(self) -> pd.DataFrame:
        """Log messages the server sent (the last 1000): time, level, logger, message.

        Which are kept is set by ``connect(log_level=...)`` ("info" by default):
        the server is asked for that level, and anything below it is dropped.
        """
        import json

        import pandas as pd

        rows = [{"time": when, "level": p.level, "logger": p.logger,
                 "message": p.data if isinstance(p.data, str) else json.dumps(p.data, default=str)}
                for when, p in list(self._logs)]
        return pd.DataFrame(rows, columns=["time", "level", "logger", "message"])

    # -- answering the server: roots --------------------------------------------------

    @property
    def roots(self) -> list[str]:
        """The roots offered to the server (file:// URIs); assign a path or list to change them."""
        return root_uris(self._answers.roots)

    @roots.setter
    def roots(self, value: Any) -> None:
        runtime.run(self._set_roots(value))

    async def aset_roots(self, value: Any) -> None:
        """Async twin of ``server.roots = value``."""
        await runtime.arun(self._set_roots(value))

    async def _set_roots(self, value: Any) -> None:
        if self._answers.roots is None:
            raise ConfigError(f"Roots are not offered on {self.name!r} (it connected with roots=None).",
                              hint="reconnect with connect(..., roots=PATH) to offer them.")
        self._answers.roots = roots_from(value) or []
        self._record("roots", "roots set to: " + (", ".join(self.roots) or "none"))
        link = self._require_link()
        if self._info and self._info.era == "handshake" and self.alive:
            await link.request("Sending roots/list_changed", lambda c: _quietly(c.send_roots_list_changed))

    # -- resource subscriptions --------------------------------------------------------

    def subscribe(self, uri: str, callback: Any = None) -> None:
        """Follow changes to the resource at ``uri``: each update is noted in
        ``server.activity`` and, given a ``callback``, calls ``callback(uri)``.

        2025-11-25 servers get ``resources/subscribe``; 2026-07-28 servers a
        ``subscriptions/listen`` stream for that URI.
        """
        runtime.run(self._subscribe(str(getattr(uri, "uri", uri)), callback))

    async def asubscribe(self, uri: str, callback: Any = None) -> None:
        """Async twin of :meth:`subscribe`."""
        await runtime.arun(self._subscribe(str(getattr(uri, "uri", uri)), callback))

    def unsubscribe(self, uri: str) -> None:
        """Stop following ``uri``."""
        runtime.run(self._unsubscribe(str(getattr(uri, "uri", uri))))

    async def aunsubscribe(self, uri: str) -> None:
        await runtime.arun(self._unsubscribe(str(getattr(uri, "uri", uri))))

    @property
    def subscriptions(self) -> list[str]:
        """The resource URIs followed on this connection."""
        return list(self._subscriptions)

    async def _subscribe(self, uri: str, callback: Any) -> None:
        link = self._require_link()
        if callback is not None and not callable(callback):
            raise ConfigError(f"callback= must be callable, not {type(callback).__name__}.")
        if uri in self._subscriptions:
            self._subscriptions[uri].callback = callback
            return
        resources = self.info.capabilities.resources
        if not (resources and resources.subscribe):
            raise ConfigError(f"Server {self.name!r} does not offer resource subscriptions.",
                              hint="server.info.capabilities shows what it offers.")
        action = f"Subscribing to {uri!r} on {self.name!r}"
        scope = None
        if self.info.era == "handshake":
            await link.request(action, lambda c: _quietly(c.subscribe_resource, uri), timeout=self.timeout)
        else:
            scope = await self._listen_for_updates(link, uri, action)
        self._subscriptions[uri] = Subscription(uri, callback, scope)
        self._record("subscription", f"subscribed to {uri}")

    async def _listen_for_updates(self, link: Link, uri: str, action: str) -> Any:
        """A subscriptions/listen stream for one URI; returns once the server has acknowledged it."""
        acknowledged = anyio.Event()
        failed: list[BaseException] = []

        async def listen(client: Any) -> None:
            try:
                async with client.listen(resource_subscriptions=[uri]) as stream:
                    acknowledged.set()
                    async for _ in stream:
                        pass  # the SDK also hands each event to _on_message, which notes it
            except Exception as exc:
                failed.append(exc)
                raise
            finally:
                acknowledged.set()

        scope = link.spawn(listen, f"the subscription to {uri}", on_stop=lambda why: self._record("subscription", why))
        with anyio.move_on_after(self.timeout or 30):
            await acknowledged.wait()
        if failed or not acknowledged.is_set():
            scope.cancel()
            raise (await link.translate(failed[0], action)) if failed else \
                ProtocolError(f"{action}: the server did not acknowledge the subscription.")
        return scope

    async def _unsubscribe(self, uri: str) -> None:
        link = self._require_link()
        subscription = self._subscriptions.pop(uri, None)
        if subscription is None:
            return
        if subscription.scope is not None:
            subscription.scope.cancel()
        elif self.alive:
            await link.request(f"Unsubscribing from {uri!r}", lambda c: _quietly(c.unsubscribe_resource, uri),
                               timeout=self.timeout)
        self._record("subscription", f"unsubscribed from {uri}")

    def _resource_updated(self, uri: str) -> None:
        self._record("resource updated", uri)
        subscription = self._subscriptions.get(uri)
        if subscription is None or subscription.callback is None:
            return
        callback = subscription.callback

        def call() -> None:
            try:
                callback(uri)
            except Exception as exc:  # the person's code: say so, keep listening
                self._record("subscription", f"the callback for {uri} failed: {type(exc).__name__}: {exc}")

        runtime.on_ui(call, in_cell=True)

    # -- the explorer --------------------------------------------------------------------

    def explore(self) -> Any:
        """An inspector for this server in the cell: tools (with forms), resources,
        prompts, activity and the server's identity. Calls from it never block the kernel."""
        from .widgets.explorer import Explorer

        return Explorer(self)

    # -- calling tools -----------------------------------------------------------------

    def call(self, tool: str, arguments: Mapping[str, Any] | None = None, /, *,
             timeout: float | None = _UNSET, validate: bool = _UNSET, progress: Any = _UNSET,
             **kwargs: Any) -> ToolResult:
        """Call ``tool`` with ``arguments`` (a dict, keyword arguments, or both).

        Arguments are checked against the tool's input schema first
        (``validate=False`` skips that). ``timeout`` (seconds) overrides the
        connection's default for this call. When the server reports progress,
        a progress bar shows it (``progress=False``: none; a callable
        ``progress(done, total, message)`` receives it instead). A tool
        argument named ``timeout``, ``validate`` or ``progress`` goes in the
        ``arguments`` dict.
        """
        __tracebackhide__ = True
        return runtime.run(self._call(tool, arguments, timeout, validate, kwargs, progress))

    async def acall(self, tool: str, arguments: Mapping[str, Any] | None = None, /, *,
                    timeout: float | None = _UNSET, validate: bool = _UNSET, progress: Any = _UNSET,
                    **kwargs: Any) -> ToolResult:
        """Async twin of :meth:`call`."""
        __tracebackhide__ = True
        return await runtime.arun(self._call(tool, arguments, timeout, validate, kwargs, progress))

    async def _call(self, tool: str, arguments: Mapping[str, Any] | None, timeout: float | None = _UNSET,
                    validate: bool = _UNSET, kwargs: dict[str, Any] | None = None,
                    progress: Any = _UNSET) -> ToolResult:
        link = self._require_link()
        kwargs = kwargs or {}
        if arguments is not None and not isinstance(arguments, Mapping):
            raise ConfigError(f"Arguments for {tool!r} must be a dict, not {type(arguments).__name__}.")
        args = to_json({**(arguments or {}), **kwargs})
        if validate is not False:
            tools = await self._listing("tools")
            if tool not in tools:
                self._stale.add("tools")
                tools = await self._listing("tools")
            spec = tools[tool]  # NotFound with suggestions
            problems = check_arguments(spec.input_schema, args)
            problems += _option_clashes(spec, args, timeout=timeout, validate=validate, progress=progress)
            if problems:
                raise InvalidArguments(tool, problems, hint=_arguments_hint(spec))
        limit = self.timeout if timeout is _UNSET else timeout
        wanted = True if progress is _UNSET else progress
        bar = Progress(f"{self.name}.{tool}", unit="step") if wanted and not callable(wanted) else None
        started = time.perf_counter()
        try:
            raw = await link.request(
                f"Calling tool {tool!r} on {self.name!r}",
                lambda c: c.call_tool(tool, args, read_timeout_seconds=limit,
                                      progress_callback=_progress_callback(wanted, bar)),
                timeout=limit,
            )
        except BaseException as error:
            if bar is not None:
                bar.finish(_ended(error), False)
            raise
        if bar is not None:
            bar.finish(f"done in {time.perf_counter() - started:.1f} s", True)
        return ToolResult(raw, self.name, tool, args, time.perf_counter() - started,
                          self._info.protocol_version if self._info else None)

    # -- many calls at once ------------------------------------------------------------

    def map(self, tool: str, rows: Any, *, concurrency: int = 8, timeout: float | None = _UNSET,
            progress: bool = True) -> pd.DataFrame:
        """Call ``tool`` once per row and return one table, a row per call, in input order.

        ``rows`` is an iterable of argument dicts or a DataFrame (each row gives
        the arguments; missing values are left out). Up to ``concurrency`` calls
        run at once. A call that fails fills the ``error`` column and the rest
        go on. An interrupt cancels every call still under way.
        """
        __tracebackhide__ = True
        return runtime.run(self._map(tool, rows, concurrency, timeout, progress))

    async def amap(self, tool: str, rows: Any, *, concurrency: int = 8, timeout: float | None = _UNSET,
                   progress: bool = True) -> pd.DataFrame:
        """Async twin of :meth:`map`."""
        __tracebackhide__ = True
        return await runtime.arun(self._map(tool, rows, concurrency, timeout, progress))

    async def _map(self, tool: str, rows: Any, concurrency: int, timeout: float | None,
                   progress: bool) -> pd.DataFrame:
        from .frames import map_frame

        if not isinstance(concurrency, int) or concurrency < 1:
            raise ConfigError(f"concurrency= must be a whole number of at least 1, not {concurrency!r}.")
        arguments = _rows_as_arguments(rows)
        (await self._listing("tools"))[tool]  # an unknown tool fails once, not once per row
        outcomes: list[Any] = [None] * len(arguments)
        bar = Progress(f"{self.name}.{tool}", unit="call", total=len(arguments), eager=True) \
            if progress and len(arguments) > 1 else None
        finished = 0
        slots = anyio.Semaphore(concurrency)

        async def one(index: int, args: dict[str, Any]) -> None:
            nonlocal finished
            async with slots:
                try:
                    outcomes[index] = await self._call(tool, args, timeout, _UNSET, {}, False)
                except MCPNBError as error:
                    outcomes[index] = error
            finished += 1
            if bar is not None:
                bar.update(finished)

        try:
            async with anyio.create_task_group() as group:
                for index, args in enumerate(arguments):
                    group.start_soon(one, index, args)
        except BaseException as error:
            if bar is not None:
                bar.finish(_ended(error), False)
            raise
        if bar is not None:
            failures = sum(isinstance(o, MCPNBError) for o in outcomes)
            bar.finish(f"{failures} failed" if failures else "all answered", True)
        provenance = {"server": self.name, "arguments": None, "time": datetime.now(timezone.utc),
                      "protocol_version": self._info.protocol_version if self._info else None}
        return map_frame(tool, arguments, outcomes, provenance)

    # -- resources, prompts, completions -----------------------------------------------

    def read(self, uri: str, *, timeout: float | None = _UNSET) -> ResourceResult:
        """Read the resource at ``uri`` (a listed resource or a filled-in template)."""
        __tracebackhide__ = True
        return runtime.run(self._read(uri, timeout))

    async def aread(self, uri: str, *, timeout: float | None = _UNSET) -> ResourceResult:
        """Async twin of :meth:`read`."""
        __tracebackhide__ = True
        return await runtime.arun(self._read(uri, timeout))

    async def _read(self, uri: str, timeout: float | None) -> ResourceResult:
        link = self._require_link()
        if isinstance(uri, Resource):
            uri = uri.uri
        limit = self.timeout if timeout is _UNSET else timeout
        raw = await link.request(
            f"Reading {uri!r} from {self.name!r}",
            lambda c: _with_timeout(c.read_resource(str(uri), cache_mode="bypass"), limit),
            timeout=limit,
        )
        return ResourceResult(raw, self.name, str(uri), self._info.protocol_version if self._info else None)

    def prompt(self, name: str, arguments: Mapping[str, Any] | None = None, /, *,
               timeout: float | None = _UNSET, **kwargs: Any) -> PromptResult:
        """Render the prompt ``name`` with its arguments (dict or keywords)."""
        __tracebackhide__ = True
        return runtime.run(self._prompt(name, arguments, timeout, kwargs))

    async def aprompt(self, name: str, arguments: Mapping[str, Any] | None = None, /, *,
                      timeout: float | None = _UNSET, **kwargs: Any) -> PromptResult:
        """Async twin of :meth:`prompt`."""
        __tracebackhide__ = True
        return await runtime.arun(self._prompt(name, arguments, timeout, kwargs))

    async def _prompt(self, name: str, arguments: Mapping[str, Any] | None, timeout: float | None,
                      kwargs: dict[str, Any]) -> PromptResult:
        link = self._require_link()
        args = {k: _prompt_value(v) for k, v in {**(arguments or {}), **kwargs}.items()}
        prompts = await self._listing("prompts")
        spec = prompts[name]
        declared = {a.name for a in spec.arguments}
        problems = [(a.name, "required, missing") for a in spec.arguments if a.required and a.name not in args]
        problems += [(k, f"not an argument of this prompt (it takes: {', '.join(declared) or 'none'})")
                     for k in args if k not in declared]
        if problems:
            raise InvalidArguments(name, problems, kind="prompt")
        limit = self.timeout if timeout is _UNSET else timeout
        raw = await link.request(
            f"Getting prompt {name!r} from {self.name!r}",
            lambda c: _with_timeout(c.get_prompt(name, args or None), limit),
            timeout=limit,
        )
        return PromptResult(raw, self.name, name, args)

    def complete(self, ref: str | Prompt | ResourceTemplate, argument: str, value: str = "", *,
                 context: Mapping[str, str] | None = None) -> Completions:
        """Suggestions for ``argument`` of a prompt or resource template, given what is typed so far.

        ``ref`` is a Prompt or ResourceTemplate, ``"prompt:NAME"``,
        ``"template:URI-TEMPLATE"``, or a bare prompt name or URI template.
        """
        return runtime.run(self._complete(ref, argument, value, context))

    async def acomplete(self, ref: str | Prompt | ResourceTemplate, argument: str, value: str = "", *,
                        context: Mapping[str, str] | None = None) -> Completions:
        """Async twin of :meth:`complete`."""
        return await runtime.arun(self._complete(ref, argument, value, context))

    async def _complete(self, ref: Any, argument: str, value: str,
                        context: Mapping[str, str] | None) -> Completions:
        link = self._require_link()
        sdk_ref = _completion_ref(ref)
        raw = await link.request(
            f"Completing {argument!r} on {self.name!r}",
            lambda c: _with_timeout(
                c.complete(sdk_ref, {"name": argument, "value": value}, dict(context) if context else None),
                self.timeout),
            timeout=self.timeout,
        )
        completion = raw.completion
        return Completions(list(completion.values), completion.total, bool(completion.has_more))

    def _repr_html_(self) -> str:
        from . import render

        return render.server(self)

    def __repr__(self) -> str:
        if self._link is None:
            state = "closed"
        elif self._link.lost is not None:
            state = "lost (reconnect() to restart)"
        else:
            state = f"protocol {self._info.protocol_version}" if self._info else "open"
        return f"<Server {self.name!r} {self.target.describe()}, {state}>"


_LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")


def _severity(level: str) -> int:
    return _LOG_LEVELS.index(level) if level in _LOG_LEVELS else len(_LOG_LEVELS)  # unknown: keep it


async def _set_log_level(link: Link, level: str) -> None:
    """The 2025-11-25 way to ask for log messages (deprecated in the SDK, right for that era)."""
    try:
        await link.request("Setting the log level", lambda c: _quietly(c.set_logging_level, level))
    except MCPNBError:
        pass  # a server that says it logs but refuses the level: carry on without its messages


def _progress_callback(wanted: Any, bar: Progress | None) -> Any:
    """What the SDK calls with each progress notification: the bar, the person's callable, or nothing."""
    if bar is not None:
        async def to_bar(progress: float, total: float | None, message: str | None) -> None:
            bar.update(progress, total, message)

        return to_bar
    if callable(wanted):
        async def to_callable(progress: float, total: float | None, message: str | None) -> None:
            outcome = wanted(progress, total, message)
            if hasattr(outcome, "__await__"):
                await outcome

        return to_callable
    return None


def _ended(error: BaseException) -> str:
    """How a piece of work ended, for its progress line."""
    if isinstance(error, (CallCancelled, KeyboardInterrupt, asyncio.CancelledError, runtime.Cancelled)):
        return "cancelled"
    return "timed out" if isinstance(error, RequestTimeout) else "failed"


def _rows_as_arguments(rows: Any) -> list[dict[str, Any]]:
    """Argument dicts from a DataFrame (missing values left out) or an iterable of mappings."""
    import pandas as pd

    if isinstance(rows, pd.DataFrame):
        records = rows.to_dict("records")
        return [{str(k): v for k, v in to_json(record).items() if v is not None} for record in records]
    if isinstance(rows, (str, bytes, Mapping)) or not hasattr(rows, "__iter__"):
        raise ConfigError("rows= must be a DataFrame or an iterable of argument dicts, "
                          f"not a {type(rows).__name__}.")
    arguments = []
    for number, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise ConfigError(f"Row {number} is a {type(row).__name__}; each row must be a dict of arguments.")
        arguments.append(dict(row))
    return arguments


def _with_timeout(awaitable: Any, limit: float | None) -> Any:
    """Bound SDK calls that take no per-call timeout (the connection default still applies)."""
    if limit is None:
        return awaitable

    async def bounded() -> Any:
        with anyio.fail_after(limit):
            return await awaitable

    return bounded()


class Subscription:
    """One followed resource: its URI, the person's callback, and the 2026 listen stream's scope."""

    def __init__(self, uri: str, callback: Any, scope: Any) -> None:
        self.uri, self.callback, self.scope = uri, callback, scope


async def _quietly(method: Any, *args: Any) -> Any:
    """Call an SDK method deprecated for the newer era but right for the one in use."""
    from mcp.shared.exceptions import MCPDeprecationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        return await method(*args)


def _option_clashes(spec: Tool, args: Mapping[str, Any], **options: Any) -> list[tuple[str, str]]:
    declared = spec.input_schema.get("properties") or {}
    return [
        (name, f"is both a call option and an argument of {spec.name!r}; pass it in the dict: "
               f"call({spec.name!r}, {{{name!r}: ...}})")
        for name, value in options.items()
        if value is not _UNSET and name in declared and name not in args
    ]


def _arguments_hint(spec: Tool) -> str:
    if not spec.parameters:
        return f"{spec.name!r} takes no arguments."
    return f"{spec.name!r} takes: {spec.signature} (? = optional); see server.tools[{spec.name!r}].input_schema."


def _prompt_value(value: Any) -> str:
    import json

    if isinstance(value, str):
        return value
    return json.dumps(to_json(value)) if isinstance(value, (dict, list, tuple)) else str(to_json(value))


def _completion_ref(ref: Any) -> types.PromptReference | types.ResourceTemplateReference:
    if isinstance(ref, Prompt):
        return types.PromptReference(type="ref/prompt", name=ref.name)
    if isinstance(ref, ResourceTemplate):
        return types.ResourceTemplateReference(type="ref/resource", uri=ref.uri_template)
    if isinstance(ref, str):
        if ref.startswith("prompt:"):
            return types.PromptReference(type="ref/prompt", name=ref[len("prompt:"):])
        if ref.startswith("template:"):
            return types.ResourceTemplateReference(type="ref/resource", uri=ref[len("template:"):])
        if "{" in ref or "://" in ref:
            return types.ResourceTemplateReference(type="ref/resource", uri=ref)
        return types.PromptReference(type="ref/prompt", name=ref)
    raise ConfigError(f"Cannot complete for a {type(ref).__name__}; pass a prompt or template (or its name).")


def _version() -> str:
    from . import __version__

    return __version__


# -- opening connections and the registry of open ones ----------------------------------

_registry: dict[str, Server] = {}
_registry_lock = threading.Lock()


def _register(server: Server) -> list[Server]:
    """Record ``server`` under its name; return the connections it replaces."""
    with _registry_lock:
        old = _registry.pop(server.name, None)  # re-inserted: the newest goes last
        _registry[server.name] = server
    return [old] if old is not None and old is not server else []


def _unregister(server: Server) -> None:
    with _registry_lock:
        if _registry.get(server.name) is server:
            del _registry[server.name]


def servers() -> list[Server]:
    """The open connections, oldest first."""
    with _registry_lock:
        return list(_registry.values())


def _prepare(target: Any, name: str | None, config: Any, env: Any, cwd: Any, headers: Any,
             transport: str | None, protocol: str | None, timeout: float | None,
             connect_timeout: float | None, log_level: str | None, sampling: Any = "ask",
             elicitation: Any = "ask", roots: Any = "default") -> Server:
    for label, value in (("timeout", timeout), ("connect_timeout", connect_timeout)):
        if value is not None and (not isinstance(value, (int, float)) or value <= 0):
            raise ConfigError(f"{label}= must be a positive number of seconds, not {value!r}.")
    if log_level is not None and log_level not in _LOG_LEVELS:
        raise ConfigError(f"Unknown log_level {log_level!r}.", hint=f"use None or one of: {', '.join(_LOG_LEVELS)}.")
    resolved = resolve(target, name=name, config=config, env=env, cwd=cwd, headers=headers, transport=transport)
    return Server(resolved, protocol=protocol, timeout=timeout, connect_timeout=connect_timeout,
                  log_level=log_level, sampling=sampling, elicitation=elicitation, roots=roots)


async def _replace_older(server: Server) -> None:
    for old in _register(server):
        old._replaced_by = server.name
        await old._close()


def connect(
    target: Any,
    *,
    name: str | None = None,
    config: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
    protocol: str | None = None,
    transport: str | None = None,
    connect_timeout: float | None = None,
    log_level: str | None = "info",
    sampling: Any = "ask",
    elicitation: Any = "ask",
    roots: Any = "default",
) -> Server:
    """Connect to an MCP server and return the live :class:`Server`.

    ``target`` is a command line or argv list (stdio), an http(s) URL
    (Streamable HTTP; ``transport="sse"`` for the legacy HTTP+SSE transport),
    an ``MCPServer``/low-level ``Server`` object (in-process), ``"demo:NAME"``
    (a bundled demo), or the name of an entry in an ``mcpServers`` config file.

    A stdio server gets a minimal environment (PATH, HOME, USER, SHELL, TERM,
    LOGNAME) plus ``env``, as in other MCP clients: pass what it needs in ``env``.

    ``timeout`` is the default per-request timeout in seconds (None: wait until
    interrupted). ``protocol`` forces an era: ``"2025-11-25"`` (initialize
    handshake) or ``"2026-07-28"`` (stateless); by default the SDK negotiates.
    ``log_level`` is the least severe server log message to receive
    (``server.logs``); None asks for none. A connection with the same name as
    an open one replaces it.

    ``sampling`` and ``elicitation`` say how the server's requests are answered:
    ``"ask"`` (a form, or stdin in a blocked cell), ``"accept-defaults"``,
    ``"decline"``, a callable, or None (feature not offered); see
    ``mcpnb.handlers``. ``roots`` is a path or list of paths offered as roots
    (default: the working directory, which is the notebook's), or None.
    """
    __tracebackhide__ = True
    server = _prepare(target, name, config, env, cwd, headers, transport, protocol, timeout, connect_timeout,
                      log_level, sampling, elicitation, roots)
    runtime.run(server._open())
    runtime.run(_replace_older(server))
    return server


async def aconnect(
    target: Any,
    *,
    name: str | None = None,
    config: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
    protocol: str | None = None,
    transport: str | None = None,
    connect_timeout: float | None = None,
    log_level: str | None = "info",
    sampling: Any = "ask",
    elicitation: Any = "ask",
    roots: Any = "default",
) -> Server:
    """Async twin of :func:`connect`."""
    __tracebackhide__ = True
    server = _prepare(target, name, config, env, cwd, headers, transport, protocol, timeout, connect_timeout,
                      log_level, sampling, elicitation, roots)
    await runtime.arun(server._open())
    await runtime.arun(_replace_older(server))
    return server


def close_all() -> None:
    """Close every open connection (stopping every stdio server process)."""
    with _registry_lock:
        open_servers = list(_registry.values())
        _registry.clear()
    if not open_servers:
        return

    async def close_each() -> None:
        async with anyio.create_task_group() as group:
            for server in open_servers:
                group.start_soon(server._close)

    runtime.run(close_each())


@atexit.register
def _close_at_exit() -> None:
    try:
        close_all()
        runtime.run(close_every_link())  # also those still connecting, or interrupted while connecting
    except BaseException:  # exiting anyway; never turn a clean exit into a traceback
        pass

