"""MCP Apps, the host's side, against real servers: the crm demo's pipeline board (stdio) and a
server whose app tries what it must not (tests/servers/spy_app.py, in-process here).

What the app sees is driven here by the messages an app sends (the extension's JSON-RPC), and what
the host answers is what the iframe would get; tests/test_browser.py runs both apps in chromium.
"""

from __future__ import annotations

import asyncio
import re

import pytest

import mcpnb
from mcpnb import apps, render, runtime

from .conftest import wait_for
from .servers import spy_app


class App:
    """An app as the host sees it: what it sends, and everything the host sent back."""

    def __init__(self, server: mcpnb.Server, tool: str, arguments: dict, *, allow: bool = True,
                 pause: float = 0.0) -> None:
        self.posted: list[dict] = []
        self.notes: list[dict] = []
        self.asked: list[str] = []
        self.heights: list[int] = []
        found = server.tools[tool]
        resource = runtime.run(apps.load_app(server.session, found))

        async def confirm(question: str) -> bool:
            self.asked.append(question)
            await asyncio.sleep(pause)  # the person takes their time
            return allow

        self.host = apps.AppHost(server.session, found, arguments, resource, post=self.posted.append,
                                 note=self.notes.append, confirm=confirm, resize=self.heights.append)
        self.ids = 0

    def request(self, method: str, params: dict | None = None, seen: dict | None = None) -> dict:
        self.ids += 1
        runtime.run(self.host.receive({"jsonrpc": "2.0", "id": self.ids, "method": method, "params": params or {}},
                                      seen))
        answer = [m for m in self.posted if m.get("id") == self.ids]
        assert len(answer) == 1, f"one answer to {method}, got {answer}"
        return answer[0]

    def notify(self, method: str, params: dict | None = None) -> None:
        runtime.run(self.host.receive({"jsonrpc": "2.0", "method": method, "params": params or {}}))

    def told(self, method: str) -> list[dict]:
        return [m["params"] for m in self.posted if m.get("method") == method]


@pytest.fixture
def crm() -> mcpnb.Server:
    return mcpnb.connect("demo:crm")


def test_the_client_advertises_mcp_apps_in_its_handshake(crm):
    sent = crm.trace.iloc[0]["message"]
    capabilities = (sent["params"].get("capabilities")
                    or sent["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"])
    assert capabilities["extensions"]["io.modelcontextprotocol/ui"] == {"mimeTypes": ["text/html;profile=mcp-app"]}


def test_tools_with_an_app_their_visibility_and_what_counts_as_destructive(crm):
    assert crm.tools["pipeline_board"].app == "ui://crm/pipeline-board.html"
    assert crm.tools["list_leads"].app is None
    assert not apps.destructive(crm.tools["pipeline_board"]) and not apps.destructive(crm.tools["move_lead"])
    assert apps.destructive(crm.tools["delete_lead"]) and apps.visible_to_apps(crm.tools["delete_lead"])
    # what a person sees in server.tools and the explorer's list
    assert render.tool_badges(crm.tools["pipeline_board"])[-1] == "app"
    assert render.tool_badges(crm.tools["delete_lead"]) == ["destructive", "idempotent", "app only"]
    assert '<span class="badge app-only">app only</span>' in crm.tools._repr_html_()
    with pytest.raises(mcpnb.ConfigError, match="has no app") as caught:
        crm.app("list_leads")
    assert "server.call('list_leads', ...)" in str(caught.value)


def test_the_app_is_initialized_then_given_the_input_and_the_result(crm):
    app = App(crm, "pipeline_board", {"per_stage": 2})
    answer = app.request("ui/initialize", {"protocolVersion": "2026-01-26", "appInfo": {"name": "t", "version": "1"},
                                           "appCapabilities": {}},
                         seen={"theme": "dark", "styles": {"--color-text-primary": "rgb(1, 2, 3)"}, "width": 640})
    result = answer["result"]
    assert result["protocolVersion"] == "2026-01-26" and result["hostInfo"]["name"] == "mcpnb"
    assert {"serverTools", "serverResources", "openLinks", "message"} <= set(result["hostCapabilities"])
    context = result["hostContext"]
    assert context["theme"] == "dark" and context["styles"]["variables"]["--color-text-primary"] == "rgb(1, 2, 3)"
    assert context["containerDimensions"]["maxWidth"] == 640 and context["displayMode"] == "inline"
    assert context["toolInfo"]["tool"]["name"] == "pipeline_board"
    assert app.told("ui/notifications/tool-input") == []  # nothing before the app says it is ready

    app.host.deliver_result(crm.call("pipeline_board", per_stage=2))
    assert app.told("ui/notifications/tool-result") == []
    app.notify("ui/notifications/initialized")
    assert app.told("ui/notifications/tool-input") == [{"arguments": {"per_stage": 2}}]
    [board] = app.told("ui/notifications/tool-result")
    assert [c["stage"] for c in board["structuredContent"]["columns"]] == ["new", "qualified", "proposal",
                                                                           "negotiation"]
    app.host.context_changed({"theme": "light", "width": 640})
    assert app.told("ui/notifications/host-context-changed") == [{"theme": "light"}]  # only what changed

    app.notify("ui/notifications/size-changed", {"height": 512})
    assert app.heights == [512]


def test_tool_calls_from_the_app_go_through_the_connection_and_destructive_ones_wait_for_the_person(crm):
    lead = crm.call("list_leads", stage="new", limit=1).structured["leads"][0]["id"]
    app = App(crm, "pipeline_board", {}, allow=False)
    moved = app.request("tools/call", {"name": "move_lead", "arguments": {"lead_id": lead, "stage": "qualified"}})
    assert moved["result"]["structuredContent"]["stage"] == "qualified" and app.asked == []  # an update: not asked
    calls = crm.trace[crm.trace["method"] == "tools/call"]
    assert any(m.get("params", {}).get("name") == "move_lead" for m in calls["message"])  # on the wire, in the trace

    refused = app.request("tools/call", {"name": "delete_lead", "arguments": {"lead_id": lead}})
    assert app.asked == [f"The app asks to call delete_lead(lead_id={lead}), which may change or destroy data."]
    assert refused["error"]["message"] == "The person did not allow delete_lead."
    assert crm.call("get_lead", lead_id=lead).structured["id"] == lead  # still there

    allowed = App(crm, "pipeline_board", {}, allow=True)
    done = allowed.request("tools/call", {"name": "delete_lead", "arguments": {"lead_id": lead}})
    assert done["result"]["structuredContent"]["lead_id"] == lead and len(allowed.asked) == 1
    assert crm.call("get_lead", lead_id=lead).is_error  # gone


def test_what_the_app_may_not_do_is_refused_with_a_clear_error(crm):
    spy = mcpnb.connect(spy_app.build(), name="spy")
    app = App(spy, "spy", {"url": "http://127.0.0.1:9/"})
    assert app.request("tools/call", {"name": "model_only"})["error"]["message"] == \
        "'model_only' is for the model only (_meta.ui.visibility)"
    assert "has no tool 'nope'" in app.request("tools/call", {"name": "nope"})["error"]["message"]
    assert app.request("tools/call", {"arguments": {}})["error"]["code"] == -32602  # no name
    assert app.request("ui/download-file", {"contents": []})["error"]["code"] == -32601
    assert app.request("ui/open-link", {"url": "javascript:alert(1)"})["result"] == {"isError": True}
    assert app.request("ui/request-display-mode", {"mode": "fullscreen"})["result"] == {"mode": "inline"}
    assert app.notes == []
    runtime.run(app.host.receive("not json-rpc"))
    runtime.run(app.host.receive({"jsonrpc": "2.0", "id": 99, "result": {}}))  # a response: nothing asked it
    assert [m for m in app.posted if m.get("id") == 99] == []


def test_an_app_that_floods_is_refused_not_obeyed(crm):
    app = App(crm, "pipeline_board", {}, allow=False, pause=0.5)
    board = {"name": "pipeline_board", "arguments": {"per_stage": 1}}
    lead = crm.call("list_leads", stage="new", limit=1).structured["leads"][0]["id"]
    delete = {"name": "delete_lead", "arguments": {"lead_id": lead}}

    async def together(params: dict, ids: range) -> None:
        sent = [{"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": params} for n in ids]
        await asyncio.gather(*(app.host.receive(message) for message in sent))

    def refusals(ids: range) -> list[str]:
        answered = [m for m in app.posted if m["id"] in ids]
        assert len(answered) == len(ids)  # every request answered, one way or the other
        return [m["error"]["message"] for m in answered if "error" in m]

    runtime.run(together(board, range(1, 21)))
    assert refusals(range(1, 21)) == ["too many requests at once (more than 16); wait for answers"] * 4
    runtime.run(together(delete, range(21, 23)))
    assert sorted(refusals(range(21, 23))) == ["The person did not allow delete_lead.",
                                               "a question to the person is already waiting; ask again after it"]
    assert len(app.asked) == 1  # one question at a time, never a pile of them
    assert crm.call("get_lead", lead_id=lead).structured["id"] == lead


def test_links_messages_logs_and_model_context_are_shown_not_acted_on(crm):
    app = App(crm, "pipeline_board", {})
    assert app.request("ui/open-link", {"url": "https://crm.example.com/leads/1"})["result"] == {}
    assert app.request("ui/message", {"role": "user", "content": [{"type": "text", "text": "<b>hi</b>"},
                                                                   {"type": "image", "data": "", "mimeType": "x"}]}
                       )["result"] == {}
    app.request("ui/update-model-context", {"content": [{"type": "text", "text": "board of dev"}]})
    app.notify("notifications/message", {"level": "warning", "data": "careful"})
    assert app.notes == [
        {"kind": "link", "url": "https://crm.example.com/leads/1"},
        {"kind": "message", "text": "<b>hi</b>\n[image]"},  # text: the front-end shows it as text
        {"kind": "context", "text": "board of dev", "replace": True},
        {"kind": "log", "level": "warning", "text": "careful"},
    ]


def test_the_frame_gets_a_policy_before_anything_the_server_wrote_and_no_widened_sources():
    spy = mcpnb.connect(spy_app.build(), name="spy")
    resource = runtime.run(apps.load_app(spy.session, spy.tools["spy"]))
    assert resource.csp == {"connectDomains": ["https://ok.example.com"]}
    assert resource.refused == [
        "connectDomains: \"'unsafe-eval'\" is not a scheme://host[:port] source",
        "connectDomains: '* ; script-src *' is not a scheme://host[:port] source",
        "connectDomains: 'http://127.0.0.1:8888' points at this machine or a private network"]
    policy = resource.policy
    assert "connect-src https://ok.example.com;" in policy and "default-src 'none'" in policy
    assert "unsafe-eval" not in policy and "*" not in policy and "frame-src 'none'" in policy
    document = resource.document
    assert re.match(r'<!DOCTYPE html><meta http-equiv="Content-Security-Policy" content="default-src', document)
    assert document.index("Content-Security-Policy") < document.index("<script>")
    assert resource.allow == ""  # no permissions asked, none granted


def test_an_app_resource_of_another_type_is_a_protocol_error():
    from mcp.server.mcpserver import MCPServer

    liar = MCPServer("liar")

    @liar.tool(meta={"ui": {"resourceUri": "ui://liar/app.html"}})
    def show() -> str:
        return "shown"

    @liar.resource("ui://liar/app.html", mime_type="text/plain")
    def page() -> str:
        return "<script>not an app</script>"

    server = mcpnb.connect(liar)
    with pytest.raises(mcpnb.ProtocolError, match="not text/html;profile=mcp-app"):
        runtime.run(apps.load_app(server.session, server.tools["show"]))


def test_closing_the_frame_stops_the_app_and_answers_its_question_no(crm):
    """A frame let go (its card dropped, the explorer closed) kept its question open for ever, and the
    app's request waiting on it; closing it answers no and cancels what was in flight."""
    lead = crm.call("list_leads", stage="new", limit=1).structured["leads"][0]["id"]
    frame = crm.app("pipeline_board", per_stage=1).wait()
    posted = []
    frame.send = posted.append  # no page here: what the frame would post into it
    delete = {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
              "params": {"name": "delete_lead", "arguments": {"lead_id": lead}}}
    frame._received(frame, {"kind": "app", "view": "page", "message": delete, "seen": {}}, [])
    wait_for(lambda: frame.asks)
    frame.close()
    wait_for(lambda: not frame._jobs)  # the request waiting on the person ended (it waited for ever)
    assert crm.call("get_lead", lead_id=lead).structured["id"] == lead  # not deleted
    assert not any(m["message"].get("id") == 7 for m in posted)  # nothing posted into a closed frame
