"""The smallest useful MCP server: one tool that returns its argument.

With the server doing next to nothing, a benchmark sees the client's own cost.
"""

from mcp.server.mcpserver import MCPServer

server = MCPServer("echo")


@server.tool()
def echo(text: str) -> str:
    """Return the text."""
    return text


if __name__ == "__main__":
    server.run()
