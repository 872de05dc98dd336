"""What the trace holds after a large result, and what keeping it bounded costs a small call.

    python benchmarks/trace_memory.py [--rows 100000] [--rounds 2] [--calls 1500] [--blocks 5]

1. Memory. Each side calls a tool that returns ``--rows`` orders (an answer of
   28 MB of JSON for 100,000: the rows as text and as structured content;
   ``rows_server.py``), makes its table, makes one small call (the
   SDK's reader holds the last message it received until the next one, on every
   side), lets go of the result and the table, and waits half a second. Held is
   the memory traced (``tracemalloc``, in a process of its own started with it)
   then, less before the call. Sides, each with its own server process, in a
   new order each round:

   - raw: the SDK's ``Client.call_tool`` and ``pd.DataFrame``; it keeps nothing;
   - mcpnb: ``server.call(...).df`` with the trace as it is now (a large message
     kept as a summary and its first kilobytes, nobody reading the trace);
   - keep_full: the same with ``server.trace.keep_full()``, which keeps messages
     whole, as the trace did before (issue 16 measured 67.8 MB held).

   Printed: MB held (median, lowest-highest over rounds); what is still held
   after ``trace.clear()``, and after ``session.seen_structured.clear()`` too
   (the recent structured results lint's output check reads, which share the
   rows with a whole message in the trace); and the ratio of the process's
   traced memory after the call to the raw side's (1.00: nothing more kept).
2. Per call. Small calls to the echo server, as in overhead.py (shuffled
   rounds, each side its own server process): raw, raw again (the control),
   mcpnb with the bounded trace, mcpnb again (its control), and mcpnb with
   ``keep_full()`` (nothing is cut, and the size check after the calls is
   skipped: the old trace's cost). The figures are the ratios of medians to raw,
   and of mcpnb to keep_full (the cost of keeping the size bounded) beside
   mcpnb again to mcpnb (what noise alone does to that ratio), lowest-highest
   over ``--blocks`` blocks.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).parent
ROWS = [sys.executable, str(HERE / "rows_server.py")]
ECHO = [sys.executable, str(HERE / "echo_server.py")]
MEMORY_SIDES = ("raw", "mcpnb", "keep_full")
CALL_SIDES = ("raw", "raw again", "mcpnb", "mcpnb again", "keep_full")


def traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def memory(rows: int, rounds: int) -> dict[str, dict[str, list[float]]]:
    """Bytes held after each side's large call, round by round (this process runs under tracemalloc)."""
    import pandas as pd
    from mcp.client.client import Client
    from mcp.client.stdio import StdioServerParameters

    import mcpnb

    found: dict[str, dict[str, list[float]]] = {side: {"held": [], "no trace": [], "neither": [], "after": []}
                                                for side in MEMORY_SIDES}
    servers = {"mcpnb": mcpnb.connect(ROWS, name="rows"), "keep_full": mcpnb.connect(ROWS, name="rows-whole")}
    servers["keep_full"].trace.keep_full()
    async with Client(StdioServerParameters(command=ROWS[0], args=ROWS[1:])) as raw:
        await raw.call_tool("orders", {"rows": 10})
        for server in servers.values():
            server.call("orders", rows=10).df
            server.trace

        async def one(side: str) -> None:
            before = traced()
            if side == "raw":
                result = await raw.call_tool("orders", {"rows": rows})
                table = pd.DataFrame(result.structured_content["orders"])
                await raw.call_tool("orders", {"rows": 1})
            else:
                result = servers[side].call("orders", rows=rows)
                table = result.df
                servers[side].call("orders", rows=1)
            assert len(table) == rows
            del result, table
            await asyncio.sleep(0.5)  # mcpnb settles its trace on its own shortly after a message
            held = traced()
            found[side]["after"].append(held)
            found[side]["held"].append(held - before)
            if side != "raw":
                session = servers[side].session
                session.trace.clear()
                found[side]["no trace"].append(traced() - before)
                session.seen_structured.clear()
                found[side]["neither"].append(traced() - before)

        order = random.Random(2026)
        sides = list(MEMORY_SIDES)
        for _ in range(rounds):
            order.shuffle(sides)
            for side in sides:
                await one(side)
    for server in servers.values():
        server.close()
    return found


def print_memory(found: dict[str, dict[str, list[float]]], rows: int) -> None:
    def mb(values: list[float]) -> str:
        low, middle, high = (round(v / 1e6, 1) + 0.0 for v in (min(values), statistics.median(values), max(values)))
        return f"{middle:7.1f} ({low:.1f}-{high:.1f})"  # + 0.0: a few bytes less than before reads 0.0, not -0.0

    print(f"Memory held after a {rows:,}-row result and its table are deleted (MB, median and lowest-highest "
          f"over {len(found['raw']['held'])} rounds)")
    print(f"{'side':10} {'held':>20} {'after trace.clear()':>22} {'and seen_structured':>22} {'process vs raw':>15}")
    raw_after = statistics.median(found["raw"]["after"])
    for side in MEMORY_SIDES:
        values = found[side]
        ratio = statistics.median(values["after"]) / raw_after
        cleared = mb(values["no trace"]) if values["no trace"] else "-"
        neither = mb(values["neither"]) if values["neither"] else "-"
        print(f"{side:10} {mb(values['held']):>20} {cleared:>22} {neither:>22} {ratio:14.2f}x")
    print("process vs raw: traced memory after the call against the raw side's (1.00: nothing more kept).")


async def per_call(calls: int, blocks: int) -> None:
    from mcp.client.client import Client
    from mcp.client.stdio import StdioServerParameters

    import mcpnb
    from overhead import ratios, shuffled_rounds  # this folder is on sys.path when a benchmark runs as a script

    params = StdioServerParameters(command=ECHO[0], args=ECHO[1:])
    bounded = mcpnb.connect(ECHO, name="bounded")
    again = mcpnb.connect(ECHO, name="bounded-again")
    whole = mcpnb.connect(ECHO, name="whole")
    whole.trace.keep_full()
    arguments = {"text": "hello"}
    async with Client(params) as raw, Client(params) as control:
        for client in (raw, control):
            await client.list_tools()
        bounded.tools, again.tools, whole.tools

        async def raw_call() -> None:
            await raw.call_tool("echo", arguments)

        async def control_call() -> None:
            await control.call_tool("echo", arguments)

        async def bounded_call() -> None:
            bounded.call("echo", arguments)

        async def again_call() -> None:
            again.call("echo", arguments)

        async def whole_call() -> None:
            whole.call("echo", arguments)

        sides = list(zip(CALL_SIDES, (raw_call, control_call, bounded_call, again_call, whole_call)))
        for _ in range(20):
            for _, call in sides:
                await call()
        times = await shuffled_rounds(sides, calls)
    for server in (bounded, again, whole):
        server.close()
    found = ratios(times, blocks)
    cost = ratios({"raw": times["keep_full"], "mcpnb": times["mcpnb"]}, blocks)["mcpnb"]
    noise = ratios({"raw": times["mcpnb"], "mcpnb": times["mcpnb again"]}, blocks)["mcpnb"]
    print(f"\nPer small call (echo over stdio), {calls} rounds in shuffled order; ratio of medians, "
          f"lowest-highest over {blocks} blocks")
    names = [*CALL_SIDES[1:], "mcpnb / keep_full", "again / mcpnb"]
    print(f"{'raw median':>12} " + " ".join(f"{name:>20}" for name in names))
    cells = [f"{found[name][0]:.3f} ({found[name][1]:.2f}-{found[name][2]:.2f})" for name in CALL_SIDES[1:]]
    cells += [f"{cost[0]:.3f} ({cost[1]:.2f}-{cost[2]:.2f})", f"{noise[0]:.3f} ({noise[1]:.2f}-{noise[2]:.2f})"]
    print(f"{statistics.median(times['raw']) * 1e6:9.0f} us " + " ".join(f"{cell:>20}" for cell in cells))
    print("'raw again' is the control (1.00); mcpnb / keep_full is what keeping the size bounded costs a call, "
          "'again / mcpnb' the same ratio between two identical sides (1.00).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the large result")
    parser.add_argument("--rounds", type=int, default=2, help="large calls per side (memory held varies little)")
    parser.add_argument("--calls", type=int, default=1500, help="rounds of small calls (one per side each)")
    parser.add_argument("--blocks", type=int, default=5, help="blocks of rounds for the spread")
    parser.add_argument("--part", choices=("all", "memory", "calls"), default="all")
    args = parser.parse_args()
    if args.part == "memory":
        if not tracemalloc.is_tracing():
            tracemalloc.start()
        print_memory(asyncio.run(memory(args.rows, args.rounds)), args.rows)
        return
    if args.part == "all":  # memory in a process of its own, traced from its start (and slowed by it)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-X", "tracemalloc", __file__, "--part", "memory", "--rows", str(args.rows),
                        "--rounds", str(args.rounds)], check=True)
        print(f"({time.perf_counter() - started:.0f} s)")
    asyncio.run(per_call(args.calls, args.blocks))


if __name__ == "__main__":
    main()
