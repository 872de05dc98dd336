"""Models through the providers' real client packages (anthropic, openai), against the SCRIPTED stand-in
on 127.0.0.1 (mcpnb.demo.scripted_model: not a model, it follows rules); the real APIs when a key is set."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from typing import Annotated

import mcp_types as types
import pytest
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.resolve import Resolve, Sample

import mcpnb
from mcpnb.demo.scripted_model import Rule, serving
from mcpnb.errors import ConfigError, ModelError
from mcpnb.llm import Message, llm

from .conftest import free_port

PROVIDERS = ["anthropic", "openai"]
CHAT_PATH = {"anthropic": "/v1/messages", "openai": "/v1/chat/completions"}
FAKE_KEY = "sk-test-RECOGNISABLE-0123456789abcdef"  # opens nothing; must never be shown


def rooms() -> MCPServer:
    server = MCPServer("rooms")

    @server.tool()
    def find_room(day: str, seats: int = 4) -> str:
        """Rooms free on a day, with at least this many seats."""
        return f"rooms on {day}"

    @server.tool()
    def book_room(room: str, day: str) -> str:
        """Book a room for a day."""
        return f"booked {room}"

    return server


@pytest.fixture(scope="module")
def definitions() -> dict[str, list[dict]]:
    """The rooms tools as mcpnb.export writes them for each provider (OpenAI's strict)."""
    server = mcpnb.connect(rooms(), name="rooms-for-export")
    try:
        return {provider: list(server.tools.export(provider)) for provider in PROVIDERS}
    finally:
        server.close()


@pytest.fixture
def stand_in(monkeypatch):
    """The stand-in, with no key or endpoint of the machine's in the way."""
    for variable in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(variable, raising=False)
    with serving() as scripted:
        yield scripted


def bodies(stand_in, provider: str) -> list[dict]:
    return [body for path, _, body in stand_in.requests if path == CHAT_PATH[provider]]


def compact_tokens(body: dict) -> int:
    return len(json.dumps(body, separators=(",", ":"), ensure_ascii=False)) // 4


# -- replies --------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_plain_text_reply_with_the_apis_usage(stand_in, provider):
    stand_in.rules = [Rule(when=r"hello", answer="Hello from the rules. You said: {prompt}")]
    model = stand_in.llm(provider)
    reply = model.complete([Message("user", "Hello there")], system="Be brief.")
    assert reply.text == "Hello from the rules. You said: Hello there"
    assert reply.calls == () and reply.stop == "end" and reply.model == "scripted-1"
    (body,) = bodies(stand_in, provider)
    assert reply.usage.input_tokens == compact_tokens(body) > 0 and reply.usage.output_tokens > 0
    if provider == "anthropic":
        assert body["system"] == "Be brief." and body["messages"] == [
            {"role": "user", "content": [{"type": "text", "text": "Hello there"}]}]
    else:
        assert body["messages"] == [{"role": "system", "content": "Be brief."},
                                    {"role": "user", "content": "Hello there"}]
        assert body["max_tokens"] == 1024  # a compatible endpoint: max_tokens, not max_completion_tokens


@pytest.mark.parametrize("provider", PROVIDERS)
def test_one_tool_call_with_the_exported_definitions(stand_in, provider, definitions):
    stand_in.rules = [Rule(when=r"free room", steps=[[("find_room", {"day": "Monday", "seats": 6})]])]
    reply = stand_in.llm(provider).complete([Message("user", "Is there a free room on Monday?")],
                                            tools=definitions[provider])
    assert reply.stop == "tool_use" and reply.text == ""
    (call,) = reply.calls
    assert (call.name, call.arguments, call.problem) == ("find_room", {"day": "Monday", "seats": 6}, None)
    assert call.id.startswith("toolu_" if provider == "anthropic" else "call_")
    assert bodies(stand_in, provider)[0]["tools"] == definitions[provider]  # as exported, unchanged


@pytest.mark.parametrize("provider", PROVIDERS)
def test_several_calls_in_one_turn_then_results_fed_back_in_the_providers_shape(stand_in, provider, definitions):
    both = [("find_room", {"day": "Tue"}), ("book_room", {"room": "Oak", "day": "Tue"})]
    stand_in.rules = [Rule(when=r"book", steps=[both], answer="Done. {results}")]
    model = stand_in.llm(provider)
    conversation = [Message("user", "Book me a room on Tuesday")]
    first = model.complete(conversation, tools=definitions[provider])
    assert [c.name for c in first.calls] == ["find_room", "book_room"] and first.stop == "tool_use"
    found, booked = first.calls
    conversation += [Message("assistant", first.text, first.calls),
                     Message("tool", "Oak, Elm", call_id=found.id),
                     Message("tool", "Oak is taken", call_id=booked.id, is_error=True)]
    second = model.complete(conversation, tools=definitions[provider])
    assert second.text == "Done. find_room: Oak, Elm\nbook_room (error): Oak is taken" and second.stop == "end"
    sent = bodies(stand_in, provider)[1]["messages"]
    if provider == "anthropic":  # both results in ONE user message, the error flagged
        assert sent[1]["content"] == [
            {"type": "tool_use", "id": found.id, "name": "find_room", "input": {"day": "Tue"}},
            {"type": "tool_use", "id": booked.id, "name": "book_room", "input": {"room": "Oak", "day": "Tue"}}]
        assert sent[2] == {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": found.id, "content": "Oak, Elm"},
            {"type": "tool_result", "tool_use_id": booked.id, "content": "Oak is taken", "is_error": True}]}
    else:  # one role "tool" message per call; the API has no error flag, so the text says it
        assert [c["function"]["arguments"] for c in sent[1]["tool_calls"]] == [
            '{"day": "Tue"}', '{"room": "Oak", "day": "Tue"}']
        assert sent[2:] == [{"role": "tool", "tool_call_id": found.id, "content": "Oak, Elm"},
                            {"role": "tool", "tool_call_id": booked.id, "content": "Error: Oak is taken"}]
    # A follow-up prompt right after tool results is accepted too (Anthropic: text after the results).
    stand_in.rules.append(Rule(when=r"thanks", answer="You are welcome."))
    third = model.complete(conversation + [Message("user", "thanks")], tools=definitions[provider])
    assert third.text == "You are welcome."


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_tool_result_that_answers_no_call_is_refused_as_the_api_refuses_it(stand_in, provider):
    model = stand_in.llm(provider)
    with pytest.raises(ModelError) as caught:
        model.complete([Message("user", "hi"), Message("tool", "stray", call_id="toolu_nothing")])
    assert caught.value.status == 400 and "HTTP 400" in caught.value.message
    assert ("tool_use" in caught.value.message) if provider == "anthropic" else ("tool_calls" in caught.value.message)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_follow_up_after_a_failed_turn_is_sent_in_a_shape_the_api_takes(stand_in, provider, definitions):
    """A turn that failed leaves its prompt (and the tool rounds that ran) behind: the next prompt comes
    after a user message or tool results: ONE user message (Anthropic: the results first, then the text)."""
    stand_in.rules = [Rule(when="book", steps=[[("find_room", {"day": "Tue"})]]), Rule(when="first", answer="1"),
                      Rule(when="second", answer="2nd")]
    model = stand_in.llm(provider)
    assert model.complete([Message("user", "first"), Message("user", "second")]).text == "2nd"  # the latest
    call = model.complete([Message("user", "book it")], tools=definitions[provider]).calls[0]
    history = [Message("user", "book it"), Message("assistant", "", (call,)), Message("tool", "Oak", call_id=call.id),
               Message("user", "second")]
    assert model.complete(history, tools=definitions[provider]).text == "2nd"
    first, _, second = bodies(stand_in, provider)
    if provider == "anthropic":
        assert first["messages"] == [{"role": "user", "content": [{"type": "text", "text": "first"},
                                                                  {"type": "text", "text": "second"}]}]
        assert second["messages"][2] == {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": call.id, "content": "Oak"}, {"type": "text", "text": "second"}]}
    else:  # one user message too: compatible servers' chat templates (Mistral, Gemma) refuse two in a row
        assert first["messages"] == [{"role": "user", "content": [{"type": "text", "text": "first"},
                                                                  {"type": "text", "text": "second"}]}]
        assert [m["role"] for m in second["messages"]] == ["user", "assistant", "tool", "user"]


def raw(stand_in, provider: str, messages: list[dict]) -> tuple[int, str]:
    """A request straight to the stand-in (no adapter in between): its status and error message."""
    import urllib.error
    import urllib.request

    url = stand_in.anthropic_url + "/v1/messages" if provider == "anthropic" else \
        stand_in.openai_url + "/chat/completions"
    body = {"model": "scripted-1", "max_tokens": 50, "messages": messages}
    headers = {"content-type": "application/json", "x-api-key": "scripted", "anthropic-version": "2023-06-01",
               "authorization": "Bearer scripted"}
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, ""
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())["error"]["message"]


USE = {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "find_room", "input": {}}]}
RESULT = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "Oak"}
CALLS = {"role": "assistant", "content": None,
         "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "find_room", "arguments": "{}"}}]}
ANSWER = {"role": "tool", "tool_call_id": "call_1", "content": "Oak"}


@pytest.mark.parametrize("case, provider, messages, refused", [
    ("results, then a prompt", "anthropic",
     [{"role": "user", "content": "book"}, USE, {"role": "user", "content": [RESULT, {"type": "text", "text": "and?"}]}],
     None),
    ("results, then a prompt in another user message", "anthropic",
     [{"role": "user", "content": "book"}, USE, {"role": "user", "content": [RESULT]},
      {"role": "user", "content": "and?"}], None),
    ("text before the results", "anthropic",
     [{"role": "user", "content": "book"}, USE, {"role": "user", "content": [{"type": "text", "text": "and?"}, RESULT]}],
     "must come first"),
    ("a prompt where the results belong", "anthropic",
     [{"role": "user", "content": "book"}, USE, {"role": "user", "content": "and?"}], "without `tool_result`"),
    ("a result for an earlier assistant's call", "anthropic",
     [{"role": "user", "content": "book"}, USE, {"role": "user", "content": [RESULT]},
      {"role": "assistant", "content": "done"}, {"role": "user", "content": [RESULT]}], "unexpected `tool_use_id`"),
    ("a call answered twice", "anthropic",
     [{"role": "user", "content": "book"}, USE, {"role": "user", "content": [RESULT, RESULT]}], "single `tool_result`"),
    ("blank text", "anthropic", [{"role": "user", "content": [{"type": "text", "text": " "}]}], "non-whitespace"),
    ("results, then a prompt", "openai",
     [{"role": "user", "content": "book"}, CALLS, ANSWER, {"role": "user", "content": "and?"}], None),
    ("two prompts in a row", "openai", [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}], None),
    ("a prompt before the results", "openai",
     [{"role": "user", "content": "book"}, CALLS, {"role": "user", "content": "and?"}, ANSWER], "did not have response"),
    ("a result for an earlier assistant's call", "openai",
     [{"role": "user", "content": "book"}, CALLS, ANSWER, {"role": "assistant", "content": "done"}, ANSWER],
     "must be a response to a preceeding message"),
    ("a result without content", "openai",
     [{"role": "user", "content": "book"}, CALLS, {"role": "tool", "tool_call_id": "call_1"}], "content"),
])
def test_the_stand_in_takes_and_refuses_conversations_as_the_apis_do(stand_in, case, provider, messages, refused):
    status, said = raw(stand_in, provider, messages)
    if refused is None:
        assert status == 200, said
    else:
        assert status == 400 and refused in said, (status, said)


def test_openai_strict_schemas_are_checked_as_the_api_checks_them(stand_in, definitions):
    loose = json.loads(json.dumps(definitions["openai"]))
    del loose[0]["function"]["parameters"]["additionalProperties"]
    with pytest.raises(ModelError, match="additionalProperties"):
        stand_in.llm("openai").complete([Message("user", "hi")], tools=loose)


def test_the_real_export_of_a_demo_server_is_accepted_and_called(stand_in):
    crm = mcpnb.connect("demo:crm")
    exported = crm.tools.export("openai")
    name = exported.tools[0].name
    stand_in.rules = [Rule(when="first", steps=[[(name, {})]])]
    reply = stand_in.llm("openai").complete([Message("user", "use the first tool")], tools=list(exported))
    assert [c.name for c in reply.calls] == [name] and exported.names[name] == crm.tools[0].name


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_tool_the_request_does_not_offer_is_not_called(stand_in, provider):
    stand_in.rules = [Rule(when="book", steps=[[("book_room", {"room": "Oak"})]])]
    reply = stand_in.llm(provider).complete([Message("user", "book Oak")])
    assert reply.calls == () and "does not offer" in reply.text and "'book_room'" in reply.text


@pytest.mark.parametrize("provider", PROVIDERS)
def test_stop_sequences_and_max_tokens_cut_the_answer(stand_in, provider):
    stand_in.rules = [Rule(when="count", answer="one two three STOP four " + "word " * 100)]
    model = stand_in.llm(provider)
    stopped = model.complete([Message("user", "count")], stop=["STOP"])
    assert stopped.text == "one two three " and stopped.stop == "end"
    cut = model.complete([Message("user", "count")], max_tokens=5)
    assert cut.stop == "max_tokens" and len(cut.text) == 20


def test_the_async_twin_can_be_awaited_from_any_loop(stand_in):
    stand_in.rules = [Rule(when=".", answer="ok")]
    model = stand_in.llm("anthropic")
    for _ in range(2):  # two loops one after the other, as two asyncio.run calls make
        assert asyncio.run(model.acomplete([Message("user", "x")])).text == "ok"


# -- where it runs, and keys --------------------------------------------------------------------


def test_an_openai_compatible_server_needs_no_key(stand_in):
    stand_in.rules = [Rule(when=".", answer="local answer")]
    model = llm("openai:llama3.2", base_url=stand_in.openai_url)
    assert model.complete([Message("user", "hi")]).text == "local answer"
    path, headers, body = stand_in.requests[-1]
    assert headers["authorization"] == "Bearer no-key-needed" and body["model"] == "llama3.2"
    assert model.label == f"openai:llama3.2 at {stand_in.openai_url}" and not model.scripted


@pytest.mark.parametrize("provider, variable", [("anthropic", "ANTHROPIC_API_KEY"), ("openai", "OPENAI_API_KEY")])
def test_a_missing_key_names_the_variable(monkeypatch, provider, variable):
    monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv(variable.replace("API_KEY", "BASE_URL"), raising=False)
    with pytest.raises(ConfigError) as caught:
        llm(f"{provider}:some-model")
    assert variable in caught.value.message and "api_key=" in caught.value.hint


def test_a_key_from_the_environment_is_used_and_hidden(stand_in, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    stand_in.rules = [Rule(when=".", answer="ok")]
    model = llm("anthropic:claude-x", base_url=stand_in.anthropic_url)
    assert model.complete([Message("user", "hi")]).text == "ok"
    _, headers, _ = stand_in.requests[-1]
    sent = headers.get("x-api-key") or headers["authorization"]  # anthropic 2.x sends a bearer token
    assert FAKE_KEY not in json.dumps(headers) and sent.endswith("<hidden>")  # sent, but not recorded
    assert FAKE_KEY not in repr(model) + model._repr_html_() + repr(vars(model))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_missing_package_says_how_to_install_it(provider):
    code = textwrap.dedent(f"""
        import sys
        sys.modules[{provider!r}] = None
        import mcpnb
        from mcpnb.llm import llm
        try:
            llm("{provider}:x", api_key="k")
        except mcpnb.ConfigError as error:
            print(error)
    """)
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert f"needs the {provider} package" in shown and 'pip install "mcpnb[llm]"' in shown


def test_a_bad_spec_says_how_to_write_one():
    with pytest.raises(ConfigError, match="does not name a model"):
        llm("claude-sonnet-4-5")


# -- failures: one line, the key never in it ---------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("status, words, tries", [(401, "the key was refused", 1), (404, "not found", 1),
                                                  (429, "rate limited", 2), (500, "the API failed", 2)])
def test_api_failures_are_one_line_without_the_key(stand_in, provider, status, words, tries):
    stand_in.fail_with = (status, f"scripted failure; Incorrect API key provided: {FAKE_KEY}")
    model = llm(f"{provider}:scripted-1", base_url=stand_in.anthropic_url if provider == "anthropic"
                else stand_in.openai_url, api_key=FAKE_KEY, scripted=True)
    with pytest.raises(ModelError) as caught:
        model.complete([Message("user", "hi")])
    error = caught.value
    assert error.status == status and "\n" not in error.message and words in error.message
    assert error.message.startswith(f"{provider}:scripted-1 at http://127.0.0.1:")
    assert "scripted failure" in error.message
    assert FAKE_KEY not in str(error) and FAKE_KEY[-12:] not in str(error) and error.hint
    assert FAKE_KEY not in repr(model) and FAKE_KEY not in model._repr_html_()
    assert len(stand_in.requests) == tries  # 429 and 5xx are retried once, as MAX_RETRIES says
    if status == 401:
        assert ("ANTHROPIC_API_KEY" if provider == "anthropic" else "OPENAI_API_KEY") in error.hint


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_endpoint_nobody_listens_on(provider):
    url = f"http://127.0.0.1:{free_port()}" + ("/v1" if provider == "openai" else "")
    model = llm(f"{provider}:m", base_url=url, api_key=FAKE_KEY, timeout=5)
    with pytest.raises(ModelError) as caught:
        model.complete([Message("user", "hi")])
    assert caught.value.status is None and "could not connect" in caught.value.message and url in caught.value.message
    assert "running" in caught.value.hint and FAKE_KEY not in str(caught.value)


def answering_with(body: bytes) -> int:
    """A port where every request gets HTTP 200 with ``body`` (a broken proxy, a server of another API)."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                                   b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body))

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("body", [b"<html>a proxy's login page</html>", b'{"choices": "none", "content": 5}'])
def test_an_answer_that_is_not_the_apis_shape_is_one_line(provider, body):
    url = f"http://127.0.0.1:{answering_with(body)}" + ("/v1" if provider == "openai" else "")
    model = llm(f"{provider}:m", base_url=url, api_key=FAKE_KEY)
    with pytest.raises(ModelError) as caught:  # not a JSONDecodeError or TypeError from deep inside
        model.complete([Message("user", "hi")])
    assert "the answer could not be read as a" in caught.value.message and "\n" not in caught.value.message
    assert url in caught.value.hint and FAKE_KEY not in str(caught.value)


def test_a_key_the_endpoint_takes_in_its_path_is_not_shown(stand_in):
    key = "gw-RECOGNISABLE-5566"  # some gateways take the key in the URL's path
    model = llm("openai:scripted-1", base_url=f"{stand_in.openai_url}/{key}", api_key=key)
    stand_in.fail_with = (500, "down")
    with pytest.raises(ModelError) as caught:
        model.complete([Message("user", "hi")])
    for shown in (model.label, repr(model), model._repr_html_(), str(caught.value), caught.value.hint):
        assert key not in shown


def test_credentials_in_the_endpoints_url_stay_out_of_the_log(stand_in, caplog):
    caplog.set_level("DEBUG")  # the SDKs and httpx log each request's URL
    url = stand_in.openai_url.replace("http://", "http://user:PASSWORD-RECOGNISABLE-77@")
    with pytest.raises(ModelError):  # the stand-in wants a bearer key; the URL's password becomes basic auth
        llm("openai:scripted-1", base_url=url, api_key=FAKE_KEY).complete([Message("user", "hi")])
    assert "/v1/chat/completions" in caplog.text and "user:***@127.0.0.1" in caplog.text
    assert "PASSWORD-RECOGNISABLE-77" not in caplog.text and FAKE_KEY not in caplog.text


def test_stopping_the_stand_in_ends_its_threads():
    import threading

    before = set(threading.enumerate())
    with serving([Rule(when="hi", answer="hello")]) as scripted:
        for provider in PROVIDERS:  # the SDKs keep their connections open for the next request
            assert scripted.llm(provider).complete([Message("user", "hi")]).text == "hello"
    left = [t.name for t in set(threading.enumerate()) - before if t.name not in ("mcpnb-loop", "mcpnb-stderr")
            and not t.name.startswith("asyncio_")]
    assert left == []


# -- showing it -----------------------------------------------------------------------------------


def test_a_scripted_model_says_so_wherever_it_is_shown(stand_in):
    model = stand_in.llm("anthropic", temperature=0.2, alternatives=["scripted-<mini>"])
    assert model.label.endswith("(scripted stand-in, not a model)") and model.label in repr(model)
    shown = model._repr_html_()
    assert "scripted stand-in, not a model" in shown and "scripted-&lt;mini&gt;" in shown and "<mini>" not in shown
    assert "var(--jp-" in shown and model.export_provider == "anthropic"
    # The label stands out: bold, behind a warning bar whose colourless border comes first (an untrusted
    # notebook drops a style with var(); the bar stays).
    badge = shown[shown.index("<span", shown.index("class='head'")):shown.index("</span>", shown.index("class='head'"))]
    assert badge.endswith(">(scripted stand-in, not a model)") and "font-weight:700" in badge
    assert "border-left:3px solid;border-left:3px solid var(--jp-warn-color1)" in badge


# -- a model behind sampling ---------------------------------------------------------------------


def ask_for_a_haiku(topic: str) -> Sample:
    """A sampling request with every setting one can carry."""
    return Sample([types.SamplingMessage(role="user", content=types.TextContent(
                      type="text", text=f"Write a haiku about {topic}."))],
                  max_tokens=77, system_prompt="You are a poet.", temperature=0.4, stop_sequences=["END"],
                  model_preferences=types.ModelPreferences(hints=[types.ModelHint(name="nothing-like-it"),
                                                                  types.ModelHint(name="MINI")],
                                                           speed_priority=0.1, intelligence_priority=0.9))


def sampler() -> MCPServer:
    """A server whose tool asks the client's model."""
    server = MCPServer("sampler")

    @server.tool()
    async def haiku(topic: str,
                    reply: Annotated[types.CreateMessageResult | None, Resolve(ask_for_a_haiku)] = None) -> str:
        """A haiku written by the client's model."""
        return f"{reply.model}: {reply.content.text}"

    return server


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_model_answers_sampling_with_the_requests_settings(stand_in, provider):
    stand_in.rules = [Rule(when="haiku", answer="Old pond, a frog. END unseen")]
    model = stand_in.llm(provider, alternatives=["scripted-mini", "scripted-max"])
    server = mcpnb.connect(sampler(), sampling=model)
    text = server.call("haiku", topic="frogs").text
    assert text == (f"{provider}:scripted-mini (scripted stand-in, not a model; via mcpnb.llm; hint 'mini'): "
                    "Old pond, a frog. ")  # the server is told, too, that no model wrote it
    (body,) = bodies(stand_in, provider)
    assert body["model"] == "scripted-mini" and body["temperature"] == 0.4
    if provider == "anthropic":
        assert body["system"] == "You are a poet." and body["max_tokens"] == 77 and body["stop_sequences"] == ["END"]
        assert body["messages"][0]["content"][0]["text"] == "Write a haiku about frogs."
    else:
        assert body["messages"][0] == {"role": "system", "content": "You are a poet."}
        assert body["max_tokens"] == 77 and body["stop"] == ["END"]


def test_the_demo_helpdesk_gets_a_summary_chosen_by_its_priorities(stand_in):
    stand_in.rules = [Rule(when="summarise", answer="The customer wants a refund.")]
    model = stand_in.llm("anthropic", alternatives=["scripted-opus", "scripted-haiku"])
    helpdesk = mcpnb.connect("demo:helpdesk", sampling=model)
    summary = helpdesk.call("summarise_enquiry", enquiry_id=2).structured
    assert summary["summary"] == "The customer wants a refund."
    # The helpdesk asks with speed 0.8 over intelligence 0.3 and no hints: the smallest name is picked.
    assert summary["by"] == ("anthropic:scripted-haiku (scripted stand-in, not a model; via mcpnb.llm; "
                             "speed priority 0.8 over intelligence 0.3)")
    assert bodies(stand_in, "anthropic")[0]["model"] == "scripted-haiku"


def test_a_model_that_fails_behind_sampling_is_not_a_person_declining(stand_in):
    stand_in.fail_with = (401, f"Incorrect API key provided: {FAKE_KEY}")
    crm = mcpnb.connect("demo:crm", sampling=stand_in.llm("openai", api_key=FAKE_KEY))
    with pytest.raises(mcpnb.errors.ServerError) as caught:
        crm.call("account_brief", organisation_id=1)
    said = str(caught.value)
    assert "The client's model could not answer: the key was refused (HTTP 401" in said and "declined" not in said
    assert FAKE_KEY not in said and "127.0.0.1" not in said  # nor where the model runs: the server gets this too
    assert FAKE_KEY not in json.dumps(crm.trace.message.tolist(), default=str)


def test_without_alternatives_the_model_is_itself():
    model = llm("openai:gpt-x", base_url="http://127.0.0.1:9/v1")
    assert model.choose({"hints": [{"name": "claude"}], "speed_priority": 1.0}) == ("gpt-x", "")
    assert model.choose({"hints": [{"name": "GPT"}]}) == ("gpt-x", "hint 'gpt'")


def test_ask_shows_the_models_draft_and_enter_keeps_it(tmp_path, demo_data):
    """sampling=mcpnb.Ask(propose=model): the person sees the draft on stdin and keeps it with Enter."""
    script = tmp_path / "ask.py"
    script.write_text(textwrap.dedent("""
        import mcpnb
        from mcpnb.demo.scripted_model import Rule, serving

        with serving([Rule(when="summarise", answer="A drafted summary.")]) as stand_in:
            helpdesk = mcpnb.connect("demo:helpdesk", sampling=mcpnb.Ask(propose=stand_in.llm("openai")))
            print("RESULT", helpdesk.call("summarise_enquiry", enquiry_id=2).structured)
            mcpnb.close_all()
    """))
    done = subprocess.run([sys.executable, str(script)], input="\n", capture_output=True, text=True, timeout=120,
                          env={**os.environ, "MCPNB_DEMO_DIR": str(demo_data)})
    assert "proposed reply: A drafted summary." in done.stdout, done.stderr[-2000:]
    assert "RESULT {'enquiry_id': 2, 'summary': 'A drafted summary.', 'by': 'mcpnb (person)'}" in done.stdout


# -- the real APIs, when a key is set ----------------------------------------------------------------


LIVE = {"anthropic": ("ANTHROPIC_API_KEY", "MCPNB_LIVE_ANTHROPIC_MODEL", "claude-haiku-4-5"),
        "openai": ("OPENAI_API_KEY", "MCPNB_LIVE_OPENAI_MODEL", "gpt-4.1-mini")}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_live_a_real_tool_call_round_trip(provider):
    key, model_variable, default = LIVE[provider]
    if not os.environ.get(key):
        pytest.skip(f"{key} is not set: the live test needs {provider}'s real API")
    server = mcpnb.connect(rooms(), name="live-rooms")
    model = llm(f"{provider}:{os.environ.get(model_variable, default)}", max_tokens=300)
    tools = list(server.tools.export(model.export_provider))
    conversation = [Message("user", "Which rooms are free on Friday? Use the tool.")]
    first = model.complete(conversation, tools=tools)
    assert first.stop == "tool_use" and first.calls[0].name == "find_room"
    assert first.calls[0].arguments.get("day", "").lower().startswith("fri")
    result = server.call("find_room", **{k: v for k, v in first.calls[0].arguments.items() if v is not None})
    conversation += [Message("assistant", first.text, first.calls),
                     Message("tool", result.text, call_id=first.calls[0].id)]
    second = model.complete(conversation, tools=tools)
    assert second.stop == "end" and second.text and second.usage.input_tokens > first.usage.input_tokens
