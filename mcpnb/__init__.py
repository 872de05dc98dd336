"""mcpnb: a Jupyter-native toolkit for the Model Context Protocol.

    import mcpnb
    server = mcpnb.connect("demo:helpdesk")
    server.tools                       # what it offers
    server.call("search_events", query="jazz").structured

Everything works from plain scripts as well as notebooks; each blocking
method has an async twin (``acall``, ``aread`` ...) for ``await`` in a cell.
In a notebook, ``%load_ext mcpnb`` adds the ``%mcp`` magics (``%mcp?``).
"""

from .errors import (
    ConfigError,
    ConnectError,
    ConnectionClosed,
    ConnectionLost,
    InvalidArguments,
    MCPNBError,
    NotFound,
    NotTabular,
    ProtocolError,
    RequestTimeout,
    CallCancelled,
    ServerError,
    ServerStartError,
    ToolError,
)
from .listings import Listing, Prompt, Resource, ResourceTemplate, Tool
from .results import Completions, PromptResult, ResourceResult, ServerInfo, ToolResult
from .server import Server, aconnect, close_all, connect, servers

__version__ = "0.1.0"


def load_ipython_extension(shell):  # noqa: ANN001, ANN201  (IPython's hook)
    """``%load_ext mcpnb``: register %mcp, %%mcp and their tab completion."""
    from .magics import load

    load(shell)

__all__ = [
    "connect",
    "aconnect",
    "servers",
    "close_all",
    "Server",
    "ServerInfo",
    "ToolResult",
    "ResourceResult",
    "PromptResult",
    "Completions",
    "Listing",
    "Tool",
    "Resource",
    "ResourceTemplate",
    "Prompt",
    "MCPNBError",
    "ConfigError",
    "ConnectError",
    "ServerStartError",
    "ConnectionLost",
    "ConnectionClosed",
    "NotFound",
    "InvalidArguments",
    "RequestTimeout",
    "CallCancelled",
    "ServerError",
    "ProtocolError",
    "ToolError",
    "NotTabular",
]
