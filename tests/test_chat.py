"""Conversations (mcpnb.chat): the tool loop, approval, the step limit, follow-up turns, the transcript,
and what a person sees. The model is the SCRIPTED stand-in (mcpnb.demo.scripted_model) speaking the
Anthropic Messages and OpenAI Chat Completions APIs on 127.0.0.1, reached through the real anthropic and
openai packages; the servers are the demo crm and in-process MCPServers made here."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time

import pytest
from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel
from mcp.server.mcpserver.exceptions import ToolError

import mcpnb
from mcpnb.chat import TRANSCRIPT_COLUMNS, chat
from mcpnb.demo.scripted_model import Rule, serving
from mcpnb.llm import SCRIPTED, Message

from .conftest import FAULTY

PROVIDERS = ["anthropic", "openai"]
pytest.importorskip("anthropic")
pytest.importorskip("openai")


@pytest.fixture
def stand_in():
    with serving() as running:
        yield running


@pytest.fixture
def crm() -> mcpnb.Server:
    return mcpnb.connect("demo:crm")


def first_lead(crm: mcpnb.Server) -> dict:
    return crm.call("list_leads", stage="new", limit=1).structured["leads"][0]


def tool_rounds(stand_in, path_part: str) -> list[dict]:
    return [body for path, _, body in stand_in.requests if path_part in path]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_question_is_answered_with_what_only_the_tool_knows(stand_in, crm, provider):
    lead = first_lead(crm)
    stand_in.rules = [Rule(when=r"lead (\d+)", steps=[[("get_lead", {"lead_id": lead["id"]})]],
                           answer="The lead, from the crm:\n{results}")]
    conversation = chat(stand_in.llm(provider), [crm], show=False)
    exchange = conversation.ask(f"Tell me about lead {lead['id']}.")
    assert exchange.stopped == "end"
    assert lead["title"] in exchange.text and lead["organisation"] in exchange.text  # data only the tool had
    [record] = exchange.calls
    assert (record.server, record.tool, record.approved, record.arguments) == ("crm", "get_lead", "read-only",
                                                                               {"lead_id": lead["id"]})
    assert not record.is_error and record.seconds > 0
    sent = [message for direction, message in record.wire if direction == "→"]
    assert sent[0]["method"] == "tools/call" and sent[0]["params"]["name"] == "get_lead"  # through mcpnb's wire
    assert record.trace_ids and set(record.trace_ids) <= set(range(crm.session.trace.noted))
    assert exchange.usage.input_tokens > 0 and exchange.usage.output_tokens > 0
    assert "scripted stand-in, not a model" in exchange.model_label
    # and the turn's heading makes the mark hard to miss (bold, a bar that keeps its shape untrusted)
    assert ('<b style="border-left:3px solid;border-left:3px solid var(--jp-warn-color1);padding-left:4px;'
            f'color:var(--jp-content-font-color0)">{SCRIPTED}</b>') in exchange._repr_html_()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_several_tools_in_one_turn(stand_in, crm, provider):
    stand_in.rules = [Rule(when="overview", steps=[[("pipeline_board", {}), ("list_organisations", {"limit": 2})]],
                           answer="{results}")]
    exchange = chat(stand_in.llm(provider), [crm], show=False).ask("Give me an overview.")
    assert [(c.step, c.tool) for c in exchange.calls] == [(1, "pipeline_board"), (1, "list_organisations")]
    board = crm.call("pipeline_board").text
    assert exchange.text.startswith("pipeline_board: ") and "list_organisations: " in exchange.text
    assert " ".join(board.split())[:100] in exchange.text
    assert exchange.steps == 2


def failing_server() -> MCPServer:
    server = MCPServer("shop")

    @server.tool(annotations={"readOnlyHint": True})
    def stock(sku: str) -> str:
        """How many of SKU are in stock."""
        raise ToolError(f"no product with SKU {sku}")

    return server


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_tool_error_goes_back_to_the_model(stand_in, provider):
    shop = mcpnb.connect(failing_server(), name="shop")
    stand_in.rules = [Rule(when="stock", steps=[[("stock", {"sku": "X-1"})]], answer="I saw: {results}")]
    conversation = chat(stand_in.llm(provider), [shop], show=False)
    exchange = conversation.ask("What is in stock?")
    [record] = exchange.calls
    assert record.ran and record.result.is_error and record.is_error
    assert "no product with SKU X-1" in exchange.text  # the model saw the tool's message
    assert conversation.messages[2].role == "tool" and conversation.messages[2].is_error  # sent as an error
    assert exchange.stopped == "end"


def crashing_server() -> MCPServer:
    server = MCPServer("shop")

    @server.tool(annotations={"readOnlyHint": True})
    def count(sku: str) -> str:
        """Count a SKU (it fails with an exception, which the SDK reports as "Error executing tool ...")."""
        raise ValueError("the stock table is locked")

    @server.tool(annotations={"readOnlyHint": True})
    def note() -> str:
        """A result that is no error."""
        return "all counted"

    return server


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_tool_error_is_marked_as_an_error_for_both_providers_alike(stand_in, provider):
    shop = mcpnb.connect(crashing_server(), name="shop")
    stand_in.rules = [Rule(when="count", steps=[[("count", {"sku": "X"}), ("note", {})]], answer="{results}")]
    exchange = chat(stand_in.llm(provider), [shop], show=False).ask("count it")
    assert exchange.calls[0].told.startswith("Error executing tool count")
    assert exchange.text.splitlines() == [f"count (error): {exchange.calls[0].told}", "note: all counted"]


def writable_crm_rule(lead_id: int) -> Rule:
    return Rule(when="move", steps=[[("move_lead", {"lead_id": lead_id, "stage": "lost"})]], answer="{results}")


@pytest.mark.parametrize("how", ["never", "callable", "deny", "nobody to ask"])
def test_a_refused_call_does_not_run_and_the_model_is_told(stand_in, crm, how):
    lead = first_lead(crm)
    stand_in.rules = [writable_crm_rule(lead["id"])]
    asked = []
    options = {"never": {"approve": "never"},
               "callable": {"approve": lambda record: asked.append(record.tool) or False},
               "deny": {"approve": "always", "deny": ["crm.move_lead"]},
               "nobody to ask": {}}[how]  # pytest's stdin is no terminal and no notebook is open
    exchange = chat(stand_in.llm("openai"), [crm], show=False, **options).ask("Move the lead to lost.")
    [record] = exchange.calls
    assert not record.ran and record.result is None
    assert crm.call("get_lead", lead_id=lead["id"]).structured["stage"] == "new"  # the lead did not move
    assert not [m for m in crm.trace.message if m.get("method") == "tools/call" and m["params"]["name"] == "move_lead"]
    assert "move_lead (error): " in exchange.text and "not run" in exchange.text  # the model was told
    expected = {"never": "never", "callable": "approve(): no", "deny": "denied", "nobody to ask": "nobody to ask"}
    assert record.approved == expected[how]
    if how == "callable":
        assert asked == ["move_lead"]


def test_allowed_and_always_allowed_tools_run_without_asking(stand_in, crm):
    lead = first_lead(crm)
    stand_in.rules = [writable_crm_rule(lead["id"])]
    conversation = chat(stand_in.llm("anthropic"), [crm], show=False, allow=["move_lead"])
    assert conversation.ask("Move it.").calls[0].approved == "allowed"
    assert crm.call("get_lead", lead_id=lead["id"]).structured["stage"] == "lost"
    again = chat(stand_in.llm("anthropic"), [crm], show=False)
    again.always_allowed.add("crm.move_lead")  # what answering "a" once leaves behind
    record = again.ask("Move it again.").calls[0]
    assert record.approved == "always" and record.ran and not record.is_error


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_step_limit_stops_the_loop_and_says_so(stand_in, crm, provider):
    stand_in.rules = [Rule(when="loop", steps=[[("pipeline_board", {})]] * 5, answer="done")]
    exchange = chat(stand_in.llm(provider), [crm], show=False, max_steps=2).ask("Loop for ever.")
    assert exchange.stopped == "step limit" and exchange.steps == 2
    assert [c.approved for c in exchange.calls] == ["read-only", "step limit"]
    assert not exchange.calls[1].ran and "step limit" in exchange.calls[1].told
    assert "stopped at the step limit (2 model requests)" in exchange._repr_html_()
    follow = chat(stand_in.llm(provider), [crm], show=False, max_steps=2)
    follow.ask("Loop for ever.")
    stand_in.rules.append(Rule(when="hello", answer="hello back"))
    assert follow.ask("hello").text == "hello back"  # the conversation stays valid for the API after the limit


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_follow_up_turn_sees_the_earlier_turn(stand_in, crm, provider):
    lead = first_lead(crm)
    stand_in.rules = [Rule(when="first", steps=[[("get_lead", {"lead_id": lead["id"]})]], answer="noted"),
                      Rule(when="second", answer="second answer")]
    conversation = chat(stand_in.llm(provider), [crm], system="You help with the crm.", show=False)
    conversation.ask("The first question.")
    second = conversation.ask("And the second?")
    assert second.turn == 2 and second.text == "second answer"
    path = "/v1/messages" if provider == "anthropic" else "/chat/completions"
    last = json.dumps(tool_rounds(stand_in, path)[-1])
    assert "The first question." in last and lead["title"] in last and "noted" in last  # earlier prompt, result, answer
    assert "You help with the crm." in last
    assert [m.role for m in conversation.messages] == ["user", "assistant", "tool", "assistant", "user", "assistant"]


def test_the_transcript_and_the_usage_tables(stand_in, crm):
    lead = first_lead(crm)
    stand_in.rules = [Rule(when="lead", steps=[[("get_lead", {"lead_id": lead["id"]})]], answer="ok"),
                      Rule(when="thanks", answer="you are welcome")]
    conversation = chat(stand_in.llm("anthropic"), [crm], show=False)
    conversation.ask("Which lead?")
    conversation.ask("thanks")
    transcript = conversation.transcript
    assert list(transcript.columns) == TRANSCRIPT_COLUMNS == [
        "turn", "step", "role", "text", "tool", "server", "arguments", "result", "is_error", "approved", "seconds",
        "input_tokens", "output_tokens"]
    assert transcript[["turn", "step", "role"]].values.tolist() == [
        [1, 0, "user"], [1, 1, "assistant"], [1, 1, "tool"], [1, 2, "assistant"], [2, 0, "user"], [2, 1, "assistant"]]
    tool = transcript[transcript.role == "tool"].iloc[0]
    assert (tool.tool, tool.server, tool.arguments, tool.approved, tool.is_error) == (
        "get_lead", "crm", {"lead_id": lead["id"]}, "read-only", False)
    assert lead["title"] in tool.result
    usage = conversation.usage
    assert list(usage.columns) == ["turn", "input_tokens", "output_tokens", "steps", "tool_calls", "seconds", "stopped"]
    assert usage.steps.tolist() == [2, 1] and usage.tool_calls.tolist() == [1, 0]
    answered = transcript[transcript.role == "assistant"]
    assert usage.input_tokens.sum() == answered.input_tokens.sum() > 0
    # Tokens are whole numbers where a row has none (2173, not 2173.0); seconds to the millisecond.
    assert str(transcript.input_tokens.dtype) == str(transcript.output_tokens.dtype) == "Int64"
    assert transcript.input_tokens.isna().tolist() == [role != "assistant" for role in transcript.role]
    assert ".0" not in transcript.to_string(columns=["input_tokens", "output_tokens"])
    timed = transcript.seconds.dropna()
    assert len(timed) == 4 and (timed == timed.round(3)).all() and timed.sum() > 0  # 3 replies, 1 call


def optional_server() -> MCPServer:
    server = MCPServer("finder")

    @server.tool(annotations={"readOnlyHint": True})
    def find(query: str, limit: int = 5, note: str | None = None) -> str:
        """Find things."""
        return json.dumps({"query": query, "limit": limit, "note": note})

    return server


def test_openai_strict_nulls_for_optional_arguments_are_dropped(stand_in):
    finder = mcpnb.connect(optional_server(), name="finder")
    stand_in.rules = [Rule(when="find", steps=[[("find", {"query": "x", "limit": None, "note": None})]],
                           answer="{results}")]
    exchange = chat(stand_in.llm("openai"), [finder], show=False).ask("find x")
    [record] = exchange.calls
    assert record.dropped == ["limit"]  # null is no integer; note allows null, so it stays as sent
    assert record.arguments == {"query": "x", "note": None}
    assert not record.is_error and json.loads(record.result.text) == {"query": "x", "limit": 5, "note": None}
    assert "left out: limit" in exchange._repr_html_()


class Filter(BaseModel):
    stage: str = "new"
    owner: str | None = None


def nested_optional_server() -> MCPServer:
    server = MCPServer("nested")

    @server.tool(annotations={"readOnlyHint": True})
    def search(query: str, filter: Filter | None = None, also: list[Filter] = []) -> str:  # noqa: B006
        """Search with an optional filter object."""
        return json.dumps({"filter": filter.model_dump() if filter else None, "also": [f.model_dump() for f in also]})

    return server


def test_openai_strict_nulls_inside_an_optional_object_are_dropped_too(stand_in):
    nested = mcpnb.connect(nested_optional_server(), name="nested")
    sent = {"query": "q", "filter": {"stage": None, "owner": None}, "also": [{"stage": None, "owner": "x"}]}
    stand_in.rules = [Rule(when="search", steps=[[("search", sent)]], answer="{results}")]
    [record] = chat(stand_in.llm("openai"), [nested], show=False).ask("search").calls
    assert record.dropped == ["filter.stage", "also.0.stage"]  # owner allows null: it stays as sent
    assert not record.is_error, record.told
    assert json.loads(record.result.text) == {"filter": {"stage": "new", "owner": None},
                                              "also": [{"stage": "new", "owner": "x"}]}


def named(name: str) -> MCPServer:
    server = MCPServer(name)

    @server.tool(annotations={"readOnlyHint": True})
    def lookup(key: str) -> str:
        """Look a key up."""
        return f"{name} knows {key}"

    return server


def test_a_tool_name_two_servers_share_is_told_apart(stand_in):
    north, south = mcpnb.connect(named("north"), name="north"), mcpnb.connect(named("south"), name="south")
    stand_in.rules = [Rule(when="south", steps=[[("south_lookup", {"key": "k"})]], answer="{results}")]
    conversation = chat(stand_in.llm("anthropic"), [north, south], show=False)
    exchange = conversation.ask("Ask the south.")
    [record] = exchange.calls
    assert (record.server, record.tool, record.model_name) == ("south", "lookup", "south_lookup")
    assert "south knows k" in exchange.text
    offered = [tool["name"] for tool in tool_rounds(stand_in, "/v1/messages")[0]["tools"]]
    assert offered == ["north_lookup", "south_lookup"]
    assert any("each offer a tool named 'lookup'" in note for note in exchange.notes)
    assert "each offer a tool named" in conversation.transcript.text.iloc[0]


EVIL = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def hostile_server() -> MCPServer:
    server = MCPServer("hostile")

    @server.tool(description=f"Reads. {EVIL}", annotations={"readOnlyHint": True})
    def read_it() -> str:
        return f"result {EVIL}"

    @server.tool(annotations={"readOnlyHint": True})
    def table_it() -> dict:
        return {"rows": [{EVIL: EVIL}]}

    return server


def test_every_string_from_servers_and_models_is_escaped(stand_in):
    hostile = mcpnb.connect(hostile_server(), name="hostile")
    stand_in.rules = [Rule(when="go", steps=[[("read_it", {"x": EVIL}), ("table_it", {})]],
                           answer=f"model says {EVIL}")]
    conversation = chat(stand_in.llm("anthropic"), [hostile], show=False)
    exchange = conversation.ask(f"go {EVIL}")
    for markup in (exchange._repr_html_(), conversation._repr_html_(), mcpnb.render.chat_approval(EVIL,
                                                                                                   exchange.calls[0])):
        assert "<script" not in markup and "<img" not in markup
        assert "&lt;script&gt;" in markup


def test_a_server_that_crashes_mid_conversation_is_an_error_result_and_the_chat_goes_on(stand_in, crm):
    faulty = mcpnb.connect(FAULTY, name="faulty")
    stand_in.rules = [Rule(when="crash", steps=[[("crash", {})]], answer="after: {results}"),
                      Rule(when="board", steps=[[("pipeline_board", {})]], answer="{results}")]
    conversation = chat(stand_in.llm("openai"), [faulty, crm], show=False, approve="always")
    exchange = conversation.ask("Please crash.")
    [record] = exchange.calls
    assert record.ran and record.result is None and "\n" not in record.error
    assert "crash (error): " in exchange.text and exchange.stopped == "end"
    assert "faulty" in record.error
    later = conversation.ask("Now the board.")  # the crashed server is left out, with a note; crm still works
    assert later.calls[0].tool == "pipeline_board" and not later.calls[0].is_error
    assert any(note.startswith("faulty is left out") for note in later.notes)


def test_a_failing_model_ends_the_turn_with_one_line_and_the_conversation_stays_usable(stand_in, crm):
    conversation = chat(stand_in.llm("anthropic"), [crm], show=False)
    stand_in.fail_with = (429, "Number of request tokens has exceeded your per-minute rate limit")
    exchange = conversation.ask("anything")
    assert exchange.stopped.startswith("error: ") and "\n" not in exchange.stopped
    assert "scripted-stand-in-key" not in exchange.stopped
    assert conversation.messages == [Message("user", "anything")]  # the prompt stays; nothing half-said
    stand_in.fail_with = None
    stand_in.rules = [Rule(when="anything", answer="the old prompt"), Rule(when="again", answer="fine now")]
    assert conversation.ask("again").text == "fine now"  # the latest prompt is answered
    assert tool_rounds(stand_in, "/v1/messages")[-1]["messages"] == [  # both prompts, in one user message
        {"role": "user", "content": [{"type": "text", "text": "anything"}, {"type": "text", "text": "again"}]}]
    assert [e.turn for e in conversation.exchanges] == [1, 2]  # the failed turn keeps its number
    assert conversation.transcript.groupby("turn")["role"].apply(list).to_dict() == {
        1: ["user", "note"], 2: ["user", "assistant"]}


def moves(crm: mcpnb.Server) -> list[dict]:
    """The move_lead calls that went to the crm, from its trace."""
    return [m for m in crm.trace.message if m.get("method") == "tools/call" and m["params"]["name"] == "move_lead"]


def the_round_was_sent_again(stand_in, provider: str, first: str, follow_up: str, told: str) -> None:
    """The follow-up request carries the earlier prompt, the tool call and its result, in the shape the API takes."""
    if provider == "anthropic":
        sent = tool_rounds(stand_in, "/v1/messages")[-1]["messages"]
        assert [m["role"] for m in sent] == ["user", "assistant", "user"]
        assert sent[0]["content"] == [{"type": "text", "text": first}]
        [use] = sent[1]["content"]
        assert (use["type"], use["name"]) == ("tool_use", "move_lead")
        result, prompt = sent[2]["content"]  # the result first, then the new prompt: ONE user message
        assert result["type"] == "tool_result" and result["tool_use_id"] == use["id"]
        assert told in result["content"] and prompt == {"type": "text", "text": follow_up}
    else:
        sent = tool_rounds(stand_in, "/chat/completions")[-1]["messages"]
        assert [m["role"] for m in sent] == ["user", "assistant", "tool", "user"]
        assert sent[0]["content"] == first and sent[3]["content"] == follow_up
        [call] = sent[1]["tool_calls"]
        assert call["function"]["name"] == "move_lead" and sent[2]["tool_call_id"] == call["id"]
        assert told in sent[2]["content"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_model_failing_at_step_2_keeps_the_tool_round_that_ran(stand_in, crm, provider):
    """move_lead ran at step 1, then the model failed: the next turn's model must know the lead moved,
    or "try again" moves it again."""
    lead = first_lead(crm)
    stand_in.rules = [Rule(when="move", steps=[[("move_lead", {"lead_id": lead["id"], "stage": "lost"})]],
                           answer="{results}"),
                      Rule(when="did it", answer="It did: {prompt}")]
    conversation = chat(stand_in.llm(provider), [crm], show=False, allow=["move_lead"])
    stand_in.fail_with, stand_in.fail_after = (500, "Internal server error"), 1  # step 1 answered, step 2 fails
    exchange = conversation.ask("Move the lead to lost.")
    assert exchange.stopped.startswith("error: ") and "HTTP 500" in exchange.stopped
    [record] = exchange.calls
    assert record.ran and not record.is_error and record.approved == "allowed"
    assert crm.call("get_lead", lead_id=lead["id"]).structured["stage"] == "lost"
    assert "move_lead" in exchange._repr_html_() and "HTTP 500" in exchange._repr_html_()  # the card shows it ran
    assert [m.role for m in conversation.messages] == ["user", "assistant", "tool"]
    stand_in.fail_with = None
    follow = conversation.ask("Did it work?")
    assert follow.text == "It did: Did it work?" and follow.turn == 2 and follow.stopped == "end"
    the_round_was_sent_again(stand_in, provider, "Move the lead to lost.", "Did it work?", record.told)
    assert len(moves(crm)) == 1
    assert conversation.transcript[["turn", "role", "tool"]].fillna("").values.tolist()[:4] == [
        [1, "user", ""], [1, "assistant", "move_lead"], [1, "tool", "move_lead"], [1, "note", ""]]


def interrupt_in(seconds: float) -> None:
    """Ctrl-C (a kernel's interrupt) for the main thread, blocked in a synchronous ask, in ``seconds``."""
    threading.Timer(seconds, lambda: os.kill(os.getpid(), signal.SIGINT)).start()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_interrupt_while_waiting_for_the_model_keeps_the_tool_round_that_ran(stand_in, crm, provider):
    lead = first_lead(crm)
    stand_in.rules = [Rule(when="move", steps=[[("move_lead", {"lead_id": lead["id"], "stage": "lost"})]] * 2,
                           answer="{results}"),
                      Rule(when="where", answer="Asked: {prompt}")]

    def approve(record) -> bool:  # step 1's call: from now on the model is slow, and the person presses stop
        stand_in.delay = 60
        interrupt_in(1.5)
        return True

    conversation = chat(stand_in.llm(provider), [crm], show=False, approve=approve)
    with pytest.raises(KeyboardInterrupt):
        conversation.ask("Move the lead to lost.")
    stand_in.delay = 0
    [exchange] = conversation.exchanges  # the turn is kept, as far as it went
    assert exchange.stopped == "interrupted" and exchange.steps == 1
    [record] = exchange.calls
    assert record.ran and not record.is_error
    assert crm.call("get_lead", lead_id=lead["id"]).structured["stage"] == "lost"
    assert [m.role for m in conversation.messages] == ["user", "assistant", "tool"]
    follow = conversation.ask("Where is the lead now?")
    assert follow.text == "Asked: Where is the lead now?" and follow.turn == 2
    the_round_was_sent_again(stand_in, provider, "Move the lead to lost.", "Where is the lead now?", record.told)
    assert len(moves(crm)) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_interrupt_during_a_tool_call_answers_it_as_interrupted(stand_in, provider):
    faulty = mcpnb.connect(FAULTY, name="faulty")
    stand_in.rules = [Rule(when="slow", steps=[[("slow", {"seconds": 60}), ("echo", {"text": "x"})]],
                           answer="{results}"),
                      Rule(when="hello", answer="hello back")]
    conversation = chat(stand_in.llm(provider), [faulty], show=False, approve="always")
    interrupt_in(1.5)
    with pytest.raises(KeyboardInterrupt):
        conversation.ask("be slow")
    [exchange] = conversation.exchanges
    slow, echo = exchange.calls
    assert exchange.stopped == "interrupted"
    assert slow.ran and slow.state == "error" and "interrupted while this call ran" in slow.told
    assert not echo.ran and echo.approved == "interrupted" and echo.state == "not run" and "Not run" in echo.told
    tools = [m for m in conversation.messages if m.role == "tool"]
    assert [(m.call_id, m.is_error) for m in tools] == [(slow.call_id, True), (echo.call_id, True)]
    assert conversation.ask("hello").text == "hello back"  # a request both APIs accept
    assert "interrupted while this call ran" in json.dumps(stand_in.requests[-1][2])


def test_mistakes_are_one_clear_message(stand_in, crm):
    with pytest.raises(mcpnb.ConfigError, match="approve="):
        chat(stand_in.llm("openai"), approve="sometimes")
    with pytest.raises(mcpnb.ConfigError, match="No open server is named 'nope'"):
        chat(stand_in.llm("openai"), ["nope"])
    with pytest.raises(mcpnb.ConfigError, match="max_steps"):
        chat(stand_in.llm("openai"), max_steps=0)


def test_mcp_ask_refuses_max_steps_below_1_also_when_the_conversation_goes_on(stand_in, crm):
    """--max-steps 0 was refused for a new conversation (chat() checks it) but taken by one that went
    on: the next turn asked the model once and refused every call as "step limit"."""
    from types import SimpleNamespace

    from mcpnb.magics import COMMANDS

    stand_in.rules = [Rule(when="list", steps=[[("list_leads", {"stage": "new"})]], answer="{results}")]
    magics = SimpleNamespace(model="", conversation=None, conversation_key=None)
    shell = SimpleNamespace(user_ns={"model": stand_in.llm("openai")})

    def ask(flags: str, prompt: str):
        args = COMMANDS["ask"].parser.parse_intermixed_args(["--model", "model", *flags.split()])
        args.magics, args.shell = magics, shell
        return COMMANDS["ask"].run(args, prompt)

    assert ask("", "list the new leads").stopped == "end"
    for flags in ("--max-steps 0", "--new --max-steps -1"):
        with pytest.raises(mcpnb.ConfigError, match="--max-steps must be a whole number of at least 1"):
            ask(flags, "list the new leads")
    assert len(magics.conversation.exchanges) == 1 and magics.conversation.max_steps == 10


def test_servers_none_means_every_open_connection_at_each_turn(stand_in, crm):
    conversation = chat(stand_in.llm("anthropic"), show=False)
    stand_in.rules = [Rule(when="x", answer="y")]
    conversation.ask("x")
    assert [s.name for s in conversation.servers] == ["crm"]
    mcpnb.connect(named("late"), name="late")
    conversation.ask("x")
    offered = [tool["name"] for tool in tool_rounds(stand_in, "/v1/messages")[-1]["tools"]]
    assert "lookup" in offered and "get_lead" in offered
    assert re.search(r"servers: crm, late", conversation._repr_html_())


# -- in a real kernel ------------------------------------------------------------------------------------


@pytest.fixture
def kernel():
    from .test_kernel import Kernel

    running = Kernel()
    yield running
    if running.manager.is_alive():
        running.stop(now=True)


def test_mcp_ask_in_a_kernel_asks_on_stdin_before_a_tool_that_is_not_read_only(kernel, demo_data):
    """A cell blocked in %%mcp ask asks in the kernel's input box; "n" leaves the lead alone, "y" moves it,
    "a" moves it and allows the tool for the rest of the conversation. The turn shows as it goes (one
    display, updated), and the cell's result does not show it a second time."""
    kernel.run(f"import os\nos.environ['MCPNB_DEMO_DIR'] = {str(demo_data)!r}\nimport mcpnb\n%load_ext mcpnb\n"
               "from mcpnb.demo.scripted_model import Rule, start\n"
               "crm = mcpnb.connect('demo:crm')\n"
               "leads = [lead['id'] for lead in crm.call('list_leads', stage='new', limit=3).structured['leads']]\n"
               "stand_in = start([Rule(when=f'lead {n}', steps=[[('move_lead', {'lead_id': lead, 'stage': 'lost'})]],"
               " answer='{results}') for n, lead in enumerate(leads)])\n"
               "model = stand_in.llm('openai')")

    kernel.run("os.environ.pop('MCPNB_MODEL', None)")
    missing = kernel.reply(kernel.start("%%mcp ask\nhello"))
    assert missing["status"] == "error" and "No model for %%mcp ask" in missing["evalue"]

    def ask(prompt: str, answer: str | None, flags: str = "") -> list[dict]:
        msg_id = kernel.start(f"%%mcp ask --model model {flags}\n{prompt}")
        if answer is not None:
            request = kernel.client.get_stdin_msg(timeout=60)
            assert request["content"]["prompt"].startswith("Allow move_lead? [y]es once, [a]lways")
            kernel.client.input(answer)
        content, seen = kernel.outputs(msg_id)
        assert content["status"] == "ok", content
        return seen

    def stage(index: int) -> str:
        return kernel.run(f"crm.call('get_lead', lead_id=leads[{index}]).structured['stage']")

    seen = ask("Move lead 0 to lost.", "n")
    assert stage(0) == "'new'"
    assert kernel.run("_mcp_chat.exchanges[-1].calls[0].approved") == "'asked: no'"
    asked = [m["content"]["text"] for m in seen if m["msg_type"] == "stream"]
    assert any("wants to call crm.move_lead (not read-only)" in text for text in asked)
    shown = [m for m in seen if m["msg_type"] in ("display_data", "update_display_data", "execute_result")]
    assert shown[0]["msg_type"] == "display_data" and shown[0]["content"]["transient"]["display_id"]
    assert {m["msg_type"] for m in shown[1:]} == {"update_display_data"}  # updated in place, never twice
    assert "The person did not allow this call" in shown[-1]["content"]["data"]["text/html"]

    ask("Move lead 1 to lost.", "y")
    assert stage(1) == "'lost'"
    ask("Move lead 2 to lost.", "a")
    assert stage(2) == "'lost'"
    ask("Move lead 0 to lost.", None)  # allowed for the rest of the conversation: nobody is asked
    assert stage(0) == "'lost'"
    assert kernel.run("[c.approved for e in _mcp_chat.exchanges for c in e.calls]") == \
        "['asked: no', 'asked: yes', 'asked: always', 'always']"
    assert kernel.run("shown = %mcp ask\nshown is _mcp_chat, len(shown.exchanges)") == "(True, 4)"
    ask("Move lead 1 to lost.", "n", "--new")  # a new conversation: nothing is allowed in it yet
    assert kernel.run("len(_mcp_chat.exchanges), shown is _mcp_chat") == "(1, False)"
    kernel.run("stand_in.stop()")


def test_an_interrupted_turn_stops_its_tool_call_and_the_conversation_goes_on(kernel):
    kernel.run("import mcpnb\nfrom mcpnb.chat import chat\nfrom mcpnb.demo.scripted_model import Rule, start\n"
               f"faulty = mcpnb.connect({FAULTY!r}, name='faulty')\n"
               "stand_in = start([Rule(when='slow', steps=[[('slow', {'seconds': 60})]], answer='{results}'),"
               " Rule(when='hello', answer='hello back')])\n"
               "c = chat(stand_in.llm('anthropic'), [faulty], approve='always')")
    msg_id = kernel.start("c.ask('be slow')")
    time.sleep(2)  # the tool call is under way
    kernel.manager.interrupt_kernel()
    content, seen = kernel.outputs(msg_id, timeout=15)
    assert content["status"] == "error" and content["ename"] == "Interrupted"
    drawn = [m for m in seen if m["msg_type"] in ("display_data", "update_display_data")]
    assert "interrupted" in drawn[-1]["content"]["data"]["text/html"]  # not "waiting for the model" for ever
    # The turn is kept as far as it went: the call is answered as interrupted, so the next request is valid.
    assert kernel.run("[m.role for m in c.messages], len(c.exchanges)") == "(['user', 'assistant', 'tool'], 1)"
    assert kernel.run("c.messages[-1].is_error, 'interrupted while this call ran' in c.messages[-1].text") == \
        "(True, True)"
    assert kernel.run("c.ask('hello').text") == "'hello back'"


# -- in JupyterLab ----------------------------------------------------------------------------------------

from .test_browser import CHROMIUM, THEMES, appear, browser, lab, open_notebook, set_theme, shot  # noqa: E402,F401


@pytest.mark.skipif(not __import__("pathlib").Path(CHROMIUM).exists(), reason=f"no chromium at {CHROMIUM}")
def test_an_awaited_turn_asks_under_its_cell_and_the_click_lets_the_tool_run(browser, lab):  # noqa: F811
    """What only a browser shows: the Allow / Deny prompt under a cell that awaits a turn (a blocked cell is
    asked on stdin instead), and the turn's cards in each theme and width (kept in test-artifacts/browser/)."""
    setup = ("import mcpnb\nfrom mcpnb.chat import chat\nfrom mcpnb.demo.scripted_model import Rule, start\n"
             "crm = mcpnb.connect('demo:crm')\n"
             "lead = crm.call('list_leads', stage='new', limit=1).structured['leads'][0]['id']\n"
             "stand_in = start([Rule(when='overview', steps=[[('get_lead', {'lead_id': lead}), "
             "('list_leads', {'stage': 'won', 'limit': 3})]], answer='What the crm says:\\n{results}'), "
             "Rule(when='move', steps=[[('move_lead', {'lead_id': lead, 'stage': 'qualified'})]], "
             "answer='Done: {results}')])\n"
             "conversation = chat(stand_in.llm('anthropic'), [crm])")
    page = open_notebook(browser, lab, "chat.ipynb", [setup, "conversation.ask('Give me an overview of the lead.')",
                                                      "await conversation.aask('Now move it on.')"])
    allow = appear(page, page.get_by_role("button", name="Allow once"), "chat-approval")
    allow.scroll_into_view_if_needed()
    shot(page, "chat-approval-asked")
    allow.click()
    appear(page, page.get_by_text("asked: yes"), "chat-approved")
    appear(page, page.get_by_text("allowed once"), "chat-approval-folded")
    cards = page.locator(".mcpnb-chat-call")
    assert cards.count() == 3
    for theme in THEMES:
        set_theme(page, theme)
        page.wait_for_timeout(2000)  # the theme's splash fades
        for width in (900, 1400):
            page.set_viewport_size({"width": width, "height": 2400})
            page.locator(".jp-Cell").nth(1).evaluate("e => e.scrollIntoView({block: 'start'})")
            shot(page, f"chat-turn-{theme}-{width}")
    set_theme(page, "light")
    page.close()
