"""Results as tables, measured side by side in one run.

    python benchmarks/frames.py [--rows 50000] [--repeats 7]

1. Call plus table. One in-process server returns ``rows`` records as
   structured content. The raw side is ``await Client.call_tool`` followed by
   ``pd.DataFrame.from_records``; mcpnb's side is ``server.call(...).df``,
   which also applies every rule in mcpnb.frames (nesting checks, ISO dates
   parsed, provenance in attrs). Calls alternate; the figure is the ratio of
   median times. Target: at most 1.10.
2. Fan-out. ``server.map`` of 64 calls to a tool that sleeps 50 ms, at
   concurrency 16, against a loop of ``server.call`` one after another.
   Target: map at least 12x faster.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import pandas as pd
from mcp.client.client import Client
from mcp.server.mcpserver import MCPServer

import mcpnb


def table_server(rows: int) -> MCPServer:
    server = MCPServer("tables")
    records = [{"id": i, "customer": f"customer {i % 997}", "amount": round(i * 1.25, 2),
                "status": ("paid", "refunded", "cancelled")[i % 3],
                "created_at": f"2026-{i % 12 + 1:02d}-{i % 28 + 1:02d}T10:{i % 60:02d}:00"} for i in range(rows)]

    @server.tool(structured_output=True)
    def orders() -> list[dict[str, Any]]:
        """Every order."""
        return records

    @server.tool()
    async def lookup(key: int) -> dict[str, Any]:
        """Take 50 ms, like a call to a slow backend."""
        await asyncio.sleep(0.05)
        return {"key": key, "found": True}

    return server


def fan_out(calls: int = 64, concurrency: int = 16) -> tuple[float, float]:
    server = mcpnb.connect(table_server(1), name="fanout")
    rows = [{"key": k} for k in range(calls)]
    server.call("lookup", key=-1)  # warm
    started = time.perf_counter()
    for row in rows:
        server.call("lookup", row)
    sequential = time.perf_counter() - started
    started = time.perf_counter()
    frame = server.map("lookup", rows, concurrency=concurrency, progress=False)
    mapped = time.perf_counter() - started
    assert frame["key"].tolist() == list(range(calls)) and frame["error"].isna().all()
    server.close()
    return sequential, mapped


async def measure(rows: int, repeats: int) -> tuple[float, float]:
    source = table_server(rows)
    server = mcpnb.connect(source, name="tables")
    raw_times, mcpnb_times = [], []
    async with Client(source) as client:
        await client.list_tools()
        server.tools
        for _ in range(repeats):
            started = time.perf_counter()
            result = await client.call_tool("orders", {})
            raw = pd.DataFrame.from_records(result.structured_content["result"])
            middle = time.perf_counter()
            ours = server.call("orders").df
            mcpnb_times.append(time.perf_counter() - middle)
            raw_times.append(middle - started)
            assert len(raw) == len(ours) == rows
    server.close()
    return statistics.median(raw_times), statistics.median(mcpnb_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    raw, ours = asyncio.run(measure(args.rows, args.repeats))
    print(f"{'':34} {'raw SDK + from_records':>24} {'mcpnb call().df':>16} {'ratio':>7}")
    print(f"{f'call + table, {args.rows:,} rows':34} {raw * 1e3:21.0f} ms {ours * 1e3:13.0f} ms {ours / raw:7.3f}")
    print("target: ratio <= 1.10")
    sequential, mapped = fan_out()
    print(f"{'64 calls of 50 ms, concurrency 16':34} {'sequential loop':>24} {'server.map':>16} {'speed-up':>9}")
    print(f"{'':34} {sequential * 1e3:21.0f} ms {mapped * 1e3:13.0f} ms {sequential / mapped:8.1f}x")
    print("target: speed-up >= 12x")


if __name__ == "__main__":
    main()
