"""Two JSON Schemas compared keyword by keyword: what changed, and whether it breaks clients.

It exists because the same edit breaks one schema and not another. A tool's input schema
is what clients send: it *narrows* when a value it accepted is now refused (a type
dropped, a bound raised, an enum value removed, a property added required or made
required, undeclared properties refused), and then a call that was valid may be refused.
Its output schema is what clients read: it *widens* when it now allows what it did not (a
type or an enum value added, a bound relaxed, the enum or a pattern dropped), and then a
result may hold what clients do not expect. A removed property breaks both (an input's
value is refused or silently ignored; a reader no longer finds it), and so does an output
property no longer required. The reverse of each is safe, and so is a change to an
annotation (title, description, default, examples, deprecated, readOnly, writeOnly,
$comment, $schema): it changes what a person or model reads, not what validates.
``additionalProperties`` never breaks an output schema (clients read the properties they
know).

``compare_schemas(old, new, "input" | "output")`` lists the differences, each a
``SchemaChange``: where (``path``), what (``phrase``), whether it is ``breaking``, and a
``detail`` sentence on what it does to existing clients. ``mcpnb.snapshot`` builds its
diff's rows from them; the table of what breaks, for schemas and the rest of a server's
offer, is in its docstring.

Keywords analysed: ``type``, ``enum``, ``const``, ``minimum``, ``exclusiveMinimum``,
``maximum``, ``exclusiveMaximum``, ``minLength``, ``maxLength``, ``minItems``,
``maxItems``, ``minProperties``, ``maxProperties``, ``multipleOf``, ``pattern``,
``format``, ``uniqueItems``, ``properties``, ``required``, ``additionalProperties``,
``items``, ``prefixItems``, and ``anyOf`` / ``oneOf`` / ``allOf`` (branch by branch when
they keep their length, else an option added or removed). A change that narrows and
widens at once (a type swapped, a const, pattern or format replaced) breaks either way.
Any other keyword that changes (``not``, ``if``/``then``/``else``,
``patternProperties``, ``dependentRequired``, ``propertyNames``, ``contains``,
``unevaluatedProperties``, a ``$ref`` that leaves the schema ...), or a branch list
reshaped otherwise, is reported as "not analysed", breaking either way, with a detail
that says to check it by hand.

How schemas are read. Local ``$ref`` (``#/$defs/...``, any JSON Pointer into the same
schema, as pydantic writes them) are resolved first, sibling keywords over the target; a
recursive reference is followed once. ``anyOf``/``oneOf`` of a schema and ``{"type":
"null"}`` (pydantic's ``Optional``) and OpenAPI's ``nullable: true`` read as that schema
with null added to its type; an ``anyOf`` of bare types reads as a type list.
``integer`` lies within ``number``; a schema without ``type`` accepts every type. Nested
objects and arrays (``properties``, ``items``, ``prefixItems``, ``additionalProperties``,
and ``anyOf``/``oneOf``/``allOf`` branch by branch) are compared all the way down, and
the path names the place: ``lines[].qty`` ("[]" for items, "[0]" for prefixItems, "*"
for additionalProperties). Property order is not compared (JSON Schema gives it no
meaning).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final, Literal

from .errors import ConfigError
from .schema import followed

__all__ = ["SchemaChange", "compare_schemas", "Direction", "Effect", "shown", "was_now", "WORDING_ONLY"]

Direction = Literal["input", "output"]  # what clients send, or what they read
# How a change moves the set of valid values: "narrowed" (fewer), "widened" (more), "changed" (both, or not
# analysed), "annotation" (none: only what is read), and for a property or additionalProperties the rest.
Effect = Literal["narrowed", "widened", "changed", "annotation", "removed", "added required", "added optional",
                 "now required", "now optional", "closed", "opened"]

WORDING_ONLY = "Only what a model or person reads changed; calls and results are unaffected."


@dataclass(frozen=True)
class SchemaChange:
    """One difference between two schemas, judged for the clients that send (input) or read (output) values."""

    path: str  # where: "lines[].qty" ("[]" items, "[0]" prefixItems, "*" additionalProperties); "" the whole schema
    phrase: str  # what changed, as a person reads it: "minimum raised: 0 -> 1", "removed", "now required"
    breaking: bool  # whether clients that worked before may now fail
    detail: str  # one sentence: what it does to existing clients
    effect: Effect  # how the set of valid values moved (the same for either direction)


def compare_schemas(old: Any, new: Any, direction: Direction) -> list[SchemaChange]:
    """What changed from ``old`` to ``new`` (JSON Schemas, each with its own ``$defs``), judged for what
    clients send (``"input"``) or read (``"output"``); in the order found, depth first."""
    if direction not in _BREAKS:
        raise ConfigError(f"compare_schemas() judges an 'input' or an 'output' schema, not {direction!r}.",
                          hint="pass direction='input' for what clients send, 'output' for what they read.")
    return [finding.judged(direction) for finding in _Comparison(old, new).run()]


def shown(value: Any, limit: int = 60) -> str:
    """A value as a change names it: strings quoted, the rest as JSON, cut to ``limit``."""
    text = f"'{value}'" if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def was_now(old: Any, new: Any) -> str:
    """The sentence "Was 'a'; now 'b'." for two values (None reads as "none")."""
    return f"Was {shown(old) if old is not None else 'none'}; now {shown(new) if new is not None else 'none'}."


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


# -- the rules ----------------------------------------------------------------------------

# The effects (Final, so that each reads as its Effect literal).
_NARROWED: Final = "narrowed"
_WIDENED: Final = "widened"
_CHANGED: Final = "changed"
_NEUTRAL: Final = "annotation"
_REMOVED: Final = "removed"
_ADDED_REQUIRED: Final = "added required"
_ADDED_OPTIONAL: Final = "added optional"
_NOW_REQUIRED: Final = "now required"
_NOW_OPTIONAL: Final = "now optional"
_CLOSED: Final = "closed"
_OPENED: Final = "opened"

_BREAKS = {
    "input": {_NARROWED, _CHANGED, _REMOVED, _ADDED_REQUIRED, _NOW_REQUIRED, _CLOSED},
    "output": {_WIDENED, _CHANGED, _REMOVED, _NOW_OPTIONAL},
}
_DETAILS = {
    ("input", _NARROWED): "Calls that were valid before may now be refused.",
    ("input", _CHANGED): "Calls that were valid before may now be refused.",
    ("input", _WIDENED): "More calls are valid; every call that was valid still is.",
    ("input", _REMOVED): ("Calls that still send it are refused (by a server that allows no other parameters, "
                          "or before sending by a validating client such as mcpnb), or the value is silently "
                          "ignored."),
    ("input", _ADDED_REQUIRED): "Existing calls leave it out and will be refused.",
    ("input", _NOW_REQUIRED): "Existing calls that leave it out will be refused.",
    ("input", _ADDED_OPTIONAL): "Existing calls still pass; it can be used from now on.",
    ("input", _NOW_OPTIONAL): "Existing calls still pass.",
    ("input", _CLOSED): "Calls that send other properties will be refused.",
    ("input", _OPENED): "More calls are valid; every call that was valid still is.",
    ("output", _WIDENED): "Clients that read the structured result may get values they do not expect.",
    ("output", _CHANGED): "Clients that read the structured result may get values they do not expect.",
    ("output", _NARROWED): "Results still match what clients expect.",
    ("output", _REMOVED): "Clients that read it will no longer find it.",
    ("output", _NOW_OPTIONAL): "Clients that read it may not find it.",
    ("output", _ADDED_REQUIRED): "Existing clients ignore it; new ones can read it.",
    ("output", _ADDED_OPTIONAL): "Existing clients ignore it; new ones can read it.",
    ("output", _NOW_REQUIRED): "Results still match what clients expect; it is now always there.",
    ("output", _CLOSED): "Clients read the properties they know; nothing they read changed.",
    ("output", _OPENED): "Clients read the properties they know; nothing they read changed.",
}
_WORDS = {_REMOVED: "removed", _ADDED_REQUIRED: "added, required", _ADDED_OPTIONAL: "added, optional",
          _NOW_REQUIRED: "now required", _NOW_OPTIONAL: "now optional"}
_OUTPUT_WORDS = {_NOW_OPTIONAL: "no longer required", _NOW_REQUIRED: "now always present",
                 _ADDED_REQUIRED: "added", _ADDED_OPTIONAL: "added (not always present)"}

# Keywords that change what a person or model reads, not what validates.
_ANNOTATIONS = ("title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly", "$comment",
                "$schema")
_SKIPPED = {"$defs", "definitions", "$id", "$anchor", "$dynamicAnchor", "$vocabulary"}
_LOWER = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_HANDLED = {"type", "enum", "const", "multipleOf", "pattern", "format", "uniqueItems", "properties", "required",
            "additionalProperties", "items", "prefixItems", "anyOf", "oneOf", "allOf", *_LOWER, *_UPPER,
            *_ANNOTATIONS, *_SKIPPED}
_TYPE_ORDER = ("string", "integer", "number", "boolean", "array", "object", "null")
_MAX_DEPTH = 48
_MISSING = object()


@dataclass(frozen=True)
class _Finding:
    """One difference between two schemas, at ``where`` (property names, "[]" for items ...)."""

    where: tuple[str, ...]
    what: str
    effect: Effect
    detail: str | None = None

    def judged(self, direction: Direction) -> SchemaChange:
        """The change as it reads, and what it does, for an input (what clients send) or output (what they
        read) schema."""
        words = _OUTPUT_WORDS if direction == "output" else {}
        phrase = words.get(self.effect) or _WORDS.get(self.effect) or self.what
        detail = self.detail or (WORDING_ONLY if self.effect == _NEUTRAL else _DETAILS[(direction, self.effect)])
        return SchemaChange(_place(self.where), phrase, self.effect in _BREAKS[direction], detail, self.effect)


def _place(where: tuple[str, ...]) -> str:
    text = ""
    for part in where:
        text += part if part.startswith("[") else (f".{part}" if text else part)
    return text


class _Comparison:
    """Compares two JSON Schemas, each with its own root (for ``$ref``), and lists what differs."""

    def __init__(self, old: Any, new: Any) -> None:
        self.roots = (old, new)
        self.found: list[_Finding] = []
        self.same_roots = old == new  # then equal parts mean the same even where they hold a $ref

    def same(self, old: Any, new: Any) -> bool:
        """Equal, and meaning the same: a $ref points into each schema's own root, which may differ."""
        return old == new and (self.same_roots or not _mentions_ref(old))

    def run(self) -> list[_Finding]:
        self.compare(self.roots[0], self.roots[1], (), (frozenset(), frozenset()), 0)
        return self.found

    def note(self, where: tuple[str, ...], what: str, effect: Effect, detail: str | None = None) -> None:
        self.found.append(_Finding(where, what, effect, detail))

    def compare(self, old: Any, new: Any, where: tuple[str, ...], seen: tuple[frozenset[str], frozenset[str]],
                depth: int) -> None:
        old, seen_old = _normal(old, self.roots[0], seen[0])
        new, seen_new = _normal(new, self.roots[1], seen[1])
        if self.same(old, new) or depth > _MAX_DEPTH:
            return
        seen = (seen_old, seen_new)
        if ("const" in old) != ("const" in new) and ("enum" in old or "enum" in new):
            old, new = _const_as_enum(old), _const_as_enum(new)  # one value against a list: compare as lists
        null_changed = self._type(old, new, where)
        self._enum(old, new, where, null_changed)
        self._const(old, new, where)
        self._bounds(old, new, where)
        self._multiple(old, new, where)
        for key in ("pattern", "format"):
            self._text_rule(key, old.get(key), new.get(key), where)
        if old.get("uniqueItems") != new.get("uniqueItems"):
            self.note(where, "items must now be unique" if new.get("uniqueItems") else "items no longer unique",
                      _NARROWED if new.get("uniqueItems") else _WIDENED)
        self._object(old, new, where, seen, depth)
        self._array(old, new, where, seen, depth)
        self._branches(old, new, where, seen, depth)
        for key in _ANNOTATIONS:
            if old.get(key, _MISSING) != new.get(key, _MISSING):
                self._annotation(key, old.get(key, _MISSING), new.get(key, _MISSING), where)
        for key in sorted((set(old) | set(new)) - _HANDLED):
            if old.get(key) != new.get(key):
                self.note(where, f"keyword '{key}' changed (not analysed)", _CHANGED,
                          f"mcpnb does not analyse '{key}'; check by hand what the change does to existing clients.")

    def _type(self, old: dict[str, Any], new: dict[str, Any], where: tuple[str, ...]) -> bool:
        """Notes a change of the type set; whether null's place in it changed."""
        a, b = _types(old), _types(new)
        if a == b:
            return False
        lost, gained = _uncovered(a, b), _uncovered(b, a)
        if not lost and not gained:
            return False
        effect: Effect = _CHANGED if lost and gained else _NARROWED if lost else _WIDENED
        word = {_CHANGED: "changed", _NARROWED: "narrowed", _WIDENED: "widened"}[effect]
        self.note(where, f"type {word}: {_type_text(a)} -> {_type_text(b)}", effect)
        return ("null" in (a or ())) != ("null" in (b or ()))

    def _enum(self, old: dict[str, Any], new: dict[str, Any], where: tuple[str, ...], null_changed: bool) -> None:
        a, b = old.get("enum"), new.get("enum")
        if a == b:
            return
        if not isinstance(a, list) or not isinstance(b, list):
            if isinstance(b, list):
                self.note(where, "enum added: only " + ", ".join(shown(v) for v in b), _NARROWED)
            elif isinstance(a, list):
                self.note(where, "enum removed: any value of its type", _WIDENED)
            return
        keys_a, keys_b = {_canon(v) for v in a}, {_canon(v) for v in b}
        skip = {_canon(None)} if null_changed else set()
        removed = [v for v in a if _canon(v) not in keys_b and _canon(v) not in skip]
        added = [v for v in b if _canon(v) not in keys_a and _canon(v) not in skip]
        if removed:
            self.note(where, "enum values removed: " + ", ".join(shown(v) for v in removed), _NARROWED)
        if added:
            self.note(where, "enum values added: " + ", ".join(shown(v) for v in added), _WIDENED)

    def _const(self, old: dict[str, Any], new: dict[str, Any], where: tuple[str, ...]) -> None:
        if "const" not in old and "const" not in new or old.get("const") == new.get("const"):
            return
        if "const" not in old:
            self.note(where, f"const added: {shown(new['const'])}", _NARROWED)
        elif "const" not in new:
            self.note(where, f"const removed (was {shown(old['const'])})", _WIDENED)
        else:
            self.note(where, f"const changed: {shown(old['const'])} -> {shown(new['const'])}", _CHANGED)

    def _bounds(self, old: dict[str, Any], new: dict[str, Any], where: tuple[str, ...]) -> None:
        for key in (*_LOWER, *_UPPER):
            a, b = old.get(key), new.get(key)
            if a == b:
                continue
            lower = key in _LOWER
            if not all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in (a, b)):
                self.note(where, f"{key} changed: {shown(a)} -> {shown(b)}", _CHANGED)
            elif a is None:
                self.note(where, f"{key} added: {shown(b)}", _NARROWED)
            elif b is None:
                self.note(where, f"{key} removed (was {shown(a)})", _WIDENED)
            elif (b > a) == lower:
                self.note(where, f"{key} {'raised' if lower else 'lowered'}: {shown(a)} -> {shown(b)}", _NARROWED)
            else:
                self.note(where, f"{key} {'lowered' if lower else 'raised'}: {shown(a)} -> {shown(b)}", _WIDENED)

    def _multiple(self, old: dict[str, Any], new: dict[str, Any], where: tuple[str, ...]) -> None:
        a, b = old.get("multipleOf"), new.get("multipleOf")
        if a == b:
            return
        if a is None:
            self.note(where, f"multipleOf added: {shown(b)}", _NARROWED)
        elif b is None:
            self.note(where, f"multipleOf removed (was {shown(a)})", _WIDENED)
        else:
            effect: Effect = _WIDENED if _divides(b, a) else _NARROWED if _divides(a, b) else _CHANGED
            self.note(where, f"multipleOf changed: {shown(a)} -> {shown(b)}", effect)

    def _text_rule(self, key: str, a: Any, b: Any, where: tuple[str, ...]) -> None:
        if a == b:
            return
        if a is None:
            self.note(where, f"{key} added: {shown(b)}", _NARROWED)
        elif b is None:
            self.note(where, f"{key} removed (was {shown(a)})", _WIDENED)
        else:
            self.note(where, f"{key} changed: {shown(a)} -> {shown(b)}", _CHANGED)

    def _object(self, old: dict[str, Any], new: dict[str, Any], where: tuple[str, ...],
                seen: tuple[frozenset[str], frozenset[str]], depth: int) -> None:
        props_a, props_b = old.get("properties") or {}, new.get("properties") or {}
        required_a, required_b = set(old.get("required") or ()), set(new.get("required") or ())
        names = [*props_a, *(n for n in props_b if n not in props_a)]
        names += sorted((required_a | required_b) - set(names))
        for name in names:
            here = (*where, name)
            had, has = name in props_a or name in required_a, name in props_b or name in required_b
            if had and not has:
                self.note(here, "removed", _REMOVED)
            elif has and not had:
                self.note(here, "added", _ADDED_REQUIRED if name in required_b else _ADDED_OPTIONAL)
            else:
                if name in required_b and name not in required_a:
                    self.note(here, "now required", _NOW_REQUIRED)
                elif name in required_a and name not in required_b:
                    self.note(here, "now optional", _NOW_OPTIONAL)
                self.compare(props_a.get(name, {}), props_b.get(name, {}), here, seen, depth + 1)
        self._additional(old.get("additionalProperties"), new.get("additionalProperties"), where, seen, depth)

    def _additional(self, a: Any, b: Any, where: tuple[str, ...], seen: tuple[frozenset[str], frozenset[str]],
                    depth: int) -> None:
        """additionalProperties: open (absent or true), a schema, or closed (false)."""
        open_a, open_b = a is None or a is True, b is None or b is True
        if isinstance(a, dict) and isinstance(b, dict):
            self.compare(a, b, (*where, "*"), seen, depth + 1)
            return
        if a == b or (open_a and open_b):
            return
        rank_a, rank_b = (2 if open_a else 0 if a is False else 1), (2 if open_b else 0 if b is False else 1)
        what = "other properties" if where else "undeclared properties"
        if rank_b < rank_a:
            self.note(where, f"no longer accepts {what}" if b is False else f"{what} now limited by a schema", _CLOSED)
        else:
            self.note(where, f"now accepts {what}" + ("" if open_b else " that match a schema"), _OPENED)

    def _array(self, old: dict[str, Any], new: dict[str, Any], where: tuple[str, ...],
               seen: tuple[frozenset[str], frozenset[str]], depth: int) -> None:
        items_a, items_b = old.get("items"), new.get("items")
        tuple_a = old.get("prefixItems", items_a if isinstance(items_a, list) else None)
        tuple_b = new.get("prefixItems", items_b if isinstance(items_b, list) else None)
        if isinstance(tuple_a, list) or isinstance(tuple_b, list):
            tuple_a, tuple_b = tuple_a or [], tuple_b or []
            for number in range(max(len(tuple_a), len(tuple_b))):
                self.compare(tuple_a[number] if number < len(tuple_a) else {},
                             tuple_b[number] if number < len(tuple_b) else {}, (*where, f"[{number}]"), seen,
                             depth + 1)
        items_a = None if isinstance(items_a, list) else items_a
        items_b = None if isinstance(items_b, list) else items_b
        if items_a is not None or items_b is not None:
            self.compare({} if items_a is None else items_a, {} if items_b is None else items_b, (*where, "[]"),
                         seen, depth + 1)

    def _branches(self, old: dict[str, Any], new: dict[str, Any], where: tuple[str, ...],
                  seen: tuple[frozenset[str], frozenset[str]], depth: int) -> None:
        for key in ("anyOf", "oneOf", "allOf"):
            a, b = old.get(key), new.get(key)
            if self.same(a, b):
                continue
            if isinstance(a, list) and isinstance(b, list):
                keys_a, keys_b = [_canon(x) for x in a], [_canon(x) for x in b]
                if len(a) == len(b):
                    for number, (x, y) in enumerate(zip(a, b)):
                        self.compare(x, y, (*where, f"{key}[{number}]"), seen, depth + 1)
                    continue
                grown, shrunk = set(keys_a) <= set(keys_b), set(keys_b) <= set(keys_a)
                if grown or shrunk:
                    wider = grown != (key == "allOf")
                    self.note(where, f"{key} option {'added' if grown else 'removed'}",
                              _WIDENED if wider else _NARROWED)
                    continue
            self.note(where, f"keyword '{key}' changed (not analysed)", _CHANGED,
                      f"mcpnb does not analyse this '{key}' change; check by hand what it does to existing clients.")

    def _annotation(self, key: str, a: Any, b: Any, where: tuple[str, ...]) -> None:
        if key == "default" and where:
            what = (f"default added: {shown(b)}" if a is _MISSING else "default removed" if b is _MISSING
                    else f"default changed: {shown(a)} -> {shown(b)}")
            now, was = (shown(v) if v is not _MISSING else "no default" for v in (b, a))
            self.note(where, what, _NEUTRAL, f"Calls that leave it out now get {now} instead of {was}.")
        elif key in ("title", "description", "$comment"):
            a, b = (None if v is _MISSING else v for v in (a, b))
            self.note(where, f"{key} changed", _NEUTRAL, f"{was_now(a, b)} {WORDING_ONLY}")
        else:
            a, b = ("none" if v is _MISSING else shown(v) for v in (a, b))
            self.note(where, f"{key} changed: {a} -> {b}", _NEUTRAL)


def _normal(schema: Any, root: Any, seen: frozenset[str]) -> tuple[dict[str, Any], frozenset[str]]:
    """A schema as compared: local $refs resolved, nullable unions read as null in the type, bare-type unions
    as a type list. ``seen`` holds the refs followed on the way here (a recursive one is left as it is)."""
    if schema is True or schema is None:
        return {}, seen
    if schema is False:
        return {"not": {}}, seen
    if not isinstance(schema, dict):
        return {"$invalid": schema}, seen
    schema, seen = followed(schema, root, seen)
    schema = dict(schema)
    if schema.pop("nullable", None) is True:
        schema = _with_null(schema)
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if not isinstance(branches, list) or not branches:
            continue
        resolved = [_normal(branch, root, seen)[0] for branch in branches]
        bare = [set(b) <= {"type", *_ANNOTATIONS} and "type" in b for b in resolved]
        nulls = [i for i, b in enumerate(resolved) if bare[i] and _types(b) == {"null"}]
        others = [b for i, b in enumerate(resolved) if i not in nulls]
        outer = {k: v for k, v in schema.items() if k != key}
        if nulls and len(others) == 1:
            schema = _with_null({**others[0], **outer})
        elif all(bare) and "type" not in outer:
            names = set().union(*(_types(b) or set() for b in resolved))
            schema = {**outer, "type": [t for t in _TYPE_ORDER if t in names] + sorted(names - set(_TYPE_ORDER))}
        else:
            schema = {**outer, key: resolved}
    return schema, seen


def _const_as_enum(schema: dict[str, Any]) -> dict[str, Any]:
    if "const" not in schema or "enum" in schema:
        return schema
    rest = {k: v for k, v in schema.items() if k != "const"}
    return {**rest, "enum": [schema["const"]]}


def _mentions_ref(value: Any) -> bool:
    if isinstance(value, dict):
        return "$ref" in value or any(_mentions_ref(v) for v in value.values())
    return isinstance(value, list) and any(_mentions_ref(v) for v in value)


def _with_null(schema: dict[str, Any]) -> dict[str, Any]:
    schema = dict(schema)
    types = _types(schema)
    if types is not None:
        schema["type"] = [t for t in _TYPE_ORDER if t in types | {"null"}] + sorted(types - set(_TYPE_ORDER))
    if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    if "const" in schema:
        schema["enum"] = [schema.pop("const"), None]
    return schema


def _types(schema: dict[str, Any]) -> set[str] | None:
    """The schema's type set; None when it has none (every type is accepted)."""
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return {t for t in declared if isinstance(t, str)}
    return None


def _uncovered(a: set[str] | None, b: set[str] | None) -> set[str]:
    """The types of ``a`` that ``b`` does not accept (integer is within number; None accepts all)."""
    if b is None:
        return set()
    if a is None:
        return {"any"}
    return {t for t in a if t not in b and not (t == "integer" and "number" in b)}


def _type_text(types: set[str] | None) -> str:
    if types is None:
        return "any"
    return "|".join([t for t in _TYPE_ORDER if t in types] + sorted(types - set(_TYPE_ORDER)))


def _divides(a: Any, b: Any) -> bool:
    """Whether every multiple of ``b`` is a multiple of ``a`` (``b / a`` is a whole number)."""
    try:
        ratio = b / a
    except (TypeError, ZeroDivisionError):
        return False
    return abs(ratio - round(ratio)) < 1e-9

