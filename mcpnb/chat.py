"""Conversations: a model that uses the open servers' tools, one turn at a time.

``mcpnb.chat(model)`` gives the model every open connection's tools (exported
with ``mcpnb.export`` in its provider's format) and runs the tool loop: the
model answers or asks for tool calls, each call goes through mcpnb's own
connection (so ``server.trace`` records it), its result goes back to the model,
and so on until the model stops or the step limit (model requests per turn) is
reached. Follow-up turns continue the same conversation::

    c = mcpnb.chat("anthropic:claude-sonnet-4-5")
    c.ask("Which open leads are above 10,000?")     # the turn, with a card per tool call
    c.transcript                                    # one row per message and call
    c.usage                                         # tokens per turn

Approval. A tool whose annotations say ``readOnlyHint`` runs without asking;
``deny`` names never run; ``allow`` names (and those the person allowed for the
rest of the conversation) run; any other is asked about: "y" once, "a" always
(this conversation), "n" no. ``approve="never"`` refuses every tool that is
not read-only, ``approve="always"`` runs everything (scripts against demo
servers), a callable ``approve(record) -> bool`` decides. A refused call is not
run; the model gets an error result saying so and goes on.

Where the person is asked follows ``mcpnb.handlers``: a cell blocked in a
synchronous ``ask`` reads the answer on stdin (the kernel's input box); an
awaited ``aask`` in a notebook shows a small prompt under the cell; a script
on a terminal asks there; where nobody can be asked, the call is refused and
the transcript says why.

A tool that fails (``isError``), a request that times out and a server that
crashed all come back to the model as error results with mcpnb's one-line
message: the conversation goes on and the kernel lives. A turn the model fails
in (a rate limit, a server error) or that is interrupted keeps what happened:
the prompt and every tool call that ran stay in the conversation (a call cut
short is answered as interrupted), so a follow-up does not repeat them blindly.

``run_turn`` and ``Toolbox`` are the loop itself, for code that drives a model
its own way (``mcpnb.evals`` runs its cases through them).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import registry, runtime
from .errors import ConfigError, MCPNBError
from .export import export_tools
from .llm import Message, Model, Reply, ToolCall, Usage, llm
from .results import ToolResult

from .server import Server

if TYPE_CHECKING:
    import pandas as pd

    from .listings import Tool

__all__ = ["chat", "Chat", "Exchange", "CallRecord", "Toolbox", "run_turn", "RUNS", "Approver"]

# The approvals under which a call runs; any other label means it was not run.
RUNS = frozenset({"read-only", "allowed", "always", "asked: yes", "asked: always", "approve(): yes"})

# What the model is told when a call was not run, by its approval label.
_REFUSED = {
    "denied": "The person denied this tool (it is on the deny list); the call was not run.",
    "asked: no": "The person did not allow this call; it was not run.",
    "never": "The call was not run: in this conversation only read-only tools run (approve='never').",
    "approve(): no": "The person's approve() check did not allow this call; it was not run.",
    "nobody to ask": "The call was not run: the tool is not read-only and nobody could be asked to allow it.",
    "step limit": "The call was not run: the conversation reached its step limit for this turn.",
}

Approver = Callable[["CallRecord"], Awaitable[str]]
MAX_RESULT_CHARACTERS = 50_000  # of one tool result sent back to the model


# -- what happened ------------------------------------------------------------------------------


@dataclass
class CallRecord:
    """One tool call the model made, as it went: where it went, how it was approved, what came back.

    ``arguments`` are those sent to the tool (the nulls OpenAI's strict mode makes the model send for
    optional arguments dropped: ``dropped`` names them). ``told`` is what the model got back.
    """

    turn: int
    step: int
    server: str
    tool: str  # the MCP tool name
    model_name: str  # the name the model used
    arguments: dict[str, Any]
    approved: str = ""  # "read-only" | "allowed" | "always" | "asked: yes" | "asked: no" | "denied" | ...
    result: ToolResult | None = None
    error: str | None = None  # why there is no result, or what failed
    seconds: float = 0.0
    trace_ids: list[int] = field(default_factory=list)  # numbers of the trace messages behind it
    call_id: str = ""
    read_only: bool = False
    destructive: bool = False
    dropped: list[str] = field(default_factory=list)  # argument paths left out (strict nulls)
    wire: list[tuple[str, dict[str, Any]]] = field(default_factory=list, repr=False)  # (direction, masked message)
    wired: bool = True  # False for an in-process server: it has no wire to show
    told: str = ""  # what the model got back
    ran: bool = False  # the call went to the server (it may still have failed)

    @property
    def allowed(self) -> bool:
        """Approved to run (see ``RUNS``)."""
        return self.approved in RUNS

    @property
    def state(self) -> str:
        """"asking", "running", "ok", "error" (the tool or the call failed) or "not run"."""
        if not self.approved:
            return "asking"
        if self.allowed and not self.ran and self.error is None:
            return "running"
        if not self.ran:
            return "not run"
        return "error" if self.result is None or self.result.is_error else "ok"

    @property
    def is_error(self) -> bool:
        """What the model got back is an error (the tool failed, the call failed, or it was not run)."""
        return self.result is None or self.result.is_error


class Exchange:
    """One turn: the prompt, each model reply, each tool call, the final answer and why it stopped."""

    def __init__(self, turn: int, prompt: str, model: Model, notes: Sequence[str] = ()) -> None:
        self.turn = turn
        self.prompt = prompt
        self.model_label = model.label
        self.scripted = bool(getattr(model, "scripted", False))
        self.replies: list[Reply] = []
        self.calls: list[CallRecord] = []
        self.notes = list(notes)  # what the person should know about the tools (names told apart ...)
        self.stopped = ""  # "end" | "step limit" | "max_tokens" | "error: ..." ("" while it runs)
        self.max_steps = 0
        self.started = time.monotonic()
        self.seconds = 0.0
        self._live_cell: int | None = None  # the cell that showed it as it went (see _ipython_display_)

    @property
    def text(self) -> str:
        """The final answer: the text of the model's last reply."""
        return self.replies[-1].text if self.replies else ""

    @property
    def usage(self) -> Usage:
        """Tokens of every model request of the turn, summed."""
        return Usage(sum(r.usage.input_tokens for r in self.replies), sum(r.usage.output_tokens for r in self.replies))

    @property
    def steps(self) -> int:
        """Model requests made in this turn."""
        return len(self.replies)

    def _repr_html_(self) -> str:
        from . import render

        return render.chat_exchange(self)

    def _ipython_display_(self) -> None:
        # Shown as it went (a live display in this very cell): the cell's result would show it twice.
        shell = _shell()
        if self._live_cell is not None and shell is not None and shell.execution_count == self._live_cell:
            self._live_cell = None
            return
        from IPython.display import display

        display({"text/html": self._repr_html_(), "text/plain": repr(self)}, raw=True)

    def __repr__(self) -> str:
        tokens = self.usage
        calls = f", {len(self.calls)} tool call{'s' if len(self.calls) != 1 else ''}" if self.calls else ""
        answer = self.text.replace("\n", " ")
        answer = answer if len(answer) <= 80 else answer[:77] + "..."
        return (f"<Exchange turn {self.turn} with {self.model_label}: {self.stopped or 'running'}{calls}, "
                f"{tokens.input_tokens} in / {tokens.output_tokens} out tokens> {answer!r}")


# -- the tools as the model sees them ---------------------------------------------------------------


@dataclass
class _Offered:
    server: Server
    tool: Tool
    model_name: str
    definition: dict[str, Any]
    strict: bool  # OpenAI strict: optional arguments come as nulls


_NAME_LIMITS = {"anthropic": 128, "openai": 64}


class Toolbox:
    """The open servers' tools as the model sees them: ``definitions`` (``mcpnb.export`` in the model's
    format), and each model name -> (Server, MCP tool name). Names two servers share are told apart
    (each becomes ``SERVER_NAME``; ``notes`` says so). ``call(tool_call)`` runs one call."""

    def __init__(self, provider: str, offered: Sequence[_Offered], notes: Sequence[str] = ()) -> None:
        self.provider = provider
        self._offered = {item.model_name: item for item in offered}
        self.notes = list(notes)

    @classmethod
    async def build(cls, servers: Sequence[Server], provider: str) -> Toolbox:
        """Export each server's tools for ``provider``; a server that cannot list its tools is left out
        (with a note), so one lost connection does not end the conversation."""
        notes: list[str] = []
        exported: list[tuple[Server, Tool, dict[str, Any], bool]] = []
        for server in servers:
            if not server.alive:
                why = "its connection was closed" if server.closed else "its server is gone (reconnect() to restart)"
                notes.append(f"{server.name} is left out: {why}.")
                continue
            try:
                tools = await runtime.arun(server.session.listing(kind="tools"))
            except MCPNBError as error:
                notes.append(f"{server.name} is left out: {_one_line(error)}")
                continue
            export = export_tools(tools, provider)
            by_name = {tool.name: tool for tool in tools}
            for item in export.tools:
                inner = item.definition.get("function", item.definition)
                exported.append((server, by_name[item.tool], item.definition, bool(inner.get("strict"))))
        counts: dict[str, list[str]] = {}
        for server, _, definition, _ in exported:
            counts.setdefault(_definition_name(definition), []).append(server.name)
        limit = _NAME_LIMITS.get(provider, 64)
        taken = {name for name, owners in counts.items() if len(owners) == 1}
        offered = []
        for server, tool, definition, strict in exported:
            name = _definition_name(definition)
            if len(counts[name]) > 1:
                new = _fit(f"{server.name}_{name}", limit, taken)
                taken.add(new)
                definition = _renamed(definition, new)
                notes.append(f"{', '.join(dict.fromkeys(counts[name]))} each offer a tool named {name!r}: the model "
                             f"calls {server.name}'s {new!r}.")
                name = new
            offered.append(_Offered(server, tool, name, definition, strict))
        return cls(provider, offered, notes)

    @property
    def definitions(self) -> list[dict[str, Any]]:
        """The tool definitions, as the request's ``tools``."""
        return [item.definition for item in self._offered.values()]

    @property
    def names(self) -> dict[str, tuple[Server, str]]:
        """The name the model uses -> (the server, the MCP tool name)."""
        return {name: (item.server, item.tool.name) for name, item in self._offered.items()}

    def __len__(self) -> int:
        return len(self._offered)

    def __contains__(self, name: object) -> bool:
        return name in self._offered

    def tool(self, model_name: str) -> Tool | None:
        """The MCP tool behind a model name (None if the model made the name up)."""
        item = self._offered.get(model_name)
        return item.tool if item is not None else None

    def record(self, call: ToolCall, *, turn: int = 1, step: int = 1) -> CallRecord:
        """The record of ``call`` before it runs: where it goes, and its arguments as the tool will get them."""
        item = self._offered.get(call.name)
        if item is None:
            return CallRecord(turn, step, "", call.name, call.name, dict(call.arguments), approved="unknown tool",
                              call_id=call.id, error=f"No tool named {call.name!r} is offered in this conversation.")
        arguments, dropped = dict(call.arguments), []
        if item.strict:
            arguments, dropped = _drop_strict_nulls(arguments, item.tool.input_schema)
        annotations = item.tool.annotations
        read_only = bool(annotations is not None and annotations.read_only_hint)
        destructive = bool(annotations is not None and not read_only and annotations.destructive_hint is not False)
        record = CallRecord(turn, step, item.server.name, item.tool.name, call.name, arguments, call_id=call.id,
                            read_only=read_only, destructive=destructive, dropped=dropped)
        if call.problem:
            record.approved = "bad arguments"
            record.error = call.problem
        return record

    async def call(self, call: ToolCall | CallRecord, *, turn: int = 1, step: int = 1,
                   approver: Approver | None = None) -> CallRecord:
        """Run one call the model made: approval first (``approver``; None runs it), then the tool, through
        the connection (the trace records it). Whatever happens, the record says what the model is told."""
        record = call if isinstance(call, CallRecord) else self.record(call, turn=turn, step=step)
        if record.error is None and not record.approved:
            try:
                record.approved = await approver(record) if approver is not None else "always"
            except Exception as error:  # a failing approver refuses; the conversation goes on
                record.approved = "approve(): no"
                record.error = f"The approval check failed ({type(error).__name__}: {error}); the call was not run."
        if record.error is None and record.approved in RUNS:
            await self._run(record)
        elif record.error is None:
            record.error = _REFUSED.get(record.approved, f"The call was not run ({record.approved}).")
        record.told = _told(record)
        return record

    async def _run(self, record: CallRecord) -> None:
        item = self._offered[record.model_name]
        trace = item.server.session.trace
        record.wired = bool(trace is not None and trace.wired)
        first = trace.noted if trace is not None else 0
        started = time.perf_counter()
        record.ran = True
        try:
            record.result = await runtime.arun(item.server.session.call(
                tool=record.tool, arguments=record.arguments, progress=False))
        except MCPNBError as error:
            record.error = _one_line(error)
        except Exception as error:  # never a traceback from deep inside: the model and the person get one line
            record.error = f"{type(error).__name__}: {error}"
        record.seconds = time.perf_counter() - started
        if trace is not None:
            reader = trace.reader()
            entries = [entry for entry in trace.since(first) if entry[3] < trace.noted]
            record.trace_ids = [entry[3] for entry in entries]
            record.wire = [(entry[1], reader.data(entry[2])) for entry in entries]


def _definition_name(definition: dict[str, Any]) -> str:
    return definition.get("function", definition)["name"]


def _renamed(definition: dict[str, Any], name: str) -> dict[str, Any]:
    if "function" in definition:
        return {**definition, "function": {**definition["function"], "name": name}}
    return {**definition, "name": name}


def _fit(name: str, limit: int, taken: set[str]) -> str:
    """``name`` within the providers' rule (letters, digits, _ and -; at most ``limit``), not in ``taken``."""
    fitted = (re.sub(r"[^a-zA-Z0-9_-]", "_", name) or "tool")[:limit]
    number = 2
    candidate = fitted
    while candidate in taken:
        suffix = f"_{number}"
        candidate = fitted[:limit - len(suffix)] + suffix
        number += 1
    return candidate


def _drop_strict_nulls(arguments: dict[str, Any], schema: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The arguments without the nulls OpenAI's strict mode makes the model send for optional properties:
    only where the tool's own schema does not require the property and does not allow null."""
    dropped: list[str] = []

    def resolve(node: Any) -> Any:
        seen = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 20:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                return node
            target: Any = schema
            for part in ref[2:].split("/"):
                target = target.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(target, dict) else None
            if target is None:
                return node
            node, seen = target, seen + 1
        return node

    def allows_null(node: Any) -> bool:
        node = resolve(node)
        if not isinstance(node, dict):
            return node is not False
        if "const" in node:
            return node["const"] is None
        if "enum" in node:
            return None in node["enum"]
        for key in ("anyOf", "oneOf"):
            if isinstance(node.get(key), list):
                return any(allows_null(branch) for branch in node[key])
        kind = node.get("type")
        if kind is None:
            return True
        return kind == "null" or (isinstance(kind, list) and "null" in kind)

    def branch(value: Any, node: dict[str, Any]) -> Any:
        """The anyOf/oneOf branch an object or array value takes (``Model | None`` arguments)."""
        wanted = "properties" if isinstance(value, dict) else "items" if isinstance(value, list) else None
        if wanted is None:
            return node
        for key in ("anyOf", "oneOf"):
            for option in node.get(key) or []:
                option = resolve(option)
                if isinstance(option, dict) and isinstance(option.get(wanted), dict):
                    return option
        return node

    def clean(value: Any, node: Any, path: str) -> Any:
        node = resolve(node)
        if not isinstance(node, dict):
            return value
        node = branch(value, node)
        if isinstance(value, dict) and isinstance(node.get("properties"), dict):
            required = set(node.get("required") or ())
            out = {}
            for key, item in value.items():
                sub = node["properties"].get(key)
                if item is None and key not in required and sub is not None and not allows_null(sub):
                    dropped.append(f"{path}{key}")
                    continue
                out[key] = clean(item, sub, f"{path}{key}.") if sub is not None else item
            return out
        if isinstance(value, list) and isinstance(node.get("items"), dict):
            return [clean(item, node["items"], f"{path}{index}.") for index, item in enumerate(value)]
        return value

    return clean(arguments, schema, ""), dropped


def _told(record: CallRecord) -> str:
    """What goes back to the model for one call."""
    if record.result is None:
        return record.error or "The call failed."
    result = record.result
    text = result.text
    if not text and result.structured is not None:
        text = json.dumps(result.structured, ensure_ascii=False, separators=(",", ":"), default=str)
    if not text:
        kinds = [getattr(block, "type", "content") for block in result.content]
        text = "(" + ", ".join(f"{kind} content" for kind in kinds) + ")" if kinds else "(no content)"
    if len(text) > MAX_RESULT_CHARACTERS:
        text = text[:MAX_RESULT_CHARACTERS] + f"\n[{len(text) - MAX_RESULT_CHARACTERS:,} more characters cut]"
    return text


def _one_line(error: BaseException) -> str:
    """mcpnb's message (its details joined, the hint left out) on one line."""
    message = error.message if isinstance(error, MCPNBError) else str(error)
    return " ".join(line.strip() for line in str(message).splitlines() if line.strip()) or type(error).__name__


# -- the loop -----------------------------------------------------------------------------------------


async def run_turn(model: Model, tools: Toolbox, messages: list[Message], prompt: str, *, system: str | None,
                   max_steps: int, approver: Approver | None,
                   on_step: Callable[[Exchange], None] | None = None, turn: int | None = None) -> Exchange:
    """One user turn: ``prompt`` goes to ``model`` with ``tools``; each tool call it asks for is approved
    (``approver(record)`` returns its label, see ``RUNS``; None runs everything) and run, and the results go
    back, until the model stops or ``max_steps`` model requests were made. ``messages`` (the conversation so
    far) grows by this turn. If the model fails or the turn is interrupted, ``stopped`` says why and
    ``messages`` keeps the prompt and every tool round that happened (a call that ran changed something:
    the model must know, or "try again" repeats it); calls left without a result get an error result
    saying they were interrupted, so the next request is one both APIs accept.
    ``on_step(exchange)`` is called after each model reply and each call (to show the turn as it goes).
    ``turn`` numbers it (default: one more than the user messages so far)."""
    if turn is None:
        turn = 1 + sum(1 for message in messages if message.role == "user")
    exchange = Exchange(turn, prompt, model, tools.notes)
    exchange.max_steps = max_steps

    def show() -> None:
        if on_step is not None:
            on_step(exchange)

    messages.append(Message(role="user", text=prompt))
    try:
        show()
        while True:
            try:
                reply = await model.acomplete(messages, tools=tools.definitions, system=system)
            except MCPNBError as error:
                exchange.stopped = f"error: {_one_line(error)}"
                break
            exchange.replies.append(reply)
            step = len(exchange.replies)
            messages.append(Message(role="assistant", text=reply.text, calls=tuple(reply.calls)))
            if not reply.calls:
                exchange.stopped = "max_tokens" if reply.stop == "max_tokens" else "end"
                break
            last = step >= max_steps
            for call in reply.calls:
                record = tools.record(call, turn=turn, step=step)
                if last and record.error is None:
                    record.approved = "step limit"
                exchange.calls.append(record)
                show()
                await tools.call(record, approver=approver)
                messages.append(Message(role="tool", text=record.told, call_id=call.id, is_error=record.is_error))
                show()
            if last:
                exchange.stopped = "step limit"
                break
    except BaseException as error:
        interrupted = isinstance(error, (KeyboardInterrupt, asyncio.CancelledError))
        exchange.stopped = exchange.stopped or ("interrupted" if interrupted else
                                                f"error: {type(error).__name__}: {_one_line(error)}")
        _answer_open_calls(messages, exchange, tools)
        raise
    finally:
        exchange.seconds = time.monotonic() - exchange.started
    show()
    return exchange


INTERRUPTED_BEFORE = "Not run: the turn was interrupted before this call ran."
INTERRUPTED_WHILE = ("The turn was interrupted while this call ran: it may or may not have taken effect "
                     "(check before calling it again).")


def _answer_open_calls(messages: list[Message], exchange: Exchange, tools: Toolbox) -> None:
    """Give each call of the last assistant message that has no result an error result saying it was
    interrupted (and its record the same; a call not reached yet gets one, so its card shows it), so the
    conversation stays one the APIs accept: every ``tool_use`` answered in the next message."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role == "assistant":
            break
        if messages[index].role == "user":
            return
    else:
        return
    answered = {m.call_id for m in messages[index + 1:] if m.role == "tool"}
    records = {record.call_id: record for record in exchange.calls}
    for call in messages[index].calls:
        if call.id in answered:
            continue
        record = records.get(call.id)
        if record is not None and record.told:  # it finished; its result had not been added yet
            messages.append(Message(role="tool", text=record.told, call_id=call.id, is_error=record.is_error))
            continue
        told = INTERRUPTED_WHILE if record is not None and record.ran else INTERRUPTED_BEFORE
        if record is None and exchange.replies:
            record = tools.record(call, turn=exchange.turn, step=len(exchange.replies))
            exchange.calls.append(record)
            told = record.error or told  # an unknown tool, arguments that could not be read: that, as ever
        if record is not None:
            if not record.approved:
                record.approved = "interrupted"
            if record.result is None and record.error is None:
                record.error = told
            record.told = told
        messages.append(Message(role="tool", text=told, call_id=call.id, is_error=True))


# -- the conversation ---------------------------------------------------------------------------------


class Chat:
    """A conversation between a model and the open servers' tools. Make one with ``mcpnb.chat()``."""

    def __init__(self, model: Model, servers: Sequence[Server] | None, system: str | None, *,
                 approve: str | Callable[[CallRecord], Any], allow: Iterable[str], deny: Iterable[str],
                 max_steps: int, show: bool) -> None:
        self.model = model
        self._servers = list(servers) if servers is not None else None
        self.system = system
        self.approve = approve
        self.allow = set(allow)
        self.deny = set(deny)
        self.max_steps = max_steps
        self.show = show
        self.always_allowed: set[str] = set()
        self.exchanges: list[Exchange] = []
        self.messages: list[Message] = []

    @property
    def servers(self) -> list[Server]:
        """The connections whose tools the model gets: those given (a closed one replaced by the open
        connection of the same name), or every open connection."""
        if self._servers is None:
            return registry.open_servers()
        opened = registry.servers()
        return [opened.get(server.name, server) if server.closed else server for server in self._servers]

    # -- asking ------------------------------------------------------------------------------------

    def ask(self, prompt: str) -> Exchange:
        """One turn: the model answers ``prompt``, calling tools as it needs; returns the Exchange.
        In a notebook the turn shows under the cell as it goes."""
        __tracebackhide__ = True
        live = _Live(self) if self.show else None
        try:
            exchange = runtime.run(self._turn(prompt, live))
        except BaseException:
            if live is not None:
                live.finish(None)  # interrupted: the display says so instead of waiting for ever
            raise
        if live is not None:
            live.finish(exchange)
        return exchange

    async def aask(self, prompt: str) -> Exchange:
        """Async twin of :meth:`ask`."""
        __tracebackhide__ = True
        live = _Live(self) if self.show else None
        try:
            exchange = await runtime.arun(self._turn(prompt, live))
        except BaseException:
            if live is not None:
                live.finish(None)
            raise
        if live is not None:
            live.finish(exchange)
        return exchange

    __call__ = ask

    async def _turn(self, prompt: str, live: _Live | None) -> Exchange:
        if not isinstance(prompt, str) or not prompt.strip():
            raise ConfigError("Ask the model something: the prompt is empty.")
        servers = self.servers
        tools = await Toolbox.build(servers, self.model.export_provider)
        if live is not None:
            live.start()
        begun: list[Exchange] = []  # the turn, once it began: kept if it is interrupted (its messages are)

        def step(exchange: Exchange) -> None:
            if not begun:
                begun.append(exchange)
            if live is not None:
                live.update(exchange)

        try:
            exchange = await run_turn(self.model, tools, self.messages, prompt, system=self.system,
                                      max_steps=self.max_steps, approver=self._approver, on_step=step,
                                      turn=len(self.exchanges) + 1)
        except BaseException:
            self.exchanges.extend(begun)
            raise
        self.exchanges.append(exchange)
        return exchange

    async def _approver(self, record: CallRecord) -> str:
        names = {record.tool, f"{record.server}.{record.tool}", record.model_name}
        if names & self.deny:
            return "denied"
        if record.read_only:
            return "read-only"
        if names & self.allow or self.approve == "always":
            return "allowed"
        if f"{record.server}.{record.tool}" in self.always_allowed or record.tool in self.always_allowed:
            return "always"
        if self.approve == "never":
            return "never"
        if callable(self.approve):
            verdict = self.approve(record)
            if inspect.isawaitable(verdict):
                verdict = await verdict
            return "approve(): yes" if verdict else "approve(): no"
        answer = await _ask_person(self.model.label, record)
        if answer == "a":
            self.always_allowed.add(f"{record.server}.{record.tool}")
            return "asked: always"
        return {"y": "asked: yes", "n": "asked: no"}.get(answer or "", "nobody to ask")

    # -- what happened ---------------------------------------------------------------------------

    @property
    def transcript(self) -> pd.DataFrame:
        """One row per message and tool call: turn, step, role, text, tool, server, arguments, result,
        is_error, approved, seconds, input_tokens, output_tokens."""
        import pandas as pd

        rows: list[dict[str, Any]] = []

        def row(**values: Any) -> None:
            rows.append({column: values.get(column) for column in TRANSCRIPT_COLUMNS})

        for exchange in self.exchanges:
            for note in exchange.notes:
                row(turn=exchange.turn, step=0, role="note", text=note)
            row(turn=exchange.turn, step=0, role="user", text=exchange.prompt)
            for step, reply in enumerate(exchange.replies, start=1):
                row(turn=exchange.turn, step=step, role="assistant", text=reply.text, seconds=reply.seconds,
                    input_tokens=reply.usage.input_tokens, output_tokens=reply.usage.output_tokens,
                    tool=", ".join(call.name for call in reply.calls) or None)
                for record in (c for c in exchange.calls if c.step == step):
                    row(turn=exchange.turn, step=step, role="tool", tool=record.tool, server=record.server or None,
                        arguments=record.arguments, result=record.told, is_error=record.is_error,
                        approved=record.approved, seconds=record.seconds if record.seconds else None)
            if exchange.stopped not in ("end", ""):
                row(turn=exchange.turn, step=len(exchange.replies), role="note", text=f"stopped: {exchange.stopped}")
        frame = pd.DataFrame(rows, columns=TRANSCRIPT_COLUMNS)
        # Whole numbers stay whole where a row has none (2173, not 2173.0); times to the millisecond.
        frame = frame.astype({"input_tokens": "Int64", "output_tokens": "Int64"})
        frame["seconds"] = frame["seconds"].astype("float64").round(3)
        frame.attrs["mcp"] = {"model": self.model.label}
        return frame

    @property
    def usage(self) -> pd.DataFrame:
        """One row per turn: input_tokens, output_tokens, steps (model requests), tool_calls, seconds, stopped."""
        import pandas as pd

        rows = [{"turn": e.turn, "input_tokens": e.usage.input_tokens, "output_tokens": e.usage.output_tokens,
                 "steps": e.steps, "tool_calls": len(e.calls), "seconds": round(e.seconds, 3), "stopped": e.stopped}
                for e in self.exchanges]
        frame = pd.DataFrame(rows, columns=["turn", "input_tokens", "output_tokens", "steps", "tool_calls",
                                            "seconds", "stopped"])
        frame.attrs["mcp"] = {"model": self.model.label}
        return frame

    def _repr_html_(self) -> str:
        from . import render

        return render.chat_conversation(self)

    def __repr__(self) -> str:
        names = ", ".join(server.name for server in self.servers) or "none open"
        turns = len(self.exchanges)
        return f"<Chat with {self.model.label}: {turns} turn{'s' if turns != 1 else ''}; servers: {names}>"


TRANSCRIPT_COLUMNS = ["turn", "step", "role", "text", "tool", "server", "arguments", "result", "is_error", "approved",
                      "seconds", "input_tokens", "output_tokens"]
APPROVE = ("ask", "never", "always")


def chat(model: Model | str, servers: Sequence[Server | str] | Server | str | None = None, system: str | None = None,
         *, approve: str | Callable[[CallRecord], Any] = "ask", allow: Iterable[str] = (),
         deny: Iterable[str] = (), max_steps: int = 10, show: bool = True) -> Chat:
    """A conversation between ``model`` and the tools of ``servers`` (default: every open connection).

    ``model`` is a ``mcpnb.llm(...)`` Model or a spec such as ``"anthropic:claude-sonnet-4-5"``;
    ``servers`` are Servers or the names of open connections. ``approve`` is "ask" (tools that are
    not read-only ask the person first), "never" (only read-only tools run), "always" (everything runs)
    or ``approve(record) -> bool``; ``allow`` and ``deny`` name tools (``tool`` or ``server.tool``) that
    run without asking, or never. ``max_steps`` limits the model requests of one turn. ``show=False``:
    no live display while a turn runs.
    """
    if isinstance(model, str):
        model = llm(model)
    if not isinstance(model, Model):
        raise ConfigError(f"chat() takes a model (mcpnb.llm(...)) or a spec such as 'anthropic:MODEL', "
                          f"not {type(model).__name__}.")
    chosen: list[Server] | None = None
    if servers is not None:
        given = [servers] if isinstance(servers, (str, Server)) else list(servers)
        chosen = [registry.find(s) if isinstance(s, str) else s for s in given]
        wrong = [type(s).__name__ for s in chosen if not isinstance(s, Server)]
        if wrong:
            raise ConfigError(f"servers= takes Servers or names of open connections, not {wrong[0]}.")
    if not (callable(approve) or approve in APPROVE):
        raise ConfigError(f"approve={approve!r} is not one of {', '.join(APPROVE)} or a callable.",
                          hint="approve='ask' asks the person before a tool that is not read-only runs.")
    if isinstance(allow, str) or isinstance(deny, str):
        raise ConfigError("allow= and deny= take a list of tool names.", hint="deny=['delete_lead'].")
    if not isinstance(max_steps, int) or max_steps < 1:
        raise ConfigError(f"max_steps= must be a whole number of at least 1, not {max_steps!r}.")
    return Chat(model, chosen, system, approve=approve, allow=allow, deny=deny, max_steps=max_steps, show=show)


# -- asking the person --------------------------------------------------------------------------------


def _question(label: str, record: CallRecord) -> str:
    arguments = json.dumps(record.arguments, ensure_ascii=False, default=str)
    kind = "destructive" if record.destructive else "not read-only"
    return f"\n{label} wants to call {record.server}.{record.tool} ({kind}) with {arguments}"


def ask_on_stdin(label: str, record: CallRecord, read: Callable[[str], str] = input) -> str:
    """Ask on stdin: "y" once, "a" always (this conversation), "n" no (what anything else is, after 3 tries)."""
    print(_question(label, record))
    for _ in range(3):
        typed = read(f"Allow {record.tool}? [y]es once, [a]lways in this conversation, [n]o: ").strip().lower()[:1]
        if typed in ("y", "a", "n"):
            return typed
    return "n"


async def _ask_person(label: str, record: CallRecord) -> str | None:
    """"y", "a" or "n" from the person, wherever they can be asked (see the module docstring); None if nobody."""
    from .handlers import in_kernel

    loop = asyncio.get_running_loop()
    answered: asyncio.Future[Any] = loop.create_future()

    def settle(value: Any) -> None:
        if not answered.done():
            answered.set_result(value)

    def errand(here: bool) -> None:
        if not here:
            loop.call_soon_threadsafe(settle, _NOT_ASKED)
            return
        try:
            outcome: Any = ask_on_stdin(label, record)
        except KeyboardInterrupt:
            loop.call_soon_threadsafe(settle, "n")
            raise
        except Exception:  # this frontend has no stdin
            outcome = None
        loop.call_soon_threadsafe(settle, outcome)

    if runtime.main_thread_errand(errand):
        outcome = await answered
        if outcome is not _NOT_ASKED:
            return outcome
    if runtime.ui_known() and in_kernel():
        return await _ask_in_widget(label, record)
    if not in_kernel() and sys.stdin is not None and sys.stdin.isatty():
        return await asyncio.to_thread(ask_on_stdin, label, record)
    return None


_NOT_ASKED = object()


async def _ask_in_widget(label: str, record: CallRecord) -> str:
    # Upward and lazy on purpose: ipywidgets is loaded only when a prompt is shown in a notebook.
    from .widgets.approval import ask

    return await ask(label, record)


# -- showing a turn as it goes ------------------------------------------------------------------------


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


class _Live:
    """A turn shown under its cell while it runs, updated after each step (a display handle), so a slow
    model is not a blank cell. Where it shows follows ``mcpnb.progress``: a blocked cell draws it on its
    own thread (``Job.errand``), an awaiting cell on the kernel's loop in the cell's context."""

    def __init__(self, conversation: Chat) -> None:
        from .handlers import in_kernel

        self.conversation = conversation
        self.id = f"mcpnb-chat-{uuid.uuid4().hex}"
        self.shown = False
        self.cell = None
        self.job: runtime.Job | None = None
        self.route: str | None = None
        self.enabled = in_kernel()
        self.exchange: Exchange | None = None  # the turn as last drawn
        shell = _shell()
        if self.enabled and shell is not None:
            self.cell = shell.execution_count

    def start(self) -> None:
        """On mcpnb's loop, in the turn's job: find who waits."""
        if not self.enabled:
            return
        self.job = runtime.current_job()
        origin = self.job.origin if self.job is not None else None
        self.route = origin if origin in ("blocked", "awaited") else None

    def update(self, exchange: Exchange) -> None:
        from . import render

        self.exchange = exchange
        if self.route is None:
            return
        bundle = {"text/html": render.chat_exchange(exchange, live=True), "text/plain": repr(exchange)}
        if self.route == "blocked" and self.job is not None:
            self.job.errand(lambda here: here and self._draw(bundle, exchange))
        elif self.route == "awaited":
            runtime.on_ui(lambda: self._draw(bundle, exchange), in_cell=True)

    def _draw(self, bundle: dict[str, str], exchange: Exchange) -> None:
        from IPython.display import display, update_display

        if self.shown:
            update_display(bundle, raw=True, display_id=self.id)
        else:
            display(bundle, raw=True, display_id=self.id)
            self.shown = True
            exchange._live_cell = self.cell

    def finish(self, exchange: Exchange | None) -> None:
        """In the asking cell, once the turn is over: its last state (errands handed over late are dropped).
        None: the turn was interrupted; the last state drawn is marked so."""
        exchange = exchange or self.exchange
        if not self.shown or exchange is None:
            return
        from . import render
        from IPython.display import update_display

        exchange.stopped = exchange.stopped or "interrupted"
        update_display({"text/html": render.chat_exchange(exchange), "text/plain": repr(exchange)}, raw=True,
                       display_id=self.id)
        exchange._live_cell = self.cell
