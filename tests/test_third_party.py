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
