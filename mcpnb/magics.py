"""``%mcp`` and ``%%mcp``: short commands over the library, for notebooks.

Each subcommand is written once, as a function registered with ``@command``:
its synopsis, its own argparse parser (the ``connect`` flags come from
``ConnectOptions``) and what to complete for each of its positionals. From
that table come the dispatch, the ``%mcp?`` help, ``%mcp COMMAND --help`` and
tab completion. A subcommand parses its line and calls one library function;
nothing here talks to a server directly.

A mistake or a failure shows one message and a hint, not a traceback: it is
raised as ``MagicFailed``, an IPython ``UsageError`` that renders itself
(``%config MCPMagics.show_tracebacks = True`` shows the full traceback).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, Unicode, observe

from . import config as config_files
from . import errors
from . import registry, serving
from .errors import ConfigError, MCPNBError
from .line import parse_arguments, split_words
from .options import ConnectOptions
from .server import Server, SignedOut, close_all, connect, logout

if TYPE_CHECKING:
    import pandas as pd

    from .chat import Chat

# pandas (%mcp servers) and the model code (%%mcp ask) are imported by the commands that use them:
# %load_ext mcpnb should cost little more than import mcp.

__all__ = ["MCPMagics", "MagicFailed", "COMMANDS", "completions", "split_target", "load"]


class MagicFailed(UsageError):
    """What a failed %mcp shows: one message and a hint, through IPython's own hook."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error

    def _render_traceback_(self) -> list[str]:
        lines = str(self.error).splitlines() or [type(self.error).__name__]
        return [f"\x1b[31mmcp: {lines[0]}\x1b[0m", *lines[1:]]


class _HelpShown(Exception):
    """``%mcp COMMAND --help`` printed its help: nothing more to do."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises a ConfigError where it would print and exit."""

    def error(self, message: str) -> Any:
        raise ConfigError(f"{self.prog}: {message}.", hint=f"{self.prog} --help shows how to write it.")

    def exit(self, status: int = 0, message: str | None = None) -> Any:
        raise _HelpShown()


# -- the subcommands, each written once -------------------------------------------------

Run = Callable[[argparse.Namespace, "str | None"], Any]


@dataclass
class Command:
    """One subcommand: its synopsis, its parser, what it does, and what its positionals complete."""

    name: str
    synopsis: list[str]  # "[NAME.]TOOL key=value ...", with a note after two spaces
    run: Run
    parser: _Parser
    completers: dict[str, str] = field(default_factory=dict)  # positional dest -> server/tool/prompt/...
    takes_cell: bool = False
    takes_rest: bool = False  # words after "--" are kept whole (connect's command line)


COMMANDS: dict[str, Command] = {}


def _output_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", metavar="VAR", help="also store the result in the variable VAR")


def command(name: str, synopsis: list[str], *arguments: tuple[tuple[str, ...], dict[str, Any]],
            takes_cell: bool = False, takes_rest: bool = False) -> Callable[[Run], Run]:
    """Register a subcommand; ``arguments`` are ``arg(...)`` specs for its parser."""
    def register(run: Run) -> Run:
        parser = _Parser(prog=f"%mcp {name}", description=(run.__doc__ or "").strip(), add_help=True)
        completers = {}
        for flags, options in arguments:
            complete = options.pop("complete", None)
            action = parser.add_argument(*flags, **options)
            if complete:
                completers[action.dest] = complete
        _output_option(parser)
        # argparse %-formats a usage it was given, and parse_intermixed_args gives it one: escape the % of %mcp.
        parser.usage = parser.format_usage().removeprefix("usage: ").strip().replace("%", "%%")
        COMMANDS[name] = Command(name, synopsis, run, parser, completers, takes_cell, takes_rest)
        return run

    return register


def arg(*flags: str, **options: Any) -> tuple[tuple[str, ...], dict[str, Any]]:
    """One argument of a subcommand's parser (``complete=`` names what its values complete to)."""
    return flags, options


def _connect_flags() -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """``%mcp connect``'s flags, one per connection option."""
    made = []
    for name, how in ConnectOptions.flags():
        switch = how.switch(name)
        if switch is None:
            continue
        options: dict[str, Any] = {"dest": name, "help": how.help, "metavar": how.metavar}
        if how.kind == "number":
            options["type"] = float
        elif how.kind == "integer":
            options["type"] = _whole_or_none
        elif how.kind in ("pairs", "paths"):
            options["action"] = "append"
        elif how.kind == "choice":
            options["choices"] = how.choices
            options.pop("metavar")
        made.append(arg(switch, **options))
    return made


def _whole_or_none(text: str) -> int | str:
    return "none" if text == "none" else int(text)


SERVER = "server"  # what a positional completes to: open server names


@command("connect", ["NAME [options] -- COMMAND ARGS...  start a stdio server",
                     "NAME [options] URL  connect over Streamable HTTP",
                     "NAME [options] [demo:SYSTEM | CONFIG-NAME]  a demo, or an entry of the config file",
                     "--config PATH [options]  every server in a config file"],
         arg("name", nargs="?", help="the connection's name"),
         arg("target", nargs="?", help="a URL, demo:SYSTEM or a config name (default: NAME)"),
         *_connect_flags(), takes_rest=True)
def _connect(args: argparse.Namespace, _cell: str | None) -> Any:
    """Open a connection (and replace an open one with the same name)."""
    kwargs = ConnectOptions.from_flags(vars(args))
    if args.name is None:
        if not args.config:
            raise ConfigError("Say which server to connect.", hint="%mcp connect NAME ... (see %mcp?).")
        return [connect(name, **{**kwargs, "name": name}) for name in config_files.load_config(args.config)]
    if args.rest is not None:
        if not args.rest:
            raise ConfigError("Nothing after '--'.", hint="%mcp connect NAME -- COMMAND ARGS...")
        if args.target is not None:
            raise ConfigError(f"Both a target ({args.target!r}) and a command after '--'.",
                              hint="%mcp connect NAME -- COMMAND ARGS..., or %mcp connect NAME TARGET.")
        return connect(args.rest, **kwargs)
    return connect(args.target or args.name, **kwargs)


@command("servers", ["  the open connections"])
def _servers(_args: argparse.Namespace, _cell: str | None) -> pd.DataFrame:
    """The open connections: name, transport, protocol, era, alive."""
    rows = [{"name": s.name, "transport": s.target.describe(), "protocol": s.info.protocol_version,
             "era": s.info.era, "alive": s.alive} for s in registry.open_servers()]
    import pandas as pd

    return pd.DataFrame(rows, columns=["name", "transport", "protocol", "era", "alive"])


def _listing_command(kind: str) -> None:
    def show(args: argparse.Namespace, _cell: str | None) -> pd.DataFrame:
        return getattr(find_server(args.server), kind).df

    show.__doc__ = f"The {kind} a server offers, as a table (the listing's .df)."
    command(kind, [f"[NAME]  the {kind} a server offers, as a table"],
            arg("server", nargs="?", help="an open server (default: the only one)", complete=SERVER))(show)


for _kind in ("tools", "resources", "templates", "prompts"):
    _listing_command(_kind)


@command("call", ["[NAME.]TOOL key=value ...  call a tool (values are JSON where they parse)"],
         arg("target", metavar="[NAME.]TOOL", help="the tool", complete="tools"),
         arg("arguments", nargs="*", metavar="key=value", help="its arguments", complete="tools="),
         arg("--df", action="store_true",
             help="return the result's table (.df), not the ToolResult (%%config MCPMagics.autodf = True: always)"),
         takes_cell=True)
def _call(args: argparse.Namespace, cell: str | None) -> Any:
    """Call a tool. In %%mcp call, the cell body is a JSON object of arguments."""
    server, tool = split_target(args.target)
    arguments = parse_arguments(args.arguments)
    if cell is not None and cell.strip():
        try:
            body = json.loads(cell)
        except ValueError as error:
            raise ConfigError(f"The cell body is not JSON: {error}.") from None
        if not isinstance(body, dict):
            raise ConfigError("The cell body must be a JSON object of arguments.")
        arguments = {**body, **arguments}
    result = server.call(tool, arguments)
    return result.raise_for_error().df if args.df else result


@command("server", ["NAME  (as %%mcp server NAME) serve the cell's tools, resources and prompts in-process"],
         arg("name", help="the connection's name (and the new server's)", complete=SERVER),
         arg("--protocol", metavar="VERSION", help="the protocol version to speak (default: the newest)"),
         takes_cell=True)
def _server(args: argparse.Namespace, cell: str | None) -> Server:
    """Run the cell with a fresh MCPServer named `server` in scope and serve it in-process;
    running the cell again swaps the definitions inside the live connection."""
    if cell is None:
        raise ConfigError("%mcp server takes its definitions from the cell.",
                          hint=f"%%mcp server {args.name} as a cell's first line, then @server.tool() ...")
    __tracebackhide__ = not errors.full_tracebacks
    shell = args.shell
    written = define_in_cell(shell, cell, serving.fresh_server(args.name))  # the cell's own errors show as such
    options = {"protocol": args.protocol} if args.protocol else {}
    return serving.serve(written, name=args.name, **options)


_MISSING = object()


def define_in_cell(shell: Any, cell: str, fresh: Any) -> Any:
    """Run ``cell`` in the notebook's namespace with ``server`` bound to ``fresh``; return what
    ``server`` names at its end (the cell may build its own), and restore what it named before."""
    __tracebackhide__ = not errors.full_tracebacks  # a failing cell shows its own lines, not these
    namespace = shell.user_ns
    before = namespace.get("server", _MISSING)
    namespace["server"] = fresh
    try:
        source = shell.transform_cell(cell)
        tree = ast.parse(source)
        ast.increment_lineno(tree, 1)  # below the %%mcp line: a traceback's line numbers are the cell's
        # Named like the running cell (IPython counts it already), so a traceback says "Cell In[n]".
        filename = shell.compile.cache("\n" + source, max(shell.execution_count - 1, 0))
        with serving.quiet_root_logging():  # an MCPServer the cell builds itself configures logging too
            exec(shell.compile(tree, filename, "exec"), namespace)  # noqa: S102
        written = namespace.get("server")
    finally:
        if before is _MISSING:
            namespace.pop("server", None)
        else:
            namespace["server"] = before
    return written


@command("read", ["[NAME] URI  read a resource"],
         arg("where", nargs="+", metavar="[NAME] URI", help="an open server (optional) and the URI",
             complete=SERVER))
def _read(args: argparse.Namespace, _cell: str | None) -> Any:
    """Read a resource."""
    if len(args.where) > 2:
        raise ConfigError("Say which resource to read.", hint="%mcp read [NAME] URI")
    server = find_server(args.where[0] if len(args.where) == 2 else None)
    return server.read(args.where[-1])


@command("prompt", ["[NAME.]PROMPT key=value ...  render a prompt"],
         arg("target", metavar="[NAME.]PROMPT", help="the prompt", complete="prompts"),
         arg("arguments", nargs="*", metavar="key=value", help="its arguments", complete="prompts="))
def _prompt(args: argparse.Namespace, _cell: str | None) -> Any:
    """Render a prompt."""
    server, name = split_target(args.target)
    return server.prompt(name, {k: v if isinstance(v, str) else json.dumps(v)
                                for k, v in parse_arguments(args.arguments).items()})


@command("trace", ["[NAME]  the JSON-RPC messages sent and received"],
         arg("server", nargs="?", help="an open server (default: the only one)", complete=SERVER))
def _trace(args: argparse.Namespace, _cell: str | None) -> pd.DataFrame:
    """The JSON-RPC messages sent and received, as a table."""
    return find_server(args.server).trace


@command("explore", ["[NAME]  an inspector: tools with forms, resources, prompts, activity, the server"],
         arg("server", nargs="?", help="an open server (default: the only one)", complete=SERVER))
def _explore(args: argparse.Namespace, _cell: str | None) -> Any:
    """An inspector for a server, in the cell."""
    return find_server(args.server).explore()


@command("disconnect", ["NAME | --all  close connections"],
         arg("server", nargs="?", help="the connection to close", complete=SERVER),
         arg("--all", action="store_true", help="close every connection"))
def _disconnect(args: argparse.Namespace, _cell: str | None) -> None:
    """Close a connection, or all of them."""
    if args.all and args.server is None:
        close_all()
    elif args.server is not None and not args.all:
        find_server(args.server).close()
    else:
        raise ConfigError("Say which connection to close.", hint="%mcp disconnect NAME, or --all")


@command("logout", ["NAME | URL  forget the sign-in to a remote server (its stored tokens)"],
         arg("server", help="an open connection, a URL or a config name", complete=SERVER))
def _logout(args: argparse.Namespace, _cell: str | None) -> SignedOut:
    """Forget a server's sign-in: its stored tokens, and those open connections hold."""
    opened = registry.servers()
    return logout(opened.get(args.server, args.server))


CHAT_VARIABLE = "_mcp_chat"  # where %%mcp ask leaves its conversation in the notebook


@command("ask", ["[--model M] [--servers a,b] [--new] [--max-steps N] [--approve ask|never|always]  (as %%mcp ask) a model answers the cell "
                 "body, calling the open servers' tools",
                 "  the conversation so far (also in the variable _mcp_chat)"],
         arg("--model", metavar="M", help="PROVIDER:MODEL, or a notebook variable holding mcpnb.llm(...) "
                                           "(default: %%config MCPMagics.model, else $MCPNB_MODEL)"),
         arg("--servers", metavar="a,b", help="the open connections whose tools the model gets (default: all)"),
         arg("--new", action="store_true", help="start a new conversation (else the last one goes on)"),
         arg("--max-steps", dest="max_steps", type=int, metavar="N", default=10,
             help="model requests per turn at most (default 10)"),
         arg("--approve", choices=("ask", "never", "always"), default="ask",
             help="tools that are not read-only: ask the person (default), never run, always run"),
         takes_cell=True)
def _ask(args: argparse.Namespace, cell: str | None) -> Any:
    """A model answers the cell body, calling the open servers' tools; a tool that is not read-only asks
    first. The next %%mcp ask continues the conversation unless --new or another model or servers;
    %mcp ask alone shows it, and the variable _mcp_chat holds it (mcpnb.chat's Chat)."""
    magics, namespace = args.magics, args.shell.user_ns
    if cell is None:
        if magics.conversation is None:
            raise ConfigError("No conversation yet.", hint="%%mcp ask as a cell's first line, the prompt as its body.")
        return magics.conversation
    if not cell.strip():
        raise ConfigError("%%mcp ask takes its prompt from the cell body, and it is empty.",
                          hint="%%mcp ask, then the question on the next lines.")
    if args.max_steps < 1:  # checked here too: a conversation that goes on never reaches chat()'s check
        raise ConfigError(f"--max-steps must be a whole number of at least 1, not {args.max_steps}.")
    model, key = _chat_model(args.model or magics.model or os.environ.get("MCPNB_MODEL", ""), namespace)
    servers = [name.strip() for name in args.servers.split(",") if name.strip()] if args.servers else None
    wanted = (key, tuple(servers) if servers is not None else None)
    current = magics.conversation
    if args.new or current is None or magics.conversation_key != wanted:
        from .chat import chat

        current = chat(model, servers, approve=args.approve, max_steps=args.max_steps)
        magics.conversation, magics.conversation_key = current, wanted
    else:
        current.approve, current.max_steps = args.approve, args.max_steps
    namespace[CHAT_VARIABLE] = current
    return current.ask(cell.strip())


def _chat_model(spec: str, namespace: dict[str, Any]) -> tuple[Any, Any]:
    """The model for %%mcp ask (a spec, or a Model in a notebook variable) and what identifies it."""
    spec = spec.strip()
    if not spec:
        raise ConfigError("No model for %%mcp ask.",
                          hint='%config MCPMagics.model = "anthropic:claude-sonnet-4-5", or set MCPNB_MODEL, or '
                               '--model openai:gpt-4.1 (the providers\' packages: pip install "mcpnb[llm]").')
    if ":" in spec:
        return spec, spec
    from .llm import Model

    found = namespace.get(spec)
    if isinstance(found, Model):
        return found, ("variable", id(found))
    raise ConfigError(f"--model {spec!r} is neither PROVIDER:MODEL nor a notebook variable holding a model.",
                      hint="--model anthropic:MODEL, --model openai:MODEL, or m = mcpnb.llm(...) then --model m.")


# -- finding servers ---------------------------------------------------------------------

find_server = registry.find  # the open server NAME, or the only one open


def split_target(text: str) -> tuple[Server, str]:
    """``NAME.TOOL`` or ``TOOL`` (while one server is open) -> (server, tool)."""
    for server in registry.open_servers():
        if text.startswith(server.name + "."):
            return server, text[len(server.name) + 1:]
    return find_server(None, which=f"say which: NAME.{text}"), text


# -- help, made from the table -------------------------------------------------------------

def overview() -> str:
    """The text of ``%mcp?``: every subcommand's synopsis, then the connect options."""
    lines = ["Work with MCP servers from a notebook.", ""]
    for cmd in COMMANDS.values():
        for form in cmd.synopsis:
            words, _, note = form.partition("  ")
            usage = f"%mcp {cmd.name} {words}".rstrip()
            lines.append(_columns(usage, note, 52))
    lines += [_columns("%%mcp call [NAME.]TOOL", "the cell body is a JSON object of arguments", 52),
              _columns("%%mcp ask [--model M] [--new] ...", "the cell body is the prompt for a model with the "
                       "open servers' tools", 52),
              _columns("%%mcp server NAME", "the cell body defines tools on `server` (an MCPServer)", 52), "",
              "connect options:"]
    for option, how in ConnectOptions.flags():
        switch = how.switch(option)
        if switch:
            value = f" {{{','.join(how.choices)}}}" if how.choices else f" {how.metavar}" if how.metavar else ""
            lines.append(_columns(f"    {switch}{value}", how.help, 32))
    lines += ["", "`x = %mcp call ...` or `-o x` keeps the result; $var and {expr} are filled in",
              "from the notebook. The NAME. prefix may be left out while one server is open.",
              "%mcp COMMAND --help shows one command's arguments."]
    return "\n".join(lines)


def _columns(left: str, right: str, width: int) -> str:
    """``left`` padded to ``width``, then ``right``; on the next line when ``left`` is too wide."""
    if not right:
        return left
    if len(left) < width:
        return f"{left:<{width}} {right}"
    return f"{left}\n{'':<{width}} {right}"

def _documented(function: Any) -> Any:
    function.__doc__ = overview()
    return function


# -- the magics ------------------------------------------------------------------------------

@magics_class
class MCPMagics(Magics):
    """The %mcp magics; settings with %config MCPMagics.NAME = value."""

    show_tracebacks = Bool(False, help="Show the full traceback when a %mcp command or an mcpnb call "
                                       "fails (else: the line and the message).").tag(config=True)
    autodf = Bool(False, help="%mcp call returns the result's table (.df), as with --df, "
                              "the way SQL magics return a DataFrame.").tag(config=True)
    model = Unicode("", help="The model %%mcp ask uses without --model: 'anthropic:MODEL' or 'openai:MODEL' "
                             "(else the MCPNB_MODEL environment variable).").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell, **kwargs)
        self.conversation: Chat | None = None  # the notebook's %%mcp ask conversation
        self.conversation_key: Any = None  # the model and servers it was made for

    @magic_arguments()
    @argument("-o", "--output", metavar="VAR", help="also store the result in the variable VAR")
    @argument("command", help="what to do: " + ", ".join(COMMANDS))
    @argument("words", nargs=argparse.REMAINDER, help="the command's own arguments (%%mcp COMMAND --help)")
    @line_magic
    @_documented
    def mcp(self, line: str) -> Any:
        return self._run(line, None)

    @cell_magic("mcp")
    def mcp_cell(self, line: str, cell: str) -> Any:
        """%%mcp call [NAME.]TOOL (a JSON object of arguments as the body); %%mcp server NAME (definitions);
        %%mcp ask (a prompt for a model with the open servers' tools)."""
        __tracebackhide__ = not errors.full_tracebacks  # an error in a served cell shows the cell's own lines
        return self._run(line, cell)

    @observe("show_tracebacks")
    def _whole_tracebacks(self, change: Any) -> None:
        errors.full_tracebacks = change["new"]

    def _run(self, line: str, cell: str | None) -> Any:
        __tracebackhide__ = not errors.full_tracebacks
        try:
            words = split_words(line)  # quoted like a shell: text='hello world', filters='{"a": 1}'
            top = self.mcp.parser.parse_args(words)
            chosen = COMMANDS.get(top.command)
            if chosen is None:
                raise ConfigError(f"Unknown command {top.command!r}.", hint="one of: " + ", ".join(COMMANDS))
            if cell is not None and not chosen.takes_cell:
                raise ConfigError("%%mcp takes 'call' (a JSON object of arguments as the body), 'server' "
                                  "(definitions as the body) or 'ask' (a prompt as the body).")
            own, rest = top.words, None
            if chosen.takes_rest and "--" in own:
                at = own.index("--")
                own, rest = own[:at], own[at + 1:]
            args = chosen.parser.parse_intermixed_args(own)  # flags before, between or after positionals
            args.rest = rest
            args.shell = self.shell
            args.magics = self
            if self.autodf and hasattr(args, "df"):
                args.df = True
            result = chosen.run(args, cell)
        except _HelpShown:
            return None
        except (MCPNBError, argparse.ArgumentError) as error:
            if self.show_tracebacks:
                raise
            raise MagicFailed(error) from None
        except SystemExit:  # the top-level parser's own complaints were printed already
            raise MagicFailed(ConfigError("Could not read the command line.", hint="see %mcp?")) from None
        output = args.output or top.output
        if output:
            self.shell.user_ns[output] = result
        return result

    def complete(self, _shell: Any, event: Any) -> list[str]:
        """Candidates for the word being typed after %mcp."""
        try:
            return completions(event.line[: len(event.text_until_cursor)] if hasattr(event, "text_until_cursor")
                               else event.line)
        except Exception:  # completion must never raise into the editor
            return []


# -- tab completion, made from the parsers -----------------------------------------------------

def completions(line: str) -> list[str]:
    """What can come next on a %mcp line: subcommands, flags, flag choices, servers, NAME.TOOL,
    argument names."""
    return [text for text, _ in typed_completions(line)]


def typed_completions(line: str) -> list[tuple[str, str]]:
    """``completions``, each with what it is: command, flag, value, server, tool, prompt, or for an
    argument its JSON type (what JupyterLab shows beside each candidate)."""
    words = shlex.split(line, posix=True) if line.strip() else []
    if line.endswith(" "):
        words.append("")
    words = words[1:] if words and words[0].lstrip("%") == "mcp" else words
    if len(words) <= 1:
        return [(name, "command") for name in COMMANDS if name.startswith(words[0] if words else "")]
    chosen = COMMANDS.get(words[0])
    if chosen is None or (chosen.takes_rest and "--" in words[1:-1]):
        return []
    typed, before = words[-1], words[1:-1]
    options = {flag: action for action in chosen.parser._actions for flag in action.option_strings}
    if before and before[-1] in options and options[before[-1]].nargs != 0:  # a flag's value
        return [(c, "value") for c in (options[before[-1]].choices or ()) if c.startswith(typed)]
    if typed.startswith("-"):
        return sorted((flag, "flag") for flag in options if flag.startswith(typed) and flag.startswith("--"))
    given = _positional_words(before, options)
    action = _positional_at(chosen.parser, len(given))
    kind = chosen.completers.get(action.dest) if action is not None else None
    return _complete(kind, typed, given) if kind else []


def _positional_words(words: list[str], options: dict[str, argparse.Action]) -> list[str]:
    """The words that are not flags or flag values."""
    found, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word in options:
            skip = options[word].nargs != 0
        else:
            found.append(word)
    return found


def _positional_at(parser: argparse.ArgumentParser, taken: int) -> argparse.Action | None:
    """The positional that the next word fills, after ``taken`` positional words."""
    for action in (a for a in parser._actions if not a.option_strings):
        width = 1 if action.nargs in (None, "?") else taken + 1  # "*" and "+" take the rest
        if taken < width:
            return action
        taken -= width
    return None


def _complete(kind: str, typed: str, given: list[str]) -> list[tuple[str, str]]:
    """Candidates of one kind: server names, [NAME.]TOOL or PROMPT, or the named one's argument names."""
    open_now = registry.open_servers()
    if kind == SERVER:
        return [(s.name, "server") for s in open_now if s.name.startswith(typed)]
    if kind.endswith("="):  # argument names of the tool or prompt named first
        if "=" in typed or not given:
            return []
        server, name = split_target(given[0])
        item = getattr(server, kind[:-1])[name]
        if kind == "tools=":
            properties = item.input_schema.get("properties") or {}
            required = set(item.input_schema.get("required") or ())
            found = [(n, _json_type(properties.get(n)) + (", required" if n in required else ""))
                     for n in item.parameters]
        else:
            found = [(a.name, "string" + (", required" if a.required else "")) for a in item.arguments]
        named = {word.split("=", 1)[0] for word in given[1:]}
        return [(f"{n}=", what) for n, what in found if n.startswith(typed) and n not in named]
    singular = kind[:-1]
    found = [(f"{s.name}.{item.name}", singular) for s in open_now for item in getattr(s, kind)]
    if len(open_now) == 1:
        found += [(item.name, singular) for item in getattr(open_now[0], kind)]
    return [(c, what) for c, what in found if c.startswith(typed)]


def _json_type(spec: Any) -> str:
    """A schema property's type, as a person reads it: integer, string, "a" | "b", array..."""
    if not isinstance(spec, dict):
        return "any"
    if isinstance(spec.get("enum"), list):
        return " | ".join(json.dumps(v) for v in spec["enum"][:4]) + (" | ..." if len(spec["enum"]) > 4 else "")
    kinds = spec.get("type")
    if kinds is None and isinstance(spec.get("anyOf"), list):
        kinds = [_json_type(option) for option in spec["anyOf"]]
    if kinds is None:
        return "any"
    return kinds if isinstance(kinds, str) else " | ".join(kinds)


def load(shell: Any) -> None:
    """Register the magics and their tab completion with an IPython shell."""
    magics = MCPMagics(shell)
    shell.register_magics(magics)
    shell.set_hook("complete_command", magics.complete, str_key="%mcp")
    shell.set_hook("complete_command", magics.complete, str_key="%%mcp")
    completer = getattr(shell, "Completer", None)
    if completer is not None and hasattr(completer, "custom_matchers"):
        completer.custom_matchers.insert(0, _typed_matcher())


def _typed_matcher() -> Any:
    """An IPython matcher (API v2) giving each candidate its type, which JupyterLab shows beside it
    (the complete_command hook above gives none: JupyterLab showed <unknown>)."""
    from IPython.core.completer import SimpleCompletion, completion_matcher

    @completion_matcher(identifier="mcpnb", api_version=2, priority=1)
    def mcp_matches(context: Any) -> dict[str, Any]:
        line = context.text_until_cursor
        if not line.lstrip().startswith("%mcp") and not line.lstrip().startswith("%%mcp"):
            return {"completions": [], "suppress": False}
        try:
            found = typed_completions(line.lstrip())
        except Exception:  # completion must never raise into the editor
            return {"completions": [], "suppress": False}
        fragment = "" if line.endswith(" ") else line.rsplit(" ", 1)[-1]
        return {"completions": [SimpleCompletion(text, type=what) for text, what in found],
                "matched_fragment": fragment, "suppress": True}

    return mcp_matches
