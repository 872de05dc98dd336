"""Servers we did not write: mcp-server-time (PyPI, Python SDK) and
server-everything (npm, TypeScript SDK, handshake era)."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

import mcpnb

EVERYTHING_JS = Path(os.environ.get("MCPNB_EVERYTHING_JS") or Path(__file__).parent.parent / ".cache" / "npm" /
                     "node_modules" / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js")
needs_everything = pytest.mark.skipif(
    not (EVERYTHING_JS.is_file() and shutil.which("node")),
    reason="server-everything from npm is not installed (make test installs it; needs node and npm)",
)


@pytest.fixture
def time_server():
    return mcpnb.connect([sys.executable, "-m", "mcp_server_time", "--local-timezone", "Europe/Lisbon"], name="time")


@pytest.fixture
def everything():
    return mcpnb.connect(["node", str(EVERYTHING_JS), "stdio"], name="everything")


def test_time_server_from_pypi(time_server):
    assert time_server.info.name == "mcp-time"
    assert set(time_server.tools.names) == {"get_current_time", "convert_time"}
    result = time_server.call("convert_time", source_timezone="Europe/Lisbon", time="14:30",
                              target_timezone="Asia/Tokyo")
    assert result.structured["target"]["datetime"].endswith("T23:30:00+09:00")
    assert result.structured["time_difference"] == "+9.0h"
    with pytest.raises(mcpnb.InvalidArguments, match="target_timezone: required, missing"):
        time_server.call("convert_time", source_timezone="Europe/Lisbon", time="14:30")
    failed = time_server.call("get_current_time", timezone="Mars/Olympus")
    assert failed.is_error and "Invalid timezone" in failed.text


@needs_everything
def test_everything_server_from_npm_speaks_the_handshake_era(everything):
    info = everything.info
    assert (info.name, info.era, info.protocol_version) == ("mcp-servers/everything", "handshake", "2025-11-25")
    assert "Starting default (STDIO) server" in everything.stderr  # captured, not printed
    assert everything.call("echo", message="hello").text == "Echo: hello"
    assert "3" in everything.call("get-sum", a=1, b=2).text
    weather = everything.call("get-structured-content", location="Chicago")
    assert weather.structured is not None and "temperature" in weather.structured
    with pytest.raises(mcpnb.InvalidArguments, match="'Paris' is not one of"):
        everything.call("get-structured-content", location="Paris")


@needs_everything
def test_everything_resources_prompts_completions(everything):
    assert len(everything.resources) == 7 and len(everything.templates) == 2
    first = everything.resources[0]
    assert everything.read(first.uri).text
    prompt = everything.prompt("args-prompt", city="Porto", state="Norte")
    assert "Porto" in prompt.text
    with pytest.raises(mcpnb.InvalidArguments, match="city: required, missing"):
        everything.prompt("args-prompt")
    suggestions = everything.complete("completable-prompt", "department", "E")
    assert suggestions.values and all(v.startswith("E") for v in suggestions)


@needs_everything
def test_everything_timeout_cancels_and_keeps_the_connection(everything):
    started = time.monotonic()
    with pytest.raises(mcpnb.RequestTimeout):
        everything.call("trigger-long-running-operation", duration=20, steps=20, timeout=1)
    assert time.monotonic() - started < 1.5
    assert everything.call("echo", message="after").text == "Echo: after"


@needs_everything
def test_everything_progress_moves_and_its_logs_arrive():
    server = mcpnb.connect(["node", str(EVERYTHING_JS), "stdio"], name="everything", log_level="debug")
    seen: list[tuple[float, float | None]] = []
    result = server.call("trigger-long-running-operation", duration=0.4, steps=4,
                         progress=lambda done, total, message: seen.append((done, total)))
    assert "Steps: 4" in result.text
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert "started" in server.call("toggle-simulated-logging").text.lower()
    try:
        deadline = time.monotonic() + 10
        simulated = server.logs.iloc[0:0]
        while simulated.empty:  # one at once, then one every 5 s; debug asked for, so none is filtered out
            assert time.monotonic() < deadline, "no simulated log message from server-everything"
            time.sleep(0.05)
            logs = server.logs
            simulated = logs[logs["message"].str.contains("level message|level-message", regex=True)]
        assert simulated["level"].iloc[0] in ("debug", "info", "notice", "warning", "error", "critical", "alert",
                                              "emergency")
        assert "Roots updated" in " ".join(server.logs["message"])  # it logged our roots/list answer too
    finally:
        server.call("toggle-simulated-logging")


@needs_everything
def test_everything_elicitation_and_sampling_go_to_our_handlers(tmp_path):
    asked: list = []

    def elicit(request):
        asked.append(request)
        return {"name": "Ada Lovelace", "check": True, "integer": 7}

    def sample(request):
        asked.append(request)
        return {"text": "a reply from the notebook", "model": "by-hand"}

    server = mcpnb.connect(["node", str(EVERYTHING_JS), "stdio"], name="everything",
                           elicitation=elicit, sampling=sample, roots=tmp_path)
    # server-everything offers these tools only to clients that declare the capability
    assert {"trigger-elicitation-request", "trigger-sampling-request", "get-roots-list"} <= set(server.tools.names)
    text = server.call("trigger-elicitation-request").text
    assert "- Name: Ada Lovelace" in text and "- Favorite Integer: 7" in text and "Agreed to terms: true" in text
    request = asked[-1]
    assert request.required == ["name"] and request.defaults()["integer"] == 42
    assert len(request.fields) == 13  # titled and untitled enums, formats, ranges: all reach the handler

    reply = server.call("trigger-sampling-request", prompt="summarise", maxTokens=20).text
    assert "a reply from the notebook" in reply and "by-hand" in reply
    sampling = asked[-1]
    assert sampling.messages[0]["text"].endswith("summarise") and sampling.max_tokens == 20
    assert sampling.system_prompt == "You are a helpful test server."

    assert tmp_path.as_uri() in server.call("get-roots-list").text
    kinds = set(server.activity["kind"])
    assert {"elicitation", "sampling"} <= kinds


@needs_everything
@pytest.mark.parametrize("handler, says", [("accept-defaults", "declined"), ("decline", "declined")])
def test_everything_elicitation_unattended(handler, says):
    """accept-defaults declines here: the required name has no default."""
    server = mcpnb.connect(["node", str(EVERYTHING_JS), "stdio"], name="everything", elicitation=handler,
                           sampling="decline")
    assert f"User {says}" in server.call("trigger-elicitation-request").text


@needs_everything
def test_everything_url_elicitation_by_request_and_by_error():
    seen: list = []

    def consent(request):
        seen.append(request)
        return {}  # accept: the person opened the page

    server = mcpnb.connect(["node", str(EVERYTHING_JS), "stdio"], name="everything", elicitation=consent)
    text = server.call("trigger-url-elicitation", url="https://example.org/consent").text
    assert "completed the URL elicitation" in text
    assert (seen[-1].mode, seen[-1].url, seen[-1].schema) == ("url", "https://example.org/consent", {})
    with pytest.raises(mcpnb.ServerError) as failed:  # -32042: a page to visit before the call can go on
        server.call("trigger-url-elicitation", url="https://example.org/second", errorPath=True)
    assert failed.value.code == -32042
    assert "open in your browser, then call again:" in str(failed.value) and "https://" in str(failed.value)
    retried = server.call("trigger-url-elicitation", url="https://example.org/second", errorPath=True)
    assert "completed the URL elicitation" in retried.text
