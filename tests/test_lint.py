"""mcpnb.lint and ``python -m mcpnb lint``: every rule fires on a tool that breaks it and stays quiet on a good
one, against real servers (in-process servers listing exactly the definitions under test, the demos and the
third-party servers over stdio)."""

from __future__ import annotations

import html
import importlib
import json
import random
import re
import subprocess
import sys
import time

from typing import Annotated

import mcp_types as types
import pytest
from mcp.server import Server as LowLevelServer
from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.resolve import Elicit, Resolve
from pydantic import BaseModel

import mcpnb
from mcpnb.lint import RULES, lint
from mcpnb.similarity import pair_scores

lint_module = importlib.import_module("mcpnb.lint")  # the module, even where mcpnb.lint is the function

from .test_third_party import EVERYTHING_JS, needs_everything

READ_ONLY = types.ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                                  open_world_hint=False)
DESTROYS = types.ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True,
                                 open_world_hint=False)
NO_PARAMETERS = {"type": "object", "properties": {}}

# A small server designed with care: every rule must stay quiet on it.
GOOD = [
    dict(name="search_orders",
         description="Find orders by the buyer's email address or payment status, newest first. "
                     "Use get_order when you know the order number.",
         input_schema={"type": "object", "properties": {
             "customer_email": {"type": "string", "description": "the buyer's email address; omit for every buyer"},
             "status": {"type": "string", "enum": ["paid", "refunded"],
                        "description": "paid: the money was received; refunded: it was returned. Omit for both."},
             "limit": {"type": "integer", "minimum": 1, "default": 50}}},
         annotations=READ_ONLY),
    dict(name="get_order", description="One order by its number, with the tickets in it and what was paid.",
         input_schema={"type": "object", "properties": {"order_id": {"type": "integer"}}, "required": ["order_id"]},
         output_schema={"type": "object", "properties": {"id": {"type": "integer"}, "total": {"type": "number"}},
                        "required": ["id", "total"]},
         annotations=READ_ONLY),
    dict(name="cancel_booking",
         description="Cancel an unpaid booking and release its seats for sale; this cannot be undone.",
         input_schema={"type": "object", "properties": {
             "booking_id": {"type": "integer"},
             "reason": {"type": "string", "description": "why, in a sentence the customer will read"}},
             "required": ["booking_id", "reason"]},
         annotations=DESTROYS),
]


def listing(*tools: dict, name: str = "designs", structured: dict | None = None) -> LowLevelServer:
    """An in-process server that lists exactly these tool definitions (types.Tool fields; an empty object
    schema unless given) and answers every call with ``structured`` (or a line of text)."""
    definitions = [types.Tool(**{"input_schema": NO_PARAMETERS, **tool}) for tool in tools]

    async def list_tools(ctx, params):
        return types.ListToolsResult(tools=definitions)

    async def call_tool(ctx, params):
        return types.CallToolResult(content=[types.TextContent(type="text", text="done")],
                                    structured_content=structured)

    return LowLevelServer(name, on_list_tools=list_tools, on_call_tool=call_tool)


def found(*tools: dict, code: str, **options) -> list[dict]:
    """The findings of rule ``code`` for a server listing these tools, as records."""
    frame = lint(listing(*tools), select=code, **options)
    assert set(frame["code"]) <= {code}
    return frame.to_dict("records")


def tool(name: str = "lookup_item", description: str = "Look up one item on the shelf by its label.",
         **fields) -> dict:
    return {"name": name, "description": description, "annotations": READ_ONLY, **fields}


def schema(**properties) -> dict:
    return {"type": "object", "properties": properties}


# -- the registry -----------------------------------------------------------------------


def documented_rules() -> list[tuple[str, str, str]]:
    """The rows of the table in mcpnb/lint.py's docstring: (code, severity, what it checks)."""
    rows: list[list[str]] = []
    for line in lint_module.__doc__.splitlines():
        row = re.fullmatch(r"([A-Z]\d{3})  (\w+)\s+(.*)", line)
        if row:
            rows.append(list(row.groups()))
        elif rows and re.fullmatch(r" {16}\S.*", line):
            rows[-1][2] += " " + line.strip()
    return [tuple(row) for row in rows]


def test_the_docstring_table_and_the_registry_agree():
    assert documented_rules() == [(r.code, r.severity, r.summary) for r in RULES.values()]
    assert len(RULES) >= 20 and all(re.fullmatch(r"[NDSOAXB]\d{3}", code) for code in RULES)


@pytest.mark.parametrize("code", sorted(RULES))
def test_each_rule_stays_quiet_on_a_well_designed_server(code):
    server = mcpnb.connect(listing(*GOOD, structured={"id": 1, "total": 9.5}))
    server.call("get_order", order_id=1)  # structured content that its output schema declares: O501, O502 quiet
    assert lint(server, select=code).empty


# -- names ------------------------------------------------------------------------------


def test_n101_names_outside_the_specification():
    rows = found(tool("get weather!"), tool("x" * 129), tool("get_weather"), code="N101")
    assert [(r["tool"], r["severity"], r["field"]) for r in rows] == [("get weather!", "error", "name"),
                                                                      ("x" * 129, "error", "name")]
    assert "' !'" in rows[0]["message"] and "129 characters" in rows[1]["message"]


def test_n102_two_tools_with_one_name():
    with pytest.warns(mcpnb.ServerWarning, match="2 tools under the name 'search'"):
        rows = found(tool("search"), tool("search", description="Search the shelves for items by label."),
                     tool("Search", description="Search the archive for items by label."), code="N102")
    assert [(r["tool"], r["severity"]) for r in rows] == [("search", "error")]  # names are case-sensitive


def test_n103_names_a_provider_refuses():
    rows = found(tool("orders.search"), tool("a" * 65), tool("2fa_reset"), tool("search_orders"), code="N103")
    by_tool = {r["tool"]: r["message"] for r in rows}
    assert set(by_tool) == {"orders.search", "a" * 65, "2fa_reset"}
    assert "anthropic and openai and openai-responses call it 'orders_search'" in by_tool["orders.search"]
    assert "gemini" not in by_tool["orders.search"]  # Gemini takes dots
    assert "openai and openai-responses call it 'aaa" in by_tool["a" * 65] and "anthropic" not in by_tool["a" * 65]
    assert by_tool["2fa_reset"].endswith("gemini calls it '_2fa_reset'.")  # a digit first: Gemini only


def test_n104_mixed_name_styles():
    rows = found(tool("search_orders"), tool("getOrder"), tool("cancel-order"), tool("refund_order"), tool("ping"),
                 code="N104")
    assert len(rows) == 1 and rows[0]["tool"] is None and rows[0]["severity"] == "info"
    assert "snake_case: search_orders, refund_order" in rows[0]["message"]
    assert "camelCase: getOrder" in rows[0]["message"] and "kebab-case: cancel-order" in rows[0]["message"]
    assert "snake_case" in rows[0]["fix"]
    assert found(tool("search_orders"), tool("ping"), tool("orders.get_order"), code="N104") == []


# -- descriptions ------------------------------------------------------------------------


def test_d201_to_d203_missing_short_and_long_descriptions():
    rows = found(tool("a_tool", description=None), tool("b_tool", description="  "), tool("c_tool"), code="D201")
    assert [r["tool"] for r in rows] == ["a_tool", "b_tool"]
    rows = found(tool("a_tool", description="Gets orders."), tool("b_tool"), code="D202")
    assert [r["tool"] for r in rows] == ["a_tool"] and "2 words" in rows[0]["message"]
    long = "Look up one item on the shelf by its label. " * 30
    rows = found(tool("a_tool", description=long), tool("b_tool"), code="D203")
    assert [(r["tool"], r["severity"]) for r in rows] == [("a_tool", "warning")]
    assert f"{len(long):,} characters" in rows[0]["message"] and "OpenAI" in rows[0]["message"]
    assert found(tool(description="Look up one item. " * 56), code="D203") == []  # 1,008 characters


def test_d204_copied_descriptions():
    text = "Look up one item on the shelf by its label, with its price and stock."
    copied = text.replace("its price", "the price")
    rows = found(tool("find_item", description=text), tool("get_item", description=copied),
                 tool("shelf_report", description="Stock and value per shelf, for the weekly count."), code="D204")
    assert [(r["tool"], r["severity"]) for r in rows] == [("get_item", "warning")]
    assert "'find_item'" in rows[0]["message"] and "alike" in rows[0]["message"]


def test_a_server_with_200_tools_lints_in_seconds_and_d204_still_finds_the_copy():
    # 200 distinct descriptions of 40 English words each (drawn from this module's docstring), and one
    # near-copy. Comparing every pair with difflib's ratio() took 73 s here; the bounds take about 1 s.
    vocabulary = sorted(set(re.findall(r"[a-z]{4,}", lint_module.__doc__.lower())))
    draw = random.Random(14)
    texts = [" ".join(draw.choice(vocabulary) for _ in range(40)) + "." for _ in range(200)]
    texts[-1] = texts[0].replace(" ", "  ", 3).upper()  # the same text, cased and spaced otherwise
    tools = [tool(f"tool_{n}", description=text, input_schema=schema(**{
        f"field_{k}": {"type": "string", "description": f"the {k}th value"} for k in range(5)}))
        for n, text in enumerate(texts)]
    started = time.perf_counter()
    frame = lint(listing(*tools))
    seconds = time.perf_counter() - started
    # Generous on purpose: the machine running the suite may be shared and slow (2 cores here).
    assert seconds < 10, f"lint of 200 tools took {seconds:.1f} s"
    copies = frame[frame["code"] == "D204"]
    assert list(copies["tool"]) == ["tool_199"] and "'tool_0'" in copies["message"].iloc[0]


# -- schemas -----------------------------------------------------------------------------


def test_s301_parameters_without_descriptions():
    rows = found(tool("get_item", input_schema=schema(
        item_id={"type": "integer"}, country={"type": "string"}, limit={"type": "integer", "default": 10},
        filter={"type": "object", "properties": {"since": {"type": "string"},
                                                 "shelf": {"type": "string", "description": "the shelf's label"}},
                "description": "what to match"})), code="S301")
    assert [r["field"] for r in rows] == ["inputSchema/properties/country",
                                         "inputSchema/properties/filter/properties/since"]
    assert "'country'" in rows[0]["message"]  # item_id names the item get_item gets; limit is paging


def test_s301_follows_refs_like_those_pydantic_writes():
    nested = {"type": "object", "$defs": {"Window": {"type": "object", "properties": {"start": {"type": "string"}}}},
              "properties": {"window": {"anyOf": [{"$ref": "#/$defs/Window"}, {"type": "null"}],
                                        "description": "when", "default": None}}}
    rows = found(tool(input_schema=nested), code="S301")
    assert [r["field"] for r in rows] == ["inputSchema/properties/window/properties/start"]


def test_s302_enums_without_the_meaning_of_their_values():
    rows = found(tool(input_schema=schema(
        status={"type": "string", "enum": ["open", "pending", "resolved"]},
        priority={"anyOf": [{"type": "string", "enum": ["low", "high"]}, {"type": "null"}],
                  "description": "low: within a week"},
        size={"type": "string", "enum": ["s", "m"], "description": "s: small, m: medium"},
        mode={"oneOf": [{"const": "fast"}, {"const": "safe", "description": "checks first"}]},
        speed={"oneOf": [{"const": "slow", "description": "one at a time"},
                         {"const": "quick", "description": "all at once"}]})), code="S302")
    messages = {r["field"].rsplit("/", 1)[-1]: r["message"] for r in rows}
    assert set(messages) == {"status", "priority", "mode"}
    assert "has no description" in messages["status"] and "open, pending, resolved" in messages["status"]
    assert messages["priority"].endswith("mean: high.")
    assert "fast" in messages["mode"] and "safe" not in messages["mode"]


def test_s303_and_s304_defaults_of_required_and_optional_parameters():
    parameters = schema(
        label={"type": "string", "description": "the item's label", "default": "any"},
        shelf={"type": "string", "description": "the shelf's code"},
        aisle={"type": "string", "description": "the aisle's number; omit for every aisle"},
        colour={"type": "string", "description": "its colour", "default": "red"})
    parameters["required"] = ["label"]
    rows = found(tool(input_schema=parameters), code="S303")
    assert [(r["field"], r["severity"]) for r in rows] == [("inputSchema/properties/label", "warning")]
    rows = found(tool(input_schema=parameters), code="S304")
    assert [r["field"] for r in rows] == ["inputSchema/properties/shelf"]


def test_s305_invalid_schemas_against_the_2020_12_meta_schema_or_their_own():
    rows = found(tool("a_tool", input_schema=schema(size={"type": "hugeint", "description": "how big"})),
                 tool("b_tool", output_schema={"type": "object", "required": "id"}), code="S305")
    assert [(r["tool"], r["field"], r["severity"]) for r in rows] == [
        ("a_tool", "inputSchema/properties/size/type", "error"), ("b_tool", "outputSchema/required", "error")]
    assert "'hugeint' is not valid" in rows[0]["message"]
    tuple_items = schema(pair={"type": "array", "items": [{"type": "string"}], "description": "two labels"})
    assert found(tool(input_schema=tuple_items), code="S305")  # an array of items is not 2020-12
    draft7 = {**tuple_items, "$schema": "http://json-schema.org/draft-07/schema#"}
    assert found(tool(input_schema=draft7), code="S305") == []  # but it is draft-07, which it declares


def test_s305_a_ref_that_refers_to_nothing():
    dangling = {**schema(item={"$ref": "#/$defs/missing"}, shelf={"$ref": "#/$defs/shelf"},
                         label={"$ref": "#named"}),
                "$defs": {"shelf": {"type": "string", "description": "the shelf's label"},
                          "kept": {"$anchor": "kept", "type": "string"}}}
    rows = found(tool(input_schema=dangling), code="S305")
    assert [(r["field"], r["severity"]) for r in rows] == [("inputSchema/properties/item/$ref", "error"),
                                                           ("inputSchema/properties/label/$ref", "error")]
    assert "'#/$defs/missing' at /properties/item refers to nothing" in rows[0]["message"]
    resolving = {**schema(shelf={"$ref": "#/$defs/shelf"}, label={"$ref": "#kept"}, whole={"$ref": "#"}),
                 "$defs": dangling["$defs"]}
    assert found(tool(input_schema=resolving), code="S305") == []


def test_s306_what_providers_drop_unless_the_description_says_it():
    rows = found(tool(input_schema=schema(
        page={"type": "string", "format": "uri", "description": "the page to fetch"},
        home={"type": "string", "format": "uri", "description": "the home page's URL"},
        note={"type": "string", "minLength": 3, "maxLength": 200, "description": "a note for the customer"},
        memo={"type": "string", "maxLength": 200, "minLength": 1, "default": "",
              "description": "a memo, at most 200 characters"})), code="S306")
    messages = {r["field"]: r["message"] for r in rows}
    assert set(messages) == {"inputSchema/properties/page", "inputSchema/properties/note"}
    page = messages["inputSchema/properties/page"]
    assert "(openai, openai-responses)" in page and "(gemini)" in page and "format \"uri\"" in page
    note = messages["inputSchema/properties/note"]
    assert "minLength 3" in note and "maxLength 200" in note and "gemini" not in note
    assert {r["severity"] for r in rows} == {"warning"}


# -- output ------------------------------------------------------------------------------


def test_o501_structured_content_without_an_output_schema():
    server = mcpnb.connect(listing(tool("count_items"), tool("list_items"), structured={"total": 3}))
    assert lint(server, select="O501").empty  # nothing seen yet: lint calls no tool itself
    server.call("count_items")
    rows = lint(server, select="O501").to_dict("records")
    assert [(r["tool"], r["field"], r["severity"]) for r in rows] == [("count_items", "outputSchema", "warning")]
    assert "1 call seen" in rows[0]["message"]


def test_o502_results_seen_that_no_longer_match_a_changed_output_schema():
    output = {"type": "object", "properties": {"total": {"type": "number"}}}
    server = mcpnb.connect(listing(tool("count_items", output_schema=output), structured={"total": 2.5}))
    server.call("count_items")
    server.call("count_items")
    assert lint(server, select="O502").empty
    output["properties"]["total"]["type"] = "integer"  # the designer narrows the schema
    server.refresh()
    rows = lint(server, select="O502").to_dict("records")
    assert [(r["tool"], r["severity"]) for r in rows] == [("count_items", "error")]
    assert "2 of the 2 results" in rows[0]["message"]
    assert "at /total: 2.5 is not of type 'integer'" in rows[0]["message"]


def test_o502_results_the_client_refused_against_the_output_schema():
    output = {"type": "object", "properties": {"total": {"type": "integer"}}, "required": ["total"]}
    server = mcpnb.connect(listing(tool("count_items", output_schema=output), structured={"total": "three"}))
    with pytest.raises(mcpnb.ProtocolError, match="invalid result"):
        server.call("count_items")  # the SDK checks the result against the schema and refuses it
    rows = lint(server, select="O502").to_dict("records")
    assert [(r["tool"], r["severity"]) for r in rows] == [("count_items", "error")]
    assert "the client refused it" in rows[0]["message"] and "'three' is not of type 'integer'" in rows[0]["message"]


# -- annotations and safety ---------------------------------------------------------------


def test_a401_and_a402_missing_and_contradictory_annotations():
    rows = found(tool("a_tool", annotations=None), tool("b_tool", annotations=types.ToolAnnotations(title="B")),
                 tool("c_tool"), code="A401")
    assert [r["tool"] for r in rows] == ["a_tool", "b_tool"]
    both = types.ToolAnnotations(read_only_hint=True, destructive_hint=True)
    fine = types.ToolAnnotations(read_only_hint=True, idempotent_hint=False)  # idempotence means nothing when read-only
    rows = found(tool("a_tool", annotations=both), tool("b_tool", annotations=fine), code="A402")
    assert [(r["tool"], r["severity"], r["field"]) for r in rows] == [("a_tool", "error", "annotations")]


def test_a403_destructive_tools_that_neither_ask_nor_warn():
    by_default = types.ToolAnnotations(read_only_hint=False)  # destructiveHint unset: true, says the specification
    rows = found(tool("wipe_shelf", description="Take every item off a shelf.", annotations=DESTROYS),
                 tool("clear_shelf", description="Take every item off a shelf.", annotations=by_default),
                 tool("purge_shelf", description="Take every item off a shelf; this cannot be undone.",
                      annotations=DESTROYS),
                 tool("fill_shelf", description="Put items on a shelf.",
                      annotations=types.ToolAnnotations(read_only_hint=False, destructive_hint=False)),
                 code="A403")
    assert sorted(r["tool"] for r in rows) == ["clear_shelf", "wipe_shelf"]


class Sure(BaseModel):
    confirm: bool = False


def ask(item: str) -> object:
    return Elicit(f"Remove {item}?", Sure)


def confirm_label(item: str) -> object:
    return ask(item)  # the question is asked by the function this one calls


def shelf_server() -> MCPServer:
    """Destructive tools whose descriptions do not warn: three ask (through a resolver that takes the answer whole,
    one that unwraps it and calls a helper, and in the body), one does not."""
    server = MCPServer("shelf")

    @server.tool(annotations=DESTROYS)
    def remove_label(item: str, answer: Annotated[Sure, Resolve(confirm_label)] = None) -> str:
        """Take the label off one item by its name."""
        return item

    @server.tool(annotations=DESTROYS)
    def remove_item(item: str, answer: Annotated[ElicitationResult[Sure], Resolve(ask)] = None) -> str:
        """Take one item off the shelf by its label."""
        return item

    @server.tool(annotations=DESTROYS)
    async def remove_shelf(label: str, ctx: Context) -> str:
        """Take a whole shelf out of the shop by its label."""
        await ctx.elicit(f"Remove shelf {label}?", Sure)
        return label

    @server.tool(annotations=DESTROYS)
    def remove_aisle(label: str) -> str:
        """Take a whole aisle out of the shop by its label."""
        return label

    return server


def test_a403_reads_an_in_process_servers_code_for_asking():
    assert lint(shelf_server(), select="A403")["tool"].tolist() == ["remove_aisle"]


def test_a403_finds_a_stand_in_server_holding_the_real_one():
    """The notebook's swappable server (mcpnb.serving) wraps the MCPServer; lint reads the one it holds."""
    serving = pytest.importorskip("mcpnb.serving")
    server = serving.serve(shelf_server(), name="shelf")
    assert server.target.server is not None and getattr(server.target.server, "current", None) is not None
    assert lint(server, select="A403")["tool"].tolist() == ["remove_aisle"]


SHELF_OVER_STDIO = """
from typing import Annotated
from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp_types import ToolAnnotations
from pydantic import BaseModel

class Sure(BaseModel):
    confirm: bool = False

def ask(item: str) -> object:
    return Elicit(f"Remove {item}?", Sure)

server = MCPServer("shelf")

@server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
def remove_item(item: str, answer: Annotated[ElicitationResult[Sure], Resolve(ask)] = None) -> str:
    \"\"\"Take one item off the shelf by its label.\"\"\"
    return f"asked about {item}"

server.run("stdio")
"""


@pytest.mark.parametrize("protocol", [None, "2025-11-25"])
def test_a403_sees_the_question_on_the_wire_in_both_eras(tmp_path, protocol):
    script = tmp_path / "shelf.py"
    script.write_text(SHELF_OVER_STDIO)
    server = mcpnb.connect([sys.executable, str(script)], elicitation="decline", protocol=protocol)
    assert lint(server, select="A403")["tool"].tolist() == ["remove_item"]  # not seen asking yet
    server.call("remove_item", item="jam")
    assert server.trace["summary"].str.contains("elicitation/create|Remove jam", regex=True).any()
    assert lint(server, select="A403").empty


# -- across tools and servers -------------------------------------------------------------


def test_x601_tools_a_model_may_confuse():
    rows = found(tool("search_orders", description="Find orders by customer email, status or event, newest first."),
                 tool("find_orders", description="Search for orders by event, status or the customer's email."),
                 tool("refund_order", description="Refund a paid order in full and void its tickets.",
                      annotations=DESTROYS), code="X601")
    assert [(r["tool"], r["severity"]) for r in rows] == [("find_orders", "warning")]
    assert "'search_orders'" in rows[0]["message"] and "similarity 0." in rows[0]["message"]


def test_x601_calibration_the_demo_servers_raise_no_false_alarm():
    for name in ("helpdesk", "timesheet", "crm", "cms"):
        with mcpnb.connect(f"demo:{name}") as server:
            pairs = pair_scores(list(server.tools))
            assert pairs and pairs[0][0] < lint_module.SIMILAR - 0.05, (name, pairs[0])


def test_x602_a_tool_name_another_open_server_has():
    mcpnb.connect(listing(tool("search_stock", description="Search the stock of every shop by item label."),
                          name="stock"))
    shop = mcpnb.connect(listing(tool("search_stock"), tool("get_item"), name="shop"))
    rows = lint(shop, select="X602").to_dict("records")
    assert [(r["tool"], r["severity"]) for r in rows] == [("search_stock", "warning")]
    assert "'stock'" in rows[0]["message"]
    mcpnb.connect(listing(tool("search_stock"), name="shop"), name="shop again")  # the same server twice: no clash
    assert lint(shop, select="X602")["tool"].tolist() == ["search_stock"]
    mcpnb.servers()["stock"].close()
    assert lint(shop, select="X602").empty


# -- budget --------------------------------------------------------------------------------


def test_b701_definitions_over_the_token_budget(helpdesk):
    assert lint(helpdesk, select="B701").empty  # default budget: 10,000
    rows = lint(helpdesk, select="B701", budget=500).to_dict("records")
    assert len(rows) == 1 and rows[0]["tool"] is None and rows[0]["severity"] == "warning"
    total = int(re.search(r"take ([\d,]+) tokens", rows[0]["message"]).group(1).replace(",", ""))
    assert total > 500 and "over the budget of 500" in rows[0]["message"]
    assert re.search(r"The biggest: \w+ \([\d,]+\), \w+ \([\d,]+\), \w+ \([\d,]+\)\.", rows[0]["message"])
    from mcpnb.export import export_tool
    from mcpnb.preview import compact
    from mcpnb.tokenizer import count

    assert total == sum(count(compact(export_tool(t, "anthropic").definition)) for t in helpdesk.tools)
    openai = lint(helpdesk, select="B701", budget=500, provider="openai")
    assert "in openai's format" in openai["message"][0]


# -- running ---------------------------------------------------------------------------------


def test_select_and_ignore_take_codes_and_prefixes():
    parameters = {**schema(label={"type": "string"}), "required": ["label"]}
    server = mcpnb.connect(listing(tool("find_item", description="Finds.", input_schema=parameters)))
    frame = lint(server, select="D,S301", ignore=["D203"])
    assert frame.attrs["rules"] == ["D201", "D202", "D204", "S301"]
    assert frame["code"].tolist() == ["D202", "S301"]
    assert lint(server, select=["s3"], ignore="S301").empty  # prefixes in either case, a list or a string
    with pytest.raises(mcpnb.ConfigError, match="select= names no rule: 'Q'"):
        lint(server, select="Q")
    with pytest.raises(mcpnb.ConfigError, match="budget="):
        lint(server, budget=0)
    with pytest.raises(mcpnb.ConfigError, match="Unknown provider"):
        lint(server, provider="claude")


def test_the_table_its_order_and_attrs():
    frame = lint(listing(tool("zeta", annotations=types.ToolAnnotations(read_only_hint=True, destructive_hint=True)),
                         tool("alpha", description=None), tool("beta", annotations=None), tool("gammaRay"),
                         tool("delta_ray")))
    assert list(frame.columns) == ["code", "severity", "tool", "field", "message", "fix"]
    order = {"error": 0, "warning": 1, "info": 2}
    keys = [(order[s], t is not None, t or "") for s, t in zip(frame["severity"], frame["tool"])]
    assert keys == sorted(keys) and frame["severity"].iloc[0] == "error"
    assert {"A402", "D201", "A401", "N104"} <= set(frame["code"])
    assert frame.loc[frame.code == "N104", "tool"].tolist() == [None]  # a finding about the whole server
    assert frame.attrs["server"] == "designs" and frame.attrs["rules"] == list(RULES)
    assert 0 < frame.attrs["seconds"] < 30 and frame.attrs["connect_seconds"] > 0


def test_in_a_notebook_the_findings_show_whole_and_escaped():
    evil = "<img src=x onerror=alert(1)>"
    long = "Look up one item on the shelf by its label, with its price and how many are left in stock."
    frame = lint(listing(tool(evil, description=evil), tool("find_item", description=long),
                         tool("get_item", description=long)))
    shown = frame._repr_html_()
    assert evil not in shown and html.escape(evil, quote=True) in shown
    copied = frame[frame.code == "D204"]
    assert isinstance(copied, lint_module.Findings) and len(copied) == 1
    assert html.escape(copied["message"].iloc[0], quote=True) in copied._repr_html_()  # whole, never cut at 50
    assert "designs: 1 error, " in shown and '<span class="note">the server</span>' in shown  # N104 is server-wide
    assert "<table" in frame[["code", "tool"]]._repr_html_()  # other columns: pandas' own table


def test_a_target_is_connected_linted_and_closed_without_touching_an_open_connection(helpdesk):
    frame = lint("demo:helpdesk", select="N")
    assert frame.attrs["server"] == "helpdesk" and frame.empty
    assert list(mcpnb.servers()) == ["helpdesk"] and mcpnb.servers()["helpdesk"] is helpdesk and helpdesk.alive


def test_lint_refuses_a_name_an_open_connection_has_instead_of_replacing_it(helpdesk):
    for target in ("demo:helpdesk", "demo:crm"):
        with pytest.raises(mcpnb.ConfigError, match="'helpdesk' is open") as refused:
            lint(target, name="helpdesk", select="N")
        assert "mcpnb.lint(mcpnb.servers()['helpdesk'])" in refused.value.hint
    assert mcpnb.servers() == {"helpdesk": helpdesk} and helpdesk.alive and helpdesk.tools
    frame = lint("demo:helpdesk", name="helpdesk again", select="N")
    assert frame.attrs["server"] == "helpdesk again" and mcpnb.servers() == {"helpdesk": helpdesk}


def test_what_lint_opened_is_closed_when_linting_fails():
    async def list_tools(ctx, params):
        raise RuntimeError("the catalogue is down")

    with pytest.raises(mcpnb.ServerError, match="Listing tools of 'broken \\(lint\\)' failed"):
        lint(LowLevelServer("broken", on_list_tools=list_tools))
    assert mcpnb.servers() == {}
    with pytest.raises(mcpnb.ConfigError, match="no demo server"):
        lint("demo:nowhere")


# -- the demos and the third-party servers --------------------------------------------------


@pytest.mark.parametrize("protocol", [None, "2025-11-25"])
@pytest.mark.parametrize("name", ["helpdesk", "timesheet", "crm", "cms"])
def test_the_demo_servers_lint_clean(name, protocol):
    """Learners copy the demos' tool design, so every rule passes on them, warnings and info too. No finding
    is excused: each one the rules raised on the demos was a real flaw, fixed in the demo."""
    with mcpnb.connect(f"demo:{name}", protocol=protocol) as server:
        called = [tool.name for tool in server.tools  # answers for O501/O502 to check; reports are slow
                  if tool.annotations.read_only_hint and not tool.required and "delay" not in tool.parameters]
        for tool in called:
            server.call(tool)
        assert len(called) >= 2 and len(server.session.seen_structured) == len(called)
        frame = lint(server)
    assert frame.attrs["rules"] == list(RULES)
    assert frame.empty, frame[["code", "tool", "field", "message"]].to_dict("records")


def test_the_time_server_from_pypi_lints_clean_of_errors():
    frame = lint([sys.executable, "-m", "mcp_server_time", "--local-timezone", "Europe/Lisbon"])
    assert frame.attrs["server"] == "mcp_server_time" and "error" not in set(frame["severity"])


@needs_everything
def test_server_everything_from_npm():
    frame = lint(["node", str(EVERYTHING_JS), "stdio"])
    assert "error" not in set(frame["severity"])
    assert set(frame["tool"].dropna()) <= set(mcpnb.connect(["node", str(EVERYTHING_JS), "stdio"]).tools.names)
    confused = frame[frame.code == "X601"]  # two near-template pairs of its own
    assert "get-resource-reference" in set(confused["tool"])


# -- python -m mcpnb -------------------------------------------------------------------------


def run_cli(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mcpnb", *args], capture_output=True, text=True, timeout=timeout)


def test_cli_help():
    shown = run_cli("--help")
    assert shown.returncode == 0 and "lint" in shown.stdout
    shown = run_cli("lint", "--help")
    assert shown.returncode == 0
    for flag in ("--format", "--fail-on", "--select", "--ignore", "--budget", "--protocol", "TARGET"):
        assert flag in shown.stdout


SHOP_OVER_STDIO = """
from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations
server = MCPServer("shop")

@server.tool(annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                                         open_world_hint=False))
def find_items(label: str, country: str = "PT") -> list[str]:
    \"\"\"Find the items on the shop's shelves whose label has these words.\"\"\"
    return [label]

server.run("stdio")
"""


@pytest.fixture
def shop(tmp_path) -> str:
    """A stdio server whose one tool has two parameters without descriptions (S301 warnings, no error)."""
    script = tmp_path / "shop.py"
    script.write_text(SHOP_OVER_STDIO)
    return f"{sys.executable} {script}"


def test_cli_table_and_exit_codes_by_fail_on(shop):
    passed = run_cli("lint", shop, "--protocol", "2025-11-25")
    assert passed.returncode == 0, passed.stderr  # warnings only: below the default --fail-on error
    lines = passed.stdout.splitlines()
    assert lines[-1].startswith("shop: 0 errors, 2 warnings, 0 info (") and lines[-1].endswith(" s)")
    assert lines[:3] == ["warning  S301  find_items  inputSchema/properties/country",
                         " " * 15 + "The parameter 'country' has no description.",
                         " " * 15 + "fix: Say what it means, its unit or format, and an example where that helps."]
    assert "\033[" not in passed.stdout  # no colour codes when not a terminal
    failed = run_cli("lint", shop, "--fail-on", "warning")
    assert failed.returncode == 1 and failed.stdout == passed.stdout.replace(lines[-1], failed.stdout.splitlines()[-1])
    budget = run_cli("lint", shop, "--ignore", "S", "--budget", "10")
    assert budget.returncode == 0 and budget.stdout.startswith("warning  B701  (server)  tools\n")


def test_cli_json_is_a_list_of_findings(shop):
    shown = run_cli("lint", shop, "--format", "json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == [
        {"code": "S301", "severity": "warning", "tool": "find_items", "field": f"inputSchema/properties/{name}",
         "message": f"The parameter {name!r} has no description.",
         "fix": "Say what it means, its unit or format, and an example where that helps."}
        for name in ("country", "label")]
    clean = run_cli("lint", "demo:crm", "--format", "json", "--select", "N,A,X")
    assert clean.returncode == 0 and json.loads(clean.stdout) == []


NAMED_BADLY = """
from mcp.server.mcpserver import MCPServer
server = MCPServer("badly")

@server.tool(name="wipe\\x1b[2Jall")
def wipe() -> str:
    \"\"\"Wipe every record there is, for a fresh start.\"\"\"
    return "wiped"

server.run("stdio")
"""


def test_cli_errors_fail_the_run_and_server_text_cannot_drive_the_terminal(tmp_path):
    script = tmp_path / "badly.py"
    script.write_text(NAMED_BADLY)
    shown = run_cli("lint", f"{sys.executable} {script}", "--select", "N101,A401")
    assert shown.returncode == 1, shown.stderr
    assert "\x1b" not in shown.stdout and "wipe\\x1b[2Jall" in shown.stdout
    assert "error    N101" in shown.stdout and "warning  A401" in shown.stdout


@pytest.mark.parametrize("args, said", [
    (["demo:nowhere"], "There is no demo server 'nowhere'"),
    ([f"{sys.executable} -c 'import sys; sys.exit(3)'"], "exit"),
    (["demo:helpdesk", "--select", "Q9"], "select= names no rule"),
])
def test_cli_could_not_lint_is_one_line_and_exit_2(args, said):
    shown = run_cli("lint", *args)
    assert shown.returncode == 2 and shown.stdout == ""
    assert shown.stderr.count("\n") == 1 and said in shown.stderr and "Traceback" not in shown.stderr
    assert shown.stderr.startswith("mcpnb lint: could not lint ")

