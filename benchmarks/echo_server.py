"""The smallest useful MCP server: one tool that returns its argument, and one that waits first.

With the server doing next to nothing, a benchmark sees the client's own cost.
``slow_echo`` stands in for a backend that takes 20 ms, for fan-out: it awaits
(a sleeping ``def`` tool would hold one of the server's worker threads).

    python benchmarks/echo_server.py              # stdio
    python benchmarks/echo_server.py --http PORT  # Streamable HTTP on 127.0.0.1:PORT at /mcp
"""

import argparse

import anyio
from mcp.server.mcpserver import MCPServer

server = MCPServer("echo")


@server.tool()
def echo(text: str) -> str:
    """Return the text."""
    return text


@server.tool()
async def slow_echo(text: str, seconds: float = 0.02) -> str:
    """Wait ``seconds`` (20 ms unless told), then return the text."""
    await anyio.sleep(seconds)
    return text


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A trivial MCP server for benchmarks (stdio unless --http).")
    parser.add_argument("--http", type=int, metavar="PORT", help="serve Streamable HTTP on 127.0.0.1:PORT at /mcp")
    port = parser.parse_args().http
    if port is None:
        server.run()
    else:
        server.run("streamable-http", host="127.0.0.1", port=port)
