"""Results as DataFrames: each rule of mcpnb.frames, on payloads shaped like real servers' output."""

from __future__ import annotations

import base64
import json
from typing import Any

import mcp_types as types
import pandas as pd
import pytest
from mcp.server.mcpserver import MCPServer

import mcpnb

RECORDS = [{"id": 1, "title": "Jazz", "starts_at": "2026-04-07T13:00:00", "venue": {"name": "Hall", "city": "Oslo"}},
           {"id": 2, "title": "Folk", "starts_at": "2026-05-01T20:30:00", "venue": {"name": "Dock", "city": "Porto"}}]


def payload_server() -> MCPServer:
    """Tools that answer with the shapes real servers use."""
    server = MCPServer("shapes")

    @server.tool(structured_output=True)
    def sdk_list() -> list[dict[str, Any]]:  # the Python SDK wraps a returned list as {"result": [...]}
        return RECORDS

    @server.tool(structured_output=True)
    def paged() -> dict[str, Any]:  # a paginated envelope
        return {"items": RECORDS, "total": 40, "next_cursor": "abc"}

    @server.tool(structured_output=True)
    def columns() -> dict[str, Any]:
        return {"city": ["Oslo", "Porto", "Lyon"], "visitors": [10, 20, 30]}

    @server.tool(structured_output=True)
    def converted() -> dict[str, Any]:  # mcp-server-time's convert_time: one nested record
        return {"source": {"timezone": "Europe/Lisbon", "datetime": "2026-11-22T14:30:00+00:00"},
                "target": {"timezone": "Asia/Tokyo", "datetime": "2026-11-22T23:30:00+09:00"},
                "time_difference": "+9.0h"}

    @server.tool(structured_output=False)
    def json_text() -> str:  # many servers: a JSON array as text
        return json.dumps(RECORDS)

    @server.tool(structured_output=False)
    def ndjson_text() -> str:
        return "\n".join(json.dumps({"level": lvl, "n": i}) for i, lvl in enumerate(["info", "warn", "error"]))

    @server.tool(structured_output=False)
    def csv_text() -> str:
        return "city,visitors,opened\nOslo,10,2026-01-02\nPorto,20,2026-02-03\n"

    @server.tool(structured_output=False)
    def tsv_text() -> str:
        return "city\tvisitors\nOslo\t10\nPorto\t20\n"

    @server.tool(structured_output=False)
    def embedded_csv() -> list:
        return [types.EmbeddedResource(type="resource", resource=types.TextResourceContents(
            uri="report://visitors", mime_type="text/csv", text="city;visitors\nOslo;10\n".replace(";", ",")))]

    @server.tool(structured_output=False)
    def blocks() -> list:  # one JSON object per text block
        return [types.TextContent(type="text", text=json.dumps(r)) for r in RECORDS]

    @server.tool(structured_output=False)
    def prose() -> str:
        return "Everything is fine. Nothing to tabulate here."

    @server.tool(structured_output=False)
    def picture() -> list:
        return [types.ImageContent(type="image", data=base64.b64encode(b"\x89PNG").decode(), mime_type="image/png")]

    @server.tool(structured_output=True)
    def several_lists() -> dict[str, Any]:
        return {"a": [1, 2], "b": [1]}

    @server.tool(structured_output=False)
    def mixed_dates() -> str:
        return json.dumps([{"when": "2026-01-01"}, {"when": "soon"}])

    @server.tool()
    def fails() -> str:
        from mcp.server.mcpserver.exceptions import ToolError

        raise ToolError("the warehouse is offline")

    @server.resource("data://visitors.csv", mime_type="text/csv")
    def visitors() -> str:
        return "city,visitors\nOslo,10\nPorto,20\n"

    @server.resource("data://events.json", mime_type="application/json")
    def events() -> str:
        return json.dumps({"events": RECORDS})

    return server


@pytest.fixture
def shapes():
    return mcpnb.connect(payload_server(), name="shapes")


def test_sdk_list_wrapper_flattens_nesting_and_parses_dates(shapes):
    df = shapes.call("sdk_list").df
    assert list(df.columns) == ["id", "title", "starts_at", "venue.name", "venue.city"]
    assert df["venue.city"].tolist() == ["Oslo", "Porto"]
    assert pd.api.types.is_datetime64_any_dtype(df["starts_at"])
    assert df.attrs["mcp"]["tool"] == "sdk_list" and df.attrs["mcp"]["server"] == "shapes"
    assert df.attrs["mcp"]["protocol_version"] == "2026-07-28" and df.attrs["mcp"]["arguments"] == {}


def test_envelope_keys_go_to_attrs(shapes):
    df = shapes.call("paged").df
    assert len(df) == 2 and df.attrs["mcp"]["envelope"] == {"total": 40, "next_cursor": "abc"}


def test_dict_of_columns(shapes):
    assert shapes.call("columns").df.to_dict("list") == {"city": ["Oslo", "Porto", "Lyon"], "visitors": [10, 20, 30]}


def test_one_nested_record_is_one_row(shapes):
    df = shapes.call("converted").df
    assert df.shape == (1, 5) and "target.timezone" in df.columns
    assert df["target.datetime"].iloc[0] == pd.Timestamp("2026-11-22T23:30:00+09:00")


def test_json_ndjson_csv_tsv_text(shapes):
    assert shapes.call("json_text").df["venue.name"].tolist() == ["Hall", "Dock"]
    assert shapes.call("ndjson_text").df["level"].tolist() == ["info", "warn", "error"]
    csv = shapes.call("csv_text").df
    assert csv["visitors"].tolist() == [10, 20] and pd.api.types.is_datetime64_any_dtype(csv["opened"])
    assert shapes.call("tsv_text").df.columns.tolist() == ["city", "visitors"]
    assert shapes.call("embedded_csv").df.to_dict("records") == [{"city": "Oslo", "visitors": 10}]
    assert shapes.call("blocks").df["id"].tolist() == [1, 2]


def test_a_column_with_one_non_date_stays_text(shapes):
    df = shapes.call("mixed_dates").df
    assert df["when"].tolist() == ["2026-01-01", "soon"]


@pytest.mark.parametrize("tool, message", [
    ("prose", "The text is not JSON, NDJSON or CSV: Everything is fine."),
    ("picture", "The result holds image, no text or structured content"),
    ("several_lists", "holds only lists of different lengths ('a', 'b')"),
    ("fails", "Tool 'fails' reported an error, not a table: Error executing tool fails: the warehouse is offline"),
])
def test_what_is_not_tabular_says_why(shapes, tool, message):
    with pytest.raises(mcpnb.NotTabular) as caught:
        shapes.call(tool).df
    assert message in str(caught.value)
    assert "Hint:" in str(caught.value) and isinstance(caught.value, ValueError)


def test_resources_as_frames(shapes):
    assert shapes.read("data://visitors.csv").df["visitors"].sum() == 30
    events = shapes.read("data://events.json").df
    assert events["title"].tolist() == ["Jazz", "Folk"] and events.attrs["mcp"]["uri"] == "data://events.json"


def test_demo_and_third_party_results(helpdesk):
    orders = helpdesk.call("list_orders", status="refunded", limit=50).df
    assert len(orders) == 50 and set(orders["status"]) == {"refunded"}
    assert pd.api.types.is_datetime64_any_dtype(orders["created_at"])
    assert orders.attrs["mcp"]["envelope"]["total"] > 50
    event = helpdesk.call("get_event", event_id=3).df
    assert len(event) == 1 and isinstance(event["ticket_types"].iloc[0], list)  # a record, not its child list
