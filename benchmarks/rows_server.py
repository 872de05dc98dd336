"""A stdio server with one tool that returns ``rows`` records as structured content.

For benchmarks of large results: ``python benchmarks/rows_server.py``.
"""

from typing import Any

from mcp.server.mcpserver import MCPServer

server = MCPServer("rows")


@server.tool(structured_output=True)
def orders(rows: int = 100_000) -> dict[str, Any]:
    """``rows`` orders, the same ones each time, in an envelope (one text block and structured content)."""
    return {"total": rows, "orders": [{"id": i, "customer": f"customer {i % 997}", "amount": round(i * 1.25, 2),
             "status": ("paid", "refunded", "cancelled")[i % 3],
             "created_at": f"2026-{i % 12 + 1:02d}-{i % 28 + 1:02d}T10:{i % 60:02d}:00"} for i in range(rows)]}


if __name__ == "__main__":
    server.run()
