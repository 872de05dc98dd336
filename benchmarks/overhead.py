"""Per-call cost of ``Server.call`` and ``acall`` against the raw SDK's ``Client.call_tool``.

    python benchmarks/overhead.py [--calls 1500] [--blocks 5] [--transport stdio|http|both]

Six sides call the same tool of the same server program, each with a server
process of its own, in this one process:

- raw: the SDK's ``Client.call_tool``, awaited on this process's event loop;
- raw again: a second raw client, the control (its ratio shows what noise and
  position alone do; it should read 1.00);
- raw+hop: a raw client that lives on mcpnb's loop thread, called from sync
  code through ``mcpnb.runtime.run``: the cost of the thread hop alone, which
  every synchronous call pays (the floor for ``Server.call``);
- mcpnb: ``Server.call`` as a notebook cell uses it: argument validation, the
  hop to mcpnb's loop thread and back, a progress token (so a bar can show; the
  raw call sends none), the result wrapped;
- progress=False: the same without the progress token;
- acall: ``await Server.acall`` from this process's event loop (a hop there and
  a hop back).

Rows: the echo tool of benchmarks/echo_server.py and a demo tool over stdio,
and the echo tool over Streamable HTTP (a server process per side on 127.0.0.1).
Each round makes one call per side in a shuffled order (seeded, so runs
repeat), so that every side follows every other about equally often: a call
right after another runs faster (over stdio to the same server process by
about 16%, and even to another process through the same client code, whose
caches are warm), and a fixed rotation left the control side 5% "faster". A figure is the ratio of the median
per-call time of a side to the raw side's; the spread is the lowest and
highest of the same ratio taken over ``--blocks`` consecutive blocks of rounds.
Target: mcpnb at most 1.05.

Under each row, "client CPU" is the median CPU time a call costs this process
(every thread: the loop's work counts), raw's and what each side spends more.
It varies far less than the time and says what the extra is made of: the hop
(raw+hop) is mostly waking threads, which on this two-core VM costs more CPU
than all of mcpnb's own work on the loop.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
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
from mcpnb import runtime

ECHO = [sys.executable, str(Path(__file__).with_name("echo_server.py"))]
SERVERS = {
    "echo (trivial tool)": ("stdio", ECHO, "echo", {"text": "hello"}),
    "helpdesk get_order": ("stdio", [sys.executable, "-m", "mcpnb.demo", "helpdesk"], "get_order", {"order_id": 42}),
    "echo over HTTP": ("http", ECHO, "echo", {"text": "hello"}),
}
SIDES = ("raw", "raw again", "raw+hop", "mcpnb", "progress=False", "acall")


@contextlib.contextmanager
def http_servers(argv: list[str], count: int) -> Iterator[list[str]]:
    """``count`` processes of ``argv --http PORT`` on 127.0.0.1; their URLs, once each port answers."""
    processes, ports = [], []
    try:
        for _ in range(count):
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                ports.append(probe.getsockname()[1])
            processes.append(subprocess.Popen([*argv, "--http", str(ports[-1])], stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL))
        for port, process in zip(ports, processes):
            deadline = time.monotonic() + 30
            while True:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server on port {port} did not start")
                time.sleep(0.05)
        yield [f"http://127.0.0.1:{port}/mcp" for port in ports]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)


async def measure(targets: list[Any], tool: str, arguments: dict[str, Any], calls: int,
                  cpu: dict[str, list[float]]) -> dict[str, list[float]]:
    """Per-call seconds of each side, round by round, in shuffled order (``targets``: one per side);
    each call's CPU seconds in this process go in ``cpu``."""
    raw_target, control_target, hop_target, loud_target, quiet_target, awaited_target = targets
    loud = mcpnb.connect(loud_target, name="bench")
    quiet = mcpnb.connect(quiet_target, name="bench-quiet")
    awaited = mcpnb.connect(awaited_target, name="bench-acall")
    hopped = await _open_on_mcpnb_loop(hop_target)
    async with Client(raw_target) as raw, Client(control_target) as control:
        for client in (raw, control):
            await client.list_tools()  # every side starts with the tool listing in hand
        loud.tools, quiet.tools, awaited.tools

        async def raw_call() -> None:
            await raw.call_tool(tool, arguments)

        async def control_call() -> None:
            await control.call_tool(tool, arguments)

        async def hop_call() -> None:
            runtime.run(hopped.client.call_tool(tool, arguments))  # sync, as Server.call waits

        async def mcpnb_call() -> None:
            loud.call(tool, arguments)  # the sync API, as a cell uses it (this loop is idle meanwhile)

        async def quiet_call() -> None:
            quiet.call(tool, arguments, progress=False)

        async def awaited_call() -> None:
            await awaited.acall(tool, arguments)

        sides: list[tuple[str, Callable[[], Any]]] = list(zip(SIDES, (raw_call, control_call, hop_call, mcpnb_call,
                                                                      quiet_call, awaited_call)))
        for _ in range(20):  # warm up every side
            for _, call in sides:
                await call()
        times = await shuffled_rounds(sides, calls, cpu=cpu)
    runtime.run(hopped.close())
    for server in (loud, quiet, awaited):
        server.close()
    return times


class _OnMcpnbLoop:
    """A raw SDK client entered and left by one task on mcpnb's loop (as a connection is held there)."""

    def __init__(self, target: Any) -> None:
        self.target, self.client = target, None
        self._ready, self._done, self._closing = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def hold(self) -> None:
        try:
            async with Client(self.target) as client:
                await client.list_tools()
                self.client = client
                self._ready.set()
                await self._closing.wait()
        finally:
            self._ready.set()
            self._done.set()

    async def close(self) -> None:
        self._closing.set()
        await self._done.wait()


async def _open_on_mcpnb_loop(target: Any) -> _OnMcpnbLoop:
    async def start() -> _OnMcpnbLoop:
        holder = _OnMcpnbLoop(target)
        asyncio.get_running_loop().create_task(holder.hold())
        await holder._ready.wait()
        assert holder.client is not None, "the raw client on mcpnb's loop did not connect"
        return holder

    return runtime.run(start())


async def shuffled_rounds(sides: list[tuple[str, Callable[[], Any]]], rounds: int,
                          after_round: Callable[[int, dict[str, list[float]]], Any] | None = None,
                          cpu: dict[str, list[float]] | None = None) -> dict[str, list[float]]:
    """Seconds of each side's call, round by round, the sides in a new (seeded) order each round;
    ``after_round(number, times)`` is called after each (to print progress on long rounds). ``cpu``,
    if given, gets each call's CPU seconds in this process (every thread of it: the loop's too)."""
    times: dict[str, list[float]] = {name: [] for name, _ in sides}
    if cpu is not None:
        cpu.update({name: [] for name, _ in sides})
    clock, cpu_clock = time.perf_counter, time.process_time
    order = random.Random(2026)
    sides = list(sides)
    for number in range(rounds):
        order.shuffle(sides)
        for name, call in sides:
            started, used = clock(), cpu_clock()
            await call()
            times[name].append(clock() - started)
            if cpu is not None:
                cpu[name].append(cpu_clock() - used)
        if after_round is not None:
            after_round(number, times)
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
    parser.add_argument("--transport", choices=("stdio", "http", "both"), default="both")
    args = parser.parse_args()
    print(f"{'server':20} {'raw median':>10}  " + "  ".join(f"{name:>18}" for name in SIDES[1:]))
    for label, (kind, argv, tool, arguments) in SERVERS.items():
        if args.transport not in (kind, "both"):
            continue
        with contextlib.ExitStack() as stack:
            if kind == "http":
                urls = stack.enter_context(http_servers(argv, len(SIDES)))
                targets: list[Any] = list(urls)
            else:
                params = StdioServerParameters(command=argv[0], args=argv[1:])
                targets = [params, params, params, argv, argv, argv]  # mcpnb takes the command line itself
            cpu: dict[str, list[float]] = {}
            times = asyncio.run(measure(targets, tool, arguments, args.calls, cpu))
        found = ratios(times, args.blocks)
        cells = [f"{found[name][0]:.3f} ({found[name][1]:.2f}-{found[name][2]:.2f})" for name in SIDES[1:]]
        print(f"{label:20} {statistics.median(times['raw']) * 1e6:7.0f} us  " + "  ".join(f"{c:>18}" for c in cells))
        used = {name: statistics.median(values) * 1e6 for name, values in cpu.items()}
        print(f"{'  client CPU':20} {used['raw']:7.0f} us  "
              + "  ".join(f"{used[name] - used['raw']:+15.0f} us" for name in SIDES[1:]))
    print(f"ratios to the raw median (lowest-highest over {args.blocks} blocks); {args.calls} rounds in shuffled "
          "order, each side its own server process. Target: mcpnb <= 1.05; 'raw again' is the control; "
          "'raw+hop' is the thread hop alone. 'client CPU': the median CPU time of a call in this process (all "
          "its threads), and what each side spends more than raw.")


if __name__ == "__main__":
    main()
