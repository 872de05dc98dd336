"""A server written in a notebook, served in-process and swapped in place when its cell runs again.

``mcpnb.serve(server_object, name=...)`` connects to an ``MCPServer`` (or a
low-level ``Server``) in-process; ``%%mcp server NAME`` runs its cell with a
fresh ``MCPServer`` named ``server`` in scope and serves it. Serving again
under the same name does not open a second connection: the live one keeps
its ``Server`` handle, its explorers and its trace, and the definitions
behind it change.

How: the connection talks to a ``Stage``, a low-level server that stays for
the connection's life and hands every request to the server object now on
it (its handlers, middleware, identity and capabilities). ``Stage.swap``
puts another object on and tells the client its lists changed, the way each
era says it: ``notifications/*/list_changed`` on 2025-11-25 sessions, a
``subscriptions/listen`` event on 2026-07-28 ones (the Stage serves that
stream itself, so it outlives the swap; what a tool publishes with
``ctx.notify_*`` on its own server's bus is passed on to it). A request
already running finishes on the object it started on.

A server whose lifespan does work of its own (``MCPServer(lifespan=...)``)
cannot be swapped under a running lifespan: serving it reconnects instead.

Building an ``MCPServer`` configures the root logger (the SDK calls
``logging.basicConfig``), after which every request would print a log line
under the cell; serving undoes that (``quiet_root_logging``).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import mcp_types as types
from mcp.server import Server as LowLevelServer
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.lowlevel.server import lifespan as default_lifespan
from mcp.server.mcpserver import MCPServer
from mcp.server.subscriptions import ListenHandler, PromptsListChanged, ResourcesListChanged, ToolsListChanged

from . import registry, runtime
from .errors import ConfigError
from .server import Server, aconnect

if TYPE_CHECKING:
    from mcp.server.subscriptions import ServerEvent

__all__ = ["Stage", "serve", "aserve", "quiet_root_logging", "fresh_server"]

# The methods the Stage answers itself: its capabilities (list changes always on) and the listen stream.
_OWN_METHODS = ("server/discover", "subscriptions/listen")


class _Relay:
    """The Stage's subscription bus (the SDK's ``SubscriptionBus`` protocol): events published by
    the Stage, or by the server object now on it, reach every open listen stream."""

    def __init__(self) -> None:
        self._listeners: dict[object, Callable[[ServerEvent], None]] = {}

    async def publish(self, event: ServerEvent) -> None:
        self.deliver(event)

    def deliver(self, event: ServerEvent) -> None:
        for listener in list(self._listeners.values()):
            try:
                listener(event)
            except Exception:  # one broken stream must not stop the others
                logging.getLogger(__name__).debug("a listen stream refused an event", exc_info=True)

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        token = object()
        self._listeners[token] = listener
        return lambda: self._listeners.pop(token, None)


class Stage(LowLevelServer):
    """The one low-level server a served connection talks to; the object it shows can change."""

    def __init__(self, current: MCPServer | LowLevelServer) -> None:
        self._current = _lowlevel(current)
        self.current: MCPServer | LowLevelServer = current
        self.version_count = 1  # how many definitions have been on it
        self.relay = _Relay()
        # The 2025-11-25 connections, told of changes: their session proxy (one per request, any will do
        # for a notification outside a request), by the connection it speaks for (kept while it lives).
        self._sessions: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
        self._stop_relaying = _relay_from(current, self.relay)
        super().__init__(self._current.name, on_subscriptions_listen=ListenHandler(self.relay))

    @property
    def middleware(self) -> list[Any]:  # type: ignore[override]
        return [self._note_session, *self._current.middleware]

    @middleware.setter
    def middleware(self, value: list[Any]) -> None:
        pass  # the constructor's default chain; the object on the stage brings its own

    @property
    def server_info_stamp(self) -> dict[str, Any]:  # type: ignore[override]
        return self._current.server_info_stamp

    @property
    def server_info(self) -> types.Implementation:  # type: ignore[override]
        return self._current.server_info

    def get_request_handler(self, method: str) -> Any:
        if method in _OWN_METHODS:
            return super().get_request_handler(method)
        return self._current.get_request_handler(method)

    def get_notification_handler(self, method: str) -> Any:
        return self._current.get_notification_handler(method)

    def get_capabilities(self, notification_options: NotificationOptions | None = None,
                         experimental_capabilities: dict[str, dict[str, Any]] | None = None,
                         extensions: dict[str, dict[str, Any]] | None = None, *,
                         protocol_version: str | None = None) -> types.ServerCapabilities:
        """The object's capabilities, with every list able to change (that is what a stage is for)."""
        found = self._current.get_capabilities(NotificationOptions(True, True, True), experimental_capabilities,
                                               extensions, protocol_version=protocol_version)
        if found.tools is not None:
            found.tools.list_changed = True
        if found.prompts is not None:
            found.prompts.list_changed = True
        if found.resources is not None:
            found.resources.list_changed = True
        return found

    async def _note_session(self, ctx: Any, call_next: Any) -> Any:
        """Middleware: remember each 2025-11-25 session, to tell it when the lists change."""
        version = getattr(ctx, "protocol_version", None)
        if not version or version < "2026":
            session = getattr(ctx, "session", None)
            if session is not None:
                self._sessions[getattr(session, "_connection", session)] = session
        return await call_next(ctx)

    @property
    def swappable(self) -> bool:
        """False when the object's lifespan does work of its own (it would not run on a swap)."""
        return self._current.lifespan is default_lifespan

    async def swap(self, new: MCPServer | LowLevelServer) -> None:
        """Put ``new`` on the stage and tell every connected client which of its lists changed."""
        # The same object again: it may have grown since (a tool added to it); say every list changed.
        changed = ["tools", "resources", "prompts"] if new is self.current else await _changed_lists(self.current, new)
        self._stop_relaying()
        self.current, self._current = new, _lowlevel(new)
        self._stop_relaying = _relay_from(new, self.relay)
        self.version_count += 1
        events = {"tools": ToolsListChanged(), "resources": ResourcesListChanged(), "prompts": PromptsListChanged()}
        for kind in changed:
            self.relay.deliver(events[kind])
        for connection, session in list(self._sessions.items()):
            try:
                for kind in changed:
                    await getattr(session, _LEGACY_NOTICE[kind])()
            except Exception:  # that client has gone
                self._sessions.pop(connection, None)

    def describe(self) -> str:
        """What the connection's target line shows."""
        kind = type(self.current).__name__
        return f"{kind} {self._current.name!r} served from this notebook (definition {self.version_count})"


def _from_current(key: str) -> property:
    """An attribute the object on the stage decides; what the low-level constructor assigns is not used."""
    return property(lambda stage: getattr(stage._current, key), lambda stage, value: None)


for _key in ("name", "version", "title", "description", "instructions", "website_url", "icons", "cache_hints",
             "lifespan", "get_tool_input_schema", "extensions"):
    setattr(Stage, _key, _from_current(_key))


_LEGACY_NOTICE = {"tools": "send_tool_list_changed", "resources": "send_resource_list_changed",
                  "prompts": "send_prompt_list_changed"}


async def _changed_lists(old: MCPServer | LowLevelServer, new: MCPServer | LowLevelServer) -> list[str]:
    """Which lists differ between two definitions: "tools", "resources" (templates too), "prompts";
    all three when either is a low-level server (it has no way to list them outside a request)."""
    if not (isinstance(old, MCPServer) and isinstance(new, MCPServer)):
        return ["tools", "resources", "prompts"]

    async def offer(server: MCPServer) -> dict[str, list[Any]]:
        def dumped(items: list[Any]) -> list[Any]:
            return [item.model_dump(mode="json", by_alias=True, exclude_none=True) for item in items]

        return {"tools": dumped(await server.list_tools()),
                "resources": dumped(await server.list_resources()) + dumped(await server.list_resource_templates()),
                "prompts": dumped(await server.list_prompts())}

    before, after = await offer(old), await offer(new)
    return [kind for kind in before if before[kind] != after[kind]]


def _lowlevel(server: MCPServer | LowLevelServer) -> LowLevelServer:
    # The SDK's own in-process client unwraps an MCPServer the same way (its low-level server is not public).
    return server._lowlevel_server if isinstance(server, MCPServer) else server  # noqa: SLF001


def _relay_from(server: MCPServer | LowLevelServer, relay: _Relay) -> Callable[[], None]:
    """Pass on what the object's tools publish on its own bus (``ctx.notify_*``); return how to stop."""
    bus = getattr(server, "_subscriptions", None)  # MCPServer's bus; ctx.notify_* publishes there
    if bus is None or bus is relay or not hasattr(bus, "subscribe"):
        return lambda: None
    return bus.subscribe(relay.deliver)


# -- root logging ---------------------------------------------------------------------------


@contextmanager
def quiet_root_logging() -> Iterator[None]:
    """Keep the root logger as it is across building an MCPServer (which calls logging.basicConfig)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _undo_sdk_logging() -> None:
    """Take off the root handler an MCPServer built elsewhere put there (basicConfig's "%(message)s"
    handler on stderr, at INFO), so its request logs do not print under cells."""
    root = logging.getLogger()
    sdk = [h for h in root.handlers if getattr(h.formatter, "_fmt", None) == "%(message)s"
           and (type(h).__name__ == "RichHandler" or type(h) is logging.StreamHandler)]
    if sdk:
        for handler in sdk:
            root.removeHandler(handler)
        if root.level == logging.INFO:
            root.setLevel(logging.WARNING)


def fresh_server(name: str, **settings: Any) -> MCPServer:
    """A new MCPServer, without the root logging its constructor sets up."""
    with quiet_root_logging():
        return MCPServer(name, **settings)


# -- serving ------------------------------------------------------------------------------------


async def aserve(server: MCPServer | LowLevelServer, *, name: str | None = None,
                 **options: Any) -> Server:
    """``serve`` for ``await``."""
    if not isinstance(server, (MCPServer, LowLevelServer)) or isinstance(server, Stage):
        raise ConfigError(f"serve() takes an MCPServer or a low-level Server, not {type(server).__name__}.",
                          hint="server = MCPServer('notes'); @server.tool() ...; mcpnb.serve(server)")
    _undo_sdk_logging()
    label = name or server.name or "server"
    live = registry.servers().get(label)
    stage = live.target.server if live is not None and not live.closed else None
    if isinstance(stage, Stage) and all(live.options.changes().get(k) == v for k, v in options.items()):
        if stage.swappable and _lowlevel(server).lifespan is default_lifespan:
            await stage.swap(server)
            current = _lowlevel(server)
            live.session.restage(name=current.name, title=current.title, version=current.version,
                                 instructions=current.instructions,
                                 capabilities=stage.get_capabilities(protocol_version=live.protocol_version))
            live.session.events.record("served", f"definition {stage.version_count} swapped in place")
            return live
        live.target.server = Stage(server)
        await live.session.reconnect()
        return live
    return await aconnect(Stage(server), name=label, **options)


def serve(server: MCPServer | LowLevelServer, *, name: str | None = None, **options: Any) -> Server:
    """Serve ``server`` in-process under ``name`` and return its connection; serving again under
    the same name swaps the definitions inside the live connection (handles and explorers stay).

    ``options`` are ``mcpnb.connect``'s (``protocol=``, ``timeout=`` ...); options other than
    the live connection's open a new connection in its place."""
    return runtime.run(aserve(server, name=name, **options))


def served(name: str) -> Stage | None:
    """The stage of the open connection ``name``, if it serves a server written here."""
    live = registry.servers().get(name)
    stage = live.target.server if live is not None else None
    return stage if isinstance(stage, Stage) else None
