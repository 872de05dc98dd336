"""Export: every tool of real servers in each provider's format, checked against the providers' own
request types (the official anthropic, openai and google-genai packages), and the conversions a
designer's awkward schemas need, change by change."""

from __future__ import annotations

import copy
import datetime
import functools
import json
import re
import sys
from typing import Annotated, Any, Literal, Union

import mcp_types as types
import pytest
from jsonschema import Draft202012Validator
from mcp.server import Server as LowLevelServer
from mcp.server.mcpserver import MCPServer
from pydantic import AnyUrl, BaseModel, Field, TypeAdapter

import mcpnb
from mcpnb.export import PROVIDERS, export_tool, export_tools
from tests.test_third_party import EVERYTHING_JS, needs_everything

# -- what each provider accepts, written down from its own sources ---------------------------

# The Messages API's own error: "tools.N.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'".
ANTHROPIC_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
# openai.types.shared_params.FunctionDefinition.name: "a-z, A-Z, 0-9, or ... underscores and dashes, ... 64".
OPENAI_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
# google.genai.types.FunctionDeclaration.name and .parameters (parameter names).
GEMINI_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_.:-]{0,127}$")
GEMINI_PARAMETER = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,63}$")
# The Gemini API's Schema (v1beta discovery document): these 22 fields, an unknown one refuses the request.
GEMINI_FIELDS = {"type", "format", "title", "description", "nullable", "enum", "items", "maxItems", "minItems",
                 "properties", "required", "minProperties", "maxProperties", "minimum", "maximum", "minLength",
                 "maxLength", "pattern", "example", "anyOf", "propertyOrdering", "default"}
GEMINI_TYPES = {"STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"}
GEMINI_FORMATS = {"STRING": {"enum", "date-time"}, "NUMBER": {"float", "double"}, "INTEGER": {"int32", "int64"}}
# OpenAI's Structured Outputs guide, "Supported schemas".
STRICT_KEYWORDS = {"type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf",
                   "$ref", "$defs", "definitions", "description", "title", "pattern", "format", "multipleOf",
                   "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems"}
STRICT_FORMATS = {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
TOP_REFUSED = {"anthropic": {"anyOf", "oneOf", "allOf"},
               "openai": {"anyOf", "oneOf", "allOf", "enum", "const", "not"}}


@functools.cache
def adapter(request_type: Any) -> TypeAdapter:
    return TypeAdapter(request_type)


def keys_of(typed_dict: Any) -> set[str]:
    return set(typed_dict.__required_keys__) | set(typed_dict.__optional_keys__)


def subschemas(node: dict[str, Any]):
    for key in ("items", "additionalProperties", "not"):
        if isinstance(node.get(key), dict):
            yield key, node[key]
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for i, sub in enumerate(node.get(key) or []):
            yield f"{key}/{i}", sub
    for key in ("properties", "$defs", "definitions"):
        for name, sub in (node.get(key) or {}).items():
            yield f"{key}/{name}", sub


def arrays_without_items(node: Any, where: str = "") -> list[str]:
    if not isinstance(node, dict):
        return []
    kinds = node.get("type") if isinstance(node.get("type"), list) else [node.get("type")]
    found = [where or "/"] if "array" in kinds and "items" not in node else []
    return found + [w for key, sub in subschemas(node) for w in arrays_without_items(sub, f"{where}/{key}")]


def strict_problems(schema: dict[str, Any]) -> list[str]:
    """Where a schema breaks OpenAI strict mode's rules: closed objects with every property required,
    a type on every schema, only supported keywords and formats, every $ref alone and resolvable."""
    problems: list[str] = []

    def resolve(ref: str) -> Any:
        node: Any = schema
        for part in ref[1:].split("/")[1:]:
            node = node.get(part) if isinstance(node, dict) else None
        return node

    def visit(node: Any, where: str) -> None:
        if not isinstance(node, dict):
            problems.append(f"{where}: not a schema")
            return
        if set(node) - STRICT_KEYWORDS:
            problems.append(f"{where}: unsupported {sorted(set(node) - STRICT_KEYWORDS)}")
        if "$ref" in node:
            if len(node) > 1:
                problems.append(f"{where}: keywords beside $ref")
            if not isinstance(resolve(node["$ref"]), dict):
                problems.append(f"{where}: $ref {node['$ref']} does not resolve")
            return
        if not {"type", "anyOf", "enum", "const"} & set(node):
            problems.append(f"{where}: no type")
        kinds = node.get("type") if isinstance(node.get("type"), list) else [node.get("type")]
        if "object" in kinds:
            if node.get("additionalProperties") is not False:
                problems.append(f"{where}: not closed")
            if node.get("required") != list(node.get("properties") or {}):
                problems.append(f"{where}: required is not every property")
        if "format" in node and node["format"] not in STRICT_FORMATS:
            problems.append(f"{where}: format {node['format']}")
        for key, sub in subschemas(node):
            visit(sub, f"{where}/{key}")

    visit(schema, "")
    return problems


def gemini_problems(node: Any, where: str = "") -> list[str]:
    """Where a parameters schema leaves the Gemini API's Schema: unknown fields, lower-case or unknown
    types, enums of non-strings, formats it does not take, arrays without items."""
    if not isinstance(node, dict):
        return [f"{where}: not a schema"]
    problems = [f"{where}: unknown {sorted(set(node) - GEMINI_FIELDS)}"] if set(node) - GEMINI_FIELDS else []
    kind = node.get("type")
    if kind is None and "anyOf" not in node:
        problems.append(f"{where}: no type")
    if kind is not None and kind not in GEMINI_TYPES:
        problems.append(f"{where}: type {kind!r}")
    if not all(isinstance(value, str) for value in node.get("enum", [])):
        problems.append(f"{where}: enum of non-strings")
    if "format" in node and node["format"] not in GEMINI_FORMATS.get(kind, ()):
        problems.append(f"{where}: format {node['format']!r} for {kind}")
    if kind == "ARRAY" and "items" not in node:
        problems.append(f"{where}: array without items")
    if not set(node.get("required", [])) <= set(node.get("properties", {})):
        problems.append(f"{where}: required names no property")
    for key, sub in subschemas(node):
        problems += gemini_problems(sub, f"{where}/{key}")
    return problems


def check(provider: str, definition: dict[str, Any], strict: bool = True) -> None:
    """One exported definition against the provider's own request type and rules."""
    if provider == "anthropic":
        from anthropic.types import ToolParam

        adapter(ToolParam).validate_python(definition)
        assert set(definition) <= keys_of(ToolParam)  # a TypedDict lets unknown keys through
        assert ANTHROPIC_NAME.match(definition["name"])
        schema = definition["input_schema"]
        assert schema["type"] == "object" and not TOP_REFUSED["anthropic"] & set(schema)
        Draft202012Validator.check_schema(schema)
    elif provider in ("openai", "openai-responses"):
        if provider == "openai":
            from openai.types.chat import ChatCompletionFunctionToolParam, ChatCompletionToolParam
            from openai.types.shared_params import FunctionDefinition

            adapter(ChatCompletionToolParam).validate_python(definition)
            assert set(definition) <= keys_of(ChatCompletionFunctionToolParam)
            function = definition["function"]
            assert set(function) <= keys_of(FunctionDefinition)
        else:
            from openai.types.responses import FunctionToolParam

            adapter(FunctionToolParam).validate_python(definition)
            assert set(definition) <= keys_of(FunctionToolParam)
            function = definition
        assert OPENAI_NAME.match(function["name"])
        schema = function["parameters"]
        assert schema["type"] == "object" and not TOP_REFUSED["openai"] & set(schema)
        Draft202012Validator.check_schema(schema)
        assert arrays_without_items(schema) == []
        assert function["strict"] is strict
        if strict:
            assert strict_problems(schema) == []
    else:
        from google.genai import types as genai

        assert genai.FunctionDeclaration.model_config["extra"] == "forbid"
        genai.FunctionDeclaration.model_validate(definition)
        assert set(definition) <= {"name", "description", "parameters"}
        assert GEMINI_NAME.match(definition["name"])
        schema = definition["parameters"]
        assert schema["type"] == "OBJECT"
        assert all(GEMINI_PARAMETER.match(name) for name in schema.get("properties", {}))
        assert gemini_problems(schema) == []


def exports_everywhere(tools: mcpnb.Listing) -> dict[tuple[str, bool], Any]:
    """Every provider's export of ``tools`` (strict and not for OpenAI), each definition checked."""
    before = copy.deepcopy([tool.input_schema for tool in tools])
    done = {}
    for provider in PROVIDERS:
        for strict in (True, False) if provider.startswith("openai") else (True,):
            export = tools.export(provider, strict=strict)
            assert len(export) == len(tools) and export.provider == provider
            assert sorted(export.names.values()) == sorted(tools.names)  # each name maps back, none lost
            for definition in export:
                check(provider, definition, strict)
            assert json.loads(export.to_json()) == export.definitions
            done[provider, strict] = export
    assert [tool.input_schema for tool in tools] == before  # the tools' own schemas untouched
    return done


# -- real servers ------------------------------------------------------------------------------

_listed: dict[tuple[Any, ...], mcpnb.Listing] = {}


def tools_of(target: Any, protocol: str | None = None) -> mcpnb.Listing:
    """A server's tools, listed once per test run (the listing outlives the connection)."""
    key = (json.dumps(target), protocol)
    if key not in _listed:
        server = mcpnb.connect(target, protocol=protocol, name=f"export-{len(_listed)}")
        _listed[key] = server.tools
        server.close()
    return _listed[key]


DEMOS = ["demo:helpdesk", "demo:timesheet", "demo:crm", "demo:cms"]


@pytest.mark.parametrize("protocol", [None, "2025-11-25"])
@pytest.mark.parametrize("demo", DEMOS)
def test_every_demo_tool_exports_for_every_provider(demo, protocol):
    exports = exports_everywhere(tools_of(demo, protocol))
    anthropic = exports["anthropic", True]
    assert anthropic.changes.empty  # the demos' schemas go to Claude as they are
    assert [d["input_schema"] for d in anthropic] == [t.input_schema for t in tools_of(demo, protocol)]
    gemini = exports["gemini", True].changes  # Gemini's subset fits them but for exclusive bounds (hours > 0)
    assert {path.rsplit("/", 1)[-1] for path in gemini.path} <= {"exclusiveMinimum"}
    assert set(gemini.action) <= {"changed"} and (demo == "demo:timesheet") == (not gemini.empty)
    strict = exports["openai", True]
    assert set(strict.changes.action) <= {"changed", "dropped", "added"} and not strict.changes.empty
    loose = exports["openai", False]
    assert loose.changes.empty and [d["function"]["parameters"] for d in loose] == \
        [t.input_schema for t in tools_of(demo, protocol)]


def test_both_eras_export_the_same_definitions():
    for demo in DEMOS:
        for provider in PROVIDERS:
            assert tools_of(demo).export(provider).definitions == \
                tools_of(demo, "2025-11-25").export(provider).definitions


def test_strict_openai_on_the_helpdesk_says_what_it_changed():
    export = tools_of("demo:helpdesk").export("openai")
    assert repr(export) == "<Export of 11 tools for openai: 11 changed>"
    search = next(e for e in export.tools if e.tool == "search_events").definition["function"]
    limit = search["parameters"]["properties"]["limit"]
    assert limit["type"] == ["integer", "null"] and "default" not in limit and limit["description"] == "Default: 50."
    assert search["parameters"]["properties"]["query"]["description"] == 'words in the title; empty for all. Default: "".'
    rows = export.changes[export.changes.tool == "search_events"]
    assert list(rows.columns) == ["tool", "path", "action", "detail"]
    limit_rows = rows[rows.path.str.startswith("/properties/limit")]
    assert limit_rows[["path", "action"]].values.tolist() == [["/properties/limit", "changed"],
                                                              ["/properties/limit/default", "dropped"]]
    assert "the model sends null to leave it out" in limit_rows.detail.iloc[0]
    city = rows[rows.path == "/properties/city"].detail.iloc[0]
    assert "it already accepts null" in city  # pydantic's Optional: already nullable, only made required
    assert rows.iloc[-1].tolist() == ["search_events", "/additionalProperties", "added",
                                      "additionalProperties: false added: OpenAI strict mode needs every object closed"]
    assert export.changes.attrs["mcp"]["provider"] == "openai" and export.changes.attrs["mcp"]["strict"] is True


def test_time_server_from_pypi():
    tools = tools_of([sys.executable, "-m", "mcp_server_time", "--local-timezone", "Europe/Lisbon"])
    exports = exports_everywhere(tools)
    assert exports["anthropic", True].changes.empty and exports["gemini", True].changes.empty
    strict = exports["openai-responses", True].changes
    # every parameter already required: strict mode only closes the objects
    assert strict[["tool", "path", "action"]].values.tolist() == [
        ["get_current_time", "/additionalProperties", "added"], ["convert_time", "/additionalProperties", "added"]]
    convert = exports["openai-responses", True][1]
    assert convert["type"] == "function" and convert["name"] == "convert_time" and convert["strict"] is True


@needs_everything
def test_everything_server_from_npm():
    tools = tools_of(["node", str(EVERYTHING_JS), "stdio"])
    exports = exports_everywhere(tools)
    assert exports["anthropic", True].changes.empty  # draft-07 "$schema" and all: Claude takes it as it is
    gemini = exports["gemini", True]
    rows = gemini.changes
    assert set(rows[rows.path == "/$schema"].tool) == set(tools.names)  # Gemini has no $schema field
    gzip = rows[rows.tool == "gzip-file-as-resource"]
    assert "/properties/data/format" in gzip.path.tolist()  # format "uri": Gemini takes date-time and enum only
    no_arguments = gemini[tools.names.index("get-env")]
    assert no_arguments["parameters"] == {"type": "OBJECT", "properties": {}}
    strict = exports["openai", True].changes
    uri = strict[(strict.tool == "trigger-url-elicitation") & (strict.path == "/properties/url/format")]
    assert uri.action.tolist() == ["dropped"] and "date-time" in uri.detail.iloc[0]


# -- a designer's awkward tools ------------------------------------------------------------------


class Address(BaseModel):
    street: str
    city: str
    postcode: str | None = None


class Card(BaseModel):
    kind: Literal["card"]
    number: str


class Invoice(BaseModel):
    kind: Literal["invoice"]
    email: str


def awkward_server() -> MCPServer:
    server = MCPServer("awkward")

    @server.tool(name="calendar.book_room")
    def book_room(room: Literal[1, 2, 3], when: datetime.datetime, day: datetime.date, address: Address,
                  payment: Annotated[Union[Card, Invoice], Field(discriminator="kind")],
                  purpose: Literal["meeting"] = "meeting", hours: Annotated[int, Field(gt=0)] = 1,
                  site: AnyUrl | None = None, attendees: list[str] | None = None,
                  notes: Annotated[str, Field(max_length=200)] = "") -> str:
        """Book a meeting room."""
        return "booked"

    @server.tool(name="x" * 100)
    def long_name(a: int) -> str:
        """A tool whose name is 100 characters long."""
        return str(a)

    return server


def rows_of(export: Any, tool: str) -> dict[str, tuple[str, str]]:
    frame = export.changes[export.changes.tool == tool]
    return {path: (action, detail) for path, action, detail in frame[["path", "action", "detail"]].values}


def test_awkward_pydantic_tools_for_openai_strict():
    tools = mcpnb.connect(awkward_server()).tools
    exports = exports_everywhere(tools)
    export = exports["openai", True]
    book, long = export.tools
    assert book.name == "calendar_book_room" and long.name == "x" * 64
    assert export.names == {"calendar_book_room": "calendar.book_room", "x" * 64: "x" * 100}
    rows = rows_of(export, "calendar.book_room")
    assert rows["name"] == ("changed", "name 'calendar.book_room' became 'calendar_book_room': OpenAI takes letters, "
                                       "digits, '_' and '-', at most 64 characters in a tool name; map it back to "
                                       "'calendar.book_room' when the model calls it")
    assert "at most 64 characters" in rows_of(export, "x" * 100)["name"][1]
    parameters = book.definition["function"]["parameters"]
    properties = parameters["properties"]
    assert properties["room"] == {"enum": [1, 2, 3], "title": "Room", "type": "integer"}  # int enums: fine here
    assert properties["when"]["format"] == "date-time" and properties["day"]["format"] == "date"
    assert properties["address"] == {"$ref": "#/$defs/Address"}  # a $ref alone stays, resolvable
    address = parameters["$defs"]["Address"]
    assert address["additionalProperties"] is False and address["required"] == ["street", "city", "postcode"]
    assert rows["/$defs/Address/properties/postcode"][0] == "changed"
    assert rows["/properties/payment/oneOf"] == ("changed", "oneOf became anyOf: OpenAI strict mode has no oneOf "
                                                            "(a value that fits several options is no longer "
                                                            "refused)")
    assert rows["/properties/payment/discriminator"][0] == "dropped"
    assert properties["payment"]["anyOf"] == [{"$ref": "#/$defs/Card"}, {"$ref": "#/$defs/Invoice"}]
    purpose = properties["purpose"]  # const with a default, optional: required, and null allowed beside it
    assert purpose["anyOf"][1] == {"type": "null"} and purpose["anyOf"][0]["const"] == "meeting"
    assert purpose["anyOf"][0]["description"] == 'Default: "meeting".'
    assert properties["hours"]["exclusiveMinimum"] == 0  # strict mode takes exclusive bounds
    assert rows["/properties/site/anyOf/0/format"] == ("dropped", "format \"uri\" dropped: OpenAI strict mode "
                                                                  "accepts only date-time, time, date, duration, "
                                                                  "email, hostname, ipv4, ipv6, uuid")
    assert rows["/properties/site/anyOf/0/minLength"][1].endswith("the server still checks it")
    assert rows["/properties/notes/maxLength"][0] == "dropped"
    assert properties["attendees"]["anyOf"][-1] == {"type": "null"}
    assert parameters["required"] == list(properties)


def test_awkward_pydantic_tools_for_gemini_and_anthropic():
    tools = mcpnb.connect(awkward_server()).tools
    gemini = tools.export("gemini")
    for definition in gemini:
        check("gemini", definition)
    book = gemini[0]
    assert book["name"] == "calendar.book_room" and gemini[1]["name"] == "x" * 100  # Gemini takes both names
    rows = rows_of(gemini, "calendar.book_room")
    assert "name" not in rows
    properties = book["parameters"]["properties"]
    assert properties["room"] == {"type": "INTEGER", "title": "Room", "description": "One of: 1, 2, 3."}
    assert rows["/properties/room/enum"][0] == "dropped"
    assert properties["when"]["format"] == "date-time" and "format" not in properties["day"]
    assert rows["/properties/day/format"] == ("dropped", 'format "date" dropped: Gemini takes only enum, date-time '
                                                         "for this type")
    address = properties["address"]  # written out in place: Gemini has no references
    assert address["type"] == "OBJECT" and address["required"] == ["street", "city"]
    assert address["properties"]["postcode"] == {"type": "STRING", "nullable": True, "default": None,
                                                 "title": "Postcode"}
    assert rows["/properties/address/$ref"][0] == "changed"
    payment = properties["payment"]
    assert [option["properties"]["kind"] for option in payment["anyOf"]] == [
        {"type": "STRING", "enum": ["card"], "title": "Kind"}, {"type": "STRING", "enum": ["invoice"], "title": "Kind"}]
    assert rows["/$defs/Card/properties/kind/const"][0] == "changed"  # where the const is in the tool's schema
    assert rows["/properties/payment/oneOf"][0] == "changed"
    assert properties["hours"]["minimum"] == 0 and rows["/properties/hours/exclusiveMinimum"][0] == "changed"
    assert properties["attendees"] == {"type": "ARRAY", "nullable": True, "items": {"type": "STRING"},
                                       "default": None, "title": "Attendees"}
    assert "$defs" not in book["parameters"]

    anthropic = tools.export("anthropic")
    assert [d["name"] for d in anthropic] == ["calendar_book_room", "x" * 100]  # dots refused, 100 fits in 128
    assert anthropic.changes.path.tolist() == ["name"]
    assert anthropic[0]["input_schema"] == tools["calendar.book_room"].input_schema


def handmade_server() -> LowLevelServer:
    """Tools with schemas no SDK would write, the way hand-written servers send them."""
    schemas = {
        "either": {"type": "object", "properties": {"id": {"type": "integer"}, "email": {"type": "string"}},
                   "anyOf": [{"required": ["id"]}, {"required": ["email"]}]},
        "tags": {"type": "object", "properties": {"tags": {"type": "array", "description": "labels"},
                                                  "meta": {"type": "object", "additionalProperties": {"type": "string"}},
                                                  "user-id": {"type": "string"}, "anything": {}},
                 "required": ["tags"]},
        "tree": {"type": "object", "properties": {"root": {"$ref": "#/$defs/node", "description": "the top"}},
                 "required": ["root"],
                 "$defs": {"node": {"type": "object", "properties": {
                     "label": {"type": "string"},
                     "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}, "required": ["label"]}}},
        "level": {"type": "object", "properties": {"level": {"const": 3}, "mode": {"type": ["string", "integer"]}},
                  "required": ["level", "mode"]},
        "a.b": {"type": "object", "properties": {}},
        "a_b": {"type": "object", "properties": {}},
        "pick": {"type": "object", "oneOf": [{"properties": {"a": {"type": "string"}}, "required": ["a"]},
                                             {"properties": {"b": {"type": "integer"}}, "required": ["b"]}]},
    }

    async def list_tools(ctx, params):
        return types.ListToolsResult(tools=[types.Tool(name=name, description=f"<b>{name}</b> & co",
                                                       input_schema=schema) for name, schema in schemas.items()])

    async def call_tool(ctx, params):
        return types.CallToolResult(content=[types.TextContent(type="text", text="ok")])

    return LowLevelServer("handmade", on_list_tools=list_tools, on_call_tool=call_tool)


def test_handmade_schemas_are_made_acceptable_and_each_change_said():
    tools = mcpnb.connect(handmade_server(), name="handmade").tools
    exports = exports_everywhere(tools)  # every provider's checks pass on all of them
    for provider in PROVIDERS:
        rows = rows_of(exports[provider, True], "either")
        assert rows["/anyOf"][0] == "changed" and "at the top of an input schema" in rows["/anyOf"][1]
    anthropic = exports["anthropic", True]
    assert anthropic[0]["input_schema"] == {"type": "object", "properties": {"id": {"type": "integer"},
                                                                             "email": {"type": "string"}}}
    # two tools whose names meet: the one the provider refuses gives way
    assert [d["name"] for d in anthropic][4:6] == ["a_b_2", "a_b"]
    assert "name 'a.b' became 'a_b_2'" in rows_of(anthropic, "a.b")["name"][1]
    assert [d["name"] for d in exports["gemini", True]][4:6] == ["a.b", "a_b"]
    pick = anthropic[6]["input_schema"]  # a top-level oneOf of objects: their properties, none required
    assert pick == {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}

    loose = exports["openai", False]
    tags = loose[1]["function"]["parameters"]["properties"]["tags"]
    assert tags == {"type": "array", "description": "labels", "items": {}}
    assert rows_of(loose, "tags") == {"/properties/tags/items": ("added", "items added (any value): OpenAI refuses "
                                                                          "an array schema without items")}
    strict = exports["openai", True]
    properties = strict[1]["function"]["parameters"]["properties"]
    assert properties["anything"] == {"type": ["string", "number", "boolean", "null"]}
    assert properties["meta"]["additionalProperties"] is False
    assert "only {} fits" in rows_of(strict, "tags")["/properties/meta/additionalProperties"][1]
    tree = strict[2]["function"]["parameters"]
    assert tree["properties"]["root"]["description"] == "the top"  # the $ref with words beside it written out
    assert tree["properties"]["root"]["properties"]["children"]["items"] == {"$ref": "#/$defs/node"}
    assert rows_of(strict, "tree")["/properties/root/$ref"][0] == "changed"

    gemini = exports["gemini", True]
    tags = gemini[1]["parameters"]["properties"]
    assert "user_id" in tags and "user-id" not in tags  # Gemini's parameter names: letters, digits, "_"
    assert "rename it back to 'user-id'" in rows_of(gemini, "tags")["/properties/user-id"][1]
    assert tags["tags"]["items"] == {"type": "STRING"}
    assert rows_of(gemini, "tags")["/properties/meta/additionalProperties"][0] == "dropped"
    node = gemini[2]["parameters"]["properties"]["root"]
    assert node["description"] == "the top" and node["properties"]["children"]["items"]["type"] == "OBJECT"
    assert "recursive" in rows_of(gemini, "tree")["/$defs/node/properties/children/items/$ref"][1]
    level = gemini[3]["parameters"]["properties"]
    assert level["level"]["description"] == "Must be 3." and "const" not in level["level"]
    assert level["mode"] == {"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]}


def made_tool(name: str, schema: dict[str, Any], description: str | None = None) -> mcpnb.Tool:
    """A Tool as mcpnb lists it, for schemas the SDK refuses to send (it wants a type on top)."""
    return mcpnb.Tool(name, None, description, schema, None, None, types.Tool(name=name, input_schema={"type": "object"}))


def test_a_schema_without_a_type_on_top_gets_one():
    tool = made_tool("no_type", {"properties": {"q": {"type": "string"}}})
    for provider in PROVIDERS:
        exported = export_tool(tool, provider)
        check(provider, exported.definition)
        assert [(c.path, c.action) for c in exported.changes][0] == ("/type", "added")
        assert "top of an input schema" in exported.changes[0].detail


def test_names_cut_to_the_limit_stay_distinct():
    first, second = made_tool("y" * 70 + "a", {"type": "object"}), made_tool("y" * 70 + "b", {"type": "object"})
    export = export_tools([first, second], "openai")
    assert [e.name for e in export.tools] == ["y" * 64, "y" * 62 + "_2"]
    assert export.names == {"y" * 64: first.name, "y" * 62 + "_2": second.name}
    assert export_tool(second, "openai").name == "y" * 64  # alone, it needs no number


def test_a_schema_past_strict_limits_goes_without_strict():
    deep: dict[str, Any] = {"type": "string"}
    for level in range(11):
        deep = {"type": "object", "properties": {f"l{level}": deep}, "required": [f"l{level}"]}
    tool = made_tool("deep", deep, "Eleven objects deep.")
    exported = export_tool(tool, "openai-responses")
    check("openai-responses", exported.definition, strict=False)
    assert [(c.path, c.action) for c in exported.changes] == [("", "changed")]
    assert "11 levels of nesting (at most 10)" in exported.changes[0].detail
    assert exported.definition["parameters"] == deep


def test_what_a_user_gets_wrong_is_one_clear_error():
    tools = tools_of("demo:helpdesk")
    with pytest.raises(mcpnb.ConfigError, match="Unknown provider 'opneai'") as failure:
        tools.export("opneai")
    assert "did you mean 'openai'?" in str(failure.value)
    server = mcpnb.connect(awkward_server())
    with pytest.raises(mcpnb.ConfigError, match="An export holds tools, not resources"):
        server.resources.export("openai")
    with pytest.raises(mcpnb.ConfigError, match="takes tools"):
        export_tools(["search_events"], "anthropic")


def test_an_export_shows_escaped_definitions_and_its_changes():
    tools = mcpnb.connect(handmade_server(), name="handmade").tools
    export = tools.export("openai")
    html = export._repr_html_()
    assert "<b>either</b>" not in html and "&lt;b&gt;either&lt;/b&gt; &amp;amp; co" not in html
    assert "&lt;b&gt;either&lt;/b&gt; &amp; co" in html  # the server's description, escaped once
    assert "handmade: 7 tools as openai (strict) takes them; the conversion changed 7" in html
    assert "<code>a_b_2</code> <span class=\"note\">MCP name</span> <code>a.b</code>" in html
    assert repr(export) == "<Export of 7 tools for openai: 7 changed>"
    assert export.to_json().startswith('[\n  {\n    "type": "function"')
    assert export[0] == export.definitions[0] and export[-2:] == export.definitions[-2:]


def test_each_of_several_types_keeps_its_own_keywords_for_gemini():
    tool = made_tool("several", {"type": "object", "properties": {
        "t": {"type": ["string", "array"], "items": {"type": "integer"}, "minLength": 2, "description": "ids"},
        "u": {"type": ["object", "null", "array"], "properties": {"a": {"type": "string", "format": "email"}},
              "required": ["a"], "maxItems": 3}}})
    exported = export_tool(tool, "gemini")
    check("gemini", exported.definition)  # no ARRAY without items, in any branch
    properties = exported.definition["parameters"]["properties"]
    assert properties["t"] == {"anyOf": [{"type": "STRING", "minLength": 2},
                                         {"type": "ARRAY", "items": {"type": "INTEGER"}}], "description": "ids"}
    assert properties["u"] == {"anyOf": [{"type": "OBJECT", "properties": {"a": {"type": "STRING"}}, "required": ["a"]},
                                         {"type": "ARRAY", "maxItems": 3, "items": {"type": "STRING"}}],
                               "nullable": True}
    rows = {c.path: c.action for c in exported.changes}
    assert rows == {"/properties/u/items": "added", "/properties/u/properties/a/format": "dropped"}


def test_a_property_that_must_never_be_sent_is_left_out():
    tool = made_tool("never", {"type": "object", "properties": {"x": {"type": "string"}, "y": False, "z": False},
                               "required": ["x", "z"]})
    strict = export_tool(tool, "openai")
    check("openai", strict.definition)
    assert strict.definition["function"]["parameters"] == {"type": "object", "properties": {"x": {"type": "string"}},
                                                           "required": ["x"], "additionalProperties": False}
    gemini = export_tool(tool, "gemini")
    check("gemini", gemini.definition)
    assert gemini.definition["parameters"] == {"type": "OBJECT", "properties": {"x": {"type": "STRING"}},
                                               "required": ["x"]}
    for exported in (strict, gemini):
        rows = {c.path: (c.action, c.detail) for c in exported.changes}
        assert rows["/properties/y"][0] == rows["/properties/z"][0] == "dropped"
        assert "must never be sent" in rows["/properties/y"][1] and "any value" not in rows["/properties/y"][1]
        assert "required" in rows["/properties/z"][1]  # z was required too: no call can pass the server's check
        assert "/required" not in rows
    anthropic = export_tool(tool, "anthropic")
    assert anthropic.definition["input_schema"] == tool.input_schema and anthropic.changes == ()
