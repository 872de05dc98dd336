"""One live connection: the task that holds the SDK client open, and the
translation of whatever goes wrong into one readable mcpnb error.

The SDK's ``async with Client(...)`` must be entered and left by the same task,
so each connection has a *holder* task on the background loop that enters the
client, reports ready, and waits to be told to close. Requests run in other
tasks on the same loop and share the client, so several can be in flight.

Failure modes and what the person sees (all through ``translate``):

- the command cannot be spawned, exits during the handshake, or never answers
  it: ``ServerStartError``/``ConnectError`` with the stderr tail and exit code;
- the server dies mid-call: ``ConnectionLost`` within milliseconds (the SDK
  fails every pending request when the stream ends), and the connection is
  marked lost so later calls say the same until ``reconnect()``;
- a request outlives its timeout: ``RequestTimeout``; the SDK has already sent
  ``notifications/cancelled``, and the connection stays usable.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import re
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import mcp_types as types
from mcp.client.client import Client
from mcp.shared.exceptions import MCPError
from mcp_types.version import LATEST_HANDSHAKE_VERSION, LATEST_MODERN_VERSION, MODERN_PROTOCOL_VERSIONS

from .errors import (
    AuthorizationRequired,
    ConfigError,
    ConnectError,
    ConnectionClosed,
    ConnectionLost,
    MCPNBError,
    ProtocolError,
    RequestTimeout,
    ServerError,
    ServerStartError,
)
from .masking import Redactor, redact_value, register_secrets
from .process import ProcessWatch, StderrTail
from .streams import Watched
from .targets import Target
from .trace import Tap, Trace
from .unreadable import HttpFailure, HttpFailures, Unreadable, http_failure, is_unreadable

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup
if TYPE_CHECKING:
    from .options import ConnectOptions

__all__ = ["Link", "protocol_mode", "negotiated_era", "close_every_link", "quietly"]

logger = logging.getLogger("mcpnb")
# Libraries must not print through logging's last-resort handler: in a notebook
# that puts the SDK's tracebacks for ordinary failures (a dropped stream) into
# the cell. Records still reach any handler the user configures.
for _name in ("mcpnb", "mcp", "httpx2", "httpcore2"):
    logging.getLogger(_name).addHandler(logging.NullHandler())

# Lines of stderr quoted in an error message.
STDERR_LINES_IN_ERRORS = 15
# How long close() waits for the SDK's orderly shutdown before cancelling it
# (the SDK itself escalates stdin-close -> SIGTERM -> SIGKILL within ~6 s).
CLOSE_TIMEOUT = 10.0
DEFAULT_CONNECT_TIMEOUT = 60.0

_PROTOCOLS = {
    None: ("auto", None),
    "auto": ("auto", None),
    "legacy": ("legacy", None),
    "handshake": ("legacy", None),
    LATEST_HANDSHAKE_VERSION: ("legacy", None),
    "modern": ("auto", LATEST_MODERN_VERSION),
    "stateless": ("auto", LATEST_MODERN_VERSION),
    LATEST_MODERN_VERSION: ("auto", LATEST_MODERN_VERSION),
}


def protocol_mode(protocol: str | None) -> tuple[str, str | None]:
    """``protocol=`` -> (the SDK's connect mode, the modern version required or None)."""
    if protocol not in _PROTOCOLS:
        choices = ", ".join(repr(p) for p in _PROTOCOLS if p)
        raise ConfigError(f"Unknown protocol {protocol!r}.", hint=f"use None (negotiate) or one of {choices}.")
    return _PROTOCOLS[protocol]


class Link:
    """The SDK client of one connection, held open by one task on the loop.

    Every method runs on the background loop.
    """

    def __init__(
        self,
        target: Target,
        options: ConnectOptions,
        *,
        message_handler: Callable[[Any], Awaitable[None]] | None = None,
        logging_callback: Callable[[Any], Awaitable[None]] | None = None,
        client_info: types.Implementation | None = None,
        trace: Trace | None = None,
        callbacks: dict[str, Any] | None = None,
        redact: Redactor | None = None,
        authorization: Any = None,
        on_lost: Callable[[str], None] | None = None,
        extensions: list[Any] | None = None,
    ) -> None:
        self.target = target
        self._extensions = extensions or None  # the SDK's ClientExtensions, advertised in the handshake
        self.trace = trace
        self.redact = redact if redact is not None else Redactor(target.secrets())
        # mcpnb.auth.Authorization: its httpx auth for the HTTP client, the time a person spent
        # signing in (not counted against connect_timeout), and a failed flow to report.
        self.authorization = authorization
        self._on_lost = on_lost  # told once, when the connection is first known to be lost
        self._told_lost = False
        register_secrets(target.secrets())
        self.mode, self.required_version = protocol_mode(options.protocol)
        self.timeout = options.timeout
        self.connect_timeout = DEFAULT_CONNECT_TIMEOUT if options.connect_timeout is None else options.connect_timeout
        self._message_handler = message_handler
        self._logging_callback = logging_callback
        self._client_info = client_info
        self.log_level = options.log_level
        self.max_event_size = options.max_event_size
        self._callbacks = callbacks or {}  # sampling, elicitation and roots (handlers.Answers)
        self.client: Client | None = None
        self.stderr: StderrTail | None = None
        self.watch: ProcessWatch | None = None
        self.lost: MCPNBError | None = None  # why the live connection ended, once it has
        self.closed = False
        self._scope: anyio.CancelScope | None = None
        self._closing: anyio.Event | None = None
        self._ready: anyio.Event | None = None
        self._done: anyio.Event | None = None
        self._hold_error: BaseException | None = None
        self._background: set[anyio.CancelScope] = set()
        self.unreadable: Unreadable | None = None  # what the SDK could not read (not for in-process servers)

    # -- opening and closing ---------------------------------------------------------

    async def open(self) -> None:
        """Start the holder task and wait until the client is connected."""
        self._closing, self._ready, self._done = anyio.Event(), anyio.Event(), anyio.Event()
        _live.add(self)
        http = HttpFailures()
        if self.target.kind == "stdio":
            self.stderr = StderrTail()
            self.watch = ProcessWatch(self.target.transport(self.stderr.file))
            transport: Any = self.watch
        else:
            transport = self.target.transport(max_event_size=self.max_event_size, on_response=http.observe,
                                              auth=self.authorization.http_auth if self.authorization else None)
        if self.target.kind != "inprocess":  # the trace first: it notes what came, before it is mended
            self.unreadable = Unreadable(http)
            watchers = [Tap(self.trace)] if self.trace is not None else []
            transport = Watched(transport, [*watchers, self.unreadable])
        asyncio.get_running_loop().create_task(self._hold(transport))
        if not await self._wait_ready():
            if self.watch is not None and self.watch.pid:  # it never answered: no grace period for it
                await stop_process_group(self.watch.pid, grace=0.2)
            await self._abort()
            self._release_stderr()
            await self._collect_stderr()
            raise self._start_failure(
                f"Server {self.target.name!r} did not finish connecting within {self.connect_timeout:g} s.",
                hint="check that the command starts an MCP server on stdio (and logs nothing to stdout), "
                "or raise connect_timeout=.",
                timed_out=True,
            )
        self._release_stderr()
        if self.client is None:
            await self._done.wait()
            await self._collect_stderr()
            raise self._start_failure_from(self._hold_error)
        version = self.client.protocol_version
        if self.unreadable is not None:
            self.unreadable.version = version
        if self.required_version and version != self.required_version:
            await self.close()
            raise ProtocolError(
                f"Server {self.target.name!r} does not speak protocol {self.required_version}; "
                f"it negotiated {version}.",
                hint="connect without protocol= to use the version it offers.",
            )

    async def _wait_ready(self) -> bool:
        """Wait for the client to be ready within connect_timeout, not counting the time a person
        spends signing in; False if the time ran out."""
        assert self._ready is not None
        person = self.authorization.person if self.authorization is not None else None
        started = anyio.current_time()
        while not self._ready.is_set():
            spent = person.spent() if person is not None else 0.0
            left = self.connect_timeout + spent - (anyio.current_time() - started)
            if left <= 0 and not (person is not None and person.active):
                return False
            with anyio.move_on_after(max(left, 0.25)):
                await self._ready.wait()
        return True

    async def _hold(self, transport: Any) -> None:
        assert self._closing and self._ready and self._done
        try:
            with anyio.CancelScope() as self._scope:
                client = Client(
                    transport,
                    mode=self.mode,
                    read_timeout_seconds=self.timeout,
                    message_handler=self._message_handler,
                    logging_callback=self._logging_callback,
                    client_info=self._client_info,
                    log_level=self.log_level,  # the 2026-07-28 opt-in, stamped on each request
                    extensions=self._extensions,
                    **self._callbacks,
                )
                async with client:
                    self.client = client
                    self._ready.set()
                    await self._closing.wait()
        except BaseException as exc:  # recorded and reported, never raised into the loop
            self._hold_error = exc
            if self.client is not None and not self.closed:
                self._lose(self._lost_error(exc))
        finally:
            self.client = None
            self._ready.set()
            self._done.set()
            _live.discard(self)

    def spawn(self, work: Callable[[Client], Awaitable[None]], what: str,
              on_stop: Callable[[str], None] | None = None) -> anyio.CancelScope:
        """Run ``work(client)`` beside the connection until it ends or the link closes.

        For long-lived listeners (``subscriptions/listen``); a failure is logged
        (and given to ``on_stop``), never raised: the connection is unaffected.
        Cancel the returned scope to stop it.
        """
        client = self.require_client()
        scope = anyio.CancelScope()
        self._background.add(scope)

        async def run() -> None:
            with scope:
                try:
                    await work(client)
                except Exception as exc:
                    if not self.closed:
                        why = self.redact(_describe(exc))
                        logger.info("%s on %r stopped: %s", what, self.target.name, why)
                        if on_stop is not None:
                            on_stop(f"{what} stopped: {why}")
                finally:
                    self._background.discard(scope)

        asyncio.get_running_loop().create_task(run())
        return scope

    async def close(self) -> None:
        """Leave the client orderly (the SDK stops the process); cancel if it takes too long."""
        self.closed = True
        for scope in list(self._background):
            scope.cancel()
        if self._closing is None or self._done is None:
            return
        if self.client is None:  # never got connected (failed or interrupted): nothing to wind down
            await self._abort()
        else:
            self._closing.set()
            with anyio.move_on_after(CLOSE_TIMEOUT, shield=True):
                await self._done.wait()
            if not self._done.is_set():
                await self._abort()
        if self.watch is not None and self.watch.pid:
            await stop_process_group(self.watch.pid)

    async def _abort(self) -> None:
        if self._scope is not None:
            self._scope.cancel()
        if self._done is not None:
            with anyio.move_on_after(CLOSE_TIMEOUT, shield=True):
                await self._done.wait()

    def _release_stderr(self) -> None:
        if self.stderr is not None:
            self.stderr.release_writer()

    # -- using the client ------------------------------------------------------------

    def left_out(self) -> list[tuple[str, str, str]]:
        """Listed items taken out because they break the wire types, since last asked: (key, name, why)."""
        if self.unreadable is None or not self.unreadable.left_out:
            return []
        found, self.unreadable.left_out = self.unreadable.left_out, []
        return found

    def require_client(self) -> Client:
        """The live client, or the error that says why there is none."""
        if self.client is not None and self.lost is None:
            return self.client
        if self.lost is not None:
            raise copy.copy(self.lost)
        if self.closed:
            raise ConnectionClosed(
                f"The connection to {self.target.name!r} is closed.",
                hint="connect again with mcpnb.connect(...) or server.reconnect().",
            )
        raise self._lost_error(self._hold_error)

    async def request(
        self, action: str, make: Callable[[Client], Awaitable[Any]], *, timeout: float | None = None
    ) -> Any:
        """Run one SDK call on the live client; any failure becomes one mcpnb error.

        ``timeout`` is only used to word a timeout error; the call applies it.
        """
        client = self.require_client()
        started = time.monotonic()
        try:
            return await make(client)
        except MCPNBError:
            raise
        except Exception as exc:
            error = await self.translate(exc, action, timeout=timeout, started=started)
            raise error from None
        except BaseExceptionGroup as group:
            if _only_cancellation(group):
                raise
            error = await self.translate(group, action, timeout=timeout, started=started)
            raise error from None

    async def translate(self, exc: BaseException, action: str, *, timeout: float | None = None,
                        started: float | None = None) -> MCPNBError:
        """The one mcpnb error that says what ``exc`` means for ``action``.

        The SDK raises ``MCPError`` both for its own failures (the connection
        closed, a request timed out) and for a server's error responses, with
        the same codes: a server may well answer -32000 or -32001 itself. So
        they are told apart by where they came from: the connection really
        closed, or the limit really ran out; anything else is the server's.
        """
        leaf = _leaf(exc)
        if isinstance(leaf, MCPNBError):
            return leaf
        if isinstance(leaf, MCPError):
            if leaf.message.startswith(_EVENT_TOO_BIG):  # the SDK's HTTP transport, not the server
                return ProtocolError(
                    f"{action}: the server's answer is larger than max_event_size "
                    f"({self.max_event_size or 0:,} bytes), so it was not read.",
                    hint="connect with a larger max_event_size= (None: no limit); the connection is still usable.")
            if leaf.message.startswith(_STREAM_BROKE) and leaf.data is None and self.target.kind == "http":
                return ProtocolError(f"{action}: the server's event stream broke off before the answer "
                                     f"({self.redact(leaf.message)}).",
                                     hint="try again; server.reconnect() if it keeps happening.")
            if leaf.code == types.CONNECTION_CLOSED and await self._closed_here(leaf):
                if self.closed:
                    return ConnectionClosed(f"{action} was stopped: the connection to {self.target.name!r} was closed.")
                self._lose(self._lost_error(leaf), tell=False)  # later calls fail fast while we wait
                await self._settle_process()
                self._lose(self._lost_error(leaf))  # now with the exit code and the last words
                return copy.copy(self.lost)
            if leaf.code == types.REQUEST_TIMEOUT and self._timed_out_here(leaf, timeout, started):
                return RequestTimeout(
                    f"{action} got no answer within {_seconds(timeout, self.timeout)}; the request was cancelled.",
                    hint="the connection is still usable; pass a larger timeout= to the call or to connect().",
                )
            failure = http_failure(leaf.data)
            if failure is not None:
                return self._http_error(failure, action)
            received = is_unreadable(leaf.data)
            if received is not None:
                return ProtocolError(f"{action}: the server's answer could not be read "
                                     f"({self.redact(leaf.message.removeprefix('unreadable answer: '))}); "
                                     f"it sent: {self.redact(received)[:200]!r}")
            hint = None
            if leaf.code == types.METHOD_NOT_FOUND:
                hint = "the server does not offer this feature (see server.info.capabilities)."
            if leaf.code == types.URL_ELICITATION_REQUIRED:
                hint = self.redact(_urls_to_open(leaf.data))
            return ServerError(
                f"{action} failed: the server answered with error {leaf.code}: {self.redact(leaf.message)}",
                code=leaf.code,
                data=redact_value(leaf.data, self.redact),
                hint=hint,
            )
        if isinstance(leaf, TimeoutError):
            return RequestTimeout(f"{action} got no answer within {_seconds(timeout, self.timeout)}.")
        if _is_validation_error(leaf) or _is_schema_violation(leaf):
            error = ProtocolError(f"{action}: the server sent an invalid result: {self.redact(_first_line(leaf))}")
            if _is_output_violation(leaf):  # kept by the session for lint (O502)
                error.output_violation = self.redact(_first_line(leaf))
            return error
        if _is_network_error(leaf):
            self._lose(ConnectionLost(
                f"{action} failed: lost the connection to {self.target.name!r} ({self.redact(_describe(leaf))}).",
                hint="server.reconnect() connects again.",
            ))
            return copy.copy(self.lost)
        return MCPNBError(f"{action} failed: {self.redact(_describe(leaf))}")

    def _lose(self, error: ConnectionLost, *, tell: bool = True) -> None:
        """Mark the connection lost; the first time ``tell`` is on, say so to whoever listens (the
        session's events)."""
        self.lost = error
        if not tell or self._told_lost:
            return
        self._told_lost = True
        if self._on_lost is not None:
            try:
                self._on_lost(error.message)
            except Exception:  # a listener must not change what the caller is told
                logger.debug("on_lost failed", exc_info=True)

    def _http_error(self, failure: HttpFailure, action: str) -> MCPNBError:
        """What an HTTP error answer means, with the status and what the server said (as plain text)."""
        said = f": {self.redact(failure.excerpt)!r}" if failure.excerpt else ""
        if self.authorization is not None and self.authorization.failure is not None:
            failed, self.authorization.failure = self.authorization.failure, None
            return failed  # the sign-in failed; the 401 after it is only how the transport heard of it
        if failure.status == 401 or (failure.status == 403 and failure.challenge):
            return self._authorization_required(failure, action)
        if failure.status == 404 and failure.in_session:
            self._lose(ConnectionLost(f"{action}: the server ended the session (HTTP 404).",
                                      hint="server.reconnect() starts a new session."))
            return copy.copy(self.lost)
        wait = f"; it asks to wait {round(failure.retry_after, 1):g} s" if failure.retry_after is not None else ""
        if failure.status == 429:
            return ServerError(f"{action} failed: the server is limiting requests (HTTP 429){said}{wait}.",
                               status=429, retry_after=failure.retry_after,
                               hint="call less often (map(..., rate=N) spaces the calls out), or try again later.")
        if failure.status >= 500:
            return ServerError(f"{action} failed: the server failed (HTTP {failure.status}){said}{wait}.",
                               status=failure.status, retry_after=failure.retry_after,
                               hint="the fault is on the server's side: try again later, or tell its operators.")
        return ServerError(f"{action} failed: the server refused the request (HTTP {failure.status}){said}.",
                           status=failure.status)

    def _authorization_required(self, failure: HttpFailure, action: str) -> AuthorizationRequired:
        """A 401 (or 403 with a challenge): what the server asks for, and how to give it."""
        challenge = self.redact(failure.challenge) if failure.challenge else None
        fields = challenge_fields(challenge or "")
        asks = []
        if challenge:
            asks.append(f"{challenge.split(' ', 1)[0]} authorization")
        if fields.get("resource_metadata"):
            asks.append(f"resource metadata at {fields['resource_metadata']}")
        if fields.get("scope"):
            asks.append(f"scopes {fields['scope']!r}")
        if fields.get("error_description") or fields.get("error"):
            asks.append(f"it says {fields.get('error_description') or fields.get('error')!r}")
        said = f" It asks for {', '.join(asks)}." if asks else ""
        if self.authorization is None:
            oauth = "OAuth-protected: " if fields.get("resource_metadata") else ""
            message = f"{action}: the server is {oauth}it wants authorization (HTTP {failure.status}).{said}"
            hint = ("connect with auth='oauth' to sign in through the browser (mcpnb.OAuth(client_id=...) for a "
                    "registered client, mcpnb.ClientCredentials(...) for unattended runs), or pass a token you "
                    "have in headers={'Authorization': 'Bearer ...'}.")
        else:
            message = f"{action}: the server refused the authorization given (HTTP {failure.status}).{said}"
            hint = ("mcpnb.logout(url) forgets the stored sign-in; connect again to sign in anew, with the "
                    "scopes the server asks for (mcpnb.OAuth(scopes=[...])).")
        return AuthorizationRequired(message, status=failure.status, challenge=challenge, hint=hint)

    # -- whose error: the SDK's own, or the server's ---------------------------------------

    async def _closed_here(self, error: MCPError) -> bool:
        """Whether CONNECTION_CLOSED is the SDK saying the connection ended (not the server's answer)."""
        if self.closed or self.client is None:
            return True
        if error.message != "Connection closed" or error.data is not None:
            return False  # the SDK's own says exactly that, with no data
        for _ in range(20):  # a failed write can be seen a moment before the reader sees the end
            closed = _dispatcher_closed(self.client)
            if closed is None or closed:
                return True  # an SDK that hides its state: trust the message
            await anyio.sleep(0.01)
        return False

    def _timed_out_here(self, error: MCPError, timeout: float | None, started: float | None) -> bool:
        """Whether REQUEST_TIMEOUT is the SDK's own limit running out (not the server's answer)."""
        limit = timeout if timeout is not None else self.timeout
        if limit is None or error.data is not None or not error.message.startswith("Request "):
            return False
        return started is None or time.monotonic() - started >= limit * 0.9

    # -- errors with the process's last words ------------------------------------------

    async def _settle_process(self) -> None:
        """Give a dying process a moment to be reaped and its stderr to drain."""
        if self.watch is None:
            return
        for _ in range(50):
            if self.watch.returncode is not None:
                break
            await anyio.sleep(0.01)
        await self._collect_stderr()

    async def _collect_stderr(self, seconds: float = 1.0) -> None:
        """Let the reader take in what a finished process wrote (bounded: a grandchild
        may keep stderr open)."""
        if self.stderr is not None:
            await anyio.to_thread.run_sync(self.stderr.wait_drained, seconds)

    def _stderr_tail(self) -> str:
        if self.stderr is None:
            return ""
        return self.redact(self.stderr.text(STDERR_LINES_IN_ERRORS))

    def _exit_text(self) -> str:
        code = self.watch.returncode if self.watch else None
        if code is None:
            return ""
        return f" (exit code {code})" if code >= 0 else f" (killed by signal {-code})"

    def _lost_error(self, cause: BaseException | None) -> ConnectionLost:
        what = self.target.describe()
        leaf = _leaf(cause) if cause is not None else None
        detail = "" if leaf is None or _is_closed(leaf) else f": {self.redact(_describe(leaf))}"
        if self.target.kind == "stdio":
            message = f"Server {self.target.name!r} exited{self._exit_text()}{detail}."
        else:
            message = f"Lost the connection to {self.target.name!r} ({what}){detail}."
        return ConnectionLost(
            message,
            exit_code=self.watch.returncode if self.watch else None,
            stderr=self._stderr_tail(),
            hint="server.reconnect() starts it again.",
        )

    def _start_failure_from(self, exc: BaseException | None) -> ConnectError:
        leaf = _leaf(exc) if exc is not None else None
        name = self.target.name
        if isinstance(leaf, (FileNotFoundError, PermissionError, NotADirectoryError)):
            return ServerStartError(
                f"Could not start server {name!r}: {self.redact(leaf.strerror or str(leaf))}: "
                f"{self.redact(self.target.command or '')!r}.",
                hint="check the command name and that it is installed (and on PATH).",
            )
        if isinstance(leaf, ConnectError):
            return leaf
        if isinstance(leaf, MCPNBError):
            return ConnectError(leaf.message, hint=leaf.hint)
        if self.authorization is not None and self.authorization.failure is not None:
            failed, self.authorization.failure = self.authorization.failure, None
            return failed
        failure = http_failure(leaf.data) if isinstance(leaf, MCPError) else None
        if failure is not None:
            error = self._http_error(failure, f"Connecting to {name!r} ({self.target.describe()})")
            return error if isinstance(error, ConnectError) else ConnectError(error.message, hint=error.hint)
        if self.target.kind == "stdio":
            if leaf is None or _is_closed(leaf):
                why = f"exited while connecting{self._exit_text()}"
            else:
                why = f"failed while connecting{self._exit_text()}: {self.redact(_describe(leaf))}"
            return self._start_failure(f"Server {name!r} {why}.", hint=_start_hint(self.target))
        detail = self.redact(_describe(leaf)) if leaf is not None else "unknown error"
        return ConnectError(
            f"Could not connect to {name!r} ({self.target.describe()}): {detail}.",
            hint="check the URL and that the server is running.",
        )

    def _start_failure(self, message: str, *, hint: str | None, timed_out: bool = False) -> ConnectError:
        if self.target.kind != "stdio":
            return ConnectError(message, hint=hint)
        return ServerStartError(
            message,
            exit_code=None if timed_out else (self.watch.returncode if self.watch else None),
            stderr=self._stderr_tail(),
            hint=hint,
        )


# How the SDK's Streamable HTTP transport says an event passed max_sse_event_size.
_EVENT_TOO_BIG = "SSE stream failed: Server-sent event exceeded"
_STREAM_BROKE = "SSE stream "  # "... failed: ...", "... ended without a response": the transport's own words

_live: set[Link] = set()  # every link whose holder task runs, registered with a Server or not


async def close_every_link() -> None:
    """Close every live link, including ones still connecting or being cleaned up.

    For interpreter exit: a connect interrupted a moment before exit is not yet
    registered anywhere, but its server process must be stopped all the same.
    """
    async with anyio.create_task_group() as group:
        for link in list(_live):
            group.start_soon(link.close)


def _start_hint(target: Target) -> str:
    return "run the command in a terminal to see what it does: " + target.describe().removeprefix("stdio: ")


async def stop_process_group(pgid: int, grace: float = 0.5) -> None:
    """Stop what is left of a stdio server's process group: its own children outlive it otherwise.

    The SDK starts each server in a session of its own (so the group id is the
    server's pid) and stops the whole group only when the server itself is slow
    to exit; a server that exits at once can leave its children running. They
    get SIGTERM, then SIGKILL after ``grace`` seconds (a zombie waiting to be
    reaped still counts as a member, so the wait is short and the kill final).
    """
    if sys.platform == "win32":  # pragma: no cover  (the SDK's job objects cover Windows)
        return
    import os
    import signal

    def signal_group(sent: int) -> bool:
        try:
            os.killpg(pgid, sent)
            return True
        except (ProcessLookupError, PermissionError):
            return False  # nothing left

    if not signal_group(signal.SIGTERM):
        return
    with anyio.move_on_after(grace, shield=True):
        while signal_group(0):
            await anyio.sleep(0.05)
    signal_group(signal.SIGKILL)


def _dispatcher_closed(client: Client) -> bool | None:
    """Whether the SDK client's dispatcher has shut down; None where the SDK does not tell (private state)."""
    try:
        closed = client.session._dispatcher._closed  # type: ignore[attr-defined]
    except Exception:
        return None
    return closed if isinstance(closed, bool) else None


def _leaf(exc: BaseException | None) -> BaseException | None:
    """The exception that explains a (possibly nested) exception group."""
    if exc is None:
        return None
    if isinstance(exc, BaseExceptionGroup):
        leaves = [_leaf(e) for e in exc.exceptions]
        meaningful = [e for e in leaves if e is not None and not isinstance(e, (anyio.get_cancelled_exc_class(),))]
        ranked = sorted(meaningful, key=lambda e: 0 if isinstance(e, (MCPError, OSError, MCPNBError)) else 1)
        return ranked[0] if ranked else (leaves[0] if leaves else exc)
    return exc


def _only_cancellation(group: BaseExceptionGroup) -> bool:
    cancelled = anyio.get_cancelled_exc_class()
    return all(isinstance(e, cancelled) or (isinstance(e, BaseExceptionGroup) and _only_cancellation(e))
               for e in group.exceptions)


def _seconds(timeout: float | None, default: float | None) -> str:
    value = timeout if timeout is not None else default
    return f"{value:g} s" if value is not None else "the timeout"


def _is_closed(exc: BaseException) -> bool:
    return isinstance(exc, MCPError) and exc.code == types.CONNECTION_CLOSED or isinstance(
        exc, (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream)
    )


def _is_validation_error(exc: BaseException) -> bool:
    from pydantic import ValidationError

    return isinstance(exc, ValidationError)


def _is_schema_violation(exc: BaseException) -> bool:
    text = str(exc)
    return isinstance(exc, RuntimeError) and (
        "structured content" in text or "Invalid schema for tool" in text or "InputRequiredResult" in text
    )


def _is_output_violation(exc: BaseException) -> bool:
    """The SDK refused a tool's result against its output schema (the message names the tool)."""
    text = str(exc)
    return isinstance(exc, RuntimeError) and ("Invalid structured content returned by tool" in text
                                              or "has an output schema but did not return structured" in text)


def _is_network_error(exc: BaseException) -> bool:
    import httpx2

    return isinstance(exc, (httpx2.TransportError, ConnectionError))


def _describe(exc: BaseException) -> str:
    text = _first_line(exc)
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def challenge_fields(challenge: str) -> dict[str, str]:
    """The ``key="value"`` parameters of a ``WWW-Authenticate`` header (resource_metadata, scope, error)."""
    return {key.lower(): value for key, value in re.findall(r'([A-Za-z_]+)="([^"]*)"', challenge)}


def negotiated_era(version: str | None) -> str:
    """'stateless' for 2026-07-28 and later, 'handshake' for the initialize era."""
    return "stateless" if version in MODERN_PROTOCOL_VERSIONS else "handshake"


def _urls_to_open(data: Any) -> str:
    """The hint for -32042: the pages the server wants the person to visit first."""
    pages = data.get("elicitations") if isinstance(data, dict) else None
    lines = [f"{(page.get('message') or 'open').rstrip('.')}: {page.get('url')}" for page in pages or []
             if isinstance(page, dict) and page.get("url")]
    if not lines:
        return "the server wants a page opened in a browser first, but sent no URL."
    return "open in your browser, then call again: " + "; ".join(lines)


async def quietly(method: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    """Call an SDK method deprecated for the newer era but right for the one in use."""
    import warnings

    from mcp.shared.exceptions import MCPDeprecationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        return await method(*args)
