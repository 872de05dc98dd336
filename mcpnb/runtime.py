"""The background event loop that owns every MCP connection in this process.

Why a thread of its own: the SDK's ``async with Client(...)`` must be entered
and left in one task (anyio cancel scopes), a notebook cell may be plain
synchronous code or a top-level ``await`` running on the kernel's own loop, and
re-entering the kernel's loop (nest-asyncio) broke the SDK on close (see
../shared/DESIGN.md). So one daemon thread runs one asyncio loop for the whole
process; connections live there, and both kinds of cell reach them:

- ``run(coro)`` blocks the calling thread until the work is done. An interrupt
  (``KeyboardInterrupt``) while it waits cancels the work on the loop, gives
  the cancellation up to a second to reach the server, and re-raises.
- ``await arun(coro)`` does the same for code running on another event loop;
  cancelling the awaiting task cancels the work.

An mcpnb error crosses back without the loop thread's frames (anyio, the SDK):
the person sees their own line and the message, not the machinery.

Work is wrapped in an anyio cancel scope rather than cancelled with
``Task.cancel()``, so the SDK's shielded clean-up (the courtesy
``notifications/cancelled``, stopping a subprocess) runs as designed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import anyio

from .errors import MCPNBError

__all__ = ["Job", "run", "arun", "submit", "on_loop_thread"]

T = TypeVar("T")

# How long an interrupted call waits for its cancellation to go out.
CANCEL_GRACE_SECONDS = 1.0


class Job(concurrent.futures.Future):
    """A coroutine running on the background loop, cancellable from any thread."""

    def __init__(self) -> None:
        super().__init__()
        self._scope: anyio.CancelScope | None = None
        self._cancel_requested = False

    def cancel_work(self) -> None:
        """Cancel the coroutine on the loop (thread-safe; no-op once finished)."""
        self._cancel_requested = True
        loop = _loop
        if loop is not None and not self.done():
            loop.call_soon_threadsafe(self._cancel_scope)

    def _cancel_scope(self) -> None:
        if self._scope is not None:
            self._scope.cancel()


class _Loop:
    """The daemon thread and its loop, started on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None

    def get(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self.loop is None or not self.thread or not self.thread.is_alive():
                ready = threading.Event()
                loop = asyncio.new_event_loop()

                def main() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self.thread = threading.Thread(target=main, name="mcpnb-loop", daemon=True)
                self.thread.start()
                ready.wait()
                self.loop = loop
            return self.loop


_owner = _Loop()
_loop: asyncio.AbstractEventLoop | None = None


def loop() -> asyncio.AbstractEventLoop:
    """The background loop, started if need be."""
    global _loop
    _loop = _owner.get()
    return _loop


def on_loop_thread() -> bool:
    """Whether the caller is running on the background loop's thread."""
    return _owner.thread is not None and threading.current_thread() is _owner.thread


def submit(coro: Coroutine[Any, Any, T]) -> Job:
    """Start ``coro`` on the background loop and return its Job."""
    job = Job()

    async def guarded() -> None:
        try:
            with anyio.CancelScope() as scope:
                job._scope = scope
                if job._cancel_requested:
                    scope.cancel()
                result = await coro
                if not job.done():
                    job.set_result(result)
                return
            # Reached only when the scope swallowed our own cancellation.
            if not job.done():
                job.set_exception(concurrent.futures.CancelledError("cancelled"))
        except BaseException as exc:  # handed to the waiting thread, never lost
            if not job.done():
                job.set_exception(exc)
            if not isinstance(exc, Exception):
                raise

    job.set_running_or_notify_cancel()
    asyncio.run_coroutine_threadsafe(guarded(), loop())
    return job


def run(coro: Coroutine[Any, Any, T], *, timeout: float | None = None) -> T:
    """Run ``coro`` on the background loop and wait for its result.

    A ``KeyboardInterrupt`` while waiting cancels the coroutine and re-raises.
    """
    __tracebackhide__ = True
    if on_loop_thread():
        coro.close()
        raise RuntimeError(
            "A synchronous mcpnb call was made from mcpnb's own event loop (for example inside a "
            "handler); it would wait for itself forever. Use the async twin with await instead."
        )
    job = submit(coro)
    try:
        return job.result(timeout)
    except MCPNBError as error:
        # The error below explains what happened; the background thread's frames are left out.
        raise error.with_traceback(None) from None
    except KeyboardInterrupt:
        job.cancel_work()
        try:
            job.exception(CANCEL_GRACE_SECONDS)
        except BaseException:
            pass
        raise
    except concurrent.futures.CancelledError:
        raise KeyboardInterrupt from None
    except concurrent.futures.TimeoutError:
        job.cancel_work()
        raise


async def arun(coro: Coroutine[Any, Any, T]) -> T:
    """Await ``coro`` on the background loop from any other event loop.

    Cancelling the awaiting task cancels the coroutine.
    """
    __tracebackhide__ = True
    if on_loop_thread():
        return await coro
    job = submit(coro)
    try:
        return await asyncio.wrap_future(job)
    except MCPNBError as error:
        raise error.with_traceback(None) from None
    except asyncio.CancelledError:
        job.cancel_work()
        raise
    except concurrent.futures.CancelledError:
        raise asyncio.CancelledError() from None
