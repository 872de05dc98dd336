"""``Server``: one live MCP connection, with sync methods and async twins.

Each verb is implemented once, as a coroutine of the connection's
``Session`` (``server.session``, see ``mcpnb.session``), and appears here twice,
one line each:

- ``call(...)``, for plain cells and scripts: runs it on mcpnb's background
  loop and waits (an interrupt cancels the request on the server);
- ``acall(...)``, for ``await`` in a cell or any other event loop.

``connect()`` and ``aconnect()`` take the options of ``ConnectOptions`` as
keywords (their signature is made from it), open the connection and register
it by name (``mcpnb.registry``).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import registry, runtime, tokens
from .apps import require_app
from .auth import AuthStatus
from .events import Events
from .handlers import RootsOption
from .listings import Listing, Prompt, Resource, ResourceTemplate, Tool
from .options import UNSET, ConnectOptions, Timeout, Unset
from .results import Completions, PromptResult, ResourceResult, ServerInfo, ToolResult
from .session import CompletionRef, ProgressOption, Session, arguments_with
from .subscriptions import UpdateCallback
from .targets import Target, resolve
from .trace import no_wire

if TYPE_CHECKING:
    import collections

    import pandas as pd

    from .fanout import RateOption
    from .snapshot import Snapshot
    from .traceframe import TraceFrame

__all__ = ["Server", "connect", "aconnect", "servers", "close_all", "logout", "SignedOut"]

servers = registry.servers
close_all = registry.close_all


class Server:
    """A live connection to one MCP server. Make one with ``mcpnb.connect()``."""

    def __init__(self, target: Target, options: ConnectOptions) -> None:
        self.session = Session(target, options)

    # -- what it is --------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.session.name

    @property
    def target(self) -> Target:
        return self.session.target

    @property
    def options(self) -> ConnectOptions:
        """The options it was connected with (``mcpnb.connect(target, **server.options.changes())``)."""
        return self.session.options

    @property
    def timeout(self) -> float | None:
        """The default per-request timeout in seconds (None: no limit); a call's ``timeout=`` overrides it."""
        return self.session.timeout

    @timeout.setter
    def timeout(self, seconds: float | None) -> None:
        self.session.timeout = seconds

    @property
    def info(self) -> ServerInfo:
        """Identity, negotiated protocol version and era, capabilities, instructions."""
        return self.session.info

    @property
    def protocol_version(self) -> str:
        return self.session.info.protocol_version

    @property
    def closed(self) -> bool:
        return self.session.closed

    @property
    def alive(self) -> bool:
        """Open, and not known to have lost its server."""
        return self.session.alive

    @property
    def stderr(self) -> str:
        """What a stdio server has written to stderr (the last 64 KB, secrets masked)."""
        return self.session.stderr

    @property
    def pid(self) -> int | None:
        """The process id of a stdio server."""
        return self.session.pid

    @property
    def trace(self) -> TraceFrame:
        """Every JSON-RPC message sent and received (the last 1000), as a table; secrets masked.

        Columns: time, direction (→ sent, ← received), kind, method, id,
        duration_ms (request to response), size (bytes), summary, message.
        ``server.trace.view()`` draws them as a live sequence between client
        and server. In-process servers have no wire, so their trace is empty.
        A message larger than 64 KB of JSON is kept cut (its summary, size and
        first 4 KB, marked ``"(cut)"``); ``server.trace.keep_full()`` keeps them whole.
        """
        trace = self.session.trace
        return trace.frame() if trace is not None else no_wire()

    @property
    def auth(self) -> AuthStatus | None:
        """How the connection is authorized: method, scopes granted, expiry, issuer (never the token).
        None when it was opened without ``auth=``."""
        return self.session.auth

    # -- what happened on it -----------------------------------------------------------

    @property
    def events(self) -> Events:
        """The events store: activity, log messages, notifications; ``watch(fn)`` to follow it."""
        return self.session.events

    @property
    def activity(self) -> pd.DataFrame:
        """What happened besides your own calls (the last 1000): list changes, resource
        updates, the server's questions and their answers, roots sent; time, kind, summary."""
        return self.session.events.activity()

    @property
    def logs(self) -> pd.DataFrame:
        """Log messages the server sent (the last 1000): time, level, logger, message.

        Which are kept is set by ``connect(log_level=...)`` ("info" by default):
        the server is asked for that level, and anything below it is dropped.
        """
        return self.session.events.logs()

    @property
    def notifications(self) -> collections.deque[Any]:
        """The last 1000 notifications the server sent, as the SDK delivered them."""
        return self.session.events.notifications

    # -- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection; a stdio server process is stopped."""
        registry.unregister(self)
        runtime.run(self.session.close())

    async def aclose(self) -> None:
        """Async twin of :meth:`close`."""
        registry.unregister(self)
        await runtime.arun(self.session.close())

    def reconnect(self) -> Server:
        """Close (if need be) and connect again with the same target and options."""
        runtime.run(_reopen(self))
        return self

    async def areconnect(self) -> Server:
        """Async twin of :meth:`reconnect`."""
        await runtime.arun(_reopen(self))
        return self

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    # -- listings ----------------------------------------------------------------------

    @property
    def tools(self) -> Listing[Tool]:
        """Every tool the server offers."""
        return runtime.run(self.session.listing(kind="tools"))

    @property
    def resources(self) -> Listing[Resource]:
        """Every resource the server lists."""
        return runtime.run(self.session.listing(kind="resources"))

    @property
    def templates(self) -> Listing[ResourceTemplate]:
        """Every resource template the server lists."""
        return runtime.run(self.session.listing(kind="templates"))

    @property
    def prompts(self) -> Listing[Prompt]:
        """Every prompt the server offers."""
        return runtime.run(self.session.listing(kind="prompts"))

    async def atools(self) -> Listing[Tool]:
        return await runtime.arun(self.session.listing(kind="tools"))

    async def aresources(self) -> Listing[Resource]:
        return await runtime.arun(self.session.listing(kind="resources"))

    async def atemplates(self) -> Listing[ResourceTemplate]:
        return await runtime.arun(self.session.listing(kind="templates"))

    async def aprompts(self) -> Listing[Prompt]:
        return await runtime.arun(self.session.listing(kind="prompts"))

    def refresh(self) -> None:
        """Forget every cached listing; the next access fetches them again."""
        self.session.refresh()

    def snapshot(self, path: str | os.PathLike[str] | None = None) -> Snapshot:
        """Write what the server offers now (identity, protocol, capabilities, instructions, tools, resources,
        templates, prompts) to a JSON file and return it as a ``Snapshot``; ``mcpnb.diff(old, new)`` compares two.

        ``path`` is the file; a folder gets ``<name>.snapshot.json`` in it; none means that name in the
        working directory. Nothing of the target (command, environment, URL, headers) is written.
        """
        from .snapshot import take  # lazily: a Snapshot's changes are a DataFrame (pandas)

        return take(self).write(self._snapshot_path(path))

    async def asnapshot(self, path: str | os.PathLike[str] | None = None) -> Snapshot:
        """Async twin of :meth:`snapshot`."""
        from .snapshot import atake  # lazily: a Snapshot's changes are a DataFrame (pandas)

        return (await atake(self)).write(self._snapshot_path(path))

    def _snapshot_path(self, path: str | os.PathLike[str] | None) -> Path:
        from .snapshot import default_path

        where = Path(path).expanduser() if path is not None else None
        return default_path(self.name, where) if where is None or where.is_dir() else where

    # -- calling tools -----------------------------------------------------------------

    def call(self, tool: str, arguments: Mapping[str, Any] | None = None, /, *, timeout: Timeout = UNSET,
             validate: bool | Unset = UNSET, progress: ProgressOption = UNSET, **kwargs: Any) -> ToolResult:
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
        return runtime.run(self.session.call(tool=tool, arguments=arguments_with(arguments, kwargs), timeout=timeout,
                                             validate=validate, progress=progress))

    async def acall(self, tool: str, arguments: Mapping[str, Any] | None = None, /, *, timeout: Timeout = UNSET,
                    validate: bool | Unset = UNSET, progress: ProgressOption = UNSET, **kwargs: Any) -> ToolResult:
        """Async twin of :meth:`call`."""
        __tracebackhide__ = True
        return await runtime.arun(self.session.call(tool=tool, arguments=arguments_with(arguments, kwargs),
                                                    timeout=timeout, validate=validate, progress=progress))

    def map(self, tool: str, rows: Any, *, concurrency: int = 8, timeout: Timeout = UNSET, progress: bool = True,
            rate: RateOption = None, retries: int = 3, idempotent: bool | None = None, max_errors: int | None = None,
            checkpoint: str | os.PathLike[str] | None = None, meta: Any = None) -> pd.DataFrame:
        """Call ``tool`` once per row and return one table, a row per call, in input order.

        ``rows`` is an iterable of argument dicts or a DataFrame (each row gives
        the arguments; missing values are left out). Up to ``concurrency`` calls
        run at once; ``rate=N`` starts at most N a second (a ``mcpnb.RateLimit``
        shares one budget between maps). A call that fails fills the ``error``
        column and the rest go on; one that fails for a passing reason (a timeout,
        HTTP 429 or 503, a lost connection, which is reconnected) is retried up to
        ``retries`` times with backoff, on tools annotated read-only or idempotent
        (``idempotent=True`` or ``False`` decides for others). ``max_errors=N`` stops
        after N failed rows (``TooManyErrors``, the rows done on it). ``checkpoint=PATH``
        keeps finished rows in a Parquet folder, so running the same map again
        resumes where it stopped. An interrupt cancels every call still under way.

        A Dask DataFrame as ``rows`` gives a Dask DataFrame back (lazy): its
        partitions run on the cluster's workers, each with a connection of its
        own; ``meta=`` names the result columns (see ``mcpnb.dask``).
        """
        __tracebackhide__ = True
        if _dask_frame(rows, meta):
            from .dask import map as dask_map  # lazily: Dask is an optional extra (mcpnb[dask])

            return dask_map(self, tool, rows, meta=meta, concurrency=concurrency, timeout=timeout, rate=rate,
                            retries=retries, idempotent=idempotent, max_errors=max_errors, checkpoint=checkpoint)
        return runtime.run(self.session.map(tool=tool, rows=rows, concurrency=concurrency, timeout=timeout,
                                            progress=progress, rate=rate, retries=retries, idempotent=idempotent,
                                            max_errors=max_errors, checkpoint=checkpoint))

    async def amap(self, tool: str, rows: Any, *, concurrency: int = 8, timeout: Timeout = UNSET,
                   progress: bool = True, rate: RateOption = None, retries: int = 3, idempotent: bool | None = None,
                   max_errors: int | None = None, checkpoint: str | os.PathLike[str] | None = None,
                   meta: Any = None) -> pd.DataFrame:
        """Async twin of :meth:`map`."""
        __tracebackhide__ = True
        if _dask_frame(rows, meta):
            from .dask import amap as dask_amap  # lazily: Dask is an optional extra (mcpnb[dask])

            return await dask_amap(self, tool, rows, meta=meta, concurrency=concurrency, timeout=timeout, rate=rate,
                                   retries=retries, idempotent=idempotent, max_errors=max_errors,
                                   checkpoint=checkpoint)
        return await runtime.arun(self.session.map(tool=tool, rows=rows, concurrency=concurrency, timeout=timeout,
                                                   progress=progress, rate=rate, retries=retries,
                                                   idempotent=idempotent, max_errors=max_errors,
                                                   checkpoint=checkpoint))

    # -- resources, prompts, completions -----------------------------------------------

    def read(self, uri: str | Resource, *, timeout: Timeout = UNSET) -> ResourceResult:
        """Read the resource at ``uri`` (a listed resource or a filled-in template)."""
        __tracebackhide__ = True
        return runtime.run(self.session.read(uri=uri, timeout=timeout))

    async def aread(self, uri: str | Resource, *, timeout: Timeout = UNSET) -> ResourceResult:
        """Async twin of :meth:`read`."""
        __tracebackhide__ = True
        return await runtime.arun(self.session.read(uri=uri, timeout=timeout))

    def prompt(self, name: str, arguments: Mapping[str, Any] | None = None, /, *,
               timeout: Timeout = UNSET, **kwargs: Any) -> PromptResult:
        """Render the prompt ``name`` with its arguments (dict or keywords)."""
        __tracebackhide__ = True
        return runtime.run(self.session.prompt(name=name, arguments=arguments_with(arguments, kwargs),
                                               timeout=timeout))

    async def aprompt(self, name: str, arguments: Mapping[str, Any] | None = None, /, *,
                      timeout: Timeout = UNSET, **kwargs: Any) -> PromptResult:
        """Async twin of :meth:`prompt`."""
        __tracebackhide__ = True
        return await runtime.arun(self.session.prompt(name=name, arguments=arguments_with(arguments, kwargs),
                                                      timeout=timeout))

    def complete(self, ref: CompletionRef, argument: str, value: str = "", *,
                 context: Mapping[str, str] | None = None) -> Completions:
        """Suggestions for ``argument`` of a prompt or resource template, given what is typed so far.

        ``ref`` is a Prompt or ResourceTemplate, ``"prompt:NAME"``,
        ``"template:URI-TEMPLATE"``, or a bare prompt name or URI template.
        """
        return runtime.run(self.session.complete(ref=ref, argument=argument, value=value, context=context))

    async def acomplete(self, ref: CompletionRef, argument: str, value: str = "", *,
                        context: Mapping[str, str] | None = None) -> Completions:
        """Async twin of :meth:`complete`."""
        return await runtime.arun(self.session.complete(ref=ref, argument=argument, value=value, context=context))

    # -- following resources, and roots ------------------------------------------------

    def subscribe(self, uri: str | Resource, callback: UpdateCallback | None = None) -> None:
        """Follow changes to the resource at ``uri``: each update is noted in
        ``server.activity`` and, given a ``callback``, calls ``callback(uri)``.

        2025-11-25 servers get ``resources/subscribe``; 2026-07-28 servers a
        ``subscriptions/listen`` stream for that URI.
        """
        runtime.run(self.session.subscribe(uri=uri, callback=callback))

    async def asubscribe(self, uri: str | Resource, callback: UpdateCallback | None = None) -> None:
        """Async twin of :meth:`subscribe`."""
        await runtime.arun(self.session.subscribe(uri=uri, callback=callback))

    def unsubscribe(self, uri: str | Resource) -> None:
        """Stop following ``uri``."""
        runtime.run(self.session.unsubscribe(uri=uri))

    async def aunsubscribe(self, uri: str | Resource) -> None:
        """Async twin of :meth:`unsubscribe`."""
        await runtime.arun(self.session.unsubscribe(uri=uri))

    @property
    def subscriptions(self) -> list[str]:
        """The resource URIs followed on this connection."""
        return self.session.subscriptions.uris

    @property
    def roots(self) -> list[str]:
        """The roots offered to the server (file:// URIs); assign a path or list to change them."""
        return self.session.roots

    @roots.setter
    def roots(self, value: RootsOption) -> None:
        runtime.run(self.session.set_roots(roots=value))

    async def aset_roots(self, value: RootsOption) -> None:
        """Async twin of ``server.roots = value``."""
        await runtime.arun(self.session.set_roots(roots=value))

    # -- in a notebook -----------------------------------------------------------------

    def explore(self) -> Any:
        """An inspector for this server in the cell: tools (with forms), resources,
        prompts, activity and the server's identity. Calls from it never block the kernel."""
        # Upward and lazy on purpose: the widgets sit on top of this module (see mcpnb/__init__.py).
        from .widgets.explorer import Explorer

        return Explorer(self)

    def app(self, tool: str, /, **arguments: Any) -> Any:
        """Call ``tool`` and show its MCP App (``_meta.ui.resourceUri``) in a sandboxed frame in the cell.

        Returns at once with the frame; the call runs beside it and the app is
        given its input and then its result. What the app asks (tool calls, a
        link, a message) is shown under the frame; a destructive tool waits for
        the person's Allow. ``frame.result`` is the ToolResult once it is in.
        """
        __tracebackhide__ = True
        found = runtime.run(self.session.listing(kind="tools"))[tool]  # NotFound, with suggestions
        require_app(found, self.name)
        # Upward and lazy on purpose: the widgets sit on top of this module (see mcpnb/__init__.py).
        from .widgets.app import AppFrame

        frame = AppFrame(self, found, arguments)
        frame.follow(runtime.submit(self.session.call(tool=tool, arguments=arguments)))
        return frame

    def _repr_html_(self) -> str:
        from . import render

        return render.server(self)

    def __repr__(self) -> str:
        if self.session.lost:
            state = "lost (reconnect() to restart)"
        elif self.session.closed:
            state = "closed"
        else:
            state = f"protocol {self.session.protocol_version}" if self.session.protocol_version else "open"
        return f"<Server {self.name!r} {self.target.describe()}, {state}>"


def _dask_frame(rows: Any, meta: Any) -> bool:
    """Whether ``rows`` is a Dask DataFrame (told by its type's module: Dask is not imported for this)."""
    if type(rows).__module__.partition(".")[0] in ("dask", "dask_expr"):  # dask_expr: Dask 2024.8-2024.12
        return True
    if meta is not None:
        from .errors import ConfigError

        raise ConfigError("meta= is for a Dask DataFrame as rows (it names the columns before anything runs).")
    return False


async def _reopen(server: Server) -> None:
    await server.session.reconnect()
    await registry.replace_older(server)


def _prepare(target: Any, options: ConnectOptions | None, kwargs: dict[str, Any], caller: str) -> Server:
    """The Server for ``target``: options from keywords (or ``options=``) over those of a config entry."""
    given = {**(options.changes() if options is not None else {}), **kwargs}
    chosen = ConnectOptions.from_kwargs(given, caller=caller)
    resolved = resolve(target, chosen)
    if resolved.entry is not None:
        where = f"server {resolved.entry.name!r} in {resolved.entry.source}"
        chosen = ConnectOptions.from_kwargs({**ConnectOptions.config_keys(resolved.entry.values, where), **given})
    return Server(resolved, chosen)


def connect(target: Any, *, options: ConnectOptions | None = None, **kwargs: Any) -> Server:
    """Connect to an MCP server and return the live :class:`Server`.

    ``target`` is a command line or argv list (stdio), an http(s) URL
    (Streamable HTTP; ``transport="sse"`` for the legacy HTTP+SSE transport),
    an ``MCPServer``/low-level ``Server`` object (in-process), ``"demo:NAME"``
    (a bundled demo), or the name of an entry in an ``mcpServers`` config file
    (whose options apply unless given here).

    A stdio server gets a minimal environment (PATH, HOME, USER, SHELL, TERM,
    LOGNAME) plus ``env``, as in other MCP clients: pass what it needs in ``env``.
    ``sampling`` and ``elicitation`` are "ask", "accept-defaults", "decline",
    a callable or None (see ``mcpnb.handlers``). ``options=`` takes a whole
    ``ConnectOptions``; keywords override it.

    Options:
    """
    __tracebackhide__ = True
    server = _prepare(target, options, kwargs, "connect()")
    runtime.run(server.session.open())
    runtime.run(registry.replace_older(server))
    return server


async def aconnect(target: Any, *, options: ConnectOptions | None = None, **kwargs: Any) -> Server:
    """Async twin of :func:`connect`.

    Options:
    """
    __tracebackhide__ = True
    server = _prepare(target, options, kwargs, "aconnect()")
    await runtime.arun(server.session.open())
    await runtime.arun(registry.replace_older(server))
    return server


@dataclass(frozen=True)
class SignedOut:
    """What ``logout()`` forgot: where tokens were kept, and the open connections that will sign in again."""

    server: str
    storage: tuple[str, ...]
    connections: tuple[str, ...]

    def __repr__(self) -> str:
        kept = ", ".join(self.storage) if self.storage else "nothing was stored"
        opened = f"; {len(self.connections)} open connection(s) sign in again on their next request" \
            if self.connections else ""
        return f"<SignedOut of {self.server}: forgot the sign-in ({kept}){opened}>"


def logout(target: Any) -> SignedOut:
    """Forget the sign-in to a server: the stored tokens and registration, and those held by open connections.

    ``target`` is the server's URL, the name of an ``mcpServers`` entry, or a ``Server``.
    """
    if isinstance(target, Server):
        url = target.target.url
    else:
        url = resolve(target, ConnectOptions()).url
    if not url:
        from .errors import ConfigError

        raise ConfigError("logout() is for remote servers (an http or https URL).")
    key = tokens.server_key(url)
    stored = tuple(tokens.forget(url))
    opened = []
    for server in registry.open_servers():
        authorization = server.session.authorization
        if authorization is not None and tokens.server_key(authorization.url) == key:
            authorization.forget()
            opened.append(server.name)
    return SignedOut(server=key, storage=stored, connections=tuple(opened))


def _signed(function: Any) -> None:
    """Give connect()/aconnect() the options as their signature and doc (for help and tab completion)."""
    own = inspect.signature(function)
    target, options = own.parameters["target"], own.parameters["options"]
    function.__signature__ = own.replace(parameters=[target, *ConnectOptions.parameters(), options])
    function.__doc__ = (function.__doc__ or "").rstrip() + "\n" + ConnectOptions.doc() + "\n"


_signed(connect)
_signed(aconnect)
