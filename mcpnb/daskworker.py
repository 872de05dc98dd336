"""What a Dask worker process does for ``mcpnb.dask.map``: run a partition, keep its connections.

A worker opens one connection per ``WorkerSpec`` (``mcpnb.workerspec``) and
reuses it for every partition it runs, on this process's mcpnb loop; one
that was lost is opened again. Openings happen on mcpnb's loop, one at a time
per spec under an asyncio lock (no thread lock is ever held while waiting for
that loop, so closing, which runs on it, cannot deadlock with an opening).
The worker plugin (registered by the map, under one name, once per
scheduler) closes them when the worker stops; ``mcpnb.close_all()`` and
interpreter exit close them too (``mcpnb.registry``). Where partitions run in
the process that made the map (Dask's threaded scheduler, or a cluster of
threads), they use the open connection the map was given (its map reconnects
it if its server was lost); once that is closed, they open one of their own.

Each partition is ``Session.map`` on its rows (no progress bar: nobody
watches a worker), then made to fit the map's meta: meta's columns in meta's
order, meta's dtypes where the values fit them (else the column stays as
objects), the partition's own index. Rate limits are shared by the
partitions of one map in one process, and by every map given the same
``RateLimit``. A ``TooManyErrors`` names the map's checkpoint folder (the one
to pass again), not the partition's.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from . import registry, runtime
from .errors import ConfigError, TooManyErrors
from .options import ConnectOptions
from .server import Server
from .workerspec import WorkerSpec

if TYPE_CHECKING:
    import pandas as pd

try:  # the plugin needs distributed; Dask's threaded scheduler does not
    from distributed import WorkerPlugin
except ImportError:  # pragma: no cover  (the mcpnb[dask] extra installs it)
    WorkerPlugin = object  # type: ignore[assignment,misc]

__all__ = ["ConnectionsPlugin", "PLUGIN_NAME", "mcp_map", "conform", "lend", "connections"]

PLUGIN_NAME = "mcpnb-connections"
_KEPT_LIMITERS = 64  # rate limiters of recent maps, per process


@dataclass
class _Held:
    server: Server
    opened: int = 1  # times this process opened a connection for the spec (a lost one is opened again)
    partitions: int = 0


_limiters_lock = threading.Lock()  # held only for a moment, never while waiting for anything
_held: dict[WorkerSpec, _Held] = {}  # changed only on mcpnb's loop
_opening: dict[WorkerSpec, anyio.Lock] = {}  # used only on mcpnb's loop
_lent: weakref.WeakValueDictionary[WorkerSpec, Server] = weakref.WeakValueDictionary()
_limiters: OrderedDict[str, Any] = OrderedDict()


class ConnectionsPlugin(WorkerPlugin):
    """Closes the worker's connections when the worker stops (or the plugin is unregistered)."""

    idempotent = True  # registering it again (each map does) keeps the one there, and its connections
    name = PLUGIN_NAME

    async def teardown(self, worker: Any) -> None:
        await runtime.arun(close_held())


def lend(spec: WorkerSpec, server: Server) -> None:
    """Let partitions run in this process use ``server``, an open connection of the person's."""
    _lent[spec] = server


def connection(spec: WorkerSpec) -> Server:
    """This process's open connection for ``spec``: the one lent (while it is not closed: a lost one is
    reconnected by its map, never replaced), the one held, or a new one."""
    lent = _lent.get(spec)
    if lent is not None and not lent.closed:
        return lent
    return runtime.run(_held_connection(spec))


async def _held_connection(spec: WorkerSpec) -> Server:
    """On mcpnb's loop: the held connection for ``spec``, opened (again) if need be, one opening at a time."""
    lock = _opening.setdefault(spec, anyio.Lock())
    async with lock:  # partitions of a worker's threads share the connection
        held = _held.get(spec)
        if held is None or not held.server.alive:
            server = Server(spec.target(), ConnectOptions(**spec.connect_options()))
            await server.session.open()
            if held is not None and _held.get(spec) is held:
                await held.server.session.close()
                held.server, held.opened = server, held.opened + 1
            else:
                held = _held[spec] = _Held(server)
        held.partitions += 1
        return held.server


async def close_held() -> None:
    """Close every connection this process opened for maps (runs on mcpnb's loop; takes no thread lock
    that an opening could hold)."""
    servers = [held.server for held in list(_held.values())]
    _held.clear()
    _limiters.clear()
    for server in servers:
        await server.session.close()


registry.add_closer(close_held)  # mcpnb.close_all() closes them too (Dask's threaded scheduler has no plugin)


def connections() -> list[dict[str, Any]]:
    """This process's map connections: server, transport, pid, alive, times opened, partitions run (never
    waits for an opening)."""
    return [{"server": spec.name, "transport": spec.kind, "pid": item.server.pid, "alive": item.server.alive,
             "opened": item.opened, "partitions": item.partitions} for spec, item in list(_held.items())]


def _limiter(map_id: str, per_second: float, key: str | None = None) -> Any:
    """The rate limiter the partitions of one map share in this process: with ``key`` (the map was given a
    RateLimit), this process's copy of that RateLimit, shared with every map given it (in the process that
    made it, the RateLimit itself)."""
    from .fanout import RateLimit, _shared_limit  # the map's own limiter (mcpnb.fanout)

    with _limiters_lock:
        limiter = _limiters.get(map_id)
        if limiter is None:
            limiter = _shared_limit(per_second, key) if key is not None else RateLimit(per_second)
            _limiters[map_id] = limiter
            while len(_limiters) > _KEPT_LIMITERS:
                _limiters.popitem(last=False)
        return limiter


def mcp_map(part: pd.DataFrame, spec: WorkerSpec, tool: str, columns: tuple[tuple[str, Any], ...],
            arguments: tuple[str, ...], settings: dict[str, Any], map_id: str,
            partition_info: dict[str, Any] | None = None) -> pd.DataFrame:
    """One partition of ``mcpnb.dask.map``: one call per row, a table that fits the meta ``columns``
    (names and dtypes). Its name is the one Dask shows for these tasks."""
    import pandas as pd

    meta = pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns})
    number = (partition_info or {}).get("number", 0)
    if len(part) == 0:
        return conform(meta, meta, part.index, arguments, number, tool)
    keywords = dict(settings)
    rate_key = keywords.pop("rate_key", None)
    if keywords.get("rate") is not None:
        keywords["rate"] = _limiter(map_id, keywords["rate"], rate_key)
    root = keywords.get("checkpoint")
    if root is not None:
        keywords["checkpoint"] = str(Path(root) / f"partition-{number:05d}")
    server = connection(spec)
    try:
        frame = runtime.run(server.session.map(tool=tool, rows=part, progress=False, **keywords))
    except TooManyErrors as error:
        raise _for_the_map(error, keywords.get("checkpoint"), root, number) from None
    return conform(frame, meta, part.index, arguments, number, tool)


def _for_the_map(error: TooManyErrors, folder: str | None, root: str | None, number: int) -> TooManyErrors:
    """A partition's TooManyErrors as the map's: its checkpoint is the map's folder, the one to pass again."""
    if folder is not None and root is not None:
        if error.hint:
            error.hint = error.hint.replace(repr(folder), repr(root)).replace(folder, root)
        if error.checkpoint is not None:
            error.checkpoint = root
    error.message = f"Partition {number} of the map: {error.message}"
    error.args = (error.message,)
    return error


def conform(frame: pd.DataFrame, meta: pd.DataFrame, index: Any, arguments: tuple[str, ...], number: int,
            tool: str) -> pd.DataFrame:
    """``frame`` with meta's columns in meta's order and meta's dtypes where its values fit, and ``index``.

    ``arguments`` are the input's columns: where meta has ``argument.X`` (X is
    also a result column) and the partition only ``X`` (none of its calls
    gave a result), ``X`` is the argument. A column meta lacks is an error
    unless it holds nothing (a nested object that was null all through).
    """
    import pandas as pd

    renames = {name: f"argument.{name}" for name in arguments
               if f"argument.{name}" in meta.columns and name in frame.columns and f"argument.{name}" not in frame}
    frame = frame.rename(columns=renames)
    extra = [column for column in frame.columns if column not in meta.columns and frame[column].notna().any()]
    clashes = [column[len("argument."):] for column in extra
               if column.startswith("argument.") and column[len("argument."):] in arguments]
    if clashes:
        named = ", ".join(map(repr, clashes))
        raise ConfigError(
            f"The map of {tool!r} gives result columns named like its arguments ({named}), and meta= names them "
            "once, so they were taken for the arguments.",
            hint="in meta=, name the argument 'argument.X' and the result 'X' (as the table does), e.g. "
                 + ", ".join(f"{{'argument.{name}': ..., '{name}': ...}}" for name in clashes) + ".")
    if extra:
        raise ConfigError(
            f"Partition {number} of the map of {tool!r} gave columns the map's meta does not have: "
            f"{', '.join(map(repr, extra))} (results shaped unlike the first row's).",
            hint="pass meta= with every result column: an empty DataFrame with them (meta=pd.DataFrame({...})), "
                 "or {column: dtype}.")
    shaped = frame.reindex(columns=meta.columns)
    for column, dtype in meta.dtypes.items():
        if shaped[column].dtype != dtype:
            shaped[column] = _as_dtype(shaped[column], dtype)
    shaped.index = index if len(shaped) == len(index) else pd.RangeIndex(len(shaped))
    shaped.attrs = {}
    return shaped


def _as_dtype(series: pd.Series, dtype: Any) -> pd.Series:
    """``series`` as ``dtype`` when its values fit it, else as objects (nothing is changed into something else)."""
    import pandas as pd

    import numpy as np

    present = series.dropna()
    booleans = (bool, np.bool_)
    if pd.api.types.is_string_dtype(dtype) and dtype != object:
        fits = all(isinstance(value, str) for value in present)
    elif pd.api.types.is_bool_dtype(dtype):  # True/False only: 0 and 1 are numbers, not answers
        fits = pd.api.types.is_bool_dtype(series.dtype) or all(isinstance(value, booleans) for value in present)
    elif pd.api.types.is_numeric_dtype(dtype):  # numbers only: True is not 1
        fits = (pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)) or \
            all(isinstance(value, (int, float, np.number)) and not isinstance(value, booleans) for value in present)
    else:
        fits = True
    if fits:
        try:
            return series.astype(dtype)
        except (TypeError, ValueError):
            pass
    return series.astype(object)
