"""Demo MCP servers standing in for real business systems, backed by SQLite.

Run one with ``python -m mcpnb.demo NAME`` (stdio) or
``python -m mcpnb.demo NAME --http PORT`` (Streamable HTTP on 127.0.0.1), or
connect from Python with ``mcpnb.connect("demo:NAME")``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from mcp.server.mcpserver import MCPServer

DEMO_SYSTEMS = ("helpdesk", "cms", "timesheet", "crm")

__all__ = ["DEMO_SYSTEMS", "system", "build_server", "reset"]


def system(name: str) -> ModuleType:
    """The module of the demo system ``name``."""
    if name not in DEMO_SYSTEMS:
        raise ValueError(f"There is no demo system {name!r} (there are: {', '.join(DEMO_SYSTEMS)}).")
    return importlib.import_module(f"mcpnb.demo.{name}")


def build_server(name: str, *, database: str | Path | None = None, reset: bool = False) -> MCPServer:
    """An in-process demo server, its database opened (and seeded if new)."""
    from .store import open_database

    module = system(name)
    db = open_database(module, Path(database) if database else None, reset=reset)
    return module.build(db)


def reset(name: str) -> None:
    """Restore ``name``'s seed data, as ``python -m mcpnb.demo NAME --reset-only`` does.

    For notebooks that write: run it first, and every run shows the same numbers.
    (A server already connected keeps its open database file: reset before connecting.)
    """
    from .store import open_database

    open_database(system(name), reset=True).close()
