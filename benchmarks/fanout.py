"""Fan-out: ``server.map`` and ``amap`` against the raw SDK's ``asyncio.gather`` with a semaphore.

    python benchmarks/fanout.py [--calls 1000] [--concurrency 8 32 128] [--rounds 5] [--transport stdio|http]

One tool that waits 20 ms (``slow_echo`` of benchmarks/echo_server.py) is
called ``--calls`` times at each concurrency. Four sides, each with a server
process of its own, in this one process:

- raw: the SDK's ``Client.call_tool`` for every row under ``asyncio.gather``,
  at most ``concurrency`` at once (an ``asyncio.Semaphore``), results in a list;
- raw again: a second raw client, the control (it should read 1.00);
- map: ``server.map(tool, rows, concurrency=N, progress=False)`` from sync code,
  as a cell uses it: a table back, a row per call;
- amap: ``await server.amap(...)`` from this process's own event loop.

Each round runs every side once, in a new (seeded) order. A figure is the
ratio of a side's median time to the raw side's; the spread is the lowest and
highest of that ratio over the rounds. The ideal is calls x 20 ms /
concurrency; "of ideal" says how close the median gets (on two cores, client
and server CPU bound both sides well before it at 128). Target: map and amap
at most 1.05 at concurrency 32 and 128. Each concurrency also prints the CPU
time a call costs this process (raw) and what each side spends more: past
about 32 the machine's cores are the limit, so what mcpnb adds per call shows
up in the time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

import mcpnb
from overhead import ratios, shuffled_rounds  # this folder is on sys.path when a benchmark runs as a script

ECHO = [sys.executable, str(Path(__file__).with_name("echo_server.py"))]
TOOL, WAIT = "slow_echo", 0.02
SIDES = ("raw", "raw again", "map", "amap")


@contextlib.contextmanager
def http_servers(count: int) -> Iterator[list[str]]:
    """``count`` echo servers over Streamable HTTP on 127.0.0.1, each its own process; their URLs."""
    processes, urls = [], []
    try:
        for _ in range(count):
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            processes.append(subprocess.Popen([*ECHO, "--http", str(port)], stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL))
            urls.append(f"http://127.0.0.1:{port}/mcp")
        for url, process in zip(urls, processes):
            port = int(url.rsplit(":", 1)[1].split("/")[0])
            deadline = time.monotonic() + 30
            while True:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the echo server on port {port} did not start")
                time.sleep(0.05)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)


async def measure(targets: list[Any], calls: int, levels: list[int], rounds: int,
                  cpu: dict[int, dict[str, list[float]]]) -> dict[int, dict[str, list[float]]]:
    """Seconds of each side's whole fan-out, round by round, at each concurrency (its CPU seconds in
    this process in ``cpu``)."""
    raw_target, control_target, map_target, amap_target = targets
    mapped = mcpnb.connect(map_target, name="bench-map")
    amapped = mcpnb.connect(amap_target, name="bench-amap")
    rows = [{"text": f"row {i}"} for i in range(calls)]
    async with Client(raw_target) as raw, Client(control_target) as control:
        for client in (raw, control):
            await client.list_tools()  # every side starts with the tool listing in hand
        mapped.tools, amapped.tools

        def gathered(client: Client, concurrency: int) -> Callable[[], Any]:
            async def run() -> None:
                slots = asyncio.Semaphore(concurrency)

                async def one(arguments: dict[str, Any]) -> Any:
                    async with slots:
                        return await client.call_tool(TOOL, arguments)

                results = await asyncio.gather(*(one(row) for row in rows))
                assert len(results) == calls and not any(r.is_error for r in results)
            return run

        def by_map(concurrency: int) -> Callable[[], Any]:
            async def run() -> None:
                frame = mapped.map(TOOL, rows, concurrency=concurrency, progress=False)  # this loop waits meanwhile
                assert len(frame) == calls and frame["error"].isna().all()
            return run

        def by_amap(concurrency: int) -> Callable[[], Any]:
            async def run() -> None:
                frame = await amapped.amap(TOOL, rows, concurrency=concurrency, progress=False)
                assert len(frame) == calls and frame["error"].isna().all()
            return run

        found = {}
        for concurrency in levels:
            sides = list(zip(SIDES, (gathered(raw, concurrency), gathered(control, concurrency),
                                     by_map(concurrency), by_amap(concurrency))))
            for _, run in sides:  # warm up every side at this concurrency
                await run()
            found[concurrency] = await shuffled_rounds(sides, rounds, cpu=cpu.setdefault(concurrency, {}))
    mapped.close()
    amapped.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per fan-out")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32, 128])
    parser.add_argument("--rounds", type=int, default=7, help="rounds (each side once a round)")
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        if args.transport == "http":
            targets: list[Any] = stack.enter_context(http_servers(len(SIDES)))
        else:
            targets = [StdioServerParameters(command=ECHO[0], args=ECHO[1:]) for _ in SIDES]
            targets = [targets[0], targets[1], ECHO, ECHO]  # mcpnb takes the command line itself
        cpu: dict[int, dict[str, list[float]]] = {}
        found = asyncio.run(measure(targets, args.calls, args.concurrency, args.rounds, cpu))
    print(f"{args.calls} calls of {WAIT * 1000:.0f} ms over {args.transport}, each side its own server process")
    print(f"{'concurrency':>11} {'ideal':>8} {'raw median':>11} {'of ideal':>9}   "
          + "   ".join(f"{name:>18}" for name in SIDES[1:]))
    for concurrency, times in found.items():
        ideal = args.calls * WAIT / concurrency
        raw = statistics.median(times["raw"])
        spread = ratios(times, args.rounds)
        cells = [f"{spread[name][0]:.3f} ({spread[name][1]:.2f}-{spread[name][2]:.2f})" for name in SIDES[1:]]
        print(f"{concurrency:>11} {ideal:7.2f}s {raw:10.2f}s {ideal / raw:8.0%}   "
              + "   ".join(f"{cell:>18}" for cell in cells))
        used = {name: statistics.median(values) / args.calls * 1e6 for name, values in cpu[concurrency].items()}
        print(f"{'client CPU':>11} {'':>8} {used['raw']:8.0f} us {'a call':>9}   "
              + "   ".join(f"{used[name] - used['raw']:+15.0f} us" for name in SIDES[1:]))
    print(f"ratios to the raw median (lowest-highest over {args.rounds} rounds, shuffled). "
          "Target: map and amap <= 1.05 at 32 and 128; 'raw again' is the control. 'client CPU': the CPU "
          "time a call costs in this process (all its threads), and what each side spends more than raw.")


if __name__ == "__main__":
    main()
