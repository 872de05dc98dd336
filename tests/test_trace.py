"""The protocol trace: what went over the wire, in both eras, masked and bounded."""

from __future__ import annotations

import mcpnb
import pytest

from .conftest import FAULTY, http_server


def methods(frame, direction=None):
    rows = frame if direction is None else frame[frame["direction"] == direction]
    return [m for m in rows["method"].tolist() if m]


def test_stateless_era_shows_discover_and_meta():
    server = mcpnb.connect(FAULTY, name="faulty")
    server.call("echo", text="hi")
    trace = server.trace
    assert methods(trace, "→")[0] == "server/discover"
    assert "initialize" not in methods(trace)
    call = trace[(trace["method"] == "tools/call") & (trace["kind"] == "request")].iloc[0]
    assert call["message"]["params"]["arguments"] == {"text": "hi"}
    assert "io.modelcontextprotocol/protocolVersion" in call["message"]["params"]["_meta"]
    reply = trace[(trace["method"] == "tools/call") & (trace["kind"] == "response")].iloc[0]
    assert reply["id"] == call["id"] and reply["duration_ms"] >= 0 and reply["size"] > 0
    assert reply["summary"] == "1 content, structured"


def test_handshake_era_shows_initialize():
    server = mcpnb.connect(FAULTY, name="faulty", protocol="2025-11-25")
    server.tools
    sent = methods(server.trace, "→")
    assert sent[:3] == ["initialize", "notifications/initialized", "tools/list"]


def test_cancellation_is_visible(tmp_path):
    server = mcpnb.connect(FAULTY, name="faulty")
    with pytest.raises(mcpnb.RequestTimeout):
        server.call("slow", seconds=10, timeout=0.3)
    cancelled = server.trace[server.trace["method"] == "notifications/cancelled"]
    assert len(cancelled) == 1 and cancelled.iloc[0]["direction"] == "→"


def test_http_trace_and_masking():
    secret = "not-a-real-token-77"
    with http_server(FAULTY) as (url, _):
        server = mcpnb.connect(url, name="remote", headers={"X-Api-Key": secret})
        server.call("echo", text=f"the key is {secret}")
        trace = server.trace
        assert "tools/call" in methods(trace)
        assert secret not in trace.to_string() and secret not in str(trace["message"].tolist())
        assert "the key is ***" in str(trace["message"].tolist())
        server.close()


def test_trace_is_bounded_and_reconnects_continue_it(monkeypatch):
    monkeypatch.setattr("mcpnb.trace.KEEP", 10)
    server = mcpnb.connect(FAULTY, name="faulty")
    for i in range(10):
        server.call("echo", text=str(i))
    trace = server.trace
    assert len(trace) == 10 and trace.attrs["mcp"]["dropped"] > 0
    server.reconnect()
    assert methods(server.trace, "→")[-1] in ("server/discover", "subscriptions/listen", "tools/list")


def test_in_process_servers_have_no_wire(helpdesk):
    from mcpnb.demo import build_server

    server = mcpnb.connect(build_server("helpdesk"), name="inproc")
    server.call("get_order", order_id=1)
    assert server.trace.empty


def test_a_summary_counts_in_words_that_agree():
    """"1 messages" read wrong in the sequence view; one of a list is said in the singular."""
    server = mcpnb.connect("demo:helpdesk")
    server.prompt("triage_enquiry", enquiry_id="1")
    server.tools
    trace = server.trace
    answers = trace[trace["kind"] == "response"].set_index("method")["summary"]
    assert answers["prompts/get"] == "1 message"
    assert answers["tools/list"].startswith("11 tools")
