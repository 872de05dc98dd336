"""A connection's options, written once: ``ConnectOptions``.

Each option is one field of ``ConnectOptions``, and its metadata says
everything else about it: the help text, the ``%mcp connect`` flag, and
whether an ``mcpServers`` entry may set it. From that one definition come
the keywords of ``connect()`` and ``aconnect()`` (their signature and the
options part of their docstring), the flags and help of ``%mcp connect``,
the keys read from config entries, and what the connection uses. A new
option is one new field here, plus the code that acts on it.

The value is validated as a whole when made, so a wrong option fails before
anything starts, with a message that names it; the repr masks secrets
(header and environment values).

``UNSET`` is the typed "not given" of per-call options, where ``None``
already means something (``timeout=None``: wait without limit).
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import inspect
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal, Union

from .auth import AuthOption, check_auth
from .connection import protocol_mode
from .errors import ConfigError
from .events import LOG_LEVELS
from .handlers import CHOICES as HANDLER_CHOICES
from .handlers import ElicitationOption, RootsOption, SamplingOption, check_handler, roots_from
from .masking import mask_mapping
from .targets import transport_kind

__all__ = ["ConnectOptions", "Flag", "UNSET", "Unset", "Timeout"]


class Unset(enum.Enum):
    """The type of ``UNSET``: a per-call option left to the connection's default."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset.UNSET
# A per-call timeout: seconds, None (no limit), or UNSET (the connection's default).
Timeout = Union[float, None, Unset]


@dataclass(frozen=True)
class Flag:
    """How an option is written outside Python: on the ``%mcp connect`` line, in a config entry."""

    help: str
    metavar: str | None = None
    kind: Literal["text", "number", "integer", "pairs", "paths", "choice"] = "text"
    choices: tuple[str, ...] = ()  # for "choice"; "none" among them stands for None
    flag: str | None = None  # default: --name-with-dashes; "" for none (a positional on the line)
    in_config: bool = True  # an mcpServers entry may set it under the same key

    def switch(self, name: str) -> str | None:
        if self.flag == "":
            return None
        return self.flag or "--" + name.replace("_", "-")


def _option(default: Any, help: str, **how: Any) -> Any:
    return field(default=default, metadata={"flag": Flag(help, **how)})


_NONE = "none"


@dataclass(frozen=True, kw_only=True)
class ConnectOptions:
    """Everything ``connect()`` takes besides the target. Frozen; validated when made."""

    name: str | None = _option(
        None, "the connection's name (default: from the target); an open one with the same name is replaced",
        flag="", in_config=False)
    config: str | None = _option(
        None, "the mcpServers file that names are looked up in (default: $MCPNB_CONFIG, ./mcp.json, ...)",
        metavar="PATH", in_config=False)
    env: Mapping[str, str] | None = _option(
        None, "environment variables for a stdio server (it gets only a minimal environment besides)",
        metavar="KEY=VALUE", kind="pairs", in_config=False)
    cwd: str | None = _option(None, "the working directory of a stdio server", metavar="DIR", in_config=False)
    headers: Mapping[str, str] | None = _option(
        None, "HTTP headers sent with every request (kept secret)", metavar="KEY=VALUE", kind="pairs",
        flag="--header", in_config=False)
    auth: AuthOption = _option(
        None, "how to authorize with a remote server: 'oauth' signs in through the browser "
        "(from Python also mcpnb.OAuth(...), mcpnb.ClientCredentials(...) or an httpx2.Auth)",
        kind="choice", choices=("oauth", _NONE))
    transport: str | None = _option(
        None, "'http' (Streamable HTTP, the default for URLs), 'sse' (legacy HTTP+SSE) or 'stdio'",
        metavar="KIND", in_config=False)
    timeout: float | None = _option(
        None, "the default per-request timeout in seconds (default: none, wait until interrupted)",
        metavar="SECONDS", kind="number")
    connect_timeout: float | None = _option(
        None, "how long connecting may take, in seconds (default: 60)", metavar="SECONDS", kind="number")
    protocol: str | None = _option(
        None, "force an era: '2025-11-25' (initialize handshake) or '2026-07-28' (stateless); default: negotiate",
        metavar="VERSION")
    max_event_size: int | None = _option(
        256 * 1024 * 1024, "the largest single answer read over Streamable HTTP, in bytes (default 256 MB; "
        "'none' for no limit)", metavar="BYTES", kind="integer")
    log_level: str | None = _option(
        "info", "the least severe server log message kept in server.logs; 'none' asks for none",
        kind="choice", choices=(*LOG_LEVELS, _NONE))
    sampling: SamplingOption = _option(
        "ask", "how the server's sampling requests are answered (a callable or Ask() from Python)",
        kind="choice", choices=(*HANDLER_CHOICES, _NONE))
    elicitation: ElicitationOption = _option(
        "ask", "how the server's questions for the person are answered (a callable from Python)",
        kind="choice", choices=(*HANDLER_CHOICES, _NONE))
    roots: RootsOption = _option(
        "default", "the directories offered as roots (default: the notebook's); 'none' offers none",
        metavar="PATH", kind="paths")

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        for name in ("name", "config", "cwd", "transport", "protocol"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, (str, os.PathLike)):
                raise ConfigError(f"{name}= must be a string, not a {type(value).__name__}.")
            if isinstance(value, os.PathLike):
                put(name, os.fspath(value))
        if self.name is not None and not self.name.strip():
            raise ConfigError("name= must not be empty.")
        for name in ("env", "headers"):
            put(name, _string_map(name, getattr(self, name)))
        for name in ("timeout", "connect_timeout"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
                raise ConfigError(f"{name}= must be a positive number of seconds, not {value!r}.")
        size = self.max_event_size
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size <= 0):
            raise ConfigError(f"max_event_size= must be a positive whole number of bytes or None, not {size!r}.")
        if self.log_level is not None and self.log_level not in LOG_LEVELS:
            raise ConfigError(f"Unknown log_level {self.log_level!r}.",
                              hint=f"use None or one of: {', '.join(LOG_LEVELS)}.")
        put("auth", check_auth(self.auth))
        transport_kind(self.transport)
        protocol_mode(self.protocol)
        check_handler("sampling", self.sampling)
        check_handler("elicitation", self.elicitation)
        if self.roots != "default":
            roots_from(self.roots)  # a bad root fails here, before anything starts

    # -- made from keywords, flags and config entries ----------------------------------

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any], *, caller: str = "connect()") -> ConnectOptions:
        """From keyword arguments; an unknown keyword is a TypeError naming the close ones."""
        known = cls.names()
        for key in kwargs:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                suggestion = f"; did you mean {close[0]!r}?" if close else f" (it takes: {', '.join(known)})"
                raise TypeError(f"{caller} got an unexpected keyword argument {key!r}{suggestion}")
        return cls(**kwargs)

    @classmethod
    def config_keys(cls, entry: Mapping[str, Any], where: str) -> dict[str, Any]:
        """The options a config entry sets (JSON null and "none" mean None); other keys are not ours."""
        found = {}
        for item in dataclasses.fields(cls):
            how: Flag = item.metadata["flag"]
            if how.in_config and item.name in entry:
                value = entry[item.name]
                found[item.name] = None if value == _NONE else value
        try:
            cls(**found)
        except ConfigError as error:
            raise ConfigError(f"In {where}: {error.message}", hint=error.hint) from None
        return found

    @classmethod
    def from_flags(cls, given: Mapping[str, Any]) -> dict[str, Any]:
        """Keywords from parsed ``%mcp connect`` flags (those left out are not given)."""
        kwargs: dict[str, Any] = {}
        for item in dataclasses.fields(cls):
            value = given.get(item.name)
            if value is None:
                continue
            how: Flag = item.metadata["flag"]
            if how.kind == "pairs":
                value = _pairs(value, how.switch(item.name) or item.name)
            elif how.kind == "paths":
                value = None if value == [_NONE] else value
            elif value == _NONE and how.kind in ("choice", "integer"):
                value = None
            kwargs[item.name] = value
        return kwargs

    # -- describing itself --------------------------------------------------------------

    @classmethod
    def names(cls) -> list[str]:
        return [item.name for item in dataclasses.fields(cls)]

    @classmethod
    def flags(cls) -> Iterator[tuple[str, Flag]]:
        """(option name, how it is written) for each option, in definition order."""
        for item in dataclasses.fields(cls):
            yield item.name, item.metadata["flag"]

    @classmethod
    def parameters(cls) -> list[inspect.Parameter]:
        """The options as keyword-only parameters, for the signature of connect() and aconnect()."""
        hints = inspect.get_annotations(cls)
        return [inspect.Parameter(item.name, inspect.Parameter.KEYWORD_ONLY, default=item.default,
                                  annotation=hints.get(item.name, inspect.Parameter.empty))
                for item in dataclasses.fields(cls)]

    @classmethod
    def doc(cls) -> str:
        """One line per option, for docstrings."""
        return "\n".join(f"    {name}: {how.help}." for name, how in cls.flags())

    def changes(self) -> dict[str, Any]:
        """The options that differ from their defaults, as keywords."""
        return {item.name: getattr(self, item.name) for item in dataclasses.fields(self)
                if getattr(self, item.name) != item.default}

    def replace(self, **changes: Any) -> ConnectOptions:
        return dataclasses.replace(self, **changes)

    def __repr__(self) -> str:
        shown = []
        for name, value in self.changes().items():
            if name in ("env", "headers"):
                value = mask_mapping(dict(value))
            shown.append(f"{name}={value!r}")
        return f"ConnectOptions({', '.join(shown)})"


def _string_map(name: str, value: Any) -> Mapping[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ConfigError(f"{name}= must be a dict of strings, not a {type(value).__name__}.")
    return MappingProxyType({str(k): str(v) for k, v in value.items()})


def _pairs(values: list[str], option: str) -> dict[str, str]:
    found = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key:
            raise ConfigError(f"{option} {value!r} is not KEY=VALUE.")
        found[key] = item
    return found
