"""Results as tables: mcpnb's ``call(...).df`` against the raw SDK plus pandas.

    python benchmarks/frames.py [--rows 50000] [--repeats 7]

One in-process server returns ``rows`` records as structured content. The raw
side is ``await Client.call_tool`` followed by ``pd.DataFrame.from_records``;
mcpnb's side is ``server.call(...).df``, which also applies every rule in
mcpnb.frames (nesting checks, ISO dates parsed, provenance in attrs). Calls
alternate; the figure is the ratio of median times. Target: at most 1.10.
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

    return server


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


if __name__ == "__main__":
    main()
