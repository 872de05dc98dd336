"""The renderer against a hostile server: markup in every field it controls never becomes markup."""

from __future__ import annotations

import base64
from html.parser import HTMLParser

import mcp_types as types
import pytest
from mcp.server import Server as LowLevelServer

import mcpnb

ATTACKS = ['<script>alert(1)</script>', '" onerror="alert(2)', "<img src=x onerror=alert(3)>",
           "javascript:alert(4)", "</table><iframe src=//evil>"]
EVIL = " ".join(ATTACKS)
ALLOWED_TAGS = {"style", "div", "table", "thead", "tbody", "tr", "th", "td", "pre", "code", "a", "img", "audio",
                "span", "b", "i"}


class Structure(HTMLParser):
    """Every tag and attribute a browser would see."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def assert_safe(markup: str) -> None:
    parsed = Structure()
    parsed.feed(markup)
    for tag, attrs in parsed.tags:
        assert tag in ALLOWED_TAGS, (tag, attrs)
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if "href" in attrs:
            assert attrs["href"].startswith(("http://", "https://")), attrs
        if tag in ("img", "audio"):
            assert attrs["src"].startswith(("data:image/png;", "data:image/svg+xml;", "data:audio/wav;")), attrs
    assert "<script" not in markup.lower() and "<iframe" not in markup.lower()


def hostile_server() -> LowLevelServer:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()
    svg = base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(5)</script></svg>').decode()

    async def list_tools(ctx, params):
        return types.ListToolsResult(tools=[types.Tool(
            name="evil_tool", title=EVIL, description=EVIL,
            input_schema={"type": "object", "properties": {EVIL: {"type": "string"}}},
            annotations=types.ToolAnnotations(title=EVIL, destructive_hint=True))])

    async def call_tool(ctx, params):
        if params.arguments and params.arguments.get("mode") == "error":
            return types.CallToolResult(content=[types.TextContent(type="text", text=EVIL)], is_error=True)
        if params.arguments and params.arguments.get("mode") == "table":
            return types.CallToolResult(content=[types.TextContent(type="text", text="[]")],
                                        structured_content={"result": [{EVIL: EVIL, "n": 1}] * 60})
        return types.CallToolResult(content=[
            types.TextContent(type="text", text=EVIL),
            types.ImageContent(type="image", data=png, mime_type="image/png"),
            types.ImageContent(type="image", data=svg, mime_type="image/svg+xml"),
            types.ImageContent(type="image", data=png, mime_type='image/png" onerror="alert(6)'),
            types.ImageContent(type="image", data='x" onerror="alert(7)', mime_type="image/png"),
            types.AudioContent(type="audio", data=png, mime_type="audio/wav"),
            types.ResourceLink(type="resource_link", uri="javascript:alert(8)", name=EVIL, description=EVIL),
            types.ResourceLink(type="resource_link", uri="https://example.com/a?b=<c>", name=EVIL),
            types.EmbeddedResource(type="resource", resource=types.TextResourceContents(
                uri="file:///<script>", mime_type="text/plain", text=EVIL)),
        ])

    async def list_resources(ctx, params):
        return types.ListResourcesResult(resources=[types.Resource(uri="evil://x", name=EVIL, title=EVIL,
                                                                   description=EVIL)])

    async def read_resource(ctx, params):
        return types.ReadResourceResult(contents=[types.TextResourceContents(uri=params.uri, text=EVIL,
                                                                             mime_type="text/plain")])

    async def list_prompts(ctx, params):
        return types.ListPromptsResult(prompts=[types.Prompt(name="evil_prompt", description=EVIL, arguments=[
            types.PromptArgument(name="x", description=EVIL)])])

    async def get_prompt(ctx, params):
        return types.GetPromptResult(description=EVIL, messages=[
            types.PromptMessage(role="user", content=types.TextContent(type="text", text=EVIL))])

    return LowLevelServer(EVIL, version=EVIL, instructions=EVIL, on_list_tools=list_tools, on_call_tool=call_tool,
                          on_list_resources=list_resources, on_read_resource=read_resource,
                          on_list_prompts=list_prompts, on_get_prompt=get_prompt)


@pytest.fixture
def hostile():
    return mcpnb.connect(hostile_server(), name="hostile")


def test_every_field_a_server_controls_is_escaped(hostile):
    shown = {
        "server": hostile._repr_html_(),
        "tools": hostile.tools._repr_html_(),
        "blocks": hostile.call("evil_tool", validate=False)._repr_html_(),
        "error": hostile.call("evil_tool", {"mode": "error"}, validate=False)._repr_html_(),
        "table": hostile.call("evil_tool", {"mode": "table"}, validate=False)._repr_html_(),
        "resources": hostile.resources._repr_html_(),
        "read": hostile.read("evil://x")._repr_html_(),
        "prompts": hostile.prompts._repr_html_(),
        "prompt": hostile.prompt("evil_prompt", x="1")._repr_html_(),
    }
    for name, markup in shown.items():
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup, name  # shown, as text
        assert_safe(markup)


def test_what_is_shown_and_how(hostile):
    blocks = hostile.call("evil_tool", validate=False)._repr_html_()
    assert blocks.count("<img ") == 2  # png and svg, both as data URIs; the two forged ones refused
    assert '<img src="data:image/svg+xml;base64,' in blocks and "<svg" not in blocks
    assert blocks.count('class="note">[image of type') == 2
    assert "<audio controls" in blocks
    assert '<a href="https://example.com/a?b=&lt;c&gt;"' in blocks
    assert 'href="javascript' not in blocks and '<span class="note">javascript:alert(8)</span>' in blocks
    error = hostile.call("evil_tool", {"mode": "error"}, validate=False)._repr_html_()
    assert 'class="error"' in error
    table = hostile.call("evil_tool", {"mode": "table"}, validate=False)._repr_html_()
    assert table.count("<tr>") == 51 and "showing 50 of 60 rows" in table


def test_long_text_is_cut_with_a_note():
    from mcp.server.mcpserver import MCPServer

    long_server = MCPServer("long")

    @long_server.tool(structured_output=False)
    def essay() -> str:
        return "word " * 5000

    markup = mcpnb.connect(long_server).call("essay")._repr_html_()
    assert "more characters: the whole text is in .text" in markup and len(markup) < 8000


def test_every_colour_follows_the_theme():
    """Dark theme: a fixed light background under theme-coloured text was unreadable (error boxes,
    badges). Every colour mcpnb's HTML and widgets set is a JupyterLab theme variable; a literal
    colour appears only as that variable's fallback (outside JupyterLab)."""
    import re
    from pathlib import Path

    package = Path(mcpnb.__file__).parent
    widgets = package / "widgets"
    for path in [package / "render.py", *sorted([*widgets.glob("*.py"), *widgets.glob("*.css"), *widgets.glob("*.js")])]:
        text = path.read_text()
        for match in re.finditer(r"#[0-9a-fA-F]{3,6}\b", text):
            before = text[max(0, match.start() - 60):match.start()]
            assert re.search(r"var\(--jp-[a-z0-9-]+,\s*$", before), f"{path.name}: a fixed colour {match.group()}"


def test_an_image_result_carries_its_image_in_the_mimebundle(hostile):
    """Exports, "copy image" and frontends without HTML need the image itself, not only markup."""
    result = hostile.call("evil_tool", validate=False)
    bundle = result._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"]) == b"\x89PNG\r\n\x1a\n"  # the first valid raster image
    assert "image/svg+xml" not in bundle and bundle["text/html"] == result._repr_html_()
    assert bundle["text/plain"].startswith("<ToolResult hostile.evil_tool ok")
    from IPython.core.formatters import DisplayFormatter

    shown, _ = DisplayFormatter().format(result)
    assert "image/png" in shown and "text/html" in shown  # what IPython hands to the frontend
    text_only = hostile.call("evil_tool", {"mode": "error"}, validate=False)._repr_mimebundle_()
    assert set(text_only) == {"text/plain", "text/html"}


def test_a_single_record_reads_as_fields_and_nested_lists_as_tables():
    """get_lead showed as one row about 250 px tall, its history as a Python repr."""
    import pandas as pd

    record = pd.DataFrame([{"title": EVIL, "stage": "won", "history": [{"stage": "new", "at": "2026-01-02"},
                                                                       {"stage": EVIL, "at": "2026-02-03"}],
                            "tags": ["a", EVIL], "owner": {"name": EVIL}}])
    markup = mcpnb.render.table(record)
    assert markup.startswith("<table class='record'>") and "<th>stage</th><td>won</td>" in markup
    assert "<table class='nested'><thead><tr><th>stage</th><th>at</th>" in markup
    assert "[{'" not in markup and "{'" not in markup  # no Python reprs on the page
    assert_safe(markup)
    rows = mcpnb.render.table(pd.DataFrame([{"a": 1, "b": [1, 2]}, {"a": 2, "b": [3]}]))
    assert "<thead><tr><th>a</th><th>b</th>" in rows and "<td>1, 2</td>" in rows


def test_a_tool_description_reads_as_prose():
    """Descriptions showed in monospace with the docstring's indentation, breaking mid-word."""
    import mcp_types as types

    from mcpnb.listings import Tool

    raw = types.Tool(name="merge", title="Merge", input_schema={"type": "object"},
                     description="Merge two tickets.\n\n    The second is closed,\n    and its notes are kept.")
    markup = mcpnb.render.tool_heading(Tool.from_sdk(raw))
    assert '<div class="prose">Merge two tickets.\n\nThe second is closed,\nand its notes are kept.</div>' in markup
    assert "<pre>" not in markup
