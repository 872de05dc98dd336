"""``map`` past one kernel: one tool call per row of a Dask DataFrame, run by the cluster's workers.

    from distributed import Client
    client = Client()                                    # a LocalCluster here, or your cluster
    helpdesk = mcpnb.connect("demo:helpdesk")
    orders = helpdesk.map("get_order", ddf)              # a Dask DataFrame, lazy
    orders = mcpnb.dask.map("demo:helpdesk", "get_order", ddf)   # the same from a target
    orders.compute()

Each partition runs on a worker, which opens its own connection from the
connection's ``WorkerSpec`` (``mcpnb.workerspec``: connections do not
pickle, and secrets travel only as ``${VAR}`` references), reuses it for
every partition it runs, and closes it when the worker stops
(``mcpnb.daskworker``). Without a distributed ``Client``, Dask's threaded
scheduler runs the partitions in this process, on the connection given.

Dask needs the table's columns before anything runs (``meta``). ``meta=``
gives them (the result columns at least: the argument columns and ``error``
are added); without it, the tool is called here with the first row and its
one-row table is the model. That is one call more, so it is made only for a
tool marked read-only or idempotent; others need ``meta=``. From the model,
integer and boolean results become pandas' nullable ``Int64`` and
``boolean`` (any row may fail and leave them empty), results the first row
left empty take the type the tool's output schema gives (else stay objects),
argument columns keep the input's dtypes, and ``error`` is text. Every
partition is made to fit: meta's columns in meta's order, meta's dtypes
where the values fit them (else that partition's column stays as objects). A
result column meta lacks is an error naming it. A meta column named like an
argument is that argument; where a result has the name too, meta names the
argument ``argument.X`` and the result ``X`` (as the table does), and a meta
that does not is an error saying so when the map runs.

``rate=`` is shared by the whole map: split evenly among the worker
processes (at the time the map is made), each of which shares its part among
its partitions. A ``RateLimit`` given to several maps is shared by them in
each process, split the same way (in the process that made the map, it is
the RateLimit itself). ``max_errors=`` counts per partition (the first
partition over it fails the computation; its ``TooManyErrors`` names the
map's checkpoint folder, the one to pass again), ``checkpoint=PATH`` keeps a
file per partition in the folder PATH. The options are checked when the map
is made.

Environment values travel as ``${VAR}`` references (``mcpnb.workerspec``): a
variable of the same name holding the value, else one holding it if the value
is at least 8 characters long (a shorter one, such as ``"1"``, would match
unrelated variables by chance); a short value no same-named variable holds is
a ``ConfigError`` asking for a reference. Workers show no progress bars (Dask's
dashboard or ``distributed.progress`` shows the tasks) and decline a
server's sampling and elicitation requests: nobody is there to answer.
"""

from __future__ import annotations

import functools
import inspect
import os
import socket
import uuid
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import runtime
from .errors import ConfigError
from .fanout import RateLimit, _check_options, _checked_rate
from .options import UNSET, ConnectOptions, Timeout
from .server import Server, _prepare
from .workerspec import WorkerSpec

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd

__all__ = ["map", "amap", "connections"]

_META_HINT = ("pass meta= with the result columns: an empty DataFrame with them (meta=pd.DataFrame({'id': "
              "pd.Series(dtype='Int64'), ...})) or {column: dtype}; server.map(tool, rows.head(1))[:0] makes one by "
              "calling the tool once yourself.")
_SCHEMA_DTYPES = {"string": "str", "integer": "Int64", "number": "float64", "boolean": "boolean"}


def map(target: Any, tool: str, rows: Any, *, meta: Any = None, concurrency: int = 8, timeout: Timeout = UNSET,
        rate: float | None = None, **options: Any) -> dd.DataFrame:
    """Call ``tool`` once per row of the Dask DataFrame ``rows``; a Dask DataFrame back, one row per call (lazy).

    ``target`` is an open ``Server`` or anything ``mcpnb.connect`` takes (with
    its options as keywords). ``meta=`` gives the result columns (see the
    module's doc for what happens without it); ``rate=`` (calls per second) is
    shared by the whole map; the other keywords of ``server.map`` (retries,
    max_errors, checkpoint ...) apply to each partition.
    """
    __tracebackhide__ = True
    dataframe = _dask_dataframe()
    if not isinstance(rows, dataframe.DataFrame):
        raise ConfigError(f"rows= must be a Dask DataFrame, not a {type(rows).__name__}.",
                          hint="for a pandas DataFrame or a list of argument dicts, use server.map(tool, rows).")
    connect_options, map_options = _split(options)
    _check_options(concurrency, map_options.get("retries", 3), map_options.get("idempotent"),
                   map_options.get("max_errors"), map_options.get("checkpoint"))  # here, not on a worker
    rate_key = rate._key if isinstance(rate, RateLimit) else None  # its copies share a budget in each process
    rate = _checked_rate(rate.per_second if isinstance(rate, RateLimit) else rate) if rate is not None else None
    if map_options.get("checkpoint") is not None:
        map_options["checkpoint"] = os.fspath(map_options["checkpoint"])
    if isinstance(target, Server):
        if connect_options:
            raise ConfigError(f"{', '.join(connect_options)}= cannot change an open connection.",
                              hint="give the target itself (a command, URL or name) with those options.")
        server, opened_here = target, False
    else:
        server, opened_here = _prepare(target, None, connect_options, "mcpnb.dask.map()"), True
    spec = WorkerSpec.of(server.target, server.options)
    try:
        if meta is None:
            if opened_here:
                runtime.run(server.session.open())
            meta = _learned_meta(server, tool, rows, timeout, map_options.get("idempotent"))
        else:
            meta = _given_meta(meta, rows)
    finally:
        if opened_here and not server.closed:
            runtime.run(server.session.close())
    from .daskworker import mcp_map  # lazily: it imports distributed (for its worker plugin)

    settings = {"concurrency": concurrency, "timeout": timeout, **map_options}
    client = _client()
    if client is not None:
        _register_plugin(client)
    if rate is not None:
        settings["rate"] = rate / _processes(client)
        if rate_key is not None:
            settings["rate_key"] = rate_key
    if not opened_here:
        from .daskworker import lend

        lend(spec, server)  # partitions run in this process use this connection
    columns = tuple(meta.dtypes.items())
    return rows.map_partitions(mcp_map, spec, tool, columns, tuple(str(c) for c in rows.columns), settings,
                               uuid.uuid4().hex, meta=meta, enforce_metadata=False, align_dataframes=False)


async def amap(target: Any, tool: str, rows: Any, **keywords: Any) -> dd.DataFrame:
    """Async twin of :func:`map` (making the graph asks the cluster and may call the tool once)."""
    import anyio

    return await anyio.to_thread.run_sync(functools.partial(map, target, tool, rows, **keywords))


def connections() -> list[dict[str, Any]]:
    """The connections this process holds for maps: ``client.run(mcpnb.dask.connections)`` asks each worker."""
    from .daskworker import connections as held

    return held()


# -- making the map ------------------------------------------------------------------------


def _dask_dataframe() -> Any:
    try:
        import dask.dataframe as dataframe
    except ImportError as error:
        raise ConfigError(f"mcpnb.dask needs Dask, and {error.name or 'dask'} is not installed.",
                          hint='pip install "mcpnb[dask]"') from None
    return dataframe


def _split(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keywords for connecting, and keywords for ``Session.map``; TypeError for the others."""
    from .session import Session

    taken = set(inspect.signature(Session.map).parameters) - {"self", "tool", "rows", "progress"}
    connect, mapping = {}, {}
    for name, value in options.items():
        if name in ConnectOptions.names():
            connect[name] = value
        elif name in taken:
            mapping[name] = value
        elif name != "progress":  # server.map's bar: workers show none
            known = ", ".join(sorted({*taken, "meta"}))
            raise TypeError(f"mcpnb.dask.map() got an unexpected keyword argument {name!r} (it takes the options "
                            f"of mcpnb.connect and {known})")
    return connect, mapping


def _learned_meta(server: Server, tool: str, rows: dd.DataFrame, timeout: Timeout,
                  idempotent: bool | None = None) -> pd.DataFrame:
    """The map's meta modelled on the tool's answer to the first row (see the module's doc); the call is made
    for a tool marked read-only or idempotent, or one the caller says is (``idempotent=True``)."""
    found = runtime.run(server.session.listing(kind="tools"))[tool]  # NotFound, with suggestions
    notes = found.annotations
    safe = idempotent if idempotent is not None else notes is not None and bool(notes.read_only_hint or
                                                                                 notes.idempotent_hint)
    if not safe:
        said = " (idempotent=False)" if idempotent is False else ""
        raise ConfigError(
            f"The map on Dask needs its columns (meta=) before it runs; mcpnb learns them by calling {tool!r} "
            f"with the first row here, one call more, and it is marked neither read-only nor idempotent{said}.",
            hint=_META_HINT + " Or, if calling it twice with the same row is safe, pass idempotent=True.")
    first = _first_rows(rows)
    sample = runtime.run(server.session.map(tool=tool, rows=first, progress=False, timeout=timeout)) \
        if len(first) else None
    if sample is not None and sample["error"].notna().any():
        raise ConfigError(f"Calling {tool!r} with the first row failed, so the columns of its table are not known: "
                          f"{sample['error'].iloc[0]}", hint=_META_HINT)
    return _meta(rows, sample, found.output_schema)


def _first_rows(rows: dd.DataFrame) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Insufficient elements")
        first = rows.head(1, npartitions=1)
        if len(first) == 0 and rows.npartitions > 1:
            first = rows.head(1, npartitions=-1)
    return first


def _meta(rows: dd.DataFrame, sample: pd.DataFrame | None, schema: Mapping[str, Any] | None) -> pd.DataFrame:
    import pandas as pd

    arguments = [str(c) for c in rows.columns]
    taken = {f"argument.{a}" if sample is not None and f"argument.{a}" in sample.columns else a for a in arguments}
    results = [c for c in (sample.columns if sample is not None else []) if c not in taken and c != "error"]
    dtypes = {}
    for column in results:
        values = sample[column]  # type: ignore[index]
        if values.isna().all():
            dtypes[column] = _SCHEMA_DTYPES.get(_schema_type(schema, column) or "", object)
        elif pd.api.types.is_bool_dtype(values.dtype):
            dtypes[column] = "boolean"
        elif pd.api.types.is_integer_dtype(values.dtype):
            dtypes[column] = "Int64"
        else:
            dtypes[column] = values.dtype
    return _assemble(rows, dtypes, pd.api.types.pandas_dtype("str"))


def _given_meta(meta: Any, rows: dd.DataFrame) -> pd.DataFrame:
    """``meta=`` as the map's meta: its result columns, the argument columns and ``error`` added if missing."""
    import pandas as pd
    from dask.dataframe.utils import make_meta

    try:
        given = make_meta(meta)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"meta= does not describe a table: {error}", hint=_META_HINT) from None
    if not isinstance(given, pd.DataFrame):
        raise ConfigError(f"meta= must describe a table (columns and dtypes), not a {type(given).__name__}.",
                          hint=_META_HINT)
    arguments = {str(c) for c in rows.columns}
    given_dtypes = {str(c): d for c, d in given.dtypes.items()}
    results = {c: d for c, d in given_dtypes.items() if c != "error" and not c.startswith("argument.")
               and (c not in arguments or f"argument.{c}" in given_dtypes)}
    return _assemble(rows, results, given_dtypes.get("error", pd.api.types.pandas_dtype("str")), given_dtypes)


def _assemble(rows: dd.DataFrame, results: Mapping[str, Any], error: Any,
              given: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Empty columns in map's order: arguments (``argument.X`` where X is a result too), results, error."""
    import pandas as pd

    given = given or {}
    columns: dict[str, pd.Series] = {}
    for name, dtype in rows.dtypes.items():
        name = str(name)
        shown = f"argument.{name}" if name in results or name == "error" else name
        columns[shown] = pd.Series(dtype=given.get(shown, dtype))
    for name, dtype in results.items():
        columns[name] = pd.Series(dtype=dtype)
    columns["error"] = pd.Series(dtype=error)
    return pd.DataFrame(columns)


def _schema_type(schema: Mapping[str, Any] | None, column: str) -> str | None:
    """The one JSON type (besides null) the output schema gives the (dotted) column, if it says."""
    node: Any = schema
    for part in column.split("."):
        if not isinstance(node, Mapping):
            return None
        node = (node.get("properties") or {}).get(part)
    if not isinstance(node, Mapping) or node.get("format") in ("date-time", "date"):
        return None
    kinds = node.get("type")
    if kinds is None and isinstance(node.get("anyOf"), list):
        kinds = [option.get("type") for option in node["anyOf"] if isinstance(option, Mapping)]
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    kinds = [kind for kind in kinds if kind != "null"]
    return kinds[0] if len(kinds) == 1 and isinstance(kinds[0], str) else None


# -- the cluster ---------------------------------------------------------------------------


def _client() -> Any:
    """The distributed Client Dask computes on by default, if there is one."""
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:
        return None


def _register_plugin(client: Any) -> None:
    """Close the workers' connections when they stop (idempotent: the one registered first stays)."""
    from .daskworker import ConnectionsPlugin

    if not client.asynchronous:  # an asynchronous client's workers close their connections at exit
        client.register_plugin(ConnectionsPlugin())


def _processes(client: Any) -> int:
    """How many worker processes share a map's rate (1 without a cluster: the partitions run here)."""
    if client is None:
        return 1
    return max(1, len(set(client.run(_process).values())))


def _process() -> tuple[str, int]:
    return socket.gethostname(), os.getpid()
