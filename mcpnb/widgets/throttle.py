"""Redraw a live view soon after a change, but not on every change.

A busy connection notes hundreds of messages a second on mcpnb's loop; a view
that redrew for each would flood the page and the kernel. ``Throttle.poke()``
may be called from any thread as often as things happen: it costs one lock
attempt while a run is already due. The work then runs once, on the kernel's
thread (where widgets are updated), at most once every ``interval`` seconds,
and sees everything that came since the last run.

Which way to the kernel's thread: a cell blocked in a synchronous call holds
that thread, and its loop runs nothing until the call returns; the waiting
thread takes errands, though (``runtime.main_thread_errand``, as the progress
line under a blocked cell is made), so a view stays live while a long call
runs. Otherwise the kernel's loop runs it (``runtime.on_ui``). A run queued
there just before a cell blocks would wait for the whole call, so it is
offered as an errand again every ``interval`` until one way has run it (the
other then finds it done).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from .. import runtime

__all__ = ["Throttle", "INTERVAL"]

INTERVAL = 0.2  # seconds: at most five redraws a second

logger = logging.getLogger("mcpnb")


class Throttle:
    """Runs ``work()`` on the kernel's thread after ``poke()``, at most once every ``interval`` seconds."""

    def __init__(self, work: Callable[[], None], interval: float = INTERVAL) -> None:
        self.work = work
        self.interval = interval
        self.stopped = False
        self._due = threading.Lock()  # held from a poke until its run starts
        self._lock = threading.Lock()  # guards the rounds below
        self._round = 0  # the run a poke asked for
        self._ran = 0  # the last round that ran
        self._queued = 0  # the last round queued on the kernel's loop
        self._last = 0.0

    def poke(self) -> None:
        """Something changed: run soon (now, if the last run was long enough ago)."""
        if self.stopped or not self._due.acquire(blocking=False):
            return
        with self._lock:
            self._round += 1
            round_ = self._round
        wait = max(0.0, self._last + self.interval - time.monotonic())
        loop = runtime.loop()
        loop.call_soon_threadsafe(loop.call_later, wait, self._hand_over, round_)

    def _hand_over(self, round_: int) -> None:
        """Offer the run to whichever can take it first: the main thread blocked in a cell (as an
        errand) or the kernel's loop. A run queued on the loop waits while a cell blocks, so it is
        offered again every ``interval`` until one of them has run it."""
        if self.stopped or self._ran >= round_:
            return
        taken = runtime.main_thread_errand(lambda waiting: self._run(round_) if waiting else None)
        if not taken and self._queued < round_:  # once a round: the loop keeps it until it is free
            self._queued = round_
            runtime.on_ui(lambda: self._run(round_))
        runtime.loop().call_later(self.interval, self._hand_over, round_)

    def _run(self, round_: int) -> None:
        with self._lock:
            if self._ran >= round_:
                return  # the other way ran it already
            self._ran = round_
        self._due.release()  # what comes while the work runs is seen by the next run
        if self.stopped:
            return
        self._last = time.monotonic()
        try:
            self.work()
        except Exception:  # a view that fails to redraw must not fail the call a cell waits for
            logger.warning("a live view could not be updated", exc_info=True)

    def stop(self) -> None:
        """No more runs (a poke already waiting finds it stopped)."""
        self.stopped = True
