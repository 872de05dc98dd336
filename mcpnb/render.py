"""The one HTML renderer. Every string a server sends is escaped here, and no
other module builds HTML from server data.

A server is untrusted: tool names, titles, descriptions, results, error
messages, URIs and column names may all carry markup. The rules:

- text goes through ``esc`` (``html.escape`` with quotes) and nowhere else;
- links are made only for http(s) URIs; any other scheme (``javascript:``,
  ``data:``, ``file:``) is shown as text;
- images become ``<img>`` with a data URI, only for the image types below and
  only when the data is plain base64; SVG is shown that way too, never inline,
  so scripts inside it do not run; audio becomes an ``<audio>`` player the same way;
- long text and big tables are cut with a note; the full data stays in Python.
"""

from __future__ import annotations

import html
import re
import sys
from typing import TYPE_CHECKING, Any

import mcp_types as types

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["esc", "tool_result", "resource_result", "prompt_result", "listing", "server", "table", "badge_names", "tool_badges", "prose_block",
           "text_block", "json_block", "link_block", "tool_heading", "elicitation", "sampling", "preview",
           "export", "lint_findings", "prose_table", "evaluation", "not_run_marks",
           "chat_exchange", "chat_conversation", "chat_call", "chat_approval"]

MAX_TEXT = 4000  # characters of one text block shown
MAX_ROWS = 50  # table rows shown
_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml"}
_AUDIO_TYPES = {"audio/wav", "audio/x-wav", "audio/mpeg", "audio/mp3", "audio/ogg", "audio/webm", "audio/flac"}
_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")
_STYLE = ("<style>.mcpnb{font-family:var(--jp-ui-font-family,sans-serif);font-size:13px;"
          "color:var(--jp-ui-font-color1,inherit)}"
          ".mcpnb .head{color:var(--jp-ui-font-color2,#555);margin:2px 0 6px}"
          ".mcpnb .error{border-left:4px solid var(--jp-error-color1,#c62828);"
          "background:var(--jp-rendermime-error-background,#fdecea);padding:6px 10px;white-space:pre-wrap}"
          # JupyterLab's and Notebook 7's outputs break <pre> anywhere (word-break:break-all): "checke d."
          ".mcpnb pre{white-space:pre-wrap;margin:4px 0;word-break:normal;overflow-wrap:anywhere}"
          ".mcpnb .badge{display:inline-block;padding:0 6px;margin-right:3px;border-radius:8px;font-size:11px;"
          "background:var(--jp-layout-color2,#eee);border:1px solid transparent}"
          ".mcpnb .badge.destructive{border-color:var(--jp-error-color1,#c62828)}"
          ".mcpnb .badge.read-only{border-color:var(--jp-success-color1,#388e3c)}"
          ".mcpnb .note{color:var(--jp-ui-font-color2,#777);font-style:italic}"
          ".mcpnb table.steps{border-collapse:collapse;line-height:1.4;max-width:100%}"
          ".mcpnb table.steps td,.mcpnb table.steps th{vertical-align:top;padding:2px 10px 2px 0;text-align:left}"
          ".mcpnb table.steps .ms{white-space:nowrap}"
          ".mcpnb table.steps .what{overflow-wrap:anywhere}"  # words whole ("too ls"), long URLs still wrap
          ".mcpnb table.record{table-layout:auto;width:auto;max-width:100%}"
          ".mcpnb table.record>tbody>tr>th{text-align:left;vertical-align:top;padding-right:12px;white-space:nowrap}"
          ".mcpnb table.record>tbody>tr>td,.mcpnb table.nested td,.mcpnb table.nested th{text-align:left;"
          "overflow-wrap:anywhere}"
          ".mcpnb table.nested{font-size:12px;margin:0}"
          ".mcpnb .prose{white-space:pre-line;overflow-wrap:break-word;margin:4px 0;max-width:80ch}</style>")


def esc(value: Any) -> str:
    """Text made safe for HTML: the only way server strings enter markup."""
    return html.escape("" if value is None else str(value), quote=True)


def _box(body: str) -> str:
    return f'{_STYLE}<div class="mcpnb">{body}</div>'


def _text(text: str, whole: str = ".text") -> str:
    """Text shown as it is, up to MAX_TEXT characters; ``whole`` says where the rest is."""
    if len(text) > MAX_TEXT:
        note = f'<div class="note">{len(text) - MAX_TEXT:,} more characters: the whole text is in {esc(whole)}</div>'
        return f"<pre>{esc(text[:MAX_TEXT])}</pre>{note}"
    return f"<pre>{esc(text)}</pre>"


def _link(uri: str, label: str | None = None) -> str:
    shown = esc(label or uri)
    if re.match(r"^https?://", uri, re.IGNORECASE):
        return f'<a href="{esc(uri)}" target="_blank" rel="noopener noreferrer">{shown}</a>'
    if label and label != uri:  # where it points stays visible, as text
        return f'<code>{shown}</code> <span class="note">{esc(uri)}</span>'
    return f"<code>{shown}</code>"


def _media(kind: str, mime: str, data: str) -> str:
    data = "".join(data.split())
    allowed = _IMAGE_TYPES if kind == "image" else _AUDIO_TYPES
    if mime not in allowed or not _BASE64.match(data):
        return f'<div class="note">[{esc(kind)} of type {esc(mime)} not shown]</div>'
    source = f"data:{mime};base64,{data}"
    if kind == "image":
        return f'<img src="{source}" style="max-width:100%" alt="image from the server">'
    return f'<audio controls src="{source}"></audio>'


def table(frame: Any, *, where: str = ".df", record: bool = True) -> str:
    """A DataFrame as an escaped table, cut to MAX_ROWS rows with a note. One row (a single
    record) shows as field/value pairs, unless ``record=False`` (a log that has one line so far is
    still a log); lists and objects inside cells show as small tables."""
    if record and len(frame) == 1 and len(frame.columns) > 1:
        row = frame.iloc[0]
        body = "".join(f"<tr><th>{esc(column)}</th><td>{_value(row[column])}</td></tr>" for column in frame.columns)
        return f"<table class='record'><tbody>{body}</tbody></table>"
    shown = frame.head(MAX_ROWS)
    head = "".join(f"<th>{esc(column)}</th>" for column in shown.columns)
    body = "".join("<tr>" + "".join(f"<td>{_value(v)}</td>" for v in row) + "</tr>"
                   for row in shown.itertuples(index=False, name=None))
    note = ""
    if len(frame) > MAX_ROWS:
        note = f'<div class="note">showing {MAX_ROWS} of {len(frame):,} rows: the whole table is {esc(where)}</div>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


NESTED_ROWS = 10  # rows of a list shown inside a cell
NESTED_DEPTH = 2  # tables inside tables, at most this deep


def _value(value: Any, depth: int = 0) -> str:
    """One cell, escaped: a list of records as a small table, an object as field/value pairs,
    a list of plain values joined; Python reprs never reach the page."""
    if depth < NESTED_DEPTH and isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        columns = list(dict.fromkeys(key for item in value[:NESTED_ROWS] for key in item))
        head = "".join(f"<th>{esc(c)}</th>" for c in columns)
        rows = "".join("<tr>" + "".join(f"<td>{_value(item.get(c), depth + 1)}</td>" for c in columns) + "</tr>"
                       for item in value[:NESTED_ROWS])
        more = (f'<div class="note">{len(value) - NESTED_ROWS:,} more</div>' if len(value) > NESTED_ROWS else "")
        return f"<table class='nested'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{more}"
    if depth < NESTED_DEPTH and isinstance(value, dict) and value:
        rows = "".join(f"<tr><th>{esc(k)}</th><td>{_value(v, depth + 1)}</td></tr>" for k, v in value.items())
        return f"<table class='nested'><tbody>{rows}</tbody></table>"
    if isinstance(value, (list, tuple)) and not any(isinstance(v, (dict, list)) for v in value):
        return esc(_cell(", ".join("" if v is None else str(v) for v in value)))
    if isinstance(value, (list, dict)):
        import json

        return esc(_cell(json.dumps(value, ensure_ascii=False, default=str)))
    return esc(_cell(value))


def _cell(value: Any) -> str:
    text = "" if _missing(value) else str(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _missing(value: Any) -> bool:
    """None, NaN, or pandas' NA and NaT. pandas is asked only when loaded (a pandas value means it is):
    rendering a result must not import it."""
    if value is None:
        return True
    if isinstance(value, float):
        return value != value
    pandas = sys.modules.get("pandas")
    if pandas is None:
        return False
    try:
        return bool(pandas.isna(value))
    except (TypeError, ValueError):  # lists and dicts: not a missing value
        return False


def _blocks(blocks: list[Any]) -> str:
    parts = []
    for block in blocks:
        if isinstance(block, types.TextContent):
            parts.append(_text(block.text))
        elif isinstance(block, types.ImageContent):
            parts.append(_media("image", block.mime_type, block.data))
        elif isinstance(block, types.AudioContent):
            parts.append(_media("audio", block.mime_type, block.data))
        elif isinstance(block, types.ResourceLink):
            title = block.title or block.name
            description = f" — {esc(block.description)}" if block.description else ""
            parts.append(f"<div>🔗 {_link(str(block.uri), title)}{description}</div>")
        elif isinstance(block, types.EmbeddedResource):
            resource = block.resource
            parts.append(f'<div class="head">resource {_link(str(resource.uri))} ({esc(resource.mime_type)})</div>')
            parts.append(_resource_part(resource))
        else:
            parts.append(f'<div class="note">[{esc(getattr(block, "type", type(block).__name__))} content]</div>')
    return "".join(parts)


def _resource_part(part: Any) -> str:
    """One part of a resource: its text, an image, or a note of how much binary data."""
    if isinstance(part, types.TextResourceContents):
        return _text(part.text)
    if part.mime_type in _IMAGE_TYPES:
        return _media("image", part.mime_type, part.blob)
    return f'<div class="note">[{esc(part.mime_type)}: {len(part.blob):,} characters of base64 data]</div>'


def tool_result(result: Any) -> str:
    """A ToolResult: a table when it is tabular, else its content blocks; errors set apart."""
    from .errors import NotTabular

    head = (f'<div class="head">{esc(result.server)}.{esc(result.tool)} · '
            f'{"error" if result.is_error else "ok"} · {result.elapsed * 1000:.0f} ms</div>')
    if result.is_error:
        return _box(head + f'<div class="error">{esc(result.text or "(no message)")}</div>')
    try:
        body = table(result.df)
    except NotTabular:
        body = _blocks(result.content)
    return _box(head + body)


def resource_result(result: Any) -> str:
    from .errors import NotTabular

    head = f'<div class="head">{esc(result.server)} · {_link(result.uri)}</div>'
    try:
        return _box(head + table(result.df))
    except NotTabular:
        pass
    return _box(head + "".join(_resource_part(part) for part in result.contents))


def prompt_result(result: Any) -> str:
    rows = "".join(f"<tr><td><b>{esc(m.role)}</b></td><td>{_blocks([m.content])}</td></tr>" for m in result.messages)
    head = f'<div class="head">{esc(result.server)}.{esc(result.name)}'
    head += f" · {esc(result.description)}" if result.description else ""
    return _box(head + f"</div><table>{rows}</table>")


def badge_names(annotations: Any) -> list[str]:
    """The annotation hints worth a badge: read-only, destructive, idempotent, open-world."""
    if annotations is None:
        return []
    found = []
    if annotations.read_only_hint:
        found.append("read-only")
    if annotations.destructive_hint and not annotations.read_only_hint:
        found.append("destructive")
    if annotations.idempotent_hint:
        found.append("idempotent")
    if annotations.open_world_hint:
        found.append("open-world")
    return found


def tool_badges(tool: Any) -> list[str]:
    """A tool's badges: its annotation hints, "app" when it has an MCP App, and who may call it when
    that is not everyone ("app only", "model only")."""
    found = badge_names(tool.annotations)
    if tool.app:
        found.append("app")
    if tool.visibility != ("model", "app") and len(tool.visibility) == 1:
        found.append(f"{tool.visibility[0]} only")
    return found


def _badges(names: list[str]) -> str:
    return "".join(f'<span class="badge {name.replace(" ", "-")}">{esc(name)}</span>' for name in names)


def text_block(text: Any, *, head: str | None = None) -> str:
    """Server text (a description, a message) as an escaped block, with an optional heading."""
    top = f'<div class="head">{esc(head)}</div>' if head else ""
    return _box(top + _text("" if text is None else str(text)))


def prose_block(text: Any) -> str:
    """A server's description or instructions as prose (not monospace), escaped."""
    return _box(_prose("" if text is None else str(text)))


def link_block(url: str) -> str:
    """A URL the person chose to open: a link for http(s), otherwise shown as text only."""
    return _box("Open: " + _link(url))


def json_block(value: Any) -> str:
    """Any JSON value, pretty-printed and escaped."""
    import json

    return _box(_text(json.dumps(value, indent=2, ensure_ascii=False, default=str)))


def tool_heading(tool: Any) -> str:
    """A tool's title, name, badges and description, for the explorer's form."""
    title = esc(tool.title or tool.name)
    name = f" <code>{esc(tool.name)}</code>" if tool.title else ""
    description = _prose(tool.description) if tool.description else ""
    return _box(f"<b>{title}</b>{name} {_badges(tool_badges(tool))}{description}")


def _prose(text: str) -> str:
    """A description written as a docstring, shown as prose: its indentation taken off, its
    paragraphs kept, lines wrapped at spaces (monospace with the docstring's indent broke mid-word)."""
    import inspect

    clean = inspect.cleandoc(text)
    if len(clean) > MAX_TEXT:
        clean = clean[:MAX_TEXT] + " ..."
    return f'<div class="prose">{esc(clean)}</div>'


def elicitation(request: Any) -> str:
    """What the server asks the person, and for a URL request where it leads (shown, never opened)."""
    body = f'<div class="head">{esc(request.server)} asks</div>{_text(request.message)}'
    if request.mode == "url" and request.url:
        body += f'<div>It wants you to open: <code>{esc(request.url)}</code></div>'
    return _box(body)


def sampling(request: Any) -> str:
    """The conversation a server wants a model's reply to, with its preferences."""
    rows = "".join(f"<tr><td><b>{esc(m['role'])}</b></td><td>{_text(m['text'])}</td></tr>" for m in request.messages)
    system = f"<div class='head'>system prompt</div>{_text(request.system_prompt)}" if request.system_prompt else ""
    prefs = ""
    if request.model_preferences:
        prefs = f"<div class='note'>model preferences: {esc(request.model_preferences)}</div>"
    limit = f" (at most {esc(request.max_tokens)} tokens)" if request.max_tokens else ""
    return _box(f'<div class="head">{esc(request.server)} asks for a model reply{limit}</div>'
                f"{system}<table>{rows}</table>{prefs}")


def listing(items: Any) -> str:
    """A Listing as a table of names, titles, descriptions, parameters and badges."""
    rows = []
    for item in list(items)[:500]:
        description = item.description or ""
        if len(description) > 300:
            description = description[:297] + "..."
        if items.kind == "tool":
            extra = esc(item.signature) + " " + _badges(tool_badges(item))
        elif items.kind == "prompt":
            extra = esc(item.signature)
        elif items.kind == "resource":
            extra = _link(item.uri)
        else:
            extra = f"<code>{esc(item.uri_template)}</code>"
        rows.append(f"<tr><td><code>{esc(item.name)}</code></td><td>{esc(item.title)}</td>"
                    f"<td>{esc(description)}</td><td>{extra}</td></tr>")
    column = {"tool": "parameters", "prompt": "arguments", "resource": "uri", "template": "uri template"}[items.kind]
    head = f'<div class="head">{len(items)} {esc(items.kind)}s of {esc(items.server)}</div>'
    return _box(head + f"<table><thead><tr><th>name</th><th>title</th><th>description</th><th>{column}</th>"
                       f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def server(srv: Any) -> str:
    """A Server: identity, protocol era, transport (secrets masked) and capabilities."""
    if srv.closed:
        return _box(f'<div class="head">{esc(srv.name)} · closed</div>')
    info = srv.info
    identity = esc(info.title or info.name or "(anonymous)") + (f" {esc(info.version)}" if info.version else "")
    rows = [("connection", esc(srv.name)), ("server", identity),
            ("protocol", f"{esc(info.protocol_version)} ({esc(info.era)})"), ("transport", esc(info.transport)),
            ("capabilities", ", ".join(esc(c) for c in info.capability_names) or "none"),
            ("state", "connected" if srv.alive else "lost: reconnect() to restart")]
    status = srv.auth
    if status is not None:
        rows.append(("authorization", esc(repr(status).removeprefix("<AuthStatus ").removesuffix(">"))))
    body = "".join(f"<tr><th>{k}</th><td class='what'>{v}</td></tr>" for k, v in rows)
    instructions = f"<div class='head'>instructions</div>{_prose(info.instructions)}" if info.instructions else ""
    return _box(f"<table class='steps'>{body}</table>{instructions}{_sign_in_steps(srv)}")


def _sign_in_steps(srv: Any) -> str:
    """The HTTP steps of the authorization flows so far (the trace's kind 'http' rows), oldest first."""
    trace = srv.session.trace
    if trace is None or srv.auth is None:
        return ""
    frame = trace.frame()
    steps = frame[frame.kind == "http"]
    if steps.empty:
        return ""
    rows = []
    for number, row in enumerate(steps.itertuples(), 1):
        took = "" if row.duration_ms is None or row.duration_ms != row.duration_ms else f"{row.duration_ms:g} ms"
        rows.append(f"<tr><td>{number}</td><td class='step'><b>{esc(row.method)}</b></td>"
                    f"<td class='what'>{esc(row.summary)}</td><td class='ms'>{took}</td></tr>")
    head = "<tr><th>#</th><th>step</th><th>exchange</th><th class='ms'>time</th></tr>"
    return (f"<div class='head'>sign-in steps (server.trace, kind 'http')</div>"
            f"<table class='steps'>{head}{''.join(rows)}</table>")


_PREVIEW_STYLE = (
    # Colours, borders and the open mark here; the layout is inline (_GRID ...), which an untrusted
    # notebook keeps when it drops this block. line-height: an ipywidgets HTML widget sets 28 px.
    "<style>.mcpnb .tokens{line-height:1.4;max-width:900px}"
    ".mcpnb .tokens .row,.mcpnb .tokens summary{border-bottom:1px solid var(--jp-border-color2,#e0e0e0)}"
    ".mcpnb .tokens summary{cursor:pointer;list-style:none}"
    ".mcpnb .tokens summary::-webkit-details-marker{display:none}"
    ".mcpnb .tokens .mark{color:var(--jp-ui-font-color2,#555);display:inline-block}"
    ".mcpnb .tokens details[open]>summary .mark{transform:rotate(90deg)}"
    ".mcpnb .tokens .row.total{border-bottom:none}"
    ".mcpnb .tokens .bar{background:var(--jp-layout-color3,#bdbdbd)}"
    ".mcpnb .tokens .bar>span{background:var(--jp-brand-color1,#1976d2)}"
    ".mcpnb .tokens details>div.open{border-bottom:1px solid var(--jp-border-color2,#e0e0e0)}"
    ".mcpnb .tokens .caveat{border-left:3px solid var(--jp-warn-color1,#f57c00);background:var(--jp-layout-color2,#eee)}"
    "</style>")
# A grid, not a table: an opened definition takes the whole width under its row (in a table cell it had
# a third of it at 900 px).
_GRID = ("display:grid;grid-template-columns:1.1em minmax(0,1fr) max-content minmax(70px,160px);column-gap:8px;"
         "align-items:baseline;padding:3px 0")
_NUMBER = "text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums"
_WRAP = "overflow-wrap:anywhere"  # names, the tokenizer's file path and hash: long unbroken words


def preview(found: Any, *, open_tool: str | None = None) -> str:
    """A tools preview: each tool's tokens and share as a bar, its definition (escaped JSON) to open
    (``open_tool``'s open already), the totals, the counter and tokenizer named, and the caveat that
    other tokenizers differ."""
    import json

    whole = found.offline_total or 1
    rows = []
    for exported, title, tokens in zip(found.exported, found.titles, found.tokens):
        share = tokens / whole
        label = f"<code>{esc(exported.tool)}</code>" + (f" {esc(title)}" if title and title != exported.tool else "")
        changes = "".join(f"<li>{esc(change.detail)}</li>" for change in exported.changes)
        changes = (f'<div class="note">the conversion changed:</div><ul style="margin:2px 0 4px;padding-left:1.2em">'
                   f"{changes}</ul>" if changes else "")
        definition = _text(json.dumps(exported.definition, indent=2, ensure_ascii=False, default=str),
                           ".definitions")
        opened = " open" if exported.tool == open_tool else ""
        bar = (f'<span class="bar" aria-hidden="true" style="flex:1 1 auto;height:9px;border-radius:2px;'
               f'overflow:hidden"><span style="display:block;height:100%;width:{share * 100:.1f}%"></span></span>')
        rows.append(f'<details{opened}><summary style="{_GRID}"><span class="mark" aria-hidden="true">\u25b8</span>'
                    f'<span style="{_WRAP}">{label}</span><span style="{_NUMBER}">{tokens:,}</span>'
                    f'<span style="white-space:nowrap;display:flex;align-items:center;gap:6px">{bar}'
                    f'<span style="min-width:2.6em;{_NUMBER}">{share:.0%}</span></span></summary>'
                    f'<div class="open" style="padding:2px 0 6px 1.1em">{changes}{definition}</div></details>')
    count = len(found.exported)
    head = (f'<div class="head">{esc(found.server)}: {count} tool{"s" if count != 1 else ""} as '
            f"{esc(_API_NAMES.get(found.provider, found.provider))} receives them (format: {esc(found.provider)})</div>")
    top = (f'<div class="row" style="{_GRID};font-weight:600;padding-top:0"><span></span>'
           f'<span>tool (open one for its definition)</span><span style="{_NUMBER}">tokens</span><span>share</span></div>')
    total = f'<div class="row total" style="{_GRID};font-weight:600"><span></span>'
    totals = (f'{total}<span>this server</span><span style="{_NUMBER}">{found.total:,}</span><span></span></div>'
              f'{total}<span>all open servers ({len(found.by_server)})</span>'
              f'<span style="{_NUMBER}">{found.all_open_total:,}</span><span></span></div>')
    notes = "".join(f'<div class="note" style="{_WRAP}">{esc(note)}</div>' for note in found.notes)
    return _box(_PREVIEW_STYLE + '<div class="tokens">' + head + top + "".join(rows) + totals
                + f'<div class="note" style="{_WRAP}">Each count is the definition as compact JSON, counted '
                  f"offline; the totals: {esc(found.counter)}.</div>{notes}"
                + f'<div class="caveat" role="note" style="padding:4px 8px;margin:8px 0 6px">{esc(found.caveat)}</div>'
                + f'<div class="note" style="{_WRAP}">Tokenizer: {_breakable(esc(found.tokenizer))}</div></div>')


def _breakable(text: str) -> str:
    """Long unbroken runs (a file path, a hash) given places to break: an untrusted notebook drops the
    style that would let them wrap, and they ran off the right edge at 900 px."""
    return re.sub(r"([^\s<>&;]{20})(?=[^\s<>&;])", r"\1<wbr>", text)  # never inside an &entity;


# How each export format is named for a person (the API that receives it).
_API_NAMES = {"anthropic": "Anthropic's Messages API", "openai": "OpenAI's Chat Completions API",
              "openai-responses": "OpenAI's Responses API", "gemini": "Gemini's API"}


_EXPORT_STYLE = (
    "<style>.mcpnb .export-tool{border-top:1px solid var(--jp-border-color2,#e0e0e0);padding:4px 0 6px;"
    "max-width:1100px}"
    ".mcpnb .export-tool ul{margin:2px 0 2px 0;padding-left:1.2em}"
    ".mcpnb .export-tool li{overflow-wrap:anywhere;margin:1px 0}"
    ".mcpnb .export-tool summary{cursor:pointer;color:var(--jp-ui-font-color2,#555);font-size:12px}"
    ".mcpnb .export-tool .action{font-size:11px;padding:0 5px;margin-right:5px;border-radius:8px;"
    "border:1px solid var(--jp-border-color1,#bdbdbd);color:var(--jp-ui-font-color2,#555)}"
    ".mcpnb .export-tool .action.dropped{border-color:var(--jp-warn-color1,#f57c00)}</style>")
_EXPORT_CHANGES_SHOWN = 12  # per tool; the rest are in Export.changes


def export(found: Any) -> str:
    """An export: per tool the name the model calls it by, what the conversion changed or dropped
    (with where in the input schema), and its definition (escaped JSON) to open."""
    import json

    blocks = []
    for exported in found.tools:
        label = f"<code>{esc(exported.name)}</code>"
        if exported.name != exported.tool:
            label += f' <span class="note">MCP name</span> <code>{esc(exported.tool)}</code>'
        items = [f'<li><span class="action {esc(c.action)}">{esc(c.action)}</span>'
                 + (f"<code>{esc(c.path)}</code> " if c.path else "") + f"{esc(c.detail)}</li>"
                 for c in exported.changes[:_EXPORT_CHANGES_SHOWN]]
        more = len(exported.changes) - _EXPORT_CHANGES_SHOWN
        if more > 0:
            items.append(f'<li class="note">{more} more in .changes</li>')
        changes = f"<ul>{''.join(items)}</ul>" if items else '<div class="note">goes as it is</div>'
        definition = _text(json.dumps(exported.definition, indent=2, ensure_ascii=False, default=str),
                           ".definitions")
        blocks.append(f'<div class="export-tool"><b>{label}</b>{changes}'
                      f"<details><summary>definition</summary>{definition}</details></div>")
    count = len(found.tools)
    changed = sum(1 for exported in found.tools if exported.changes)
    whose = f"{esc(found.server)}: " if found.server else ""
    mode = " (strict)" if found.strict and found.provider.startswith("openai") else ""
    head = (f'<div class="head">{whose}{count} tool{"s" if count != 1 else ""} as {esc(found.provider)}{mode} '
            f"takes them; the conversion changed {changed}</div>")
    return _box(_EXPORT_STYLE + head + "".join(blocks)
                + '<div class="note">.to_json() writes the definitions; .changes is this as a table; .names maps '
                  "the names the model uses back to the MCP names.</div>")


_LINT_STYLE = (
    "<style>.mcpnb table.lint{border-collapse:collapse;line-height:1.4;max-width:1100px}"
    ".mcpnb table.lint td,.mcpnb table.lint th{text-align:left;vertical-align:top;padding:4px 10px 4px 0;"
    "border-bottom:1px solid var(--jp-border-color2,#e0e0e0)}"
    ".mcpnb table.lint .where{overflow-wrap:break-word;min-width:9em;max-width:22em}"  # breaks after each /
    ".mcpnb table.lint .said{overflow-wrap:anywhere}"
    ".mcpnb table.lint .fix{color:var(--jp-ui-font-color2,#555);margin-top:2px}"
    ".mcpnb table.lint .where .note{font-style:normal;font-size:12px}"
    ".mcpnb .badge.error{border-color:var(--jp-error-color1,#c62828)}"
    ".mcpnb .badge.warning{border-color:var(--jp-warn-color1,#f57c00)}</style>")
LINT_ROWS = 200  # findings shown; the DataFrame holds them all


def lint_findings(found: Any) -> str:
    """Lint's findings: severity, code, the tool and field, the message with its fix under it, all text whole
    (a plain DataFrame cuts cells at 50 characters), and a line counting them."""
    counts = found["severity"].value_counts()
    tally = ", ".join(f"{counts.get(s, 0)} {s}{'s' if counts.get(s, 0) != 1 and s != 'info' else ''}"
                      for s in ("error", "warning", "info"))
    attrs = found.attrs
    took = (f" ({len(attrs['rules'])} rules in {attrs['seconds']:.2f} s)" if "rules" in attrs and "seconds" in attrs
            else "")
    head = f'<div class="head">{esc(attrs.get("server", "lint"))}: {tally}{took}</div>'
    rows = []
    for row in found.head(LINT_ROWS).itertuples(index=False):
        tool = f"<code>{esc(row.tool)}</code>" if isinstance(row.tool, str) else '<span class="note">the server</span>'
        rows.append(f'<tr><td style="{_LEFT}"><span class="badge {esc(row.severity)}">{esc(row.severity)}</span></td>'
                    f'<td style="{_LEFT}"><code>{esc(row.code)}</code></td>'
                    f'<td class="where" style="{_LEFT}">{tool}<div class="note">'
                    f'{esc(row.field).replace("/", "/<wbr>")}</div></td>'
                    f'<td class="said" style="{_LEFT}">{esc(row.message)}<div class="fix">fix: {esc(row.fix)}</div>'
                    "</td></tr>")
    more = len(found) - LINT_ROWS
    note = f'<div class="note">{more:,} more findings in the DataFrame</div>' if more > 0 else ""
    heads = "".join(f'<th style="{_LEFT}">{name}</th>' for name in ("severity", "code", "tool, field", "finding"))
    body = (f'<table class="lint"><thead><tr>{heads}</tr></thead><tbody>{"".join(rows)}</tbody></table>{note}'
            if rows else '<div class="note">No findings.</div>')
    return _box(_LINT_STYLE + head + body)


# Laid out by inline styles: an untrusted notebook (a lesson opened from a fresh clone) drops <style>
# blocks from saved outputs but keeps these, and JupyterLab's own table style right-aligns cells.
_LEFT = "text-align:left;vertical-align:top;padding:3px 12px 3px 0;white-space:normal;overflow-wrap:break-word"
PROSE_ROWS = 200  # rows shown; the DataFrame holds them all


def prose_table(frame: pd.DataFrame) -> str:
    """A table whose cells are sentences (diff changes, export changes, lint findings in part): each
    cell whole, left- and top-aligned, escaped; booleans as yes/no."""
    def cell(value: Any) -> str:
        if isinstance(value, bool):
            return "yes" if value else "no"
        return "" if value is None or (isinstance(value, float) and value != value) else esc(value)

    head = "".join(f'<th style="{_LEFT}">{esc(column)}</th>' for column in frame.columns)
    rows = "".join("<tr>" + "".join(f'<td style="{_LEFT}">{cell(value)}</td>' for value in row) + "</tr>"
                   for row in frame.head(PROSE_ROWS).itertuples(index=False))
    more = len(frame) - PROSE_ROWS
    note = f"<p>{more:,} more rows in the DataFrame</p>" if more > 0 else ""
    if not len(frame):
        return f"<p>No rows (columns: {esc(', '.join(map(str, frame.columns)))}).</p>"
    return (f'<table style="border-collapse:collapse;line-height:1.4"><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table>{note}")


# -- evaluations (mcpnb.evals) ----------------------------------------------------------------

_CELL = "text-align:left;vertical-align:top;padding:3px 12px 3px 0;border-bottom:1px solid var(--jp-border-color2,#e0e0e0)"
_BADGE = "display:inline-block;padding:0 6px;border-radius:8px;font-size:11px;background:var(--jp-layout-color2,#eee);"
# A colourless border before each themed one: untrusted, the badges keep an outline (as the chat's do).
_PASS = _BADGE + "border:1px solid;border:1px solid var(--jp-success-color1,#388e3c)"
_FAIL = _BADGE + "border:1px solid;border:1px solid var(--jp-error-color1,#c62828)"
_UNSCORED = _BADGE + "border:1px solid;border:1px solid var(--jp-border-color1,#bdbdbd)"
# A call the evaluation compared but did not run: a small note after its name, inline (an inline-block
# wrapped to a line of its own), a colourless border first (untrusted, the sanitizer drops the themed one).
_NOT_RUN_NOTE = ("margin-left:4px;padding:0 5px;border-radius:8px;font-size:10px;line-height:1.4;white-space:nowrap;"
                 "border:1px dashed;border:1px dashed var(--jp-warn-color1,#f57c00);"
                 "color:var(--jp-ui-font-color1,#212121)")
EVALUATION_ROWS = 200  # runs shown; the DataFrame holds them all


def _percent(rate: float) -> str:
    return "n/a" if rate != rate else f"{rate:.0%}"


def not_run_marks(called: Any, not_run: Any) -> list[bool]:
    """For each called tool, whether it was not run: ``not_run`` (an evaluation row's) is those tools in call
    order, met in ``called`` from the left."""
    names = called if isinstance(called, list) else []
    left = list(not_run) if isinstance(not_run, list) else []
    marks = []
    for name in names:
        marks.append(bool(left) and left[0] == name)
        if marks[-1]:
            left.pop(0)
    return marks


def evaluation(rows: pd.DataFrame, summary: pd.DataFrame) -> str:
    """An evaluation (``mcpnb.evaluate``), one part per model: its pass rate, tokens and latency, the pass
    rate per expected tool, then every run with what it called and why it failed. Inline styles, escaped."""
    if not len(rows):
        return _box('<div class="note">No runs.</div>')
    parts = [_evaluation_part(model, rows[rows["model"] == model], summary[summary["model"] == model])
             for model in rows["model"].unique()]
    return _box('<div style="margin:10px 0 0"></div>'.join(parts))


def _evaluation_part(model: str, rows: pd.DataFrame, summary: pd.DataFrame) -> str:
    whole = next(summary[summary["tool"] == "(all)"].itertuples(index=False))
    cost = (f"; per run {whole.input_tokens:,.0f} input and {whole.output_tokens:,.0f} output tokens, "
            f"{whole.seconds:.2f} s" if whole.input_tokens or whole.output_tokens else
            f"; {whole.seconds * 1000:.1f} ms per case")
    runs = (f"{whole.passed} of {whole.runs} runs" if whole.scored == whole.runs else
            f"{whole.passed} of {whole.scored} scored runs")
    head = (f'<div style="margin:2px 0 4px"><b>{esc(model)}</b>: {_percent(whole.pass_rate)} passed '
            f"({runs}, {whole.cases} cases){esc(cost)}</div>")
    tools = "".join(
        f'<tr><td style="{_CELL}"><code>{esc(t.tool)}</code></td><td style="{_CELL}">{t.cases}</td>'
        f'<td style="{_CELL}">{t.runs}</td><td style="{_CELL}">{_percent(t.pass_rate)}</td></tr>'
        for t in summary[summary["tool"] != "(all)"].itertuples(index=False))
    tool_head = "".join(f'<th style="{_CELL}">{name}</th>' for name in ("expected tool", "cases", "runs", "pass rate"))
    per_tool = (f'<table style="border-collapse:collapse;line-height:1.4;margin:0 0 8px">'
                f"<thead><tr>{tool_head}</tr></thead><tbody>{tools}</tbody></table>")

    def outcome(passed: Any) -> str:
        if passed is None or (isinstance(passed, float) and passed != passed):
            return f'<span style="{_UNSCORED}">not scored</span>'
        return f'<span style="{_PASS}">pass</span>' if passed else f'<span style="{_FAIL}">fail</span>'

    def called(names: Any, not_run: Any) -> str:
        if not isinstance(names, list) or not names:
            return '<span class="note">nothing</span>'
        note = f'<span style="{_NOT_RUN_NOTE}" title="compared, but not run in this evaluation">not run</span>'
        return ", ".join(f"<code>{esc(name).replace('_', '_<wbr>')}</code>" + (note if held else "")
                         for name, held in zip(names, not_run_marks(names, not_run)))

    several = rows["run"].nunique() > 1
    run_head = "".join(f'<th style="{_CELL}">{name}</th>' for name in
                       ("case, run" if several else "case", "prompt", "called", "result"))
    run_rows = "".join(
        f'<tr><td style="{_CELL}">{esc(row.id)}'
        + (f'<span style="white-space:nowrap"> · {esc(row.run)}</span>' if several else "") + "</td>"
        f'<td style="{_CELL};min-width:8em;max-width:28em;overflow-wrap:break-word">{esc(row.prompt)}</td>'
        f'<td style="{_CELL};max-width:18em;overflow-wrap:break-word">{called(row.called, row.not_run)}</td>'
        f'<td style="{_CELL};min-width:8em;max-width:28em;overflow-wrap:break-word">{outcome(row.passed)}'
        + (f'<div style="margin-top:2px">{esc(row.reason)}</div>' if row.reason else "") + "</td></tr>"
        for row in rows.head(EVALUATION_ROWS).itertuples(index=False))
    more = len(rows) - EVALUATION_ROWS
    note = f'<div class="note">{more:,} more runs in the DataFrame</div>' if more > 0 else ""
    table = (f'<table style="border-collapse:collapse;line-height:1.4"><thead><tr>{run_head}</tr></thead>'
             f"<tbody>{run_rows}</tbody></table>{note}")
    return head + per_tool + table


# -- conversations (mcpnb.chat) -------------------------------------------------------------------------
# Laid out and coloured by inline styles only: a saved lesson opened untrusted drops <style> blocks.

_CHAT_ACCENT = {"ok": "var(--jp-success-color1,#388e3c)", "error": "var(--jp-error-color1,#c62828)",
                "not run": "var(--jp-warn-color1,#f57c00)", "running": "var(--jp-brand-color1,#1976d2)"}
_CHAT_DIM = "color:var(--jp-ui-font-color2,#616161)"
_CHAT_GRID = "display:grid;grid-template-columns:4.6em minmax(0,1fr);column-gap:10px;row-gap:6px;align-items:start"
# Words stay whole (a narrow table scrolls in its box): breaking anywhere squeezed columns to one letter.
_CHAT_CELL = ("text-align:left;vertical-align:top;padding:1px 10px 1px 0;overflow-wrap:break-word;max-width:28em;"
              "border-bottom:1px solid var(--jp-border-color2,#e0e0e0)")
# Untrusted (a saved notebook from a clone), JupyterLab's sanitizer drops every declaration holding var():
# a colourless border before the themed one stays there, in the text's colour, so cards and badges keep
# their outline; trusted, the themed one after it wins.
_CHAT_BADGE = ("display:inline-block;padding:0 6px;border-radius:8px;font-size:11px;line-height:1.5;"
               "border:1px solid;border:1px solid {colour};color:var(--jp-ui-font-color1,#212121)")
_CHAT_PRE = ("white-space:pre-wrap;word-break:normal;overflow-wrap:anywhere;margin:2px 0;"
             "font-family:var(--jp-code-font-family,monospace);font-size:12px")
CHAT_RESULT_TEXT = 1500  # characters of a result shown in a card; the whole is in the CallRecord
CHAT_WIRE_TEXT = 3000  # characters of one wire message shown


def _chat_badge(text: str, colour: str) -> str:
    return f'<span style="{_CHAT_BADGE.format(colour=colour)}">{esc(text)}</span>'


def _chat_prose(text: str) -> str:
    return f'<div style="white-space:pre-wrap;overflow-wrap:anywhere;max-width:80ch">{esc(text)}</div>'


def _chat_value(value: Any, depth: int = 0) -> str:
    """Structured content as small tables (records as rows, objects as field/value pairs), escaped."""
    import json

    table = "border-collapse:collapse;font-size:12px;margin:2px 0;line-height:1.35"
    if depth < 2 and isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        columns = list(dict.fromkeys(key for item in value[:NESTED_ROWS] for key in item))
        head = "".join(f'<th style="{_CHAT_CELL};font-weight:600;white-space:nowrap">{esc(c)}</th>'
                       for c in columns)
        rows = "".join("<tr>" + "".join(f'<td style="{_CHAT_CELL}">{_chat_value(item.get(c), depth + 1)}</td>'
                                        for c in columns) + "</tr>" for item in value[:NESTED_ROWS])
        more = (f'<div style="{_CHAT_DIM}">{len(value) - NESTED_ROWS:,} more rows</div>'
                if len(value) > NESTED_ROWS else "")
        return f'<table style="{table}"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{more}'
    if depth < 2 and isinstance(value, dict) and value:
        rows = "".join(f'<tr><th style="{_CHAT_CELL};font-weight:600;white-space:nowrap">{esc(k)}</th>'
                       f'<td style="{_CHAT_CELL}">{_chat_value(v, depth + 1)}</td></tr>' for k, v in value.items())
        return f'<table style="{table}"><tbody>{rows}</tbody></table>'
    if isinstance(value, (list, dict)):
        return esc(_cell(json.dumps(value, ensure_ascii=False, default=str)))
    return esc(_cell(value))


def _chat_arguments(record: Any) -> str:
    import json

    shown = json.dumps(record.arguments, ensure_ascii=False, default=str) if record.arguments else "(none)"
    if len(shown) > CHAT_RESULT_TEXT:
        shown = shown[:CHAT_RESULT_TEXT] + " ..."
    dropped = ""
    if record.dropped:
        dropped = (f'<div style="{_CHAT_DIM}">left out: {esc(", ".join(record.dropped))} (the nulls OpenAI strict '
                   "mode has the model send for optional arguments)</div>")
    return f'<div><span style="{_CHAT_DIM}">arguments</span> <code style="{_CHAT_PRE}">{esc(shown)}</code></div>{dropped}'


def _chat_result(record: Any) -> str:
    box = "max-height:260px;overflow:auto;margin:2px 0"
    result = record.result
    if result is None:
        if record.state in ("asking", "running"):
            return ""
        colour = _CHAT_ACCENT["error" if record.ran else "not run"]
        return (f'<div style="border-left:3px solid;border-left:3px solid {colour};padding:2px 8px;margin:3px 0;'
                f'white-space:pre-wrap;overflow-wrap:anywhere">{esc(record.error or record.told)}</div>')
    if result.is_error:
        return (f'<div style="border-left:3px solid;border-left:3px solid {_CHAT_ACCENT["error"]};padding:2px 8px;'
                f'margin:3px 0;white-space:pre-wrap;overflow-wrap:anywhere">{esc(result.text or "(no message)")}</div>')
    if result.structured is not None and not result.text:
        return f'<div style="{box}">{_chat_value(result.structured)}</div>'
    text = result.text or record.told
    more = ""
    if len(text) > CHAT_RESULT_TEXT:
        more = f'<div style="{_CHAT_DIM}">{len(text) - CHAT_RESULT_TEXT:,} more characters: .calls[...].result</div>'
        text = text[:CHAT_RESULT_TEXT]
    if result.structured is not None:
        return f'<div style="{box}">{_chat_value(result.structured)}</div>'
    return f'<div style="{box}"><pre style="{_CHAT_PRE}">{esc(text)}</pre>{more}</div>'


def _chat_wire(record: Any) -> str:
    import json

    if not record.ran:
        return ""
    if not record.wired:
        return f'<div style="{_CHAT_DIM};font-size:12px">no wire: an in-process server is called directly</div>'
    if not record.wire:
        return f'<div style="{_CHAT_DIM};font-size:12px">nothing went on the wire: refused before sending</div>'
    items = []
    for direction, message in record.wire:
        method = message.get("method") or ("error" if "error" in message else "result")
        text = json.dumps(message, indent=1, ensure_ascii=False, default=str)
        if len(text) > CHAT_WIRE_TEXT:
            text = text[:CHAT_WIRE_TEXT] + f"\n... {len(text) - CHAT_WIRE_TEXT:,} more characters (server.trace)"
        items.append(f'<div style="margin:3px 0"><span style="{_CHAT_DIM}">{esc(direction)}</span> '
                     f'<code>{esc(method)}</code><pre style="{_CHAT_PRE};max-height:320px;overflow:auto">{esc(text)}</pre></div>')
    count = len(record.wire)
    return (f'<details style="margin-top:2px"><summary style="cursor:pointer;{_CHAT_DIM};font-size:12px">'
            f'the wire: {count} message{"s" if count != 1 else ""}, secrets masked</summary>{"".join(items)}</details>')


# How an approval label (CallRecord.approved) reads on a card, where the short one would puzzle.
_CHAT_APPROVALS = {"read-only": "allowed: read-only", "allowed": "allowed without asking",
                   "always": "allowed: always (this conversation)", "step limit": "not run: step limit",
                   "never": "refused: approve='never'", "nobody to ask": "refused: nobody to ask",
                   "denied": "denied (deny list)", "approve(): no": "refused by approve()",
                   "approve(): yes": "allowed by approve()", "asked: always": "asked: always allow"}


def chat_call(record: Any) -> str:
    """One tool call of a conversation as a card: server and tool, how it was approved, the arguments, the
    result (text, or a small table), its duration and the wire messages behind it."""
    state = record.state
    colour = _CHAT_ACCENT["running" if state in ("asking", "running") else state]
    state = "waiting for approval" if state == "asking" else state
    where = f"{record.server}.{record.tool}" if record.server else record.tool
    called = (f' <span style="{_CHAT_DIM}">called as</span> <code>{esc(record.model_name)}</code>'
              if record.model_name != record.tool else "")
    kind = " · destructive" if record.destructive else " · read-only" if record.read_only and \
        record.approved != "read-only" else ""  # the badge says it already
    took = f" · {record.seconds * 1000:,.0f} ms" if record.ran else ""
    approval = _chat_badge(_CHAT_APPROVALS.get(record.approved, record.approved or "asking"), _CHAT_ACCENT["ok" if record.allowed else
                                                                       "running" if not record.approved else "not run"])
    head = (f'<div style="display:flex;flex-wrap:wrap;gap:4px 8px;align-items:baseline">'
            f'<code style="font-weight:600;overflow-wrap:anywhere">{esc(where)}</code>{called}{approval}'
            f'<span style="{_CHAT_DIM}">{esc(state)}{esc(kind)}{esc(took)}</span></div>')
    return (f'<div class="mcpnb-chat-call" style="border-left:3px solid;border:1px solid var(--jp-border-color2,#e0e0e0);'
            f'border-left:3px solid {colour};border-radius:3px;padding:4px 8px;margin:4px 0;max-width:1000px">'
            f"{head}{_chat_arguments(record)}{_chat_result(record)}{_chat_wire(record)}</div>")


def _chat_turn(exchange: Any, live: bool) -> str:
    cells = [f'<div style="{_CHAT_DIM}">you</div>{_chat_prose(exchange.prompt)}']
    for step, reply in enumerate(exchange.replies, start=1):
        calls = [c for c in exchange.calls if c.step == step]
        final = step == len(exchange.replies) and not calls and exchange.stopped in ("end", "max_tokens")
        label = "answer" if final else f"step {step}"
        text = _chat_prose(reply.text) if reply.text else ""
        if not text and not calls:
            text = f'<div style="{_CHAT_DIM}">(no text)</div>'
        cells.append(f'<div style="{_CHAT_DIM}">{label}</div><div>{text}{"".join(chat_call(c) for c in calls)}</div>')
    if live and not exchange.stopped:
        pending = any(c.state in ("asking", "running") for c in exchange.calls if c.step == len(exchange.replies))
        if not pending:
            cells.append(f'<div></div><div style="{_CHAT_DIM};font-style:italic">waiting for the model …</div>')
    return f'<div style="{_CHAT_GRID}">{"".join(cells)}</div>'


def _chat_footer(exchange: Any) -> str:
    usage = exchange.usage
    calls = len(exchange.calls)
    stopped = exchange.stopped or "running"
    why = {"end": "the model finished", "step limit": f"stopped at the step limit ({exchange.max_steps} model "
                                                      "requests); later calls were not run",
           "max_tokens": "the reply hit its token limit", "interrupted": "interrupted"}.get(stopped, stopped)
    colour = _CHAT_ACCENT["error"] if stopped.startswith("error") else _CHAT_ACCENT["not run"] \
        if stopped in ("step limit", "max_tokens", "interrupted") else None
    said = f'<span style="border-left:3px solid {colour};padding-left:6px">{esc(why)}</span>' if colour else esc(why)
    return (f'<div style="{_CHAT_DIM};margin-top:6px;overflow-wrap:anywhere">{said} · {exchange.steps} model '
            f'request{"s" if exchange.steps != 1 else ""} · {calls} tool call{"s" if calls != 1 else ""} · '
            f"{usage.input_tokens:,} input and {usage.output_tokens:,} output tokens · {exchange.seconds:.1f} s</div>")


def chat_exchange(exchange: Any, *, live: bool = False) -> str:
    """One turn of a conversation: the prompt, each model step with its tool calls as cards, the answer,
    and the turn's tokens; the model named (a scripted stand-in as such). ``live``: while it runs."""
    notes = "".join(f'<div style="{_CHAT_DIM};overflow-wrap:anywhere">note: {esc(n)}</div>' for n in exchange.notes)
    head = (f'<div style="{_CHAT_DIM};margin:2px 0 6px;overflow-wrap:anywhere">turn {exchange.turn} · '
            f"{_model_named(exchange.model_label)}</div>")
    footer = _chat_footer(exchange) if exchange.stopped or not live else ""
    return _chat_box(head + notes + _chat_turn(exchange, live) + footer)


def _model_named(label: str) -> str:
    """A model's label; a scripted stand-in's mark made hard to miss (bold, behind a warning bar; the
    colourless border first, for untrusted notebooks, which drop styles that use var())."""
    marked = "(scripted stand-in, not a model)"
    if not label.endswith(marked):
        return esc(label)
    return (f'{esc(label[:-len(marked)].rstrip())} <b style="border-left:3px solid;border-left:3px solid '
            f'var(--jp-warn-color1);padding-left:4px;color:var(--jp-content-font-color0)">{esc(marked)}</b>')


def _chat_box(body: str) -> str:
    return ('<div class="mcpnb" style="font-family:var(--jp-ui-font-family,sans-serif);font-size:13px;'
            f'line-height:1.4;color:var(--jp-ui-font-color1,#212121);max-width:1100px">{body}</div>')


def chat_conversation(conversation: Any) -> str:
    """A whole conversation: each turn as ``chat_exchange`` draws it, under one heading."""
    exchanges = conversation.exchanges
    names = ", ".join(server.name for server in conversation.servers) or "none open"
    head = (f'<div style="font-weight:600;overflow-wrap:anywhere">conversation with '
            f"{_model_named(conversation.model.label)}</div>"
            f'<div style="{_CHAT_DIM};margin-bottom:6px;overflow-wrap:anywhere">servers: {esc(names)} · '
            f'{len(exchanges)} turn{"s" if len(exchanges) != 1 else ""}</div>')
    if not exchanges:
        return _chat_box(head + f'<div style="{_CHAT_DIM}">No turns yet: .ask("...")</div>')
    turns = "".join(f'<div style="border-top:1px solid var(--jp-border-color2,#e0e0e0);padding-top:4px;'
                    f'margin-top:6px">{chat_exchange(e)}</div>' for e in exchanges)
    return _chat_box(head + turns)


def chat_approval(label: str, record: Any) -> str:
    """The question before a tool that is not read-only runs: who wants to call what, with which arguments."""
    kind = "destructive" if record.destructive else "not read-only"
    return _chat_box(f'<div style="overflow-wrap:anywhere"><b>{esc(label)}</b> wants to call '
                     f'<code style="font-weight:600">{esc(record.server)}.{esc(record.tool)}</code> '
                     f'<span style="{_CHAT_DIM}">({kind})</span></div>{_chat_arguments(record)}')
