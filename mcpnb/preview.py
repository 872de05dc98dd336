"""What the model will see: each tool as a provider's API receives it, and its cost in tokens.

``server.tools.preview("anthropic")`` returns a ``Preview``: every tool's
definition exactly as it goes in that API's request (``export.export_tools``,
strict where the provider has a strict mode), its token count, its share of
the server's total, what the conversion had to change, and the totals for this
server and for every open server together (all of them are in a model's
context at once when an agent connects to them all).

Per tool, the count is always offline: ``tokenizer.count`` of the definition
serialised as compact JSON (``json.dumps(definition, separators=(",", ":"),
ensure_ascii=False)``), as the anthropic and openai SDKs put it in the request
body (seen on the wire).
Providers render tools into their own prompt, so what the model reads differs
a little; offline counts compare tools and versions, and the totals can come
from the provider::

    count=      anthropic / openai / openai-responses          gemini
    "offline"   offline totals                                 offline totals
    "api"       the provider's counting API (a key needed)     ConfigError: no counting API used
    "auto"      the API when its key is set, else offline      offline

The APIs, through the official SDKs (which honour ``ANTHROPIC_BASE_URL`` and
``OPENAI_BASE_URL``):

- Anthropic: ``client.messages.count_tokens`` (POST /v1/messages/count_tokens)
  with ``ANTHROPIC_API_KEY``. The tools' cost is the count of a one-line
  request with the tools less the same request without them, so it includes
  the tool-use system prompt Anthropic adds whenever tools are present.
- OpenAI: ``client.responses.input_tokens.count`` (POST /v1/responses/input_tokens)
  with ``OPENAI_API_KEY``, the same way. It takes the Responses API's tool
  format, so for "openai" (Chat Completions) the same tools are counted in
  that format.

The model counted for is ``model=``, else ``$MCPNB_ANTHROPIC_MODEL`` /
``$MCPNB_OPENAI_MODEL``, else the defaults below. An API that fails (no
network, a bad key, a refusal) leaves the offline counts in place with a note
saying why: never a traceback. ``Preview.counter`` names the counter used.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import tokenizer
from .errors import ConfigError, MCPNBError

if TYPE_CHECKING:
    import pandas as pd

    from .export import Exported
    from .listings import Listing, Tool

__all__ = ["preview", "Preview", "COUNT_CHOICES", "DEFAULT_MODELS", "compact", "api_counter"]

COUNT_CHOICES = ("auto", "offline", "api")
DEFAULT_MODELS = {"anthropic": "claude-sonnet-4-5", "openai": "gpt-4o"}
API_TIMEOUT = 20.0  # seconds per counting request
_PROBE = "Hello"  # the one user message both counting requests carry


def compact(definition: Any) -> str:
    """A definition as it goes in a request body: compact JSON, non-ASCII kept as it is."""
    return json.dumps(definition, separators=(",", ":"), ensure_ascii=False)


@dataclass
class Preview:
    """Each tool as a model receives it in ``provider``'s format, with token counts and totals."""

    server: str
    provider: str
    exported: list[Exported]
    titles: list[str | None]  # per tool
    tokens: list[int]  # per tool, offline
    total: int  # this server's tools, by ``counter``
    all_open_total: int  # every open server's tools (this one included), by ``counter``
    by_server: dict[str, int]  # offline total of each server in ``all_open_total``
    counter: str  # which counter gave ``total`` and ``all_open_total``
    tokenizer: str  # the offline tokenizer, named (``tokenizer.describe()``)
    notes: list[str] = field(default_factory=list)  # fallbacks, servers left out
    seconds: float = 0.0  # how long the preview took

    caveat = tokenizer.CAVEAT

    @property
    def offline_total(self) -> int:
        """This server's tools counted offline (the sum of the per-tool counts)."""
        return sum(self.tokens)

    @property
    def definitions(self) -> list[dict[str, Any]]:
        """The definitions, in order, exactly as they go in the request."""
        return [e.definition for e in self.exported]

    @property
    def df(self) -> pd.DataFrame:
        """One row per tool: tool, title, tokens (offline), share of the server's offline total, and how
        many changes the conversion made (``.changes`` lists them)."""
        import pandas as pd

        whole = self.offline_total or 1
        rows = [{"tool": e.tool, "title": title, "tokens": n, "share": n / whole, "changes": len(e.changes)}
                for e, n, title in zip(self.exported, self.tokens, self.titles)]
        frame = pd.DataFrame(rows, columns=["tool", "title", "tokens", "share", "changes"])
        frame.attrs["mcp"] = {"server": self.server, "provider": self.provider, "counter": self.counter}
        return frame

    @property
    def changes(self) -> pd.DataFrame:
        """What the conversion to the provider's format changed or dropped: tool, path, action, detail."""
        from .export import changes_frame

        return changes_frame(self.exported)

    def __len__(self) -> int:
        return len(self.exported)

    def _repr_html_(self) -> str:
        from . import render

        return render.preview(self)

    def __repr__(self) -> str:
        width = max([len(e.tool) for e in self.exported] + [4])
        lines = [f"<Preview of {self.server!r} for {self.provider}: {len(self)} tools, {self.total:,} tokens; "
                 f"all open servers {self.all_open_total:,}>"]
        whole = self.offline_total or 1
        lines += [f"  {e.tool:<{width}}  {n:>6,}  {n / whole:>4.0%}" + (f"  ({len(e.changes)} changed)" if e.changes
                                                                        else "")
                  for e, n in zip(self.exported, self.tokens)]
        lines.append(f"Each count is the definition as compact JSON, counted offline; the totals: {self.counter}.")
        lines += [f"Note: {note}" for note in self.notes]
        lines.append(self.caveat)
        return "\n".join(lines)


def preview(tools: Listing[Tool], provider: str = "anthropic", *, count: str = "auto",
            model: str | None = None) -> Preview:
    """Each tool of ``tools`` as ``provider``'s API receives it, with token counts (see the module docstring).

    ``count``: "auto" (the provider's counting API when its key is set, else offline), "offline" or "api".
    ``model``: the model the API counts for.
    """
    from .export import PROVIDERS

    started = time.perf_counter()
    if getattr(tools, "kind", None) != "tool":
        kind = getattr(tools, "kind", type(tools).__name__)
        raise ConfigError(f"A preview shows tools, not {kind}s.", hint="use server.tools.preview().")
    if provider not in PROVIDERS:
        raise ConfigError(f"Unknown provider {provider!r}.", hint=f"one of: {', '.join(PROVIDERS)}.")
    if count not in COUNT_CHOICES:
        raise ConfigError(f"Unknown count={count!r}.", hint=f"one of: {', '.join(COUNT_CHOICES)}.")
    counter = api_counter(provider, count, model)
    exported = _exported(tools, provider)
    tokens = [tokenizer.count(compact(e.definition)) for e in exported]
    others, notes = _other_servers(tools.server)
    by_server = {tools.server: sum(tokens)}
    by_server.update({name: _offline(found, provider) for name, found in others.items()})
    total, all_open = sum(tokens), sum(by_server.values())
    used = f"offline (tiktoken {tokenizer.ENCODING}), the per-tool counts summed"
    if counter is not None:
        try:
            mine = [e.definition for e in exported] if counter.format == provider else \
                [e.definition for e in _exported(tools, counter.format)]
            baseline = counter.measure([])
            total = counter.measure(mine) - baseline
            all_open = total
            if others:  # one request with every server's tools, named apart where two share a name
                together = [*tools, *(tool for found in others.values() for tool in found)]
                all_open = counter.measure([e.definition for e in _exported(together, counter.format)]) - baseline
            used = counter.name
        except _CountingFailed as failure:
            total, all_open = sum(tokens), sum(by_server.values())
            notes.append(f"{counter.short} failed ({failure}); the totals are the offline counts")
    result = Preview(tools.server, provider, exported, [t.title for t in tools], tokens, total, all_open,
                     by_server, used, tokenizer.describe(), notes)
    result.seconds = time.perf_counter() - started
    return result


def _exported(tools: Any, provider: str) -> list[Exported]:
    """The tools as one request carries them (names kept distinct, as ``export_tools`` does)."""
    from .export import export_tools

    return export_tools(tools, provider).tools


def _offline(tools: Any, provider: str) -> int:
    return sum(tokenizer.count(compact(e.definition)) for e in _exported(tools, provider))


def _other_servers(this: str) -> tuple[dict[str, Any], list[str]]:
    """Every other open server's tools; a server that cannot list them is left out with a note."""
    # Upward and lazy on purpose: the registry (layer 6) knows the open connections; preview sits in layer 1.
    from .registry import open_servers

    found: dict[str, Any] = {}
    notes: list[str] = []
    for server in open_servers():
        if server.name == this:
            continue
        try:
            found[server.name] = server.tools
        except MCPNBError as error:
            notes.append(f"{server.name!r} left out of the all-servers total: {error.message}")
    return found, notes


# -- the providers' counting APIs ------------------------------------------------------


class _CountingFailed(Exception):
    """A counting request that did not give a number; the message says why, in one line."""


@dataclass
class _Counter:
    short: str  # in notes: "Anthropic's token counting API"
    name: str  # named in the output: what it counted, for which model
    measure: Callable[[list[dict[str, Any]]], int]  # input tokens of the probe request with these tools
    format: str  # the provider format the API takes


def api_counter(provider: str, count: str, model: str | None) -> _Counter | None:
    """The provider's counting API for ``count`` (None: count offline); ConfigError when "api" cannot be had."""
    if count == "offline":
        return None
    family = "anthropic" if provider == "anthropic" else "openai" if provider.startswith("openai") else None
    key = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}.get(family or "")
    if family is None or key is None:
        if count == "api":
            raise ConfigError(f"mcpnb uses no token counting API for {provider}.",
                              hint='count="offline" (or "auto") counts its tools offline.')
        return None
    if not os.environ.get(key):
        if count == "api":
            raise ConfigError(f'count="api" needs {key} for {family}\'s token counting API.',
                              hint=f'set {key}, or use count="offline".')
        return None
    chosen = model or os.environ.get(f"MCPNB_{family.upper()}_MODEL") or DEFAULT_MODELS[family]
    return _anthropic(chosen) if family == "anthropic" else _openai(chosen)


def _anthropic(model: str) -> _Counter:
    try:
        import anthropic
    except ImportError:
        raise ConfigError("Counting with Anthropic's API needs the anthropic package.",
                          hint='pip install "mcpnb[llm]", or count="offline".') from None
    try:
        client = anthropic.Anthropic(timeout=API_TIMEOUT, max_retries=1)
    except anthropic.AnthropicError as error:
        raise ConfigError(f"The anthropic client could not be made: {error}", hint='or count="offline".') from None

    def measure(definitions: list[dict[str, Any]]) -> int:
        extra = {"tools": definitions} if definitions else {}
        return _input_tokens(lambda: client.messages.count_tokens(
            model=model, messages=[{"role": "user", "content": _PROBE}], **extra),
                             anthropic.APIStatusError, anthropic.APIError)

    return _Counter("Anthropic's token counting API",
                    f"Anthropic's token counting API (messages.count_tokens, model {model}): the tools' cost, "
                    "including the tool-use system prompt Anthropic adds", measure, "anthropic")


def _openai(model: str) -> _Counter:
    try:
        import openai
    except ImportError:
        raise ConfigError("Counting with OpenAI's API needs the openai package.",
                          hint='pip install "mcpnb[llm]", or count="offline".') from None
    try:
        client = openai.OpenAI(timeout=API_TIMEOUT, max_retries=1)
    except openai.OpenAIError as error:
        raise ConfigError(f"The openai client could not be made: {error}", hint='or count="offline".') from None
    if not hasattr(getattr(client.responses, "input_tokens", None), "count"):
        raise ConfigError(f"The installed openai package ({openai.__version__}) has no input token counting.",
                          hint='pip install -U openai, or count="offline".')

    def measure(definitions: list[dict[str, Any]]) -> int:
        extra = {"tools": definitions} if definitions else {}
        return _input_tokens(lambda: client.responses.input_tokens.count(model=model, input=_PROBE, **extra),
                             openai.APIStatusError, openai.OpenAIError)

    return _Counter("OpenAI's input token counting API",
                    f"OpenAI's input token counting API (responses.input_tokens.count, model {model}), "
                    "tools in the Responses format", measure, "openai-responses")


def _input_tokens(ask: Callable[[], Any], refused: type[Exception], failed: type[Exception]) -> int:
    """A provider's count (its answer's ``input_tokens``); its errors as _CountingFailed, one line each:
    ``refused`` an HTTP answer that is not a count, ``failed`` the rest."""
    try:
        return int(ask().input_tokens)
    except refused as error:
        raise _CountingFailed(f"HTTP {error.status_code}: {_message(error)}") from None  # type: ignore[attr-defined]
    except failed as error:
        raise _CountingFailed(f"{type(error).__name__}: {error}") from None


def _message(error: Any) -> str:
    """The provider's own error message from an API error's body, in one line."""
    body = getattr(error, "body", None)
    inner = body.get("error") if isinstance(body, dict) else None
    said = inner.get("message") if isinstance(inner, dict) else None
    text = str(said or getattr(error, "message", "") or error)
    return " ".join(text.split())[:300]
