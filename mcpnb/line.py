"""The ``%mcp`` line syntax, readable and writable without IPython.

A line is split like a shell would (``text='hello world'`` is one word, JSON
in quotes stays whole); arguments are ``key=value`` words whose values are
JSON where they parse and strings otherwise. ``call_line`` writes the line
that makes a given call, and ``parse_arguments`` reads it back, so "Copy as
code" in the explorer and the magics agree by construction.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Any

from .errors import ConfigError

__all__ = ["split_words", "parse_arguments", "call_line", "KEY_VALUE_HINT"]

KEY_VALUE_HINT = "write arguments as name=value, e.g. limit=10."


def split_words(line: str) -> list[str]:
    """Split a line shell-style; ConfigError for unbalanced quotes."""
    try:
        return shlex.split(line)
    except ValueError as error:
        raise ConfigError(f"Cannot read the line: {error}.", hint="check the quotes.") from None


def parse_arguments(words: list[str]) -> dict[str, Any]:
    """``key=value`` words as arguments: values that parse as JSON are JSON, the rest strings."""
    arguments: dict[str, Any] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise ConfigError(f"{word!r} is not key=value.", hint=KEY_VALUE_HINT)
        try:
            arguments[key] = json.loads(value)
        except ValueError:
            arguments[key] = value
    return arguments


def call_line(server: str, tool: str, arguments: Mapping[str, Any]) -> str:
    """The ``%mcp call`` line that makes this call (``parse_arguments`` reads it back)."""
    words = [f"{server}.{tool}"]
    for key, value in arguments.items():
        text = value if isinstance(value, str) and not _reads_as_json(value) else json.dumps(value)
        words.append(shlex.quote(f"{key}={text}"))
    return "%mcp call " + " ".join(words)


def _reads_as_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
