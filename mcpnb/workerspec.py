"""A connection's recipe that can travel to another process: ``WorkerSpec``.

A live connection does not pickle (a session task, a subprocess, a socket), so
a Dask worker opens its own from this small frozen value, made from the
connection's ``Target`` and ``ConnectOptions``: the transport, the command or
URL, the environment, the headers, and the options that shape the connection
(timeouts, protocol, log level, roots, the largest event).

Secrets never go in it. Environment values (but the plain paths mcpnb passes
on itself), header values and the secret parts of a URL travel as ``${VAR}``
references that the worker fills in from its own environment:

- from an ``mcpServers`` entry, the string as the file writes it
  (``"Bearer ${TOKEN}"``);
- a value given to ``connect()`` itself: the environment variable of this
  process that holds it (a ``LocalCluster``'s workers inherit this
  environment): the one of the same name if it does, else any (the first by
  name) but only for a value of at least 8 characters, as a short one (``"1"``)
  matches unrelated variables by chance; for a header such as
  ``"Bearer VALUE"``, the variable holding VALUE;
- otherwise a ``ConfigError`` that says how to give it as a reference.

An ``mcpServers`` entry's ``args`` that hold ``${VAR}`` travel as written too.

An in-process server object cannot travel, nor can ``auth=`` (its tokens live
in this process); both are a ``ConfigError`` too. A worker's connection
declines sampling and elicitation: nobody is there to answer.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import config
from .errors import ConfigError
from .masking import url_secrets
from .targets import Target

if TYPE_CHECKING:
    from .options import ConnectOptions

__all__ = ["WorkerSpec"]

# The options that travel (the target's own options, auth, and the answering handlers do not).
_CARRIED = ("timeout", "connect_timeout", "protocol", "max_event_size", "log_level", "roots")
_REFERENCE = re.compile(r"\$\{(?:env:)?[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")  # "Bearer", "Basic", "Token" ...
_SHORTEST_MATCHED = 8  # a shorter value is looked for only in the variable of its own name

_WORKER_HINT = ("workers fill in ${VAR} from their own environment: set the variable where they start "
                "(a LocalCluster's workers inherit the environment of the process that started them, as it "
                "was then).")


@dataclass(frozen=True)
class WorkerSpec:
    """How to open a connection like this one in another process, secrets as ``${VAR}`` references."""

    name: str
    kind: str  # "stdio", "http" or "sse"
    command: str | None = None
    own_python: bool = False  # the command is the interpreter running mcpnb: the worker uses its own
    args: tuple[str, ...] = ()
    args_written: bool = False  # args as an mcpServers entry writes them, ${VAR} references in them
    cwd: str | None = None
    url: str | None = None  # secret parts as references
    env: tuple[tuple[str, str], ...] = ()  # plain values for plain_env keys, references for the others
    plain_env: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()  # references
    options: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, target: Target, options: ConnectOptions) -> WorkerSpec:
        """The spec of a connection, or ConfigError saying why it cannot go to another process."""
        if target.kind == "inprocess":
            raise ConfigError(
                f"{target.name!r} is an in-process server: it lives in this kernel, and Dask workers cannot "
                "reach it.",
                hint="run it as a server of its own and connect to that: save it to a file and connect to "
                     "'python FILE.py' (stdio), or server.run('streamable-http', port=...) and connect to its URL.")
        if options.auth is not None:
            raise ConfigError(
                f"{target.name!r} signs in with auth=, and its tokens stay in this kernel: Dask workers "
                "cannot use them.",
                hint="give the workers a token of their own as a header from an environment variable, e.g. "
                     "headers={'Authorization': 'Bearer ' + os.environ['TOKEN']}, or an mcpServers entry with "
                     "\"headers\": {\"Authorization\": \"Bearer ${TOKEN}\"}.")
        raw: Mapping[str, Any] = target.entry.raw if target.entry is not None else {}
        given_env, given_headers = options.env or {}, options.headers or {}
        env = []
        for key, value in target.env.items():
            if key in target.plain_env:
                env.append((key, value))
            else:
                written = None if key in given_env else raw.get("env", {}).get(key)
                env.append((key, _reference(value, written, f"environment variable {key!r}", target.name, key)))
        headers = []
        for key, value in target.headers.items():
            written = None if key in given_headers else raw.get("headers", {}).get(key)
            headers.append((key, _reference(value, written, f"header {key!r}", target.name)))
        url = target.url
        if url and url_secrets(url):
            url = _url_reference(url, raw.get("url") or raw.get("serverUrl"), target.name)
        carried = []
        for name in _CARRIED:
            value = getattr(options, name)
            if name == "roots":
                value = _portable_roots(value)
            carried.append((name, value))
        own_python = target.kind == "stdio" and target.command == sys.executable
        args = tuple(target.args)
        written_args = raw.get("args")
        if isinstance(written_args, list) and len(written_args) == len(args) and \
                all(isinstance(arg, str) for arg in written_args) and any(map(_REFERENCE.search, written_args)) \
                and all(_gives(arg, value) for arg, value in zip(written_args, args)):
            args = tuple(written_args)  # as the file writes them: the references, not their values
        args_written = args != tuple(target.args)
        return cls(name=target.name, kind=target.kind, command=None if own_python else target.command,
                   own_python=own_python, args=args, args_written=args_written, cwd=target.cwd, url=url, env=tuple(env),
                   plain_env=tuple(target.plain_env), headers=tuple(headers), options=tuple(carried))

    def target(self) -> Target:
        """The Target, its references filled in from this process's environment (ConfigError naming a
        variable that is not set)."""
        where = f"the connection {self.name!r} on this Dask worker"
        try:
            env = {key: value if key in self.plain_env else config.expand(value, where) for key, value in self.env}
            args = [config.expand(arg, where) for arg in self.args] if self.args_written else list(self.args)
            headers = {key: config.expand(value, where) for key, value in self.headers}
            url = config.expand(self.url, where) if self.url else None
        except ConfigError as error:
            raise ConfigError(error.message, hint=_WORKER_HINT) from None
        command = sys.executable if self.own_python else self.command
        return Target(self.kind, self.name, command=command, args=args, env=env,  # type: ignore[arg-type]
                      cwd=self.cwd, url=url, headers=headers, source="a Dask worker spec", plain_env=self.plain_env)

    def connect_options(self) -> dict[str, Any]:
        """The keywords for ``ConnectOptions`` on a worker: the carried options, nobody to answer questions."""
        return {**dict(self.options), "name": self.name, "sampling": "decline", "elicitation": "decline"}

    def describe(self) -> str:
        """One line: where it connects, with the references (names of variables, never their values)."""
        if self.kind == "stdio":
            text = "stdio: " + shlex.join(["python" if self.own_python else self.command or "", *self.args])
            secret = {key: value for key, value in self.env if key not in self.plain_env}
            if secret:
                text += f" env={secret}"
        else:
            text = f"{'Streamable HTTP' if self.kind == 'http' else 'HTTP+SSE'}: {self.url}"
            if self.headers:
                text += f" headers={dict(self.headers)}"
        return text

    def __repr__(self) -> str:
        return f"<WorkerSpec {self.name!r} {self.describe()}>"


def _reference(value: str, written: Any, what: str, server: str, key: str | None = None) -> str:
    """``value`` as a string of ``${VAR}`` references that gives it back here, or ConfigError."""
    if isinstance(written, str) and _REFERENCE.search(written) and _gives(written, value):
        return written
    holder = _holder(value, key)
    if holder is not None:
        return "${" + holder + "}"
    scheme, space, credential = value.rpartition(" ")
    holder = _holder(credential) if space and _SCHEME.fullmatch(scheme) else None
    if holder is not None and _gives(f"{scheme} ${{{holder}}}", value):
        return f"{scheme} ${{{holder}}}"
    raise ConfigError(
        f"The {what} of {server!r} cannot go to Dask workers: mcpnb keeps its value secret and sends workers "
        "only ${VAR} references, and no environment variable of this process holds it"
        + (f" (a value shorter than {_SHORTEST_MATCHED} characters is looked for only in {key})"
           if key is not None and len(value) < _SHORTEST_MATCHED else "") + ".",
        hint="put the value in an environment variable before the cluster starts (workers read their own "
             "environment; a LocalCluster's inherit this one), e.g. os.environ['TOKEN'] = ..., and pass it from "
             "there; or connect through an mcpServers entry that writes it as \"${TOKEN}\" "
             "(\"headers\": {\"Authorization\": \"Bearer ${TOKEN}\"}).")


def _url_reference(url: str, written: Any, server: str) -> str:
    if isinstance(written, str) and _REFERENCE.search(written) and _gives(written, url):
        return written
    shown = url
    for secret in url_secrets(url):
        holder = _holder(secret)
        if holder is None or secret not in shown:
            raise ConfigError(
                f"The URL of {server!r} carries a secret (a password or a token in its query), and no "
                "environment variable of this process holds it: Dask workers are sent secrets only as "
                "${VAR} references.",
                hint="put the secret in an environment variable before the cluster starts, or use an "
                     "mcpServers entry whose \"url\" writes it as ${TOKEN}; better, send it as a header.")
        shown = shown.replace(secret, "${" + holder + "}")
    if not _gives(shown, url):
        raise ConfigError(f"The URL of {server!r} cannot be written with ${{VAR}} references for Dask workers.",
                          hint="send its secret as a header from an environment variable instead.")
    return shown


def _holder(value: str, key: str | None = None) -> str | None:
    """The environment variable of this process that holds ``value``: ``key`` if it does, else the first by
    name, but only for a value long enough not to match an unrelated variable by chance."""
    if not value:
        return None
    if key is not None and os.environ.get(key) == value:
        return key
    if len(value) < _SHORTEST_MATCHED:
        return None
    names = sorted(name for name, held in os.environ.items() if held == value)
    return names[0] if names else None


def _gives(reference: str, value: str) -> bool:
    """Whether ``reference`` expands to ``value`` in this process."""
    try:
        return config.expand(reference, "a reference") == value
    except ConfigError:
        return False


def _portable_roots(value: Any) -> Any:
    """Roots as plain strings (paths or file:// URIs), so the spec pickles and hashes."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return tuple(str(getattr(item, "uri", item)) if not isinstance(item, os.PathLike) else os.fspath(item)
                 for item in value)
