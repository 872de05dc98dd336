"""Progress where the person is looking, and a way to stop the work.

A call's progress notifications, and ``map()``'s count of finished calls, are
shown by a ``Progress`` made in the task doing the work (on mcpnb's loop). Where
it shows depends on who waits (``runtime.Job.origin``):

=========================  ============================================================
a cell blocked in a        a widget under that cell, built by the cell's own thread (a
synchronous call           ``Job.errand``: ipykernel routes output by the thread's
                           context, so the loop thread would put it under whichever
                           cell started the loop); it takes no clicks while blocked,
                           so it says to interrupt the kernel instead
a cell awaiting the call   a widget under that cell (built on the kernel's loop in the
                           cell's context), with a Cancel button: an interrupt does not
                           reach a cell suspended in ``await`` (ipykernel #881). Shown
                           on the first notification, or after ``SHOW_AFTER_SECONDS``
                           with no answer, so every long awaited call can be stopped
outside a kernel           a text bar (tqdm) on stderr, on the first notification
anything else in a kernel  nothing: no cell is waiting for it (explorer calls have
                           their own card)
=========================  ============================================================

Cancel cancels the task, so the SDK sends ``notifications/cancelled``; the
waiting cell gets ``CallCancelled``, one line, no traceback.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from . import runtime
from .errors import CallCancelled

__all__ = ["Progress", "OnDemand", "SHOW_AFTER_SECONDS", "counted"]

SHOW_AFTER_SECONDS = 1.5  # an awaited call quiet this long gets its line (and Cancel)
UPDATE_EVERY_SECONDS = 0.1  # at most this often to the frontend; the last state always goes


class Progress:
    """One piece of work's progress: ``update()`` as it moves, ``finish()`` once."""

    def __init__(self, label: str, *, unit: str, total: float | None = None, eager: bool = False,
                 job: runtime.Job | None = None) -> None:
        self.label, self.unit = label, unit
        self._state: tuple[float, float | None, str | None] = (0.0, total, None)
        self._job = job if job is not None else runtime.current_job()  # whose cell it shows under
        self._route = _route(self._job)
        self._lock = threading.Lock()
        self._view: Any = None  # ProgressView or tqdm, once made
        self._shown = False
        self._final: tuple[str, bool] | None = None
        self._updated = False  # any progress yet (a quiet call's line says it waits)
        self._sent = 0.0
        self._timer: asyncio.TimerHandle | None = None
        if eager:
            self._show()
        elif self._route == "awaited":
            self._timer = asyncio.get_running_loop().call_later(SHOW_AFTER_SECONDS, self._show)

    # -- from the work (mcpnb's loop) --------------------------------------------------

    def update(self, done: float, total: float | None = None, message: str | None = None) -> None:
        self._state = (done, total if total is not None else self._state[1], message)
        self._updated = True
        if not self._shown:
            self._show()
            return
        now = time.monotonic()
        if now - self._sent >= UPDATE_EVERY_SECONDS:
            self._sent = now
            self._draw()

    def finish(self, outcome: str, succeeded: bool) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            view, self._final = self._view, (outcome, succeeded)
        if view is not None:
            self._close(view, outcome, succeeded)

    # -- showing ------------------------------------------------------------------------

    def _show(self) -> None:
        if self._shown or self._route is None:
            return
        self._shown = True
        if self._route == "text":
            from tqdm import tqdm

            self._adopt(tqdm(total=self._state[1], desc=self.label, unit=self.unit))
        elif self._route == "blocked":
            assert self._job is not None
            self._job.errand(lambda waiting: waiting and self._make(cancellable=False))
        else:
            runtime.on_ui(lambda: self._make(cancellable=True), in_cell=True)

    def _make(self, cancellable: bool) -> None:
        """On the cell's thread, in its context: build the widget and display it there."""
        # Upward and lazy on purpose: ipywidgets is loaded only when a line is shown in a kernel.
        from .widgets.progress import ProgressView

        view = ProgressView(self.label, self._cancel if cancellable else None)
        view.show()  # first: a line adopted after its work ended is finished at once, and says so
        self._adopt(view)

    def _adopt(self, view: Any) -> None:
        with self._lock:
            self._view, final = view, self._final
        self._draw()
        if final is not None:
            self._close(view, *final)

    def _draw(self) -> None:
        view = self._view
        if view is None:
            return
        done, total, message = self._state
        if self._route != "text":  # a ProgressView
            if self._updated or total is not None:
                view.set(done, total, message, counted(self.unit, done, total))
            return
        if total is not None:
            view.total = total
        view.n = done
        if message:
            view.set_postfix_str(message, refresh=False)
        view.refresh()

    def _close(self, view: Any, outcome: str, succeeded: bool) -> None:
        done, total, message = self._state
        if self._route != "text" and message and (message == outcome or message.endswith(f" · {outcome}")):
            # "8/8 runs · 2 failed", not "... · 2 failed · 2 failed" (a text bar shows no outcome: it keeps it)
            self._state = (done, total, message[:-len(outcome)].rstrip(" ·") or None)
        self._draw()
        if self._route == "text":
            view.close()
        else:  # the line stays, saying how it ended (a closed widget would leave a dead output behind)
            view.finish(outcome, succeeded)

    def _cancel(self) -> None:
        """The Cancel button (on the kernel's thread)."""
        if self._job is not None:
            self._job.cancel_work(CallCancelled(
                f"{self.label} was cancelled with its Cancel button; the server was told to stop.",
            ))


class OnDemand:
    """A call's progress line, made when the server first reports progress (the SDK's progress callback).

    Most calls report none, and a ``Progress`` made for every call (where it
    would show, asked of IPython; a lock; a timer) cost more than the rest of
    mcpnb's own work on a call. The token still goes out with every call, so a
    server can report. An awaited call in a kernel gets its line (and Cancel)
    after ``SHOW_AFTER_SECONDS`` without an answer, as ``Progress`` does.
    """

    __slots__ = ("label", "unit", "_job", "_bar", "_timer", "_ended")

    def __init__(self, label: str, *, unit: str) -> None:
        self.label, self.unit = label, unit
        self._job = runtime.current_job()  # the call's own: the SDK reports progress from its reader's task
        self._bar: Progress | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._ended: tuple[str, bool] | None = None
        if self._job is not None and self._job.origin == "awaited" and _route(self._job) == "awaited":
            self._timer = asyncio.get_running_loop().call_later(SHOW_AFTER_SECONDS, self._made, True)

    def _made(self, shown: bool = False) -> Progress:
        if self._bar is None:
            self._bar = Progress(self.label, unit=self.unit, eager=shown, job=self._job)
        return self._bar

    async def __call__(self, done: float, total: float | None, message: str | None) -> None:
        first = self._bar is None
        bar = self._made()
        bar.update(done, total, message)
        if first and self._ended is not None:  # reported as the call ended: the line says how it ended
            bar.finish(*self._ended)

    def finish(self, outcome: str, succeeded: bool) -> None:
        self._ended = (outcome, succeeded)
        if self._timer is not None:
            self._timer.cancel()
        if self._bar is not None:
            self._bar.finish(outcome, succeeded)


def counted(unit: str, done: float, total: float | None) -> str:
    """The unit as the count reads it: "1/1 run", "3/8 runs", "1 step", "4 steps" (tqdm keeps the singular
    for its rate, "run/s")."""
    return unit if (total if total else done) == 1 else f"{unit}s"


def _route(job: runtime.Job | None) -> str | None:
    from .handlers import in_kernel

    if not in_kernel():
        return "text"
    if job is not None and job.origin == "blocked":
        return "blocked"
    if job is not None and job.origin == "awaited" and runtime.ui_known():
        return "awaited"
    return None
