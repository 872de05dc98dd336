"""What a person types as a target, turned into a transport the SDK understands.

=====================================  ===========================================
target                                 connection
=====================================  ===========================================
``"python -m mcpnb.demo helpdesk"``    stdio subprocess (split like a shell would)
``["node", "server.js"]``              stdio subprocess (argv list, no splitting)
``"http://127.0.0.1:8000/mcp"``        Streamable HTTP (``transport="sse"``: legacy
                                       HTTP+SSE)
an ``MCPServer`` or low-level Server   in-process, no subprocess
``"demo:helpdesk"``                    a bundled demo server over stdio
``"NAME"`` (one word)                  the entry NAME of an ``mcpServers`` file
=====================================  ===========================================

A ``Target`` describes itself without secrets (``describe()``) and knows the
secret values it carries (``secrets()``) so the connection can scrub them from
anything it shows.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.server import Server as LowLevelServer
from mcp.server.mcpserver import MCPServer

from . import config as config_files
from .errors import ConfigError
from .masking import mask_mapping, mask_url, url_secrets

if TYPE_CHECKING:
    from .options import ConnectOptions

__all__ = ["Target", "resolve", "transport_kind"]

TransportKind = Literal["stdio", "http", "sse", "inprocess"]

_TRANSPORT_ALIASES = {
    "stdio": "stdio",
    "http": "http",
    "streamable-http": "http",
    "streamable_http": "http",
    "streamablehttp": "http",
    "sse": "sse",
}

# Where demo servers keep their data (see mcpnb.demo.store).
_DEMO_ENV = ("MCPNB_DEMO_DIR", "XDG_DATA_HOME")

# Connect and write timeouts for HTTP; reads are bounded per request instead.
_HTTP_CONNECT_TIMEOUT = 30.0
_HTTP_READ_TIMEOUT = 300.0


@dataclass
class Target:
    """A resolved target: everything needed to open (and reopen) one connection."""

    kind: TransportKind
    name: str
    command: str | None = None
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    server: Any = None
    source: str | None = None  # where it came from, e.g. "config ./mcp.json"
    plain_env: tuple[str, ...] = ()  # env keys whose values are not secret (paths mcpnb passes on)
    entry: config_files.ConfigEntry | None = None  # the config entry it was made from (its options too)

    def __repr__(self) -> str:  # the fields hold secrets (env and header values); describe() masks them
        return f"<Target {self.name!r} {self.describe()}>"

    def describe(self) -> str:
        """One line saying what this connects to, with every secret masked."""
        if self.kind == "stdio":
            # This interpreter shows as "python": its full path means nothing in a shared notebook.
            command = "python" if self.command == sys.executable else (self.command or "")
            text = "stdio: " + shlex.join([command, *self.args])
            secret_env = {k: v for k, v in self.env.items() if k not in self.plain_env}
            if secret_env:
                text += f" env={mask_mapping(secret_env)}"
            if self.cwd:
                text += f" cwd={self.cwd}"
        elif self.kind in ("http", "sse"):
            text = f"{'Streamable HTTP' if self.kind == 'http' else 'HTTP+SSE'}: {mask_url(self.url or '')}"
            if self.headers:
                text += f" headers={mask_mapping(self.headers)}"
        else:
            own = getattr(self.server, "describe", None)  # a served notebook server says which definition is on
            text = "in-process: " + (own() if callable(own) else
                                     f"{type(self.server).__name__} {getattr(self.server, 'name', '')!r}")
        return text

    def secrets(self) -> list[str]:
        """Every secret value this target carries."""
        values = [v for k, v in self.env.items() if k not in self.plain_env] + list(self.headers.values())
        if self.url:
            values += url_secrets(self.url)
        return values

    def transport(self, errlog: IO[str] | None = None, *, max_event_size: int | None = None,
                  on_response: Any = None, auth: Any = None) -> Any:
        """What to hand to ``mcp.Client``: a fresh SDK transport or the server object.

        ``max_event_size``: the largest Streamable HTTP event read, in bytes (None: no limit);
        ``on_response``: an async hook that sees each HTTP response (Streamable HTTP);
        ``auth``: an ``httpx2.Auth`` for every HTTP request (see mcpnb.auth)."""
        if self.kind == "stdio":
            # Bytes that are not UTF-8 become U+FFFD: under "strict" one bad line killed the reader for good.
            params = StdioServerParameters(command=self.command or "", args=self.args, env=self.env or None,
                                           cwd=self.cwd, encoding_error_handler="replace")
            return stdio_client(params, errlog=errlog if errlog is not None else sys.stderr)
        if self.kind == "http":
            return _streamable_http(self.url or "", self.headers, max_event_size, on_response, auth)
        if self.kind == "sse":
            return sse_client(self.url or "", headers=self.headers or None, auth=auth)
        return self.server


@contextlib.asynccontextmanager
async def _streamable_http(url: str, headers: dict[str, str], max_event_size: int | None,
                           on_response: Any, auth: Any) -> AsyncIterator[Any]:
    """The SDK's Streamable HTTP transport on an HTTP client of ours, closed with it (the SDK leaves
    a client it was given open, and its keep-alive socket with it, until garbage collection)."""
    async with _http_client(headers, on_response, auth) as client:
        async with streamable_http_client(url, http_client=client, max_sse_event_size=max_event_size) as streams:
            yield streams


def _http_client(headers: dict[str, str], on_response: Any = None, auth: Any = None) -> Any:
    import httpx2

    timeout = httpx2.Timeout(_HTTP_CONNECT_TIMEOUT, read=_HTTP_READ_TIMEOUT)
    hooks = {"response": [on_response]} if on_response is not None else None
    return httpx2.AsyncClient(headers=headers or None, timeout=timeout, event_hooks=hooks, auth=auth)


def resolve(target: Any, options: ConnectOptions) -> Target:
    """Turn what the user passed into a Target, or raise ConfigError saying why not.

    Of the options, those that shape the target are read: name, config, env,
    cwd, headers and transport.
    """
    name, config, env, cwd, headers = options.name, options.config, options.env, options.cwd, options.headers
    kind = transport_kind(options.transport)
    if isinstance(target, (MCPServer, LowLevelServer)):
        _reject(kind not in (None, "inprocess"), "an in-process server object", "transport=")
        _reject(env or cwd or headers, "an in-process server object", "env=, cwd= or headers=")
        return Target("inprocess", name or target.name or "server", server=target)
    if isinstance(target, StdioServerParameters):
        env = {**(target.env or {}), **(env or {})}
        cwd = cwd if cwd is not None else target.cwd
        target = [target.command, *target.args]
    if isinstance(target, (list, tuple)):
        argv = [os.fspath(part) for part in target]
        if not argv or not argv[0]:
            raise ConfigError("An argv list target must start with the command to run.")
        return _stdio(argv, name, env, cwd, headers, kind)
    if isinstance(target, Path):
        target = str(target)
    if not isinstance(target, str):
        raise ConfigError(
            f"Cannot connect to a {type(target).__name__}.",
            hint="give a command line, an argv list, an http(s) URL, a config name, 'demo:NAME' "
            "or an MCPServer object.",
        )
    text = target.strip()
    if not text:
        raise ConfigError("The target is empty.", hint="try mcpnb.connect('demo:helpdesk').")
    if text.startswith(("http://", "https://")):
        _reject(env or cwd, "a URL", "env= or cwd=")
        http_kind = kind or "http"
        _reject(http_kind == "stdio", "a URL", "transport='stdio'")
        return Target(http_kind, name or _name_from_url(text), url=text, headers=dict(headers or {}))
    if text.startswith("demo:"):
        from .demo import DEMO_SYSTEMS

        system = text[len("demo:") :]
        if system not in DEMO_SYSTEMS:
            raise ConfigError(f"There is no demo server {system!r} (there are: {', '.join(DEMO_SYSTEMS)}).")
        argv = [sys.executable, "-m", "mcpnb.demo", system]
        # A stdio server does not inherit the environment; where the demo data lives must be passed on.
        passed = {key: os.environ[key] for key in _DEMO_ENV if key in os.environ}
        found = _stdio(argv, name or system, {**passed, **(env or {})}, cwd, headers, kind)
        found.source = "demo"
        found.plain_env = tuple(key for key in passed if not env or key not in env)
        return found
    if any(ch.isspace() for ch in text) or os.sep in text:
        try:
            argv = shlex.split(text)
        except ValueError as exc:
            raise ConfigError(f"Cannot split the command line {text!r}: {exc}.") from None
        return _stdio(argv, name, env, cwd, headers, kind)
    entry = config_files.lookup(text, config)
    return _from_entry(entry, name, env, cwd, headers, kind)


def _from_entry(entry: config_files.ConfigEntry, name: str | None, env: Mapping[str, str] | None,
                cwd: str | None, headers: Mapping[str, str] | None, kind: TransportKind | None) -> Target:
    values = entry.values
    kind = kind or transport_kind(values.get("transport"))
    if values.get("command"):
        found = _stdio([values["command"], *values.get("args", [])], name or entry.name,
                       {**values.get("env", {}), **(env or {})}, cwd or values.get("cwd"), headers, kind)
    else:
        _reject(env or cwd, f"the remote server {entry.name!r}", "env= or cwd=")
        found = Target(kind or "http", name or entry.name, url=values.get("url") or "",
                       headers={**values.get("headers", {}), **(headers or {})})
    found.source = f"config {entry.source}"
    found.entry = entry
    return found


def _stdio(argv, name, env, cwd, headers, kind) -> Target:
    _reject(headers, "a local command", "headers=")
    _reject(kind not in (None, "stdio"), "a local command", f"transport={kind!r}")
    command, args = argv[0], argv[1:]
    workdir = os.fspath(cwd) if cwd is not None else None
    if workdir is not None and not Path(workdir).is_dir():
        raise ConfigError(f"The working directory {workdir!r} does not exist.")
    return Target("stdio", name or _name_from_argv(argv), command=command, args=args,
                  env={str(k): str(v) for k, v in (env or {}).items()}, cwd=workdir)


def transport_kind(transport: str | None) -> TransportKind | None:
    """The transport a ``transport=`` value names, or ConfigError."""
    if transport is None:
        return None
    kind = _TRANSPORT_ALIASES.get(transport.lower())
    if kind is None:
        raise ConfigError(f"Unknown transport {transport!r}.", hint="use 'stdio', 'http' or 'sse'.")
    return kind  # type: ignore[return-value]


def _reject(condition: Any, what: str, option: str) -> None:
    if condition:
        raise ConfigError(f"{option} does not apply to {what}.")


def _name_from_argv(argv: list[str]) -> str:
    """A short name for a command: the module after -m, the package for npx, else the program."""
    if "-m" in argv[:-1]:
        module = argv[argv.index("-m") + 1]
        rest = [a for a in argv[argv.index("-m") + 2 :] if not a.startswith("-")]
        return rest[0] if module == "mcpnb.demo" and rest else module.rsplit(".", 1)[-1]
    program_name = Path(argv[0]).name
    if program_name.startswith(("python", "node", "deno", "bun")) and len(argv) > 1 and not argv[1].startswith("-"):
        return re.sub(r"[^A-Za-z0-9_-]", "_", Path(argv[1]).stem) or program_name  # the script
    words = [a for a in argv[1:] if not a.startswith("-")] if program_name in ("npx", "uvx", "pipx") else []
    program = words[0] if words else program_name
    return program.rsplit("/", 1)[-1].split("@", 1)[0] or "server"


def _name_from_url(url: str) -> str:
    """``http://127.0.0.1:8000/mcp`` -> ``127_0_0_1_8000``: usable as a name in magics."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    label = (parts.hostname or "server") + (f"_{port}" if port else "")
    return re.sub(r"[^A-Za-z0-9_-]", "_", label)
