"""What a server offers, fetched whole and kept until it changes: the listings cache.

Listings (tools, resources, templates, prompts) are fetched with every page on
first use and kept until the server says the list changed
(``notifications/*/list_changed`` in the 2025-11-25 era, a
``subscriptions/listen`` stream in the 2026-07-28 era), or until ``forget()``.

Everything that differs between kinds is one row of ``KINDS``; a new kind of
listing is a new row.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import anyio
import mcp_types as types

from . import runtime
from .connection import Link
from .errors import ProtocolError, ServerWarning
from .events import Events
from .listings import Listing, Prompt, Resource, ResourceTemplate, Tool

__all__ = ["Catalog", "Kind", "KINDS", "MAX_PAGES"]

# Guards against a server whose cursors never end (or repeat).
MAX_PAGES = 10_000


@dataclass(frozen=True)
class Kind:
    """One kind of listing and how the SDK and the server name its parts."""

    name: str  # as the person says it: server.tools, %mcp tools
    singular: str  # in messages: "no tool 'x'"
    item: type[Tool] | type[Resource] | type[ResourceTemplate] | type[Prompt]  # made from each SDK item
    key: str  # the field items are looked up by
    method: str  # the SDK Client's list method
    attribute: str  # the page's attribute holding the items
    capability: str  # the ServerCapabilities field that says the server offers them
    changed: type  # the notification that says the list changed (2025-11-25)
    listen_flag: str  # the subscriptions/listen filter for its changes (2026-07-28)


KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    Kind("tools", "tool", Tool, "name", "list_tools", "tools", "tools",
         types.ToolListChangedNotification, "tools_list_changed"),
    Kind("resources", "resource", Resource, "uri", "list_resources", "resources", "resources",
         types.ResourceListChangedNotification, "resources_list_changed"),
    Kind("templates", "template", ResourceTemplate, "uri_template", "list_resource_templates",
         "resource_templates", "resources", types.ResourceListChangedNotification, "resources_list_changed"),
    Kind("prompts", "prompt", Prompt, "name", "list_prompts", "prompts", "prompts",
         types.PromptListChangedNotification, "prompts_list_changed"),
)}


def list_change_flags(capabilities: types.ServerCapabilities) -> dict[str, bool]:
    """listen() filter flags for the lists the server says can change (empty: none can)."""
    flags: dict[str, bool] = {}
    for kind in KINDS.values():
        declared = getattr(capabilities, kind.capability, None)
        flags[kind.listen_flag] = flags.get(kind.listen_flag, False) or bool(declared and declared.list_changed)
    return flags if any(flags.values()) else {}


class Catalog:
    """The listings of one connection: complete, cached, and marked stale when they change."""

    def __init__(self, server: str, events: Events) -> None:
        self.server = server
        self.events = events
        self._listings: dict[str, Listing[Any]] = {}
        self._stale: set[str] = set()
        self._locks: dict[str, anyio.Lock] = {}

    def clear(self) -> None:
        """A new connection: nothing is known yet."""
        self._listings.clear()
        self._stale.clear()

    def forget(self, kinds: Any = None) -> None:
        """Mark listings stale (all by default); the next use fetches them again."""
        self._stale.update(KINDS if kinds is None else kinds)

    def noticed(self, notification: Any) -> bool:
        """Mark the lists a notification says changed; whether it was such a notice."""
        kinds = [kind.name for kind in KINDS.values() if isinstance(notification, kind.changed)]
        if kinds:
            self._stale.update(kinds)
            self.events.record("list changed", f"{', '.join(kinds)} changed")
        return bool(kinds)

    def cached(self, kind: str) -> Listing[Any] | None:
        """The listing of ``kind`` already fetched (perhaps marked stale), or None; never asks the server."""
        return self._listings.get(kind)

    def fresh(self, kind: str) -> Listing[Any] | None:
        """The listing of ``kind`` if it is known and not stale (what ``get`` would return at once), else None."""
        return None if kind in self._stale else self._listings.get(kind)

    async def get(self, kind: str, link: Link, capabilities: types.ServerCapabilities,
                  timeout: float | None) -> Listing[Any]:
        """The complete listing of ``kind``, fetched if not known or stale."""
        cached = self._listings.get(kind)
        if cached is not None and kind not in self._stale:
            return cached
        async with self._locks.setdefault(kind, anyio.Lock()):
            cached = self._listings.get(kind)
            if cached is not None and kind not in self._stale:
                return cached
            listing = await self._fetch(KINDS[kind], link, capabilities, timeout)
            self._listings[kind] = listing
            return listing

    async def _fetch(self, kind: Kind, link: Link, capabilities: types.ServerCapabilities,
                     timeout: float | None) -> Listing[Any]:
        if getattr(capabilities, kind.capability, None) is None:
            self._stale.discard(kind.name)  # the server offers none of these
            return Listing(kind.singular, self.server, [], kind.key)
        refresh = kind.name in self._stale or kind.name in self._listings
        self._stale.discard(kind.name)  # a change notice during the fetch marks it stale again
        items: list[Any] = []
        cursor: str | None = None
        seen: set[str] = set()
        action = f"Listing {kind.name} of {self.server!r}"
        for _ in range(MAX_PAGES):
            page = await link.request(
                action,
                lambda c: getattr(c, kind.method)(cursor=cursor, cache_mode="refresh" if refresh else "use"),
                timeout=timeout,
            )
            items.extend(kind.item.from_sdk(item) for item in getattr(page, kind.attribute))
            cursor = page.next_cursor
            if not cursor:
                break
            if cursor in seen:
                raise ProtocolError(f"{action}: the server sent the same page cursor twice ({cursor[:40]!r}).")
            seen.add(cursor)
        else:
            raise ProtocolError(f"{action}: more than {MAX_PAGES} pages; stopped.")
        self._report_duplicates(kind, items)
        self._report_left_out(kind, link)
        return Listing(kind.singular, self.server, items, kind.key)

    def _report_left_out(self, kind: Kind, link: Link) -> None:
        """Items the wire types refuse were taken out of the answer (the rest stay usable); say which."""
        for _, name, why in link.left_out():
            text = (f"Server {self.server!r} listed a {kind.singular} that cannot be read, {name!r} ({why}); "
                    f"it is left out of server.{kind.name}.")
            self.events.record("listing", text)
            runtime.warn(ServerWarning(text))

    def _report_duplicates(self, kind: Kind, items: list[Any]) -> None:
        """Two items under one key: the later one answers to the name (both stay in the listing); say so."""
        counts = Counter(getattr(item, kind.key) for item in items)
        for key, count in counts.items():
            if count > 1:
                text = (f"Server {self.server!r} lists {count} {kind.name} under the {kind.key} {key!r}; "
                        f"{kind.name}[{key!r}] is the last of them (all are in the listing, by position).")
                self.events.record("listing", text)
                runtime.warn(ServerWarning(text))

    @staticmethod
    async def listen_for_changes(client: Any) -> None:
        """2026-07-28 servers announce list changes on a subscriptions/listen stream
        (run beside the connection with ``Link.spawn``)."""
        async with client.listen(**list_change_flags(client.server_capabilities)) as subscription:
            async for _ in subscription:
                pass  # the SDK also hands each event to the message handler, which notes it
