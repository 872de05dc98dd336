"""Answering the server: sampling, elicitation and roots.

MCP is two-way. A server may ask the client for a model's reply (sampling),
for input from the person (elicitation), or for the directories it may work in
(roots). ``connect(sampling=, elicitation=, roots=)`` says how each is
answered. A sampling or elicitation handler is one of:

==================  ==========================================================
``"ask"``           ask the person (the default): a form in the notebook, or a
                    prompt on stdin where no form can be shown (see below)
``"accept-defaults"`` answer without asking: elicitation accepts with every
                    field from the schema's defaults (declines if a required
                    field has none); sampling declines (there is no default
                    reply)
``"decline"``       decline every request
a callable          ``fn(request)`` (or ``async def``), given an
                    ``ElicitationRequest`` or ``SamplingRequest``; see their
                    ``answer`` conventions below
``Ask(propose=fn)`` sampling: ask the person, with ``fn``'s reply proposed
``None``            do not offer the feature at all (no capability declared)
==================  ==========================================================

``roots`` is a path, a ``file://`` URI, a list of them, or None; by default
the notebook's directory (the kernel's working directory).
``server.roots = [...]`` changes them and, in the 2025-11-25 era, tells the
server (``notifications/roots/list_changed``; the 2026-07-28 era has no such
notification, servers ask again).

Both eras arrive here the same way: the SDK hands 2025-11-25 server-initiated
requests and 2026-07-28 multi-round-trip input requests to the same callbacks.

Where "ask" asks (see ../shared/DESIGN.md for what was observed):

1. a cell blocked in a synchronous call processes no widget events, so the
   question goes to that cell's thread and is asked on stdin (the kernel's
   input box in a notebook);
2. otherwise, in a notebook, a form: in an open explorer, or under the cell
   awaiting the call;
3. otherwise, on an interactive terminal, a prompt on stdin;
4. otherwise nobody can be asked: the request is cancelled, with a note in
   ``server.activity``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, Union

import anyio
import anyio.to_thread
import mcp_types as types

from . import runtime
from .errors import ConfigError, ModelError

__all__ = ["Ask", "ElicitationRequest", "SamplingRequest", "Answers", "roots_from", "CHOICES",
           "SamplingHandler", "ElicitationHandler", "SamplingOption", "ElicitationOption", "RootsOption", "Asker"]

logger = logging.getLogger("mcpnb")

CHOICES = ("ask", "accept-defaults", "decline")
Choice = Literal["ask", "accept-defaults", "decline"]


@dataclass
class Ask:
    """Ask the person; for sampling, ``propose(request)`` drafts a reply they approve or edit."""

    propose: Callable[[SamplingRequest], Any] | None = None


@dataclass
class ElicitationRequest:
    """What the server asks the person for.

    A handler returns a dict (accept, with that content), None or "decline"
    (decline), "cancel" (dismiss), or an ``mcp_types.ElicitResult``.
    """

    server: str
    message: str
    mode: str = "form"  # "form" or "url"
    schema: dict[str, Any] = field(default_factory=dict)
    url: str | None = None
    elicitation_id: str | None = None

    @property
    def fields(self) -> dict[str, dict[str, Any]]:
        return dict(self.schema.get("properties") or {})

    @property
    def required(self) -> list[str]:
        return list(self.schema.get("required") or [])

    def defaults(self) -> dict[str, Any]:
        """Every field that has a default, filled with it."""
        return {name: spec["default"] for name, spec in self.fields.items() if "default" in spec}


@dataclass
class SamplingRequest:
    """What the server wants a model's reply to.

    ``messages`` are ``{"role", "text"}`` dicts (non-text content is described
    in ``text``). A handler returns the reply text, a dict with ``text`` and
    optionally ``model``, None (decline), or an ``mcp_types.CreateMessageResult``.
    """

    server: str
    messages: list[dict[str, str]]
    system_prompt: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    model_preferences: dict[str, Any] = field(default_factory=dict)
    stop_sequences: list[str] | None = None

    @property
    def conversation(self) -> str:
        lines = [f"[system] {self.system_prompt}"] if self.system_prompt else []
        lines += [f"[{m['role']}] {m['text']}" for m in self.messages]
        return "\n".join(lines)


# What a handler may return (see the request classes' docstrings).
SamplingReply = Union[str, Mapping[str, Any], types.CreateMessageResult, None]
ElicitationReply = Union[Mapping[str, Any], Literal["decline", "cancel"], types.ElicitResult, None]


class SamplingHandler(Protocol):
    """``fn(request)`` or ``async def fn(request)`` answering a sampling request."""

    def __call__(self, request: SamplingRequest, /) -> SamplingReply | Awaitable[SamplingReply]: ...


class ElicitationHandler(Protocol):
    """``fn(request)`` or ``async def fn(request)`` answering an elicitation request."""

    def __call__(self, request: ElicitationRequest, /) -> ElicitationReply | Awaitable[ElicitationReply]: ...


class Asker(Protocol):
    """Where "ask" shows a form (``widgets.answer.WidgetAsker``); ``available()`` says if it can now."""

    def available(self) -> bool: ...

    async def ask(self, kind: str, request: Any, proposal: str | None = None) -> Any: ...

    def add_inbox(self, inbox: Any) -> None: ...


SamplingOption = Union[Choice, Ask, SamplingHandler, None]
ElicitationOption = Union[Choice, ElicitationHandler, None]
# A path, a file:// URI, a list of them, None (no roots), or "default" (the notebook's folder).
RootsOption = Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]", types.Root]], None]


def check_handler(kind: str, spec: Any) -> Any:
    """A handler spec as given, or ConfigError naming the choices."""
    if spec is None or callable(spec) or isinstance(spec, Ask) or spec in CHOICES:
        if kind == "elicitation" and isinstance(spec, Ask) and spec.propose is not None:
            raise ConfigError("Ask(propose=...) is for sampling; elicitation takes 'ask' or a callable.")
        return spec
    raise ConfigError(f"Unknown {kind} handler {spec!r}.",
                      hint=f"use a callable, None, or one of: {', '.join(CHOICES)}.")


def roots_from(value: Any) -> list[types.Root] | None:
    """Roots from a path, a file:// URI, a list of those, or None (none offered)."""
    if value is None or value is False:
        return None
    items = [value] if isinstance(value, (str, os.PathLike)) else list(value)
    roots = []
    for item in items:
        if isinstance(item, types.Root):
            roots.append(item)
            continue
        text = os.fspath(item)
        if "://" in text:
            if not text.startswith("file://"):
                raise ConfigError(f"A root must be a file:// URI or a path, not {text!r}.")
            roots.append(types.Root(uri=text, name=Path(text[7:]).name or text))
        else:
            path = Path(text).expanduser().resolve()
            roots.append(types.Root(uri=path.as_uri(), name=path.name or str(path)))
    return roots


def default_roots() -> list[types.Root] | None:
    """The notebook's directory: a kernel runs in it."""
    return roots_from(os.getcwd())


# -- the SDK callbacks -------------------------------------------------------------------

class Answers:
    """One connection's answers to the server's requests, as SDK callbacks.

    ``record(kind, summary)`` is called for every request and answer, so the
    person can see them (``server.activity``).
    """

    def __init__(self, server_name: str, *, sampling: SamplingOption, elicitation: ElicitationOption,
                 roots: RootsOption, record: Callable[[str, str], None]) -> None:
        self.server = server_name
        self.sampling = check_handler("sampling", sampling)
        self.elicitation = check_handler("elicitation", elicitation)
        self.roots: list[types.Root] | None = default_roots() if roots == "default" else roots_from(roots)
        self.record = record
        self._asker: Asker | None = None

    @property
    def asker(self) -> Asker:
        """Where "ask" shows its forms; explorers add themselves as inboxes (``asker.add_inbox``)."""
        if self._asker is None:
            # Upward and lazy on purpose: the core never needs ipywidgets until a form is to be shown.
            from .widgets.answer import WidgetAsker

            self._asker = WidgetAsker()
        return self._asker

    def callbacks(self) -> dict[str, Any]:
        """The keyword arguments for the SDK Client: only the features offered."""
        out: dict[str, Any] = {}
        if self.sampling is not None:
            out["sampling_callback"] = self._on_sampling
        if self.elicitation is not None:
            out["elicitation_callback"] = self._on_elicitation
        if self.roots is not None:
            out["list_roots_callback"] = self._on_list_roots
        return out

    async def _on_list_roots(self, context: Any) -> types.ListRootsResult:
        roots = self.roots or []
        self.record("roots", f"server asked for roots; sent {len(roots)}: " + ", ".join(str(r.uri) for r in roots))
        return types.ListRootsResult(roots=roots)

    async def _on_elicitation(self, context: Any, params: Any) -> types.ElicitResult | types.ErrorData:
        request = elicitation_request(self.server, params)
        self.record("elicitation", f"server asked: {request.message}")
        try:
            outcome = await self._answer_elicitation(request)
        except Exception as exc:  # a failing handler declines; the tool call goes on
            self.record("elicitation", f"the handler failed ({type(exc).__name__}: {exc}); cancelled")
            return types.ElicitResult(action="cancel")
        result = elicit_result(outcome)
        self.record("elicitation", f"answered: {result.action}")
        return result

    async def _answer_elicitation(self, request: ElicitationRequest) -> Any:
        handler = self.elicitation
        if handler == "decline":
            return "decline"
        if handler == "accept-defaults":
            if request.mode == "url":
                return "decline"  # never open a URL unattended
            missing = [name for name in request.required if name not in request.defaults()]
            return "decline" if missing else request.defaults()
        if callable(handler):
            return await _maybe_await(handler(request))
        return await self._ask("elicitation", request)

    async def _on_sampling(self, context: Any, params: Any) -> Any:
        request = sampling_request(self.server, params)
        self.record("sampling", f"server asked for a reply to {len(request.messages)} message(s)")
        try:
            outcome = await self._answer_sampling(request)
        except ModelError as exc:  # mcpnb.llm's model failed: the server hears why, not "declined"
            self.record("sampling", f"the model failed ({exc.message}); answered with an error")
            said = exc.message.removeprefix(f"{exc.model}: ") if exc.model else exc.message  # not where it runs
            return types.ErrorData(code=-1, message=f"The client's model could not answer: {said}")
        except Exception as exc:
            self.record("sampling", f"the handler failed ({type(exc).__name__}: {exc}); declined")
            outcome = None
        if outcome is None:
            self.record("sampling", "declined")
            return types.ErrorData(code=-1, message="The user declined the sampling request.")
        result = create_message_result(outcome, "mcpnb (handler)" if callable(self.sampling) else "mcpnb (person)")
        self.record("sampling", f"replied ({len(_result_text(result))} characters)")
        return result

    async def _answer_sampling(self, request: SamplingRequest) -> Any:
        handler = self.sampling
        if handler in ("decline", "accept-defaults"):
            return None
        if callable(handler):
            return await _maybe_await(handler(request))
        proposal = None
        if isinstance(handler, Ask) and handler.propose is not None:
            proposal = await _maybe_await(handler.propose(request))
            proposal = _result_text(create_message_result(proposal)) if proposal is not None else None
        return await self._ask("sampling", request, proposal)

    async def _ask(self, kind: str, request: Any, proposal: str | None = None) -> Any:
        """Ask the person, wherever that can be done (see the module docstring)."""
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[Any] = loop.create_future()

        def on_stdin() -> Any:
            if kind == "sampling":
                return ask_sampling_on_stdin(request, proposal)
            return ask_elicitation_on_stdin(request)

        def errand(here: bool) -> None:
            if not here:
                loop.call_soon_threadsafe(_settle, answered, _NOT_ASKED)
                return
            try:
                outcome: Any = on_stdin()
            except KeyboardInterrupt:
                loop.call_soon_threadsafe(_settle, answered, "cancel" if kind == "elicitation" else None)
                raise  # the interrupted call is cancelled as well
            except Exception as exc:  # stdin not available to this frontend
                outcome = _Unaskable(f"{type(exc).__name__}: {exc}")
            loop.call_soon_threadsafe(_settle, answered, outcome)

        if runtime.main_thread_errand(errand):
            outcome = await answered
            if isinstance(outcome, _Unaskable):
                # The cell is still blocked, so a form could not be clicked either: nobody can answer.
                self.record(kind, f"could not ask on stdin ({outcome.why}); the cell waits in a blocking call")
                return "cancel" if kind == "elicitation" else None
            if outcome is not _NOT_ASKED:
                return outcome
        if self.asker.available():
            return await self.asker.ask(kind, request, proposal)
        if _interactive_terminal():
            return await anyio.to_thread.run_sync(on_stdin, abandon_on_cancel=True)
        self.record(kind, "nobody could be asked (no notebook form, no interactive stdin)")
        return "cancel" if kind == "elicitation" else None


class _Unaskable:
    def __init__(self, why: str) -> None:
        self.why = why


_NOT_ASKED = object()


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


async def _maybe_await(value: Any) -> Any:
    if hasattr(value, "__await__"):
        return await value
    return value


def in_kernel() -> bool:
    """Whether this process is a Jupyter kernel (widgets can be shown; stdin belongs to the cell)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return getattr(get_ipython(), "kernel", None) is not None


def _interactive_terminal() -> bool:
    # A kernel's stdin is only reachable from the cell's own thread (the errand route).
    return not in_kernel() and bool(sys.stdin and sys.stdin.isatty())


# -- from the SDK's types and back -------------------------------------------------------

def elicitation_request(server: str, params: Any) -> ElicitationRequest:
    data = params.model_dump(by_alias=True, exclude_none=True) if hasattr(params, "model_dump") else dict(params)
    return ElicitationRequest(
        server=server,
        message=str(data.get("message", "")),
        mode=str(data.get("mode", "form")),
        schema=dict(data.get("requestedSchema") or {}),
        url=data.get("url"),
        elicitation_id=data.get("elicitationId"),
    )


def elicit_result(outcome: Any) -> types.ElicitResult:
    if isinstance(outcome, types.ElicitResult):
        return outcome
    if outcome is None or outcome == "decline":
        return types.ElicitResult(action="decline")
    if outcome == "cancel":
        return types.ElicitResult(action="cancel")
    if outcome == "accept":
        return types.ElicitResult(action="accept", content={})
    if isinstance(outcome, dict):
        return types.ElicitResult(action="accept", content=outcome)
    raise ConfigError(f"An elicitation handler returned {type(outcome).__name__}; "
                      "return a dict (accept), None or 'decline', or 'cancel'.")


def sampling_request(server: str, params: Any) -> SamplingRequest:
    messages = []
    for message in params.messages:
        content = message.content if isinstance(message.content, list) else [message.content]
        messages.append({"role": message.role, "text": "\n".join(_content_text(c) for c in content)})
    preferences = params.model_preferences.model_dump(exclude_none=True) if params.model_preferences else {}
    return SamplingRequest(
        server=server,
        messages=messages,
        system_prompt=params.system_prompt,
        max_tokens=params.max_tokens,
        temperature=params.temperature,
        model_preferences=preferences,
        stop_sequences=params.stop_sequences,
    )


def _content_text(content: Any) -> str:
    text = getattr(content, "text", None)
    if isinstance(text, str):
        return text
    return f"[{getattr(content, 'type', 'content')} {getattr(content, 'mime_type', '') or ''}]".replace(" ]", "]")


def create_message_result(outcome: Any, model: str = "mcpnb") -> types.CreateMessageResult:
    """A handler's reply as the SDK's result; ``model`` names who wrote a plain-text reply."""
    if isinstance(outcome, (types.CreateMessageResult, types.CreateMessageResultWithTools)):
        return outcome
    if isinstance(outcome, str):
        text = outcome
    elif isinstance(outcome, dict) and isinstance(outcome.get("text"), str):
        text, model = outcome["text"], str(outcome.get("model", model))
    else:
        raise ConfigError(f"A sampling handler returned {type(outcome).__name__}; "
                          "return the reply text, {'text': ..., 'model': ...}, or None to decline.")
    return types.CreateMessageResult(role="assistant", content=types.TextContent(type="text", text=text),
                                     model=model, stop_reason="endTurn")


def _result_text(result: Any) -> str:
    content = result.content if isinstance(result.content, list) else [result.content]
    return "\n".join(_content_text(c) for c in content)


# -- asking on stdin ------------------------------------------------------------------------

def ask_elicitation_on_stdin(request: ElicitationRequest, read: Callable[[str], str] = input) -> Any:
    """Ask for an elicitation answer line by line; returns what a handler would."""
    print(f"\n{request.server} asks: {request.message}")
    if request.mode == "url":
        print(f"It wants you to open: {request.url}")
        choice = _choose(read, "Open this URL? [y]es / [n]o (decline) / [c]ancel: ", "ync")
        if choice == "y":
            print(f"Open it yourself: {request.url}")
            return "accept"
        return "decline" if choice == "n" else "cancel"
    choice = _choose(read, "[a]ccept / [d]ecline / [c]ancel: ", "adc")
    if choice != "a":
        return "decline" if choice == "d" else "cancel"
    content: dict[str, Any] = {}
    for name, spec in request.fields.items():
        value = _read_field(read, name, spec, name in request.required)
        if value is not _SKIP:
            content[name] = value
    return content


def ask_sampling_on_stdin(request: SamplingRequest, proposal: str | None = None,
                          read: Callable[[str], str] = input) -> str | None:
    """Show the messages and read a reply (empty: decline; with a proposal, empty keeps it)."""
    print(f"\n{request.server} asks for a model's reply (max {request.max_tokens} tokens) to:")
    print(request.conversation)
    if request.model_preferences:
        print(f"model preferences: {json.dumps(request.model_preferences)}")
    if proposal is not None:
        print(f"proposed reply: {proposal}")
        typed = read("Reply (Enter keeps the proposal, '-' declines): ")
        return proposal if typed == "" else (None if typed.strip() == "-" else typed)
    typed = read("Reply (empty declines): ")
    return typed or None


_SKIP = object()


def _choose(read: Callable[[str], str], prompt: str, letters: str) -> str:
    for _ in range(5):
        typed = read(prompt).strip().lower()[:1]
        if typed in letters:
            return typed
    return "c"


def _read_field(read: Callable[[str], str], name: str, spec: dict[str, Any], required: bool) -> Any:
    from .fields import enum_options, parse_text_value

    label = spec.get("title") or name
    kind = spec.get("type", "string")
    options = enum_options(spec)
    hints = [kind if not options else "one of " + ", ".join(shown for shown, _ in options)]
    if "default" in spec:
        hints.append(f"default {spec['default']!r}")
    if not required:
        hints.append("optional")
    description = f" - {spec['description']}" if spec.get("description") else ""
    for _ in range(5):
        typed = read(f"{label} ({'; '.join(hints)}){description}: ")
        if typed == "":
            if "default" in spec:
                return spec["default"]
            if not required:
                return _SKIP
            print("  required")
            continue
        value, problem = parse_text_value(typed, spec)
        if problem is None:
            return value
        print(f"  {problem}")
    raise ValueError(f"no valid value for {name!r}")


def root_uris(roots: Sequence[types.Root] | None) -> list[str]:
    return [str(r.uri) for r in roots or []]
