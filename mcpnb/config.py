"""``mcpServers`` config files: the JSON other MCP clients already use.

Accepted shapes (one file holds one of them)::

    {"mcpServers": {NAME: ENTRY, ...}}     Claude Desktop, Cursor, Claude Code
    {"servers":    {NAME: ENTRY, ...}}     VS Code (.vscode/mcp.json)

    ENTRY, a local server:   {"command": "...", "args": [...], "env": {...}, "cwd": "..."}
    ENTRY, a remote server:  {"url": "https://...", "headers": {...}}
    optional in either:      "type" / "transport": "stdio" | "http" | "streamable-http" | "sse"

Every string may use ``${VAR}``, ``${VAR:-default}`` or VS Code's
``${env:VAR}``; they are expanded from the environment when the server is
looked up, and a missing variable is an error that names it (never its value).

Where the file is found, first match wins: ``config=PATH``, ``$MCPNB_CONFIG``,
``./mcp.json``, ``./.vscode/mcp.json``, then the per-user file
``$XDG_CONFIG_HOME/mcpnb/mcp.json`` (``~/.config/mcpnb/mcp.json``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = ["ConfigEntry", "expand", "find_config", "load_config", "lookup"]

_VARIABLE = re.compile(r"\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_UNSUPPORTED_VARIABLE = re.compile(r"\$\{(input|command|config|workspaceFolder)[^}]*\}")


@dataclass(frozen=True)
class ConfigEntry:
    """One server from a config file: its name, the file, and the entry as written
    (``${VAR}`` expanded, the shape checked). ``targets`` reads where it connects,
    ``options`` the connection options it sets."""

    name: str
    source: Path
    values: Mapping[str, Any] = field(repr=False)  # env and header values are secrets
    # The entry as written, ``${VAR}`` left in: what a Dask worker is sent (it expands them itself).
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


def candidate_paths() -> list[Path]:
    """Where a config file is looked for, in order, when none is given."""
    paths = []
    if os.environ.get("MCPNB_CONFIG"):
        paths.append(Path(os.environ["MCPNB_CONFIG"]).expanduser())
    paths += [Path("mcp.json"), Path(".vscode") / "mcp.json"]
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    paths.append(base / "mcpnb" / "mcp.json")
    return paths


def find_config(config: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file to use: ``config`` if given (it must exist), else the first found."""
    if config is not None:
        path = Path(config).expanduser()
        if not path.is_file():
            raise ConfigError(f"Config file {str(path)!r} does not exist.")
        return path
    return next((p for p in candidate_paths() if p.is_file()), None)


def load_config(config: str | os.PathLike[str] | None = None) -> dict[str, Mapping[str, Any]]:
    """The raw server entries of a config file, by name (variables not yet expanded)."""
    path = find_config(config)
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.") from None
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror}.") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object with an \"mcpServers\" (or \"servers\") key.")
    servers = data.get("mcpServers", data.get("servers"))
    if servers is None:
        raise ConfigError(f"{path} has no \"mcpServers\" (or \"servers\") key.")
    if not isinstance(servers, dict) or not all(isinstance(v, dict) for v in servers.values()):
        raise ConfigError(f"In {path}, \"mcpServers\" must map each server name to an object.")
    return servers


def lookup(name: str, config: str | os.PathLike[str] | None = None) -> ConfigEntry:
    """The entry for ``name``, with ``${VAR}`` expanded from the environment."""
    path = find_config(config)
    if path is None:
        looked = ", ".join(str(p) for p in candidate_paths())
        raise ConfigError(
            f"No server named {name!r}: no config file was found (looked in {looked}).",
            hint="pass config='path/to/mcp.json', or give a command line, a URL or 'demo:helpdesk' as the target.",
        )
    servers = load_config(path)
    if name not in servers:
        known = ", ".join(sorted(servers)) or "none"
        raise ConfigError(f"No server named {name!r} in {path} (it has: {known}).")
    return _entry(name, servers[name], path)


def _entry(name: str, raw: Mapping[str, Any], path: Path) -> ConfigEntry:
    where = f"server {name!r} in {path}"
    values = dict(_expand(raw, where))
    if "command" in values:
        if not isinstance(values["command"], str) or not values["command"].strip():
            raise ConfigError(f"In {where}, \"command\" must be a non-empty string.")
        values["args"] = _strings(values.get("args", []), "args", where)
        values["env"] = _string_map(values.get("env", {}), "env", where)
    elif "url" in values or "serverUrl" in values:
        values["url"] = values.get("url") or values.get("serverUrl")
        values["headers"] = _string_map(values.get("headers", {}), "headers", where)
    else:
        raise ConfigError(f"{where.capitalize()} has neither \"command\" nor \"url\".")
    values["transport"] = values.get("type") or values.get("transport")
    return ConfigEntry(name, path, values, dict(raw))


def expand(value: Any, where: str) -> Any:
    """``value`` (a string, or lists and dicts of them) with ``${VAR}`` filled in from the environment;
    a missing variable is a ConfigError that names it and ``where``."""
    return _expand(value, where)


def _expand(value: Any, where: str) -> Any:
    if isinstance(value, str):
        unsupported = _UNSUPPORTED_VARIABLE.search(value)
        if unsupported:
            raise ConfigError(
                f"In {where}, {unsupported.group(0)} is an editor variable mcpnb cannot fill in.",
                hint="use ${VAR} with an environment variable instead.",
            )

        def replace(match: re.Match[str]) -> str:
            variable, default = match.group(1), match.group(2)
            if variable in os.environ:
                return os.environ[variable]
            if default is not None:
                return default
            raise ConfigError(
                f"In {where}, the environment variable {variable} is not set.",
                hint=f"set it before connecting, e.g. os.environ[{variable!r}] = ... (or %env {variable}=...).",
            )

        return _VARIABLE.sub(replace, value)
    if isinstance(value, list):
        return [_expand(v, where) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v, where) for k, v in value.items()}
    return value


def _strings(value: Any, key: str, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise ConfigError(f"In {where}, \"{key}\" must be a list of strings.")
    return [str(v) for v in value]


def _string_map(value: Any, key: str, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConfigError(f"In {where}, \"{key}\" must be an object of strings.")
    return {str(k): str(v) for k, v in value.items()}
