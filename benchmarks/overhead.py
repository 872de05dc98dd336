"""Per-call cost of ``Server.call`` against the raw SDK's ``Client.call_tool``.

Both talk to the same stdio server program (each its own process, as a client
would), in this one process. Calls alternate one by one between the two, so
that the noise of a shared machine falls on both alike; the figure is the
ratio of the median per-call times.

    python benchmarks/overhead.py [--calls 2000]

mcpnb's side includes everything a user's call does: argument validation
against the input schema, the hop to mcpnb's event-loop thread and back, a
progress token (so a progress bar can show; the raw call sends none), and
wrapping the result. The last column is the same call with ``progress=False``,
which shows what the progress token costs. Target: a ratio of at most 1.10.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

import mcpnb

SERVERS = {
    "echo (trivial tool)": ([sys.executable, str(Path(__file__).with_name("echo_server.py"))], "echo",
                            {"text": "hello"}),
    "helpdesk get_order": ([sys.executable, "-m", "mcpnb.demo", "helpdesk"], "get_order", {"order_id": 42}),
}


async def measure(argv: list[str], tool: str, arguments: dict, calls: int) -> tuple[float, float, float]:
    """Median seconds per call of each side, calls alternating one by one."""
    raw_times: list[float] = []
    mcpnb_times: list[float] = []
    quiet_times: list[float] = []
    clock = time.perf_counter
    server = mcpnb.connect(argv, name="bench")
    async with Client(StdioServerParameters(command=argv[0], args=argv[1:])) as client:
        await client.list_tools()  # both sides start with the tool listing in hand
        server.tools
        for _ in range(20):  # warm up both
            await client.call_tool(tool, arguments)
            server.call(tool, arguments)
        for _ in range(calls):
            started = clock()
            await client.call_tool(tool, arguments)
            middle = clock()
            # The sync API, as a notebook cell uses it. (It blocks this loop, which is idle meanwhile.)
            server.call(tool, arguments)
            after = clock()
            server.call(tool, arguments, progress=False)
            raw_times.append(middle - started)
            mcpnb_times.append(after - middle)
            quiet_times.append(clock() - after)
    server.close()
    return statistics.median(raw_times), statistics.median(mcpnb_times), statistics.median(quiet_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per side")
    args = parser.parse_args()
    print(f"{'server':24} {'raw SDK call_tool':>18} {'mcpnb Server.call':>18} {'ratio':>7} "
          f"{'progress=False':>15} {'ratio':>7}")
    for label, (argv, tool, arguments) in SERVERS.items():
        raw, ours, quiet = asyncio.run(measure(argv, tool, arguments, args.calls))
        print(f"{label:24} {raw * 1e6:15.0f} us {ours * 1e6:15.0f} us {ours / raw:7.3f} "
              f"{quiet * 1e6:12.0f} us {quiet / raw:7.3f}")
    print(f"target: ratio <= 1.10 (medians of {args.calls} alternating calls a side, same process, same server program)")


if __name__ == "__main__":
    main()
