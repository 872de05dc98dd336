"""Snapshots and breaking-change diffs (mcpnb.snapshot), against real servers: in-process pairs made
here (MCPServer for what pydantic writes, low-level servers for exact JSON Schema), a demo server in
both protocol eras, and mcp-server-time from PyPI."""

import asyncio
import html
import json
import sys
from typing import Annotated, Any, Literal

import mcp_types as types
import pytest
from mcp.server import Server as LowLevelServer
from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel, Field

import mcpnb
from mcpnb.snapshot import FORMAT_VERSION, Snapshot, diff, load

from .test_third_party import EVERYTHING_JS, needs_everything


def rows(frame) -> list[tuple[str, str, str, bool]]:
    return [(row.kind, row.name, row.change, row.breaking) for row in frame.itertuples(index=False)]


def offering(name: str, *, version: str = "1.0", instructions: str | None = None, tools: list[dict] = (),
             resources: list[dict] | None = None, templates: list[dict] = (), prompts: list[dict] | None = None,
             logging: bool = False) -> LowLevelServer:
    """A low-level server that lists exactly these definitions (wire JSON); None: not offered at all."""

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[types.Tool.model_validate(t) for t in tools])

    async def list_resources(ctx: Any, params: Any) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=[types.Resource.model_validate(r) for r in resources])

    async def list_templates(ctx: Any, params: Any) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(
            resource_templates=[types.ResourceTemplate.model_validate(t) for t in templates])

    async def list_prompts(ctx: Any, params: Any) -> types.ListPromptsResult:
        return types.ListPromptsResult(prompts=[types.Prompt.model_validate(p) for p in prompts])

    async def set_level(ctx: Any, params: Any) -> types.EmptyResult:
        return types.EmptyResult()

    handlers: dict[str, Any] = {"on_list_tools": list_tools}
    if resources is not None:
        handlers.update(on_list_resources=list_resources, on_list_resource_templates=list_templates)
    if prompts is not None:
        handlers["on_list_prompts"] = list_prompts
    if logging:
        handlers["on_set_logging_level"] = set_level
    return LowLevelServer(name, version=version, instructions=instructions, **handlers)


# -- what pydantic writes: MCPServer v1 and v2 ------------------------------------------


def shop_v1() -> MCPServer:
    server = MCPServer("shop", version="1.0")

    class Item(BaseModel):
        id: int
        status: Literal["open", "closed"]
        note: str

    class Page(BaseModel):
        items: list[Item]
        total: int

    @server.tool()
    def search(query: str, limit: float = 10, category: Literal["a", "b", "c"] = "a", city: str | None = None) -> Page:
        """Search the shop."""
        return Page(items=[], total=0)

    @server.tool(annotations=types.ToolAnnotations(read_only_hint=True))
    def list_orders(status: str) -> list[str]:
        """List orders by status."""
        return []

    @server.tool()
    def fetch_order(order_id: int) -> str:
        """One order."""
        return ""

    return server


def shop_v2() -> MCPServer:
    server = MCPServer("shop", version="2.0")

    class Item(BaseModel):
        id: int
        status: Literal["open", "closed", "refunded"]
        note: str | None

    class Page(BaseModel):
        items: list[Item]
        next: int | None = None

    @server.tool()
    def search(query: Annotated[str, Field(min_length=2)], store: str, limit: Annotated[int, Field(le=100)] = 10,
               category: Literal["a", "b"] = "a", city: str = "", page: int = 1) -> Page:
        """Search the shop by words in the title."""
        return Page(items=[])

    @server.tool()
    def list_orders(status: str) -> list[str]:
        """List orders by status."""
        return []

    @server.tool()
    def get_order(order_id: int) -> str:
        """One order."""
        return ""

    return server


def test_pydantic_tools_changed_in_every_way_a_designer_changes_them():
    changes = diff(mcpnb.connect(shop_v1(), name="v1"), mcpnb.connect(shop_v2(), name="v2"))
    assert list(changes.columns) == ["kind", "name", "change", "breaking", "detail"]
    assert rows(changes) == [
        ("tool", "fetch_order", "removed (perhaps renamed to 'get_order')", True),
        ("tool", "list_orders", "no longer read-only, now destructive", True),
        ("tool", "search", "parameter 'category' enum values removed: 'c'", True),
        ("tool", "search", "parameter 'city' type narrowed: string|null -> string", True),
        ("tool", "search", "parameter 'limit' type narrowed: number -> integer", True),
        ("tool", "search", "parameter 'limit' maximum added: 100", True),
        ("tool", "search", "parameter 'query' minLength added: 2", True),
        ("tool", "search", "parameter 'store' added, required", True),
        ("tool", "search", "output schema changed: property 'items[].note' type widened: string -> string|null", True),
        ("tool", "search", "output schema changed: property 'items[].status' enum values added: 'refunded'", True),
        ("tool", "search", "output schema changed: property 'total' removed", True),
        ("server", "shop", "version changed: '1.0' -> '2.0'", False),
        ("tool", "get_order", "added (perhaps renamed from 'fetch_order')", False),
        ("tool", "search", "description changed", False),
        ("tool", "search", "parameter 'city' default changed: null -> ''", False),
        ("tool", "search", "parameter 'page' added, optional", False),
        ("tool", "search", "output schema changed: property 'next' added (not always present)", False),
    ]
    detail = dict(zip(changes.change, changes.detail))
    assert detail["parameter 'store' added, required"] == "Existing calls leave it out and will be refused."
    assert "as read-only, must now ask" in detail["no longer read-only, now destructive"]
    assert detail["description changed"].startswith("Was 'Search the shop.'; now 'Search the shop by words")
    assert changes.attrs["old"]["version"] == "1.0" and changes.attrs["new"]["name"] == "shop"


# -- exact JSON Schema: low-level servers ------------------------------------------------

BOOK_V1 = {"name": "book", "description": "Book seats.", "inputSchema": {
    "type": "object",
    "properties": {
        "when": {"type": "string"},
        "seats": {"type": "integer", "minimum": 1, "maximum": 10},
        "code": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "guest": {"type": "object", "properties": {"name": {"type": "string"}, "email": {"type": "string"}},
                  "required": ["name"]},
        "price": {"type": "number", "multipleOf": 0.01},
        "mode": {"const": "fast"},
        "odd": {"not": {"type": "null"}},
    },
    "required": ["when"]}}
BOOK_V2 = {"name": "book", "description": "Book seats.", "inputSchema": {
    "type": "object",
    "properties": {
        "when": {"type": "string", "format": "date-time"},
        "seats": {"type": "integer", "minimum": 2, "maximum": 20},
        "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 20}, "maxItems": 5},
        "guest": {"type": "object", "properties": {"name": {"type": "string"}, "email": {"type": "string"}},
                  "required": ["name", "email"], "additionalProperties": False},
        "price": {"type": "number", "multipleOf": 0.05},
        "mode": {"const": "slow"},
        "odd": {"not": {"type": "string"}},
    },
    "required": ["when"], "additionalProperties": False}}
WIDEN_V1 = {"name": "widen", "inputSchema": {"type": "object", "required": ["n", "s"], "properties": {
    "n": {"type": "integer", "maximum": 5}, "s": {"type": "string", "enum": ["a", "b"]}}}}
WIDEN_V2 = {"name": "widen", "inputSchema": {"type": "object", "required": ["n"], "properties": {
    "n": {"type": "number"}, "s": {"type": ["string", "null"], "enum": ["a", "b", "c", None]}}}}
ROW = {"type": "object", "properties": {"id": {"type": "integer"}, "kind": {"type": "string", "enum": ["a", "b"]}},
       "required": ["id", "kind"]}
REPORT_V1 = {"name": "report", "inputSchema": {"type": "object"}, "outputSchema": {
    "type": "object", "required": ["rows", "total"], "$defs": {"Row": ROW},
    "properties": {"rows": {"type": "array", "items": {"$ref": "#/$defs/Row"}}, "total": {"type": "integer"}}}}
REPORT_V2 = {"name": "report", "inputSchema": {"type": "object"}, "outputSchema": {
    "type": "object", "required": ["rows"],
    "properties": {"rows": {"type": "array", "items": {**ROW, "properties": {
        "id": {"type": ["integer", "string"]}, "kind": {"type": "string", "enum": ["a"]}}}},
        "total": {"type": "integer"}}}}
NODE = {"type": "object", "properties": {"name": {"type": "string"},
                                         "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}
TREE_V1 = {"name": "tree", "inputSchema": {"type": "object"},
           "outputSchema": {"type": "object", "$defs": {"Node": NODE}, "properties": {"root": {"$ref": "#/$defs/Node"}}}}
TREE_V2 = {"name": "tree", "inputSchema": {"type": "object"}, "outputSchema": {
    "type": "object", "properties": {"root": {"$ref": "#/$defs/Node"}},
    "$defs": {"Node": {**NODE, "properties": {**NODE["properties"], "name": {"type": "string", "maxLength": 10}}}}}}
HINTS_V1 = {"name": "hints", "inputSchema": {"type": "object"}, "outputSchema": {"type": "object"},
            "annotations": {"readOnlyHint": False, "destructiveHint": False, "idempotentHint": True}}
HINTS_V2 = {"name": "hints", "inputSchema": {"type": "object"},
            "annotations": {"destructiveHint": True, "idempotentHint": False, "openWorldHint": False}}


@pytest.mark.filterwarnings("ignore:The logging capability is deprecated")
def test_json_schema_keywords_nested_refs_annotations_resources_templates_prompts_capabilities():
    old = offering(
        "desk", instructions="Book seats.", logging=True,
        tools=[BOOK_V1, WIDEN_V1, REPORT_V1, TREE_V1, HINTS_V1],
        resources=[{"uri": "shop://a", "name": "a", "mimeType": "text/plain"}, {"uri": "shop://b", "name": "b"},
                   {"uri": "shop://report/2025", "name": "report", "mimeType": "text/csv"},
                   {"uri": "shop://c", "name": "c", "size": 10, "annotations": {"lastModified": "2025-01-01T00:00:00Z"}}],
        templates=[{"uriTemplate": "shop://orders/{id}", "name": "order"}],
        prompts=[{"name": "draft", "arguments": [{"name": "topic", "required": True}, {"name": "tone"}]},
                 {"name": "old"}])
    new = offering(
        "desk", version="1.1", instructions="Book seats; codes are three capitals.",
        tools=[BOOK_V2, WIDEN_V2, REPORT_V2, TREE_V2, HINTS_V2],
        resources=[{"uri": "shop://a", "name": "a", "mimeType": "application/json"},
                   {"uri": "shop://reports/2025", "name": "report", "mimeType": "text/csv"},
                   {"uri": "shop://c", "name": "c", "size": 20, "annotations": {"lastModified": "2026-01-01T00:00:00Z"}},
                   {"uri": "shop://d", "name": "d"}],
        templates=[{"uriTemplate": "shop://orders/{id}/{lang}", "name": "order", "description": "In a language."}],
        prompts=[{"name": "draft", "arguments": [{"name": "topic", "required": True},
                                                 {"name": "tone", "required": True},
                                                 {"name": "audience", "required": True}, {"name": "length"}]}])
    changes = diff(mcpnb.connect(old, name="v1", protocol="2025-11-25"),
                   mcpnb.connect(new, name="v2", protocol="2025-11-25"))
    assert rows(changes) == [
        ("server", "desk", "capability 'logging' removed", True),
        ("tool", "book", "parameter 'code' pattern added: '^[A-Z]{3}$'", True),
        ("tool", "book", "parameter 'guest.email' now required", True),
        ("tool", "book", "parameter 'guest' no longer accepts other properties", True),
        ("tool", "book", "parameter 'mode' const changed: 'fast' -> 'slow'", True),
        ("tool", "book", "parameter 'odd' keyword 'not' changed (not analysed)", True),
        ("tool", "book", "parameter 'price' multipleOf changed: 0.01 -> 0.05", True),
        ("tool", "book", "parameter 'seats' minimum raised: 1 -> 2", True),
        ("tool", "book", "parameter 'tags' maxItems added: 5", True),
        ("tool", "book", "parameter 'tags[]' maxLength added: 20", True),
        ("tool", "book", "parameter 'when' format added: 'date-time'", True),
        ("tool", "book", "input schema no longer accepts undeclared properties", True),
        ("tool", "hints", "output schema removed", True),
        ("tool", "hints", "now destructive", True),
        ("tool", "hints", "no longer idempotent", True),
        ("tool", "report", "output schema changed: property 'rows[].id' type widened: integer -> string|integer", True),
        ("tool", "report", "output schema changed: property 'total' no longer required", True),
        ("resource", "shop://a", "mime type changed: 'text/plain' -> 'application/json'", True),
        ("resource", "shop://b", "removed", True),
        ("resource", "shop://report/2025", "URI changed: 'shop://report/2025' -> 'shop://reports/2025'", True),
        ("template", "shop://orders/{id}",
         "URI template changed: 'shop://orders/{id}' -> 'shop://orders/{id}/{lang}' (variables {id} -> {id, lang})",
         True),
        ("prompt", "draft", "argument 'tone' now required", True),
        ("prompt", "draft", "argument 'audience' added, required", True),
        ("prompt", "old", "removed", True),
        ("server", "desk", "version changed: '1.0' -> '1.1'", False),
        ("server", "desk", "instructions changed", False),
        ("tool", "book", "parameter 'seats' maximum raised: 10 -> 20", False),
        ("tool", "hints", "now closed-world", False),
        ("tool", "report", "output schema changed: property 'rows[].kind' enum values removed: 'b'", False),
        ("tool", "tree", "output schema changed: property 'root.name' maxLength added: 10", False),
        ("tool", "widen", "parameter 'n' type widened: integer -> number", False),
        ("tool", "widen", "parameter 'n' maximum removed (was 5)", False),
        ("tool", "widen", "parameter 's' now optional", False),
        ("tool", "widen", "parameter 's' type widened: string -> string|null", False),
        ("tool", "widen", "parameter 's' enum values added: 'c'", False),
        ("resource", "shop://d", "added", False),
        ("template", "shop://orders/{id}", "description changed", False),
        ("prompt", "draft", "argument 'length' added, optional", False),
    ]
    detail = dict(zip(changes.change, changes.detail))
    assert "lose it" in detail["capability 'logging' removed"] or "log messages" in detail["capability 'logging' removed"]
    assert detail["output schema changed: property 'total' no longer required"] == \
        "Clients that read it may not find it."
    assert "does not analyse 'not'" in detail["parameter 'odd' keyword 'not' changed (not analysed)"]


def test_nothing_changed_is_an_empty_table_with_the_columns():
    server = offering("same", tools=[BOOK_V1, REPORT_V1, TREE_V1], resources=[], prompts=[])
    changes = diff(mcpnb.connect(server, name="a"), mcpnb.connect(server, name="b"))
    assert changes.empty and list(changes.columns) == ["kind", "name", "change", "breaking", "detail"]
    assert changes["breaking"].dtype == bool


def test_the_table_shows_whole_sentences_and_escapes_what_the_server_wrote():
    old = offering("desk", tools=[{**WIDEN_V1, "description": "<script>alert(1)</script> Adds two numbers."}])
    new = offering("desk", tools=[{**WIDEN_V2, "description": "<b>Adds</b> numbers."}])
    changes = diff(mcpnb.connect(old, name="v1"), mcpnb.connect(new, name="v2"))
    shown = changes._repr_html_()
    assert "<script>" not in shown and "<b>Adds" not in shown
    assert "Was '<script>alert(1)</script> Adds two numbers.'" in html.unescape(shown)  # escaped, whole
    assert "parameter 's' type widened: string -> string|null" in html.unescape(shown)  # not cut at 50
    described = changes[changes.change == "description changed"]
    assert type(described) is type(changes) and described.attrs["old"]["name"] == "desk"


# -- files -------------------------------------------------------------------------------


def test_snapshot_round_trip_and_where_it_is_written(tmp_path, monkeypatch):
    live = mcpnb.connect(shop_v1(), name="shop/v1")
    monkeypatch.chdir(tmp_path)
    assert live.snapshot("relative.json").path == tmp_path / "relative.json"
    written = live.snapshot()
    assert written.path == tmp_path / "shop_v1.snapshot.json" and written.path.is_file()
    (tmp_path / "folder").mkdir()
    assert live.snapshot(tmp_path / "folder").path == tmp_path / "folder" / "shop_v1.snapshot.json"
    again = asyncio.run(live.asnapshot(tmp_path / "mine.json"))  # the async twin, from another event loop
    assert again.path == tmp_path / "mine.json"
    assert {**again.data, "taken_at": ""} == {**written.data, "taken_at": ""}

    loaded = load(written.path)
    assert loaded.data == written.data and Snapshot.load(str(written.path)).data == written.data
    assert [t["name"] for t in loaded.tools] == ["fetch_order", "list_orders", "search"]
    assert loaded.server["protocol_version"] == "2026-07-28" and loaded.server["era"] == "stateless"
    assert repr(loaded) == (f"<Snapshot of shop 1.0 (protocol 2026-07-28, stateless): 3 tools, 0 resources, "
                            f"0 templates, 0 prompts; taken {loaded.taken_at}, in {written.path}>")
    assert diff(written.path, live).empty and diff(str(written.path), loaded).empty
    data = json.loads(written.path.read_text())
    assert (data["format"], data["format_version"]) == ("mcpnb.snapshot", FORMAT_VERSION)
    search = next(t for t in data["tools"] if t["name"] == "search")
    assert search["inputSchema"]["properties"]["limit"] == {"default": 10, "title": "Limit", "type": "number"}


def test_a_demo_snapshots_byte_for_byte_but_the_time_and_its_eras_differ_only_in_protocol(tmp_path):
    first = mcpnb.connect("demo:crm", name="crm-a").snapshot(tmp_path / "a.json")
    second = mcpnb.connect("demo:crm", name="crm-b").snapshot(tmp_path / "b.json")  # another server process
    a, b = first.path.read_text().splitlines(), second.path.read_text().splitlines()
    assert len(a) == len(b) > 1000
    times = [number for number, line in enumerate(a) if line.startswith('  "taken_at": ')]
    assert len(times) == 1 and a[times[0]] == f'  "taken_at": "{first.taken_at}",'
    assert [number for number, (x, y) in enumerate(zip(a, b)) if x != y] in ([], times)
    assert "python" not in first.path.read_text() and "mcpnb.demo" not in first.path.read_text()

    handshake = mcpnb.connect("demo:crm", protocol="2025-11-25", name="crm-2025").snapshot(tmp_path / "c.json")
    changes = diff(handshake, second)
    assert rows(changes) == [
        ("server", "crm", "protocol changed: 2025-11-25 (handshake) -> 2026-07-28 (stateless)", False),
        ("server", "crm", "capability 'extensions.io.modelcontextprotocol/ui' added", False),
        ("server", "crm", "capability 'prompts.listChanged' added", False),
        ("server", "crm", "capability 'resources.listChanged' added", False),
        ("server", "crm", "capability 'tools.listChanged' added", False),
    ]
    back = diff(second, handshake)
    assert set(back[back.breaking].change) == {f"capability '{k}' removed" for k in (
        "extensions.io.modelcontextprotocol/ui", "prompts.listChanged", "resources.listChanged", "tools.listChanged")}
    assert set(back.kind) == {"server"}


def test_mcp_server_time_from_pypi_snapshots_without_its_command_or_env(tmp_path):
    token = "tok-4f1c9a7e2b"
    server = mcpnb.connect([sys.executable, "-m", "mcp_server_time", "--local-timezone", "Europe/Lisbon"],
                           name="time", env={"TIME_API_TOKEN": token})
    written = server.snapshot(tmp_path)
    text = written.path.read_text()
    assert written.path.name == "time.snapshot.json"
    assert token not in text and sys.executable not in text and "mcp_server_time" not in text
    assert written.name == "mcp-time" and [t["name"] for t in written.tools] == ["convert_time", "get_current_time"]
    assert diff(written.path, server).empty


@needs_everything
def test_server_everything_from_npm_snapshots_and_diffs_clean_against_itself(tmp_path):
    server = mcpnb.connect(["node", str(EVERYTHING_JS), "stdio"], name="everything")
    written = server.snapshot(tmp_path)
    assert len(written.tools) == len(server.tools) > 5 and written.prompts and written.templates
    assert diff(written.path, server).empty  # its resources, templates and prompts round-trip too


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("content, message", [
    (None, r"No snapshot file at .*missing\.json"),
    ("{not json", r"is not a snapshot: it is not JSON \(Expecting property name"),
    ('{"mcpServers": {}}', r"is not an mcpnb snapshot \(it has no \"format\": \"mcpnb.snapshot\"\)"),
    ('{"format": "mcpnb.snapshot", "format_version": 99, "mcpnb": "9.0"}',
     r"was written by a newer mcpnb \(9\.0, snapshot format 99\); this mcpnb \(.*\) reads format 1"),
    ('{"format": "mcpnb.snapshot", "format_version": 1, "taken_at": "now", "server": {}, "tools": [{}],'
     ' "resources": [], "templates": [], "prompts": []}', r"is not a usable snapshot: tools\[0\] has no name"),
])
def test_files_that_are_not_snapshots_say_so(tmp_path, content, message):
    path = tmp_path / "missing.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(mcpnb.ConfigError, match=message) as raised:
        load(path)
    assert raised.value.hint


def test_other_mistakes_are_config_errors(tmp_path):
    live = mcpnb.connect(shop_v1(), name="v1")
    with pytest.raises(mcpnb.ConfigError, match="is a folder, not a snapshot file"):
        load(tmp_path)
    with pytest.raises(mcpnb.ConfigError, match="diff\\(\\) compares snapshots, snapshot files and live servers; "
                                                "new is a int"):
        diff(live, 42)
    with pytest.raises(mcpnb.ConfigError, match="Could not write the snapshot to .*nowhere"):
        live.snapshot(tmp_path / "nowhere" / "x.json")
