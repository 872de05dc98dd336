"""The session layer: one live connection on mcpnb's loop, every verb a coroutine.

``Session`` is what ``Server`` stands on, in the spirit of the SDK's
``Client.session`` and trio's ``lowlevel``: public, typed and complete, but
with no sync convenience. Each verb is a keyword-only coroutine that must run
on mcpnb's background loop (``runtime.run``, ``runtime.arun`` or
``runtime.submit`` put it there). Widgets use it to work without blocking
the kernel; ``Server`` wraps each verb in one sync line and one async line.

A session owns the parts of a connection, each from its own module: the
``Link`` to the SDK client (reopened by ``reconnect``), the listings
``Catalog``, the ``Events`` store, the ``Subscriptions``, and the ``Answers``
to the server's own requests.

Adding a protocol verb: a coroutine here, then its two lines in ``Server``.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, Union

import anyio
import anyio.to_thread
import mcp_types as types
from mcp.client.extension import advertise
from mcp.shared.dispatcher import ProgressFnT

from . import apps, runtime
from .auth import Authorization, AuthStatus
from .catalog import KINDS, Catalog, list_change_flags
from .connection import Link, negotiated_era, quietly
from .errors import (CallCancelled, ConfigError, ConnectError, ConnectionClosed, ConnectionLost, InvalidArguments,
                     MCPNBError, ProtocolError, RequestTimeout, ServerWarning)
from .events import Events
from .handlers import Answers, RootsOption, root_uris, roots_from
from .listings import Listing, Prompt, Resource, ResourceTemplate, Tool
from .masking import Redactor, register_secrets
from .options import UNSET, ConnectOptions, Timeout, Unset
from .progress import OnDemand
from .results import Completions, PromptResult, ResourceResult, ServerInfo, ToolResult
from .schema import check_arguments, import_soon, prepare, prepared, to_json, unusable
from .subscriptions import Subscriptions, UpdateCallback
from .targets import Target
from .trace import Trace
from .unreadable import received
from .version import __version__

if TYPE_CHECKING:
    import os

    import pandas as pd

    from .fanout import RateOption

__all__ = ["Session", "ListingKind", "ProgressOption", "CompletionRef"]

ListingKind = Literal["tools", "resources", "templates", "prompts"]
# True: a bar where the person looks; False: none; a callable gets (done, total, message).
ProgressOption = Union[bool, Callable[[float, Union[float, None], Union[str, None]], Any], Unset]
# A Prompt or ResourceTemplate, "prompt:NAME", "template:URI-TEMPLATE", or a bare name or template.
CompletionRef = Union[str, Prompt, ResourceTemplate]

# How many recent structured results a connection keeps for lint's output-schema check, and how large one may
# be to be kept whole (about the bytes of its JSON; the trace keeps whole messages up to the same size): a
# 100,000-row result would otherwise stay in memory after its table is gone.
SEEN_RESULTS = 200
SEEN_SIZE = 64 * 1024
TOO_LARGE_TO_KEEP = "(structured content too large to keep: counted, not checked)"


def kept_for_lint(content: Any) -> Any:
    """``content`` as ``seen_structured`` keeps it: whole up to about SEEN_SIZE bytes of JSON, else
    ``TOO_LARGE_TO_KEEP`` (lint's O501 needs only that it came; O502 skips it). Stops counting early."""
    pending, size = [content], 0
    while pending:
        value = pending.pop()
        size += 8 + len(value) if isinstance(value, str) else 8
        if size > SEEN_SIZE:
            return TOO_LARGE_TO_KEEP
        if isinstance(value, dict):
            size += 8 * len(value)  # the keys, roughly
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return content


class Session:
    """One connection's state and verbs, on mcpnb's loop. ``server.session`` is the one to use."""

    def __init__(self, target: Target, options: ConnectOptions) -> None:
        self.target = target
        self.options = options
        self.name = target.name
        self.timeout = options.timeout  # the per-request default; a call's timeout= overrides it
        self.redact = Redactor(target.secrets())  # every text kept for the person passes through it
        self.events = Events(options.log_level, redact=self.redact)
        self.catalog = Catalog(self.name, self.events)
        self.subscriptions = Subscriptions(self.name, self.events)
        self.answers = Answers(self.name, sampling=options.sampling, elicitation=options.elicitation,
                               roots=options.roots, record=self.events.record)
        self.replaced_by: str | None = None  # the name of the newer connection that replaced this one
        self._link: Link | None = None
        self._reopen_failed: MCPNBError | None = None  # why the last reconnect failed, until close() or success
        self._healing = anyio.Lock()  # one reconnect at a time for every map on this connection (heal())
        self._heals = 0  # reconnects heal() began
        self._closed_link: Link | None = None  # kept after close() so stderr can still be read
        self._info: ServerInfo | None = None
        self._trace: Trace | None = None  # made with the first link, kept across reconnects
        self._unchecked: set[str] = set()  # tools whose unusable input schema was reported
        self._checked: dict[str, tuple[Listing[Any] | None, Tool, bool]] = {}  # by tool name: see _checks_for
        # The structured content of recent calls, by tool, and the results refused against the tool's output
        # schema (why): lint checks the first against the output schema and reports the second.
        self.seen_structured: deque[tuple[str, Any]] = deque(maxlen=SEEN_RESULTS)
        self.refused_structured: deque[tuple[str, str]] = deque(maxlen=SEEN_RESULTS)
        self.authorization: Authorization | None = None  # made once: tokens held survive a reconnect
        if options.auth is not None:
            if target.kind not in ("http", "sse"):
                raise ConfigError(f"auth= applies to remote servers (http or https URLs), not to "
                                  f"{target.describe().split(':', 1)[0]}.")
            self.authorization = Authorization(options.auth, url=target.url or "", server_name=self.name,
                                               note=self._note_http, secret=self._learn_secret, redact=self.redact,
                                               person=runtime.PersonTime())

    # -- lifecycle ---------------------------------------------------------------------

    async def open(self) -> None:
        """Connect (start the server process, for stdio) and learn what the server is."""
        link = Link(self.target, self.options, message_handler=self._on_message, logging_callback=self._on_log,
                    client_info=types.Implementation(name="mcpnb", version=__version__),
                    callbacks=self.answers.callbacks(), redact=self.redact, authorization=self.authorization,
                    on_lost=lambda why: self.events.record("connection", f"lost: {why}"),
                    extensions=[advertise(apps.EXTENSION_ID, apps.ADVERTISED)])  # MCP Apps are shown
        if self._trace is None:
            self._trace = Trace(link.redact)
        link.trace = self._trace
        import_soon()  # jsonschema, for checking arguments, loads while the server starts
        try:
            await link.open()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await link.close()
            raise
        self._link = link
        self.catalog.clear()
        self.subscriptions.clear()
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
        self.events.record("connection", f"connected ({self._info.protocol_version}, {self._info.era})")
        if self._info.era == "stateless" and list_change_flags(client.server_capabilities):
            link.spawn(Catalog.listen_for_changes, "listening for list changes")
        level = self.options.log_level
        if level and self._info.era == "handshake" and client.server_capabilities.logging is not None:
            await _set_log_level(link, level)

    def restage(self, *, name: str | None, title: str | None, version: str | None, instructions: str | None,
                capabilities: types.ServerCapabilities) -> None:
        """A served server's definitions were swapped in place (``mcpnb.serving``): who it says it
        is now, without a new handshake; the listings are fetched again."""
        if self._info is None:
            return
        self._info = dataclasses.replace(
            self._info, name=name, title=title, version=version, capabilities=capabilities,
            instructions=self.redact(instructions) if instructions else None, transport=self.target.describe())
        self.catalog.forget()

    def _note_http(self, exchange: Any) -> None:
        if self._trace is not None:
            self._trace.note_http(exchange)

    def _learn_secret(self, value: str) -> None:
        """A secret the sign-in produced (a token, a client secret): masked from now on, everywhere."""
        self.redact.add([value])
        register_secrets([value])

    @property
    def auth(self) -> AuthStatus | None:
        """How the connection is authorized (None: no auth= given); never the token."""
        return self.authorization.status() if self.authorization is not None else None

    async def close(self, *, replaced_by: str | None = None) -> None:
        """Close the connection (a stdio server process is stopped); ``replaced_by`` names its successor."""
        if replaced_by is not None:
            self.replaced_by = replaced_by
        self._reopen_failed = None
        link, self._link = self._link, None
        if link is not None:
            with anyio.CancelScope(shield=True):
                await link.close()
            self.events.record("connection", f"closed (replaced by {replaced_by!r})" if replaced_by else "closed")
        self._closed_link = link

    async def reconnect(self) -> None:
        """Close (if need be) and open again with the same target and options."""
        await self.close()
        self.replaced_by = None
        try:
            await self.open()
        except BaseException as error:  # the server is still away, or the reopening was cut short (a map
            # stopped, an interrupt): lost, not closed by the person, so the next map or reconnect() tries again
            self._reopen_failed = error if isinstance(error, MCPNBError) else ConnectError(
                f"Reconnecting to {self.name!r} was cancelled before it finished.")
            raise

    async def heal(self, who: str | None = None) -> None:
        """Reconnect a lost connection once for every caller that saw it go (all the maps sharing this
        connection): the first reconnects, the rest wait for it and go on; if it failed while they waited,
        they get its error (and back off), and the next call tries again. A connection closed on purpose
        (``close()``) stays closed. ``who`` names the caller in the activity record."""
        tried = self._heals
        async with self._healing:
            if not self.lost:
                return  # reconnected while this caller waited, or closed on purpose
            if self._heals != tried and self._reopen_failed is not None:
                raise copy.copy(self._reopen_failed)  # the reconnect this caller waited for failed
            self._heals += 1
            why = self.lost_reason
            try:
                await self.reconnect()
            except MCPNBError as error:
                self.events.record("map", f"{who or self.name}: could not reconnect: {error.message}")
                raise
            self.events.record("map", f"{who or self.name}: reconnected (the connection was lost: {why})")

    @property
    def healing(self) -> bool:
        """Whether ``heal()`` is reconnecting (a call now waits for it rather than fail)."""
        return self._healing.locked()

    @property
    def closed(self) -> bool:
        return self._link is None or self._link.closed

    @property
    def alive(self) -> bool:
        """Open, and not known to have lost its server."""
        return self._link is not None and self._link.client is not None and self._link.lost is None

    @property
    def lost(self) -> bool:
        """The server has gone and the connection was not closed on purpose (``reconnect()`` tries again):
        open with a lost link, or a reconnect that failed."""
        if self._link is None:
            return self._reopen_failed is not None
        return self._link.lost is not None

    @property
    def lost_reason(self) -> str | None:
        """Why the open connection was lost, in the words of its error (None while it is fine)."""
        if self._link is None:
            return f"reconnecting failed: {self._reopen_failed.message}" if self._reopen_failed else None
        return self._link.lost.message if self._link.lost is not None else None

    def require_link(self) -> Link:
        """The open link, or ConnectionClosed saying why there is none (its ``nothing_sent`` is True:
        the request was not sent, so it may be made again once reconnected)."""
        if self._link is None:
            if self._healing.locked():
                error = ConnectionClosed(f"The connection to {self.name!r} is being reconnected.",
                                         hint="try again in a moment: map() waits for the reconnect.")
                error.nothing_sent = True  # type: ignore[attr-defined]
                raise error
            if self._reopen_failed is not None:
                lost = ConnectionLost(f"The connection to {self.name!r} was lost, and reconnecting failed: "
                                      f"{self._reopen_failed.message}",
                                      hint="server.reconnect() tries again once the server is back.")
                lost.nothing_sent = True  # type: ignore[attr-defined]
                raise lost
            if self.replaced_by:
                raise ConnectionClosed(
                    f"This connection to {self.name!r} was replaced by a newer one with the same name.",
                    hint="use the new Server object (mcpnb.servers()), or connect with another name=.",
                )
            raise ConnectionClosed(f"The connection to {self.name!r} is closed.",
                                   hint="server.reconnect() opens it again.")
        return self._link

    @property
    def info(self) -> ServerInfo:
        """Identity, negotiated protocol version and era, capabilities, instructions."""
        self.require_link()
        assert self._info is not None
        return self._info

    @property
    def protocol_version(self) -> str | None:
        """The negotiated version, once connected (kept after close, for results)."""
        return self._info.protocol_version if self._info else None

    @property
    def stderr(self) -> str:
        """What a stdio server has written to stderr (the last 64 KB, secrets masked)."""
        link = self._link or self._closed_link
        if link is None or link.stderr is None:
            return ""
        return link.redact(link.stderr.text())

    @property
    def trace(self) -> Trace | None:
        return self._trace

    @property
    def pid(self) -> int | None:
        return self._link.watch.pid if self._link and self._link.watch else None

    # -- what the server sends unasked ------------------------------------------------

    async def _on_message(self, message: Any) -> None:
        """Notifications from the server: note list changes and resource updates, keep the rest."""
        root = getattr(message, "root", message)
        self.catalog.noticed(root)
        self.events.notify(root)
        if isinstance(root, types.ResourceUpdatedNotification):
            self.subscriptions.updated(str(root.params.uri))
        elif isinstance(root, Exception):
            self.events.record("transport", _unreadable(root))

    async def _on_log(self, params: types.LoggingMessageNotificationParams) -> None:
        self.events.log(params.level, params.logger, params.data)

    # -- listings ----------------------------------------------------------------------

    async def listing(self, *, kind: ListingKind) -> Listing[Any]:
        """Every item of ``kind`` the server offers (all pages), cached until the list changes."""
        if kind not in KINDS:
            raise ConfigError(f"Unknown listing {kind!r}.", hint=f"one of: {', '.join(KINDS)}.")
        link = self.require_link()
        return await self.catalog.get(kind, link, self.info.capabilities, self.timeout)

    def refresh(self) -> None:
        """Forget every cached listing; the next use fetches them again."""
        self.catalog.forget()

    # -- calling tools -----------------------------------------------------------------

    async def call(self, *, tool: str, arguments: Mapping[str, Any] | None = None, timeout: Timeout = UNSET,
                   validate: bool | Unset = UNSET, progress: ProgressOption = UNSET) -> ToolResult:
        """Call ``tool``; arguments are checked against its input schema first (unless ``validate=False``)."""
        link = self.require_link()
        if arguments is not None and not isinstance(arguments, Mapping):
            raise ConfigError(f"Arguments for {tool!r} must be a dict, not {type(arguments).__name__}.")
        args = to_json(arguments) if arguments else {}
        if validate is not False:
            # Known from an earlier call while the listing stands: this is on every call's way.
            tools, known = self.catalog.fresh("tools"), self._checked.get(tool)
            if known is None or tools is None or known[0] is not tools:
                known = await self._checks_for(tool)
            spec = known[1]
            if not prepared(spec.input_schema):  # compiled once, off the loop: a big one would stall it
                await anyio.to_thread.run_sync(prepare, spec.input_schema)
            problems = check_arguments(spec.input_schema, args)
            self._report_unusable(spec)
            if known[2]:  # the tool has an argument named like a call option
                problems += _option_clashes(spec, args, timeout=timeout, validate=validate, progress=progress)
            if problems:
                raise InvalidArguments(tool, problems, hint=_arguments_hint(spec))
        limit = self._limit(timeout)
        wanted = True if progress is UNSET else progress
        # The line is made only if the server reports progress (most calls report none): see OnDemand.
        bar = OnDemand(f"{self.name}.{tool}", unit="step") if wanted and not callable(wanted) else None
        if link is not self._link or link.lost is not None:  # lost or reconnected while the arguments were checked
            gone = copy.copy(link.lost) if link.lost is not None else ConnectionClosed(
                f"The connection to {self.name!r} was closed before the call of {tool!r} was sent.",
                hint="server.reconnect() opens it again.")
            gone.nothing_sent = True  # type: ignore[attr-defined]  (see require_link)
            raise gone
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
            if isinstance(error, ProtocolError) and error.output_violation:
                self.refused_structured.append((tool, error.output_violation))
            raise
        if bar is not None:
            bar.finish(f"done in {time.perf_counter() - started:.1f} s", True)
        if getattr(raw, "structured_content", None) is not None and not getattr(raw, "is_error", False):
            self.seen_structured.append((tool, kept_for_lint(raw.structured_content)))
        return ToolResult(raw, self.name, tool, args, time.perf_counter() - started, self.protocol_version)

    def _report_unusable(self, spec: Tool) -> None:
        """Say once per tool that its input schema cannot be used (its calls go out unchecked)."""
        why = unusable(spec.input_schema)
        if why is not None and spec.name not in self._unchecked:
            self._unchecked.add(spec.name)
            text = (f"The input schema of {spec.name!r} on {self.name!r} cannot be used to check arguments: "
                    f"{why}. Its calls go out unchecked.")
            self.events.record("schema", text)
            runtime.warn(ServerWarning(text))

    async def _checks_for(self, tool: str) -> tuple[Listing[Any] | None, Tool, bool]:
        """(the tools listing, the tool's spec, whether an argument is named like a call option), kept in
        ``_checked`` for the next calls while that listing stands."""
        spec = await self._tool(tool)
        declared = spec.input_schema.get("properties") or {}
        known = (self.catalog.fresh("tools"), spec, any(name in declared for name in CALL_OPTIONS))
        if known[0] is not None:  # what was kept from an older listing goes with it
            self._checked = {name: kept for name, kept in self._checked.items() if kept[0] is known[0]}
            self._checked[tool] = known
        return known

    async def _tool(self, name: str) -> Tool:
        """The listed tool ``name``, looking again once if it is not known (the list may have grown)."""
        tools = await self.listing(kind="tools")
        if name not in tools:
            self.catalog.forget(["tools"])
            tools = await self.listing(kind="tools")
        return tools[name]  # NotFound with suggestions

    async def map(self, *, tool: str, rows: Any, concurrency: int = 8, timeout: Timeout = UNSET,
                  progress: bool = True, rate: RateOption = None, retries: int = 3, idempotent: bool | None = None,
                  max_errors: int | None = None, checkpoint: str | os.PathLike[str] | None = None) -> pd.DataFrame:
        """Call ``tool`` once per row (argument dicts or a DataFrame); one table, a row per call, in order.
        How fast, what is retried, when it stops and what is kept on disk: ``mcpnb.fanout``."""
        from .fanout import fan_out  # loaded with the first map

        return await fan_out(self, tool=tool, rows=rows, concurrency=concurrency, timeout=timeout, progress=progress,
                             rate=rate, retries=retries, idempotent=idempotent, max_errors=max_errors,
                             checkpoint=checkpoint)

    # -- resources, prompts, completions -----------------------------------------------

    async def read(self, *, uri: str | Resource, timeout: Timeout = UNSET) -> ResourceResult:
        """Read the resource at ``uri`` (a listed resource or a filled-in template)."""
        link = self.require_link()
        text = uri.uri if isinstance(uri, Resource) else str(uri)
        limit = self._limit(timeout)
        raw = await link.request(
            f"Reading {text!r} from {self.name!r}",
            lambda c: _with_timeout(c.read_resource(text, cache_mode="bypass"), limit),
            timeout=limit,
        )
        return ResourceResult(raw, self.name, text, self.protocol_version)

    async def prompt(self, *, name: str, arguments: Mapping[str, Any] | None = None,
                     timeout: Timeout = UNSET) -> PromptResult:
        """Render the prompt ``name``; values that are not strings are sent as JSON text."""
        link = self.require_link()
        if arguments is not None and not isinstance(arguments, Mapping):
            raise ConfigError(f"Arguments for prompt {name!r} must be a dict, not {type(arguments).__name__}.")
        args = {k: _prompt_value(v) for k, v in (arguments or {}).items()}
        spec = (await self.listing(kind="prompts"))[name]
        declared = {a.name for a in spec.arguments}
        problems = [(a.name, "required, missing") for a in spec.arguments if a.required and a.name not in args]
        problems += [(k, f"not an argument of this prompt (it takes: {', '.join(declared) or 'none'})")
                     for k in args if k not in declared]
        if problems:
            raise InvalidArguments(name, problems, kind="prompt")
        limit = self._limit(timeout)
        raw = await link.request(
            f"Getting prompt {name!r} from {self.name!r}",
            lambda c: _with_timeout(c.get_prompt(name, args or None), limit),
            timeout=limit,
        )
        return PromptResult(raw, self.name, name, args)

    async def complete(self, *, ref: CompletionRef, argument: str, value: str = "",
                       context: Mapping[str, str] | None = None) -> Completions:
        """Suggestions for ``argument`` of a prompt or resource template, given what is typed so far."""
        link = self.require_link()
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

    # -- following resources, and roots ------------------------------------------------

    async def subscribe(self, *, uri: str | Resource, callback: UpdateCallback | None = None) -> None:
        """Follow ``uri``: updates go to the events store and ``callback(uri)``, in either era."""
        link = self.require_link()
        resources = self.info.capabilities.resources
        await self.subscriptions.subscribe(link, _uri(uri), callback, era=self.info.era,
                                           offered=bool(resources and resources.subscribe), timeout=self.timeout)

    async def unsubscribe(self, *, uri: str | Resource) -> None:
        """Stop following ``uri``."""
        link = self.require_link()
        await self.subscriptions.unsubscribe(link, _uri(uri), alive=self.alive, timeout=self.timeout)

    @property
    def roots(self) -> list[str]:
        """The roots offered to the server, as file:// URIs."""
        return root_uris(self.answers.roots)

    async def set_roots(self, *, roots: RootsOption) -> None:
        """Offer other roots; a 2025-11-25 server is told they changed."""
        if self.answers.roots is None:
            raise ConfigError(f"Roots are not offered on {self.name!r} (it connected with roots=None).",
                              hint="reconnect with connect(..., roots=PATH) to offer them.")
        self.answers.roots = roots_from(roots) or []
        self.events.record("roots", "roots set to: " + (", ".join(self.roots) or "none"))
        link = self.require_link()
        if self._info and self._info.era == "handshake" and self.alive:
            await link.request("Sending roots/list_changed", lambda c: quietly(c.send_roots_list_changed))

    # -- helpers -----------------------------------------------------------------------

    def _limit(self, timeout: Timeout) -> float | None:
        return self.timeout if isinstance(timeout, Unset) else timeout

    def __repr__(self) -> str:
        return f"<Session {self.name!r} {'open' if self.alive else 'closed' if self.closed else 'lost'}>"


def _unreadable(error: Exception) -> str:
    """One short line for what the transport could not read: what was received, cut."""
    came = received(error)
    if came is not None:  # the message did not parse: say what came
        return f"the server sent something that is not a JSON-RPC message: {came[:120]!r}"
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:200] if text else ''}"


async def _set_log_level(link: Link, level: str) -> None:
    """The 2025-11-25 way to ask for log messages (deprecated in the SDK, right for that era)."""
    try:
        await link.request("Setting the log level", lambda c: quietly(c.set_logging_level, level))
    except MCPNBError:
        pass  # a server that says it logs but refuses the level: carry on without its messages


def _progress_callback(wanted: Any, bar: OnDemand | None) -> ProgressFnT | None:
    """What the SDK calls with each progress notification: the bar, the person's callable, or nothing."""
    if bar is not None:
        return bar
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


def _with_timeout(awaitable: Awaitable[Any], limit: float | None) -> Awaitable[Any]:
    """Bound SDK calls that take no per-call timeout (the connection default still applies)."""
    if limit is None:
        return awaitable

    async def bounded() -> Any:
        with anyio.fail_after(limit):
            return await awaitable

    return bounded()


CALL_OPTIONS = ("timeout", "validate", "progress")  # call()'s keyword options, which a tool's arguments may shadow


def _option_clashes(spec: Tool, args: Mapping[str, Any], **options: Any) -> list[tuple[str, str]]:
    declared = spec.input_schema.get("properties") or {}
    return [
        (name, f"is both a call option and an argument of {spec.name!r}; pass it in the dict: "
               f"call({spec.name!r}, {{{name!r}: ...}})")
        for name, value in options.items()
        if value is not UNSET and name in declared and name not in args
    ]


def _arguments_hint(spec: Tool) -> str:
    if not spec.parameters:
        return f"{spec.name!r} takes no arguments."
    return f"{spec.name!r} takes: {spec.signature} (? = optional); see server.tools[{spec.name!r}].input_schema."


def _prompt_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(to_json(value)) if isinstance(value, (dict, list, tuple)) else str(to_json(value))


def _uri(uri: Any) -> str:
    return str(getattr(uri, "uri", uri))


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


def arguments_with(arguments: Any, extra: Mapping[str, Any]) -> Any:
    """A dict of arguments and keyword arguments merged; anything else passed on unchanged
    (the verb then says what is wrong with it, on the loop)."""
    if extra and (arguments is None or isinstance(arguments, Mapping)):
        return {**(arguments or {}), **extra}
    return arguments
