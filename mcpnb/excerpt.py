"""An excerpt of a JSON value: its shape and its first few kilobytes, secrets masked.

The trace keeps large messages this way (``mcpnb.trace``): a 100,000-row
result becomes its envelope, the start of each long string and the first
items of each long list, each cut marked with how much was left out, about
``budget`` characters in all. The walk stops when the budget is spent, so an
excerpt costs the same for a 10 KB message and a 100 MB one.

Each string is masked whole before it is cut, so a secret that straddles the
cut is never half shown. The protocol's own small fields (ids, ``_meta``,
``isError``, ``requestState`` ...) come first in each object: a cut message
still says what it was and which request it answers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["excerpt", "SHORT"]

# A string this short is kept whole even when the budget is spent (keys, ids, tool names).
SHORT = 80
# The most of one string kept, so that one long text does not use the whole budget.
STRING_HEAD = 1024
MAX_DEPTH = 32
# Kept first in every object (names of the JSON-RPC envelope and MCP's small protocol fields).
_FIRST = ("jsonrpc", "id", "method", "name", "uri", "code", "message", "_meta", "progressToken", "requestId",
          "requestState", "resultType", "inputRequests", "isError", "nextCursor")


def excerpt(value: Any, budget: int, redact: Callable[[str], str] = str) -> Any:
    """``value`` (JSON data: dicts, lists, strings, numbers) cut to about ``budget`` characters of JSON,
    every string and key passed through ``redact``. Cuts read ``… (N more characters)``,
    ``… (N more items)`` and ``"…": "(N more keys)"``."""
    return _Cutter(budget, redact).value(value, 0)


class _Cutter:
    def __init__(self, budget: int, redact: Callable[[str], str]) -> None:
        self.left = budget
        self.redact = redact

    def value(self, value: Any, depth: int) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if value is None or isinstance(value, (bool, int, float)):
            self.left -= len(str(value)) + 1
            return value
        if depth >= MAX_DEPTH and isinstance(value, (Mapping, list, tuple)):
            self.left -= 20
            return "… (nested deeper)"
        if isinstance(value, Mapping):
            return self.mapping(value, depth)
        if isinstance(value, (list, tuple)):
            return self.items(value, depth)
        return self.text(str(value))  # not JSON (a URL object, a date): as its text

    def text(self, text: str) -> str:
        room = max(min(self.left, STRING_HEAD), SHORT)
        masked = self.redact(text)  # masked whole before any cut: no secret is half kept
        if len(masked) <= room:
            self.left -= len(masked) + 3
            return masked
        self.left -= room + 30
        return f"{masked[:room]}… ({len(masked) - room:,} more characters)"

    def mapping(self, mapping: Mapping[Any, Any], depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in _FIRST:
            if key in mapping:
                self.left -= len(key) + 4
                out[key] = self.value(mapping[key], depth + 1)
        for key, item in mapping.items():
            if key in out:
                continue
            if self.left <= 0:
                out["…"] = f"({len(mapping) - len(out):,} more keys)"
                break
            name = self.redact(str(key))
            self.left -= len(name) + 4
            out[name] = self.value(item, depth + 1)
        return out

    def items(self, values: list[Any] | tuple[Any, ...], depth: int) -> list[Any]:
        out: list[Any] = []
        for index, item in enumerate(values):
            if self.left <= 0:
                out.append(f"… ({len(values) - index:,} more items)")
                break
            self.left -= 2
            out.append(self.value(item, depth + 1))
        return out
