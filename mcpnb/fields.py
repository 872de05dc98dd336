"""What one JSON Schema property means for a form: its kind, how typed text
becomes a value, and the inline message when a value breaks a rule.

Shared by the widget forms and the stdin prompts, so both check the same
things (type, enum, minimum/maximum, minLength/maxLength, pattern, items).
Whole-object rules are left to ``mcpnb.schema.check_arguments`` on submit.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["field_kind", "unwrap_nullable", "enum_options", "parse_text_value", "check_value"]


def unwrap_nullable(spec: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """``anyOf: [X, {"type": "null"}]`` or ``type: [X, "null"]`` -> (X, True); else (spec, False)."""
    for key in ("anyOf", "oneOf"):
        options = spec.get(key)
        if isinstance(options, list) and any(o.get("type") == "null" for o in options if isinstance(o, dict)):
            rest = [o for o in options if isinstance(o, dict) and o.get("type") != "null"]
            if len(rest) == 1:
                merged = {k: v for k, v in spec.items() if k != key}
                return {**rest[0], **merged}, True
    kind = spec.get("type")
    if isinstance(kind, list) and "null" in kind:
        rest = [k for k in kind if k != "null"]
        if len(rest) == 1:
            return {**spec, "type": rest[0]}, True
    return spec, False


def enum_options(spec: dict[str, Any]) -> list[tuple[str, Any]] | None:
    """(label, value) pairs for an enum (``enum``, or ``oneOf``/``anyOf`` of ``const`` with titles)."""
    if isinstance(spec.get("enum"), list):
        names = spec.get("enumNames") if isinstance(spec.get("enumNames"), list) else None
        values = spec["enum"]
        return [(str(names[i]) if names and i < len(names) else str(v), v) for i, v in enumerate(values)]
    for key in ("oneOf", "anyOf"):
        options = spec.get(key)
        if isinstance(options, list) and options and all(isinstance(o, dict) and "const" in o for o in options):
            return [(str(o.get("title", o["const"])), o["const"]) for o in options]
    return None


def field_kind(spec: dict[str, Any]) -> str:
    """One of: enum, multi-enum, boolean, integer, number, string, list, object, json."""
    if enum_options(spec) is not None:
        return "enum"
    kind = spec.get("type")
    if kind == "array":
        items = spec.get("items") if isinstance(spec.get("items"), dict) else {}
        if enum_options(items) is not None:
            return "multi-enum"
        if items.get("type") in ("string", "integer", "number"):
            return "list"
        return "json"
    if kind == "object":
        return "object" if isinstance(spec.get("properties"), dict) and spec["properties"] else "json"
    if kind in ("boolean", "integer", "number", "string"):
        return kind
    return "json"


def parse_text_value(text: str, spec: dict[str, Any]) -> tuple[Any, str | None]:
    """Typed text -> (value, None), or (None, the problem in a few words)."""
    spec, _ = unwrap_nullable(spec)
    kind = field_kind(spec)
    text = text.strip() if kind != "string" else text
    try:
        if kind == "integer":
            value: Any = int(text)
        elif kind == "number":
            value = float(text)
            value = int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value
        elif kind == "boolean":
            lowered = text.lower()
            if lowered not in ("y", "yes", "true", "1", "n", "no", "false", "0"):
                return None, "answer yes or no"
            value = lowered in ("y", "yes", "true", "1")
        elif kind == "enum":
            options = enum_options(spec) or []
            matches = [v for label, v in options if text in (label, str(v))]
            if not matches:
                return None, "choose one of " + ", ".join(label for label, _ in options)
            value = matches[0]
        elif kind in ("list", "multi-enum"):
            value = json.loads(text) if text.startswith("[") else [t.strip() for t in text.split(",") if t.strip()]
            item = spec.get("items") or {}
            if item.get("type") in ("integer", "number"):
                value = [parse_text_value(str(v), item)[0] for v in value]
        elif kind in ("object", "json"):
            value = json.loads(text)
        else:
            value = text
    except (ValueError, TypeError) as exc:
        names = {"integer": "a whole number", "number": "a number"}
        return None, f"not {names[kind]}" if kind in names else f"not valid JSON ({exc})"
    problem = check_value(value, spec)
    return (None, problem) if problem else (value, None)


def check_value(value: Any, spec: dict[str, Any]) -> str | None:
    """The first rule ``value`` breaks, in words, or None."""
    spec, nullable = unwrap_nullable(spec)
    if value is None:
        return None if nullable else "a value is needed"
    options = enum_options(spec)
    if options is not None and value not in [v for _, v in options]:
        return "choose one of " + ", ".join(label for label, _ in options)
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        for key, test, words in (("minimum", lambda v, m: v < m, "at least"),
                                 ("maximum", lambda v, m: v > m, "at most"),
                                 ("exclusiveMinimum", lambda v, m: v <= m, "more than"),
                                 ("exclusiveMaximum", lambda v, m: v >= m, "less than")):
            limit = spec.get(key)
            if isinstance(limit, (int, float)) and not isinstance(limit, bool) and test(value, limit):
                return f"must be {words} {limit:g}"
        return None
    if isinstance(value, str):
        if isinstance(spec.get("minLength"), int) and len(value) < spec["minLength"]:
            return f"must be at least {spec['minLength']} characters"
        if isinstance(spec.get("maxLength"), int) and len(value) > spec["maxLength"]:
            return f"must be at most {spec['maxLength']} characters"
        pattern = spec.get("pattern")
        if isinstance(pattern, str):
            try:
                if not re.search(pattern, value):
                    return f"must match the pattern {pattern}"
            except re.error:
                return None  # a pattern Python cannot read is left to the server
        return None
    if isinstance(value, list):
        if isinstance(spec.get("minItems"), int) and len(value) < spec["minItems"]:
            return f"needs at least {spec['minItems']} items"
        if isinstance(spec.get("maxItems"), int) and len(value) > spec["maxItems"]:
            return f"takes at most {spec['maxItems']} items"
        item = spec.get("items")
        if isinstance(item, dict):
            for number, element in enumerate(value):
                problem = check_value(element, item)
                if problem:
                    return f"item {number + 1}: {problem}"
    return None
