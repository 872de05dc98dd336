"""Servers that break the protocol on purpose (tests/servers/rogue.py, raw JSON-RPC on stdio):
what the person sees, how long it takes, and the state of the connection afterwards.
Numbered as in the issue on hostile and broken servers."""

from __future__ import annotations

import http.server
import json
import sys
import threading
import time
import warnings
from pathlib import Path

import mcp_types as types
import pytest
from mcp.server import Server as LowLevelServer

import mcpnb
from mcpnb.events import MAX_LOG_CHARS, Events

from .conftest import FAULTY, http_server, wait_for
from .servers.rogue_http import serving

ROGUE = [sys.executable, str(Path(__file__).parent / "servers" / "rogue.py")]


@pytest.fixture(scope="module")
def faulty_url():
    with http_server(FAULTY) as (url, _process):
        yield url
SECRET = "s3cret-value-1234567890"


@pytest.fixture(autouse=True)
def nothing_left_running():
    """After each test and its connections are closed, no rogue server process is left."""
    yield
    mcpnb.close_all()
    wait_for(lambda: not _processes_running("rogue.py"), seconds=5)


def _processes_running(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().decode(errors="replace") and _running(int(entry.name)):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def rogue(*flags: str, name: str = "rogue", **kwargs) -> mcpnb.Server:
    return mcpnb.connect([*ROGUE, *flags], name=name, protocol="2025-11-25", **kwargs)


@pytest.mark.parametrize("code", [-32000, -32001])
def test_1_a_servers_own_error_code_is_its_error_not_a_lost_connection_or_a_timeout(code):
    server = rogue("--call-error", str(code))
    started = time.monotonic()
    with pytest.raises(mcpnb.ServerError) as caught:
        server.call("echo", text="x", timeout=5)
    assert time.monotonic() - started < 2  # at once, not after the timeout
    assert caught.value.code == code and f"error {code}: rogue failure {code}" in str(caught.value)
    assert caught.value.data == {"detail": "from the server"}
    assert server.alive  # the connection was not marked lost
    assert "exited" not in str(caught.value) and "no answer" not in str(caught.value)


def test_1_the_sdks_own_timeout_and_a_real_exit_are_still_read_as_such(faulty):
    with pytest.raises(mcpnb.RequestTimeout, match="no answer within 0.5 s"):
        faulty.call("slow", seconds=5, timeout=0.5, progress=False)
    with pytest.raises(mcpnb.ConnectionLost, match="exited"):
        faulty.call("crash")
    assert not faulty.alive


@pytest.mark.parametrize("flags, why", [
    (["--call-reply", '{"jsonrpc": "2.0", "id": {id}, "result": 42}'], "Input should be an object"),
    (["--call-reply", '{"jsonrpc": "2.0", "id": {id}, "result": ' + '{"a": [' * 150 + "]}" * 150 + "}"],
     "recursion limit exceeded"),
], ids=["result 42", "nested 150 deep"])
def test_2_an_answer_that_does_not_parse_ends_the_waiting_call_at_once(flags, why):
    server = rogue(*flags)
    started = time.monotonic()
    with pytest.raises(mcpnb.ProtocolError, match=f"answer could not be read \\(.*{why}.*it sent: ") as caught:
        server.call("echo", text="x")  # no timeout: it would wait forever
    assert time.monotonic() - started < 2 and len(str(caught.value)) < 600
    assert server.alive and server.call("echo", text="still here").text == "still here"


def test_2_bytes_that_are_not_utf8_do_not_stop_the_reader():
    server = rogue("--latin1")
    started = time.monotonic()
    assert server.call("echo", text="x").text == "caf\ufffd"  # the answer, its bad byte replaced
    assert time.monotonic() - started < 2
    assert server.alive and server.call("echo", text="next").text == "next"  # the reader lives on


class _Fetches(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802  (http.server's name)
        self.seen.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"type": "string"}')

    def log_message(self, *args: object) -> None:
        pass


def test_3_schemas_from_the_server_are_never_fetched_from_and_cannot_stall_or_crash_checking(tmp_path):
    listener = http.server.HTTPServer(("127.0.0.1", 0), _Fetches)
    threading.Thread(target=listener.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{listener.server_address[1]}/schema.json"
        huge = {"type": "object", "properties": {f"p{i}": {"type": "string", "description": "x" * 100}
                                                  for i in range(40_000)}}  # about 6 MB
        tools = [
            {"name": "remote", "inputSchema": {"type": "object", "properties": {"a": {"$ref": url}}}},
            {"name": "cycle", "inputSchema": {"type": "object", "properties": {"a": {"$ref": "#/properties/a"}}}},
            {"name": "huge", "inputSchema": huge},
            {"name": "echo", "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}},
        ]
        listing = tmp_path / "tools.json"
        listing.write_text(json.dumps(tools))
        server = rogue("--tools", f"@{listing}")
        for name in ("remote", "cycle", "huge"):
            started = time.monotonic()
            with pytest.warns(mcpnb.ServerWarning, match=f"input schema of '{name}'.*go out unchecked"):
                assert not server.call(name, a=1).is_error  # sent unchecked
            assert time.monotonic() - started < 3
        with warnings.catch_warnings(record=True) as later:
            warnings.simplefilter("always")
            server.call("remote", a=2)
        assert not [w for w in later if issubclass(w.category, mcpnb.ServerWarning)]  # reported once
        assert _Fetches.seen == []  # nothing was fetched from the address the server chose
        notes = " ".join(server.activity["summary"])
        assert "never fetches" in notes and "references loop" in notes and "not compiled" in notes
        with pytest.raises(mcpnb.InvalidArguments):  # a usable schema still checks
            server.call("echo", text=5)
    finally:
        listener.shutdown()


def test_3_a_ref_that_refers_to_nothing_sends_the_call_unchecked_and_says_so_once():
    schemas = {"dangling": {"type": "object", "properties": {"x": {"$ref": "#/$defs/missing"}}},
               "no_anchor": {"type": "object", "properties": {"x": {"$ref": "#nowhere"}}},
               "under_an_id": {"type": "object", "properties": {"x": {  # its refs are its own: found on use
                   "$id": "urn:example:x", "type": "object", "properties": {"y": {"$ref": "#/missing"}}}}}}
    received: list[tuple[str, dict]] = []

    async def list_tools(ctx, params):
        return types.ListToolsResult(tools=[types.Tool(name=name, input_schema=schema)
                                            for name, schema in schemas.items()])

    async def call_tool(ctx, params):
        received.append((params.name, params.arguments))
        return types.CallToolResult(content=[types.TextContent(type="text", text="ok")])

    server = mcpnb.connect(LowLevelServer("refs", on_list_tools=list_tools, on_call_tool=call_tool))
    calls = [("dangling", {"x": "a"}, "'#/\\$defs/missing' \\(at /properties/x\\)"),
             ("no_anchor", {"x": 1}, "'#nowhere'"),
             ("under_an_id", {"x": {"y": 2}}, "a \\$ref in it refers to nothing")]
    for name, arguments, said in calls:
        with pytest.warns(mcpnb.ServerWarning, match=f"input schema of '{name}'.*{said}.*go out unchecked"):
            assert server.call(name, arguments).text == "ok"
        with warnings.catch_warnings(record=True) as later:
            warnings.simplefilter("always")
            assert server.call(name, arguments).text == "ok"
        assert not [w for w in later if issubclass(w.category, mcpnb.ServerWarning)]  # reported once
    assert received == [(name, arguments) for name, arguments, _ in calls for _ in range(2)]  # all sent as given
    assert "refers to nothing" in " ".join(server.activity["summary"])


def test_4_a_tool_the_wire_types_refuse_is_left_out_and_the_rest_stay_usable():
    tools = [{"name": "good", "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}},
             {"name": "stringly", "inputSchema": {"type": "string"}},
             {"name": "broken", "inputSchema": "not a schema"}]
    server = rogue("--tools", json.dumps(tools))
    with pytest.warns(mcpnb.ServerWarning) as seen:
        listing = server.tools
    assert listing.names == ["good"]
    messages = [str(w.message) for w in seen]
    assert any("'stringly' (inputSchema.type: Input should be 'object'); it is left out" in m for m in messages)
    assert any("'broken' (inputSchema: Input should be a valid dictionary" in m for m in messages)
    assert server.call("good", text="works").text == "works"
    assert server.call("stringly", validate=False).text == ""  # still callable by name, unchecked
    assert sum("cannot be read" in row for row in server.activity["summary"]) == 2


def test_5_two_tools_with_one_name_are_reported_and_both_stay_listed():
    tools = [{"name": "twin", "description": "first", "inputSchema": {"type": "object"}},
             {"name": "twin", "description": "second", "inputSchema": {"type": "object"}}]
    server = rogue("--tools", json.dumps(tools))
    with pytest.warns(mcpnb.ServerWarning, match="lists 2 tools under the name 'twin'; tools\\['twin'\\] is the last"):
        listing = server.tools
    assert listing["twin"].description == "second" and [t.description for t in listing] == ["first", "second"]
    assert "lists 2 tools under the name 'twin'" in server.activity["summary"].iloc[-1]


def test_6_a_big_answer_over_http_is_read_and_a_limit_says_so(faulty_url):
    big = mcpnb.connect(faulty_url, name="big", protocol="2025-11-25")  # the SDK answers in one SSE event
    assert len(big.call("echo", text="x" * 2_000_000).text) == 2_000_000  # past the SDK's 1 MB default
    small = mcpnb.connect(faulty_url, name="small", protocol="2025-11-25", max_event_size=1_000_000)
    started = time.monotonic()
    with pytest.raises(mcpnb.ProtocolError, match=r"larger than max_event_size \(1,000,000 bytes\)"):
        small.call("echo", text="x" * 2_000_000)
    assert time.monotonic() - started < 5
    assert small.alive and small.call("echo", text="fits").text == "fits"


def test_7_secrets_a_server_repeats_back_are_masked_in_logs_activity_errors_and_error_data():
    events = Events(redact=mcpnb.masking.Redactor([SECRET]))
    events.log("info", f"logger {SECRET}", f"the token is {SECRET}")
    events.record("transport", f"got {SECRET}")
    shown = events.logs().to_string() + events.activity().to_string()
    assert SECRET not in shown and "the token is ***" in shown
    reply = json.dumps({"jsonrpc": "2.0", "id": "{id}", "error": {
        "code": -32602, "message": f"bad token {SECRET}", "data": {"token": SECRET, "seen": [SECRET]}}})
    echoing = rogue("--call-reply", reply.replace('"{id}"', "{id}"), name="echoing", env={"API_TOKEN": SECRET})
    with pytest.raises(mcpnb.ServerError) as error:
        echoing.call("echo", text="x")
    assert SECRET not in str(error.value) and "bad token ***" in str(error.value)
    assert error.value.data == {"token": "***", "seen": ["***"]}
    result_reply = json.dumps({"jsonrpc": "2.0", "id": "{id}", "result": {
        "isError": True, "content": [{"type": "text", "text": f"refused {SECRET}"}]}})
    failing = rogue("--call-reply", result_reply.replace('"{id}"', "{id}"), name="failing", env={"API_TOKEN": SECRET})
    with pytest.raises(mcpnb.ToolError) as caught:
        failing.call("echo", text="x").raise_for_error()
    assert SECRET not in str(caught.value) and "refused ***" in str(caught.value)


def test_8_log_messages_are_kept_by_size_as_well_as_by_count():
    events = Events(log_level="debug")
    huge = "y" * 1_000_000
    for _ in range(1500):
        events.log("info", "flood", huge)
    kept = events.logs()["message"]
    assert kept.str.len().sum() < 5_000_000  # not 1.5 GB
    assert kept.iloc[-1].startswith("y" * MAX_LOG_CHARS) and kept.iloc[-1].endswith("(cut: 1,000,000 characters in all)")


def test_11_a_garbage_line_that_answers_nothing_is_one_short_line_in_activity():
    server = rogue("--noise", "this is not JSON at all " + "x" * 2000)
    assert server.call("echo", text="x").text == "x"  # nobody waited for it: calls go on
    activity = server.activity
    noted = activity[activity["kind"] == "transport"]["summary"].iloc[-1]
    assert noted.startswith("the server sent something that is not a JSON-RPC message: 'this is not JSON at all")
    assert len(noted) < 200 and "\n" not in noted


def test_9_an_http_error_says_its_status_what_the_server_said_and_what_to_do():
    with serving("unauthorized") as url:
        with pytest.raises(mcpnb.AuthorizationRequired) as caught:
            mcpnb.connect(url, name="guarded")
        error = caught.value
        assert error.status == 401 and 'scope="tickets:read"' in error.challenge
        assert "the server is OAuth-protected: it wants authorization (HTTP 401)" in str(error)
        assert "resource metadata at http" in str(error) and "scopes 'tickets:read'" in str(error)
        assert "auth='oauth'" in error.hint and "headers={'Authorization'" in error.hint
        assert "check the URL" not in str(error)
    with serving("failing") as url:
        with pytest.raises(mcpnb.ConnectError, match=r"the server failed \(HTTP 500\): 'Internal Server Error "
                                                     r"upstream down'") as caught:
            mcpnb.connect(url, name="broken")
        assert "<" not in str(caught.value) and "alert" not in str(caught.value)  # text, never the markup
    with serving("expiring") as url:
        server = mcpnb.connect(url, name="expiring", protocol="2025-11-25")
        with pytest.raises(mcpnb.ConnectionLost, match=r"the server ended the session \(HTTP 404\)") as caught:
            server.call("echo", validate=False)
        assert "reconnect()" in caught.value.hint and not server.alive
        assert "lost" in repr(server)


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped is dead)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, IndexError):
        return False


def _client_sockets(port: int) -> int:
    """Established TCP connections from this machine to ``port`` on 127.0.0.1."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for row in rows if int(row.split()[2].split(":")[1], 16) == port and row.split()[3] == "01")


def test_10_close_stops_the_servers_children_and_leaves_no_http_socket(tmp_path, faulty_url):
    pidfile = tmp_path / "child.pid"
    server = rogue("--child", str(pidfile))
    child = int(pidfile.read_text())
    assert _running(child)
    started = time.monotonic()
    server.close()
    assert time.monotonic() - started < 3
    wait_for(lambda: not _running(child), seconds=3)
    port = int(faulty_url.rsplit(":", 1)[1].split("/")[0])
    remote = mcpnb.connect(faulty_url, name="sockets")
    remote.call("echo", text="x")
    assert _client_sockets(port) >= 1
    remote.close()
    wait_for(lambda: _client_sockets(port) == 0, seconds=3)


def test_11_a_connect_timeout_counts_stopping_the_server_inside_it():
    started = time.monotonic()
    with pytest.raises(mcpnb.ServerStartError, match="did not finish connecting within 1 s"):
        mcpnb.connect([*FAULTY, "--hang-start"], name="mute", connect_timeout=1)
    assert time.monotonic() - started < 2  # it was 1 s more: the SDK's grace period to stop it


def test_12_connect_flags_may_come_before_the_target():
    from mcpnb.magics import COMMANDS, ConnectOptions

    parser = COMMANDS["connect"].parser
    for words, target in ((["desk", "--header", "K=V", "http://127.0.0.1:9/mcp"], "http://127.0.0.1:9/mcp"),
                          (["desk", "--timeout", "30", "demo:helpdesk"], "demo:helpdesk")):
        args = parser.parse_intermixed_args(words)
        assert (args.name, args.target) == ("desk", target)
    options = ConnectOptions.from_flags(vars(parser.parse_intermixed_args(["d", "--header", "K=V", "http://x"])))
    assert options["headers"] == {"K": "V"}
