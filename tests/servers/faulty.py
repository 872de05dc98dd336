"""A test MCP server that misbehaves on request: crashes, hangs, floods, slow work.

    python faulty.py [--fail-start CODE] [--hang-start] [--stubborn] [--http PORT]

--fail-start CODE  write an error to stderr and exit with CODE before serving
--hang-start       never answer anything (nor read stdin)
--stubborn         ignore SIGTERM and the end of stdin, so only SIGKILL stops it
--http PORT        serve Streamable HTTP on 127.0.0.1:PORT instead of stdio
--tag TEXT         ignored; marks the process so a test can find it
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp_types import ToolAnnotations

mcp = MCPServer("faulty", instructions="A server for fault tests.")
received = {"calls": 0}


def count() -> None:
    received["calls"] += 1


@mcp.tool()
def echo(text: str) -> str:
    """Return the text."""
    count()
    return text


@mcp.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    count()
    return a + b


@mcp.tool()
def calls() -> int:
    """How many tool calls reached this server (this one included)."""
    count()
    return received["calls"]


@mcp.tool()
async def slow(seconds: float, ctx: Context, marker: str | None = None, quiet: bool = False) -> str:
    """Sleep, reporting progress (unless quiet); write 'cancelled' to marker if cancelled."""
    count()
    steps = max(1, int(seconds * 20))
    try:
        for step in range(steps):
            if not quiet:
                await ctx.report_progress(step, steps)
            await anyio.sleep(seconds / steps)
    except anyio.get_cancelled_exc_class():
        if marker:
            Path(marker).write_text("cancelled")
        raise
    if marker:
        Path(marker).write_text("finished")
    return "done"


@mcp.tool()
def crash(code: int = 3) -> str:
    """Write to stderr and exit the process at once."""
    print("fatal: the database went away", file=sys.stderr, flush=True)
    os._exit(code)


@mcp.tool()
def flood_stderr(megabytes: int = 5) -> str:
    """Write a lot to stderr, then answer."""
    count()
    line = "x" * 1023 + "\n"
    for _ in range(megabytes * 1024):
        sys.stderr.write(line)
    sys.stderr.flush()
    return "still here"


@mcp.tool()
def print_env(name: str) -> str:
    """Write an environment variable to stderr; return whether it was set."""
    count()
    print(f"{name}={os.environ.get(name)}", file=sys.stderr, flush=True)
    return "set" if name in os.environ else "unset"


@mcp.tool()
async def add_tool(name: str, ctx: Context) -> str:
    """Register a new tool called name and announce that the tool list changed."""
    count()

    def added() -> str:
        return f"I am {name}"

    mcp.add_tool(added, name=name, description="Added at run time.")
    await ctx.notify_tools_changed()  # 2026-07-28: subscriptions/listen
    if ctx.protocol_version and ctx.protocol_version < "2026":
        await ctx.session.send_tool_list_changed()  # 2025-11-25: a notification
    return f"added {name}"


per_row: dict[str, int] = {}  # lookup and append_row calls by "tool:n"


async def _row(tool: str, n: int, stall: float, crash_once: str | None = None,
               marker: str | None = None) -> dict[str, int]:
    count()
    key = f"{tool}:{n}"
    per_row[key] = per_row.get(key, 0) + 1
    if crash_once and not Path(crash_once).exists():
        Path(crash_once).write_text("crashed")
        print(f"crashing on {key}", file=sys.stderr, flush=True)
        os._exit(5)
    if per_row[key] == 1 and stall:
        try:
            await anyio.sleep(stall)
        except anyio.get_cancelled_exc_class():
            if marker:
                Path(marker).write_text("cancelled")
            raise
    if n < 0:
        raise ValueError(f"no row {n}")
    return {"n": n, "square": n * n}


@mcp.tool(annotations=ToolAnnotations(read_only_hint=True))
async def lookup(n: int, stall: float = 0.0, crash_once: str | None = None,
                 marker: str | None = None) -> dict[str, int]:
    """n and its square. The first call for each n waits `stall` seconds first (writing 'cancelled' to
    marker if cancelled meanwhile); a negative n is the tool's own error; with crash_once, the server exits
    at once (every call under way is lost) unless that file exists, and writes it first."""
    return await _row("lookup", n, stall, crash_once, marker)


@mcp.tool()
async def append_row(n: int, stall: float = 0.0) -> dict[str, int]:
    """As lookup, with no annotations: a client must take it for a write that is not safe to repeat."""
    return await _row("append_row", n, stall)


@mcp.tool()
def tally() -> dict[str, int]:
    """How many calls lookup and append_row received for each n, as {"lookup:3": 2, ...}."""
    return dict(per_row)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fail-start", type=int)
    parser.add_argument("--hang-start", action="store_true")
    parser.add_argument("--stubborn", action="store_true")
    parser.add_argument("--http", type=int)
    parser.add_argument("--tag", help="ignored: lets a test find its own processes")
    args = parser.parse_args()
    if args.fail_start is not None:
        print("Traceback (most recent call last):\n  ...\nRuntimeError: missing setting HELPDESK_URL",
              file=sys.stderr, flush=True)
        sys.exit(args.fail_start)
    if args.hang_start:
        print("starting, but never answering", file=sys.stderr, flush=True)
        while True:
            time.sleep(1)
    if args.stubborn:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print(f"faulty server pid {os.getpid()}", file=sys.stderr, flush=True)
    if args.http:
        mcp.run("streamable-http", host="127.0.0.1", port=args.http)
    else:
        mcp.run()
    if args.stubborn:  # outlive stdin's end too: only a kill stops it now
        print("stdin closed, staying anyway", file=sys.stderr, flush=True)
        while True:
            time.sleep(1)


if __name__ == "__main__":
    main()
