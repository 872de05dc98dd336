"""Connecting: every kind of target, both protocol eras, the registry, async twins."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest
from mcp.server.mcpserver import MCPServer

import mcpnb
from mcpnb.demo import build_server

from .conftest import FAULTY, HELPDESK, alive, http_server


def test_command_line_string_starts_a_stdio_server():
    server = mcpnb.connect(f"{sys.executable} -m mcpnb.demo helpdesk")
    assert server.name == "helpdesk"
    assert server.info.name == "helpdesk"
    assert "search_events" in server.tools
    assert server.pid and server.target.kind == "stdio"


def test_argv_list_and_demo_shortcut_reach_the_same_server():
    by_argv = mcpnb.connect(HELPDESK, name="by_argv")
    by_demo = mcpnb.connect("demo:helpdesk")
    assert by_argv.tools.names == by_demo.tools.names
    assert by_demo.call("get_order", order_id=1).structured == by_argv.call("get_order", order_id=1).structured


@pytest.mark.parametrize("protocol, version, era", [
    (None, "2026-07-28", "stateless"),
    ("2026-07-28", "2026-07-28", "stateless"),
    ("2025-11-25", "2025-11-25", "handshake"),
])
def test_stdio_in_both_eras(protocol, version, era):
    server = mcpnb.connect("demo:helpdesk", protocol=protocol)
    assert (server.info.protocol_version, server.info.era) == (version, era)
    assert server.call("get_event", event_id=1).structured["id"] == 1


@pytest.mark.parametrize("protocol, version", [(None, "2026-07-28"), ("2025-11-25", "2025-11-25")])
def test_streamable_http_in_both_eras(helpdesk_url, protocol, version):
    server = mcpnb.connect(helpdesk_url, protocol=protocol)
    assert server.info.protocol_version == version
    assert server.name == f"127_0_0_1_{helpdesk_url.split(':')[2].split('/')[0]}"
    result = server.call("search_events", category="sport", limit=5)
    assert result.structured["total"] > 0
    assert all(e["category"] == "sport" for e in result.structured["events"])


def test_legacy_sse_transport():
    with http_server(HELPDESK, flag="--sse", path="/sse") as (url, _):
        server = mcpnb.connect(url, transport="sse")
        assert server.target.describe().startswith("HTTP+SSE")
        assert server.call("get_order", order_id=2).structured["id"] == 2
        server.close()


@pytest.mark.parametrize("protocol, era", [(None, "stateless"), ("2025-11-25", "handshake")])
def test_in_process_server_objects(protocol, era):
    demo = build_server("helpdesk")
    server = mcpnb.connect(demo, protocol=protocol)
    assert server.info.era == era
    assert server.target.kind == "inprocess" and server.pid is None
    assert server.call("get_order", order_id=3).structured["id"] == 3
    low_level = mcpnb.connect(demo._lowlevel_server, name="lowlevel", protocol=protocol)
    assert low_level.tools.names == server.tools.names


def test_config_file_with_env_expansion(tmp_path, monkeypatch):
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {
        "desk": {"command": sys.executable, "args": ["-m", "mcpnb.demo", "${DEMO_NAME}"],
                 "env": {"API_TOKEN": "${TEST_TOKEN:-fallback}"}},
        "remote": {"url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": "Bearer ${NOPE}"}},
    }}))
    monkeypatch.setenv("DEMO_NAME", "helpdesk")
    server = mcpnb.connect("desk", config=config)
    assert server.name == "desk" and server.info.name == "helpdesk"
    assert server.target.env == {"API_TOKEN": "fallback"}
    monkeypatch.delenv("NOPE", raising=False)
    with pytest.raises(mcpnb.ConfigError, match="NOPE is not set"):
        mcpnb.connect("remote", config=config)
    with pytest.raises(mcpnb.ConfigError, match=r"No server named 'other'.*\(it has: desk, remote\)"):
        mcpnb.connect("other", config=config)


def test_config_found_through_env_var_and_vscode_shape(tmp_path, monkeypatch):
    config = tmp_path / "vscode.json"
    config.write_text(json.dumps({"servers": {"desk": {"type": "stdio", "command": sys.executable,
                                                       "args": ["-m", "mcpnb.demo", "helpdesk"]}}}))
    monkeypatch.setenv("MCPNB_CONFIG", str(config))
    monkeypatch.chdir(tmp_path)
    assert mcpnb.connect("desk").info.name == "helpdesk"


def test_config_file_in_working_directory(tmp_path, monkeypatch):
    (tmp_path / "mcp.json").write_text(json.dumps({"mcpServers": {"f": {"command": FAULTY[0], "args": FAULTY[1:]}}}))
    monkeypatch.delenv("MCPNB_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    assert mcpnb.connect("f").call("echo", text="hi").text == "hi"


@pytest.mark.parametrize("target, message", [
    ("", "empty"),
    (42, "Cannot connect to a int"),
    ("demo:nothing", "no demo server 'nothing'"),
    ("http://127.0.0.1:9/mcp", None),
])
def test_bad_targets_are_refused_clearly(target, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if message is None:
        with pytest.raises(mcpnb.ConnectError, match="Could not connect to '127_0_0_1_9'") as caught:
            mcpnb.connect(target, connect_timeout=10)
        assert "ExceptionGroup" not in str(caught.value)
    else:
        with pytest.raises(mcpnb.ConfigError, match=message):
            mcpnb.connect(target)


@pytest.mark.parametrize("kwargs, message", [
    ({"protocol": "2024-01-01"}, "Unknown protocol"),
    ({"timeout": -1}, "positive number"),
    ({"headers": {"X": "1"}}, "headers= does not apply to a local command"),
    ({"transport": "carrier-pigeon"}, "Unknown transport"),
])
def test_bad_options_are_refused_before_anything_starts(kwargs, message):
    with pytest.raises(mcpnb.ConfigError, match=message):
        mcpnb.connect("demo:helpdesk", **kwargs)
    assert mcpnb.servers() == {}


def test_registry_lists_replaces_and_closes():
    first = mcpnb.connect("demo:helpdesk")
    other = mcpnb.connect(FAULTY, name="faulty")
    assert list(mcpnb.servers()) == ["helpdesk", "faulty"]  # a mapping by name, oldest first
    assert mcpnb.servers()["faulty"] is other
    second = mcpnb.connect("demo:helpdesk")  # re-running a cell: the old one is replaced
    assert list(mcpnb.servers().values()) == [other, second]
    with pytest.raises(mcpnb.ConnectionClosed, match="replaced by a newer one"):
        first.call("get_order", order_id=1)
    other.close()
    assert list(mcpnb.servers().values()) == [second]
    mcpnb.close_all()
    assert mcpnb.servers() == {}
    with pytest.raises(mcpnb.ConnectionClosed, match="closed"):
        second.tools


def test_context_manager_closes():
    with mcpnb.connect("demo:helpdesk") as server:
        assert server.alive
    assert server.closed and mcpnb.servers() == {}


def test_async_twins():
    async def scenario():
        async with await mcpnb.aconnect("demo:helpdesk") as server:
            tools = await server.atools()
            results = await asyncio.gather(*(server.acall("get_order", order_id=i) for i in range(1, 11)))
            resource = await server.aread("helpdesk://orders/4")
            prompt = await server.aprompt("draft_reply", enquiry_id="5")
            completions = await server.acomplete("draft_reply", "tone", "a")
            await server.areconnect()
            again = await server.acall("get_order", order_id=1)
            return tools, results, resource, prompt, completions, again

    tools, results, resource, prompt, completions, again = asyncio.run(scenario())
    assert "get_order" in tools
    assert [r.structured["id"] for r in results] == list(range(1, 11))
    assert json.loads(resource.text)["id"] == 4
    assert prompt.messages and "Draft a friendly reply" in prompt.text
    assert list(completions) == ["apologetic"]
    assert again.structured["id"] == 1


def test_in_process_tool_defined_in_a_cell():
    designer = MCPServer("designer")

    @designer.tool()
    def shout(text: str) -> str:
        """Upper-case the text."""
        return text.upper()

    server = mcpnb.connect(designer)
    assert server.call("shout", text="hey").text == "HEY"


def test_stdio_servers_get_only_the_environment_they_are_given(monkeypatch):
    monkeypatch.setenv("NOTEBOOK_ONLY", "x")
    server = mcpnb.connect(FAULTY, name="faulty")
    assert server.call("print_env", name="NOTEBOOK_ONLY").text == "unset"
    assert server.call("print_env", name="PATH").text == "set"
    given = mcpnb.connect(FAULTY, name="given", env={"NOTEBOOK_ONLY": "y"})
    assert given.call("print_env", name="NOTEBOOK_ONLY").text == "set"


def test_demo_servers_use_the_demo_data_folder(demo_data):
    server = mcpnb.connect("demo:helpdesk")
    assert server.target.env["MCPNB_DEMO_DIR"] == str(demo_data)
    assert "env=" not in repr(server)  # a data path is not a secret to mask
    assert (demo_data / "helpdesk.sqlite").is_file()


def test_reconnect_takes_its_name_back_from_a_newer_connection():
    first = mcpnb.connect(FAULTY, name="shared")
    second = mcpnb.connect(FAULTY, name="shared")  # replaces first
    first.reconnect()  # and now first replaces second: one open connection per name, always
    assert list(mcpnb.servers().values()) == [first]
    with pytest.raises(mcpnb.ConnectionClosed, match="replaced"):
        second.call("echo", text="x")


def test_interrupting_a_connect_stops_the_server_at_once():
    import threading
    import os
    import signal
    import time

    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        mcpnb.connect([*FAULTY, "--hang-start"], name="mute")
    assert time.monotonic() - started < 2.5
    assert mcpnb.servers() == {}
    deadline = time.monotonic() + 10  # the server process is stopped, not left behind
    while processes_running("--hang-start") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_running("--hang-start") == []


def processes_running(marker: str) -> list[int]:
    from pathlib import Path

    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if marker.encode() in (proc / "cmdline").read_bytes() and alive(int(proc.name)):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_cwd_sets_the_servers_working_directory(tmp_path):
    from .conftest import HERE

    server = mcpnb.connect([sys.executable, "faulty.py"], cwd=HERE / "servers", name="relative")
    assert server.call("echo", text="found by a relative path").text == "found by a relative path"
    with pytest.raises(mcpnb.ConfigError, match="does not exist"):
        mcpnb.connect([sys.executable, "faulty.py"], cwd=tmp_path / "missing")
