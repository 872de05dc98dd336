"""mcpnb: a Jupyter-native toolkit for the Model Context Protocol.

    import mcpnb
    server = mcpnb.connect("demo:helpdesk")
    server.tools                       # what it offers
    server.call("search_events", query="jazz").structured

Everything works from plain scripts as well as notebooks; each blocking
method has an async twin (``acall``, ``aread`` ...) for ``await`` in a cell.
In a notebook, ``%load_ext mcpnb`` adds the ``%mcp`` magics (``%mcp?``).
Under ``Server`` lies ``server.session`` (``mcpnb.session.Session``): every
verb as a keyword-only coroutine on mcpnb's loop, for code that builds on it.

How the package is layered. A module imports only from the layers below
its own, at module level; ``tests/test_imports.py`` checks this::

    1 ground      errors, version, runtime, masking, process, schema, fields, line,
                  config, listings, results, frames, render, streams, excerpt, trace, traceframe,
                  events, tokens, tokenizer, export, preview, schemadiff, snapshot, similarity, llm,
                  checkpoint
    2 connection  targets, unreadable, connection, workerspec
    3 answering   handlers, progress, login, auth
    4 options     options
    5 session     catalog, subscriptions, session, fanout, apps
    6 server      registry, server, serving, lint, chat, evals, dask, daskworker
    7 surface     magics, widgets/*
    8 package     this file: the public names (those a connection does not need, such as lint and
                  chat, loaded on first use) and %load_ext, which loads the magics lazily;
                  __main__: ``python -m mcpnb lint`` and ``python -m mcpnb eval``

Eight imports go upward, each lazily inside the one function that needs it
and commented there: ``Server.explore`` (the explorer widget),
``Server.app`` (the frame an MCP App runs in),
``TraceFrame.view`` (the wire as a live sequence: ``server.trace.view()``),
``Answers.asker`` (the widget forms that answer a server),
``Progress._make`` (the in-cell progress widget), ``_Asking._make_view``
(the in-cell sign-in widget), ``chat._ask_in_widget`` (the in-cell prompt
that approves a model's tool call), and ``preview._other_servers`` (the open
connections, for the token total of all of them). Type-only imports
(``if TYPE_CHECKING:``) do not count. The demo servers (``mcpnb.demo``) use
only the SDK and are imported by ``targets`` only to list their names.
``mcpnb.dask`` (map over a Dask DataFrame) imports Dask only when a map is
made: ``pip install "mcpnb[dask]"``.
"""

from __future__ import annotations

import importlib as _importlib
import sys as _sys
import types as _types
import typing as _typing

from . import errors
from .errors import *  # noqa: F403  (the error tree; its __all__ is the one list of names)
from .auth import AuthStatus, ClientCredentials, OAuth
from .handlers import Ask, ElicitationRequest, SamplingRequest
from .listings import Listing, Prompt, Resource, ResourceTemplate, Tool
from .options import UNSET, ConnectOptions
from .results import Completions, PromptResult, ResourceResult, ServerInfo, ToolResult
from .server import Server, SignedOut, aconnect, close_all, connect, logout, servers
from .session import Session
from .version import __version__

if _typing.TYPE_CHECKING:
    from typing import Any

    from .chat import Chat, chat
    from .evals import Evaluation, evaluate
    from .fanout import RateLimit
    from .export import Export
    from .lint import lint
    from .llm import Model, llm
    from .preview import Preview
    from .serving import aserve, serve
    from .snapshot import Snapshot, diff

# Public names loaded on first use, and their modules: a connection and its calls need none of them.
# lint, evaluate and Snapshot bring pandas (half of what `import mcp` costs), the rest a few milliseconds
# each, which `import mcpnb` and `%load_ext mcpnb` need not pay either.
_ON_FIRST_USE = {
    "serve": "serving", "aserve": "serving", "Export": "export", "lint": "lint", "llm": "llm", "Model": "llm",
    "chat": "chat", "Chat": "chat", "evaluate": "evals", "Evaluation": "evals", "Preview": "preview",
    "Snapshot": "snapshot", "diff": "snapshot", "RateLimit": "fanout",
}
# Submodules reachable as attributes without an import of their own (mcpnb.dask.map, connections).
_SUBMODULES = {"dask"}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:  # importing it binds it here, so this runs once
        return _importlib.import_module(f".{name}", __name__)
    module = _ON_FIRST_USE.get(name)
    if module is None:
        raise AttributeError(f"module 'mcpnb' has no attribute {name!r}")
    value = getattr(_importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_ON_FIRST_USE, *_SUBMODULES})


class _Package(_types.ModuleType):
    """This package's module type. Importing a submodule binds its name on the package, and
    ``mcpnb.lint``, ``mcpnb.llm`` and ``mcpnb.chat`` are functions named like their modules: the
    function stays (as it did when this file imported them at once)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, _types.ModuleType) and _ON_FIRST_USE.get(name) == name:
            return
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package


def load_ipython_extension(shell):  # noqa: ANN001, ANN201  (IPython's hook)
    """``%load_ext mcpnb``: register %mcp, %%mcp and their tab completion."""
    from .magics import load  # lazily: scripts that use the library never import IPython's magics

    load(shell)


__all__ = [
    "connect",
    "aconnect",
    "serve",
    "aserve",
    "lint",
    "diff",
    "llm",
    "Model",
    "chat",
    "Chat",
    "evaluate",
    "Evaluation",
    "RateLimit",
    "Snapshot",
    "Preview",
    "Export",
    "servers",
    "close_all",
    "logout",
    "OAuth",
    "ClientCredentials",
    "AuthStatus",
    "SignedOut",
    "Server",
    "Session",
    "ConnectOptions",
    "UNSET",
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
    "Ask",
    "ElicitationRequest",
    "SamplingRequest",
    "__version__",
    *errors.__all__,
]
