"""The protocol trace: what went over the wire, in both eras, masked and bounded."""

from __future__ import annotations

import gc
import json
import re
import tracemalloc

import mcpnb
import pytest

from .conftest import FAULTY, http_server, wait_for


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


# -- a bounded size per message (issue 16) ------------------------------------------------------

SECRET = "not-a-real-token-77"
LARGE = 3_000_000  # characters of text echoed: the request and its answer (the text twice) are both large


def test_a_large_message_is_kept_cut_with_its_summary_size_and_start():
    server = mcpnb.connect(FAULTY, name="faulty", env={"API_TOKEN": SECRET})
    server.call("echo", text="small")
    server.call("echo", text=f"{SECRET} " + "x" * LARGE)
    trace = server.trace
    calls = trace[trace["method"] == "tools/call"]
    small, answer = calls.iloc[1], calls.iloc[3]
    assert small["summary"] == "1 content, structured" and "(cut)" not in small["message"]
    assert small["message"]["result"]["structuredContent"] == {"result": "small"}  # small messages whole, as before

    assert answer["kind"] == "response" and answer["id"] == calls.iloc[2]["id"] and answer["duration_ms"] >= 0
    assert answer["size"] > 2 * LARGE  # the size of the whole message
    assert answer["summary"] == "1 content, structured · cut from 5.7 MB"
    message = answer["message"]
    assert "server.trace.keep_full() keeps messages whole" in message["(cut)"]
    text = message["result"]["content"][0]["text"]
    kept, more = re.fullmatch(r"(\*\*\* x+)… \(([\d,]+) more characters\)", text).groups()
    assert len(kept) + int(more.replace(",", "")) == len("*** ") + LARGE  # the start, and how much more
    assert len(json.dumps(message)) < 8_000 and trace.attrs["mcp"]["cut"] == 2
    request = calls.iloc[2]["message"]  # the request was large too; its envelope still says what it was
    assert request["method"] == "tools/call" and request["params"]["name"] == "echo"
    assert "progressToken" in request["params"]["_meta"] and "(cut)" in request
    shown = trace.to_string() + str(trace["message"].tolist()) + str(trace["summary"].tolist())
    assert SECRET not in shown

    view = trace.view()  # the sequence view's opened message says it too
    try:
        opened = view.message_text(int(trace.index[-1]))
        assert '"(cut)"' in opened and "keep_full()" in opened and SECRET not in opened
    finally:
        view.close()


def traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def large_call_held(server: mcpnb.Server, *, look: bool) -> int:
    """Bytes a large call leaves in the trace once its result is let go (traced memory, less the same after
    ``trace.clear()``). ``look``: read the trace first, as a person would; else wait until the call's
    messages (6 MB and 3 MB) no longer all stay: nobody has to look for the trace to let go."""
    tracemalloc.start()
    try:
        before = traced()
        result = server.call("echo", text="x" * LARGE)
        assert len(result.text) == LARGE
        server.call("echo", text="after")  # the SDK's reader lets go of the last message it received
        del result
        if look:
            server.trace
        else:  # the trace cuts it a moment after the call, on mcpnb's loop
            wait_for(lambda: traced() - before < 1.5 * LARGE)
        kept = traced()
        server.session.trace.clear()
        return kept - traced()
    finally:
        tracemalloc.stop()


def test_the_trace_lets_go_of_a_large_result():
    server = mcpnb.connect(FAULTY, name="faulty")
    server.call("echo", text="warm")
    server.trace
    assert large_call_held(server, look=True) < 200_000  # a few KB of excerpts, not 9 MB of text
    assert large_call_held(server, look=False) < 200_000
    with server.trace.keep_full():  # as before issue 16: whole messages, held until cleared
        assert large_call_held(server, look=True) > 2 * LARGE


def test_a_large_result_let_go_leaves_only_kilobytes_behind():
    """Nothing of the connection (its trace, what lint keeps of results) holds on to a large result: the
    issue measured 67.8 MB held after a 100,000-row result and its table were deleted."""
    server = mcpnb.connect(FAULTY, name="faulty")
    server.call("echo", text="warm")
    tracemalloc.start()
    try:
        before = traced()
        result = server.call("echo", text="x" * LARGE)
        server.call("echo", text="after")
        server.trace  # read, as a person would
        del result
        held = traced() - before
    finally:
        tracemalloc.stop()
    assert held < 200_000
    assert [tool for tool, _ in server.session.seen_structured].count("echo") == 3  # counted for lint all the same


def test_keep_full_keeps_whole_messages_while_it_is_on():
    server = mcpnb.connect(FAULTY, name="faulty")
    big = "y" * 100_000

    def last():
        return server.trace.iloc[-1]

    with server.trace.keep_full():
        server.call("echo", text=big)
        assert last()["message"]["result"]["structuredContent"] == {"result": big}
        assert last()["summary"] == "1 content, structured"
    assert "(cut)" in last()["message"]  # when the block ends, large messages are cut again

    server.trace.keep_full()  # on until turned off
    server.call("echo", text=big)
    assert last()["message"]["result"]["content"][0]["text"] == big and server.session.trace.full
    server.trace.keep_full(False)
    assert "(cut)" in last()["message"] and last()["size"] > 200_000

    with pytest.raises(mcpnb.ConfigError, match="live trace"):
        server.trace.tail(2).keep_full()


def test_a_cut_message_over_http_masks_its_secret():
    with http_server(FAULTY) as (url, _):
        server = mcpnb.connect(url, name="remote", headers={"X-Api-Key": SECRET})
        server.call("echo", text="z" * 70_000 + f" the key is {SECRET}")
        server.call("echo", text=f"the key is {SECRET} " + "z" * 70_000)
        trace = server.trace
        answers = trace[(trace["method"] == "tools/call") & (trace["kind"] == "response")]
        assert all("(cut)" in message for message in answers["message"])
        assert answers.iloc[1]["message"]["result"]["content"][0]["text"].startswith("the key is *** zzz")
        assert SECRET not in str(trace["message"].tolist()) + trace.to_string()
        server.close()
