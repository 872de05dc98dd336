"""Checking tool arguments against the tool's input schema, before sending.

Servers built on SDK 2.x no longer validate arguments for you, and a bad call
that reaches a server comes back as a wall of pydantic text, or worse, quietly
does the wrong thing. So ``Server.call`` checks first and names each bad field:

======================================  ==========================================
what is wrong                           what the person reads
======================================  ==========================================
a required argument is missing          ``b: required, missing``
a value has the wrong type/enum/range   ``a: 'x' is not of type 'integer'``
a nested value is wrong                 ``filters.status: 'x' is not one of [...]``
an argument the tool does not declare   ``staus: not an argument of this tool
                                        (did you mean 'status'?)``
======================================  ==========================================

The last rule is stricter than JSON Schema, where undeclared properties pass
unless ``additionalProperties`` is false: a typo in an optional argument would
otherwise be silently ignored by the server. It applies only when the schema
declares properties and does not allow others explicitly.
``server.call(..., validate=False)`` sends arguments unchecked.

A schema comes from the server, so it is not trusted with work: one that
refers outside itself (a ``$ref`` to a URL or a file, which would be fetched)
is never compiled, nor one over ``MAX_SCHEMA_CHARS``, one whose references
loop, one with a ``$ref`` that refers to nothing in it, or one that is not
valid JSON Schema. Such a tool's arguments go out unchecked, and ``unusable(schema)`` says why (the session reports it once).
Compiling happens once per schema, and the session does it off its loop.
"""

from __future__ import annotations

import difflib
import json
import math
import sys
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

__all__ = ["check_arguments", "to_json", "prepare", "prepared", "import_soon", "unusable", "MAX_SCHEMA_CHARS", "pointed", "referred", "followed",
           "dangling_references"]

# The largest input schema that is compiled (as JSON text); compiling 5 MB took about 10 s.
MAX_SCHEMA_CHARS = 200_000

_validators: dict[int, tuple[Mapping[str, Any], Any, Any, str | None]] = {}


def prepared(schema: Mapping[str, Any]) -> bool:
    """Whether ``schema``'s validators are built (else the first check builds them)."""
    cached = _validators.get(id(schema))
    return cached is not None and cached[0] is schema


def prepare(schema: Mapping[str, Any]) -> None:
    """Build ``schema``'s validators now (in a worker thread, say)."""
    _validators_for(schema)


_import_started = threading.Lock()  # taken by the first import_soon(), never given back


def import_soon() -> None:
    """Start importing jsonschema on a thread of its own (once per process), for a connection to call
    while it waits for its server: the second or so that ``import mcpnb`` leaves out is then spent
    meanwhile, not in the first call's check (which waits for an import under way, never runs it twice)."""
    if "jsonschema" in sys.modules or not _import_started.acquire(blocking=False):
        return
    threading.Thread(target=_import_validators, name="mcpnb-import-jsonschema", daemon=True).start()


def _import_validators() -> None:
    try:
        import fastjsonschema  # noqa: F401
        import jsonschema  # noqa: F401
    except Exception:  # noqa: S110  (the first check imports them again, and says what is wrong)
        pass


def unusable(schema: Mapping[str, Any] | None) -> str | None:
    """Why arguments cannot be checked against ``schema`` (None: they can)."""
    if not schema:
        return None
    return _validators_for(schema)[2]


def _outside_reference(value: Any) -> str | None:
    """The first ``$ref`` (or ``$dynamicRef``) that points outside the schema itself."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            for key in ("$ref", "$dynamicRef"):
                ref = item.get(key)
                if isinstance(ref, str) and not ref.startswith("#"):
                    return ref
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _refusal(schema: Mapping[str, Any]) -> str | None:
    """Why a schema is not compiled at all, before any work is done on it."""
    try:
        size = len(json.dumps(schema, default=str))
    except (ValueError, RecursionError):
        return "it cannot be read as JSON"
    if size > MAX_SCHEMA_CHARS:
        return f"it is {size:,} characters long (schemas over {MAX_SCHEMA_CHARS:,} are not compiled)"
    outside = _outside_reference(schema)
    if outside is not None:
        return f"it refers to {outside[:200]!r} outside itself, which mcpnb never fetches"
    dangling = dangling_references(schema)
    if dangling:
        where, ref = dangling[0]
        return f"its $ref {ref[:200]!r} (at {where[:200] or '/'}) refers to nothing in it"
    return None


# Keywords whose values are data, not schemas (a "$ref" key inside them is no reference), and those whose
# values map names to schemas (a name there is no keyword: a property may be called "default").
_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples"})
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})


def dangling_references(schema: Any) -> list[tuple[str, str]]:
    """Each local ``$ref`` in ``schema`` that refers to nothing in it, as (JSON Pointer of the object holding
    it, the ref), in document order. Parts with an ``$id`` of their own are skipped: their refs are theirs."""
    refs: list[tuple[str, str]] = []
    anchors: set[str] = set()
    stack: list[tuple[Any, str, bool]] = [(schema, "", False)]
    while stack:
        node, path, names = stack.pop()
        if isinstance(node, list):
            stack.extend((item, f"{path}/{at}", False) for at, item in reversed(list(enumerate(node))))
        elif isinstance(node, Mapping):
            if names:
                stack.extend((value, f"{path}/{_escaped(key)}", False) for key, value in reversed(node.items()))
                continue
            if path and isinstance(node.get("$id"), str):
                continue
            anchors.update(node[key] for key in ("$anchor", "$dynamicAnchor") if isinstance(node.get(key), str))
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#"):
                refs.append((path, ref))
            stack.extend((value, f"{path}/{_escaped(key)}", key in _SCHEMA_MAPS)
                         for key, value in reversed(node.items()) if key not in _DATA_KEYWORDS)
    return [(path, ref) for path, ref in refs if not _resolves(schema, ref, anchors)]


def _resolves(schema: Any, ref: str, anchors: set[str]) -> bool:
    fragment = unquote(ref[1:])
    if fragment and not fragment.startswith("/"):  # "#name": a plain-name fragment, an $anchor's
        return fragment in anchors
    return referred(schema, ref) is not None


def _escaped(key: Any) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _validators_for(schema: Mapping[str, Any]) -> tuple[Any, Any, str | None]:
    """(fast check, detailed validator) for a schema object, built once (building costs far more).

    Checking is on the path of every call, so a schema is also compiled to
    plain Python with fastjsonschema. Its verdict is only a shortcut: what it
    rejects, or cannot compile, goes to jsonschema, which alone words the
    problems, so a call is never refused unless jsonschema finds a problem.
    """
    cached = _validators.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1], cached[2], cached[3]
    # Lazily: importing jsonschema costs about a second (its format checkers build a grammar at import),
    # which `import mcpnb` should not pay; a connection starts it early (import_soon), this waits for it.
    import fastjsonschema
    import jsonschema
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    fast = detailed = None
    why = _refusal(schema)
    if why is None:
        try:
            cls = validator_for(schema, default=jsonschema.Draft202012Validator)
            cls.check_schema(schema)
            detailed = cls(schema)
        except SchemaError as error:  # a broken schema is the server's problem; do not block the call
            why = f"it is not a valid JSON Schema ({error.message[:200]})"
        except RecursionError:
            why = "its references loop"
    if detailed is not None:
        try:
            fast = fastjsonschema.compile(dict(schema), use_default=False, use_formats=False)
        except RecursionError:
            detailed, why = None, "its references loop"
        except Exception:  # a schema it cannot compile is checked by jsonschema alone
            fast = None
    if len(_validators) > 4096:
        _validators.clear()
    _validators[id(schema)] = (schema, fast, detailed, why)
    return fast, detailed, why


def check_arguments(schema: Mapping[str, Any] | None, arguments: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every problem with ``arguments`` under ``schema``, as (field, message) pairs."""
    if not schema:
        return []
    fast, detailed, why = _validators_for(schema)
    if why is not None:
        return []  # unusable for checking: the arguments go out as they are (see unusable())
    problems: list[tuple[str, str]] = []
    properties = schema.get("properties")
    declares_only_these = (
        isinstance(properties, Mapping)
        and properties
        and "additionalProperties" not in schema
        and "patternProperties" not in schema
    )
    if declares_only_these:
        for name in arguments:
            if name not in properties:
                close = difflib.get_close_matches(name, list(properties), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f" (it takes: {', '.join(properties)})"
                problems.append((name, f"not an argument of this tool{hint}"))
    if detailed is None:
        return problems
    if fast is not None:
        try:
            fast(arguments)
            return problems
        except Exception:  # a rejection (or a crash in generated code): ask jsonschema why
            pass
    from referencing.exceptions import Unresolvable  # loaded with jsonschema by _validators_for

    try:
        problems += [_describe(error) for error in detailed.iter_errors(dict(arguments))]
    except RecursionError:  # references that loop on this value: leave it to the server
        _validators[id(schema)] = (schema, None, None, "its references loop")
    except Unresolvable as error:  # a reference the checks before compiling did not catch (one under an $id)
        why = f"a $ref in it refers to nothing ({str(getattr(error, 'ref', ''))[:200]!r})"
        _validators[id(schema)] = (schema, None, None, why)
    return sorted(set(problems), key=lambda problem: problem[0])


def _describe(error: Any) -> tuple[str, str]:
    path = ".".join(str(part) for part in error.absolute_path)
    if error.validator == "required":
        missing = [name for name in error.validator_value if name not in (error.instance or {})]
        field = ".".join(filter(None, [path, missing[0] if missing else ""])) or "(arguments)"
        return field, "required, missing"
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        allowed = set((error.schema or {}).get("properties", {}))
        extra = [name for name in error.instance if name not in allowed]
        field = ".".join(filter(None, [path, extra[0] if extra else ""])) or "(arguments)"
        return field, "not an argument of this tool"
    if error.validator in ("anyOf", "oneOf") and error.context:
        # "x is not valid under any of the given schemas" names nothing; say what the
        # closest branch wanted instead (an enum's values, a type), noting null if allowed.
        nullable = any(branch.get("type") == "null" for branch in error.validator_value if isinstance(branch, dict))
        relevant = [e for e in error.context if not (e.validator == "type" and e.validator_value == "null")]
        from jsonschema.exceptions import best_match  # loaded already: this error came from jsonschema

        closest = best_match(relevant or error.context)
        message = closest.message + (" (or null)" if nullable else "")
    else:
        message = error.message
    if len(message) > 200:
        message = message[:200] + "..."
    return path or "(arguments)", message


def to_json(value: Any) -> Any:
    """``value`` with numpy and pandas scalars, dates, sets and NaN made JSON-ready."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(v) for v in value]
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and getattr(value, "shape", None) == ():
        return to_json(item())
    tolist = getattr(value, "tolist", None)  # numpy arrays, pandas Series
    if callable(tolist):
        return to_json(tolist())
    isoformat = getattr(value, "isoformat", None)  # datetime, date, pandas Timestamp
    if callable(isoformat):
        return isoformat()
    return value


def pointed(root: Any, pointer: str) -> Any:
    """The part of ``root`` a JSON Pointer names (RFC 6901: "" is the whole, "/$defs/Order"), or None."""
    return _walk(root, pointer.split("/")[1:] if pointer else [])


def referred(root: Any, ref: Any) -> Any:
    """The part of ``root`` a local ``$ref`` names ("#", "#/$defs/Order", percent-encoded as a URI
    fragment), or None (for a reference to another document too)."""
    if not isinstance(ref, str) or not ref.startswith("#"):
        return None
    return _walk(root, [unquote(part) for part in ref[1:].split("/")[1:]] if ref[1:] else [])


def followed(node: Any, root: Any, seen: frozenset[str] = frozenset()) -> tuple[Any, frozenset[str]]:
    """``node`` with its local ``$ref`` followed (its own keywords win over the target's), and the refs
    followed so far (``seen``: a ref met again, a recursive one, is left as it is)."""
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        target = referred(root, ref)
        if ref in seen or not isinstance(target, dict):
            break
        seen = seen | {ref}
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node, seen


def _walk(node: Any, parts: list[str]) -> Any:
    for part in parts:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node
