"""Every error mcpnb raises, as one tree under one base class.

A notebook user should read one message that says what went wrong and what to
do next, never a raw ``ExceptionGroup`` or a screen of anyio frames. So the
connection layer catches what the SDK, anyio and the OS raise, and re-raises
one of these::

    MCPNBError                  base class: catch this to catch anything mcpnb raises
    ├── ConfigError             a bad target, option or config file; nothing was started   (ValueError)
    ├── ConnectError            the server could not be reached or did not finish connecting
    │   ├── ServerStartError    a stdio server failed to start or exited while starting
    │   ├── AuthorizationRequired   the server wants authorization (HTTP 401, its challenge kept)
    │   └── AuthorizationFailed     a login (OAuth) failed; ``step`` names the step that failed
    ├── ConnectionLost          an open connection died (the server crashed or went away)
    ├── ConnectionClosed        the connection was closed with close() or replaced
    ├── NotFound                no tool, prompt or resource by that name   (KeyError)
    ├── InvalidArguments        arguments do not match the tool's input schema   (ValueError)
    ├── RequestTimeout          no answer within the timeout; the request was cancelled   (TimeoutError)
    ├── ServerError             the server answered a request with a JSON-RPC error (or an HTTP error:
    │                           ``status``, and ``retry_after`` in seconds when it said how long to wait)
    ├── ProtocolError           the server broke the protocol (bad result, wrong era, endless pages)
    ├── ToolError               raised by ToolResult.raise_for_error() for a result with isError
    ├── TooManyErrors           map(..., max_errors=N) stopped after N rows failed; ``frame`` holds the rows done
    ├── ModelError              a model's API refused or failed a request (mcpnb.llm): bad key, no such model,
    │                           rate limit, unreachable endpoint; ``status`` is the HTTP status, if any
    └── NotTabular              a result has no table in it (.df); says why   (ValueError)

What a server sends that mcpnb can only partly use (two tools with one name, an
input schema that cannot be checked against) is a ``ServerWarning``, shown once
at the line that made the request, and noted in ``server.activity``.

An interrupt (Jupyter's stop button, Ctrl-C) stays a ``KeyboardInterrupt``, as
Python users expect (``Interrupted``, a subclass, says which call it stopped);
the request it interrupted is cancelled first.

In IPython each of these shows as the user's own line and the message, with no
frames of mcpnb's, the SDK's or anyio's (``_render_traceback_``, the hook
IPython offers exceptions); ``%config MCPMagics.show_tracebacks = True`` (or
``mcpnb.errors.full_tracebacks = True``) brings the whole traceback back.

Messages never contain secrets: the connection layer passes them through its
redactor (see ``masking``) before they are raised.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

__all__ = [
    "MCPNBError",
    "ConfigError",
    "ConnectError",
    "ServerStartError",
    "AuthorizationRequired",
    "AuthorizationFailed",
    "ConnectionLost",
    "ConnectionClosed",
    "NotFound",
    "InvalidArguments",
    "RequestTimeout",
    "CallCancelled",
    "ServerError",
    "ProtocolError",
    "ToolError",
    "TooManyErrors",
    "ModelError",
    "NotTabular",
    "ServerWarning",
    "Interrupted",
]

# Whole tracebacks in IPython instead of the user's line and the message (see the module docstring).
full_tracebacks = False


class MCPNBError(Exception):
    """Base class of every error mcpnb raises.

    ``str(error)`` is the message, followed by a hint line when there is
    something the user can do about it.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\nHint: {self.hint}"
        return self.message

    @property
    def _render_traceback_(self) -> Callable[[], list[str]]:
        return _short_traceback(self)


class ConfigError(MCPNBError, ValueError):
    """A target, option or config file is wrong; nothing was started."""


class ConnectError(MCPNBError):
    """The server could not be reached, or it did not finish connecting."""


class _ProcessDetails(MCPNBError):
    """Adds what a local server process left behind: its exit code and stderr tail."""

    def __init__(
        self,
        message: str,
        *,
        exit_code: int | None = None,
        stderr: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.exit_code = exit_code
        self.stderr = stderr

    def __str__(self) -> str:
        text = self.message
        if self.stderr.strip():
            tail = "\n".join("  " + line for line in self.stderr.rstrip().splitlines())
            text += f"\nLast lines of its stderr:\n{tail}"
        if self.hint:
            text += f"\nHint: {self.hint}"
        return text


class ServerStartError(_ProcessDetails, ConnectError):
    """A stdio server failed to start or exited before the connection was made.

    ``exit_code`` is the process's exit status (None if it could not be
    started at all, or is still running); ``stderr`` is the tail of what it
    wrote to standard error, with secrets masked.
    """


class AuthorizationRequired(ConnectError):
    """The server wants authorization (HTTP 401, or 403 with a challenge).

    ``status`` is the HTTP status and ``challenge`` the ``WWW-Authenticate``
    header as sent (it names the resource metadata and the scopes wanted).
    """

    def __init__(self, message: str, *, status: int, challenge: str | None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.challenge = challenge


class AuthorizationFailed(ConnectError):
    """A login failed or was cancelled; ``step`` names the step of the flow where (``"token"``,
    ``"authorize"``, ``"registration"``...), as in the connection's trace."""

    def __init__(self, message: str, *, step: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.step = step


class ConnectionLost(_ProcessDetails):
    """An open connection died: the server crashed, exited or went away.

    Carries ``exit_code`` and ``stderr`` like :class:`ServerStartError` when
    the server was a local process. ``server.reconnect()`` starts it again.
    """


class ConnectionClosed(MCPNBError):
    """The connection was closed (by ``close()``, ``close_all()`` or being replaced)."""


class NotFound(MCPNBError, KeyError):
    """No tool, prompt, resource or template by that name.

    ``suggestions`` holds close matches from the server's own listing.
    """

    def __init__(self, message: str, *, suggestions: Sequence[str] = (), hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.suggestions = list(suggestions)

    def __str__(self) -> str:  # KeyError would quote the message
        return MCPNBError.__str__(self)


class InvalidArguments(MCPNBError, ValueError):
    """Arguments do not match a tool's input schema (or a prompt's declared
    arguments); nothing was sent.

    ``problems`` lists ``(field, message)`` pairs, one per bad field.
    """

    def __init__(
        self, name: str, problems: Sequence[tuple[str, str]], *, kind: str = "tool", hint: str | None = None
    ) -> None:
        lines = "\n".join(f"  - {field}: {message}" for field, message in problems)
        super().__init__(f"Invalid arguments for {kind} {name!r}:\n{lines}", hint=hint)
        self.name = name
        self.kind = kind
        self.problems = list(problems)


class RequestTimeout(MCPNBError, TimeoutError):
    """No answer within the timeout. The request was cancelled on the server
    and the connection is still usable."""


class CallCancelled(MCPNBError):
    """The person cancelled the call with its Cancel button; the server was told
    (``notifications/cancelled``) and the connection is still usable."""


class ServerError(MCPNBError):
    """The server answered with a JSON-RPC error (``code``, ``data`` as sent), or over HTTP with an error
    status: ``status`` (429, 503 ...) and ``retry_after``, the seconds its ``Retry-After`` header asked for."""

    def __init__(self, message: str, *, code: int | None = None, data: object = None, status: int | None = None,
                 retry_after: float | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.data = data
        self.status = status
        self.retry_after = retry_after


class ProtocolError(MCPNBError):
    """The server broke the protocol: a malformed result, a structured result
    that does not match its output schema, the wrong era, or endless pages.
    ``output_violation``: for a result refused against its output schema, why."""

    output_violation: str | None = None


class ToolError(MCPNBError):
    """A tool reported failure (``isError``); raised on request by
    ``ToolResult.raise_for_error()``. ``result`` is the ToolResult."""

    def __init__(self, message: str, *, result: object = None) -> None:
        super().__init__(message)
        self.result = result


class TooManyErrors(MCPNBError):
    """``map(..., max_errors=N)`` stopped once N rows had failed (after their retries); the calls under way
    were cancelled. ``frame`` is the table of the rows done (indexed by their place in the input), ``done``
    and ``failed`` count them, ``errors`` holds the first ``(row, message)`` pairs, and ``checkpoint`` the
    path that resumes the map (None without one)."""

    def __init__(self, message: str, *, frame: object = None, done: int = 0, failed: int = 0,
                 errors: Sequence[tuple[int, str]] = (), checkpoint: str | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.frame = frame
        self.done = done
        self.failed = failed
        self.errors = list(errors)
        self.checkpoint = checkpoint


class ModelError(MCPNBError):
    """A model's API refused or failed a request (``mcpnb.llm``): one line saying what, for which model
    at which endpoint, and a hint. ``status`` is the HTTP status (None when nothing answered);
    ``model`` the model's label. Never holds the key."""

    def __init__(self, message: str, *, status: int | None = None, model: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.model = model


class NotTabular(MCPNBError, ValueError):
    """A result holds nothing that makes a table; the message says what it holds instead."""


class ServerWarning(UserWarning):
    """The server sent something mcpnb could only partly use; the work went on (see the message)."""


class Interrupted(KeyboardInterrupt):
    """An interrupt that stopped an mcpnb call, after the call was cancelled on the server.

    Still a ``KeyboardInterrupt`` (code that catches that keeps working); in IPython it
    shows as one line under the user's own, not the frames of the wait it broke."""

    @property
    def _render_traceback_(self) -> Callable[[], list[str]]:
        return _short_traceback(self)


_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def _short_traceback(error: BaseException) -> Callable[[], list[str]]:
    """IPython's hook (an attribute it looks for with hasattr): the user's line, then the message.

    Absent (AttributeError) when ``full_tracebacks`` is on, so IPython shows the whole traceback."""
    if full_tracebacks:
        raise AttributeError("_render_traceback_")

    def render() -> list[str]:
        import linecache

        where = None
        tb = error.__traceback__
        while tb is not None:
            filename = tb.tb_frame.f_code.co_filename
            if not filename.startswith(_PACKAGE) and "/site-packages/" not in filename and "/IPython/" not in filename:
                where = (filename, tb.tb_lineno, tb.tb_frame.f_code.co_name)
            tb = tb.tb_next
        lines = []
        if where is not None:
            filename, number, function = where
            source = linecache.getline(filename, number).strip()
            place = f"File {filename}, in {function}"
            try:  # a cell is named as IPython names it: "Cell In[3]"
                from IPython import get_ipython

                named = get_ipython().compile.format_code_name(filename)  # type: ignore[union-attr]
                if named:
                    place = " ".join(named) + (f", in {function}" if function != "<module>" else "")
            except Exception:  # not in IPython, or an IPython without it: the file's name will do
                pass
            lines.append(f"\x1b[36m{place}, line {number}\x1b[0m")
            if source:
                lines.append(f"\x1b[32m---->\x1b[0m {source}")
        text = str(error).splitlines() or [""]
        lines.append(f"\x1b[31m{type(error).__name__}\x1b[0m: {text[0]}")
        return lines + text[1:]

    return render
