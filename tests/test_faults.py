"""Errors a person can act on: every failure gives one readable mcpnb error and
leaves the connection usable or reconnectable (issue items 5 and 7)."""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback

import pytest

import mcpnb

from .conftest import FAULTY, HELPDESK, alive, http_server, wait_gone


def readable(error: BaseException) -> str:
    """The error as a person reads it, checked for the noise we promise to keep out."""
    text = "".join(traceback.format_exception_only(type(error), error))
    assert "ExceptionGroup" not in text and "anyio" not in text and "Traceback" not in text.split("stderr:")[0]
    assert type(error).__module__ == "mcpnb.errors"
    return text


# -- servers that do not start ------------------------------------------------------------

def test_missing_command():
    with pytest.raises(mcpnb.ServerStartError) as caught:
        mcpnb.connect("no-such-mcp-server --flag")
    text = readable(caught.value)
    assert "Could not start server 'no-such-mcp-server': No such file or directory" in text
    assert "Hint: check the command name" in text


def test_server_that_exits_at_start_reports_exit_code_and_stderr():
    with pytest.raises(mcpnb.ServerStartError) as caught:
        mcpnb.connect([*FAULTY, "--fail-start", "7"], name="broken")
    error = caught.value
    assert error.exit_code == 7
    assert "RuntimeError: missing setting HELPDESK_URL" in error.stderr
    text = readable(error)
    assert text.startswith("mcpnb.errors.ServerStartError: Server 'broken' exited while connecting (exit code 7).")
    assert "Last lines of its stderr:\n  Traceback" in text
    assert mcpnb.servers() == {}


def test_server_that_never_answers_times_out_and_is_stopped():
    started = time.monotonic()
    with pytest.raises(mcpnb.ServerStartError) as caught:
        mcpnb.connect([*FAULTY, "--hang-start"], name="mute", connect_timeout=1.5)
    elapsed = time.monotonic() - started
    assert 1.4 < elapsed < 10  # the limit, plus the SDK's orderly stop of the process
    text = readable(caught.value)
    assert "did not finish connecting within 1.5 s" in text
    assert "starting, but never answering" in caught.value.stderr


def test_stderr_is_captured_not_sprayed(capfd, faulty):
    assert faulty.call("flood_stderr", megabytes=3).text == "still here"  # a full pipe never blocks it
    assert faulty.call("echo", text="after").text == "after"
    out, err = capfd.readouterr()
    assert "xxxx" not in out + err
    assert faulty.stderr.endswith("x" * 1023 + "\n")
    assert "faulty server pid" in mcpnb.connect(FAULTY, name="again").stderr


# -- bad calls are refused before anything is sent ---------------------------------------

def test_unknown_tool_is_named_with_suggestions(faulty):
    with pytest.raises(mcpnb.NotFound) as caught:
        faulty.call("ecko", text="x")
    assert str(caught.value) == "Server 'faulty' has no tool 'ecko'.\nHint: did you mean 'echo'?"
    assert isinstance(caught.value, KeyError)
    with pytest.raises(mcpnb.NotFound):
        faulty.tools["nope"]


def test_bad_arguments_name_each_field_and_are_never_sent(faulty):
    before = faulty.call("calls").structured["result"]
    with pytest.raises(mcpnb.InvalidArguments) as caught:
        faulty.call("add", a="one", c=3)
    error = caught.value
    assert error.problems == [
        ("a", "'one' is not of type 'integer'"),
        ("b", "required, missing"),
        ("c", "not an argument of this tool (it takes: a, b)"),
    ]
    assert "Invalid arguments for tool 'add':\n  - a: 'one' is not of type 'integer'" in readable(error)
    assert faulty.call("calls").structured["result"] == before + 1  # only the calls() itself arrived
    assert faulty.call("add", {"a": 2}, b=3).structured["result"] == 5  # dict and keywords merge


def test_enum_and_range_problems_read_well(helpdesk):
    with pytest.raises(mcpnb.InvalidArguments) as caught:
        helpdesk.call("list_orders", status="pending", limit=0, custmer_email="a@b")
    assert caught.value.problems == [
        ("custmer_email", "not an argument of this tool (did you mean 'customer_email'?)"),
        ("limit", "0 is less than the minimum of 1"),
        ("status", "'pending' is not one of ['paid', 'refunded', 'cancelled'] (or null)"),
    ]


def test_validation_can_be_skipped_to_see_what_the_server_does(faulty):
    result = faulty.call("add", {"a": "one", "b": 2}, validate=False)
    assert result.is_error and "validation error" in result.text
    with pytest.raises(mcpnb.ToolError, match="Tool 'add' on 'faulty' failed"):
        result.raise_for_error()


def test_call_options_that_clash_with_tool_arguments(faulty):
    from mcp.server.mcpserver import MCPServer

    designer = MCPServer("clash")

    @designer.tool()
    def wait(timeout: int) -> int:
        return timeout

    server = mcpnb.connect(designer)
    with pytest.raises(mcpnb.InvalidArguments, match="both a call option and an argument"):
        server.call("wait", timeout=5)
    assert server.call("wait", {"timeout": 5}).structured["result"] == 5


# -- timeouts ------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["call", "connection"])
def test_timeout_is_prompt_cancels_on_the_server_and_keeps_the_connection(tmp_path, where):
    marker = tmp_path / "marker"
    if where == "call":
        server = mcpnb.connect(FAULTY, name="faulty")
        options = {"timeout": 0.5}
    else:
        server = mcpnb.connect(FAULTY, name="faulty", timeout=0.5)
        options = {}
    started = time.monotonic()
    with pytest.raises(mcpnb.RequestTimeout) as caught:
        server.call("slow", seconds=30, marker=str(marker), **options)
    elapsed = time.monotonic() - started
    assert 0.5 <= elapsed < 0.75, elapsed  # within a fraction of a second of the limit
    assert "got no answer within 0.5 s; the request was cancelled" in readable(caught.value)
    assert isinstance(caught.value, TimeoutError)
    assert server.call("echo", text="still usable").text == "still usable"
    deadline = time.monotonic() + 5
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert marker.read_text() == "cancelled"  # the server was told and stopped the work


def test_timeout_on_http(tmp_path):
    marker = tmp_path / "marker"
    with http_server(FAULTY) as (url, _):
        server = mcpnb.connect(url, name="faulty_http")
        started = time.monotonic()
        with pytest.raises(mcpnb.RequestTimeout):
            server.call("slow", seconds=30, marker=str(marker), timeout=0.5)
        assert time.monotonic() - started < 0.9
        assert server.call("echo", text="ok").text == "ok"
        server.close()


# -- crashes and lost connections ----------------------------------------------------------

def test_crash_mid_call_is_reported_quickly_and_reconnect_restores(faulty):
    old_pid = faulty.pid
    started = time.monotonic()
    with pytest.raises(mcpnb.ConnectionLost) as caught:
        faulty.call("crash", code=5)
    assert time.monotonic() - started < 3
    error = caught.value
    assert error.exit_code == 5
    assert "fatal: the database went away" in error.stderr
    text = readable(error)
    assert "Server 'faulty' exited (exit code 5)." in text and "server.reconnect()" in text
    assert not faulty.alive and "lost" in repr(faulty)
    with pytest.raises(mcpnb.ConnectionLost, match="exit code 5"):  # every later call says the same
        faulty.call("echo", text="x")
    faulty.reconnect()
    assert faulty.alive and faulty.pid != old_pid
    assert faulty.call("echo", text="back").text == "back"
    assert list(mcpnb.servers().values()) == [faulty]


def test_server_killed_from_outside_between_calls(faulty):
    os.kill(faulty.pid, signal.SIGKILL)
    with pytest.raises(mcpnb.ConnectionLost, match=r"killed by signal 9"):
        faulty.call("echo", text="x")
    assert faulty.reconnect().call("echo", text="y").text == "y"


def test_http_server_that_goes_away():
    with http_server(HELPDESK) as (url, process):
        server = mcpnb.connect(url, name="remote")
        assert server.call("get_order", order_id=1).structured["id"] == 1
        process.kill()
        process.wait()
        started = time.monotonic()
        with pytest.raises((mcpnb.ConnectionLost, mcpnb.ServerError)) as caught:
            server.call("get_order", order_id=2, timeout=10)
        assert time.monotonic() - started < 5
        readable(caught.value)
    with http_server(HELPDESK) as (url2, _):
        fresh = mcpnb.connect(url2, name="remote")
        assert fresh.call("get_order", order_id=3).structured["id"] == 3


# -- no orphans ----------------------------------------------------------------------------

def test_close_stops_the_process(faulty):
    pid = faulty.pid
    assert alive(pid)
    faulty.close()
    assert wait_gone(pid, 1)


def test_close_all_stops_every_process():
    pids = [mcpnb.connect(FAULTY, name=f"f{i}").pid for i in range(3)]
    mcpnb.close_all()
    assert all(wait_gone(pid, 1) for pid in pids)


def test_a_server_that_ignores_stdin_end_and_sigterm_is_killed():
    server = mcpnb.connect([*FAULTY, "--stubborn"], name="stubborn")
    pid = server.pid
    started = time.monotonic()
    server.close()
    assert wait_gone(pid, 1)
    assert time.monotonic() - started > 3  # it took the SDK's escalation, up to SIGKILL
    assert "staying anyway" in server.stderr


def test_interpreter_exit_stops_servers(tmp_path):
    import subprocess

    script = (
        "import sys, mcpnb\n"
        f"s = mcpnb.connect({FAULTY!r}, name='a')\n"
        f"t = mcpnb.connect({HELPDESK!r})\n"
        "print(s.pid, t.pid, flush=True)\n"
        "sys.exit(0)  # no close(): exit must clean up\n"
    )
    finished = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert finished.returncode == 0, finished.stderr
    pids = [int(p) for p in finished.stdout.split()]
    assert len(pids) == 2 and all(wait_gone(pid, 2) for pid in pids)
    assert "Traceback" not in finished.stderr


def test_exit_right_after_an_interrupted_connect_stops_the_server():
    import subprocess
    import uuid

    from .test_connect import processes_running

    tag = uuid.uuid4().hex
    script = (
        "import os, signal, threading, mcpnb\n"
        "threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()\n"
        "try:\n"
        f"    mcpnb.connect({[*FAULTY, '--hang-start', '--tag', tag]!r}, name='mute')\n"
        "except KeyboardInterrupt:\n"
        "    pass  # and exit at once, while the cancelled connect is still being cleaned up\n"
    )
    finished = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert finished.returncode == 0, finished.stderr
    deadline = time.monotonic() + 3
    while processes_running(tag) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_running(tag) == []
