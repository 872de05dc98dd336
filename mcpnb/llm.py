"""Models from the providers' own packages: ``mcpnb.llm("anthropic:claude-sonnet-4-5")``.

Two APIs are spoken, each through its official package (``pip install "mcpnb[llm]"``):

- ``"anthropic:MODEL"``: Anthropic's Messages API (``anthropic.AsyncAnthropic``);
- ``"openai:MODEL"``: OpenAI's Chat Completions API (``openai.AsyncOpenAI``), which
  OpenAI-compatible servers speak too: ``mcpnb.llm("openai:llama3.2", base_url=
  "http://127.0.0.1:11434/v1")`` for Ollama, the same for vLLM or llama.cpp's server.

Keys come from ``api_key=`` or the environment (``ANTHROPIC_API_KEY``,
``OPENAI_API_KEY``); endpoints from ``base_url=`` or the SDKs' own
``ANTHROPIC_BASE_URL``/``OPENAI_BASE_URL``. A server given by ``base_url`` may
need no key: a placeholder is sent then. The key never appears in a repr, an
error or a log line.

A ``Model`` speaks a provider-neutral conversation (``Message``, ``ToolCall``,
``Reply``); ``model.acomplete(messages, tools=...)`` takes tool definitions as
``mcpnb.export`` writes them for ``model.export_provider``. A ``Model`` is also
a sampling handler: ``mcpnb.connect(target, sampling=mcpnb.llm(...))``.

A temperature is sent only when one is set (Claude models after Opus 4.6
accept only 1.0: a sampling request's temperature such a model refuses is
dropped, and the reply says so). OpenAI's own API gets
``max_completion_tokens``, other endpoints ``max_tokens``.

The SDKs retry a rate limit (429) or a server failure (5xx) once here
(``MAX_RETRIES``), waiting as the API's ``retry-after`` says; then the error
is one line (``ModelError``). Not supported: streaming, images or other
non-text content, sampling requests that carry tools.

Without a key, ``mcpnb.demo.scripted_model`` serves both APIs on 127.0.0.1:
a scripted stand-in, not a model (``stand_in.llm("anthropic")``).
"""

from __future__ import annotations

import json
import re
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import runtime
from .errors import ConfigError, ModelError
from .masking import Redactor, mask_url, register_secrets, url_secrets

if TYPE_CHECKING:
    import asyncio

    from .handlers import SamplingRequest

__all__ = ["PROVIDERS", "ToolCall", "Usage", "Message", "Reply", "Model", "llm", "MAX_RETRIES"]

PROVIDERS = ("anthropic", "openai")
MAX_RETRIES = 1  # the SDKs' default is 2; one retry keeps a notebook cell from waiting long on a failing API
PLACEHOLDER_KEY = "no-key-needed"  # sent to a base_url server when no key is set (local servers ignore it)
SCRIPTED = "(scripted stand-in, not a model)"

_KEY_VARIABLES = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}
_URL_VARIABLES = {"anthropic": "ANTHROPIC_BASE_URL", "openai": "OPENAI_BASE_URL"}
_PACKAGES = {"anthropic": "anthropic", "openai": "openai"}
_API_NAMES = {"anthropic": "Messages API", "openai": "Chat Completions"}


@dataclass(frozen=True)
class ToolCall:
    """One tool call a model asked for, with the name as the model used it (the exported name).

    ``arguments`` are as the model sent them; when they could not be read (not JSON, not
    an object) they are ``{}`` and ``problem`` says why, so the caller can tell the model."""

    id: str
    name: str
    arguments: dict[str, Any]
    problem: str | None = None


@dataclass(frozen=True)
class Usage:
    """Tokens one request (or a sum of them) cost, as the API reported them."""

    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens)


@dataclass(frozen=True)
class Message:
    """One message of a provider-neutral conversation.

    "user" (``text``), "assistant" (``text`` and the ``calls`` it made) or "tool" (the
    result of the call ``call_id``: ``text``, ``is_error``)."""

    role: str
    text: str = ""
    calls: tuple[ToolCall, ...] = ()
    call_id: str | None = None
    is_error: bool = False


@dataclass(frozen=True)
class Reply:
    """One model response: text, the tool calls it made, and why it stopped.

    ``stop`` is "end" (finished, or reached a stop sequence), "tool_use", "max_tokens",
    or "other:<the provider's reason>"."""

    text: str
    calls: tuple[ToolCall, ...]
    stop: str
    usage: Usage
    model: str
    seconds: float


class _Key:
    """The API key, kept out of reprs (``vars(model)`` shows this, not the key)."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<key hidden>"


class Model:
    """A model behind a provider's API (see the module docstring); make one with ``mcpnb.llm``."""

    def __init__(self, provider: str, name: str, *, api_key: str, base_url: str | None = None,
                 max_tokens: int = 1024, temperature: float | None = None, timeout: float = 60.0,
                 alternatives: Sequence[str] = (), scripted: bool = False) -> None:
        self.provider = provider
        self.name = name
        self.base_url = base_url
        self.scripted = scripted
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.timeout = timeout
        self.alternatives = tuple(alternatives)
        self._key = _Key(api_key)
        self._redact = Redactor([api_key, *url_secrets(base_url or "")])
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()

    @property
    def label(self) -> str:
        """``provider:model``, where it is served when not the provider's own API, and whether it is scripted."""
        text = f"{self.provider}:{self.name}"
        if self.base_url:
            text += f" at {self._where()}"
        return f"{text} {SCRIPTED}" if self.scripted else text

    def _where(self) -> str:
        """The endpoint as shown: credentials in the URL masked, and the key itself (a gateway may take it in
        the path)."""
        return self._redact(mask_url(self.base_url)) if self.base_url else f"{self.provider}'s API"

    @property
    def export_provider(self) -> str:
        """The ``mcpnb.export`` format this model's tool definitions take ("openai" is strict)."""
        return self.provider

    # -- requests -----------------------------------------------------------------------------

    async def acomplete(self, messages: Sequence[Message], *, tools: Sequence[dict] = (), system: str | None = None,
                        max_tokens: int | None = None, temperature: float | None = None,
                        stop: Sequence[str] | None = None, model: str | None = None) -> Reply:
        """One request: the conversation so far (and the tools it may call) -> the model's reply.

        ``model`` asks another model of the same provider and endpoint for this request only.
        Awaitable from any loop; the request itself runs on mcpnb's loop (as every connection's
        does), so one SDK client serves it and cancelling the awaiting task cancels it."""
        for message in messages:
            if message.role not in ("user", "assistant", "tool"):
                raise ConfigError(f"A message's role is 'user', 'assistant' or 'tool', not {message.role!r}.",
                                  hint="give the system prompt as system=...")
            if message.role == "tool" and not message.call_id:
                raise ConfigError("A tool message needs the call_id of the call it answers.")
        params = {"messages": list(messages), "tools": list(tools), "system": system,
                  "max_tokens": self.max_tokens if max_tokens is None else max_tokens,
                  "temperature": self.temperature if temperature is None else temperature,
                  "stop": list(stop) if stop else None, "model": model or self.name}
        return await runtime.arun(self._request(params))

    async def _request(self, params: dict[str, Any]) -> Reply:
        started = time.perf_counter()
        try:
            if self.provider == "anthropic":
                return await self._anthropic(params, started)
            return await self._openai(params, started)
        except (ModelError, ConfigError):
            raise
        except Exception as error:  # an answer that is not the API's shape (a proxy's page, a broken server)
            said = self._redact(" ".join(f"{type(error).__name__}: {error}".split())[:200])
            where = self._where()
            raise ModelError(f"{self.label}: the answer could not be read as a {_API_NAMES[self.provider]} "
                             f"response ({said}).", model=self.label,
                             hint=f"is {where} an endpoint that speaks this API?") from None

    def complete(self, messages: Sequence[Message], *, tools: Sequence[dict] = (), system: str | None = None,
                 max_tokens: int | None = None, temperature: float | None = None,
                 stop: Sequence[str] | None = None, model: str | None = None) -> Reply:
        """``acomplete``, waited for (on mcpnb's loop, so Jupyter's stop button interrupts it)."""
        return runtime.run(self.acomplete(messages, tools=tools, system=system, max_tokens=max_tokens,
                                          temperature=temperature, stop=stop, model=model))

    def _client(self) -> Any:
        """The SDK client (one per event loop, should mcpnb's ever be replaced: an httpx client's
        connections belong to the loop that opened them)."""
        import asyncio

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            settings = {"api_key": self._key.value, "base_url": self.base_url, "timeout": self.timeout,
                        "max_retries": MAX_RETRIES}
            if self.provider == "anthropic":
                import anthropic

                client = anthropic.AsyncAnthropic(**settings)
            else:
                import openai

                client = openai.AsyncOpenAI(**settings)
            self._clients[loop] = client
        return client

    async def _anthropic(self, params: dict[str, Any], started: float) -> Reply:
        import anthropic

        request: dict[str, Any] = {"model": params["model"], "max_tokens": params["max_tokens"],
                                   "messages": _anthropic_messages(params["messages"])}
        if params["tools"]:
            request["tools"] = params["tools"]
        if params["system"]:
            request["system"] = params["system"]
        if params["temperature"] is not None:
            # Through extra_body: anthropic>=1 dropped the argument (the API still takes it, though
            # Claude models after Opus 4.6 accept only 1.0); sent only when set.
            request["extra_body"] = {"temperature": params["temperature"]}
        if params["stop"]:
            request["stop_sequences"] = params["stop"]
        try:
            response = await self._client().messages.create(**request)
        except anthropic.APIError as error:
            raise self._failure(error, params["model"]) from None
        texts, calls = [], []
        for block in response.content:
            if block.type == "text":
                texts.append(block.text)
            elif block.type == "tool_use":
                arguments = block.input if isinstance(block.input, dict) else {}
                problem = None if isinstance(block.input, dict) else \
                    f"arguments were not an object: {json.dumps(block.input)[:200]}"
                calls.append(ToolCall(block.id, block.name, arguments, problem))
        reason = response.stop_reason or "none"
        stop = {"end_turn": "end", "stop_sequence": "end", "tool_use": "tool_use",
                "max_tokens": "max_tokens"}.get(reason, f"other:{reason}")
        usage = response.usage
        spent = (usage.input_tokens or 0) + (getattr(usage, "cache_read_input_tokens", None) or 0) \
            + (getattr(usage, "cache_creation_input_tokens", None) or 0)
        return Reply("".join(texts), tuple(calls), stop, Usage(spent, usage.output_tokens or 0),
                     response.model or params["model"], time.perf_counter() - started)

    async def _openai(self, params: dict[str, Any], started: float) -> Reply:
        import openai

        messages = _openai_messages(params["messages"])
        if params["system"]:
            messages.insert(0, {"role": "system", "content": params["system"]})
        request: dict[str, Any] = {"model": params["model"], "messages": messages}
        # OpenAI's own API wants max_completion_tokens (its reasoning models refuse max_tokens);
        # the compatible servers (Ollama, vLLM, llama.cpp) all read max_tokens.
        limit = "max_completion_tokens" if self._official_openai() else "max_tokens"
        request[limit] = params["max_tokens"]
        if params["tools"]:
            request["tools"] = params["tools"]
        if params["temperature"] is not None:
            request["temperature"] = params["temperature"]
        if params["stop"]:
            request["stop"] = params["stop"]
        try:
            response = await self._client().chat.completions.create(**request)
        except openai.APIError as error:
            raise self._failure(error, params["model"]) from None
        if not response.choices:
            raise ModelError(f"{self.label}: the API answered with no choices.", model=self.label,
                             hint="try again; a compatible server may not support this request.")
        choice = response.choices[0]
        calls = tuple(_openai_call(call) for call in (choice.message.tool_calls or [])
                      if getattr(call, "function", None) is not None)
        reason = choice.finish_reason or "none"
        stop = "tool_use" if calls else {"stop": "end", "tool_calls": "tool_use", "function_call": "tool_use",
                                         "length": "max_tokens"}.get(reason, f"other:{reason}")
        usage = response.usage
        spent = Usage(getattr(usage, "prompt_tokens", 0) or 0, getattr(usage, "completion_tokens", 0) or 0)
        return Reply(choice.message.content or "", calls, stop, spent, response.model or params["model"],
                     time.perf_counter() - started)

    def _official_openai(self) -> bool:
        url = self.base_url or "https://api.openai.com/v1"
        return (urlsplit(url).hostname or "").endswith("api.openai.com")

    def _failure(self, error: Exception, model: str) -> ModelError:
        """An SDK exception as one readable line with a hint; the key never in it."""
        label = self.label if model == self.name else self.label.replace(f":{self.name}", f":{model}", 1)
        where = self._where()
        status = getattr(error, "status_code", None)
        said = self._redact(_said(error))
        said = re.sub(r"(?i)(api key provided: )\S+", r"\1***", said)
        variable = _KEY_VARIABLES[self.provider]
        if status is None:
            place = "" if self.base_url else f" from {where}"  # the label already says where, when not the API's own
            if "Timeout" in type(error).__name__:
                return ModelError(f"{label}: no answer{place} within {self.timeout:g} s "
                                  f"(asked {MAX_RETRIES + 1} times).", model=label,
                                  hint="raise timeout= in mcpnb.llm(...), or try again.")
            cause = " ".join(str(error.__cause__ or "").split())[:200] or "the connection failed"
            hint = f"is the server at {where} running?" if self.base_url else "check the network connection."
            return ModelError(f"{label}: could not connect{place.replace(' from', ' to')} ({self._redact(cause)}).",
                              model=label, hint=hint)
        hints = {
            401: f"check the key ({variable}, or api_key= in mcpnb.llm).",
            403: "the key is valid but may not use this model or endpoint.",
            404: (f"check the model name {model!r}" + (" (a local server lists its own names, e.g. `ollama list`)."
                                                      if self.base_url else ".")),
            429: "wait a little and run it again, or send fewer requests.",
        }
        problems = {401: "the key was refused", 403: "permission denied", 404: "not found",
                    429: f"rate limited, also after {MAX_RETRIES} retry", 400: "the request was refused"}
        problem = problems.get(status, "the API failed" if status >= 500 else "the request was refused")
        hint = hints.get(status, "try again later." if status >= 500 else "the message above says what was wrong.")
        return ModelError(f"{label}: {problem} (HTTP {status}: {said}).", status=status, model=label, hint=hint)

    # -- a sampling handler ------------------------------------------------------------------

    async def __call__(self, request: SamplingRequest) -> dict[str, Any]:
        """Answer a server's sampling request (``connect(..., sampling=model)``).

        Honours the request's system prompt, token limit, temperature, stop sequences
        and model preferences: the first hint whose name is part of this model's name or
        of one of ``alternatives`` picks that model; without a matching hint, the
        priorities choose among the alternatives (see ``choose``)."""
        chosen, why = self.choose(request.model_preferences)
        messages = [Message("assistant" if m.get("role") == "assistant" else "user", m.get("text", ""))
                    for m in request.messages]
        settings = {"system": request.system_prompt, "max_tokens": request.max_tokens,
                    "stop": request.stop_sequences, "model": chosen}
        try:
            reply = await self.acomplete(messages, temperature=request.temperature, **settings)
        except ModelError as error:
            # Newer models refuse a temperature; the server's wish is a preference, not a requirement.
            if request.temperature is None or error.status != 400 or "temperature" not in error.message:
                raise
            reply = await self.acomplete(messages, **settings)
            why = "; ".join(filter(None, [why, "the model refused the temperature asked for"]))
        via = f"via mcpnb.llm{'; ' + why if why else ''}"
        scripted = f"{SCRIPTED[1:-1]}; " if self.scripted else ""  # the server shows it as the model that wrote
        return {"text": reply.text, "model": f"{self.provider}:{chosen} ({scripted}{via})", "note": why}

    def choose(self, preferences: dict[str, Any] | None) -> tuple[str, str]:
        """The model a sampling request's preferences pick, and why ("" when it is this model by default).

        A hint is matched as a substring, case-insensitively, against this model's name, then
        each alternative. Without a match, and only with alternatives, the priorities decide:
        a speed or cost priority above the intelligence priority takes the smallest-sounding
        name (haiku, mini, nano, flash, small ...), an intelligence priority above both the
        largest-sounding (opus, pro, large ...)."""
        preferences = preferences or {}
        candidates = [self.name, *self.alternatives]
        for hint in preferences.get("hints") or []:
            wanted = str((hint or {}).get("name") or "").lower()
            for candidate in candidates if wanted else []:
                if wanted in candidate.lower():
                    return candidate, f"hint {wanted!r}"
        if not self.alternatives:
            return self.name, ""

        def priority(name: str) -> float:
            value = preferences.get(f"{name}_priority", preferences.get(f"{name}Priority"))
            return float(value) if isinstance(value, (int, float)) else 0.0

        speed, cost, intelligence = priority("speed"), priority("cost"), priority("intelligence")
        if max(speed, cost) > intelligence:
            pick = min(candidates, key=_size)
            first = "speed" if speed >= cost else "cost"
            return pick, f"{first} priority {max(speed, cost):g} over intelligence {intelligence:g}"
        if intelligence > max(speed, cost):
            pick = max(candidates, key=_size)
            return pick, f"intelligence priority {intelligence:g} over speed {speed:g} and cost {cost:g}"
        return self.name, ""

    # -- showing it ---------------------------------------------------------------------------

    def _settings(self) -> list[tuple[str, str]]:
        rows = [("model", f"{self.provider}:{self.name}"),
                ("endpoint", self._where()),
                ("max_tokens", str(self.max_tokens)),
                ("temperature", "the API's default" if self.temperature is None else f"{self.temperature:g}")]
        if self.alternatives:
            rows.append(("alternatives", ", ".join(self.alternatives)))
        return rows

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in self._settings()[2:])
        return f"<Model {self.label}: {settings}>"

    def _repr_html_(self) -> str:
        from . import render  # with pandas: only when a notebook shows it

        rows = "".join(f"<tr><th>{render.esc(k)}</th><td class='what'>{render.esc(v)}</td></tr>"
                       for k, v in self._settings())
        head = render.esc(self.label)
        scripted = ""
        if self.scripted:
            # Hard to miss: bold, behind a warning-coloured bar. The colourless border comes first: an
            # untrusted notebook's sanitizer drops a style with var(), and the bar must stay.
            head = (f"{render.esc(self.label.removesuffix(' ' + SCRIPTED))} <span style='font-weight:700;"
                    "border-left:3px solid;border-left:3px solid var(--jp-warn-color1);padding:1px 6px;"
                    "margin-left:4px;white-space:nowrap;color:var(--jp-content-font-color0)'>"
                    f"{render.esc(SCRIPTED)}</span>")
            scripted = ("<div class='note'>Not a model: a program on this machine (mcpnb.demo.scripted_model) "
                        "follows rules to compute its replies.</div>")
        return render._box(f"<div class='head'>{head}</div>{scripted}<table class='steps'>{rows}</table>")


_SMALL = ("haiku", "mini", "nano", "flash", "lite", "small", "tiny", "8b", "7b", "3b", "1b")
_LARGE = ("opus", "pro", "large", "ultra", "max", "70b", "405b")


def _size(name: str) -> int:
    lowered = name.lower()
    return 0 if any(w in lowered for w in _SMALL) else 2 if any(w in lowered for w in _LARGE) else 1


def _said(error: Exception) -> str:
    """The provider's own message from an SDK error, on one line."""
    body = getattr(error, "body", None)
    message = None
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        message = inner.get("message")
    text = str(message) if message else (getattr(error, "message", None) or str(error))
    return " ".join(text.split())[:300]


def _anthropic_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """The conversation in the Messages API's shape. Tool results and the prompts after them (a follow-up
    after a turn that failed or hit its step limit: more than one) go in ONE user message, the tool_result
    blocks first, as the API requires; empty text (which it refuses) is left out or said so."""
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "assistant":
            blocks: list[dict[str, Any]] = [{"type": "text", "text": message.text}] if message.text.strip() else []
            blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments} for c in message.calls]
            out.append({"role": "assistant", "content": blocks or [{"type": "text", "text": "(no text)"}]})
            continue
        if message.role == "tool":
            block: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.call_id}
            if message.text:
                block["content"] = message.text
            if message.is_error:
                block["is_error"] = True
        else:
            block = {"type": "text", "text": message.text if message.text.strip() else "(empty)"}
        if out and out[-1]["role"] == "user":
            out[-1]["content"].append(block)
        else:
            out.append({"role": "user", "content": [block]})
    for entry in out:  # tool results before any text (stable: each kind keeps its order)
        if entry["role"] == "user":
            entry["content"].sort(key=lambda block: block["type"] != "tool_result")
    return out


def _openai_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """The conversation in Chat Completions' shape; an error result says so in its text (the API has no flag)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "assistant":
            entry: dict[str, Any] = {"role": "assistant", "content": message.text or None}
            if message.calls:
                entry["tool_calls"] = [{"id": c.id, "type": "function",
                                        "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
                                       for c in message.calls]
            else:
                entry["content"] = message.text
            out.append(entry)
        elif message.role == "tool":
            out.append({"role": "tool", "tool_call_id": message.call_id,
                        "content": openai_tool_text(message.text, message.is_error)})
        elif out and out[-1]["role"] == "user":
            # A prompt after an unanswered one (a turn that failed): ONE user message, its text parts in
            # order. OpenAI takes two in a row, but many compatible servers' chat templates (Mistral, Gemma
            # on vLLM or llama.cpp) refuse roles that do not alternate, so every follow-up would fail.
            earlier = out[-1]["content"]
            parts = earlier if isinstance(earlier, list) else [{"type": "text", "text": earlier}]
            out[-1]["content"] = [*parts, {"type": "text", "text": message.text}]
        else:
            out.append({"role": "user", "content": message.text})
    return out


ERROR_MARK = "Error: "  # how an error result starts in Chat Completions, which has no flag for it


def openai_tool_text(text: str, is_error: bool) -> str:
    """A tool result's text as Chat Completions gets it: an error result starts with "Error: " (unless it
    already starts with "error:", any case), so a result starting so is an error (the stand-in reads it so)."""
    if is_error and not text.lower().startswith(ERROR_MARK.lower().strip()):
        return ERROR_MARK + text
    return text


def _openai_call(call: Any) -> ToolCall:
    raw = call.function.arguments or "{}"
    try:
        arguments = json.loads(raw)
    except ValueError as error:
        return ToolCall(call.id, call.function.name, {}, f"arguments were not valid JSON: {error}: {raw[:200]}")
    if not isinstance(arguments, dict):
        return ToolCall(call.id, call.function.name, {}, f"arguments were not a JSON object: {raw[:200]}")
    return ToolCall(call.id, call.function.name, arguments)


def llm(spec: str, *, base_url: str | None = None, api_key: str | None = None, max_tokens: int = 1024,
        temperature: float | None = None, timeout: float = 60.0, alternatives: Sequence[str] = (),
        scripted: bool = False) -> Model:
    """A model: ``"anthropic:MODEL"`` or ``"openai:MODEL"`` (``base_url=`` for any OpenAI-compatible server).

    ``alternatives``: other models of the same provider and endpoint that a sampling
    request's model preferences may pick. ``scripted=True`` marks a model served by
    ``mcpnb.demo.scripted_model`` (it says so wherever it is shown)."""
    import os

    provider, _, name = str(spec).partition(":")
    if provider not in PROVIDERS or not name.strip():
        raise ConfigError(f"{spec!r} does not name a model.",
                          hint="write 'anthropic:MODEL' or 'openai:MODEL', "
                               "e.g. mcpnb.llm('anthropic:claude-sonnet-4-5').")
    if max_tokens < 1:
        raise ConfigError(f"max_tokens must be at least 1, not {max_tokens}.")
    try:
        __import__(_PACKAGES[provider])
    except ImportError:
        raise ConfigError(f"{spec!r} needs the {_PACKAGES[provider]} package, which is not installed.",
                          hint='pip install "mcpnb[llm]"') from None
    variable = _KEY_VARIABLES[provider]
    base_url = base_url or os.environ.get(_URL_VARIABLES[provider]) or None  # where the SDK will send it anyway
    key = api_key or os.environ.get(variable)
    if not key:
        if not base_url:
            raise ConfigError(f"{spec!r} needs an API key: {variable} is not set.",
                              hint=f"set {variable} in the environment (or pass api_key=...); "
                                   "a local OpenAI-compatible server needs base_url=... and no key.")
        key = PLACEHOLDER_KEY
    # The SDKs' and httpx's logs would show them otherwise (request URLs carry the endpoint's own).
    register_secrets([*([key] if key != PLACEHOLDER_KEY else []), *url_secrets(base_url or "")])
    return Model(provider, name.strip(), api_key=key, base_url=base_url, max_tokens=max_tokens,
                 temperature=temperature, timeout=timeout, alternatives=alternatives, scripted=scripted)
