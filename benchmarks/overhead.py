"""Per-call cost of ``Server.call`` against the raw SDK's ``Client.call_tool``.

    python benchmarks/overhead.py [--calls 1500] [--blocks 5]

Four sides call the same tool of the same stdio server program, each with a
server process of its own, in this one process:

- raw: the SDK's ``Client.call_tool``;
- raw again: a second raw client, the control (its ratio shows what noise and
  position alone do; it should read 1.00);
- mcpnb: ``Server.call`` as a notebook cell uses it: argument validation, the
  hop to mcpnb's loop thread and back, a progress token (so a bar can show; the
  raw call sends none), the result wrapped;
- progress=False: the same without the progress token.

Each round makes one call per side in a shuffled order (seeded, so runs
repeat), so that every side follows every other about equally often: a call
right after another runs faster (over stdio to the same server process by
about 16%, and even to another process through the same client code, whose
caches are warm), and a fixed rotation left the control side 5% "faster". A figure is the ratio of the median
per-call time of a side to the raw side's; the spread is the lowest and
highest of the same ratio taken over ``--blocks`` consecutive blocks of rounds.
Target: mcpnb at most 1.10.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

import mcpnb

SERVERS = {
    "echo (trivial tool)": ([sys.executable, str(Path(__file__).with_name("echo_server.py"))], "echo",
                            {"text": "hello"}),
    "helpdesk get_order": ([sys.executable, "-m", "mcpnb.demo", "helpdesk"], "get_order", {"order_id": 42}),
}
SIDES = ("raw", "raw again", "mcpnb", "progress=False")


async def measure(argv: list[str], tool: str, arguments: dict[str, Any], calls: int) -> dict[str, list[float]]:
    """Per-call seconds of each side, round by round, in shuffled order."""
    params = StdioServerParameters(command=argv[0], args=argv[1:])
    loud = mcpnb.connect(argv, name="bench")
    quiet = mcpnb.connect(argv, name="bench-quiet")
    async with Client(params) as raw, Client(params) as control:
        for client in (raw, control):
            await client.list_tools()  # every side starts with the tool listing in hand
        loud.tools, quiet.tools

        async def raw_call() -> None:
            await raw.call_tool(tool, arguments)

        async def control_call() -> None:
            await control.call_tool(tool, arguments)

        async def mcpnb_call() -> None:
            loud.call(tool, arguments)  # the sync API, as a cell uses it (this loop is idle meanwhile)

        async def quiet_call() -> None:
            quiet.call(tool, arguments, progress=False)

        sides: list[tuple[str, Callable[[], Any]]] = list(zip(SIDES, (raw_call, control_call, mcpnb_call,
                                                                      quiet_call)))
        for _ in range(20):  # warm up every side
            for _, call in sides:
                await call()
        times = await shuffled_rounds(sides, calls)
    loud.close()
    quiet.close()
    return times


async def shuffled_rounds(sides: list[tuple[str, Callable[[], Any]]], rounds: int) -> dict[str, list[float]]:
    """Seconds of each side's call, round by round, the sides in a new (seeded) order each round."""
    times: dict[str, list[float]] = {name: [] for name, _ in sides}
    clock = time.perf_counter
    order = random.Random(2026)
    sides = list(sides)
    for _ in range(rounds):
        order.shuffle(sides)
        for name, call in sides:
            started = clock()
            await call()
            times[name].append(clock() - started)
    return times


def ratios(times: dict[str, list[float]], blocks: int) -> dict[str, tuple[float, float, float]]:
    """Each side's ratio of medians to the raw side: over all rounds, and the lowest and highest over blocks."""
    rounds = len(times["raw"])
    size = max(1, rounds // blocks)
    found = {}
    for name in times:
        whole = statistics.median(times[name]) / statistics.median(times["raw"])
        parts = [statistics.median(times[name][i:i + size]) / statistics.median(times["raw"][i:i + size])
                 for i in range(0, rounds - size + 1, size)]
        found[name] = (whole, min(parts), max(parts))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1500, help="rounds (one call per side each)")
    parser.add_argument("--blocks", type=int, default=5, help="blocks of rounds for the spread")
    args = parser.parse_args()
    print(f"{'server':22} {'raw median':>11}   " + "   ".join(f"{name:>20}" for name in SIDES[1:]))
    for label, (argv, tool, arguments) in SERVERS.items():
        times = asyncio.run(measure(argv, tool, arguments, args.calls))
        found = ratios(times, args.blocks)
        cells = [f"{found[name][0]:.3f} ({found[name][1]:.2f}-{found[name][2]:.2f})" for name in SIDES[1:]]
        print(f"{label:22} {statistics.median(times['raw']) * 1e6:8.0f} us   " + "   ".join(f"{c:>20}" for c in cells))
    print(f"ratios to the raw median (lowest-highest over {args.blocks} blocks); {args.calls} rounds in shuffled "
          "order, each side its own server process. Target: mcpnb <= 1.10; 'raw again' is the control.")


if __name__ == "__main__":
    main()
