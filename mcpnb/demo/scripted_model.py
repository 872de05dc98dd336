"""A SCRIPTED STAND-IN for two model APIs, on 127.0.0.1. IT IS NOT A MODEL.

It understands nothing. It follows rules you give it and computes each reply
from the request, so a test (or a lesson without an API key) can drive mcpnb's
model code through the providers' real client packages and see exactly what
was sent::

    from mcpnb.demo.scripted_model import Rule, serving

    rules = [Rule(when=r"customer.*acme", steps=[[("search_customers", {"query": "Acme"})]],
                  answer="Here is what the tools said:\\n{results}")]
    with serving(rules) as stand_in:
        model = stand_in.llm("anthropic")        # mcpnb.llm(..., scripted=True) pointed at it
        ...
        stand_in.requests                        # every request: (path, headers without secrets, body)

Endpoints, with the real request and response shapes (non-streaming only):

- ``POST /v1/messages`` (Anthropic Messages) and ``POST /v1/chat/completions``
  (OpenAI Chat Completions): the conversation with tools.
- ``POST /v1/messages/count_tokens`` (Anthropic) and ``POST /v1/responses/input_tokens``
  (OpenAI Responses): token counts for the preview, ``expected(...)`` gives the same number.

How it answers a conversation: the first rule whose ``when`` (a regular
expression, case-insensitive) is found in the latest user prompt applies. The
number of assistant tool rounds since that prompt picks the step: round k makes
the calls of ``steps[k]``. Past the last step it answers ``answer``, with
``{results}`` replaced by a digest of the tool results since the prompt (an
error result is marked as an error) and ``{prompt}`` by the prompt. A tool the
request does not offer is not called: it answers a sentence saying so. No rule:
a sentence saying that no rule matched. ``stop_sequences``/``stop`` cut the
answer as the APIs do; a ``max_tokens`` smaller than the answer cuts it too.

It validates what the real APIs validate (a key present, required fields, tool
definitions' shape, tool results answering the previous assistant's calls,
OpenAI strict schemas) and refuses with the provider's error bodies;
``fail_with = (status, message)`` makes every request fail like the real API
(401, 404, 429, 500 ...); with ``fail_after = n`` the next n conversation
requests are still answered (a model that fails at step n + 1). ``delay``
makes each conversation request wait that many seconds (a slow model).
Token numbers are scripted: ``len(compact JSON) // 4``.
Keys are never recorded, except those that open nothing (starting with
"scripted", or mcpnb's placeholder for servers that need none).

This module uses only the standard library and imports nothing from mcpnb at
module level (``StandIn.llm`` imports ``mcpnb.llm`` when called).
"""

from __future__ import annotations

import contextlib
import http.server
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcpnb.llm import Model

__all__ = ["Rule", "StandIn", "serving", "start", "expected", "TOOL_PREAMBLE", "SCRIPTED_KEY"]

TOOL_PREAMBLE = 100  # scripted: what a provider's tool-use system prompt might cost
SCRIPTED_KEY = "scripted-stand-in-key"  # the key StandIn.llm gives its models: it opens nothing else
_HARMLESS_KEYS = ("scripted", "no-key-needed")  # keys that may be recorded (mcpnb.llm's placeholder is the second)
_ANTHROPIC_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_OPENAI_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@dataclass
class Rule:
    """When ``when`` is found in the latest user prompt: the tool rounds of ``steps``, then ``answer``."""

    when: str
    steps: list[list[tuple[str, dict[str, Any]]]] = field(default_factory=list)
    answer: str | None = None


@dataclass
class StandIn:
    """The running stand-in: where it listens, what it was sent, and the rules it follows (replaceable)."""

    port: int
    rules: list[Rule] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    fail_with: tuple[int, str] | None = None
    fail_after: int = 0  # with fail_with: conversation requests still answered before the failing starts
    delay: float = 0.0  # seconds each conversation request waits before its answer (a slow model)
    _server: http.server.ThreadingHTTPServer | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)
    # The connections being served, with their threads: a client's keep-alive connection would keep
    # its thread waiting for the next request after stop() otherwise.
    _open: dict[Any, threading.Thread] = field(default_factory=dict, repr=False)
    _stopping: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def anthropic_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def llm(self, provider: str, model: str = "scripted-1", **settings: Any) -> Model:
        """An ``mcpnb.llm`` model served by this stand-in (labelled as scripted, with a key that opens nothing)."""
        from mcpnb.llm import llm  # lazily: the stand-in itself needs only the standard library

        url = self.anthropic_url if provider == "anthropic" else self.openai_url
        settings.setdefault("api_key", SCRIPTED_KEY)
        return llm(f"{provider}:{model}", base_url=url, scripted=True, **settings)

    def stop(self) -> None:
        """Stop serving (``serving()`` does this on leaving)."""
        self._stopping.set()  # a delayed answer stops waiting
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for connection, thread in list(self._open.items()):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)  # the thread reading it sees the end and returns
            thread.join(5)
        self._open.clear()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _next_id(self) -> int:
        return next(self._ids)

    def _failure(self, conversation: bool) -> tuple[int, str] | None:
        """``fail_with`` if this request fails: a conversation request counts ``fail_after`` down first (so
        ``fail_after = 1`` answers one more request, then fails: a model failing at step 2)."""
        with self._lock:
            if self.fail_with is not None and self.fail_after > 0:
                if conversation:
                    self.fail_after -= 1
                return None
            return self.fail_with


def start(rules: Iterable[Rule] = ()) -> StandIn:
    """The stand-in on a free port of 127.0.0.1, in a daemon thread, until ``stop()``."""
    stand_in = StandIn(port=0, rules=list(rules))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(stand_in))
    server.daemon_threads = True
    stand_in.port = server.server_address[1]
    stand_in._server = server
    stand_in._thread = threading.Thread(target=server.serve_forever, name="scripted-model", daemon=True)
    stand_in._thread.start()
    return stand_in


@contextlib.contextmanager
def serving(rules: Iterable[Rule] = ()) -> Iterator[StandIn]:
    """``start(rules)``, stopped on leaving the block."""
    stand_in = start(rules)
    try:
        yield stand_in
    finally:
        stand_in.stop()


# -- what the stand-in computes ---------------------------------------------------------------


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def expected(said: Any, tools: list[dict[str, Any]] | None) -> int:
    """The stand-in's token count for a request that said ``said`` (messages or input) with ``tools``."""
    return len(_compact(said)) // 4 + ((TOOL_PREAMBLE + len(_compact(tools)) // 4) if tools else 0)


@dataclass
class _Turn:
    """A conversation read from either API: the latest prompt, then what happened since."""

    prompt: str = ""
    rounds: int = 0                                                   # assistant tool rounds since the prompt
    results: list[tuple[str, str, bool]] = field(default_factory=list)  # (tool, text, is_error) since the prompt


@dataclass
class _Outcome:
    text: str = ""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    cut: str | None = None   # "stop_sequence" (with the sequence in `sequence`) or "max_tokens"
    sequence: str | None = None


def _decide(rules: list[Rule], turn: _Turn, offered: set[str], max_tokens: int | None,
            stops: list[str]) -> _Outcome:
    """The reply the rules give for this point of the conversation."""
    rule = next((r for r in rules if re.search(r.when, turn.prompt, re.IGNORECASE)), None)
    if rule is None:
        return _cut(f"(scripted stand-in) No rule matched the prompt {turn.prompt[:200]!r}.", max_tokens, stops)
    if turn.rounds < len(rule.steps):
        calls = [(name, dict(arguments)) for name, arguments in rule.steps[turn.rounds]]
        missing = [name for name, _ in calls if name not in offered]
        if missing:
            listed = ", ".join(sorted(offered)) or "none"
            return _Outcome(text=f"(scripted stand-in) The rule for {rule.when!r} calls "
                                 f"{', '.join(repr(m) for m in missing)}, which this request does not offer "
                                 f"(tools offered: {listed}).")
        return _Outcome(calls=calls)
    if rule.answer is None:
        text = _digest(turn.results) if turn.results else \
            f"(scripted stand-in) The rule for {rule.when!r} has no answer."
    else:
        text = rule.answer.replace("{results}", _digest(turn.results)).replace("{prompt}", turn.prompt)
    return _cut(text, max_tokens, stops)


def _cut(text: str, max_tokens: int | None, stops: list[str]) -> _Outcome:
    for sequence in stops:
        if sequence and sequence in text:
            return _Outcome(text=text[: text.index(sequence)], cut="stop_sequence", sequence=sequence)
    if max_tokens is not None and _tokens(text) > max_tokens:
        return _Outcome(text=text[: max_tokens * 4], cut="max_tokens")
    return _Outcome(text=text)


def _digest(results: list[tuple[str, str, bool]]) -> str:
    if not results:
        return "(no tool results)"
    lines = []
    for tool, text, is_error in results:
        flat = " ".join(text.split())
        flat = flat if len(flat) <= 400 else flat[:399] + "…"
        lines.append(f"{tool} (error): {flat}" if is_error else f"{tool}: {flat}")
    return "\n".join(lines)


def _tokens(text: str) -> int:
    return max(1, len(text) // 4) if text else 0


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(part.get("text", "") for part in content
                         if isinstance(part, dict) and part.get("type") == "text")
    return ""


# -- Anthropic Messages ------------------------------------------------------------------------

_ANTHROPIC_ERRORS = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                     404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
                     500: "api_error", 529: "overloaded_error"}


def _anthropic_error(status: int, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"type": "error", "error": {"type": _ANTHROPIC_ERRORS.get(status, "api_error"), "message": message}}


def _anthropic_key(headers: dict[str, str]) -> bool:
    return bool(headers.get("x-api-key") or headers.get("authorization", "").startswith("Bearer "))


def _anthropic_tools(tools: Any) -> str | None:
    """What the API would refuse in ``tools``, or None."""
    if not isinstance(tools, list):
        return "tools: Input should be a valid list"
    for index, tool in enumerate(tools):
        schema = tool.get("input_schema") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or not tool.get("name") or not isinstance(schema, dict) \
                or schema.get("type") != "object":
            return f"tools.{index}: name and an input_schema of type object are required"
        if not _ANTHROPIC_NAME.match(str(tool["name"])):
            return f"tools.{index}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'"
    names = [tool["name"] for tool in tools]
    if len(set(names)) != len(names):
        return "tools: Tool names must be unique."
    return None


def _count_anthropic(stand_in: StandIn, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    if not _anthropic_key(headers):
        return _anthropic_error(401, "x-api-key or Authorization header is required")
    if not headers.get("anthropic-version"):
        return _anthropic_error(400, "anthropic-version header is required")
    if not body.get("model") or not isinstance(body.get("messages"), list) or not body["messages"]:
        return _anthropic_error(400, "model and messages are required")
    tools = body.get("tools")
    if tools is not None:
        if not tools:
            return _anthropic_error(400, "tools: must be a non-empty list")
        problem = _anthropic_tools(tools)
        if problem:
            return _anthropic_error(400, problem)
    return 200, {"input_tokens": expected(body["messages"], tools)}


def _anthropic_blocks(content: Any) -> list[dict[str, Any]]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content)


def _read_anthropic(messages: list[Any]) -> tuple[_Turn | None, str | None]:
    """The conversation as a _Turn, or what the API would refuse in it."""
    turn = _Turn()
    names: dict[str, str] = {}
    expected_ids: list[str] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return None, f"messages.{index}.role: Input should be 'user' or 'assistant'"
        content = message.get("content")
        if not isinstance(content, (str, list)) or (isinstance(content, list) and not content) or content == "":
            return None, f"messages.{index}: all messages must have non-empty content"
        blocks = _anthropic_blocks(content)
        for number, block in enumerate(blocks):
            if isinstance(block, dict) and block.get("type") == "text" and not str(block.get("text", "")).strip():
                return None, (f"messages.{index}.content.{number}: text content blocks must contain "
                              "non-whitespace text")
        if index == 0 and message["role"] != "user":
            return None, "messages: first message must use the \"user\" role"
        if message["role"] == "assistant":
            if expected_ids:
                return None, (f"messages.{index}: `tool_use` ids were found without `tool_result` blocks immediately "
                              f"after: {', '.join(expected_ids)}. Each `tool_use` block must have a corresponding "
                              "`tool_result` block in the next message.")
            uses = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_use"]
            for block in uses:
                if not block.get("id") or not block.get("name") or not isinstance(block.get("input"), dict):
                    return None, f"messages.{index}.content: a tool_use block needs id, name and an input object"
                names[block["id"]] = block["name"]
            expected_ids = [block["id"] for block in uses]
            if uses:
                turn.rounds += 1
            continue
        results = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
        given = [b.get("tool_use_id") for b in results]
        unknown = [i for i in given if i not in expected_ids]
        if unknown:
            return None, (f"messages.{index}.content: unexpected `tool_use_id` found in `tool_result` blocks: "
                          f"{', '.join(map(str, unknown))}. Each `tool_result` block must have a corresponding "
                          "`tool_use` block in the previous message.")
        twice = sorted({i for i in given if given.count(i) > 1})
        if twice:
            return None, (f"messages.{index}.content: each `tool_use` block must have a single `tool_result` "
                          f"block; found more than one for: {', '.join(map(str, twice))}")
        missing = [i for i in expected_ids if i not in given]
        if missing:
            return None, (f"messages.{index}: `tool_use` ids were found without `tool_result` blocks immediately "
                          f"after: {', '.join(missing)}. Each `tool_use` block must have a corresponding "
                          "`tool_result` block in the next message.")
        if results and any(b.get("type") != "tool_result" for b in blocks[: len(results)]):
            return None, (f"messages.{index}.content: tool_result blocks must come first in the content, "
                          "before any text")
        expected_ids = []
        for block in results:
            turn.results.append((names.get(block["tool_use_id"], "?"), _text_of(block.get("content", "")),
                                 bool(block.get("is_error"))))
        # The latest prompt is the last text block: a user message may carry an earlier, unanswered one
        # (a turn that failed) before it.
        said = [b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text"]
        if said:
            turn = _Turn(prompt=said[-1])
    return turn, None


def _messages_anthropic(stand_in: StandIn, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    if not _anthropic_key(headers):
        return _anthropic_error(401, "x-api-key or Authorization header is required")
    if not headers.get("anthropic-version"):
        return _anthropic_error(400, "anthropic-version header is required")
    for required in ("model", "max_tokens", "messages"):
        if required not in body:
            return _anthropic_error(400, f"{required}: Field required")
    if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1:
        return _anthropic_error(400, "max_tokens: Input should be greater than or equal to 1")
    if not isinstance(body["messages"], list) or not body["messages"]:
        return _anthropic_error(400, "messages: at least one message is required")
    temperature = body.get("temperature")
    if temperature is not None and not (isinstance(temperature, (int, float)) and 0 <= temperature <= 1):
        return _anthropic_error(400, "temperature: Input should be less than or equal to 1")
    tools = body.get("tools", [])
    problem = _anthropic_tools(tools)
    if problem:
        return _anthropic_error(400, problem)
    turn, problem = _read_anthropic(body["messages"])
    if turn is None:
        return _anthropic_error(400, problem or "messages: invalid")
    outcome = _decide(stand_in.rules, turn, {t["name"] for t in tools}, body["max_tokens"],
                      list(body.get("stop_sequences") or []))
    content: list[dict[str, Any]] = [{"type": "text", "text": outcome.text}] if outcome.text else []
    for name, arguments in outcome.calls:
        content.append({"type": "tool_use", "id": f"toolu_scripted_{stand_in._next_id():04d}", "name": name,
                        "input": arguments})
    stop = "tool_use" if outcome.calls else {"stop_sequence": "stop_sequence", "max_tokens": "max_tokens"}.get(
        outcome.cut or "", "end_turn")
    return 200, {
        "id": f"msg_scripted_{stand_in._next_id():04d}", "type": "message", "role": "assistant",
        "model": body["model"], "content": content, "stop_reason": stop, "stop_sequence": outcome.sequence,
        "usage": {"input_tokens": len(_compact(body)) // 4, "output_tokens": max(1, len(_compact(content)) // 4)},
    }


# -- OpenAI Chat Completions and Responses' token count ------------------------------------------

_OPENAI_ERRORS = {400: ("invalid_request_error", None), 401: ("invalid_request_error", "invalid_api_key"),
                  404: ("invalid_request_error", "model_not_found"), 429: ("requests", "rate_limit_exceeded"),
                  500: ("server_error", None), 503: ("server_error", None)}


def _openai_error(status: int, message: str, param: str | None = None) -> tuple[int, dict[str, Any]]:
    kind, code = _OPENAI_ERRORS.get(status, ("server_error", None))
    return status, {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _openai_key(headers: dict[str, str]) -> bool:
    return headers.get("authorization", "").startswith("Bearer ") and len(headers["authorization"]) > 7


_NO_KEY = ("You didn't provide an API key. You need to provide your API key in an Authorization header using "
           "Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")


def _count_openai(stand_in: StandIn, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    if not _openai_key(headers):
        return _openai_error(401, _NO_KEY)
    if not body.get("model"):
        return _openai_error(400, "Missing required parameter: 'model'.", "model")
    tools = body.get("tools")
    if tools is not None:
        for index, tool in enumerate(tools):
            if not isinstance(tool, dict) or tool.get("type") != "function":
                return _openai_error(400, f"Invalid value for 'tools[{index}].type'.", f"tools[{index}].type")
            if "function" in tool or not tool.get("name") or not isinstance(tool.get("parameters"), dict):
                return _openai_error(400, f"Missing required parameter: 'tools[{index}].name'.",
                                     f"tools[{index}].name")
    return 200, {"object": "response.input_tokens", "input_tokens": expected(body.get("input", ""), tools or None)}


def _strict_problem(node: Any, where: str) -> str | None:
    """What OpenAI's strict mode refuses in a schema (objects closed, every property required), or None."""
    if not isinstance(node, dict):
        return None
    kinds = node.get("type") if isinstance(node.get("type"), list) else [node.get("type")]
    if "object" in kinds or "properties" in node:
        if node.get("additionalProperties") is not False:
            return f"In context={where}, 'additionalProperties' is required to be supplied and to be false."
        properties = node.get("properties") or {}
        missing = [name for name in properties if name not in (node.get("required") or [])]
        if missing:
            return (f"In context={where}, 'required' is required to be supplied and to be an array including "
                    f"every key in properties. Missing '{missing[0]}'.")
    children: list[tuple[str, Any]] = [(f"{where}, 'properties', '{k}'", v)
                                       for k, v in (node.get("properties") or {}).items()]
    children += [(f"{where}, 'items'", node.get("items"))]
    children += [(f"{where}, 'anyOf', {i}", v) for i, v in enumerate(node.get("anyOf") or [])]
    for key in ("$defs", "definitions"):
        children += [(f"{where}, '{key}', '{k}'", v) for k, v in (node.get(key) or {}).items()]
    for place, child in children:
        problem = _strict_problem(child, place)
        if problem:
            return problem
    return None


def _openai_tools(tools: Any) -> tuple[str | None, str | None]:
    """(what the API would refuse in ``tools``, its param), or (None, None)."""
    if not isinstance(tools, list):
        return "Invalid type for 'tools': expected an array.", "tools"
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            return f"Invalid value for 'tools[{index}].type'.", f"tools[{index}].type"
        function = tool.get("function")
        if not isinstance(function, dict):
            return f"Missing required parameter: 'tools[{index}].function'.", f"tools[{index}].function"
        if not isinstance(function.get("name"), str) or not _OPENAI_NAME.match(function["name"]):
            return (f"Invalid 'tools[{index}].function.name': string does not match pattern. Expected a string "
                    "that matches the pattern '^[a-zA-Z0-9_-]+$'."), f"tools[{index}].function.name"
        if function.get("strict"):
            problem = _strict_problem(function.get("parameters", {}), "()")
            if problem:
                return (f"Invalid schema for function '{function['name']}': {problem}",
                        f"tools[{index}].function.parameters")
    names = [tool["function"]["name"] for tool in tools]
    if len(set(names)) != len(names):
        return "Invalid 'tools': function names must be unique.", "tools"
    return None, None


def _read_openai(messages: list[Any]) -> tuple[_Turn | None, str | None, str | None]:
    """The conversation as a _Turn, or (None, what the API would refuse, its param)."""
    turn = _Turn()
    names: dict[str, str] = {}
    waiting: list[str] = []
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("system", "developer", "user", "assistant", "tool"):
            return None, f"Invalid value for 'messages[{index}].role'.", f"messages[{index}].role"
        if role != "tool" and waiting:
            return None, ("An assistant message with 'tool_calls' must be followed by tool messages responding to "
                          f"each 'tool_call_id'. The following tool_call_ids did not have response messages: "
                          f"{', '.join(waiting)}"), f"messages.[{index}].role"
        if role in ("tool", "user", "system", "developer") and not isinstance(message.get("content"), (str, list)):
            return None, f"Missing required parameter: 'messages.[{index}].content'.", f"messages.[{index}].content"
        if role == "tool":
            call_id = message.get("tool_call_id")
            if not call_id:
                return None, ("Missing parameter 'tool_call_id': messages with role 'tool' must have a "
                              "'tool_call_id'."), f"messages.[{index}].tool_call_id"
            if call_id not in waiting:
                return None, ("Invalid parameter: messages with role 'tool' must be a response to a preceeding "
                              "message with 'tool_calls'."), f"messages.[{index}].role"
            waiting.remove(call_id)
            text = _text_of(message.get("content", ""))
            # The API has no flag: an error result starts with "Error:" (mcpnb.llm.openai_tool_text's rule).
            is_error = text.lower().startswith("error:")
            turn.results.append((names.get(call_id, "?"), text[6:].lstrip() if is_error else text, is_error))
        elif role == "assistant":
            calls = message.get("tool_calls") or []
            for call in calls:
                function = call.get("function") if isinstance(call, dict) else None
                if not isinstance(function, dict) or not call.get("id") or not isinstance(function.get("name"), str) \
                        or not isinstance(function.get("arguments"), str):
                    return None, f"Missing required parameter: 'messages[{index}].tool_calls'.", \
                        f"messages[{index}].tool_calls"
                names[call["id"]] = function["name"]
            waiting = [call["id"] for call in calls]
            if calls:
                turn.rounds += 1
        elif role == "user":
            # The latest prompt is the last text part: a user message may carry an earlier, unanswered
            # one (a turn that failed) before it.
            content = message.get("content", "")
            texts = [p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"] \
                if isinstance(content, list) else [_text_of(content)]
            turn = _Turn(prompt=texts[-1] if texts else "")
    if waiting:
        return None, ("An assistant message with 'tool_calls' must be followed by tool messages responding to each "
                      f"'tool_call_id'. The following tool_call_ids did not have response messages: "
                      f"{', '.join(waiting)}"), "messages"
    return turn, None, None


def _chat_openai(stand_in: StandIn, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    if not _openai_key(headers):
        return _openai_error(401, _NO_KEY)
    for required in ("model", "messages"):
        if not body.get(required):
            return _openai_error(400, f"Missing required parameter: '{required}'.", required)
    if not isinstance(body["messages"], list):
        return _openai_error(400, "Invalid type for 'messages': expected an array.", "messages")
    tools = body.get("tools", [])
    problem, param = _openai_tools(tools)
    if problem:
        return _openai_error(400, problem, param)
    turn, problem, param = _read_openai(body["messages"])
    if turn is None:
        return _openai_error(400, problem or "Invalid 'messages'.", param)
    stops = body.get("stop") or []
    stops = [stops] if isinstance(stops, str) else list(stops)
    if len(stops) > 4:
        return _openai_error(400, "Invalid 'stop': array too long. Expected an array with maximum length 4.", "stop")
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    outcome = _decide(stand_in.rules, turn, {t["function"]["name"] for t in tools}, limit, stops)
    message: dict[str, Any] = {"role": "assistant", "content": outcome.text or None, "refusal": None}
    if outcome.calls:
        message["tool_calls"] = [
            {"id": f"call_scripted_{stand_in._next_id():04d}", "type": "function",
             "function": {"name": name, "arguments": json.dumps(arguments)}} for name, arguments in outcome.calls]
    finish = "tool_calls" if outcome.calls else ("length" if outcome.cut == "max_tokens" else "stop")
    prompt_tokens = len(_compact(body)) // 4
    completion_tokens = max(1, len(_compact(message)) // 4)
    return 200, {
        "id": f"chatcmpl-scripted-{stand_in._next_id():04d}", "object": "chat.completion", "created": int(time.time()),
        "model": body["model"],
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


# -- the HTTP server ---------------------------------------------------------------------------

ROUTES = {
    "/v1/messages": ("anthropic", _messages_anthropic),
    "/v1/messages/count_tokens": ("anthropic", _count_anthropic),
    "/v1/chat/completions": ("openai", _chat_openai),
    "/v1/responses/input_tokens": ("openai", _count_openai),
}


def _without_secrets(headers: dict[str, str]) -> dict[str, str]:
    kept = {}
    for name, value in headers.items():
        if name in ("x-api-key", "authorization"):
            key = value.removeprefix("Bearer ")
            if not key.startswith(_HARMLESS_KEYS):
                value = value[: len(value) - len(key)] + "<hidden>"
        kept[name] = value
    return kept


def _handler(stand_in: StandIn) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle's algorithm on, the second waits for the
        # client's delayed ACK (about 40 ms a request on Linux), which would swamp every timing.
        disable_nagle_algorithm = True

        def setup(self) -> None:
            super().setup()
            stand_in._open[self.connection] = threading.current_thread()

        def finish(self) -> None:
            try:
                super().finish()
            finally:
                stand_in._open.pop(self.connection, None)

        def do_POST(self) -> None:  # noqa: N802  (http.server's name)
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            path = self.path.split("?")[0]
            try:
                body = json.loads(raw or b"{}")
                parsed = isinstance(body, dict)
            except ValueError:
                body, parsed = {"unparsed": raw.decode("utf-8", "replace")}, False
            stand_in.requests.append((path, _without_secrets(headers), body))
            route = ROUTES.get(path)
            if route is None:
                status, answer = 404, {"error": {"message": f"(scripted stand-in) no route {path}",
                                                 "type": "not_found"}}
            else:
                provider, compute = route
                error = _anthropic_error if provider == "anthropic" else _openai_error
                conversation = path in ("/v1/messages", "/v1/chat/completions")
                if conversation and stand_in.delay > 0:
                    stand_in._stopping.wait(stand_in.delay)
                failure = stand_in._failure(conversation)
                if failure is not None:
                    status, answer = error(*failure)
                elif not parsed:
                    status, answer = error(400, "The request body is not valid JSON.")
                else:
                    try:
                        status, answer = compute(stand_in, headers, body)
                    except Exception as exc:  # a shape the checks above did not foresee: refused, not a hang
                        status, answer = error(400, f"(scripted stand-in) could not read the request: {exc!r}")
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("request-id", f"req_scripted_{stand_in._next_id():04d}")
            if status == 429 or status >= 500:
                self.send_header("retry-after-ms", "10")  # both SDKs honour it: their retries stay quick
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:  # quiet
            pass

    return Handler
