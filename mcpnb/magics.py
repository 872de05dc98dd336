"""``%mcp`` and ``%%mcp``: short commands over the library, for notebooks.

Each subcommand parses its line and calls one library function; nothing here
talks to a server directly. A failure shows one message and a hint, not a
traceback (``%config MCPMagics.show_tracebacks = True`` shows the full one).
"""

from __future__ import annotations

import argparse
import json
import shlex
from typing import Any

import pandas as pd
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool

from . import config as config_files
from .errors import ConfigError, MCPNBError
from .handlers import CHOICES as HANDLER_CHOICES
from .server import Server, close_all, connect, servers

__all__ = ["MCPMagics", "parse_arguments", "call_line", "split_target"]

SUBCOMMANDS = ("connect", "servers", "tools", "resources", "templates", "prompts", "call", "read", "prompt",
               "trace", "explore", "disconnect")


class MagicFailed(Exception):
    """What a failed %mcp shows: one message and a hint, through IPython's own hook."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error

    def _render_traceback_(self) -> list[str]:
        lines = str(self.error).splitlines() or [type(self.error).__name__]
        return [f"\x1b[31mmcp: {lines[0]}\x1b[0m", *lines[1:]]


def parse_arguments(words: list[str]) -> dict[str, Any]:
    """``key=value`` words as arguments: values that parse as JSON are JSON, the rest strings."""
    arguments: dict[str, Any] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise ConfigError(f"{word!r} is not key=value.", hint="write arguments as name=value, e.g. limit=10.")
        try:
            arguments[key] = json.loads(value)
        except ValueError:
            arguments[key] = value
    return arguments


def call_line(server: str, tool: str, arguments: dict[str, Any]) -> str:
    """The ``%mcp call`` line that makes this call (``parse_arguments`` reads it back)."""
    words = [f"{server}.{tool}"]
    for key, value in arguments.items():
        text = value if isinstance(value, str) and not _reads_as_json(value) else json.dumps(value)
        words.append(shlex.quote(f"{key}={text}"))
    return "%mcp call " + " ".join(words)


def _reads_as_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def split_target(text: str) -> tuple[Server, str]:
    """``NAME.TOOL`` or ``TOOL`` (while one server is open) -> (server, tool)."""
    for server in servers():
        if text.startswith(server.name + "."):
            return server, text[len(server.name) + 1:]
    return find_server(None, which=f"say which: NAME.{text}"), text


def find_server(name: str | None, *, which: str = "name one") -> Server:
    """The open server ``name``, or the only one open."""
    open_servers = {server.name: server for server in servers()}
    if name is None:
        if len(open_servers) == 1:
            return next(iter(open_servers.values()))
        if not open_servers:
            raise ConfigError("No server is open.", hint="%mcp connect NAME ... first (see %mcp?).")
        raise ConfigError(f"Several servers are open ({', '.join(open_servers)}); {which}.")
    if name not in open_servers:
        raise ConfigError(f"No open server is named {name!r} (open: {', '.join(open_servers) or 'none'}).")
    return open_servers[name]


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    found = {}
    for value in values or ():
        key, sep, item = value.partition("=")
        if not sep:
            raise ConfigError(f"{option} {value!r} is not KEY=VALUE.")
        found[key] = item
    return found


_connect_parser = argparse.ArgumentParser(prog="%mcp connect", add_help=False, exit_on_error=False)
_connect_parser.add_argument("name", nargs="?")
_connect_parser.add_argument("target", nargs="?")
_connect_parser.add_argument("--config")
_connect_parser.add_argument("--header", action="append")
_connect_parser.add_argument("--env", action="append")
_connect_parser.add_argument("--cwd")
_connect_parser.add_argument("--timeout", type=float)
_connect_parser.add_argument("--protocol")
_connect_parser.add_argument("--transport")
_connect_parser.add_argument("--sampling", choices=(*HANDLER_CHOICES, "none"))
_connect_parser.add_argument("--elicitation", choices=(*HANDLER_CHOICES, "none"))
_connect_parser.add_argument("--roots", action="append")


@magics_class
class MCPMagics(Magics):
    """The %mcp magics; settings with %config MCPMagics.NAME = value."""

    show_tracebacks = Bool(False, help="Show the full traceback when a %mcp command fails.").tag(config=True)

    @magic_arguments()
    @argument("-o", "--output", metavar="VAR", help="also store the result in the variable VAR")
    @argument("command", help="what to do: " + ", ".join(SUBCOMMANDS))
    @argument("words", nargs=argparse.REMAINDER, help="the command's own arguments")
    @line_magic
    def mcp(self, line: str) -> Any:
        """Work with MCP servers from a notebook.

        %mcp connect NAME [options] -- COMMAND ARGS...   start a stdio server
        %mcp connect NAME [options] URL                  connect over Streamable HTTP
        %mcp connect NAME [demo:SYSTEM | CONFIG-NAME]    a demo, or an entry of the config file
        %mcp connect --config PATH                       every server in a config file
            options: --header K=V, --env K=V, --cwd DIR, --timeout SECONDS,
                     --protocol 2025-11-25|2026-07-28, --transport http|sse, --config PATH,
                     --sampling/--elicitation ask|accept-defaults|decline|none, --roots PATH
        %mcp servers                                     the open connections
        %mcp tools|resources|templates|prompts [NAME]    what a server offers
        %mcp call [NAME.]TOOL key=value ...              call a tool (values are JSON where they parse)
        %mcp read [NAME] URI                             read a resource
        %mcp prompt [NAME.]PROMPT key=value ...          render a prompt
        %mcp trace [NAME]                                the JSON-RPC messages sent and received
        %mcp explore [NAME]                              an inspector: tools with forms, resources,
                                                         prompts, activity, the server
        %mcp disconnect NAME | --all                     close connections

        %%mcp call [NAME.]TOOL                           the cell body is a JSON object of arguments

        `x = %mcp call ...` or `-o x` keeps the result; $var and {expr} are filled in
        from the notebook. The NAME. prefix may be left out while one server is open.
        """
        return self._run(line, None)

    @cell_magic("mcp")
    def mcp_cell(self, line: str, cell: str) -> Any:
        """%%mcp call [NAME.]TOOL, with a JSON object of arguments as the cell body."""
        return self._run(line, cell)

    def _run(self, line: str, cell: str | None) -> Any:
        try:
            try:  # quoted like a shell: text='hello world', filters='{"a": 1}'
                words = shlex.split(line)
            except ValueError as error:
                raise ConfigError(f"Cannot read the line: {error}.", hint="check the quotes.") from None
            args = self.mcp.parser.parse_args(words)
            if len(args.words) >= 2 and args.words[-2] in ("-o", "--output"):  # -o VAR at the end, too
                args.output, args.words = args.words[-1], args.words[:-2]
            handler = getattr(self, f"_do_{args.command}", None)
            if handler is None:
                raise ConfigError(f"Unknown command {args.command!r}.", hint="one of: " + ", ".join(SUBCOMMANDS))
            if cell is not None and args.command != "call":
                raise ConfigError("%%mcp takes only 'call' (with a JSON object of arguments as the body).")
            result = handler(args.words, cell)
        except (MCPNBError, argparse.ArgumentError) as error:
            if self.show_tracebacks:
                raise
            raise MagicFailed(error) from None
        except SystemExit:  # argparse's own complaints were printed already
            raise MagicFailed(ConfigError("Could not read the command line.", hint="see %mcp?")) from None
        if args.output:
            self.shell.user_ns[args.output] = result
        return result

    # -- subcommands -------------------------------------------------------------------

    def _do_connect(self, words: list[str], _cell: str | None) -> Any:
        command: list[str] | None = None
        if "--" in words:
            at = words.index("--")
            words, command = words[:at], words[at + 1:]
        options, unknown = _connect_parser.parse_known_args(words)
        if unknown:
            raise ConfigError(f"Unknown for connect: {' '.join(unknown)}.", hint="see %mcp? for the options.")
        kwargs: dict[str, Any] = {
            "config": options.config, "headers": _pairs(options.header, "--header") or None,
            "env": _pairs(options.env, "--env") or None, "cwd": options.cwd, "timeout": options.timeout,
            "protocol": options.protocol, "transport": options.transport}
        for handler in ("sampling", "elicitation"):
            chosen = getattr(options, handler)
            if chosen is not None:
                kwargs[handler] = None if chosen == "none" else chosen
        if options.roots:
            kwargs["roots"] = None if options.roots == ["none"] else options.roots
        if options.name is None:
            if not options.config:
                raise ConfigError("Say which server to connect.", hint="%mcp connect NAME ... (see %mcp?).")
            return [connect(name, name=name, **kwargs) for name in config_files.load_config(options.config)]
        if command is not None:
            if not command:
                raise ConfigError("Nothing after '--'.", hint="%mcp connect NAME -- COMMAND ARGS...")
            target: Any = command
        else:
            target = options.target or options.name
        return connect(target, name=options.name, **kwargs)

    def _do_servers(self, words: list[str], _cell: str | None) -> pd.DataFrame:
        rows = [{"name": s.name, "transport": s.target.describe(), "protocol": s.info.protocol_version,
                 "era": s.info.era, "alive": s.alive} for s in servers()]
        return pd.DataFrame(rows, columns=["name", "transport", "protocol", "era", "alive"])

    def _listing(self, kind: str, words: list[str]) -> pd.DataFrame:
        server = find_server(words[0] if words else None)
        items = getattr(server, kind)
        return listing_frame(kind, items)

    def _do_tools(self, words: list[str], _cell: str | None) -> pd.DataFrame:
        return self._listing("tools", words)

    def _do_resources(self, words: list[str], _cell: str | None) -> pd.DataFrame:
        return self._listing("resources", words)

    def _do_templates(self, words: list[str], _cell: str | None) -> pd.DataFrame:
        return self._listing("templates", words)

    def _do_prompts(self, words: list[str], _cell: str | None) -> pd.DataFrame:
        return self._listing("prompts", words)

    def _do_call(self, words: list[str], cell: str | None) -> Any:
        if not words:
            raise ConfigError("Say which tool to call.", hint="%mcp call [NAME.]TOOL key=value ...")
        server, tool = split_target(words[0])
        arguments = parse_arguments(words[1:])
        if cell is not None and cell.strip():
            try:
                body = json.loads(cell)
            except ValueError as error:
                raise ConfigError(f"The cell body is not JSON: {error}.") from None
            if not isinstance(body, dict):
                raise ConfigError("The cell body must be a JSON object of arguments.")
            arguments = {**body, **arguments}
        return server.call(tool, arguments)

    def _do_read(self, words: list[str], _cell: str | None) -> Any:
        if not words or len(words) > 2:
            raise ConfigError("Say which resource to read.", hint="%mcp read [NAME] URI")
        server = find_server(words[0] if len(words) == 2 else None)
        return server.read(words[-1])

    def _do_prompt(self, words: list[str], _cell: str | None) -> Any:
        if not words:
            raise ConfigError("Say which prompt to render.", hint="%mcp prompt [NAME.]PROMPT key=value ...")
        server, name = split_target(words[0])
        return server.prompt(name, {k: v if isinstance(v, str) else json.dumps(v)
                                    for k, v in parse_arguments(words[1:]).items()})

    def _do_trace(self, words: list[str], _cell: str | None) -> pd.DataFrame:
        return find_server(words[0] if words else None).trace

    def _do_explore(self, words: list[str], _cell: str | None) -> Any:
        return find_server(words[0] if words else None).explore()

    def _do_disconnect(self, words: list[str], _cell: str | None) -> None:
        if words == ["--all"]:
            close_all()
        elif len(words) == 1:
            find_server(words[0]).close()
        else:
            raise ConfigError("Say which connection to close.", hint="%mcp disconnect NAME, or --all")

    # -- tab completion ----------------------------------------------------------------

    def complete(self, _shell: Any, event: Any) -> list[str]:
        """Candidates for the word being typed after %mcp."""
        try:
            return completions(event.line[: len(event.text_until_cursor)] if hasattr(event, "text_until_cursor")
                               else event.line)
        except Exception:  # completion must never raise into the editor
            return []


def completions(line: str) -> list[str]:
    """What can come next on a %mcp line (subcommands, NAME.TOOL, argument names)."""
    words = shlex.split(line, posix=True) if line.strip() else []
    if line.endswith(" "):
        words.append("")
    words = words[1:] if words and words[0].lstrip("%") == "mcp" else words
    if len(words) <= 1:
        return [c for c in SUBCOMMANDS if c.startswith(words[0] if words else "")]
    command, typed = words[0], words[-1]
    open_servers = servers()
    if command in ("tools", "resources", "templates", "prompts", "read", "trace", "explore", "disconnect") \
            and len(words) == 2:
        return [s.name for s in open_servers if s.name.startswith(typed)] + (["--all"] if command == "disconnect" else [])
    if command in ("call", "prompt"):
        kind = "tools" if command == "call" else "prompts"
        if len(words) == 2:
            found = [f"{s.name}.{item.name}" for s in open_servers for item in getattr(s, kind)]
            if len(open_servers) == 1:
                found += [item.name for item in getattr(open_servers[0], kind)]
            return [c for c in found if c.startswith(typed)]
        if "=" not in typed:
            server, name = split_target(words[1])
            item = getattr(server, kind)[name]
            names = item.parameters if command == "call" else [a.name for a in item.arguments]
            given = {w.split("=", 1)[0] for w in words[2:-1]}
            return [f"{n}=" for n in names if n.startswith(typed) and n not in given]
    return []


def listing_frame(kind: str, items: Any) -> pd.DataFrame:
    """A listing as a table: names, titles, descriptions, parameters and annotation flags."""
    rows = []
    for item in items:
        row: dict[str, Any] = {"name": item.name, "title": item.title, "description": item.description}
        if kind == "tools":
            notes = item.annotations
            row["parameters"] = item.signature
            row["read_only"] = getattr(notes, "read_only_hint", None)
            row["destructive"] = getattr(notes, "destructive_hint", None)
            row["idempotent"] = getattr(notes, "idempotent_hint", None)
        elif kind == "resources":
            row.update(uri=item.uri, mime_type=item.mime_type)
        elif kind == "templates":
            row.update(uri_template=item.uri_template, mime_type=item.mime_type)
        else:
            row["arguments"] = item.signature
        rows.append(row)
    return pd.DataFrame(rows)


def load(shell: Any) -> None:
    """Register the magics and their tab completion with an IPython shell."""
    magics = MCPMagics(shell)
    shell.register_magics(magics)
    shell.set_hook("complete_command", magics.complete, str_key="%mcp")
    shell.set_hook("complete_command", magics.complete, str_key="%%mcp")

