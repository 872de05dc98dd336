"""The open connections, by name.

``mcpnb.servers()`` maps their names to them, ``mcpnb.close_all()`` closes them, and
interpreter exit (a kernel shutting down) closes them too, so no server
process outlives the notebook. A connection opened with the name of an open
one replaces it, so re-running a cell does not pile up server processes.
Connections a module holds outside this registry (``mcpnb.daskworker``'s, for
maps on Dask) are closed with the others through a closer it adds.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import anyio

from . import runtime
from .connection import close_every_link
from .errors import ConfigError

if TYPE_CHECKING:
    from .server import Server

__all__ = ["servers", "open_servers", "close_all", "register", "unregister", "replace_older", "find",
           "add_closer"]

_registry: dict[str, Server] = {}
_lock = threading.Lock()
_closers: list[Callable[[], Awaitable[None]]] = []  # close connections held outside the registry


def add_closer(closer: Callable[[], Awaitable[None]]) -> None:
    """Have ``close_all()`` (and interpreter exit) also await ``closer()`` (added once)."""
    with _lock:
        if closer not in _closers:
            _closers.append(closer)


def register(server: Server) -> list[Server]:
    """Record ``server`` under its name; return the connections it replaces (to be closed)."""
    with _lock:
        old = _registry.pop(server.name, None)  # re-inserted: the newest goes last
        _registry[server.name] = server
    return [old] if old is not None and old is not server else []


def unregister(server: Server) -> None:
    with _lock:
        if _registry.get(server.name) is server:
            del _registry[server.name]


def servers() -> dict[str, Server]:
    """The open connections by name, oldest first: ``mcpnb.servers()["crm"]``."""
    with _lock:
        return dict(_registry)


def open_servers() -> list[Server]:
    """The open connections, oldest first."""
    with _lock:
        return list(_registry.values())


def find(name: str | None = None, *, which: str = "name one") -> Server:
    """The open connection ``name``, or the only one open (``which`` says what to do when several are)."""
    open_now = servers()
    if name is None:
        if len(open_now) == 1:
            return next(iter(open_now.values()))
        if not open_now:
            raise ConfigError("No server is open.", hint="%mcp connect NAME ... first (see %mcp?).")
        raise ConfigError(f"Several servers are open ({', '.join(open_now)}); {which}.")
    if name not in open_now:
        raise ConfigError(f"No open server is named {name!r} (open: {', '.join(open_now) or 'none'}).")
    return open_now[name]


async def replace_older(server: Server) -> None:
    """Register a newly opened connection and close the one it replaces."""
    for old in register(server):
        await old.session.close(replaced_by=server.name)


def close_all() -> None:
    """Close every open connection (stopping every stdio server process)."""
    with _lock:
        open_now = list(_registry.values())
        _registry.clear()
        closers = list(_closers)
    if not open_now and not closers:
        return

    async def close_each() -> None:
        async with anyio.create_task_group() as group:
            for server in open_now:
                group.start_soon(server.session.close)
            for closer in closers:
                group.start_soon(closer)

    runtime.run(close_each())


@atexit.register
def _close_at_exit() -> None:
    try:
        close_all()
        runtime.run(close_every_link())  # also those still connecting, or interrupted while connecting
    except BaseException:  # exiting anyway; never turn a clean exit into a traceback
        pass
