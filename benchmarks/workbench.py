"""The designer's workbench on the four demo servers: token cost of their tool definitions, and
how long lint and the preview take, measured side by side in one run.

    python benchmarks/workbench.py [--repeats 7]

1. Tokens. Each demo's tool definitions in each provider's format, counted offline
   (tiktoken cl100k_base, as ``server.tools.preview()`` counts them).
2. Time. On an open connection: ``mcpnb.lint(server)`` and ``server.tools.preview()``
   (the listing is cached, so both measure their own work), against the raw SDK's
   ``tools/list`` round trip to a server process of its own (``Client.list_tools``) as the
   unit: lint's figure says how many listings its checks cost. Rounds alternate the sides
   in a shuffled order; the figure is the median with the lowest and highest round.
   Then ``mcpnb.lint("demo:NAME")`` whole: connect, lint, close.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time

from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

import mcpnb
from mcpnb.demo import DEMO_SYSTEMS
from mcpnb.export import PROVIDERS


def tokens(server: mcpnb.Server) -> dict[str, int]:
    return {provider: server.tools.preview(provider, count="offline").total for provider in PROVIDERS}


async def raw_listing_times(system: str, rounds: int) -> list[float]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "mcpnb.demo", system])
    times = []
    async with Client(params) as client:
        await client.list_tools()  # warm
        for _ in range(rounds):
            started = time.perf_counter()
            await client.list_tools()
            times.append(time.perf_counter() - started)
    return times


def spread(values: list[float], unit: float = 1e-3) -> str:
    return f"{statistics.median(values) / unit:7.1f} ({min(values) / unit:.1f}-{max(values) / unit:.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    repeats = parser.parse_args().repeats

    print("1. Tool definitions, tokens (offline, tiktoken cl100k_base)")
    print(f"{'demo':<10} {'tools':>5} " + " ".join(f"{p:>16}" for p in PROVIDERS))
    servers = {system: mcpnb.connect(f"demo:{system}") for system in DEMO_SYSTEMS}
    for system, server in servers.items():
        counted = tokens(server)
        print(f"{system:<10} {len(server.tools):>5} " + " ".join(f"{counted[p]:>16,}" for p in PROVIDERS))

    print(f"\n2. Time, ms: median (lowest-highest) of {repeats} rounds")
    print(f"{'demo':<10} {'raw tools/list':>22} {'lint':>22} {'lint / listing':>15} {'preview':>20}")
    for system, server in servers.items():
        mcpnb.lint(server)  # the first lint loads scikit-learn, jsonschema's metaschemas and the encoding
        raw_times = asyncio.run(raw_listing_times(system, repeats))
        lint_times, preview_times = [], []
        for _ in range(repeats):
            sides = [("lint", lambda: mcpnb.lint(server)), ("preview", lambda: server.tools.preview(count="offline"))]
            random.shuffle(sides)
            for name, work in sides:
                started = time.perf_counter()
                work()
                (lint_times if name == "lint" else preview_times).append(time.perf_counter() - started)
        ratio = statistics.median(lint_times) / statistics.median(raw_times)
        print(f"{system:<10} {spread(raw_times):>22} {spread(lint_times):>22} {ratio:>14.1f}x "
              f"{spread(preview_times):>20}")
    mcpnb.close_all()

    print("\n3. mcpnb.lint('demo:NAME'): connect, lint, close; seconds")
    for system in DEMO_SYSTEMS:
        whole = []
        for _ in range(3):
            started = time.perf_counter()
            found = mcpnb.lint(f"demo:{system}")
            whole.append(time.perf_counter() - started)
        connecting = found.attrs.get("connect_seconds", 0.0)
        print(f"{system:<10} {spread(whole, 1.0)} s (connecting {connecting:.2f} s of the last); "
              f"findings: {len(found)}")


if __name__ == "__main__":
    main()
