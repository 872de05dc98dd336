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

Cancelling a job cancels its task once (``Task.cancel()``). Requests are
cancelled while they wait for their answer, where the SDK catches the
cancellation, sends the courtesy ``notifications/cancelled`` in a shielded
scope and re-raises. (An anyio cancel scope around every job would do the same
at about a hundredth of each call's time; this hop is on the path of every
synchronous call.) Holder tasks, whose shutdown stops a subprocess, are never
cancelled this way: connection.py cancels them through their own scope.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from .errors import MCPNBError

__all__ = ["Job", "Cancelled", "run", "arun", "submit", "on_loop_thread"]

T = TypeVar("T")

# How long an interrupted call waits for its cancellation to go out.
CANCEL_GRACE_SECONDS = 1.0


class Job:
    """A coroutine running on the background loop: wait for it, or cancel it, from any thread.

    The waiting side blocks on a plain lock, the cheapest signal between two
    threads in CPython (and interruptible: Ctrl-C raises KeyboardInterrupt in
    the waiter). Every synchronous call crosses here, so it is kept small.
    """

    __slots__ = ("_signal", "_outcome", "_failed", "_task", "_cancel_requested", "_callbacks", "_finished")

    def __init__(self) -> None:
        self._signal = threading.Lock()
        self._signal.acquire()  # released once the outcome is in
        self._outcome: Any = None
        self._failed = False
        self._finished = False
        self._task: asyncio.Task[None] | None = None
        self._cancel_requested = False
        self._callbacks: list[Any] = []

    def _settle(self, outcome: Any, failed: bool) -> None:
        if self._finished:
            return
        self._outcome, self._failed, self._finished = outcome, failed, True
        self._signal.release()
        for callback in self._callbacks:
            callback(self)

    def done(self) -> bool:
        return self._finished

    def result(self, timeout: float | None = None) -> Any:
        """The coroutine's result (or its exception, raised); TimeoutError after ``timeout``."""
        if not self._finished:
            if not self._signal.acquire(timeout=-1 if timeout is None else timeout):
                raise TimeoutError(f"no result within {timeout} s")
            self._signal.release()
        if self._failed:
            raise self._outcome
        return self._outcome

    def add_done_callback(self, callback: Any) -> None:
        """Call ``callback(job)`` when finished (on the loop thread), or now if it is."""
        if self._finished:
            callback(self)
        else:
            self._callbacks.append(callback)

    def cancel_work(self) -> None:
        """Cancel the coroutine on the loop (thread-safe; no-op once finished)."""
        self._cancel_requested = True
        loop = _loop
        if loop is not None and not self._finished:
            loop.call_soon_threadsafe(self._cancel_task)

    def _cancel_task(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()


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
    """Start ``coro`` on the background loop and return its Job.

    One ``call_soon_threadsafe`` and one task: this hop is on the path of every
    synchronous call.
    """
    job = Job()
    target = loop()
    target.call_soon_threadsafe(_start, target, job, coro)
    return job


def _start(target: asyncio.AbstractEventLoop, job: Job, coro: Coroutine[Any, Any, Any]) -> None:
    if job._cancel_requested:
        coro.close()
        job._settle(Cancelled("cancelled before it started"), True)
        return
    job._task = target.create_task(_guarded(job, coro))


async def _guarded(job: Job, coro: Coroutine[Any, Any, Any]) -> None:
    # The outcome is handed over last: the waiting thread wakes wanting the GIL,
    # so nothing should be left for this thread to do by then.
    try:
        outcome = await coro
        failed = False
    except asyncio.CancelledError:
        # One task.cancel() from cancel_work(): the SDK has sent notifications/cancelled
        # (its cancel arm is shielded) and re-raised; the task ends here, quietly.
        outcome, failed = Cancelled("cancelled"), True
    except BaseException as exc:  # handed to the waiting thread, never lost
        outcome, failed = exc, True
        if not isinstance(exc, Exception):
            job._settle(exc, True)
            raise
    job._settle(outcome, failed)


class Cancelled(Exception):
    """The job was cancelled with ``cancel_work()`` before it finished."""


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
            job.result(CANCEL_GRACE_SECONDS)
        except BaseException:
            pass
        raise
    except Cancelled:
        raise KeyboardInterrupt from None
    except TimeoutError:
        if not job.done():
            job.cancel_work()
        raise


async def arun(coro: Coroutine[Any, Any, T]) -> T:
    """Await ``coro`` on the background loop from any other event loop.

    Cancelling the awaiting task cancels the coroutine.
    """
    __tracebackhide__ = True
    if on_loop_thread():
        return await coro
    caller = asyncio.get_running_loop()
    waiter = caller.create_future()

    def hand_over(finished: Job) -> None:
        caller.call_soon_threadsafe(_transfer, finished, waiter)

    job = submit(coro)
    job.add_done_callback(hand_over)
    try:
        return await waiter
    except MCPNBError as error:
        raise error.with_traceback(None) from None
    except asyncio.CancelledError:
        job.cancel_work()
        raise
    except Cancelled:
        raise asyncio.CancelledError() from None


def _transfer(job: Job, waiter: asyncio.Future) -> None:
    if waiter.done():
        return
    if job._failed:
        waiter.set_exception(job._outcome)
    else:
        waiter.set_result(job._outcome)
