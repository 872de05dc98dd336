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
                  config, listings, results, frames, render, streams, trace, events, tokens,
                  tokenizer, export, preview, schemadiff, snapshot, similarity, llm
    2 connection  targets, unreadable, connection
    3 answering   handlers, progress, login, auth
    4 options     options
    5 session     catalog, subscriptions, session, apps
    6 server      registry, server, serving, lint, chat, evals
    7 surface     magics, widgets/*
    8 package     this file: the public names (and %load_ext, which loads the magics lazily);
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
"""

from . import errors
from .errors import *  # noqa: F403  (the error tree; its __all__ is the one list of names)
from .auth import AuthStatus, ClientCredentials, OAuth
from .handlers import Ask, ElicitationRequest, SamplingRequest
from .listings import Listing, Prompt, Resource, ResourceTemplate, Tool
from .options import UNSET, ConnectOptions
from .results import Completions, PromptResult, ResourceResult, ServerInfo, ToolResult
from .server import Server, SignedOut, aconnect, close_all, connect, logout, servers
from .serving import aserve, serve
from .export import Export
from .lint import lint
from .llm import Model, llm
from .chat import Chat, chat
from .evals import Evaluation, evaluate
from .preview import Preview
from .snapshot import Snapshot, diff
from .session import Session
from .version import __version__


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
