"""The wire as a sequence (``server.trace.view()``, the explorer's Activity tab), Python's side:
what each row the page draws says, against real servers. The page itself is driven in
tests/test_browser.py."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

import mcpnb
from mcpnb.traceframe import TraceFrame
from mcpnb.widgets.sequence import SequenceView

from .conftest import FAULTY, http_server, wait_for
from .test_render import EVIL

ERAS = ["2025-11-25", "2026-07-28"]
FRONT = Path(mcpnb.__file__).parent / "widgets"


def rows_of(view: SequenceView, method: str, kind: str | None = None) -> list[dict]:
    return [r for r in view.rows if r["method"] == method and (kind is None or r["kind"] == kind)]


def by_index(view: SequenceView) -> dict[int, dict]:
    return {row["index"]: row for row in view.rows}


def answered(view: SequenceView, row: dict) -> dict:
    """The response (or error) the page pairs with request ``row``."""
    return next(r for r in view.rows if r["pair"] == row["index"])


@pytest.mark.parametrize("protocol", ERAS)
def test_the_start_pairs_each_request_with_its_answer_and_its_duration(protocol):
    server = mcpnb.connect("demo:helpdesk", protocol=protocol)
    server.tools
    view = server.trace.view()
    start = "initialize" if protocol == "2025-11-25" else "server/discover"
    asked = rows_of(view, start, "request")[0]
    answer = answered(view, asked)
    assert (asked["dir"], answer["dir"]) == ("→", "←")  # client to server, and back
    assert answer["kind"] == "response" and answer["id"] == asked["id"] and answer["ms"] > 0
    assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3}", answer["time"])
    listing = rows_of(view, "tools/list", "request")[0]
    assert answered(view, listing)["summary"] == f"{len(server.tools)} tools"
    if protocol == "2025-11-25":
        assert rows_of(view, "notifications/initialized")[0]["kind"] == "notification"


def test_a_call_shows_its_progress_and_its_cancellation():
    server = mcpnb.connect("demo:helpdesk")
    view = server.trace.view()
    server.call("sales_report", group_by="category")
    wait_for(lambda: any(r["pair"] is not None and r["method"] == "tools/call" for r in view.rows))
    call = rows_of(view, "tools/call", "request")[-1]
    progress = rows_of(view, "notifications/progress")
    assert len(progress) == 5 and all(r["dir"] == "←" and r["about"] == call["index"] for r in progress)
    assert progress[0]["badges"] == [f"for #{call['id']}"] and '"progress": 1' in progress[0]["summary"]
    assert answered(view, call)["index"] > progress[-1]["index"]  # the answer comes after its progress

    faulty = mcpnb.connect(FAULTY, name="faulty")
    slow_view = faulty.trace.view()
    with pytest.raises(mcpnb.RequestTimeout):
        faulty.call("slow", seconds=10, timeout=0.5)
    wait_for(lambda: rows_of(slow_view, "notifications/cancelled"))
    cancelled = rows_of(slow_view, "notifications/cancelled")[0]
    call = rows_of(slow_view, "tools/call", "request")[-1]
    assert cancelled["dir"] == "→" and cancelled["about"] == call["index"] and cancelled["topic"] == "tools/call"


def test_server_requests_go_from_server_to_client_in_2025_11_25():
    server = mcpnb.connect("demo:helpdesk", protocol="2025-11-25", name="old",
                           elicitation=lambda request: {"confirm": True}, sampling=lambda request: "In short.")
    view = server.trace.view()
    order = server.call("list_orders", status="paid", limit=1).data["orders"][0]["id"]
    server.call("refund_order", order_id=order, reason="double booking")
    server.call("summarise_enquiry", enquiry_id=2)
    wait_for(lambda: rows_of(view, "sampling/createMessage", "response"))
    for method, words in (("elicitation/create", "server asks the person"),
                          ("sampling/createMessage", "server asks the model")):
        asked = rows_of(view, method, "request")[0]
        assert asked["dir"] == "←" and asked["badges"] == [words]
        answer = answered(view, asked)
        assert answer["dir"] == "→" and answer["ms"] is not None
    refund = next(r for r in rows_of(view, "tools/call", "request") if "refund_order" in r["summary"])
    elicitation = rows_of(view, "elicitation/create", "request")[0]
    assert refund["index"] < elicitation["index"] < answered(view, refund)["index"]  # asked during the call


def test_multi_round_trip_rounds_in_2026_07_28():
    server = mcpnb.connect("demo:helpdesk", protocol="2026-07-28", elicitation=lambda request: {"confirm": True})
    view = server.trace.view()
    order = server.call("list_orders", status="paid", limit=1).data["orders"][0]["id"]
    server.call("refund_order", order_id=order, reason="double booking")
    wait_for(lambda: any("round 2" in " ".join(r["badges"]) for r in view.rows))
    first = next(r for r in rows_of(view, "tools/call", "request") if "refund_order" in r["summary"])
    needs = answered(view, first)
    assert needs["dir"] == "←" and needs["badges"] == ["input required", "server asks the person"]
    assert needs["summary"] == "input required: elicitation/create"
    again = next(r for r in view.rows if r["about"] == first["index"] and r["kind"] == "request")
    assert again["badges"] == [f"round 2 of #{first['id']}"] and again["id"] != first["id"]
    assert "inputResponses: 1" in again["summary"] and "requestState" in again["summary"]
    assert answered(view, again)["summary"] == "1 content, structured"
    assert not rows_of(view, "elicitation/create")  # no server request on the wire in this era


def test_a_failed_request_and_a_tool_that_failed_are_told_apart(helpdesk):
    with pytest.raises(mcpnb.ServerError):
        helpdesk.read("helpdesk://nope/1")
    assert helpdesk.call("get_order", order_id=99999999).is_error
    view = helpdesk.trace.view()
    failed = rows_of(view, "resources/read", "error")[0]  # the JSON-RPC error: the page marks it
    assert failed["pair"] == rows_of(view, "resources/read", "request")[0]["index"] and failed["dir"] == "←"
    assert failed["summary"] == "error -32602: Unknown resource: helpdesk://nope/1"
    answer = rows_of(view, "tools/call", "response")[-1]  # an answer that says the tool failed
    assert answer["badges"] == ["tool error"] and "isError" in answer["summary"]


def test_the_filter_keeps_one_method_and_what_belongs_to_it(helpdesk):
    view = helpdesk.trace.view()
    helpdesk.call("sales_report", group_by="category")
    wait_for(lambda: rows_of(view, "tools/call", "response"))
    assert {"tools/call", "tools/list"} <= set(view.methods) and view.methods == sorted(view.methods)
    assert "notifications/progress" not in view.methods  # filed under the call it reports on
    view.method = "tools/call"  # what the page's select sets
    kinds = {(r["method"], r["kind"]) for r in view.shown}
    assert kinds == {("tools/call", "request"), ("tools/call", "response"), ("notifications/progress", "notification")}
    view.method = "tools/list"
    assert [r["kind"] for r in view.shown] == ["request", "response"]
    view.method = ""
    assert view.shown == view.rows


def test_a_live_view_follows_the_connection_at_most_five_times_a_second(helpdesk):
    view = helpdesk.trace.view()
    assert view is helpdesk.trace.view()  # re-running the cell shows the same view: no second watcher
    batches: list[dict] = []
    view.send = lambda content, buffers=None: batches.append(content)  # what goes to the page
    started = time.monotonic()
    for order in range(1, 31):
        helpdesk.call("get_order", order_id=order)
    wait_for(lambda: any('"order_id": 30' in r["summary"] for r in view.rows))
    took = time.monotonic() - started
    sent = [row for batch in batches if batch["type"] == "rows" for row in batch["rows"]]
    assert [r["index"] for r in sent] == sorted({r["index"] for r in sent})  # each row once, in order
    assert sum('"name": "get_order"' in r["summary"] for r in sent) == 30
    assert sum(r["method"] == "tools/call" and r["kind"] == "response" for r in sent) == 30
    assert len(batches) <= took / 0.2 + 2, (len(batches), took)  # throttled, not one per message
    helpdesk.reconnect()  # the same Trace: the view goes on
    wait_for(lambda: view.rows[-1]["method"] in ("server/discover", "initialize", "tools/list",
                                                 "subscriptions/listen", "notifications/subscriptions/acknowledged"))


def test_closing_a_view_stops_watching(helpdesk):
    trace = helpdesk.session.trace
    view = helpdesk.trace.view()
    assert trace.watched and view.live
    view.close()
    assert not trace.watched and not view.live
    kept = len(view.rows)
    helpdesk.call("get_order", order_id=1)
    time.sleep(0.5)
    assert len(view.rows) == kept
    again = helpdesk.trace.view()
    assert again is not view and again.live and len(again.rows) == len(trace) > kept

    explorer = helpdesk.explore()
    assert explorer.activity_tab.sequence.live
    again.close()
    explorer.close()  # the explorer's own view stops with it
    assert not trace.watched


def test_a_filtered_frame_views_its_own_rows(helpdesk):
    helpdesk.call("get_order", order_id=1)
    trace = helpdesk.trace
    calls = trace[trace["method"] == "tools/call"]
    assert isinstance(calls, TraceFrame) and isinstance(trace.copy(), TraceFrame)
    assert calls._trace is None and trace.tail(3)._trace is None  # only server.trace itself is live
    view = calls.view()
    assert not view.live and [r["kind"] for r in view.rows] == ["request", "response"]
    assert view.rows[1]["pair"] == 0 and view.rows[1]["ms"] == calls.iloc[1]["duration_ms"]
    assert json.loads(view.message_text(0))["params"]["arguments"] == {"order_id": 1}
    helpdesk.call("get_order", order_id=2)
    time.sleep(0.4)
    assert len(view.rows) == 2  # a snapshot
    assert "no message" in calls[["time", "kind", "method"]].view().message_text(0)


def test_opening_a_message_sends_its_json_masked():
    secret = "not-a-real-token-77"
    with http_server(FAULTY) as (url, _):
        server = mcpnb.connect(url, name="remote", headers={"X-Api-Key": secret})
        server.call("echo", text=f"the key is {secret}")
        view = server.trace.view()
        sent: list[dict] = []
        view.send = lambda content, buffers=None: sent.append(content)
        call = rows_of(view, "tools/call", "request")[-1]
        view._from_page(view, {"type": "json", "index": call["index"]}, [])  # the page: a row was opened
        text = sent[-1]["text"]
        assert sent[-1] == {"type": "json", "index": call["index"], "text": text}
        assert json.loads(text)["params"]["arguments"] == {"text": "the key is ***"}
        assert text.startswith('{\n  "jsonrpc"')  # pretty-printed
        view._from_page(view, {"type": "ready"}, [])  # a page view starts: every row so far
        assert sent[-1]["rows"] == view.rows
        assert secret not in json.dumps(sent) + json.dumps(view.get_state(), default=str)
        server.close()


def test_a_hostile_server_string_reaches_the_page_as_text():
    server = mcpnb.connect(FAULTY, name="faulty")
    server.call("echo", text=EVIL)
    view = server.trace.view()
    answer = answered(view, rows_of(view, "tools/call", "request")[-1])
    assert "<script>alert(1)</script>" in view.message_text(answer["index"])  # as data; the page sets text
    from mcpnb.widgets.app import APP_ESM
    from mcpnb.widgets.style import KeyGuard

    # every front-end of ours: the sequence view, an app's frame and its proxy, the key guard
    for name, script in (("sequence.js", (FRONT / "sequence.js").read_text()), ("APP_ESM", APP_ESM),
                         ("KeyGuard", KeyGuard._esm)):
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "DOMParser",
                     "createContextualFragment", "eval(", "new Function"):
            assert sink not in script, (name, sink)  # no way for data to become markup or code
    assert "textContent" in (FRONT / "sequence.js").read_text() and "textContent" in APP_ESM


def test_the_page_takes_every_colour_from_the_theme():
    for path in (FRONT / "sequence.css", FRONT / "sequence.js"):
        text = path.read_text()
        assert not re.search(r"#[0-9a-fA-F]{3,8}\b|rgba?\(|hsla?\(", text), path.name
        values = " ".join(re.findall(r"(?:color|background|border[a-z-]*|outline|shadow)\s*:\s*([^;]+);", text))
        named = set(re.findall(r"[a-z]+", re.sub(r"var\(--[a-z0-9-]+\)", "", values)))
        assert not named & {"white", "black", "red", "green", "blue", "gray", "grey", "orange", "yellow", "silver",
                            "navy", "pink", "purple", "crimson", "darkgray", "lightgray", "whitesmoke"}, named


def test_a_bounded_trace_says_how_many_are_gone(monkeypatch):
    monkeypatch.setattr("mcpnb.trace.KEEP", 10)
    server = mcpnb.connect(FAULTY, name="faulty")
    for i in range(8):
        server.call("echo", text=str(i))
    view = server.trace.view()
    assert len(view.rows) == 10 and view.keep == 10 and view.dropped == server.session.trace.dropped > 0
    assert "no longer kept" in view.message_text(0)


def test_an_in_process_server_has_nothing_to_draw_and_says_why():
    from mcpnb.demo import build_server

    server = mcpnb.connect(build_server("helpdesk"), name="inproc")
    server.call("get_order", order_id=1)
    view = server.trace.view()
    assert view.rows == [] and "in-process server has no wire" in view.note


def test_a_view_is_drawn_while_a_cell_waits_in_a_synchronous_call():
    """A cell blocked in server.call() holds the kernel's thread; the view's rows still reach the
    page as the call goes on (as errands of the waiting thread), not all at once at the end."""
    from .test_kernel import Kernel

    kernel = Kernel()
    try:
        shown, _ = kernel.outputs(kernel.start(f"import mcpnb\nserver = mcpnb.connect({FAULTY!r}, name='faulty')\n"
                                               "server.trace.view()"))
        assert shown["status"] == "ok"
        msg_id = kernel.start("server.call('slow', seconds=3)")
        content, messages = kernel.outputs(msg_id)
        assert content["status"] == "ok"
        finished = next(m for m in messages if m["msg_type"] == "execute_result")["header"]["date"]
        progress = [m["header"]["date"] for m in messages if m["msg_type"] == "comm_msg"
                    and m["content"]["data"].get("method") == "custom"
                    and any(row["method"] == "notifications/progress"
                            for row in m["content"]["data"]["content"].get("rows", []))]
        assert len(progress) >= 5, len(progress)  # batches, a few a second
        assert (finished - progress[0]).total_seconds() > 2  # the first came long before the answer
    finally:
        kernel.stop(now=True)


def test_a_view_no_page_shows_any_more_rests_until_one_does(helpdesk):
    """Re-running an explorer's cell left the old explorer's view watching the connection for good;
    a live view stops watching when its last page view is gone and catches up when one comes back."""
    trace = helpdesk.session.trace
    explorer = helpdesk.explore()
    view = explorer.activity_tab.sequence
    view._from_page(view, {"type": "ready"}, [])  # what the page sends when it draws the view
    assert trace.watched
    view._from_page(view, {"type": "gone"}, [])  # and when its output is cleared (the cell run again)
    assert not trace.watched and view.live
    helpdesk.call("get_order", order_id=2)
    view._from_page(view, {"type": "ready"}, [])  # shown again: it reads what came meanwhile
    assert trace.watched and any('"order_id": 2' in row["summary"] for row in view.rows)
    explorer.close()
    assert not trace.watched
