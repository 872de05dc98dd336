"""map on Dask against map in one kernel, and the raw SDK's gather, on 100,000 rows.

    python benchmarks/dask_map.py [--rows 100000] [--rounds 3] [--partitions 8] [--concurrency 32]

A fast tool (``echo`` of benchmarks/echo_server.py, over stdio) is called once
per row. Four sides, each with server processes of its own:

- raw: the SDK's ``Client.call_tool`` for every row under ``asyncio.gather``,
  at most ``--concurrency`` at once (an ``asyncio.Semaphore``), results in a list;
- raw again: a second raw client, the control (it should read 1.00);
- map: ``server.map("echo", frame, concurrency=N, progress=False)``, one kernel;
- dask: ``mcpnb.dask.map(ECHO, "echo", ddf, concurrency=N).compute()`` on a
  ``LocalCluster`` of two worker processes (one thread each), ``--partitions``
  partitions; each worker runs its own server process and keeps its connection
  across rounds (a warm-up map opens them first).

Each round runs every side once, in a new (seeded) order. A figure is the
ratio of a side's median time to the raw side's; the spread is the lowest and
highest of that ratio over the rounds; rows/s is rows over the median time.
On a two-core machine the cluster's two workers, their two servers, the
scheduler and this process share two cores. One kernel keeps one core busy
(its loop does every call's client work), two workers keep both: on 100,000
rows Dask took about two thirds of one kernel's time here. A short run pays
more for starting its tasks than it gains (20,000 rows, on a busy machine: 1.08x).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
from pathlib import Path

import pandas as pd
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

import mcpnb
import mcpnb.dask

sys.path.insert(0, str(Path(__file__).parent))
from overhead import ratios, shuffled_rounds  # noqa: E402

ECHO = [sys.executable, str(Path(__file__).with_name("echo_server.py"))]
SIDES = ("raw", "raw again", "map", "dask")


async def raw_gather(client: Client, rows: list[dict[str, str]], concurrency: int) -> list:
    slots = asyncio.Semaphore(concurrency)

    async def one(arguments: dict[str, str]):
        async with slots:
            return await client.call_tool("echo", arguments)

    return await asyncio.gather(*(one(arguments) for arguments in rows))


async def measure(rows: int, rounds: int, partitions: int, concurrency: int) -> dict[str, list[float]]:
    import dask.dataframe as dd

    frame = pd.DataFrame({"text": [f"row {i}" for i in range(rows)]})
    records = frame.to_dict("records")
    frames = dd.from_pandas(frame, npartitions=partitions).persist()  # the input is on the workers already
    meta = {"result": "str"}  # echo is not marked read-only: mcpnb.dask would not call it to learn the columns
    server = mcpnb.connect(ECHO, name="bench-map")
    params = StdioServerParameters(command=ECHO[0], args=ECHO[1:])
    async with Client(params) as raw, Client(params) as control:
        for client in (raw, control):
            await client.list_tools()
        server.tools
        mcpnb.dask.map(ECHO, "echo", frames.head(64, npartitions=1, compute=False), meta=meta).compute()  # warm

        async def raw_side() -> None:
            await raw_gather(raw, records, concurrency)

        async def control_side() -> None:
            await raw_gather(control, records, concurrency)

        async def map_side() -> None:
            server.map("echo", frame, concurrency=concurrency, progress=False)  # sync, as a cell calls it

        async def dask_side() -> None:
            result = mcpnb.dask.map(ECHO, "echo", frames, concurrency=concurrency, meta=meta).compute()
            assert len(result) == rows and result["error"].isna().all()

        sides = list(zip(SIDES, (raw_side, control_side, map_side, dask_side)))
        times = await shuffled_rounds(sides, rounds, lambda number, times: print(
            f"  round {number + 1}: " + ", ".join(f"{n} {times[n][-1]:.1f} s" for n in SIDES), flush=True))
    server.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows, one call each")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (each side once per round)")
    parser.add_argument("--partitions", type=int, default=8, help="partitions of the Dask DataFrame")
    parser.add_argument("--concurrency", type=int, default=32, help="calls at once (per partition on Dask)")
    args = parser.parse_args()

    from distributed import Client as DaskClient
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster, \
            DaskClient(cluster):
        times = asyncio.run(measure(args.rows, args.rounds, args.partitions, args.concurrency))
    found = ratios(times, args.rounds)
    print(f"{args.rows} rows of 'echo' over stdio, concurrency {args.concurrency}, {args.rounds} rounds in shuffled "
          f"order; Dask: 2 worker processes, {args.partitions} partitions")
    print(f"{'side':10} {'median':>9} {'rows/s':>9}   ratio to raw (lowest-highest over rounds)")
    for name in SIDES:
        median = statistics.median(times[name])
        whole, low, high = found[name]
        print(f"{name:10} {median:8.1f}s {args.rows / median:9.0f}   {whole:.2f} ({low:.2f}-{high:.2f})")
    print(f"'raw again' is the control. One kernel's map keeps one core busy; Dask's workers, their servers "
          f"and the scheduler share this machine's {os.cpu_count()} cores with this process, so the dask line "
          "is what its workers gain here (or cost, on a run too short to repay the cluster's start).")


if __name__ == "__main__":
    main()
