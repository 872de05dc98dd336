"""Lint: design advice on a server's tools, one finding per row, like a code linter's.

    mcpnb.lint(server)                          # an open Server
    mcpnb.lint("demo:crm", ignore=["S301"])     # or anything connect() takes: connected, linted, closed
    python -m mcpnb lint demo:crm --fail-on warning      # the same in CI (mcpnb/__main__.py)

The answer is a DataFrame with the columns code, severity, tool (None for a
finding about the whole server), field (where: "name", "description",
"inputSchema/properties/when", "annotations" ...), message and fix, sorted by
severity and then tool. ``df.attrs`` holds the server's name, the rules run,
the seconds they took (and, when lint opened the connection, the seconds
connecting took). It is a ``Findings``, a DataFrame that shows in a notebook
with every message and fix whole (``render.lint_findings``, escaped).

What the severities mean: **error**, a client, a provider's API or the MCP
specification refuses it, or the tool breaks its own contract; **warning**, a
model is likely to pick the wrong tool or fill it in wrongly, or a person to be
surprised by what it does; **info**, style.

The rules. ``select=`` and ``ignore=`` take codes or their prefixes ("D" is
every description rule, "S30" the first nine schema rules); each rule is one
small function below, registered with its code, severity and summary, and
``tests/test_lint.py`` checks that this table and the registry agree:

====  ========  ==================================================================
code  severity  what it checks
====  ========  ==================================================================
N101  error     a tool name outside the specification's rules: 1 to 128
                characters of A-Z a-z 0-9 _ - .
N102  error     two tools with one name (names are case-sensitive and must be
                unique)
N103  warning   a name a provider's API refuses (export must rename it): OpenAI
                takes 1 to 64 of A-Z a-z 0-9 _ -, Anthropic the same up to 128,
                Gemini a letter or _ first
N104  info      tool names in more than one style (snake_case, camelCase,
                PascalCase, kebab-case, UPPER_CASE)
D201  warning   a tool without a description
D202  warning   a description too short to tell a model when to use the tool
D203  warning   a description over 1,024 characters (tokens on every request; some
                OpenAI-compatible APIs refuse it)
D204  warning   identical or near-identical descriptions on different tools
S301  warning   a parameter without a description
S302  warning   an enum whose description does not say what each value means
                (or oneOf/anyOf const entries without descriptions)
S303  warning   a required parameter with a default (the default never applies)
S304  warning   an optional parameter with no default whose description does not
                say what happens when it is left out
S305  error     an input or output schema that is not valid JSON Schema (2020-12,
                or the $schema it declares)
S306  warning   a schema construct a provider's API drops when the tool is
                converted for it
O501  warning   a tool that returned structured content but declares no output
                schema
O502  error     structured content that does not match the tool's output schema
A401  warning   a tool without annotations (clients then assume it may destroy
                and reach outside)
A402  error     contradictory annotations: readOnlyHint and destructiveHint both
                true
A403  warning   a destructive tool that neither asks the person (elicitation) nor
                says in its description that it cannot be undone
X601  warning   two tools so alike in name and description that a model may pick
                the wrong one
X602  warning   a tool name another open server also has (clients that merge
                tools keep one)
B701  warning   tool definitions that together take more tokens than the budget
====  ========  ==================================================================

The thresholds, and why:

- D202: fewer than ``MIN_DESCRIPTION_WORDS`` (4) words: too few to say what the
  tool does and when to use it (each demo tool says that in 4 or more).
- D203: more than ``MAX_DESCRIPTION_CHARS`` (1,024) characters. Until about
  May 2025 OpenAI's API refused the whole request ("string_above_max_length:
  Invalid 'tools[0].function.description' ... maximum length 1024"); it takes
  longer ones now, but services that copied its checks may not, and every
  character is sent with every request. A warning, not an error, for that.
- D204: descriptions of 4 words or more whose normalised texts (case, spaces)
  have a ``difflib`` ratio of at least ``COPY_RATIO`` (0.9).
- S301: a parameter "speaks for itself", and needs no description, when it is
  one of the paging parameters limit, offset, cursor, page, page_size, per_page,
  or the id of something the tool's name or description names (order_id in
  get_order, customer_id in a tool "filtered by customer"). Enums are S302's.
- S302: each value must appear in the parameter's description (whole words, any
  case), or each oneOf/anyOf entry with a const must have a description.
- S304: a description "says what happens when left out" when it has one of
  omit, default, otherwise, unless, all/every/any, empty, none, not given,
  if/when not ..., left out/alone, leave.
- N103: the name rules are mcpnb.export's (a name it must rename for a provider).
- S305: also each local ``$ref`` that refers to nothing in the schema (a
  ``#/$defs/...`` pointer or a ``#name`` anchor it does not have), one finding each.
- S306: ``mcpnb.export.export_tool`` for each provider; each change whose action
  is "dropped" is a finding naming the providers that drop it, unless nothing
  is lost: keywords that mean nothing to a model ($schema, $id, $comment, title,
  examples, deprecated, readOnly, writeOnly), a default (export writes it into
  the description), a minLength or minItems of 1 (no model sends an empty one),
  or a value the parameter's description already says (the 3 of a minLength 3,
  the format's name; "url" for format uri). One finding per parameter.
- A403: a tool is destructive when its annotations say destructiveHint, or
  leave it unset with readOnlyHint false (the specification's default is true);
  a tool with no annotations at all is left to A401. It "says so" when its
  description has one of: cannot/can't be undone, irreversible, irrevocable,
  permanent(ly), destructive, no undo, or confirm. It "asks" when it was seen
  asking: an in-process ``MCPServer`` tool whose function (or a ``Resolve``
  resolver it depends on, or a function those call) calls ``ctx.elicit`` or
  returns ``Elicit(...)``, or takes an ``ElicitationResult``; for other servers,
  an ``elicitation/create`` request in the trace while only that tool's calls
  were under way (2025-11-25), or an ``input_required`` answer to its call that
  carries one (2026-07-28). Lint never calls a tool to find out.
- X601: TF-IDF (``mcpnb.similarity``: scikit-learn, offline) over the name's words and the
  description, English stop words out, plurals folded; a pair whose cosine
  similarity is at least ``SIMILAR`` (0.5). Calibrated on real servers: the
  closest pair of each demo server stays at or under 0.43 (the helpdesk's
  list_enquiries and update_enquiry), mcp-server-time's at 0.37; two tools that
  both find orders by customer email, status or event, in other words, reach
  0.89. server-everything's get-resource-links and get-resource-reference (0.54)
  and its trigger-elicitation-request and trigger-sampling-request (0.50),
  descriptions written from one template, are the pairs above the line.
- X602: the same tool name on another open connection (``mcpnb.servers()``) to a
  different server; the same server opened twice (same name and version, or same
  target) is not a collision.
- B701: each tool's definition in ``provider``'s format (``export_tool``) as
  compact JSON, counted with ``mcpnb.tokenizer.count`` (tiktoken cl100k_base,
  offline; other models' tokenizers differ), against ``budget=`` tokens
  (default ``DEFAULT_BUDGET``, 10,000: about 5% of a 200k context for the tools
  of one server). The finding names the total and the three biggest tools.

O501 and O502 look at what the connection has seen: the structured content of
its last 200 successful calls (``server.session.seen_structured``; one larger
than 64 KB is counted for O501 but not kept, so O502 does not check it) and the
results the client refused (``server.session.refused_structured``: the SDK
checks each result against the output schema listed at the time of the call,
and the call fails with a ProtocolError); lint never calls a tool itself, so on
a fresh connection they find nothing. O502 reports the refused results, and
results seen that stopped matching when the schema changed afterwards (a
narrowed output schema checked against the answers already seen).
"""

from __future__ import annotations

import difflib
import inspect
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import registry, render
from .errors import ConfigError, MCPNBError
from .listings import Tool
from .frames import ProseFrame
from .options import ConnectOptions
from .schema import dangling_references, followed, pointed
from .server import Server, connect
from .session import TOO_LARGE_TO_KEEP
from .similarity import fold, name_words, pair_scores, tool_text
from .targets import resolve

import pandas as pd

if TYPE_CHECKING:
    from .export import Exported

__all__ = ["lint", "Findings", "RULES", "Rule", "Finding", "COLUMNS", "SEVERITIES", "DEFAULT_BUDGET",
           "rules_table"]

COLUMNS = ["code", "severity", "tool", "field", "message", "fix"]
SEVERITIES = ("error", "warning", "info")  # most severe first: the table's order

DEFAULT_BUDGET = 10_000  # tokens for one server's tool definitions (B701)
MIN_DESCRIPTION_WORDS = 4  # D202
MAX_DESCRIPTION_CHARS = 1_024  # D203
COPY_RATIO = 0.9  # D204
SIMILAR = 0.5  # X601

# The 2025-11-25 specification's tool names (SHOULD): 1-128 of these characters.
SPEC_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_SAYS_OMITTED = re.compile(
    r"\b(omit\w*|default\w*|otherwise|unless|all|every\w*|any|empty|none|not given|"
    r"(if|when) (it is )?(not|absent|missing|unset|left out|null)|left (out|alone)|leave\w*)\b", re.I)
_SAYS_DESTRUCTIVE = re.compile(
    r"(can ?not|can't|cannot) be (undone|reversed|recalled|restored|recovered)|\birrevers|\birrevoc|"
    r"\bpermanent|\bdestructive|\bno undo|\bconfirm", re.I)
# What a provider may drop without the model losing anything (export names a dropped default in the description).
_SAID_ANYWAY = {"$schema", "$id", "$comment", "title", "examples", "deprecated", "readOnly", "writeOnly", "default"}
_PAGING = {"limit", "offset", "cursor", "page", "page_size", "per_page"}
_ASKING_NAMES = {"elicit", "elicit_url", "elicit_form", "Elicit", "ElicitationResult"}


# -- the registry -------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """What one rule found about one tool (None: the whole server), and where."""

    tool: str | None
    field: str
    message: str
    fix: str


@dataclass(frozen=True)
class Rule:
    """One rule: its code, severity, the summary the docstring's table shows, and its check."""

    code: str
    severity: str
    summary: str
    check: Callable[[Context], Iterable[Finding]] = field(repr=False)


RULES: dict[str, Rule] = {}


def rule(code: str, severity: str, summary: str) -> Callable[[Callable[[Context], Iterable[Finding]]],
                                                              Callable[[Context], Iterable[Finding]]]:
    """Register a check under ``code`` (the docstring's table must list it with the same words)."""
    assert severity in SEVERITIES and code not in RULES, code

    def register(check: Callable[[Context], Iterable[Finding]]) -> Callable[[Context], Iterable[Finding]]:
        RULES[code] = Rule(code, severity, summary, check)
        return check

    return register


def rules_table() -> pd.DataFrame:
    """The rules as a table: code, severity, summary."""
    return pd.DataFrame([(r.code, r.severity, r.summary) for r in RULES.values()],
                        columns=["code", "severity", "summary"])


@dataclass
class Context:
    """What the rules look at: one server's tools and what its connection has seen."""

    server: Server
    tools: list[Tool]
    provider: str
    budget: int
    _exports: dict[str, dict[str, Exported | MCPNBError]] = field(default_factory=dict)

    def exported(self, provider: str) -> dict[str, Exported | MCPNBError]:
        """Each tool converted for ``provider`` by mcpnb.export (or the error that stopped it), once."""
        if provider not in self._exports:
            from .export import export_tool

            found: dict[str, Exported | MCPNBError] = {}
            for tool in self.tools:
                try:
                    found[tool.name] = export_tool(tool, provider)
                except MCPNBError as error:
                    found[tool.name] = error
            self._exports[provider] = found
        return self._exports[provider]


# -- names --------------------------------------------------------------------------------


@rule("N101", "error", "a tool name outside the specification's rules: 1 to 128 characters of A-Z a-z 0-9 _ - .")
def _name_against_the_specification(ctx: Context) -> Iterator[Finding]:
    for tool in ctx.tools:
        if SPEC_NAME.fullmatch(tool.name):
            continue
        if not tool.name:
            why = "The name is empty."
        elif len(tool.name) > 128:
            why = f"The name is {len(tool.name)} characters long; the specification allows 128."
        else:
            bad = "".join(dict.fromkeys(c for c in tool.name if not SPEC_NAME.fullmatch(c)))
            why = f"The name has characters the specification does not allow: {bad!r}."
        yield Finding(tool.name, "name", why + " Clients and providers' APIs may refuse the tool.",
                      "Use 1 to 128 of A-Z a-z 0-9 _ - . (snake_case such as search_orders fits every provider).")


@rule("N102", "error", "two tools with one name (names are case-sensitive and must be unique)")
def _duplicate_names(ctx: Context) -> Iterator[Finding]:
    for name, count in Counter(tool.name for tool in ctx.tools).items():
        if count > 1:
            yield Finding(name, "name", f"{count} tools share this name; a client calls only one of them.",
                          "Give each tool its own name.")


@rule("N103", "warning", "a name a provider's API refuses (export must rename it): OpenAI takes 1 to 64 of A-Z a-z "
                         "0-9 _ -, Anthropic the same up to 128, Gemini a letter or _ first")
def _name_against_providers(ctx: Context) -> Iterator[Finding]:
    from .export import PROVIDERS

    for tool in ctx.tools:
        if not SPEC_NAME.fullmatch(tool.name):
            continue  # N101's
        renamed: dict[str, list[str]] = {}
        for provider in PROVIDERS:
            exported = ctx.exported(provider).get(tool.name)
            if isinstance(exported, MCPNBError) or exported is None:
                continue
            if any(change.path == "name" for change in exported.changes):
                inner = exported.definition.get("function", exported.definition)
                renamed.setdefault(str(inner.get("name")), []).append(provider)
        if renamed:
            said = "; ".join(f"{' and '.join(providers)} call{'s' if len(providers) == 1 else ''} it {name!r}"
                             for name, providers in renamed.items())
            yield Finding(tool.name, "name", "The name is fine for MCP, but some providers' APIs refuse it, so a "
                          f"client must rename it and the model sees another name: {said}.",
                          "Use at most 64 of A-Z a-z 0-9 _ -, starting with a letter (every provider takes that).")


_STYLES = {"snake_case": r"[a-z][a-z0-9]*(_[a-z0-9]+)+", "kebab-case": r"[a-z][a-z0-9]*(-[a-z0-9]+)+",
           "camelCase": r"[a-z][a-z0-9]*([A-Z][a-z0-9]*)+", "PascalCase": r"([A-Z][a-z0-9]+)+[A-Z]?",
           "UPPER_CASE": r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)*"}


def _style(name: str) -> str | None:
    """The naming style of ``name`` (after any dotted namespace), or None for one lowercase word (fits all)."""
    last = name.rsplit(".", 1)[-1]
    if re.fullmatch(r"[a-z][a-z0-9]*", last):
        return None
    for style, pattern in _STYLES.items():
        if re.fullmatch(pattern, last):
            return style
    return "mixed separators"


@rule("N104", "info", "tool names in more than one style (snake_case, camelCase, PascalCase, kebab-case, UPPER_CASE)")
def _mixed_name_styles(ctx: Context) -> Iterator[Finding]:
    styles: dict[str, list[str]] = {}
    for tool in ctx.tools:
        style = _style(tool.name)
        if style is not None:
            styles.setdefault(style, []).append(tool.name)
    if len(styles) > 1:
        described = "; ".join(f"{style}: {', '.join(names[:3])}{', ...' if len(names) > 3 else ''}"
                              for style, names in sorted(styles.items(), key=lambda item: -len(item[1])))
        most = max(styles, key=lambda style: len(styles[style]))
        yield Finding(None, "name", f"The tool names mix styles ({described}); a model guessing a name "
                      "from the others guesses wrong.", f"Name every tool in one style ({most}, the most used here).")


# -- descriptions ---------------------------------------------------------------------------


def _text(tool: Tool) -> str:
    return " ".join((tool.description or "").split())


@rule("D201", "warning", "a tool without a description")
def _no_description(ctx: Context) -> Iterator[Finding]:
    for tool in ctx.tools:
        if not _text(tool):
            yield Finding(tool.name, "description",
                          "The tool has no description: a model chooses it by its name alone.",
                          "Say what it does, when to use it (and when not), and what it returns.")


@rule("D202", "warning", "a description too short to tell a model when to use the tool")
def _short_description(ctx: Context) -> Iterator[Finding]:
    for tool in ctx.tools:
        words = _text(tool).split()
        if 0 < len(words) < MIN_DESCRIPTION_WORDS:
            yield Finding(tool.name, "description",
                          f"The description has {len(words)} word{'s' if len(words) > 1 else ''} "
                          f"({_text(tool)!r}): too few to say what the tool does and when to use it.",
                          "Say what it does, when to use it (and when not), and what it returns.")


@rule("D203", "warning", "a description over 1,024 characters (tokens on every request; some "
                         "OpenAI-compatible APIs refuse it)")
def _long_description(ctx: Context) -> Iterator[Finding]:
    for tool in ctx.tools:
        length = len(tool.description or "")
        if length > MAX_DESCRIPTION_CHARS:
            yield Finding(tool.name, "description",
                          f"The description is {length:,} characters long: it is sent with every request, and "
                          f"APIs that keep OpenAI's old limit of {MAX_DESCRIPTION_CHARS:,} characters refuse the "
                          "whole request whenever this tool is offered.",
                          "Keep what helps a model choose the tool; move details on arguments into their "
                          "descriptions, and long examples into documentation.")


@rule("D204", "warning", "identical or near-identical descriptions on different tools")
def _copied_descriptions(ctx: Context) -> Iterator[Finding]:
    texts = [(tool.name, _text(tool).lower()) for tool in ctx.tools]
    texts = [(name, text) for name, text in texts if len(text.split()) >= MIN_DESCRIPTION_WORDS]
    letters = [Counter(text) for _, text in texts]
    for i, (first, one) in enumerate(texts):
        for j in range(i + 1, len(texts)):
            second, other = texts[j]
            if first == second or not _may_be_alike(one, other, letters[i], letters[j]):
                continue
            ratio = difflib.SequenceMatcher(None, one, other, autojunk=False).ratio()
            if ratio >= COPY_RATIO:
                how = "the same" if one == other else f"{ratio:.0%} alike"
                yield Finding(second, "description", f"Its description and {first!r}'s are {how}: "
                              "a model cannot tell from them which to use.",
                              f"Say what sets {second!r} apart from {first!r} (what it does that the other does not).")


def _may_be_alike(one: str, other: str, one_letters: Counter[str], other_letters: Counter[str]) -> bool:
    """Whether ``difflib``'s ratio of the two texts can reach ``COPY_RATIO``, from bounds far cheaper to get.

    The ratio is 2·M / (len(one) + len(other)), M the characters in its matching blocks. Those blocks
    are a common subsequence, so M is at most the letters the texts share, and at most their longest
    common subsequence; each bound below is one of these, so no alike pair is skipped. Comparing every
    pair with ``ratio()`` took over a minute for 200 tools.
    """
    total = len(one) + len(other)
    if 2.0 * min(len(one), len(other)) / total < COPY_RATIO:
        return False
    if 2.0 * sum((one_letters & other_letters).values()) / total < COPY_RATIO:
        return False
    return 2.0 * _common_subsequence(one, other) / total >= COPY_RATIO


def _common_subsequence(one: str, other: str) -> int:
    """The length of the longest common subsequence of two texts (bit-parallel, Hyyrö 2004: one
    big-integer step per character of ``other``)."""
    positions: dict[str, int] = {}
    for at, letter in enumerate(one):
        positions[letter] = positions.get(letter, 0) | (1 << at)
    full = (1 << len(one)) - 1
    row = full
    for letter in other:
        matched = row & positions.get(letter, 0)
        row = ((row + matched) | (row - matched)) & full
    return len(one) - row.bit_count()


# -- schemas: walking parameters ------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    """One property of the input schema (nested ones too): where it is, its schema (refs followed), whether required."""

    field: str
    name: str
    schema: dict[str, Any]
    required: bool

    @property
    def description(self) -> str:
        text = self.schema.get("description")
        return " ".join(text.split()) if isinstance(text, str) else ""


def parameters(schema: dict[str, Any], base: str = "inputSchema") -> list[Parameter]:
    """Every parameter of an input schema, nested objects (inline, $ref, items, anyOf) included."""
    found: list[Parameter] = []

    def walk(node: Any, where: str, seen: frozenset[str], depth: int) -> None:
        node, seen = followed(node, schema, seen)
        if not isinstance(node, dict) or depth > 8:
            return
        properties = node.get("properties")
        required = node.get("required") if isinstance(node.get("required"), list) else []
        if isinstance(properties, dict):
            for name, child in properties.items():
                child_schema, child_seen = followed(child, schema, seen)
                if not isinstance(child_schema, dict):
                    continue
                path = f"{where}/properties/{name}"
                found.append(Parameter(path, name, child_schema, name in required))
                walk(child_schema, path, child_seen, depth + 1)
        items = node.get("items")
        if isinstance(items, dict):
            walk(items, f"{where}/items", seen, depth + 1)
        for key in ("anyOf", "oneOf", "allOf"):
            for branch in node.get(key) or []:
                walk(branch, where, seen, depth + 1)

    walk(schema, base, frozenset(), 0)
    return found


def _choices(parameter: Parameter, root: dict[str, Any]) -> tuple[list[Any], list[dict[str, Any]]]:
    """The enum values a parameter offers (its own, its branches', its items'), and its const entries."""
    values: list[Any] = []
    consts: list[dict[str, Any]] = []
    node = parameter.schema
    branches = [node]
    for key in ("anyOf", "oneOf"):
        branches += [followed(b, root)[0] for b in node.get(key) or []]
    items = followed(node.get("items"), root)[0]
    if isinstance(items, dict):
        branches.append(items)
        for key in ("anyOf", "oneOf"):
            branches += [followed(b, root)[0] for b in items.get(key) or []]
    for branch in branches:
        if not isinstance(branch, dict):
            continue
        if isinstance(branch.get("enum"), list):
            values += [v for v in branch["enum"] if v is not None]
        if "const" in branch and branch is not node and branch.get("const") is not None:
            consts.append(branch)
    return list(dict.fromkeys(map(_shown, values))), consts


def _shown(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) or value is None else str(value)


def _mentions(text: str, value: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", text, re.I) is not None


def _is_choice(parameter: Parameter, root: dict[str, Any]) -> bool:
    values, consts = _choices(parameter, root)
    return len(values) + len(consts) >= 2


# -- schemas: the rules ---------------------------------------------------------------------


def _speaks_for_itself(parameter: Parameter, tool: Tool) -> bool:
    """A paging parameter (limit, offset, cursor, page, page_size, per_page), or the id of something the tool's
    name or description names (order_id in get_order): its name says what a description would."""
    if parameter.name.lower() in _PAGING:
        return True
    entity = re.fullmatch(r"(.+?)[_-]?(ids?|IDs?|Ids?)", parameter.name)
    if entity is None:
        return False
    named = set(tool_text(tool).split())
    return set(fold(name_words(entity.group(1))).split()) <= named


@rule("S301", "warning", "a parameter without a description")
def _parameter_without_description(ctx: Context) -> Iterator[Finding]:
    for tool in ctx.tools:
        for parameter in parameters(tool.input_schema):
            if parameter.description or _is_choice(parameter, tool.input_schema):  # choices: S302
                continue
            if not _speaks_for_itself(parameter, tool):
                yield Finding(tool.name, parameter.field, f"The parameter {parameter.name!r} has no description.",
                              "Say what it means, its unit or format, and an example where that helps.")


@rule("S302", "warning", "an enum whose description does not say what each value means (or oneOf/anyOf const "
                         "entries without descriptions)")
def _enum_without_meanings(ctx: Context) -> Iterator[Finding]:
    for tool in ctx.tools:
        for parameter in parameters(tool.input_schema):
            values, consts = _choices(parameter, tool.input_schema)
            text = parameter.description
            if len(values) >= 2:
                unexplained = [v for v in values if not _mentions(text, v)]
                if unexplained:
                    start = (f"The parameter {parameter.name!r} has no description"
                             if not text else f"The description of {parameter.name!r} leaves out values")
                    yield Finding(tool.name, parameter.field,
                                  f"{start}, so a model cannot tell what these mean: "
                                  f"{', '.join(unexplained[:8])}{', ...' if len(unexplained) > 8 else ''}.",
                                  "Say in its description what each value does (\"open: waiting for us; "
                                  "pending: waiting for the customer ...\"), or use oneOf entries with const "
                                  "and description.")
            undescribed = [_shown(c["const"]) for c in consts
                           if not (isinstance(c.get("description"), str) and c["description"].strip())
                           and not _mentions(text, _shown(c["const"]))]
            if len(consts) >= 2 and undescribed:
                yield Finding(tool.name, parameter.field,
                              f"The choices of {parameter.name!r} without a description: {', '.join(undescribed)}.",
                              "Give each const entry a description.")


@rule("S303", "warning", "a required parameter with a default (the default never applies)")
def _required_with_default(ctx: Context) -> Iterator[Finding]:
    for tool in ctx.tools:
        for parameter in parameters(tool.input_schema):
            if parameter.required and "default" in parameter.schema:
                yield Finding(tool.name, parameter.field,
                              f"{parameter.name!r} is required and has a default "
                              f"({json.dumps(parameter.schema['default'])[:60]}): a model must always send it, "
                              "and the default tells it that it may leave it out.",
                              "Make it optional (take it out of required), or drop the default.")


@rule("S304", "warning", "an optional parameter with no default whose description does not say what happens when "
                         "it is left out")
def _optional_without_default(ctx: Context) -> Iterator[Finding]:
    for tool in ctx.tools:
        for parameter in parameters(tool.input_schema):
            if parameter.required or "default" in parameter.schema or "const" in parameter.schema:
                continue
            if not _SAYS_OMITTED.search(parameter.description):
                yield Finding(tool.name, parameter.field,
                              f"{parameter.name!r} is optional, but neither a default nor its description says "
                              "what the tool does when it is left out.",
                              "Give it a default, or say in its description what happens without it "
                              "(\"omit for all statuses\").")


def _schema_problem(schema: Any) -> tuple[str, str] | None:
    """Why ``schema`` is not valid JSON Schema (its $schema's draft, else 2020-12), and where; or None."""
    from jsonschema import exceptions, validators

    if not isinstance(schema, dict):
        return "", f"it is a {type(schema).__name__}, not an object"
    checker = validators.validator_for(schema, default=validators.Draft202012Validator)
    try:
        checker.check_schema(schema)
    except exceptions.SchemaError as error:
        where = "/".join(str(part) for part in error.path)
        return where, error.message
    except RecursionError:
        return "", "it is nested too deeply to check"
    return None


@rule("S305", "error", "an input or output schema that is not valid JSON Schema (2020-12, or the $schema it declares)")
def _invalid_schema(ctx: Context) -> Iterator[Finding]:
    for tool in ctx.tools:
        for key, schema in (("inputSchema", tool.input_schema), ("outputSchema", tool.output_schema)):
            if schema is None:
                continue
            problem = _schema_problem(schema)
            if problem is not None:
                where, why = problem
                yield Finding(tool.name, f"{key}/{where}".rstrip("/"),
                              f"The {key} is not valid JSON Schema: {why[:300]}. Clients that check "
                              "arguments or results against it fail, and providers refuse it.",
                              "Fix it so that it passes the 2020-12 meta-schema (jsonschema's "
                              "Draft202012Validator.check_schema).")
            for where, ref in dangling_references(schema) if isinstance(schema, dict) else ():
                yield Finding(tool.name, f"{key}{where}/$ref",
                              f"The {key}'s $ref {ref[:200]!r} at {where or '/'} refers to nothing in the schema: "
                              "clients that check arguments or results against it fail, and providers "
                              "cannot convert it.",
                              "Point it at a part the schema has (under $defs, say), or define what it names.")


@rule("S306", "warning", "a schema construct a provider's API drops when the tool is converted for it")
def _dropped_for_providers(ctx: Context) -> Iterator[Finding]:
    from .export import PROVIDERS

    tools = {tool.name: tool for tool in ctx.tools}
    dropped: dict[tuple[str, str], dict[str, list[str]]] = {}  # (tool, parameter) -> detail -> providers
    failed: dict[str, list[tuple[str, str]]] = {}
    for provider in PROVIDERS:
        for name, exported in ctx.exported(provider).items():
            if isinstance(exported, MCPNBError):
                failed.setdefault(name, []).append((provider, exported.message))
                continue
            for change in exported.changes:
                if change.action == "dropped" and not _kept_in_words(tools[name], change.path):
                    where = dropped.setdefault((name, _owner(change.path)), {})
                    where.setdefault(change.detail, []).append(provider)
    for (name, path), details in dropped.items():
        said = "; ".join(f"{detail} ({', '.join(providers)})" for detail, providers in details.items())
        yield Finding(name, _field(path), f"Converting the tool for other providers loses this: {said}.",
                      "Say it in the description too (\"3 to 200 characters\"), or use what every provider keeps; "
                      "server.tools.export(provider).changes lists each change.")
    for name, seen in failed.items():
        yield Finding(name, "inputSchema", "The tool cannot be converted for " + "; ".join(
                      f"{provider} ({why})" for provider, why in seen) + ".",
                      "Simplify the schema; server.tools.export(provider) shows the error.")


def _owner(path: str) -> str:
    """The parameter a schema path is about: the path up to its last properties/NAME ("" for the whole schema)."""
    parts = path.split("/")
    for index in range(len(parts) - 2, 0, -1):
        if parts[index] == "properties" and (index < 2 or parts[index - 1] != "properties"):
            return "/".join(parts[:index + 2])
    return ""


def _kept_in_words(tool: Tool, path: str) -> bool:
    """Whether what a provider drops at ``path`` still reaches the model: a keyword that carries no meaning for it
    ($schema, title ...), a default (export names it in the description), a minLength or minItems of 1, or a value
    the parameter's description already says ("at least 3 characters" for minLength 3)."""
    keyword = path.rpartition("/")[2]
    value = pointed(tool.input_schema, path)
    if keyword in _SAID_ANYWAY or (keyword in ("minLength", "minItems") and value == 1):
        return True
    node = pointed(tool.input_schema, _owner(path))
    text = node.get("description") if isinstance(node, dict) else None
    if not isinstance(text, str) or isinstance(value, (dict, list)) or value is None:
        return False
    words = _shown(value)
    return _mentions(text, words) or (keyword == "format" and words == "uri" and _mentions(text, "url"))


def _field(path: str) -> str:
    """A Change's path ("/properties/when/format", "", "name") as this table's field."""
    if path in ("name", "description"):
        return path
    return "inputSchema" + path if path.startswith("/") else "inputSchema"


# -- output ---------------------------------------------------------------------------------


def _seen(ctx: Context) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for tool, content in list(ctx.server.session.seen_structured):
        found.setdefault(tool, []).append(content)
    return found


@rule("O501", "warning", "a tool that returned structured content but declares no output schema")
def _structured_without_schema(ctx: Context) -> Iterator[Finding]:
    seen = _seen(ctx)
    for tool in ctx.tools:
        if tool.output_schema is None and seen.get(tool.name):
            count = len(seen[tool.name])
            yield Finding(tool.name, "outputSchema",
                          f"It returned structured content ({count} call{'s' if count > 1 else ''} seen) but "
                          "declares no output schema, so clients cannot check it and models do not know its shape.",
                          "Declare an outputSchema (with MCPServer: annotate the function's return type).")


@rule("O502", "error", "structured content that does not match the tool's output schema")
def _structured_against_schema(ctx: Context) -> Iterator[Finding]:
    from jsonschema import exceptions, validators

    seen = {tool: [c for c in contents if c is not TOO_LARGE_TO_KEEP] for tool, contents in _seen(ctx).items()}
    refused: dict[str, list[str]] = {}
    for tool, why in list(ctx.server.session.refused_structured):
        refused.setdefault(tool, []).append(why)
    for tool in ctx.tools:
        if refused.get(tool.name):  # the client refused these results when they came
            whys = refused[tool.name]
            yield Finding(tool.name, "outputSchema",
                          f"{len(whys)} result{'s' if len(whys) > 1 else ''} of its calls did not match its output "
                          f"schema, and the client refused {'them' if len(whys) > 1 else 'it'}: {whys[0][:200]}",
                          "Return what the schema says, or correct the schema.")
            continue
        results = seen.get(tool.name)
        if not results or not isinstance(tool.output_schema, dict) or _schema_problem(tool.output_schema):
            continue  # nothing seen, or S305's
        checker = validators.validator_for(tool.output_schema, default=validators.Draft202012Validator)
        validator = checker(tool.output_schema)
        failing = [(content, exceptions.best_match(validator.iter_errors(content))) for content in results]
        failing = [(content, error) for content, error in failing if error is not None]
        if failing:
            _, error = failing[0]
            where = "/" + "/".join(str(part) for part in error.absolute_path) if error.absolute_path else "the top"
            yield Finding(tool.name, "outputSchema",
                          f"{len(failing)} of the {len(results)} results seen do not match its output schema; "
                          f"the first fails at {where}: {error.message[:200]}.",
                          "Return what the schema says, or correct the schema (clients may reject such results).")


# -- annotations and safety -----------------------------------------------------------------


def _hints(tool: Tool) -> dict[str, bool | None]:
    found = tool.annotations
    names = ("read_only_hint", "destructive_hint", "idempotent_hint", "open_world_hint")
    return {name: getattr(found, name, None) if found is not None else None for name in names}


@rule("A401", "warning", "a tool without annotations (clients then assume it may destroy and reach outside)")
def _no_annotations(ctx: Context) -> Iterator[Finding]:
    for tool in ctx.tools:
        if all(value is None for value in _hints(tool).values()):
            yield Finding(tool.name, "annotations", "The tool has no annotation hints, so clients must assume the "
                          "defaults: not read-only, destructive, not idempotent, open-world.",
                          "Set readOnlyHint and, for a tool that writes, destructiveHint and idempotentHint; "
                          "openWorldHint says whether it reaches outside systems.")


@rule("A402", "error", "contradictory annotations: readOnlyHint and destructiveHint both true")
def _contradictory_annotations(ctx: Context) -> Iterator[Finding]:
    for tool in ctx.tools:
        hints = _hints(tool)
        if hints["read_only_hint"] is True and hints["destructive_hint"] is True:
            yield Finding(tool.name, "annotations", "readOnlyHint and destructiveHint are both true: a tool that "
                          "changes nothing cannot destroy anything, and clients will not know whether to ask first.",
                          "Keep the true one: readOnlyHint for a tool that only reads, else destructiveHint.")


def _destructive(tool: Tool) -> bool:
    hints = _hints(tool)
    if all(value is None for value in hints.values()):
        return False  # A401's
    return hints["read_only_hint"] is not True and hints["destructive_hint"] is not False


def _code_asks(function: Any, depth: int = 3, seen: set[int] | None = None) -> bool:
    """Whether ``function`` (or a function it names, ``depth`` calls deep) asks the person: ctx.elicit,
    Elicit(...), ElicitationResult."""
    seen = seen if seen is not None else set()
    function = inspect.unwrap(function) if callable(function) else function
    code = getattr(function, "__code__", None)
    if code is None or id(code) in seen:
        return False
    seen.add(id(code))
    names: set[str] = set()
    stack = [code]
    while stack:
        current = stack.pop()
        names.update(current.co_names)
        stack += [const for const in current.co_consts if inspect.iscode(const)]
    if names & _ASKING_NAMES:
        return True
    if depth <= 0:
        return False
    scope = {**getattr(function, "__globals__", {}),
             **{name: cell.cell_contents for name, cell in zip(code.co_freevars, function.__closure__ or ())
                if _filled(cell)}}
    called = [scope[name] for name in names | set(code.co_freevars) if inspect.isfunction(scope.get(name))]
    return any(_code_asks(other, depth - 1, seen) for other in called)


def _filled(cell: Any) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def _asks_in_process(server: Server, name: str) -> bool:
    """For an in-process MCPServer (or a stand-in holding one as ``.current``): does the tool's code ask?"""
    from mcp.server.mcpserver import MCPServer

    if server.target.kind != "inprocess":
        return False
    held = server.target.server
    held = getattr(held, "current", held)
    if not isinstance(held, MCPServer):
        return False
    manager = getattr(held, "_tool_manager", None)  # the SDK keeps the functions only there
    registered = manager.get_tool(name) if manager is not None else None
    if registered is None:
        return False
    if _code_asks(registered.fn):
        return True
    for marker, wants_result in registered.resolved_params.values():
        if wants_result or _code_asks(getattr(marker, "fn", None)):
            return True
    return False


def _asked_on_the_wire(server: Server) -> set[str]:
    """The tools seen asking the person in the trace: an elicitation/create request while only that tool's calls
    were under way (2025-11-25), or an input_required answer to its call that carries one (2026-07-28)."""
    trace = server.trace
    under_way: dict[Any, str] = {}
    asked: set[str] = set()
    for direction, kind, message in zip(trace["direction"], trace["kind"], trace["message"]):
        if not isinstance(message, dict):
            continue
        if direction == "→" and kind == "request" and message.get("method") == "tools/call":
            under_way[message.get("id")] = str((message.get("params") or {}).get("name"))
        elif direction == "←" and kind == "request" and message.get("method") == "elicitation/create":
            if len(set(under_way.values())) == 1:
                asked |= set(under_way.values())
        elif direction == "←" and kind in ("response", "error"):
            tool = under_way.pop(message.get("id"), None)
            result = message.get("result") if isinstance(message.get("result"), dict) else {}
            requests = result.get("inputRequests") or {}
            requests = list(requests.values()) if isinstance(requests, dict) else requests
            if tool and any(isinstance(r, dict) and r.get("method") == "elicitation/create" for r in requests):
                asked.add(tool)
    return asked


@rule("A403", "warning", "a destructive tool that neither asks the person (elicitation) nor says in its description "
                         "that it cannot be undone")
def _destructive_unannounced(ctx: Context) -> Iterator[Finding]:
    destructive = [tool for tool in ctx.tools if _destructive(tool) and not _SAYS_DESTRUCTIVE.search(_text(tool))]
    if not destructive:
        return
    asked = _asked_on_the_wire(ctx.server)
    for tool in destructive:
        if tool.name in asked or _asks_in_process(ctx.server, tool.name):
            continue
        yield Finding(tool.name, "description", "The tool is destructive (by its annotations), but its description "
                      "does not warn that it cannot be undone, and it was not seen asking the person to confirm.",
                      "Ask the person before acting (elicitation: ctx.elicit, or a Resolve that returns Elicit), "
                      "and say in the description that it cannot be undone; or, if it destroys nothing, set "
                      "destructiveHint false.")


# -- across tools and servers ---------------------------------------------------------------


@rule("X601", "warning", "two tools so alike in name and description that a model may pick the wrong one")
def _confusable_tools(ctx: Context) -> Iterator[Finding]:
    for score, first, second in pair_scores(ctx.tools):
        if score < SIMILAR:
            break
        yield Finding(second, "description", f"{second!r} and {first!r} read alike (TF-IDF similarity {score:.2f} of "
                      "their names and descriptions): a model may call one for the other.",
                      f"Say in each description when to use it rather than the other (\"use {first} to ...\"), "
                      "or merge them into one tool.")


def _same_server(one: Server, other: Server) -> bool:
    if one.target.describe() == other.target.describe():
        return True
    try:
        a, b = one.info, other.info
    except MCPNBError:
        return False
    return bool(a.name) and (a.name, a.version) == (b.name, b.version)


@rule("X602", "warning", "a tool name another open server also has (clients that merge tools keep one)")
def _collisions_across_servers(ctx: Context) -> Iterator[Finding]:
    mine = {tool.name for tool in ctx.tools}
    for other in registry.open_servers():
        if other is ctx.server or not other.alive or _same_server(other, ctx.server):
            continue
        try:
            theirs = set(other.tools.names)
        except MCPNBError:
            continue  # a server that cannot list its tools now is not lint's to report
        for name in sorted(mine & theirs):
            yield Finding(name, "name", f"The open server {other.name!r} also has a tool {name!r}: a client that "
                          "offers both servers' tools to one model must drop or rename one of them.",
                          "Give the tool a name that says its system (crm_search rather than search).")


# -- budget ---------------------------------------------------------------------------------


@rule("B701", "warning", "tool definitions that together take more tokens than the budget")
def _over_budget(ctx: Context) -> Iterator[Finding]:
    from .preview import compact
    from .tokenizer import count

    sizes = {name: count(compact(exported.definition)) for name, exported in ctx.exported(ctx.provider).items()
             if not isinstance(exported, MCPNBError)}
    total = sum(sizes.values())
    if total > ctx.budget:
        biggest = sorted(sizes.items(), key=lambda item: -item[1])[:3]
        yield Finding(None, "tools", f"The {len(sizes)} tool definitions take {total:,} tokens in {ctx.provider}'s "
                      f"format (tiktoken cl100k_base, offline), over the budget of {ctx.budget:,}. The biggest: "
                      + ", ".join(f"{name} ({tokens:,})" for name, tokens in biggest) + ".",
                      "Shorten the longest descriptions and schemas, leave out tools this use does not need, or "
                      "split the server; budget= raises the limit.")


# -- running --------------------------------------------------------------------------------


def _codes(value: str | Iterable[str] | None, option: str) -> list[str] | None:
    """``select=`` / ``ignore=``: codes or prefixes, as a list or one comma-separated string."""
    if value is None:
        return None
    given = value.split(",") if isinstance(value, str) else list(value)
    codes = [str(code).strip().upper() for code in given if str(code).strip()]
    for code in codes:
        if not any(known.startswith(code) for known in RULES):
            groups = ", ".join(sorted({known[0] for known in RULES}))
            raise ConfigError(f"{option}= names no rule: {code!r}.",
                              hint=f"give codes such as S301 or prefixes such as D (groups: {groups}); "
                                   "mcpnb.lint.rules() lists them.")
    return codes


def chosen_rules(select: str | Iterable[str] | None = None, ignore: str | Iterable[str] | None = None) -> list[Rule]:
    """The rules ``select=`` and ``ignore=`` leave, in the docstring's order."""
    picked, dropped = _codes(select, "select"), _codes(ignore, "ignore") or []
    return [r for code, r in RULES.items()
            if (picked is None or any(code.startswith(p) for p in picked)) and not any(code.startswith(p)
                                                                                         for p in dropped)]


def _checked_budget(budget: Any) -> int:
    if budget is None:
        return DEFAULT_BUDGET
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ConfigError(f"budget= is a whole number of tokens, at least 1, not {budget!r}.",
                          hint=f"the default is {DEFAULT_BUDGET:,}.")
    return budget


def _checked_provider(provider: str) -> str:
    from .export import PROVIDERS

    if provider not in PROVIDERS:
        raise ConfigError(f"Unknown provider {provider!r}.", hint=f"one of: {', '.join(PROVIDERS)}.")
    return provider


def lint(target: Any, *, select: str | Iterable[str] | None = None, ignore: str | Iterable[str] | None = None,
         budget: int | None = None, provider: str = "anthropic", **connect_options: Any) -> pd.DataFrame:
    """Check a server's tools against the rules in this module's docstring; one row per finding.

    ``target`` is an open ``Server``, or anything ``mcpnb.connect`` takes (then
    ``connect_options`` go to it, and the connection lint opens is closed
    afterwards, also on failure; it never replaces an open connection, so a
    ``name=`` one has is refused). ``select=`` / ``ignore=``: codes or prefixes
    ("D", "S301"), a list or a comma-separated string. ``budget=``: tokens for
    all tool definitions together (B701; default 10,000), counted in
    ``provider``'s format ("anthropic", "openai", "openai-responses", "gemini").

    Columns: code, severity, tool, field, message, fix; sorted by severity,
    then tool. ``df.attrs``: server, rules, seconds (and connect_seconds).
    """
    __tracebackhide__ = True
    rules = chosen_rules(select, ignore)
    budget = _checked_budget(budget)
    provider = _checked_provider(provider)
    if isinstance(target, Server):
        if connect_options:
            raise ConfigError(f"lint() got connect options ({', '.join(connect_options)}) with an open Server.",
                              hint="connect options apply when lint() connects to a target itself.")
        return _run(target, rules, budget, provider)
    started = time.perf_counter()
    server = _open(target, connect_options)
    connected = time.perf_counter() - started
    try:
        found = _run(server, rules, budget, provider, shown_name=_base_name(server))
    finally:
        server.close()
    found.attrs["connect_seconds"] = connected
    return found


# ``mcpnb.lint`` is this function (the package exports it under the module's name), so what a person
# reaches from it: ``mcpnb.lint?`` shows the rules' table, ``mcpnb.lint.rules()`` gives it as a DataFrame.
lint.__doc__ = (lint.__doc__ or "") + "\n" + __doc__[__doc__.index("The rules."):]
lint.rules = rules_table  # type: ignore[attr-defined]

_LINT_SUFFIX = " (lint)"


def _open(target: Any, options: dict[str, Any]) -> Server:
    """Connect for lint under a name of its own: lint never replaces (closes) an open connection."""
    name = options.get("name")
    options = {key: value for key, value in options.items() if key != "name"}
    if name is None:
        name = resolve(target, ConnectOptions.from_kwargs(options, caller="lint()")).name + _LINT_SUFFIX
    if name in registry.servers():
        raise ConfigError(f"A connection named {name!r} is open, and lint() would replace it.",
                          hint=f"lint the open Server itself (mcpnb.lint(mcpnb.servers()[{name!r}])), "
                               "or give lint() another name=.")
    return connect(target, name=name, **options)


def _base_name(server: Server) -> str:
    return server.name.removesuffix(_LINT_SUFFIX)


class Findings(ProseFrame):
    """lint's answer: a DataFrame that shows in a notebook with every message and fix whole (a plain one cuts
    cells at 50 characters); filtered or sorted, it is still one."""

    def _repr_html_(self) -> str | None:
        if list(self.columns) != COLUMNS:  # a selection of columns: each cell whole, as ProseFrame shows it
            return super()._repr_html_()
        return render.lint_findings(self)


def _run(server: Server, rules: list[Rule], budget: int, provider: str, shown_name: str | None = None) -> Findings:
    started = time.perf_counter()
    context = Context(server, list(server.tools), provider, budget)
    rows = []
    for one in rules:
        for finding in one.check(context):
            rows.append({"code": one.code, "severity": one.severity, "tool": finding.tool, "field": finding.field,
                         "message": finding.message, "fix": finding.fix})
    rank = {severity: number for number, severity in enumerate(SEVERITIES)}
    rows.sort(key=lambda row: (rank[row["severity"]], row["tool"] is not None, row["tool"] or "", row["code"],
                               row["field"]))
    frame = Findings(rows, columns=COLUMNS, dtype=object)  # object: a server-wide finding's tool stays None
    frame.attrs.update({"server": shown_name or server.name, "rules": [r.code for r in rules],
                        "seconds": time.perf_counter() - started, "provider": provider, "budget": budget})
    return frame
