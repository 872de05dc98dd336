"""One tool called once per row, for ``map()``: how many at once, how fast, what is retried, when to stop.

``Session.map`` hands its work here. ``concurrency`` workers take the rows in
input order; each row's outcome (a ``ToolResult``, or the error after its last
attempt) lands in its place, and ``frames.map_frame`` makes the table. With no
rate, no failures and no checkpoint, a row costs its call and a few counters.

- ``rate=N`` (calls a second) or a ``RateLimit`` shared by several maps: starts
  evenly spaced, never a burst, retries included.
- Retries, with full-jitter exponential backoff (a random wait up to
  ``BACKOFF_BASE * 2**n`` seconds, at most ``BACKOFF_CAP``), only for what may
  pass: no answer within the timeout; HTTP 429, 502, 503 and 504 (a
  ``Retry-After`` is waited out, up to ``MAX_RETRY_AFTER``); a lost connection,
  which is reconnected once however many calls were lost with it, by every
  map on that connection together (``Session.heal``: the others wait for it;
  a connection closed on purpose is not reconnected). Never a tool's own error
  result (``isError`` is an answer), invalid arguments, or any other error the
  server answers with. A call that may have reached the tool (a timeout, a
  connection lost in flight, 502/503/504: a proxy may have passed it on) may
  have done its work, so only tools whose annotations say ``readOnlyHint`` or
  ``idempotentHint`` are retried, others only with ``idempotent=True``. A call
  that did not reach it is retried for any tool, even with
  ``idempotent=False``: HTTP 429 (the server refused it before running it), a
  reconnect that failed, a call not sent because the connection was lost or
  being reconnected. Each retry shows on the progress line ("120/500 calls ·
  3 retried · 1 failed") and in ``server.activity`` with its reason.
- ``max_errors=N``: once N rows have failed in this run (after their retries),
  the calls under way are cancelled and ``TooManyErrors`` is raised, with the
  rows done as ``error.frame``.
- ``checkpoint=PATH``: finished rows go to a Parquet folder as the map runs and
  whenever it stops (``mcpnb.checkpoint``); the same map run again skips them.
  Rows whose failure was transient are called again on resume when the tool
  may be retried (the rule above: whatever the tool if the call did not reach
  it; the checkpoint keeps which); a tool's own error result is an answer and
  is kept. Rows finished as the map stops are written too, before it ends.
"""

from __future__ import annotations

import math
import os
import random
import threading
import time
import uuid
import weakref
from collections.abc import Iterator
from datetime import datetime, timezone
from functools import partial
from typing import TYPE_CHECKING, Any, Union

import anyio
import anyio.abc
import anyio.to_thread

from .errors import (AuthorizationFailed, AuthorizationRequired, CallCancelled, ConfigError, ConnectError,
                     ConnectionClosed, ConnectionLost, MCPNBError, RequestTimeout, ServerError, TooManyErrors)
from .masking import mask_known
from .options import UNSET, Timeout
from .progress import Progress

if TYPE_CHECKING:
    import pandas as pd

    from .checkpoint import Checkpoint
    from .session import Session

__all__ = ["RateLimit", "RateOption", "fan_out", "BACKOFF_BASE", "BACKOFF_CAP", "MAX_RETRY_AFTER",
           "TRANSIENT_STATUSES"]

BACKOFF_BASE = 0.5  # seconds: the first retry waits up to this long, the next up to twice as long ...
BACKOFF_CAP = 30.0  # ... and none longer than this
MAX_RETRY_AFTER = 300.0  # a Retry-After longer than this fails the row instead of holding the map
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
FIRST_ERRORS = 3  # quoted in TooManyErrors


class RateLimit:
    """At most ``per_second`` calls started a second, evenly spaced, for every map given this object.

    ``map(..., rate=limit)`` in several maps at once shares one budget; ``rate=N``
    makes one for a single map. Pickled to another process (a Dask worker, say),
    the copies of one limiter in that process share a budget of their own: each
    process starts at most ``per_second`` calls a second.
    """

    def __init__(self, per_second: float) -> None:
        self.per_second = _checked_rate(per_second)
        self._gap = 1.0 / self.per_second
        self._next = 0.0  # the monotonic time of the next free start
        self._lock = threading.Lock()  # several event loops may share it
        self._key = uuid.uuid4().hex  # the same limiter, whichever copy: see __reduce__
        with _SHARED_LOCK:
            _SHARED[self._key] = self

    async def acquire(self) -> None:
        """Wait for this call's turn to start."""
        with self._lock:
            now = time.monotonic()
            start = self._next if self._next > now else now
            self._next = start + self._gap
        if start > now:
            await anyio.sleep(start - now)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_shared_limit, (self.per_second, self._key))

    def __repr__(self) -> str:
        return f"RateLimit({self.per_second:g} calls/s)"


RateOption = Union[None, float, RateLimit]

_SHARED: weakref.WeakValueDictionary[str, RateLimit] = weakref.WeakValueDictionary()  # by key, in this process
_SHARED_LOCK = threading.Lock()


def _shared_limit(per_second: float, key: str) -> RateLimit:
    """A limiter unpickled: the one this process already has under ``key``, else a new one kept under it."""
    with _SHARED_LOCK:
        limit = _SHARED.get(key)
    if limit is None:
        limit = RateLimit(per_second)
        with _SHARED_LOCK:
            del _SHARED[limit._key]
            limit._key = key
            limit = _SHARED.setdefault(key, limit)
    return limit


async def fan_out(session: Session, *, tool: str, rows: Any, concurrency: int = 8, timeout: Timeout = UNSET,
                  progress: bool = True, rate: RateOption = None, retries: int = 3, idempotent: bool | None = None,
                  max_errors: int | None = None, checkpoint: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Call ``tool`` once per row on ``session``; one table, a row per call, in input order (see the module)."""
    from .frames import rows_as_arguments

    _check_options(concurrency, retries, idempotent, max_errors, checkpoint)
    limiter = _limiter(rate)
    arguments = rows_as_arguments(rows)
    if (session.lost or session.healing) and retries > 0:  # lost before this map began (an earlier one's
        await session.heal(f"{session.name}.{tool}, before the map began")  # server went away), or reconnecting
    spec = (await session.listing(kind="tools"))[tool]  # an unknown tool fails once, not once per row
    if idempotent is None:
        notes = spec.annotations
        idempotent = bool(notes and (notes.read_only_hint or notes.idempotent_hint))
    store = None
    if checkpoint is not None:
        store = await anyio.to_thread.run_sync(partial(
            _open_checkpoint, checkpoint, tool=tool, arguments=arguments, server=session.name,
            protocol_version=session.protocol_version))
    run = _Run(session, tool, arguments, concurrency=concurrency, timeout=timeout, progress=progress,
               limiter=limiter, retries=retries, idempotent=idempotent, max_errors=max_errors, store=store)
    return await run.go()


def _open_checkpoint(path: Any, **what: Any) -> Checkpoint:
    from .checkpoint import Checkpoint  # pyarrow and the checkpoint code load only when one is used

    return Checkpoint.open(path, **what)


class _Run:
    """One map under way: the workers, their counters, retries, the reconnect they share, the checkpoint."""

    def __init__(self, session: Session, tool: str, arguments: list[dict[str, Any]], *, concurrency: int,
                 timeout: Timeout, progress: bool, limiter: Any, retries: int, idempotent: bool,
                 max_errors: int | None, store: Checkpoint | None) -> None:
        self.session, self.tool, self.arguments = session, tool, arguments
        self.label = f"{session.name}.{tool}"
        self.concurrency, self.timeout, self.limiter = concurrency, timeout, limiter
        self.retries, self.idempotent, self.max_errors, self.store = retries, idempotent, max_errors, store
        self.outcomes: list[Any] = [None] * len(arguments)
        self.resumed = 0  # rows taken from the checkpoint
        if store is not None:
            for index, stored in store.rows.items():
                if not (stored.transient and retries > 0 and (idempotent or stored.nothing_sent)):  # else: again
                    self.outcomes[index] = stored.outcome
                    self.resumed += 1
        self.finished = self.resumed
        self.failed = 0  # rows failed in this run
        self.retried = 0  # rows that needed a retry
        self.first_errors: list[tuple[int, str]] = []
        self.note: str | None = None  # what the progress line adds to the count
        self.stopped = False
        self._todo: Iterator[int] = (i for i, o in enumerate(self.outcomes) if o is None)
        self._group: anyio.abc.TaskGroup | None = None
        self._write_failed: MCPNBError | None = None  # a checkpoint part that could not be written
        self.bar = Progress(self.label, unit="call", total=len(arguments), eager=True) \
            if progress and len(arguments) > 1 else None
        if self.resumed:
            self._noted()
            if self.bar is not None:
                self.bar.update(self.resumed, None, self.note)

    async def go(self) -> pd.DataFrame:
        try:
            return await self._go()
        finally:
            if self.store is not None:
                self.store.close()  # its last part is written: another map may open the folder

    async def _go(self) -> pd.DataFrame:
        from .frames import map_frame

        try:
            async with anyio.create_task_group() as self._group:
                for _ in range(min(self.concurrency, len(self.arguments) - self.resumed)):
                    self._group.start_soon(self._worker)
            await self._save()
        except BaseException as error:
            if self.store is not None and self._write_failed is None:
                await self._save()
            if self.bar is not None:
                self.bar.finish(_ended(error), False)
            raise
        if self.stopped:
            if self.bar is not None:
                self.bar.update(self.finished, None, self._counts(failures=False))
                self.bar.finish(f"stopped after {self.failed} failed", False)
            raise self._too_many()
        if self.bar is not None:
            outcome = f"{self.failed} failed" if self.failed else "all answered"
            if not self.failed:  # the note ends with the outcome ("3 retried · all answered"): said once
                self.note = " · ".join([self.note, outcome]) if self.note else outcome
            self.bar.update(self.finished, None, self.note)
            self.bar.finish(outcome, True)
        return map_frame(self.tool, self.arguments, self.outcomes, self._provenance())

    # -- the workers ----------------------------------------------------------------------

    async def _worker(self) -> None:
        session, call, tool, timeout = self.session, self.session.call, self.tool, self.timeout
        arguments, limiter, heal = self.arguments, self.limiter, self.retries > 0
        for index in self._todo:
            try:
                if heal and (session.lost or session.healing):
                    await session.heal(self.label)  # rows not yet sent go on once the connection is back
                if limiter is not None:
                    await limiter.acquire()
                outcome: Any = await call(tool=tool, arguments=arguments[index], timeout=timeout, progress=False)
            except MCPNBError as error:
                outcome = await self._retry(index, error)
            self.outcomes[index] = outcome
            self._finished(index, outcome)

    def _finished(self, index: int, outcome: Any) -> None:
        self.finished += 1
        failed = isinstance(outcome, BaseException) or outcome.raw.is_error
        if failed:
            self.failed += 1
            if len(self.first_errors) < FIRST_ERRORS:
                text = outcome.message if isinstance(outcome, MCPNBError) else (outcome.text or "the tool failed")
                # a tool's own words may repeat a secret back: masked as raise_for_error() masks them
                self.first_errors.append((index, mask_known(" ".join(text.split())[:200])))
            self._noted()
        stop = failed and self.max_errors is not None and self.failed >= self.max_errors and not self.stopped
        if self.store is not None:
            unsent = isinstance(outcome, MCPNBError) and _nothing_sent(outcome)
            self.store.add(index, outcome, isinstance(outcome, MCPNBError) and self._transient(outcome), unsent)
            if self.store.due() and not stop and not self.stopped:  # else the final _save writes them
                self._spawn_save()
        if self.bar is not None:
            self.bar.update(self.finished, None, self.note)
        if stop:
            self.stopped = True
            assert self._group is not None
            self._group.cancel_scope.cancel()

    def _noted(self) -> None:
        self.note = self._counts(failures=True)

    def _counts(self, *, failures: bool) -> str | None:
        """What the progress line says beside the count: "400 from the checkpoint · 3 retried · 1 failed"."""
        parts = [f"{self.resumed} from the checkpoint"] if self.resumed else []
        parts += [f"{self.retried} retried"] if self.retried else []
        parts += [f"{self.failed} failed"] if self.failed and failures else []
        return " · ".join(parts) or None

    # -- retries ----------------------------------------------------------------------------

    async def _retry(self, index: int, error: MCPNBError) -> Any:
        """Call row ``index`` again while its failure is transient and retries are left; its last outcome."""
        session, attempt = self.session, 0
        while attempt < self.retries and self._transient(error) and (self.idempotent or _nothing_sent(error)):
            wait = _wait(attempt, error)
            if wait is None:
                break
            attempt += 1
            if attempt == 1:
                self.retried += 1
                self._noted()
            session.events.record("map", f"{self.label} row {index}: {_why(error)}; "
                                         f"retry {attempt} of {self.retries} in {wait:.1f} s")
            await anyio.sleep(wait)
            try:
                if session.lost or session.healing:
                    await session.heal(self.label)
                if self.limiter is not None:
                    await self.limiter.acquire()
                return await session.call(tool=self.tool, arguments=self.arguments[index], timeout=self.timeout,
                                          progress=False)
            except MCPNBError as again:
                error = again
        return error

    def _transient(self, error: MCPNBError) -> bool:
        """Whether ``error`` may pass if the call is made again."""
        if isinstance(error, ServerError):
            return error.status in TRANSIENT_STATUSES
        if isinstance(error, (RequestTimeout, ConnectionLost)):
            return True
        if isinstance(error, ConnectionClosed):  # closed by a reconnect under way, not by the person
            return self.session.healing or self.session.lost or not self.session.closed
        return isinstance(error, ConnectError) and not isinstance(error, (AuthorizationRequired, AuthorizationFailed))

    # -- the checkpoint ---------------------------------------------------------------------

    def _spawn_save(self) -> None:
        """Write the rows kept so far in a task beside the workers; the map goes on meanwhile."""
        assert self._group is not None
        self._group.start_soon(self._write)

    async def _write(self) -> None:
        """Take the rows kept so far and write them, shielded from the first line: rows once taken are
        always written, even when the map is cancelled meanwhile. A task cancelled before it ran takes
        nothing, and the final ``_save`` writes its rows."""
        assert self.store is not None
        with anyio.CancelScope(shield=True):
            number, rows = self.store.take()
            try:
                await anyio.to_thread.run_sync(self.store.write, number, rows)
            except MCPNBError as error:  # the map stops with this one error, not a group of them
                self._write_failed = error
                if self._group is not None:
                    self._group.cancel_scope.cancel()

    async def _save(self) -> None:
        """Write what is left (shielded: this runs while the map is being cancelled, too)."""
        if self.store is None:
            return
        await self._write()
        if self._write_failed is not None:
            raise self._write_failed

    # -- endings ----------------------------------------------------------------------------

    def _provenance(self) -> dict[str, Any]:
        return {"server": self.session.name, "arguments": None, "time": datetime.now(timezone.utc),
                "protocol_version": self.session.protocol_version}

    def _too_many(self) -> TooManyErrors:
        from .frames import map_frame

        import pandas as pd

        done = [index for index, outcome in enumerate(self.outcomes) if outcome is not None]
        frame = map_frame(self.tool, [self.arguments[i] for i in done], [self.outcomes[i] for i in done],
                          self._provenance())
        frame.index = pd.Index(done)
        lines = "\n".join(f"  row {index}: {text}" for index, text in self.first_errors)
        where = str(self.store.path) if self.store is not None else None
        hint = (f"the rows done are in error.frame and in the checkpoint; run the same map again "
                f"(checkpoint={where!r}) to go on: it calls the rest, and the rows that failed for a passing "
                "reason again where a retry is allowed (see map's doc)." if where else
                "the rows done are in error.frame; map(..., checkpoint=PATH) keeps finished rows, so that "
                "running it again goes on where it stopped.")
        failed = sum(isinstance(self.outcomes[i], BaseException) or self.outcomes[i].raw.is_error for i in done)
        return TooManyErrors(
            f"{self.label}: stopped after {self.failed} rows failed (max_errors={self.max_errors}); "
            f"{len(done)} of {len(self.arguments)} rows done ({len(done) - failed} answered, {failed} failed). "
            f"The first errors:\n{lines}",
            frame=frame, done=len(done), failed=self.failed, errors=self.first_errors, checkpoint=where, hint=hint)


# -- options and waits ------------------------------------------------------------------------

def _checked_rate(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"rate= must be a number of calls a second above 0 (or a RateLimit), not {value!r}.",
                          hint="rate=10 starts at most ten calls a second; rate=0.5, one every two seconds.")
    return float(value)


def _limiter(rate: Any) -> Any:
    if rate is None:
        return None
    if isinstance(rate, RateLimit):
        return rate  # shared with other maps
    return RateLimit(_checked_rate(rate))  # anything else (a semaphore, say) is refused there


def _check_options(concurrency: Any, retries: Any, idempotent: Any, max_errors: Any, checkpoint: Any) -> None:
    def whole(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    if not whole(concurrency) or concurrency < 1:
        raise ConfigError(f"concurrency= must be a whole number of at least 1, not {concurrency!r}.")
    if not whole(retries) or retries < 0:
        raise ConfigError(f"retries= must be a whole number of at least 0, not {retries!r}.",
                          hint="retries=0 turns retrying off.")
    if idempotent not in (None, True, False):
        raise ConfigError(f"idempotent= must be None (the tool's annotations decide), True or False, "
                          f"not {idempotent!r}.")
    if max_errors is not None and (not whole(max_errors) or max_errors < 1):
        raise ConfigError(f"max_errors= must be None or a whole number of at least 1, not {max_errors!r}.")
    if checkpoint is not None and not isinstance(checkpoint, (str, os.PathLike)):
        raise ConfigError(f"checkpoint= must be a folder's path, not a {type(checkpoint).__name__}.")


def _wait(attempt: int, error: MCPNBError) -> float | None:
    """Seconds before retry ``attempt + 1``: what Retry-After asks (and a little, so that calls told the same
    do not all come back at once), else full jitter; None if the server asks for too long a wait."""
    asked = getattr(error, "retry_after", None)
    if asked is not None:
        return None if asked > MAX_RETRY_AFTER else asked + random.uniform(0, BACKOFF_BASE)
    return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** attempt))


def _nothing_sent(error: MCPNBError) -> bool:
    """Whether ``error`` says the call never reached the tool, so that calling it again is safe for any tool:
    a reconnect that failed, a request not sent while the connection was being reconnected, or HTTP 429
    (the server refused the call before running it). Not 503: a proxy may have passed the call on."""
    if getattr(error, "nothing_sent", False):  # the session found the connection gone before sending
        return True
    if isinstance(error, ServerError):
        return error.status == 429
    return isinstance(error, ConnectError) and not isinstance(error, (AuthorizationRequired, AuthorizationFailed))


def _why(error: MCPNBError) -> str:
    """A failure in a few words, for the activity record."""
    if isinstance(error, ServerError) and error.status is not None:
        asked = f", Retry-After {round(error.retry_after, 1):g} s" if error.retry_after is not None else ""
        return f"HTTP {error.status}{asked}"
    if isinstance(error, RequestTimeout):
        return "no answer within the timeout"
    if isinstance(error, ConnectionLost):
        return "the connection was lost"
    if isinstance(error, ConnectError):
        return "could not reconnect"
    if isinstance(error, ConnectionClosed):
        return "the connection closed while reconnecting"
    return type(error).__name__


def _ended(error: BaseException) -> str:
    """How a map that did not finish ended, for its progress line."""
    if isinstance(error, (CallCancelled, KeyboardInterrupt, anyio.get_cancelled_exc_class())):
        return "cancelled"
    return "failed"
