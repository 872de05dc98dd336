"""The person's step of an OAuth login: the browser out, the redirect back.

The SDK builds the authorization URL and exchanges the code; it leaves the
trip through the browser to the host. Here is that trip, for a notebook:

=========================  =====================================================
who waits                  what the person gets
=========================  =====================================================
``authorize=fn``           nothing: ``fn(authorization_url)`` returns the address
                           the browser was sent back to (automation, tests)
a cell blocked in          a link in the cell; the browser opened where the kernel
``connect()``              can open one; a one-login listener on 127.0.0.1 hears
                           the redirect. If it hears nothing within
                           ``LISTEN_FIRST_SECONDS`` (or no browser could be
                           opened: a hub, a container, a remote kernel), the
                           kernel's input box asks for the address the browser
                           ended on (paste it), or Enter once it says done
a cell awaiting            a widget: the link, a field to paste the address into,
``aconnect()``             and Cancel; the listener hears the redirect meanwhile
a script                   the link on stderr, the browser, the listener; on a
                           terminal, a prompt to paste the address
=========================  =====================================================

The listener is uvicorn on 127.0.0.1 at the port of the registered redirect
address, started for one login and closed after it. It answers only the
request whose ``state`` is the one this login sent; anything else gets a 400
and is ignored. The login waits at most ``LOGIN_TIMEOUT_SECONDS``; an interrupt
or Cancel stops it, and the time it takes is not counted against
``connect_timeout`` (``runtime.PersonTime``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import webbrowser
from collections.abc import Awaitable, Callable
from typing import Any, Union
from urllib.parse import parse_qs, urlsplit

import anyio
import anyio.to_thread
from mcp.shared.auth import AuthorizationCodeResult

from . import render, runtime
from .errors import AuthorizationFailed

__all__ = ["Login", "AuthorizeCallable", "LISTEN_FIRST_SECONDS", "LOGIN_TIMEOUT_SECONDS", "free_loopback_port",
           "is_loopback"]

# A callable that takes the authorization URL and returns the URL the browser was sent back to.
AuthorizeCallable = Callable[[str], Union[str, Awaitable[str]]]

LISTEN_FIRST_SECONDS = 60.0  # a blocked cell: how long the listener alone is waited for, after opening a browser
LOGIN_TIMEOUT_SECONDS = 600.0
CALLBACK_PATH = "/callback"


def free_loopback_port() -> int:
    """A port free on 127.0.0.1 now (the redirect address is registered before the login)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def is_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


def can_open_browser() -> bool:
    """Whether a browser opened from this process would be in front of the person.

    Not on a hub, Binder or a headless machine: there Python's ``webbrowser``
    would find nothing, or a text browser inside the kernel.
    """
    if os.environ.get("BROWSER"):
        return True
    if any(os.environ.get(name) for name in ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_USER", "BINDER_SERVICE_HOST")):
        return False
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def code_from(returned: str, state: str) -> AuthorizationCodeResult:
    """The code in the address the browser was sent back to, or AuthorizationFailed saying why not."""
    text = returned.strip()
    query = urlsplit(text).query if "?" in text or "://" in text else text.lstrip("?")
    values = {key: items[0] for key, items in parse_qs(query).items()}
    if "error" in values:
        said = values.get("error_description") or values["error"]
        raise AuthorizationFailed(f"The authorization server refused the login: {said}.", step="authorize",
                                  hint="sign in again, and allow the access if the page asks.")
    if "code" not in values:
        raise AuthorizationFailed("The address given has no authorization code in it.", step="redirect",
                                  hint="paste the whole address from the browser's address bar, after signing in.")
    if values.get("state") != state:
        raise AuthorizationFailed("The address given belongs to another login (its state does not match).",
                                  step="redirect", hint="use the address from the sign-in this notebook started.")
    return AuthorizationCodeResult(code=values["code"], state=values.get("state"), iss=values.get("iss"))


class Listener:
    """uvicorn on 127.0.0.1:port for one login; ``heard`` gets the first address that carries its state."""

    def __init__(self, port: int, state: str, server_name: str) -> None:
        self.port, self.state, self.server_name = port, state, server_name
        self.heard: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        import uvicorn
        from starlette.applications import Starlette
        from starlette.responses import HTMLResponse
        from starlette.routing import Route

        async def callback(request: Any) -> HTMLResponse:
            if request.query_params.get("state") != self.state:
                return HTMLResponse(_page("This is not the sign-in this notebook is waiting for.",
                                          "Start the sign-in again from the notebook."), status_code=400)
            if not self.heard.done():
                self.heard.set_result(str(request.url))
            if request.query_params.get("error"):
                said = request.query_params.get("error_description") or request.query_params["error"]
                return HTMLResponse(_page(f"Sign-in to {self.server_name} did not succeed: {said}.",
                                          "Go back to the notebook."))
            return HTMLResponse(_page(f"Signed in to {self.server_name}.",
                                      "You can close this tab and go back to the notebook."))

        sock = socket.socket()
        try:
            sock.bind(("127.0.0.1", self.port))  # an OSError here: the caller goes on without a listener
        except OSError:
            sock.close()
            raise
        app = Starlette(routes=[Route(CALLBACK_PATH, callback)])
        config = uvicorn.Config(app, log_level="error", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._task = asyncio.get_running_loop().create_task(self._server.serve(sockets=[sock]))
        while not self._server.started and not self._task.done():
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        with anyio.CancelScope(shield=True), anyio.move_on_after(5):
            await self._task


def _page(headline: str, text: str) -> str:
    return (f"<!doctype html><meta charset=utf-8><title>mcpnb sign-in</title>"
            f"<body style='font-family:sans-serif;margin:3em'><h2>{render.esc(headline)}</h2>"
            f"<p>{render.esc(text)}</p></body>")


class Login:
    """The SDK's ``redirect_handler`` and ``callback_handler`` for one connection.

    ``record(step, detail)`` notes the browser's part in the connection's trace;
    ``person`` is the connection's ``PersonTime``.
    """

    def __init__(self, server_name: str, *, authorize: AuthorizeCallable | None,
                 record: Callable[[str, str], None], person: runtime.PersonTime) -> None:
        self.server_name = server_name
        self.authorize = authorize
        self.record = record
        self.person = person
        self.redirect_uri: str = ""  # set by the auth layer to the registered redirect address
        self._url: str | None = None

    async def redirect(self, authorization_url: str) -> None:
        self._url = authorization_url

    async def callback(self) -> AuthorizationCodeResult:
        url, self._url = self._url, None
        if url is None:
            raise AuthorizationFailed("The login has no authorization address.", step="authorize")
        state = (parse_qs(urlsplit(url).query).get("state") or [""])[0]
        self.record("authorize", url)
        with self.person.waiting():
            try:
                with anyio.fail_after(LOGIN_TIMEOUT_SECONDS) if not self.authorize else contextlib.nullcontext():
                    returned = await self._browser_trip(url, state)
            except TimeoutError:  # raised by fail_after as its block ends
                raise AuthorizationFailed(
                    f"Nobody finished signing in to {self.server_name!r} within "
                    f"{LOGIN_TIMEOUT_SECONDS / 60:g} minutes.", step="authorize",
                    hint="connect again and complete the sign-in in the browser.") from None
        self.record("redirect", returned)
        return code_from(returned, state)

    async def _browser_trip(self, url: str, state: str) -> str:
        if self.authorize is not None:
            try:
                if asyncio.iscoroutinefunction(self.authorize):
                    return str(await self.authorize(url))
                outcome = await anyio.to_thread.run_sync(self.authorize, url, abandon_on_cancel=True)
                return str(await outcome) if hasattr(outcome, "__await__") else str(outcome)
            except AuthorizationFailed:
                raise
            except Exception as exc:
                raise AuthorizationFailed(f"authorize= failed: {type(exc).__name__}: {exc}", step="authorize") from None
        listener: Listener | None = None
        if is_loopback(self.redirect_uri):
            listener = Listener(urlsplit(self.redirect_uri).port or 80, state, self.server_name)
            try:
                await listener.start()
            except OSError:
                listener = None  # the port is taken: the person pastes the address instead
        try:
            opened = listener is not None and can_open_browser() and await anyio.to_thread.run_sync(
                webbrowser.open, url)
            return await _Asking(self.server_name, url, listener, bool(opened)).answer()
        finally:
            if listener is not None:
                await listener.stop()


class _Asking:
    """Waits for whichever comes first: the listener, or the person pasting the address."""

    def __init__(self, server_name: str, url: str, listener: Listener | None, opened: bool) -> None:
        self.server_name, self.url, self.listener, self.opened = server_name, url, listener, opened
        self.loop = asyncio.get_running_loop()
        self.pasted: asyncio.Future[str] = self.loop.create_future()
        self.job = runtime.current_job()

    async def answer(self) -> str:
        from .handlers import in_kernel

        if in_kernel() and self.job is not None and self.job.origin == "blocked":
            shown = await self._on_cell_thread(self._show_link)
            try:
                return await self._blocked()
            finally:
                if shown:  # not awaited: after an interrupt the cell's thread is no longer there to wait for
                    runtime.main_thread_errand(lambda here: here and self._show_done())
        if not in_kernel():
            print(f"Sign in to {self.server_name}: open {self.url}", file=sys.stderr, flush=True)
            if sys.stdin is not None and sys.stdin.isatty():
                return await self._ask_in_turn(self._read_terminal)
            return await self._first()  # nobody to ask: the listener, until the time runs out
        if not runtime.ui_known():
            raise AuthorizationFailed(
                f"Signing in to {self.server_name!r} needs a person, and no cell is waiting to show the link.",
                step="authorize", hint="connect from a cell: mcpnb.connect(url, auth='oauth').")
        made: asyncio.Future[Any] = self.loop.create_future()
        runtime.on_ui(lambda: _settle(made, self._make_view()), in_cell=True)
        view = await made
        try:
            text = await self._first()
        except BaseException:
            runtime.on_ui(lambda: view.finish("sign-in stopped", False))
            raise
        runtime.on_ui(lambda: view.finish("the browser came back: signing in", True))
        return text

    async def _first(self) -> str:
        waiting = [self.pasted] + ([self.listener.heard] if self.listener else [])
        done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        return next(iter(done)).result()

    # -- a blocked cell: the link in the cell, then its input box --------------------------

    async def _blocked(self) -> str:
        return await self._ask_in_turn(lambda: self._on_cell_thread(self._read_stdin))

    async def _read_terminal(self) -> str | None:
        try:
            return await anyio.to_thread.run_sync(self._read_stdin, abandon_on_cancel=True)
        except (EOFError, OSError):
            return None

    async def _ask_in_turn(self, read: Callable[[], Awaitable[str | None]]) -> str:
        """The listener first (while a browser it opened may come back), then the person, on stdin:
        the address, or Enter once the browser came back. Never both at once: a prompt left
        waiting would take the next line the person types for something else."""
        if self.listener is not None and self.opened:
            with contextlib.suppress(asyncio.TimeoutError):
                return await asyncio.wait_for(asyncio.shield(self.listener.heard), LISTEN_FIRST_SECONDS)
        while True:
            text = await read()
            if text is None:
                raise AuthorizationFailed("No address could be read to finish the sign-in (stdin is not there).",
                                          step="redirect", hint="in a notebook, await mcpnb.aconnect(url, "
                                          "auth='oauth') shows a field to paste into instead.")
            if text.strip():
                return text
            if self.listener is not None and self.listener.heard.done():
                return self.listener.heard.result()

    def _read_stdin(self) -> str:
        heard = " (or press Enter once the browser says you are signed in)" if self.listener else ""
        return input(f"Paste the address your browser was sent back to{heard}: ")

    async def _on_cell_thread(self, work: Callable[[], Any]) -> Any:
        """Run ``work`` on the blocked cell's thread (its output lands under that cell); None if it cannot."""
        done: asyncio.Future[Any] = self.loop.create_future()

        def errand(here: bool) -> None:
            if not here:
                self.loop.call_soon_threadsafe(_settle, done, None)
                return
            try:
                outcome = work()
            except KeyboardInterrupt:
                self.loop.call_soon_threadsafe(_settle, done, None)
                raise  # run() cancels the connect
            except Exception:
                outcome = None
            self.loop.call_soon_threadsafe(_settle, done, outcome)

        if not runtime.main_thread_errand(errand):
            return None
        return await done

    def _show_link(self) -> bool:
        from IPython.display import HTML, display

        self._handle = display(HTML(_link_html(self.server_name, self.url, self.listener is not None, self.opened)),
                               display_id=True)
        return True

    def _show_done(self) -> None:
        from IPython.display import HTML

        if getattr(self, "_handle", None) is not None:  # the spent link goes
            self._handle.update(HTML(f"<div class='mcpnb-login'>Sign-in to {render.esc(self.server_name)} "
                                     "finished.</div>"))

    # -- an awaiting cell: a widget --------------------------------------------------------

    def _make_view(self) -> Any:
        from IPython.display import display

        # Upward and lazy on purpose: ipywidgets is loaded only when a login is shown in a kernel.
        from .widgets.login import LoginView

        view = LoginView(self.server_name, self.url, listening=self.listener is not None, opened=self.opened,
                         on_paste=lambda text: self.loop.call_soon_threadsafe(_settle, self.pasted, text),
                         on_cancel=self._cancel)
        display(view.widget)
        return view

    def _cancel(self) -> None:
        if self.job is not None:
            self.job.cancel_work(AuthorizationFailed(f"Signing in to {self.server_name!r} was cancelled.",
                                                     step="authorize"))


def _link_html(server_name: str, url: str, listening: bool, opened: bool) -> str:
    where = ("A browser tab was opened; sign in there." if opened else
             "Open the link, sign in, then paste the address your browser ends on into the box below.")
    if listening and not opened:
        where += " (If the browser runs on this machine, the notebook hears it come back by itself.)"
    return (f"<div class='mcpnb-login'><b>Sign in to {render.esc(server_name)}</b>: "
            f"<a href=\"{render.esc(url)}\" target=\"_blank\" rel=\"noopener noreferrer\">open the sign-in page</a>"
            f"<br><small>{render.esc(where)} Interrupt the kernel to cancel.</small></div>")


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)
