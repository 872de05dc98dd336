"""Results as pandas DataFrames: every conversion rule lives here.

``ToolResult.df`` and ``ResourceResult.df`` call into this module. The rules,
tried in this order (the first that applies wins):

=====  ==========================================  =========================================
rule   the result holds                            the table
=====  ==========================================  =========================================
1      an error (``isError``)                      none: NotTabular, quoting the error
2      structured content: a list of records       one row per record
3      structured content: a list of scalars       one column, ``value``
4      structured content: an envelope, a dict     that list, by rules 2-3 (a list of scalars
       holding one list and at most 3 plain        is named after its key); the other keys go
       values (``{"items": [...], "total": 9}``)   to ``df.attrs["mcp"]["envelope"]``
5      structured content: a dict of equal-length  one column per key
       lists of plain values (a dict of columns)
6      structured content: any other dict (a       one row; lists stay as cells (a dict of
       record, even one with a list field)         lists of unequal length: NotTabular)
7      text content that is JSON                   the parsed value, by rules 2-6
8      text content that is NDJSON                 one row per line
9      text that is CSV or TSV (sniffed), or an    parsed by pandas
       embedded ``text/csv`` resource
10     several text blocks, each a JSON object     one row per block (each a JSON list:
                                                   the lists concatenated)
11     anything else (images, prose, mixed lists)  none: NotTabular, saying what it holds
=====  ==========================================  =========================================

Into and out of other tables: ``rows_as_arguments`` reads ``map()``'s input
(a DataFrame's rows become argument dicts, missing values left out), and
``listing_frame`` makes a listing a table (``Listing.df``, ``%mcp tools``):
names, titles, descriptions, then per kind the parameters and annotation flags
(tools), URI and MIME type (resources, templates) or arguments (prompts).

``Server.map`` makes one table of many calls (``map_frame``): one row per call,
in input order. The arguments come first; then the result, expanded into
columns when every successful result's own table is a single row, a record's
values as the tool sent them (else each whole value in a ``result`` column,
so all rows share one shape); then
``error``, empty where the call worked. An argument
that shares a name with a result column is renamed ``argument.NAME``.

After any rule: nested objects become dotted columns (``venue.city``), only in
columns where nesting exists (flattening every table would cost 4x); a string
column becomes datetimes when every value in it parses as ISO 8601. ``df.attrs["mcp"]`` records where the table came from:
server, tool (or uri), arguments, time and protocol version.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import mcp_types as types
import pandas as pd

from . import render
from .errors import ConfigError, NotTabular
from .schema import to_json

__all__ = ["tool_frame", "resource_frame", "value_frame", "map_frame", "rows_as_arguments", "listing_frame",
           "ProseFrame"]


class ProseFrame(pd.DataFrame):
    """A table of sentences (a diff's changes, an export's changes, lint's findings): a DataFrame
    to filter, sort or save, shown in a notebook with each cell whole and left-aligned (pandas' own
    display cuts cells at 50 characters). Filtered or sorted, it stays one."""

    @property
    def _constructor(self) -> type[ProseFrame]:
        return type(self)

    def _repr_html_(self) -> str | None:
        return render.prose_table(self)

_ISO_8601 = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")
_SCALARS = (str, int, float, bool, type(None))
_ENVELOPE_KEYS = 3  # total, next cursor, a note: more plain keys than that make a record, not an envelope
_CSV_TYPES = {"text/csv": ",", "text/tab-separated-values": "\t", "text/tsv": "\t"}
_HINT = "the data is still there: see .structured (structured content) and .text (text blocks)."


def tool_frame(result: Any) -> pd.DataFrame:
    """The table in a ToolResult, by the rules above."""
    if result.is_error:
        raise NotTabular(f"Tool {result.tool!r} reported an error, not a table: {_shorten(result.text)}",
                         hint="check result.text, or call result.raise_for_error() in scripts.")
    provenance = {"server": result.server, "tool": result.tool, "arguments": result.arguments,
                  "time": result.called_at, "protocol_version": result.protocol_version}
    if result.structured is not None:
        frame, envelope = value_frame(result.structured, what="its structured content")
    else:
        frame, envelope = _content_frame(result.content)
    return _finish(frame, provenance, envelope)


def resource_frame(result: Any) -> pd.DataFrame:
    """The table in a ResourceResult: JSON, NDJSON or CSV text parts."""
    provenance = {"server": result.server, "uri": result.uri, "time": result.read_at,
                  "protocol_version": result.protocol_version}
    texts = [(part.text, part.mime_type) for part in result.contents if isinstance(part, types.TextResourceContents)]
    if not texts:
        raise NotTabular(f"Resource {result.uri!r} holds no text to make a table of.",
                         hint="binary parts are in .blob; .contents has every part.")
    frame, envelope = _texts_frame(texts)
    return _finish(frame, provenance, envelope)


def value_frame(value: Any, *, what: str = "the value") -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rules 2-6 for a JSON value: the table and the envelope (other keys of rule 4)."""
    if isinstance(value, list):
        return _list_frame(value, what, column="value"), {}
    if isinstance(value, Mapping):
        lists = {key: item for key, item in value.items() if isinstance(item, list)}
        if len(lists) == len(value) > 1 and len({len(item) for item in lists.values()}) == 1 \
                and all(all(isinstance(v, _SCALARS) for v in item) for item in lists.values()):
            return pd.DataFrame(dict(value)), {}  # rule 5: a dict of columns
        others = {key: item for key, item in value.items() if key not in lists}
        if len(lists) == 1 and len(others) <= _ENVELOPE_KEYS and all(isinstance(v, _SCALARS) for v in others.values()):
            key, items = next(iter(lists.items()))  # rule 4: an envelope around one list
            return _list_frame(items, f"{what}[{key!r}]", column=key), others
        if len(lists) == len(value) > 1:
            names = ", ".join(repr(k) for k in lists)
            raise NotTabular(f"{what.capitalize()} holds only lists of different lengths ({names}); "
                             "which one is the table?",
                             hint=f"make one yourself, e.g. pd.DataFrame(result.structured[{next(iter(lists))!r}]).")
        return pd.DataFrame.from_records([dict(value)]), {}  # rule 6: one record
    raise NotTabular(f"{what.capitalize()} is a single {type(value).__name__}, not a table: {_shorten(repr(value))}",
                     hint=_HINT)


def map_frame(tool: str, arguments: Sequence[Mapping[str, Any]], outcomes: Sequence[Any],
              provenance: dict[str, Any]) -> pd.DataFrame:
    """One row per call of ``Server.map``: arguments, the result's columns, ``error``."""
    tables = [_single_row(outcome) for outcome in outcomes]
    succeeded = [table for outcome, table in zip(outcomes, tables) if _succeeded(outcome)]
    expand = bool(succeeded) and all(table is not None for table in succeeded)  # decided once, for every row
    rows = []
    for args, outcome, table in zip(arguments, outcomes, tables):
        record: dict[str, Any] = {}
        error = None
        if isinstance(outcome, BaseException):
            error = _one_line(str(getattr(outcome, "message", None) or outcome))
        elif outcome.is_error:
            error = _one_line(outcome.text) or "the tool reported an error"
        else:
            record = table if expand and table is not None else {"result": outcome.data}
        renamed = {(f"argument.{key}" if key in record or key == "error" else key): value
                   for key, value in args.items()}
        rows.append({**renamed, **record, "error": error})
    frame = pd.DataFrame.from_records(rows) if rows else pd.DataFrame(columns=["error"])
    errors = sum(row["error"] is not None for row in rows)
    return _finish(frame, {**provenance, "tool": tool, "calls": len(rows), "errors": errors}, {})


def _succeeded(outcome: Any) -> bool:
    return not isinstance(outcome, BaseException) and not outcome.is_error


def _single_row(outcome: Any) -> dict[str, Any] | None:
    """A successful result's columns when its own table is one row, else None."""
    if not _succeeded(outcome):
        return None
    record = outcome.structured
    if isinstance(record, Mapping) and record and not any(isinstance(item, list) for item in record.values()):
        # Rule 6, one record (what most tools called per row return): its own values, as sent. A one-row
        # DataFrame for each row cost about half a millisecond, most of a fast map's time beyond its calls.
        return dict(record)
    try:
        table, _ = (value_frame(outcome.structured) if outcome.structured is not None
                    else _content_frame(outcome.content))
    except NotTabular:
        return None
    return table.iloc[0].to_dict() if len(table) == 1 else None


def _list_frame(items: Sequence[Any], what: str, *, column: str) -> pd.DataFrame:
    if all(isinstance(item, Mapping) for item in items):
        return pd.DataFrame.from_records(items)  # rule 2 (also the empty list)
    if all(isinstance(item, _SCALARS) for item in items):
        return pd.DataFrame({column: list(items)})  # rule 3
    kinds = sorted({type(item).__name__ for item in items})
    raise NotTabular(f"{what.capitalize()} is a list mixing {', '.join(kinds)}; rows need to be all records "
                     "or all plain values.", hint=_HINT)


def _content_frame(content: Sequence[Any]) -> tuple[pd.DataFrame, dict[str, Any]]:
    texts: list[tuple[str, str | None]] = []
    for block in content:
        if isinstance(block, types.TextContent):
            texts.append((block.text, None))
        elif isinstance(block, types.EmbeddedResource) and isinstance(block.resource, types.TextResourceContents):
            texts.append((block.resource.text, block.resource.mime_type))
    if not texts:
        kinds = ", ".join(sorted({block.type for block in content})) or "nothing"
        raise NotTabular(f"The result holds {kinds}, no text or structured content to make a table of.",
                         hint="see .content for the blocks themselves.")
    return _texts_frame(texts)


def _texts_frame(texts: list[tuple[str, str | None]]) -> tuple[pd.DataFrame, dict[str, Any]]:
    if len(texts) == 1:
        return _text_frame(*texts[0])
    parsed = [_json_or_none(text) for text, _ in texts]
    if all(isinstance(p, Mapping) for p in parsed):
        return pd.DataFrame.from_records(parsed), {}  # rule 10: a record per block
    if all(isinstance(p, list) for p in parsed):
        return value_frame([row for p in parsed for row in p], what="the text blocks")  # rule 10: lists joined
    frames = []
    for text, mime in texts:  # blocks that are tables each (CSV parts, say) are stacked
        try:
            frames.append(_text_frame(text, mime)[0])
        except NotTabular:
            raise NotTabular(f"The result has {len(texts)} text blocks that do not make one table "
                             "(not all JSON objects, JSON lists or CSV).", hint=_HINT) from None
    return pd.concat(frames, ignore_index=True), {}


def _text_frame(text: str, mime: str | None) -> tuple[pd.DataFrame, dict[str, Any]]:
    if mime in _CSV_TYPES:
        return pd.read_csv(io.StringIO(text), sep=_CSV_TYPES[mime]), {}  # rule 9
    value = _json_or_none(text)
    if value is not None:
        return value_frame(value, what="the text (JSON)")  # rule 7
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > 1:
        records = [_json_or_none(line) for line in lines]
        if all(isinstance(r, Mapping) for r in records):
            return pd.DataFrame.from_records(records), {}  # rule 8
        separator = _sniff_separator(lines[:20])
        if separator:
            return pd.read_csv(io.StringIO(text), sep=separator), {}  # rule 9
    raise NotTabular(f"The text is not JSON, NDJSON or CSV: {_shorten(text)}", hint=_HINT)


def _json_or_none(text: str) -> Any:
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{":
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        return None


def _sniff_separator(lines: list[str]) -> str | None:
    """',', tab or ';' if every sampled line splits into the same number (>= 2) of fields."""
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines), delimiters=",\t;")
    except csv.Error:
        return None
    widths = {len(row) for row in csv.reader(lines, dialect)}
    return dialect.delimiter if len(widths) == 1 and widths.pop() >= 2 else None


def _finish(frame: pd.DataFrame, provenance: dict[str, Any], envelope: dict[str, Any]) -> pd.DataFrame:
    frame = _flatten(frame)
    _parse_dates(frame)
    frame.attrs["mcp"] = {**provenance, **({"envelope": envelope} if envelope else {})}
    return frame


def _flatten(frame: pd.DataFrame) -> pd.DataFrame:
    """Nested objects into dotted columns, in the columns that have any (only object columns can)."""
    nested = [column for column in frame.columns
              if frame[column].dtype == object and any(isinstance(v, Mapping) for v in frame[column])]
    if not nested:
        return frame
    parts = []
    for column in frame.columns:
        if column in nested:
            values = [v if isinstance(v, Mapping) else {} for v in frame[column]]
            expanded = pd.json_normalize(values, sep=".")
            expanded.columns = [f"{column}.{name}" for name in expanded.columns]
            expanded.index = frame.index
            parts.append(expanded)
        else:
            parts.append(frame[[column]])
    return pd.concat(parts, axis=1)


def _parse_dates(frame: pd.DataFrame) -> None:
    """String columns whose every value is ISO 8601 become datetimes (in place)."""
    for column in frame.columns:
        series = frame[column]
        if not (pd.api.types.is_string_dtype(series.dtype) or series.dtype == object):
            continue
        present = series.dropna()
        if present.empty or not isinstance(present.iloc[0], str) or not _ISO_8601.match(present.iloc[0]):
            continue
        try:  # raises unless every value parses
            frame[column] = pd.to_datetime(series, format="ISO8601")
        except (ValueError, TypeError):
            try:  # mixed offsets: one timeline in UTC
                frame[column] = pd.to_datetime(series, format="ISO8601", utc=True)
            except (ValueError, TypeError):
                continue


def _one_line(text: str) -> str:
    """A message for a table cell: its lines joined."""
    return re.sub(r"\s*\n\s*", " ", text.strip())


def _shorten(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def rows_as_arguments(rows: Any) -> list[dict[str, Any]]:
    """Argument dicts from a DataFrame (missing values left out) or an iterable of mappings."""
    if isinstance(rows, pd.DataFrame):
        records = rows.to_dict("records")
        return [{str(k): v for k, v in to_json(record).items() if v is not None} for record in records]
    if isinstance(rows, (str, bytes, Mapping)) or not hasattr(rows, "__iter__"):
        raise ConfigError("rows= must be a DataFrame or an iterable of argument dicts, "
                          f"not a {type(rows).__name__}.")
    arguments = []
    for number, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise ConfigError(f"Row {number} is a {type(row).__name__}; each row must be a dict of arguments.")
        arguments.append(dict(row))
    return arguments


def listing_frame(items: Any) -> pd.DataFrame:
    """A listing as a table: names, titles, descriptions, then what matters for its kind."""
    rows = []
    for item in items:
        row: dict[str, Any] = {"name": item.name, "title": item.title, "description": item.description}
        if items.kind == "tool":
            notes = item.annotations
            row["parameters"] = item.signature
            row["read_only"] = getattr(notes, "read_only_hint", None)
            row["destructive"] = getattr(notes, "destructive_hint", None)
            row["idempotent"] = getattr(notes, "idempotent_hint", None)
        elif items.kind == "resource":
            row.update(uri=item.uri, mime_type=item.mime_type)
        elif items.kind == "template":
            row.update(uri_template=item.uri_template, mime_type=item.mime_type)
        else:
            row["arguments"] = item.signature
        rows.append(row)
    return pd.DataFrame(rows)
