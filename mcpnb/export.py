"""Tool definitions in each model provider's format: ``server.tools.export("openai")``.

A designer hands MCP tools on to code that calls a model API directly. Each
API takes its own shape and its own subset of JSON Schema, and refuses a whole
request for one keyword it does not know. ``export_tools`` writes each tool as
the API accepts it and says, per tool, what it had to change or drop
(``Export.changes``), so nothing is lost without a word::

    provider            definition                                              schema it gets
    anthropic           {"name", "description", "input_schema"}                 the tool's JSON Schema as it is
    openai              {"type": "function", "function": {"name",               strict: OpenAI's strict subset
                         "description", "parameters", "strict"}}                (see below); strict=False: as it is
    openai-responses    {"type": "function", "name", "description",             the same as openai
                         "parameters", "strict"}
    gemini              a FunctionDeclaration {"name", "description",           Gemini's OpenAPI-3.0-style Schema
                         "parameters"}                                          subset (see below)

Whatever the provider, these are fixed because the API refuses them outright
(the quotes are the APIs' own error messages):

- a name outside the provider's rule: characters outside it become ``_``, a
  name too long is cut, a name taken by another tool of the export gets ``_2``.
  Anthropic: ``^[a-zA-Z0-9_-]{1,128}$``; OpenAI (both APIs): letters, digits,
  ``_`` and ``-``, at most 64 (``FunctionDefinition.name``); Gemini: starts with
  a letter or ``_``, then letters, digits, ``_ . : -``, at most 128
  (``google.genai.types.FunctionDeclaration.name``).
- the top of an input schema must be a plain object: a missing ``type`` becomes
  "object"; a top-level ``anyOf``/``oneOf``/``allOf`` is folded into one object
  (Anthropic: "input_schema does not support oneOf, allOf, or anyOf at the top
  level"; OpenAI adds ``enum``, ``const`` and ``not``).
- OpenAI: an array without ``items`` ("array schema missing items") gets
  ``items: {}`` (strict: a scalar item schema).

OpenAI strict mode (``strict=True``, the default; the guide's "Supported
schemas" section): every object gets ``additionalProperties: false``; every
property is listed in ``required``, and the optional ones become nullable
(``["string", "null"]``, null added to an ``enum``, or ``{"type": "null"}``
added to an ``anyOf``) so the model sends null to leave one out: drop the null
arguments before calling the tool. Only these keywords stay: type, properties,
required, additionalProperties, items, enum, const, anyOf, $ref, $defs,
definitions, description, title, pattern, format (date-time, time, date,
duration, email, hostname, ipv4, ipv6, uuid), multipleOf, minimum, maximum,
exclusiveMinimum, exclusiveMaximum, minItems, maxItems. A ``default`` is
dropped and named in the description (a default of null goes without a row:
null already means "not given"); ``oneOf`` becomes ``anyOf``; ``allOf`` is
merged; a ``$ref`` with other keywords beside it is written out in place;
a schema with no type becomes "a string, number, boolean or null"; a property
whose schema is ``false`` (never to be sent) is left out (for Gemini too). A
schema past the documented limits (5000 properties, 10 levels of nesting, 1000 enum
values, 120,000 characters of names and values) is exported with
``strict: false`` instead, and the row says why.

Gemini (``parameters``, the Schema of the Gemini API's v1beta discovery
document): only its 22 fields stay (type, format, title, description,
nullable, enum, items, minItems, maxItems, properties, required,
minProperties, maxProperties, minimum, maximum, minLength, maxLength, pattern,
example, anyOf, propertyOrdering, default). Types are written upper-case;
``["string", "null"]`` and ``anyOf`` with null become ``nullable``; ``$ref`` is
written out in place (a recursive one stops at the first repeat); several types
become an ``anyOf`` of one schema per type, each with the keywords for that
type (items in the array's, properties in the object's ...); ``oneOf``
becomes ``anyOf``; ``const`` a one-value ``enum``; enums of numbers are dropped
and their values named in the description (Gemini takes string enums only);
formats other than date-time and enum (strings), float and double (numbers),
int32 and int64 (integers) are dropped; exclusive bounds become inclusive
ones; an array without items gets string items; parameter names outside
Gemini's rule (a letter or ``_``, then letters, digits and ``_``, at most 64)
are renamed. ``strict`` does not apply to Anthropic or Gemini.

Translations that keep the meaning (upper-case types, ``nullable``) are not
listed as changes; everything else is, as a ``Change`` with a JSON Pointer
into the tool's own input schema. The tool's schema is never modified.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload
from urllib.parse import unquote

from .errors import ConfigError
from .schema import referred

if TYPE_CHECKING:
    import pandas as pd

    from .listings import Tool

__all__ = ["PROVIDERS", "Change", "Exported", "Export", "export_tool", "export_tools"]

PROVIDERS = ("anthropic", "openai", "openai-responses", "gemini")

_WHO = {"anthropic": "Anthropic", "openai": "OpenAI", "openai-responses": "OpenAI", "gemini": "Gemini"}


@dataclass(frozen=True)
class Change:
    """One thing a conversion had to change or drop."""

    tool: str  # the MCP tool name
    provider: str
    path: str  # JSON Pointer into the tool's input schema ("" = all of it), or "name" / "description"
    action: str  # "changed" | "dropped" | "added"
    detail: str  # one sentence a person reads


@dataclass(frozen=True)
class Exported:
    """One tool as one provider's API receives it."""

    tool: str  # the MCP tool name
    provider: str
    definition: dict[str, Any]  # exactly what goes in that API's request (JSON-ready)
    changes: tuple[Change, ...]

    @property
    def name(self) -> str:
        """The name the model calls the tool by (the MCP name unless the provider refused it)."""
        inner = self.definition.get("function", self.definition)
        return inner["name"]


class Export(Sequence[dict[str, Any]]):
    """The definitions for one provider, in order: pass it as the request's ``tools``.

    ``.tools`` has each ``Exported`` (with its changes), ``.changes`` all the
    changes as a table, ``.names`` maps the names the model uses back to the
    MCP tool names, ``.to_json()`` writes the definitions out.
    """

    def __init__(self, provider: str, tools: Sequence[Exported], *, server: str | None = None,
                 strict: bool = True) -> None:
        self.provider = provider
        self.tools = list(tools)
        self.server = server
        self.strict = strict

    @property
    def definitions(self) -> list[dict[str, Any]]:
        return [exported.definition for exported in self.tools]

    def __len__(self) -> int:
        return len(self.tools)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [exported.definition for exported in self.tools[index]]
        return self.tools[index].definition

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.definitions)

    @property
    def names(self) -> dict[str, str]:
        """The name each tool goes by in this export -> its MCP name (to route the model's calls back)."""
        return {exported.name: exported.tool for exported in self.tools}

    @property
    def changes(self) -> pd.DataFrame:
        """Every change and drop, one row each: tool, path, action, detail."""
        frame = changes_frame(self.tools)
        frame.attrs["mcp"] = {"server": self.server, "provider": self.provider, "strict": self.strict}
        return frame

    def to_json(self, indent: int | None = 2) -> str:
        """The definitions as a JSON array (what goes in the request's ``tools``)."""
        return json.dumps(self.definitions, indent=indent, ensure_ascii=False)

    def _repr_html_(self) -> str:
        from . import render

        return render.export(self)

    def __repr__(self) -> str:
        changed = sum(1 for exported in self.tools if exported.changes)
        plural = "" if len(self) == 1 else "s"
        return f"<Export of {len(self)} tool{plural} for {self.provider}: {changed} changed>"


def changes_frame(tools: Iterable[Exported]) -> pd.DataFrame:
    """What the conversions changed or dropped, one row each: tool, path, action, detail."""
    from .frames import ProseFrame  # with pandas, which a script that only exports need not load

    rows = [{"tool": c.tool, "path": c.path, "action": c.action, "detail": c.detail}
            for exported in tools for c in exported.changes]
    return ProseFrame(rows, columns=["tool", "path", "action", "detail"])


def export_tool(tool: Tool, provider: str, *, strict: bool = True) -> Exported:
    """One tool as ``provider``'s API accepts it, with what the conversion changed (see the module docstring)."""
    _check_provider(provider)
    name, changes = _name(tool.name, provider, taken=set())
    return _export(tool, provider, strict, name, changes)


def export_tools(tools: Iterable[Tool], provider: str, *, strict: bool = True) -> Export:
    """Every tool as ``provider``'s API accepts it; names are kept distinct across them."""
    _check_provider(provider)
    if getattr(tools, "kind", "tool") != "tool":
        raise ConfigError(f"An export holds tools, not {tools.kind}s.",  # type: ignore[attr-defined]
                          hint="use server.tools.export(...).")
    items = list(tools)
    for item in items:
        if not hasattr(item, "input_schema") or not isinstance(getattr(item, "name", None), str):
            raise ConfigError(f"export_tools takes tools (mcpnb.Tool), not {type(item).__name__}.",
                              hint="pass server.tools, or use server.tools.export(...).")
    rule = _NAME_RULES[provider]
    reserved = {item.name for item in items if rule.accepts(item.name)}
    taken: set[str] = set()
    done = []
    for item in items:
        name, changes = _name(item.name, provider, taken=taken, reserved=reserved)
        taken.add(name)
        done.append(_export(item, provider, strict, name, changes))
    return Export(provider, done, server=getattr(tools, "server", None), strict=strict)


def _check_provider(provider: str) -> None:
    if provider not in PROVIDERS:
        close = difflib.get_close_matches(str(provider), PROVIDERS, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(f"Unknown provider {provider!r}.", hint=f"{hint}one of: {', '.join(PROVIDERS)}.")


def _export(tool: Tool, provider: str, strict: bool, name: str, name_changes: list[Change]) -> Exported:
    schema = tool.input_schema if isinstance(tool.input_schema, dict) else {}
    description = tool.description or None
    if provider == "gemini":
        conversion = _Conversion(tool.name, provider, schema)
        parameters = conversion.gemini()
        definition: dict[str, Any] = {"name": name, **_described(description), "parameters": parameters}
        return Exported(tool.name, provider, definition, tuple(name_changes + conversion.changes))
    if provider == "anthropic":
        conversion = _Conversion(tool.name, provider, schema)
        definition = {"name": name, **_described(description), "input_schema": conversion.anthropic()}
        return Exported(tool.name, provider, definition, tuple(name_changes + conversion.changes))
    conversion = _Conversion(tool.name, provider, schema)
    parameters, strict_now = conversion.openai(strict)
    if provider == "openai":
        function = {"name": name, **_described(description), "parameters": parameters, "strict": strict_now}
        definition = {"type": "function", "function": function}
    else:
        definition = {"type": "function", "name": name, **_described(description), "parameters": parameters,
                      "strict": strict_now}
    return Exported(tool.name, provider, definition, tuple(name_changes + conversion.changes))


def _described(description: str | None) -> dict[str, str]:
    return {"description": description} if description else {}


# -- names ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _NameRule:
    allowed: str  # a character class body
    limit: int
    said: str  # the rule, for a person
    first: str | None = None  # what the first character must be, if anything

    def accepts(self, name: str) -> bool:
        if not name or len(name) > self.limit or re.search(f"[^{self.allowed}]", name):
            return False
        return self.first is None or re.match(f"[{self.first}]", name) is not None


_NAME_RULES = {
    "anthropic": _NameRule("a-zA-Z0-9_-", 128, "letters, digits, '_' and '-', at most 128 characters"),
    "openai": _NameRule("a-zA-Z0-9_-", 64, "letters, digits, '_' and '-', at most 64 characters"),
    "openai-responses": _NameRule("a-zA-Z0-9_-", 64, "letters, digits, '_' and '-', at most 64 characters"),
    "gemini": _NameRule("a-zA-Z0-9_.:-", 128, "a letter or '_' first, then letters, digits, '_', '.', ':' and "
                                              "'-', at most 128 characters", first="a-zA-Z_"),
}
# Gemini's rule for parameter names (FunctionDeclaration.parameters in google-genai's types).
_GEMINI_PARAMETER = _NameRule("a-zA-Z0-9_", 64, "a letter or '_' first, then letters, digits and '_', at most "
                                                "64 characters", first="a-zA-Z_")


def _fit(name: str, rule: _NameRule, taken: set[str], reserved: set[str]) -> str:
    """``name`` made to follow ``rule`` and distinct from ``taken`` (and from ``reserved``, other names kept)."""
    fitted = re.sub(f"[^{rule.allowed}]", "_", name) or "tool"
    if rule.first and not re.match(f"[{rule.first}]", fitted):
        fitted = "_" + fitted
    fitted = fitted[:rule.limit]
    if fitted not in taken and (fitted == name or fitted not in reserved):
        return fitted
    number = 2
    while True:
        suffix = f"_{number}"
        candidate = fitted[:rule.limit - len(suffix)] + suffix
        if candidate not in taken and candidate not in reserved:
            return candidate
        number += 1


def _name(name: str, provider: str, *, taken: set[str], reserved: set[str] | None = None) -> tuple[str, list[Change]]:
    rule = _NAME_RULES[provider]
    fitted = _fit(name, rule, taken, reserved or set())
    if fitted == name:
        return name, []
    if rule.accepts(name):
        why = "another tool of this export has that name"
    else:
        why = f"{_WHO[provider]} takes {rule.said} in a tool name"
    detail = f"name {name!r} became {fitted!r}: {why}; map it back to {name!r} when the model calls it"
    return fitted, [Change(name, provider, "name", "changed", detail)]


# -- schemas ----------------------------------------------------------------------------------

_MISSING = object()
_ANY_SCALAR = ["string", "number", "boolean", "null"]
_STRICT_KEYWORDS = {"type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf",
                    "$ref", "$defs", "definitions", "description", "title", "pattern", "format", "multipleOf",
                    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems"}
_STRICT_FORMATS = ("date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid")
_GEMINI_FIELDS = {"type", "format", "title", "description", "nullable", "enum", "items", "maxItems", "minItems",
                  "properties", "required", "minProperties", "maxProperties", "minimum", "maximum", "minLength",
                  "maxLength", "pattern", "example", "anyOf", "propertyOrdering", "default"}
_GEMINI_FORMATS = {"STRING": ("enum", "date-time"), "NUMBER": ("float", "double"), "INTEGER": ("int32", "int64")}
# The keywords that apply to one type only: a node with several types gives each branch its own.
_TYPE_KEYWORDS = {
    "string": {"minLength", "maxLength", "pattern", "contentEncoding", "contentMediaType"},
    "number": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"},
    "integer": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"},
    "array": {"items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains", "minContains",
              "maxContains", "unevaluatedItems"},
    "object": {"properties", "required", "additionalProperties", "patternProperties", "propertyNames",
               "minProperties", "maxProperties", "dependentRequired", "dependentSchemas",
               "unevaluatedProperties", "propertyOrdering"},
}
# Keywords that check a value: dropping one lets the model send what the server will refuse.
_CHECKS = {"minLength", "maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum",
           "exclusiveMaximum", "multipleOf", "minItems", "maxItems", "uniqueItems", "minProperties",
           "maxProperties", "patternProperties", "propertyNames", "not", "if", "then", "else", "contains",
           "minContains", "maxContains", "dependentRequired", "dependentSchemas", "unevaluatedProperties",
           "unevaluatedItems", "prefixItems", "additionalProperties", "const", "enum"}
# Where a schema holds other schemas: keyword -> "one" | "list" | "map".
_SUBSCHEMAS = {"items": "one", "additionalProperties": "one", "not": "one", "if": "one", "then": "one",
               "else": "one", "contains": "one", "propertyNames": "one", "unevaluatedItems": "one",
               "unevaluatedProperties": "one", "anyOf": "list", "oneOf": "list", "allOf": "list",
               "prefixItems": "list", "properties": "map", "patternProperties": "map", "$defs": "map",
               "definitions": "map", "dependentSchemas": "map"}
# OpenAI strict mode's documented limits.
_LIMITS = {"properties": 5000, "depth": 10, "enum values": 1000, "characters": 120_000}

Path = tuple[str, ...]


def _pointer(path: Path) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in path)


def _ref_path(ref: str) -> Path:
    """A local ``$ref`` ("#/$defs/X") as a path into the schema."""
    return tuple(unquote(part).replace("~1", "/").replace("~0", "~") for part in ref[1:].split("/")[1:])


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _types(node: dict[str, Any]) -> list[str]:
    kind = node.get("type")
    if isinstance(kind, str):
        return [kind]
    return [k for k in kind if isinstance(k, str)] if isinstance(kind, list) else []


def _is_null(node: Any) -> bool:
    return isinstance(node, dict) and _types(node) == ["null"] and len(set(node) - {"type", "title",
                                                                                     "description"}) == 0


def _append(node: dict[str, Any], sentence: str) -> None:
    """A sentence of mcpnb's added to a schema's description (what a dropped keyword said)."""
    said = node.get("description")
    if not isinstance(said, str) or not said.strip():
        node["description"] = sentence
        return
    said = said.rstrip()
    node["description"] = f"{said}{'' if said[-1] in '.!?:;' else '.'} {sentence}"


class _Conversion:
    """One tool's input schema converted for one provider; collects what it had to change."""

    def __init__(self, tool: str, provider: str, schema: dict[str, Any]) -> None:
        self.tool = tool
        self.provider = provider
        self.who = _WHO[provider]
        self.root = copy.deepcopy(schema)  # never written to: every step builds new dicts
        self.changes: list[Change] = []

    def note(self, path: Path, action: str, detail: str, *, at: int | None = None) -> None:
        change = Change(self.tool, self.provider, _pointer(path), action, detail)
        if change not in self.changes:
            self.changes.insert(len(self.changes) if at is None else at, change)

    def never_sent(self, properties: dict[str, Any], required: list[str], path: Path) -> dict[str, Any]:
        """``properties`` without those whose schema is ``false`` (no value fits: never to be sent), each noted.

        Written as any other schema they would tell the model to send them; left out, it has no way to.
        """
        for name in [n for n, sub in properties.items() if sub is False]:
            detail = (f"property {name!r} dropped: its schema is false, so it must never be sent; {self.who} has no "
                      "schema that takes no value, and left out, the model is not offered it")
            if name in required:
                detail += " (it was required too, so the server refuses any object given here)"
            self.note((*path, "properties", name), "dropped", detail)
        return {n: sub for n, sub in properties.items() if sub is not False}

    def resolve(self, ref: Any) -> dict[str, Any] | None:
        """The schema a local ``$ref`` ("#", "#/$defs/X" ...) points at, or None."""
        node = referred(self.root, ref)
        return node if isinstance(node, dict) else None

    # -- the top of the schema, for every provider

    def top(self, refused: tuple[str, ...]) -> dict[str, Any]:
        """The root as a plain object: a type, no top-level composition the provider refuses."""
        node = dict(self.root)
        if "$ref" in node:
            target = self.resolve(node["$ref"])
            ref = node.pop("$ref")
            if target is not None:
                node = {**target, **node}
                self.note(("$ref",), "changed", f"the top-level reference {ref!r} was written out in place: "
                                                 f"{self.who} needs the input schema itself to be an object")
        kind = node.get("type", _MISSING)
        if kind is _MISSING:
            node = {"type": "object", **node}
            self.note(("type",), "added", f"type 'object' added: {self.who} needs the top of an input schema to "
                                          "say it is an object")
        elif kind != "object":
            node["type"] = "object"
            self.note(("type",), "changed", f"type {_short(kind)} became 'object': {self.who} takes only an "
                                            "object at the top of an input schema")
        for key in refused:
            if key not in node:
                continue
            if key in ("anyOf", "oneOf", "allOf") and isinstance(node[key], list):
                node = self._fold(node, key)
            else:
                self.note((key,), "dropped", f"the top-level {key} {_short(node.pop(key))} dropped: {self.who} "
                                             f"does not accept {key} at the top of an input schema; the server "
                                             "still checks it")
        return node

    def _fold(self, node: dict[str, Any], key: str) -> dict[str, Any]:
        """A top-level anyOf/oneOf/allOf folded into the root object: the options' properties merged."""
        options = [self.resolve(o["$ref"]) if isinstance(o, dict) and "$ref" in o else o for o in node.pop(key)]
        options = [o for o in options if isinstance(o, dict)]
        properties = dict(node.get("properties") or {})
        for option in options:
            for name, sub in (option.get("properties") or {}).items():
                properties.setdefault(name, sub)
        required = list(node.get("required") or [])
        lists = [set(o.get("required") or []) for o in options]
        extra = set.union(*lists) if key == "allOf" and lists else (set.intersection(*lists) if lists else set())
        required += [name for name in properties if name in extra and name not in required]
        node = {**node, "properties": properties}
        if required:
            node["required"] = required
        self.note((key,), "changed", f"the top-level {key} was folded into one object: {self.who} does not accept "
                                     f"{key} at the top of an input schema; the server still checks which "
                                     "combinations it allows")
        return node

    # -- Anthropic

    def anthropic(self) -> dict[str, Any]:
        return self.top(("anyOf", "oneOf", "allOf"))

    # -- OpenAI

    def openai(self, strict: bool) -> tuple[dict[str, Any], bool]:
        """The parameters schema and whether it is strict (a schema past strict mode's limits is not)."""
        refused = ("anyOf", "oneOf", "allOf", "enum", "const", "not")
        if strict:
            trial = _Conversion(self.tool, self.provider, self.root)
            converted = trial.strict(trial.top(refused), ())
            over = _over_limits(converted)
            if over is None:
                self.changes += [c for c in trial.changes if c not in self.changes]
                return converted, True
            self.note((), "changed", f"strict mode turned off for this tool: {over}, past what OpenAI strict "
                                     "mode allows; the schema goes as it is, with strict: false")
        return self.loose(self.top(refused), ()), False

    def loose(self, node: Any, path: Path) -> Any:
        """Non-strict OpenAI: the schema as it is, but every array with an item schema."""
        if not isinstance(node, dict):
            return node
        node = dict(node)
        if "array" in _types(node) and "items" not in node:
            node["items"] = {}
            self.note((*path, "items"), "added", "items added (any value): OpenAI refuses an array schema "
                                                 "without items")
        return self._map(node, path, self.loose)

    def _map(self, node: dict[str, Any], path: Path, convert: Any) -> dict[str, Any]:
        for key, shape in _SUBSCHEMAS.items():
            value = node.get(key)
            if shape == "one" and isinstance(value, dict):
                node[key] = convert(value, (*path, key))
            elif shape == "list" and isinstance(value, list):
                node[key] = [convert(v, (*path, key, str(i))) for i, v in enumerate(value)]
            elif shape == "map" and isinstance(value, dict):
                node[key] = {k: convert(v, (*path, key, k)) for k, v in value.items()}
        return node

    def _merge_all_of(self, node: dict[str, Any], path: Path) -> dict[str, Any]:
        parts = node.pop("allOf")
        parts = [self.resolve(p["$ref"]) if isinstance(p, dict) and set(p) == {"$ref"} else p for p in parts]
        if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
            self.note((*path, "allOf"), "dropped", f"allOf dropped: {self.who} does not support it and its parts "
                                                   "could not be merged; the server still checks it")
            return node
        merged = dict(node)
        for part in parts:
            for key, value in part.items():
                if key == "properties" and isinstance(value, dict):
                    merged["properties"] = {**value, **(merged.get("properties") or {})}
                elif key == "required" and isinstance(value, list):
                    merged["required"] = list(dict.fromkeys([*(merged.get("required") or []), *value]))
                else:
                    merged.setdefault(key, value)
        self.note((*path, "allOf"), "changed", f"allOf merged into one schema: {self.who} does not support allOf")
        return merged

    def strict(self, node: Any, path: Path, inlining: tuple[str, ...] = ()) -> dict[str, Any]:
        """One schema in OpenAI's strict subset (see the module docstring)."""
        if not isinstance(node, dict) or not node:
            self.note(path, "changed", "a schema that takes any value now takes a string, number, boolean or "
                                       "null: OpenAI strict mode needs a type, and no object or list can be open")
            return {"type": list(_ANY_SCALAR)}
        node = dict(node)
        if "allOf" in node:
            node = self._merge_all_of(node, path)
        if "$ref" in node:
            ref = node["$ref"]
            others = [k for k in node if k != "$ref"]
            if self.resolve(ref) is None:
                node.pop("$ref")
                self.note((*path, "$ref"), "dropped", f"the reference {ref!r} dropped: it points nowhere in this "
                                                      "schema, and OpenAI strict mode needs it to resolve")
                return self.strict(node, path, inlining)
            if not others:
                return {"$ref": ref}
            if ref in inlining:
                self.note(path, "dropped", f"{', '.join(others)} beside the recursive reference {ref!r} dropped: "
                                           "OpenAI strict mode takes no other keywords beside a $ref")
                return {"$ref": ref}
            self.note((*path, "$ref"), "changed", f"the reference {ref!r} was written out in place: OpenAI strict "
                                                  f"mode takes no other keywords beside a $ref (here: "
                                                  f"{', '.join(others)})")
            target = self.resolve(ref) or {}
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            if {k for k in siblings if k in _STRICT_KEYWORDS} - {"description", "title"}:
                return self.strict({**target, **siblings}, path, (*inlining, ref))  # more than words beside it
            if "default" in siblings and "description" not in siblings and isinstance(target.get("description"), str):
                siblings["description"] = target["description"]
            written = self.strict(target, _ref_path(ref), (*inlining, ref))
            written.update(self._strict_keywords(siblings, path))
            return written
        union = "anyOf"  # where the options are in the tool's own schema
        if "oneOf" in node:
            if "anyOf" in node:
                self.note((*path, "oneOf"), "dropped", "oneOf dropped beside an anyOf: OpenAI strict mode has no "
                                                       "oneOf; the server still checks it")
                node.pop("oneOf")
            else:
                node = {("anyOf" if k == "oneOf" else k): v for k, v in node.items()}
                union = "oneOf"
                self.note((*path, "oneOf"), "changed", "oneOf became anyOf: OpenAI strict mode has no oneOf (a "
                                                       "value that fits several options is no longer refused)")
        node = self._strict_keywords(node, path)
        kinds = _types(node)
        if not kinds and not any(k in node for k in ("anyOf", "$ref", "enum", "const")):
            if "properties" in node:
                node["type"] = "object"
                self.note((*path, "type"), "added", "type 'object' added: OpenAI strict mode needs a type")
            elif "items" in node:
                node["type"] = "array"
                self.note((*path, "type"), "added", "type 'array' added: OpenAI strict mode needs a type")
            else:
                node["type"] = list(_ANY_SCALAR)
                self.note(path, "changed", "a schema without a type now takes a string, number, boolean or null: "
                                           "OpenAI strict mode needs a type, and no object or list can be open")
            kinds = _types(node)
        if isinstance(node.get("anyOf"), list):
            node["anyOf"] = [self.strict(v, (*path, union, str(i)), inlining) for i, v in enumerate(node["anyOf"])]
        for key in ("$defs", "definitions"):
            if isinstance(node.get(key), dict):
                node[key] = {k: self.strict(v, (*path, key, k), inlining) for k, v in node[key].items()}
        if "object" in kinds:
            node = self._close(node, path, inlining)
        if "array" in kinds:
            items = node.get("items", _MISSING)
            if items is _MISSING:
                node["items"] = {"type": list(_ANY_SCALAR)}
                self.note((*path, "items"), "added", "items added (a string, number, boolean or null): OpenAI "
                                                     "needs an item schema for every array")
            elif isinstance(items, list):
                node["items"] = {"anyOf": [self.strict(v, (*path, "items", str(i)), inlining)
                                           for i, v in enumerate(items)]}
                self.note((*path, "items"), "changed", "the list of item schemas became one anyOf: OpenAI strict "
                                                       "mode has no per-position items")
            else:
                node["items"] = self.strict(items, (*path, "items"), inlining)
        return node

    def _strict_keywords(self, node: dict[str, Any], path: Path) -> dict[str, Any]:
        """``node`` without what strict mode refuses among its plain keywords (default, formats, unknown ones)."""
        if "default" in node:
            value = node.pop("default")
            if value is not None:
                _append(node, f"Default: {_short(value)}.")
                self.note((*path, "default"), "dropped", f"default {_short(value)} dropped: OpenAI strict mode "
                                                         "does not accept 'default'; the description now names it")
        if "format" in node and node["format"] not in _STRICT_FORMATS:
            self.note((*path, "format"), "dropped", f"format {_short(node.pop('format'))} dropped: OpenAI strict "
                                                    f"mode accepts only {', '.join(_STRICT_FORMATS)}")
        for key in [k for k in node if k not in _STRICT_KEYWORDS]:
            value = node.pop(key)
            still = "; the server still checks it" if key in _CHECKS else ""
            self.note((*path, key), "dropped", f"{key} {_short(value)} dropped: OpenAI strict mode does not "
                                               f"support it{still}")
        return node

    def _close(self, node: dict[str, Any], path: Path, inlining: tuple[str, ...]) -> dict[str, Any]:
        """An object closed, every property required, the optional ones nullable."""
        listed = node.get("properties") if isinstance(node.get("properties"), dict) else {}
        required = [r for r in node.get("required") or [] if isinstance(r, str)]
        properties = self.never_sent(listed, required, path)
        required = [r for r in required if r in properties or r not in listed]
        unknown = [r for r in required if r not in properties]
        if unknown:
            self.note((*path, "required"), "dropped", f"required {_short(unknown)} dropped: no such properties, and "
                                                      "OpenAI strict mode needs required to list exactly the "
                                                      "properties")
        converted = {}
        for name, sub in properties.items():
            inner = (*path, "properties", name)
            mark = len(self.changes)  # the property's own row goes before those of its keywords
            schema = self.strict(sub, inner, inlining)
            if name not in required:
                schema, already = _nullable(schema)
                if already:
                    detail = (f"optional {name!r} is now required: OpenAI strict mode needs every property in "
                              "required; it already accepts null, which the model sends to leave it out")
                else:
                    detail = (f"optional {name!r} is now required and nullable: OpenAI strict mode needs every "
                              "property in required, so the model sends null to leave it out")
                self.note(inner, "changed", detail, at=mark)
            converted[name] = schema
        node["properties"] = converted
        node["required"] = list(converted)
        closed = node.get("additionalProperties", _MISSING)
        if closed is _MISSING:
            self.note((*path, "additionalProperties"), "added", "additionalProperties: false added: OpenAI strict "
                                                                "mode needs every object closed")
        elif closed is not False:
            only = " (this object lists none, so only {} fits)" if not converted else ""
            self.note((*path, "additionalProperties"), "changed", f"additionalProperties {_short(closed)} became "
                                                                  "false: OpenAI strict mode needs every object "
                                                                  f"closed, so the model sends only the listed "
                                                                  f"properties{only}")
        node["additionalProperties"] = False
        return node

    # -- Gemini

    def gemini(self) -> dict[str, Any]:
        node = self.gem(self.top(("anyOf", "oneOf", "allOf", "enum", "const", "not")), (), ("#",))
        node["type"] = "OBJECT"
        node.setdefault("properties", {})
        renamed: dict[str, str] = {}
        taken: set[str] = set()
        reserved = {name for name in node["properties"] if _GEMINI_PARAMETER.accepts(name)}
        for name in node["properties"]:
            fitted = _fit(name, _GEMINI_PARAMETER, taken, reserved)
            taken.add(fitted)
            if fitted != name:
                renamed[name] = fitted
                self.note(("properties", name), "changed", f"parameter {name!r} became {fitted!r}: Gemini takes "
                                                           f"{_GEMINI_PARAMETER.said} in a parameter name; rename it "
                                                           f"back to {name!r} before calling the tool")
        if renamed:
            node["properties"] = {renamed.get(k, k): v for k, v in node["properties"].items()}
            if "required" in node:
                node["required"] = [renamed.get(r, r) for r in node["required"]]
        return node

    def gem(self, node: Any, path: Path, inlining: tuple[str, ...]) -> dict[str, Any]:
        """One schema in the Gemini API's Schema subset (see the module docstring)."""
        if not isinstance(node, dict) or not node:
            return self._gem_any(path, "a schema that takes any value")
        node = dict(node)
        if "allOf" in node:
            node = self._merge_all_of(node, path)
        if "$ref" in node:
            ref = node.pop("$ref")
            target = self.resolve(ref)
            if target is None:
                self.note((*path, "$ref"), "dropped", f"the reference {ref!r} dropped: it points nowhere in this "
                                                      "schema")
                return self.gem(node, path, inlining) if node else self._gem_any(path, "what is left")
            if ref in inlining:
                kinds = _types(target)
                cut = {"type": (kinds[0] if kinds else "object").upper()}
                cut.update({k: node[k] for k in ("description", "title") if isinstance(node.get(k), str)})
                self.note((*path, "$ref"), "dropped", f"the recursive reference {ref!r} stops here: Gemini has no "
                                                      "references, so the model gets no shape below this level")
                return cut
            self.note((*path, "$ref"), "changed", f"the reference {ref!r} was written out in place: Gemini has no "
                                                  "references")
            if set(node) - {"description", "title", "default", "example", "format"}:
                return self.gem({**target, **node}, path, (*inlining, ref))  # more than words beside it
            written = self.gem(target, _ref_path(ref), (*inlining, ref))
            written.update(self.gem_keywords(node, path, written.get("type")))
            return written
        union = "anyOf"  # where the options are in the tool's own schema
        if "oneOf" in node and "anyOf" not in node:
            node = {("anyOf" if k == "oneOf" else k): v for k, v in node.items()}
            union = "oneOf"
            self.note((*path, "oneOf"), "changed", "oneOf became anyOf: Gemini has no oneOf (a value that fits "
                                                   "several options is no longer refused)")
        out: dict[str, Any] = {}
        nullable = node.get("nullable") is True
        kinds = _types(node)
        if "null" in kinds:
            nullable = True
            kinds = [k for k in kinds if k != "null"]
            if not kinds and "enum" not in node and "const" not in node:
                kinds = ["null"]
        options = node.get("anyOf") if isinstance(node.get("anyOf"), list) else None
        if options is not None:
            real = [o for o in options if not _is_null(o)]
            nullable = nullable or len(real) < len(options)
            if len(real) == 1 and not kinds:
                inner = self.gem(real[0], (*path, union, str(options.index(real[0]))), inlining)
                rest = {k: v for k, v in node.items() if k != "anyOf"}
                merged = {**inner, **self.gem_keywords(rest, path, inner.get("type"))} if rest else inner
                if nullable:
                    merged["nullable"] = True
                return merged
            out["anyOf"] = [self.gem(o, (*path, union, str(options.index(o))), inlining) for o in real]
        enum = node.get("enum")
        if "const" in node:
            value = node["const"]
            if value is None:
                nullable = True
            elif isinstance(value, str):
                enum = [value]
                self.note((*path, "const"), "changed", f"const {_short(value)} became enum [{_short(value)}]: Gemini "
                                                       "has no const")
            else:
                _append(node, f"Must be {_short(value)}.")
                kinds = kinds or _kinds_of([value])
                self.note((*path, "const"), "dropped", f"const {_short(value)} dropped: Gemini has no const and takes "
                                                       "only strings in an enum; the description names the value")
        if isinstance(enum, list):
            if None in enum:
                nullable = True
                enum = [e for e in enum if e is not None]
            if all(isinstance(e, str) for e in enum):
                out["enum"] = enum
                if not kinds:
                    kinds = ["string"]
            else:
                _append(node, f"One of: {', '.join(_short(e) for e in enum)}.")
                kinds = kinds or _kinds_of(enum)
                self.note((*path, "enum"), "dropped", f"enum {_short(enum)} dropped: Gemini takes only strings in "
                                                      "an enum; the description names the values")
        if len(kinds) > 1:
            branches, node = _by_type(node, kinds)
            out["anyOf"] = [*out.get("anyOf", []), *(self.gem(branch, path, inlining) for branch in branches)]
            kind = None
        elif kinds:
            kind = kinds[0].upper()
            out["type"] = kind
        else:
            kind = None
            if "anyOf" not in out:
                if "properties" in node:
                    kind = out["type"] = "OBJECT"
                elif "items" in node:
                    kind = out["type"] = "ARRAY"
                else:
                    rest = self._gem_any(path, "a schema without a type")
                    out.update(rest)
        if nullable:
            out["nullable"] = True
        out.update(self.gem_keywords(node, path, kind))
        if kind == "OBJECT" and isinstance(node.get("properties"), dict):
            required = [r for r in node.get("required") or [] if isinstance(r, str)]
            properties = self.never_sent(node["properties"], required, path)
            required = [r for r in required if r in properties or r not in node["properties"]]
            out["properties"] = {name: self.gem(sub, (*path, "properties", name), inlining)
                                 for name, sub in properties.items()}
            kept = [r for r in required if r in out["properties"]]
            if len(kept) < len(required):
                self.note((*path, "required"), "dropped", f"required {_short([r for r in required if r not in kept])} "
                                                          "dropped: no such properties")
            if kept:
                out["required"] = kept
        if kind == "ARRAY":
            items = node.get("items", _MISSING)
            if isinstance(items, dict):
                out["items"] = self.gem(items, (*path, "items"), inlining)
            elif isinstance(items, list) and items:
                out["items"] = {"anyOf": [self.gem(v, (*path, "items", str(i)), inlining) for i, v in enumerate(items)]}
                self.note((*path, "items"), "changed", "the list of item schemas became one anyOf: Gemini has no "
                                                       "per-position items")
            else:
                out["items"] = {"type": "STRING"}
                self.note((*path, "items"), "added", "items added as strings: Gemini needs an item type for every "
                                                     "array")
        return out

    def gem_keywords(self, node: dict[str, Any], path: Path, kind: str | None) -> dict[str, Any]:
        """The plain keywords of a node (no type, enum or subschemas) that Gemini takes, with notes on the rest."""
        out: dict[str, Any] = {}
        # Handled by gem(); $defs are written out in place wherever they are used.
        structural = {"type", "enum", "const", "anyOf", "$ref", "properties", "required", "items", "nullable",
                      "$defs", "definitions"}
        for key, value in node.items():
            if key in structural:
                continue
            if key == "format":
                allowed = _GEMINI_FORMATS.get(kind or "", ())
                if value in allowed:
                    out[key] = value
                else:
                    which = f"only {', '.join(allowed)} for this type" if allowed else "no format for this type"
                    self.note((*path, key), "dropped", f"format {_short(value)} dropped: Gemini takes {which}")
            elif key in ("exclusiveMinimum", "exclusiveMaximum") and isinstance(value, (int, float)) \
                    and not isinstance(value, bool):
                bound = "minimum" if key == "exclusiveMinimum" else "maximum"
                if bound in node:
                    self.note((*path, key), "dropped", f"{key} {_short(value)} dropped: Gemini has no exclusive "
                                                       f"bounds (the {bound} stays); the server still checks it")
                else:
                    out[bound] = value
                    self.note((*path, key), "changed", f"{key} {_short(value)} became {bound} {_short(value)}: "
                                                       f"Gemini has no exclusive bounds, so {_short(value)} itself "
                                                       "is now allowed; the server still refuses it")
            elif key in _GEMINI_FIELDS:
                out[key] = value
            else:
                still = "; the server still checks it" if key in _CHECKS else ""
                self.note((*path, key), "dropped", f"{key} {_short(value)} dropped: Gemini's schema has no such "
                                                   f"field{still}")
        return out

    def _gem_any(self, path: Path, what: str) -> dict[str, Any]:
        self.note(path, "changed", f"{what} now takes a string, number or boolean (or null): Gemini needs a type "
                                   "on every schema")
        return {"anyOf": [{"type": "STRING"}, {"type": "NUMBER"}, {"type": "BOOLEAN"}], "nullable": True}


def _by_type(node: dict[str, Any], kinds: list[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A node of several types as one schema per type, each with the keywords that apply to it, and what is left.

    Items go to the array, properties to the object, minLength to the string ...; a format to the type Gemini
    takes it for (else to the first type it could be for, which drops it with a note).
    """
    branches = [{"type": kind, **{k: v for k, v in node.items() if k in _TYPE_KEYWORDS.get(kind, ())}}
                for kind in kinds]
    moved = {k for branch in branches for k in branch if k != "type"}
    if "format" in node:
        fits = [b for b in branches if node["format"] in _GEMINI_FORMATS.get(b["type"].upper(), ())]
        fits = fits or [b for b in branches if b["type"] in ("string", "number", "integer")][:1]
        for branch in fits:
            branch["format"] = node["format"]
            moved.add("format")
    return branches, {k: v for k, v in node.items() if k not in moved}


def _kinds_of(values: list[Any]) -> list[str]:
    """The one JSON type all ``values`` share ("integer", "number", "boolean" ...), or none."""
    names = {"boolean" if isinstance(v, bool) else "integer" if isinstance(v, int) else "number"
             if isinstance(v, float) else "string" if isinstance(v, str) else "array" if isinstance(v, list)
             else "object" for v in values}
    if names == {"integer", "number"}:
        return ["number"]
    return list(names) if len(names) == 1 else []


def _nullable(schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """``schema`` that also takes null, and whether it already did."""
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}, False
    if isinstance(schema.get("anyOf"), list):
        if any(_is_null(option) for option in schema["anyOf"]):
            return schema, True
        return {**schema, "anyOf": [*schema["anyOf"], {"type": "null"}]}, False
    if "const" in schema:
        if schema["const"] is None:
            return schema, True
        return {"anyOf": [schema, {"type": "null"}]}, False
    kinds = _types(schema)
    if kinds:
        if "null" in kinds:
            return schema, True
        widened = {**schema, "type": [*kinds, "null"]}
        if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
            widened["enum"] = [*schema["enum"], None]
        return widened, False
    if isinstance(schema.get("enum"), list):
        if None in schema["enum"]:
            return schema, True
        return {**schema, "enum": [*schema["enum"], None]}, False
    return schema, True


def _over_limits(schema: dict[str, Any]) -> str | None:
    """Which of OpenAI strict mode's documented limits the schema passes, in words, or None."""
    counts = {"properties": 0, "enum values": 0, "characters": 0}
    defs: dict[str, Any] = {}
    for key in ("$defs", "definitions"):
        if isinstance(schema.get(key), dict):
            defs.update({f"#/{key}/{name}": sub for name, sub in schema[key].items()})
            counts["characters"] += sum(len(name) for name in schema[key])

    def count(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("properties"), dict):
                counts["properties"] += len(node["properties"])
                counts["characters"] += sum(len(name) for name in node["properties"])
            values = node.get("enum") if isinstance(node.get("enum"), list) else []
            counts["enum values"] += len(values)
            counts["characters"] += sum(len(v) for v in values if isinstance(v, str))
            if isinstance(node.get("const"), str):
                counts["characters"] += len(node["const"])
            for value in node.values():
                count(value)
        elif isinstance(node, list):
            for value in node:
                count(value)

    def depth(node: Any, seen: tuple[str, ...]) -> int:
        if isinstance(node, list):
            return max((depth(v, seen) for v in node), default=0)
        if not isinstance(node, dict):
            return 0
        ref = node.get("$ref")
        if isinstance(ref, str):
            return 0 if ref in seen or ref not in defs else depth(defs[ref], (*seen, ref))
        inner = [depth(v, seen) for k, v in node.items() if k not in ("$defs", "definitions", "enum", "const")]
        here = 1 if "object" in _types(node) else 0
        return here + max(inner, default=0)

    count(schema)
    levels = depth(schema, ())
    for name, limit in _LIMITS.items():
        found = levels if name == "depth" else counts[name]
        if found > limit:
            said = f"{levels} levels of nesting" if name == "depth" else f"{found:,} {name}"
            return f"the schema has {said} (at most {limit:,})"
    return None
