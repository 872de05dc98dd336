"""Listings (complete, refreshed on change) and what calls, reads and prompts return."""

from __future__ import annotations

import json
import time

import mcp_types as types
import pytest
from mcp.server import Server as LowLevelServer

import mcpnb

from .conftest import FAULTY


def test_tools_listing_behaves_like_a_collection(helpdesk):
    tools = helpdesk.tools
    assert len(tools) == 11  # nine, plus summarise_enquiry (sampling) and export_orders (roots)
    assert [t.name for t in tools] == tools.names
    assert "refund_order" in tools and "refund" not in tools
    refund = tools["refund_order"]
    assert refund in tools
    assert (refund.title, refund.annotations.destructive_hint, refund.annotations.read_only_hint) == (
        "Refund an order", True, False)
    assert refund.description.startswith("Refund a paid order in full")
    assert refund.input_schema["required"] == ["order_id", "reason"]
    assert refund.output_schema["title"] == "Order"
    assert tools[0].name == tools.names[0]
    assert repr(tools).startswith("<11 tools of 'helpdesk': search_events, get_event")


def test_resources_templates_prompts(helpdesk):
    uris = [r.uri for r in helpdesk.resources]
    assert uris[:2] == ["helpdesk://policies/refunds", "helpdesk://venues"]  # then every open enquiry
    assert len(uris) > 100 and all(u.startswith("helpdesk://enquiries/") for u in uris[2:])
    assert helpdesk.resources["helpdesk://venues"] is helpdesk.resources["venues"]
    assert [t.uri_template for t in helpdesk.templates] == [
        "helpdesk://events/{event_id}", "helpdesk://orders/{order_id}", "helpdesk://enquiries/{enquiry_id}"]
    prompt = helpdesk.prompts["draft_reply"]
    assert [(a.name, a.required) for a in prompt.arguments] == [("enquiry_id", True), ("tone", False)]


def test_tool_result_fields(helpdesk):
    result = helpdesk.call("get_order", order_id=42)
    assert not result.is_error and result.raise_for_error() is result
    assert result.structured["id"] == 42
    assert json.loads(result.text) == result.structured == result.data
    assert isinstance(result.content[0], types.TextContent)
    assert (result.server, result.tool, result.arguments) == ("helpdesk", "get_order", {"order_id": 42})
    assert result.elapsed > 0 and result.protocol_version == "2026-07-28"
    assert repr(result).startswith("<ToolResult helpdesk.get_order ok (text, structured)")


def test_tool_error_result(helpdesk):
    result = helpdesk.call("refund_order", order_id=10**9, reason="duplicate")
    assert result.is_error and "There is no order 1000000000." in result.text
    with pytest.raises(mcpnb.ToolError):
        result.raise_for_error()


def test_read_prompt_complete(helpdesk):
    policy = helpdesk.read("helpdesk://policies/refunds")
    assert policy.mime_type == "text/markdown" and policy.text.startswith("# Refund policy")
    assert json.loads(helpdesk.read("helpdesk://enquiries/7").text)["id"] == 7
    with pytest.raises(mcpnb.ServerError, match="There is no order 0"):
        helpdesk.read("helpdesk://orders/0")
    rendered = helpdesk.prompt("draft_reply", {"enquiry_id": 12}, tone="brief")
    assert rendered.messages[0].role == "user" and "Draft a brief reply" in rendered.text
    with pytest.raises(mcpnb.InvalidArguments, match=r"(?s)prompt .draft_reply.*enquiry_id: required, missing"):
        helpdesk.prompt("draft_reply", tone="brief")
    with pytest.raises(mcpnb.NotFound, match="did you mean 'draft_reply'"):
        helpdesk.prompt("draft_replies")
    assert helpdesk.complete("prompt:draft_reply", "tone", "fr").values == ["friendly"]
    order_ids = helpdesk.complete(helpdesk.templates["order_resource"], "order_id", "12")
    assert len(order_ids) == 100 and order_ids.has_more and all(v.startswith("12") for v in order_ids)


def paged_server(pages: int, *, repeat_cursor: bool = False) -> LowLevelServer:
    """A low-level server that lists its tools 3 per page."""
    names = [f"tool_{i:02d}" for i in range(pages * 3)]

    async def list_tools(ctx, params):
        start = int(params.cursor) if params and params.cursor else 0
        chunk = names[start:start + 3]
        following = start + 3 if start + 3 < len(names) else None
        cursor = "0" if repeat_cursor and following else (str(following) if following else None)
        tools = [types.Tool(name=n, input_schema={"type": "object", "properties": {}}) for n in chunk]
        return types.ListToolsResult(tools=tools, next_cursor=cursor)

    async def call_tool(ctx, params):
        return types.CallToolResult(content=[types.TextContent(type="text", text=params.name)])

    return LowLevelServer("paged", on_list_tools=list_tools, on_call_tool=call_tool)


@pytest.mark.parametrize("protocol", [None, "2025-11-25"])
def test_every_page_is_fetched(protocol):
    server = mcpnb.connect(paged_server(7), protocol=protocol)
    assert len(server.tools) == 21 and server.tools.names[-1] == "tool_20"
    assert server.call("tool_19").text == "tool_19"


def test_a_cursor_that_repeats_is_a_protocol_error():
    server = mcpnb.connect(paged_server(3, repeat_cursor=True))
    with pytest.raises(mcpnb.ProtocolError, match="same page cursor twice"):
        server.tools


@pytest.mark.parametrize("protocol", [None, "2025-11-25"])
def test_listing_refreshes_when_the_server_says_it_changed(protocol):
    server = mcpnb.connect(FAULTY, name="faulty", protocol=protocol)
    assert "fresh" not in server.tools
    server.call("add_tool", name="fresh")
    deadline = time.monotonic() + 5
    while "fresh" not in server.tools and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "fresh" in server.tools
    assert server.call("fresh").text == "I am fresh"


def test_calling_a_tool_the_listing_does_not_have_yet_refetches_once():
    from mcp.server.mcpserver import MCPServer

    designer = MCPServer("designer")
    designer.add_tool(lambda: "one", name="first")
    server = mcpnb.connect(designer, protocol="2025-11-25")
    assert server.tools.names == ["first"]
    designer.add_tool(lambda: "two", name="second")  # no notice is sent for this
    assert server.call("second").text == "two"
    assert server.tools.names == ["first", "second"]
    with pytest.raises(mcpnb.NotFound, match="has no tool 'third'"):
        server.call("third")


def test_arguments_are_checked_against_the_schema_listed_now_not_the_one_of_the_last_call():
    # Calls keep what checking a tool's arguments needs while its listing stands (see Session._checks_for);
    # a listing fetched again brings the tool's new schema to the next call's check.
    from mcp.server.mcpserver import MCPServer

    designer = MCPServer("designer")
    designer.add_tool(lambda name: f"hello {name}", name="greet")
    server = mcpnb.connect(designer, protocol="2025-11-25")
    assert server.call("greet", name="Ada").text == "hello Ada"
    designer.remove_tool("greet")

    def greet(times: int) -> str:
        return " ".join(["hi"] * times)

    designer.add_tool(greet)
    with pytest.raises(mcpnb.InvalidArguments, match="times: not an argument of this tool"):
        server.call("greet", times=2, name="Ada")  # the old listing stands: it does not know times
    server.refresh()
    assert server.call("greet", times=2).text == "hi hi"
    with pytest.raises(mcpnb.InvalidArguments, match="name: not an argument of this tool"):
        server.call("greet", name="Ada")


def test_a_template_expands_by_rfc_6570(helpdesk):
    template = helpdesk.templates["event_resource"]
    assert template.variables == ["event_id"]
    assert template.expand(event_id=7) == "helpdesk://events/7"
    assert template.expand(event_id="a/b é?") == "helpdesk://events/a%2Fb%20%C3%A9%3F"
    assert '"id":7' in helpdesk.read(template.expand(event_id=7)).text.replace(" ", "")
