"""What every demo system shares: annotations, lookups, paging, notifications, asking the client.

Each system module keeps its own data and tools; the protocol plumbing they all
need lives here once:

- ``READ_ONLY``, ``CREATES``, ``UPDATES``, ``DESTROYS``: honest tool annotations;
- ``Missing``: a lookup that found nothing, reported as is from a tool or a resource;
- ``where_equal``, ``fetch_page`` and ``next_offset``: filters and offset paging in tools;
- ``Notices``: resource subscriptions in both eras (2025-11-25 ``resources/subscribe``,
  2026-07-28 ``subscriptions/listen``) and list-changed notifications;
- ``paged_resources``: ``resources/list`` in cursor pages, for systems whose records
  are resources by the thousand;
- ``client_offers``, ``confirm``, ``require_confirmed`` and ``summary_request``: elicitation
  to confirm what cannot be undone and sampling for summaries, only where the client offers them;
- ``complete_ids``: completion of id arguments;
- ``DELAY``: the description of a report's ``delay`` (seconds at each step, so a person can
  try Cancel by hand).
"""

import base64
import random
import sqlite3
from collections.abc import Callable, Iterable
from typing import Any

import mcp_types as types
from mcp.server.elicitation import AcceptedElicitation
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.server.mcpserver.resolve import Elicit, Sample
from mcp.shared.exceptions import MCPError
from mcp_types import Completion, ToolAnnotations
from pydantic import BaseModel

__all__ = ["READ_ONLY", "CREATES", "UPDATES", "DESTROYS", "Missing", "where_equal", "fetch_page", "next_offset",
           "Notices", "paged_resources", "client_offers", "confirm", "require_confirmed", "complete_ids",
           "summary_request", "reply_text", "rows_of", "FIRST_NAMES", "LAST_NAMES", "person", "DELAY"]

DELAY = "seconds to wait at each step (the default is a real system's pace; raise it to try Cancel by hand)"

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
CREATES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)
UPDATES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
DESTROYS = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False)

PAGE_SIZE = 100  # resources per resources/list page

FIRST_NAMES = ["Ana", "Ben", "Carla", "David", "Eva", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Luca",
               "Maya", "Nils", "Olga", "Pavel", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wim", "Yara",
               "Zoe"]
LAST_NAMES = ["Almeida", "Becker", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Horvat", "Ivanova",
              "Jensen", "Kowalski", "Larsen", "Moreau", "Novak", "O'Brien", "Petrov", "Rossi", "Silva", "Tanaka",
              "Weber"]


def person(rng: random.Random, domain: str = "example.com") -> tuple[str, str]:
    """A made-up name and email address."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    email = f"{first}.{last}{rng.randint(1, 99)}@{domain}".lower().replace("'", "")
    return f"{first} {last}", email


class Missing(ToolError, ResourceNotFoundError):
    """A lookup that found nothing: a tool result with isError, or a read answered with invalid
    params (-32602), as the specification asks for a resource that does not exist."""


def rows_of(db: sqlite3.Connection, sql: str, *params: object) -> list[dict[str, Any]]:
    return [dict(row) for row in db.execute(sql, params)]


def where_equal(*pairs: tuple[str, object]) -> tuple[str, list[object]]:
    """A WHERE condition (and its parameters) for the (column, value) pairs whose value is set."""
    given = [(column, value) for column, value in pairs if value is not None]
    return " AND ".join([f"{column} = ?" for column, _ in given] or ["1=1"]), [value for _, value in given]


def next_offset(total: int, offset: int, count: int) -> int | None:
    """The offset of the page after this one, or None on the last."""
    return offset + count if offset + count < total else None


def fetch_page(db: sqlite3.Connection, table: str, select: str, condition: str, params: list[object],
               order_by: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One page of a list tool: the rows of ``select``, and its paging fields (total, next_offset).

    ``table`` is what the count runs over (with the aliases ``condition`` uses).
    """
    total = db.execute(f"SELECT COUNT(*) FROM {table} WHERE {condition}", params).fetchone()[0]
    found = rows_of(db, f"{select} WHERE {condition} ORDER BY {order_by} LIMIT ? OFFSET ?", *params, limit, offset)
    return found, {"total": total, "next_offset": next_offset(total, offset, len(found))}


def client_offers(ctx: Context, feature: str) -> bool:
    """Whether the client declared ``feature`` (elicitation, sampling, roots): only then is it asked."""
    return getattr(ctx.client_capabilities, feature, None) is not None


class Notices:
    """Resource updates and list changes, told to clients of both eras.

    2026-07-28 clients hear them on their ``subscriptions/listen`` stream (the
    server's bus); 2025-11-25 clients send ``resources/subscribe``, remembered
    here per session, and get list changes as notifications on their session.
    """

    def __init__(self, mcp: MCPServer) -> None:
        self.subscribers: dict[str, set[Any]] = {}
        mcp._lowlevel_server.add_request_handler("resources/subscribe", types.SubscribeRequestParams,
                                                 self._subscribe)
        mcp._lowlevel_server.add_request_handler("resources/unsubscribe", types.UnsubscribeRequestParams,
                                                 self._unsubscribe)

    async def _subscribe(self, context: Any, params: types.SubscribeRequestParams) -> types.EmptyResult:
        self.subscribers.setdefault(str(params.uri), set()).add(context.session)
        return types.EmptyResult()

    async def _unsubscribe(self, context: Any, params: types.UnsubscribeRequestParams) -> types.EmptyResult:
        self.subscribers.get(str(params.uri), set()).discard(context.session)
        return types.EmptyResult()

    async def updated(self, ctx: Context | None, uri: str) -> None:
        """The resource at ``uri`` changed."""
        if ctx is None:
            return
        await ctx.notify_resource_updated(uri)
        for session in list(self.subscribers.get(uri, ())):
            try:
                await session.send_resource_updated(uri)
            except Exception:  # that client has gone
                self.subscribers[uri].discard(session)

    async def resources_changed(self, ctx: Context | None) -> None:
        """The list of resources changed (a record was added or removed)."""
        if ctx is None:
            return
        await ctx.notify_resources_changed()
        if ctx.protocol_version and ctx.protocol_version < "2026":
            await ctx.session.send_resource_list_changed()


def paged_resources(mcp: MCPServer, records: Callable[[], Iterable[types.Resource]],
                    page_size: int = PAGE_SIZE) -> None:
    """Serve ``resources/list`` in pages: the fixed resources, then ``records()``.

    The cursor is opaque to clients (an encoded offset); a cursor this server
    did not make is refused with invalid params, as the specification asks.
    """

    async def list_resources(context: Any, params: types.PaginatedRequestParams | None) -> types.ListResourcesResult:
        start = 0
        if params is not None and params.cursor:
            try:
                start = int(base64.urlsafe_b64decode(params.cursor.encode()).decode().removeprefix("offset:"))
                if start < 0:
                    raise ValueError(start)
            except ValueError:
                raise MCPError(code=types.INVALID_PARAMS, message=f"Unknown cursor {params.cursor!r}.") from None
        everything = [*await mcp.list_resources(), *records()]
        page = everything[start:start + page_size]
        following = start + page_size
        cursor = base64.urlsafe_b64encode(f"offset:{following}".encode()).decode() \
            if following < len(everything) else None
        return types.ListResourcesResult(resources=page, next_cursor=cursor)

    mcp._lowlevel_server.add_request_handler("resources/list", types.PaginatedRequestParams, list_resources)


def confirm(ctx: Context, question: str, answer: type[BaseModel]) -> object:
    """For ``Resolve``: ask the person to confirm (elicitation), or accept the defaults
    where the client cannot ask."""
    if not client_offers(ctx, "elicitation"):
        return answer()  # a plain value: the SDK hands it over as accepted
    return Elicit(question, answer)


def require_confirmed(confirmation: object, not_done: str) -> None:
    """Stop the tool unless the person accepted with ``confirm`` set: ToolError saying
    what was not done and what they answered (decline, cancel)."""
    if not isinstance(confirmation, AcceptedElicitation) or not confirmation.data.confirm:
        action = getattr(confirmation, "action", "not confirmed")
        raise ToolError(f"{not_done}: the person answered {action}.")


def complete_ids(db: sqlite3.Connection, table: str, typed: str, *, where: str = "1=1",
                 newest_first: bool = False) -> Completion:
    """Completion values for an id argument: the ids of ``table`` starting with what was typed,
    at most 100 (as the specification allows), saying when there are more."""
    order = "DESC" if newest_first else ""
    ids = [str(r[0]) for r in db.execute(
        f"SELECT id FROM {table} WHERE {where} AND CAST(id AS TEXT) LIKE ? ORDER BY id {order} LIMIT 101",
        (f"{typed}%",))]
    return Completion(values=ids[:100], has_more=len(ids) > 100)


def summary_request(ctx: Context, instruction: str, text: str, *, max_tokens: int = 200) -> object:
    """For ``Resolve``: a sampling request for a short summary, or None where the client cannot sample."""
    if not client_offers(ctx, "sampling"):
        return None
    return Sample([types.SamplingMessage(role="user", content=types.TextContent(
                      type="text", text=f"{instruction}\n\n{text}"))],
                  max_tokens=max_tokens, system_prompt="You are a concise analyst. Answer in plain sentences.",
                  model_preferences=types.ModelPreferences(intelligence_priority=0.3, speed_priority=0.8))


def reply_text(reply: types.CreateMessageResult) -> str:
    """The text of a sampling reply."""
    content = reply.content
    return content.text if isinstance(content, types.TextContent) else str(content)
