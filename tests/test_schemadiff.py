"""JSON Schema comparison (mcpnb.schemadiff) on its own: what tests/test_snapshot.py does not reach
through a server's diff — one change judged both ways, the nullable spellings, tuple and
additionalProperties paths, option lists, and what it leaves to check by hand."""

import pytest

import mcpnb
from mcpnb.schemadiff import compare_schemas

ROW_A = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
ROW_B = {"type": "object", "properties": {"b": {"type": "integer"}}, "required": ["b"]}
ROW_C = {"type": "object", "properties": {"c": {"type": "integer"}}, "required": ["c"]}


def judged(old, new, direction) -> list[tuple[str, str, bool]]:
    return [(change.path, change.phrase, change.breaking) for change in compare_schemas(old, new, direction)]


def test_the_same_edit_breaks_what_clients_send_or_what_they_read_not_both():
    old = {"type": "object", "required": ["n"],
           "properties": {"s": {"type": "string", "enum": ["a", "b"]}, "n": {"type": "integer"}}}
    new = {"type": "object", "additionalProperties": False,
           "properties": {"s": {"type": "string", "enum": ["a", "b", "c"]}, "n": {"type": "integer"}}}
    assert judged(old, new, "input") == [
        ("s", "enum values added: 'c'", False),
        ("n", "now optional", False),
        ("", "no longer accepts undeclared properties", True),
    ]
    assert judged(old, new, "output") == [
        ("s", "enum values added: 'c'", True),
        ("n", "no longer required", True),
        ("", "no longer accepts undeclared properties", False),
    ]
    output = compare_schemas(old, new, "output")
    assert output[0].detail == "Clients that read the structured result may get values they do not expect."
    assert output[2].detail == "Clients read the properties they know; nothing they read changed."
    assert [change.effect for change in output] == ["widened", "now optional", "closed"]


def test_every_spelling_of_nullable_reads_the_same_and_const_compares_with_enum():
    spellings = [
        {"type": "string", "nullable": True},  # OpenAPI
        {"anyOf": [{"type": "string"}, {"type": "null"}]},  # pydantic's Optional
        {"type": ["string", "null"]},
        {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/Text"}], "$defs": {"Text": {"type": "string"}}},
    ]
    for old in spellings:
        for new in spellings:
            assert compare_schemas(old, new, "input") == [], (old, new)
    assert judged({"type": "string"}, spellings[0], "output") == [("", "type widened: string -> string|null", True)]
    assert judged(spellings[3], {"type": "string"}, "input") == [("", "type narrowed: string|null -> string", True)]
    assert judged({"const": "a"}, {"enum": ["a", "b"]}, "input") == [("", "enum values added: 'b'", False)]


def test_paths_name_tuple_positions_and_additional_properties_and_option_lists_count():
    old = {"type": "object", "properties": {
        "pair": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}]},
        "extra": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}}}
    new = {"type": "object", "properties": {
        "pair": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string", "maxLength": 3}]},
        "extra": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}}}}
    assert judged(old, new, "input") == [("pair[1]", "maxLength added: 3", True),
                                         ("extra.*", "minimum raised: 0 -> 1", True)]
    assert judged({"anyOf": [ROW_A]}, {"anyOf": [ROW_A, ROW_B]}, "input") == [("", "anyOf option added", False)]
    assert judged({"anyOf": [ROW_A]}, {"anyOf": [ROW_A, ROW_B]}, "output") == [("", "anyOf option added", True)]
    assert judged({"allOf": [ROW_A]}, {"allOf": [ROW_A, ROW_B]}, "input") == [("", "allOf option added", True)]


@pytest.mark.parametrize("old, new, keyword", [
    ({"$ref": "https://example.com/a.json"}, {"$ref": "https://example.com/b.json"}, "$ref"),  # not followed
    ({"anyOf": [ROW_A, ROW_B]}, {"anyOf": [ROW_C]}, "anyOf"),  # neither more nor fewer options
    ({"dependentRequired": {"a": ["b"]}}, {"dependentRequired": {"a": ["c"]}}, "dependentRequired"),
])
def test_what_it_does_not_analyse_breaks_both_ways_and_says_check_by_hand(old, new, keyword):
    for direction in ("input", "output"):
        (change,) = compare_schemas(old, new, direction)
        assert (change.path, change.phrase, change.breaking) == ("", f"keyword '{keyword}' changed (not analysed)",
                                                                 True)
        assert "check by hand" in change.detail


def test_a_direction_other_than_input_or_output_is_refused():
    with pytest.raises(mcpnb.ConfigError, match="judges an 'input' or an 'output' schema, not 'result'") as raised:
        compare_schemas({}, {"type": "string"}, "result")
    assert raised.value.hint
