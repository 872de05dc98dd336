"""Following resources: subscriptions in both protocol eras.

2025-11-25 servers get ``resources/subscribe`` and send
``notifications/resources/updated`` on the connection; 2026-07-28 servers get
one ``subscriptions/listen`` stream per URI, run beside the connection. Either
way an update is noted in the events store and calls the person's callback on
the kernel's thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio

from . import runtime
from .connection import Link, quietly
from .errors import ConfigError, ProtocolError
from .events import Events

__all__ = ["Subscriptions", "UpdateCallback"]

UpdateCallback = Callable[[str], Any]


@dataclass
class _Followed:
    """One followed resource: the person's callback, and the 2026 listen stream's scope."""

    callback: UpdateCallback | None
    scope: anyio.CancelScope | None


class Subscriptions:
    """The resources one connection follows."""

    def __init__(self, server: str, events: Events) -> None:
        self.server = server
        self.events = events
        self._followed: dict[str, _Followed] = {}

    @property
    def uris(self) -> list[str]:
        return list(self._followed)

    def clear(self) -> None:
        """A new connection starts with none."""
        self._followed.clear()

    async def subscribe(self, link: Link, uri: str, callback: UpdateCallback | None, *, era: str,
                        offered: bool, timeout: float | None) -> None:
        if callback is not None and not callable(callback):
            raise ConfigError(f"callback= must be callable, not {type(callback).__name__}.")
        if uri in self._followed:
            self._followed[uri].callback = callback
            return
        if not offered:
            raise ConfigError(f"Server {self.server!r} does not offer resource subscriptions.",
                              hint="server.info.capabilities shows what it offers.")
        action = f"Subscribing to {uri!r} on {self.server!r}"
        scope = None
        if era == "handshake":
            await link.request(action, lambda c: quietly(c.subscribe_resource, uri), timeout=timeout)
        else:
            scope = await self._listen(link, uri, action, timeout)
        self._followed[uri] = _Followed(callback, scope)
        self.events.record("subscription", f"subscribed to {uri}")

    async def _listen(self, link: Link, uri: str, action: str, timeout: float | None) -> anyio.CancelScope:
        """A subscriptions/listen stream for one URI; returns once the server has acknowledged it."""
        acknowledged = anyio.Event()
        failed: list[BaseException] = []

        async def listen(client: Any) -> None:
            try:
                async with client.listen(resource_subscriptions=[uri]) as stream:
                    acknowledged.set()
                    async for _ in stream:
                        pass  # the SDK also hands each event to the message handler, which notes it
            except Exception as exc:
                failed.append(exc)
                raise
            finally:
                acknowledged.set()

        scope = link.spawn(listen, f"the subscription to {uri}",
                           on_stop=lambda why: self.events.record("subscription", why))
        with anyio.move_on_after(timeout or 30):
            await acknowledged.wait()
        if failed or not acknowledged.is_set():
            scope.cancel()
            raise (await link.translate(failed[0], action)) if failed else \
                ProtocolError(f"{action}: the server did not acknowledge the subscription.")
        return scope

    async def unsubscribe(self, link: Link, uri: str, *, alive: bool, timeout: float | None) -> None:
        followed = self._followed.pop(uri, None)
        if followed is None:
            return
        if followed.scope is not None:
            followed.scope.cancel()
        elif alive:
            await link.request(f"Unsubscribing from {uri!r}", lambda c: quietly(c.unsubscribe_resource, uri),
                               timeout=timeout)
        self.events.record("subscription", f"unsubscribed from {uri}")

    def updated(self, uri: str) -> None:
        """The server says ``uri`` changed: note it, and call the callback on the kernel's thread."""
        self.events.record("resource updated", uri)
        followed = self._followed.get(uri)
        if followed is None or followed.callback is None:
            return
        callback = followed.callback

        def call() -> None:
            try:
                callback(uri)
            except Exception as exc:  # the person's code: say so, keep listening
                self.events.record("subscription", f"the callback for {uri} failed: {type(exc).__name__}: {exc}")

        runtime.on_ui(call, in_cell=True)
