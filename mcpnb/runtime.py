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
import contextlib
import contextvars
import threading
import time
import warnings
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

from .errors import Interrupted, MCPNBError

__all__ = ["Job", "Cancelled", "run", "arun", "submit", "on_loop_thread", "warn", "PersonTime"]

T = TypeVar("T")

# How long an interrupted call waits for its cancellation to go out.
CANCEL_GRACE_SECONDS = 1.0


class Job:
    """A coroutine running on the background loop: wait for it, or cancel it, from any thread.

    The waiting side blocks on a plain lock, the cheapest signal between two
    threads in CPython (and interruptible: Ctrl-C raises KeyboardInterrupt in
    the waiter). Every synchronous call crosses here, so it is kept small.
    """

    __slots__ = ("_signal", "_outcome", "_failed", "_task", "_cancel_requested", "_callbacks", "_finished", "warnings",
                 "_guard", "_woken", "_errands", "_reason", "origin", "waited")

    def __init__(self, origin: str | None = None, waited: bool = False) -> None:
        # "blocked": the main thread waits for it in run(); "awaited": a coroutine on the
        # main thread's loop (the kernel's) awaits it; None: anything else.
        self.origin = origin
        self.waited = waited  # run() or arun() takes the result (and raises its warnings)
        self._reason: BaseException | None = None
        self._signal = threading.Lock()
        self._signal.acquire()  # released to wake the waiter: the outcome is in, or an errand is
        self._guard = threading.Lock()
        self._woken = False
        self._errands: list[Any] = []
        self._outcome: Any = None
        self._failed = False
        self._finished = False
        self._task: asyncio.Task[None] | None = None
        self._cancel_requested = False
        self._callbacks: list[Any] = []
        self.warnings: list[Warning] = []  # raised in the waiting caller's thread when it takes the result

    def _settle(self, outcome: Any, failed: bool) -> None:
        if self._finished:
            return
        self._outcome, self._failed, self._finished = outcome, failed, True
        self._wake()
        for callback in self._callbacks:
            callback(self)

    def _wake(self) -> None:
        with self._guard:
            if not self._woken:
                self._woken = True
                self._signal.release()

    def done(self) -> bool:
        return self._finished

    def result(self, timeout: float | None = None) -> Any:
        """The coroutine's result (or its exception, raised); TimeoutError after ``timeout``.

        While it waits, the calling thread also runs errands handed to it with
        ``errand()`` (a question for the person on stdin, say).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._finished:
            left = -1 if deadline is None else max(0.0, deadline - time.monotonic())
            if not self._signal.acquire(timeout=left):
                raise TimeoutError(f"no result within {timeout} s")
            with self._guard:
                self._woken = False
                errands, self._errands = self._errands, []
            for errand in errands:
                errand(True)
        with self._guard:
            errands, self._errands = self._errands, []
        for errand in errands:  # handed over too late: the asker must find another way
            errand(False)
        if self._failed:
            raise self._outcome
        return self._outcome

    def errand(self, work: Any) -> bool:
        """Have the thread waiting in ``result()`` call ``work(True)``; False if it no longer waits.

        Should the wait end first, ``work(False)`` is called instead.
        """
        with self._guard:
            if self._finished:
                return False
            self._errands.append(work)
        self._wake()
        return True

    def add_done_callback(self, callback: Any) -> None:
        """Call ``callback(job)`` when finished (on the loop thread), or now if it is."""
        if self._finished:
            callback(self)
        else:
            self._callbacks.append(callback)

    def cancel_work(self, reason: BaseException | None = None) -> None:
        """Cancel the coroutine on the loop (thread-safe; no-op once finished).

        ``reason``: the error the waiter gets instead of ``Cancelled``.
        """
        self._reason = reason
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


def submit(coro: Coroutine[Any, Any, T], origin: str | None = None, waited: bool = False) -> Job:
    """Start ``coro`` on the background loop and return its Job.

    One ``call_soon_threadsafe`` and one task: this hop is on the path of every
    synchronous call.
    """
    job = Job(origin, waited)
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
    _current_job.set(job)
    try:
        outcome = await coro
        failed = False
    except asyncio.CancelledError:
        # One task.cancel() from cancel_work(): the SDK has sent notifications/cancelled
        # (its cancel arm is shielded) and re-raised; the task ends here, quietly.
        outcome, failed = job._reason or Cancelled("cancelled"), True
    except BaseException as exc:  # handed to the waiting thread, never lost
        outcome, failed = exc, True
        if not isinstance(exc, Exception):
            job._settle(exc, True)
            raise
    job._settle(outcome, failed)


_current_job: contextvars.ContextVar[Job | None] = contextvars.ContextVar("mcpnb_job", default=None)


def current_job() -> Job | None:
    """The Job whose task (or a task it started) is running this code, on the loop thread."""
    return _current_job.get()


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
    main = threading.current_thread() is threading.main_thread()
    job = submit(coro, "blocked" if main else None, waited=True)
    global _main_wait
    if main:
        _main_wait = job
    try:
        outcome = job.result(timeout)
        if job.warnings:
            _raise_warnings(job)
        return outcome
    except MCPNBError as error:
        # The error below explains what happened; the background thread's frames are left out.
        raise error.with_traceback(None) from None
    except KeyboardInterrupt as interrupt:
        job.cancel_work()
        try:
            job.result(CANCEL_GRACE_SECONDS)
        except BaseException:
            pass
        if isinstance(interrupt, Interrupted):
            raise
        raise Interrupted("interrupted; the request was cancelled on the server") from None
    except Cancelled:
        raise Interrupted("interrupted; the request was cancelled on the server") from None
    except TimeoutError:
        if not job.done():
            job.cancel_work()
        raise
    finally:
        if main:
            _main_wait = None


_main_wait: Job | None = None  # the job the main thread is blocked on in run(), if any


def main_thread_errand(work: Any) -> bool:
    """Hand ``work`` to the main thread if it is blocked in ``run()`` (see ``Job.errand``).

    For questions that must be asked there: a kernel reads stdin only on the
    thread that runs the cell, and a blocked cell processes no widget events.
    """
    job = _main_wait
    return job is not None and job.errand(work)


async def arun(coro: Coroutine[Any, Any, T]) -> T:
    """Await ``coro`` on the background loop from any other event loop.

    Cancelling the awaiting task cancels the coroutine.
    """
    __tracebackhide__ = True
    if on_loop_thread():
        return await coro
    caller = asyncio.get_running_loop()
    note_caller(caller)
    waiter = caller.create_future()

    def hand_over(finished: Job) -> None:
        caller.call_soon_threadsafe(_transfer, finished, waiter)

    job = submit(coro, "awaited" if threading.current_thread() is threading.main_thread() else None, waited=True)
    job.add_done_callback(hand_over)
    try:
        outcome = await waiter
        if job.warnings:
            _raise_warnings(job)
        return outcome
    except MCPNBError as error:
        raise error.with_traceback(None) from None
    except asyncio.CancelledError:
        job.cancel_work()
        raise
    except Cancelled:
        raise asyncio.CancelledError() from None


# The kernel's loop and the context of the cell that last awaited mcpnb work: where
# widgets are built and updated, and where a question for an awaiting cell is shown.
_ui_loop: asyncio.AbstractEventLoop | None = None
_ui_context: contextvars.Context | None = None


def note_caller(caller: asyncio.AbstractEventLoop | None = None) -> None:
    """Remember the main thread's running loop (the kernel's) and the current cell's context."""
    global _ui_loop, _ui_context
    if threading.current_thread() is not threading.main_thread():
        return
    if caller is None:
        try:
            caller = asyncio.get_running_loop()
        except RuntimeError:
            return
    _ui_loop, _ui_context = caller, contextvars.copy_context()


def on_ui(work: Any, *, in_cell: bool = False) -> None:
    """Run ``work()`` on the kernel's loop (widgets are used from its thread), or here if none is known.

    ``in_cell``: in the context of the cell that last awaited mcpnb work, so
    what ``work`` displays appears under that cell.
    """
    target = _ui_loop
    if target is None or target.is_closed() or threading.current_thread() is threading.main_thread():
        work()
        return
    target.call_soon_threadsafe(work, context=_ui_context.copy() if in_cell and _ui_context else None)


def ui_known() -> bool:
    """Whether a kernel loop is known (widgets can be shown and receive events)."""
    return _ui_loop is not None and not _ui_loop.is_closed()


def _transfer(job: Job, waiter: asyncio.Future) -> None:
    if waiter.done():
        return
    if job._failed:
        waiter.set_exception(job._outcome)
    else:
        waiter.set_result(job._outcome)


def warn(warning: Warning) -> None:
    """Warn the person who waits for the current work, in their own thread (so in their cell,
    at their line); with nobody waiting (a widget's call), warn here."""
    job = current_job()
    if job is not None and job.waited:
        job.warnings.append(warning)
    else:
        warnings.warn(warning, stacklevel=2)


def _raise_warnings(job: Job) -> None:
    for warning in job.warnings:
        warnings.warn(warning, stacklevel=4)  # at the line that called Server (run or arun, the verb, the caller)


class PersonTime:
    """Seconds spent waiting on a person (a login in the browser), which a timeout must not count.

    ``connect_timeout`` measures the server; a person signing in may take minutes.
    The login opens ``waiting()`` while it waits; the connection adds ``spent()``
    to its deadline and does not give up while ``active``.
    """

    def __init__(self) -> None:
        self._spent = 0.0
        self._since: float | None = None
        self._depth = 0

    @property
    def active(self) -> bool:
        return self._depth > 0

    def spent(self) -> float:
        ongoing = time.monotonic() - self._since if self._since is not None else 0.0
        return self._spent + ongoing

    @contextlib.contextmanager
    def waiting(self) -> Iterator[None]:
        if self._depth == 0:
            self._since = time.monotonic()
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0 and self._since is not None:
                self._spent += time.monotonic() - self._since
                self._since = None
