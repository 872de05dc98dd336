"""%mcp and %%mcp in a real kernel: every subcommand, help, completion, errors."""

from __future__ import annotations

import sys

import pytest

from .conftest import FAULTY
from .test_kernel import Kernel


@pytest.fixture
def kernel():
    k = Kernel()
    k.run("%load_ext mcpnb")
    yield k
    if k.manager.is_alive():
        k.stop(now=True)


def test_connect_call_and_store_results(kernel):
    assert "<Server 'helpdesk' stdio: python -m mcpnb.demo helpdesk" in kernel.run("%mcp connect helpdesk demo:helpdesk")
    kernel.run("%mcp call get_order order_id=5 -o first")
    assert kernel.run("first.structured['id']") == "5"
    kernel.run("n = 7\nsecond = %mcp call helpdesk.get_order order_id=$n")
    assert kernel.run("second.structured['id']") == "7"
    kernel.run("third = %mcp call get_order order_id={n + 1}")
    assert kernel.run("third.structured['id']") == "8"
    kernel.run('%%mcp call search_events -o sport\n{"category": "sport", "limit": 3, "query": "Cup"}')
    assert kernel.run("all(e['category'] == 'sport' and 'Cup' in e['title'] for e in sport.structured['events'])"
                      " and 0 < len(sport.structured['events']) <= 3") == "True"
    kernel.run("%mcp -o policy read helpdesk://policies/refunds")
    assert kernel.run("policy.text.splitlines()[0]") == "'# Refund policy'"
    kernel.run("draft = %mcp prompt draft_reply enquiry_id=3 tone=brief")
    assert "Draft a brief reply" in kernel.run("draft.text")
    kernel.run("wire = %mcp trace helpdesk")
    assert kernel.run("wire['method'].iloc[0]") == "'server/discover'"
    assert kernel.run("int((wire['method'] == 'prompts/get').sum())") == "2"  # the request and its response


def test_listings_servers_and_disconnect(kernel):
    kernel.run("%mcp connect helpdesk demo:helpdesk")
    kernel.run(f"%mcp connect faulty -- {sys.executable} {FAULTY[1]}")
    kernel.run("open_now = %mcp servers")
    assert kernel.run("len(open_now)") == "2"
    kernel.run("tools = %mcp tools helpdesk")
    assert kernel.run("refund = tools.set_index('name').loc['refund_order']\n"
                      "(bool(refund['destructive']), refund['parameters'])") == "(True, 'order_id, reason')"
    kernel.run("templates = %mcp templates helpdesk\nprompts = %mcp prompts helpdesk\n"
               "resources = %mcp resources helpdesk")
    assert kernel.run("templates['uri_template'].tolist()[0]") == "'helpdesk://events/{event_id}'"
    assert kernel.run("prompts['arguments'].tolist()") == "['enquiry_id', 'enquiry_id, tone?']"
    assert kernel.run("resources['uri'].tolist()[0]") == "'helpdesk://policies/refunds'"
    assert kernel.run("%mcp call faulty.echo text='hello world'").endswith("'hello world'>")
    kernel.run("%mcp disconnect faulty")
    kernel.run("open_now = %mcp servers")
    assert kernel.run("open_now['name'].tolist()") == "['helpdesk']"
    kernel.run("%mcp disconnect --all")
    kernel.run("open_now = %mcp servers")
    assert kernel.run("len(open_now)") == "0"


def test_third_party_server_through_magics(kernel):
    kernel.run(f"%mcp connect time --timeout 30 -- {sys.executable} -m mcp_server_time --local-timezone UTC")
    kernel.run("tokyo = %mcp call time.convert_time source_timezone=UTC time=12:00 target_timezone=Asia/Tokyo")
    shown = kernel.run("tokyo.structured['target']['datetime'][-15:]")
    assert shown == "'T21:00:00+09:00'"


def test_help(kernel):
    msg_id = kernel.start("%mcp?")
    reply = kernel.reply(msg_id)
    shown = reply["payload"][0]["data"]["text/plain"]
    for expected in ("%mcp connect NAME [options] -- COMMAND ARGS...", "%%mcp call [NAME.]TOOL",
                     "%mcp disconnect NAME | --all", "-o VAR, --output VAR"):
        assert expected in shown


def test_a_failed_magic_is_one_message_and_a_hint(kernel):
    kernel.run("%mcp connect helpdesk demo:helpdesk")
    for line, ename, first in [
        ("%mcp call get_ordr order_id=5", "MagicFailed", "mcp: Server 'helpdesk' has no tool 'get_ordr'."),
        ("%mcp call get_order order_id=x", "MagicFailed", "mcp: Invalid arguments for tool 'get_order':"),
        ("%mcp call get_order 5", "MagicFailed", "mcp: '5' is not key=value."),
        ("%mcp connect broken -- nonexistent-server", "MagicFailed", "mcp: Could not start server 'broken'"),
        ("%mcp frobnicate", "MagicFailed", "mcp: Unknown command 'frobnicate'."),
    ]:
        reply = kernel.reply(kernel.start(line))
        assert (reply["status"], reply["ename"]) == ("error", ename), line
        lines = [text.replace("\x1b[31m", "").replace("\x1b[0m", "") for text in reply["traceback"]]
        assert lines[0].startswith(first), lines
        assert any(text.startswith("Hint:") for text in lines) and len(lines) <= 4
    kernel.run("%config MCPMagics.show_tracebacks = True")
    assert kernel.reply(kernel.start("%mcp call get_ordr"))["ename"] == "NotFound"


def test_tab_completion(kernel):
    kernel.run("%mcp connect helpdesk demo:helpdesk")

    def complete(code: str) -> list[str]:
        msg_id = kernel.client.complete(code, len(code))
        return kernel.reply(msg_id)["matches"]

    assert "call" in complete("%mcp ca")
    assert {"get_order", "helpdesk.get_order"} <= set(complete("%mcp call get_or") + complete("%mcp call helpdesk.get_or"))
    assert "order_id=" in complete("%mcp call get_order ord")
    assert "limit=" in complete("%mcp call helpdesk.list_orders status=paid lim")
    assert "helpdesk" in complete("%mcp tools he")


def test_connect_every_server_in_a_config_file(kernel, tmp_path):
    import json

    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {
        "desk": {"command": sys.executable, "args": ["-m", "mcpnb.demo", "helpdesk"],
                 "env": {"MCPNB_DEMO_DIR": str(tmp_path)}},
        "faulty": {"command": FAULTY[0], "args": FAULTY[1:]},
    }}))
    kernel.run(f"%mcp connect --config {config}")
    kernel.run("open_now = %mcp servers")
    assert kernel.run("sorted(open_now['name'])") == "['desk', 'faulty']"
    kernel.run("answer = %mcp call faulty.echo text=configured")
    assert kernel.run("answer.text") == "'configured'"


def test_connect_takes_every_option_as_a_flag_and_each_command_has_help(kernel):
    kernel.run("%mcp connect desk --timeout 20 demo:helpdesk --connect-timeout 30 --log-level warning "
               "--protocol 2025-11-25 --elicitation decline")
    shown = kernel.run("import mcpnb\ndesk = mcpnb.servers()['desk']\n"
                       "(desk.timeout, desk.options.connect_timeout, desk.options.log_level, desk.info.era, "
                       "desk.options.elicitation)")
    assert shown == "(20.0, 30.0, 'warning', 'handshake', 'decline')"
    assert kernel.run("%mcp connect quiet demo:helpdesk --log-level none --roots none\n"
                      "mcpnb.servers()['quiet'].options.log_level, mcpnb.servers()['quiet'].roots") == "(None, [])"
    text = kernel.run("%mcp connect --help")
    for expected in ("usage: %mcp connect", "--connect-timeout SECONDS", "--log-level", "--header KEY=VALUE"):
        assert expected in text
    assert "usage: %mcp call" in kernel.run("%mcp call -h")
    reply = kernel.reply(kernel.start("%mcp connect x demo:helpdesk --log-level loud"))
    assert reply["ename"] == "MagicFailed" and "invalid choice: 'loud'" in reply["traceback"][0]

    def complete(code: str) -> list[str]:
        return kernel.reply(kernel.client.complete(code, len(code)))["matches"]

    assert "--connect-timeout" in complete("%mcp connect x --conn")
    assert "warning" in complete("%mcp connect x --log-level war")
    assert "--all" in complete("%mcp disconnect --a")
    assert {"desk", "quiet"} <= set(complete("%mcp trace "))


def test_connect_with_auth_oauth_and_logout(kernel, tmp_path):
    """%mcp connect ... --auth oauth in a blocked cell: the link shows, the browser (a script named by
    $BROWSER that signs in and follows the redirect, as a browser would) comes back to the listener."""
    from mcpnb.demo.authserver import running

    script = tmp_path / "browser.py"
    script.write_text("import sys, httpx2\nfrom mcpnb.demo.authserver import sign_in\n"
                      "httpx2.get(sign_in(sys.argv[1]))\n")
    with running("helpdesk") as demo:
        kernel.run(f"import os, sys\nos.environ['BROWSER'] = sys.executable + ' {script} %s'\n"
                   f"os.environ['MCPNB_TOKENS_DIR'] = {str(tmp_path / 'tokens')!r}")
        shown = kernel.run(f"%mcp connect desk {demo.credentials.mcp_url} --auth oauth", timeout=90)
        assert "<Server 'desk' Streamable HTTP" in shown
        assert kernel.run("import mcpnb\nprint(mcpnb.servers()['desk'].auth.method)") == "OAuth authorization code (PKCE)"
        assert "--auth {oauth,none}" in kernel.run("%mcp connect --help")
        signed_out = kernel.run("%mcp logout desk")
        assert "forgot the sign-in (file)" in signed_out and "1 open connection(s)" in signed_out
        assert not list((tmp_path / "tokens").glob("*.json"))


def test_call_can_return_the_table(kernel):
    """jupysql users expect a DataFrame from the magic: --df, or %config MCPMagics.autodf = True."""
    kernel.run("%mcp connect helpdesk demo:helpdesk")
    kernel.run("orders = %mcp call list_orders status=paid limit=3 --df")
    assert kernel.run("type(orders).__name__, len(orders)") == "('DataFrame', 3)"
    assert kernel.run("_r = %mcp call list_orders status=paid limit=2\ntype(_r).__name__") == "'ToolResult'"
    kernel.run("%config MCPMagics.autodf = True")
    assert kernel.run("_t = %mcp call list_orders status=paid limit=2\ntype(_t).__name__, len(_t)") == \
        "('DataFrame', 2)"
    failed = kernel.client.execute("%mcp call get_order order_id=999999999")  # the tool reports an error
    content = kernel.reply(failed)
    assert content["status"] == "error" and content["ename"] == "MagicFailed"
    assert "failed" in content["evalue"] and "Traceback" not in content["evalue"]


def test_an_interrupted_magic_is_one_line(kernel):
    """It printed a 40-line KeyboardInterrupt traceback; now the line and what happened."""
    import time

    kernel.run(f"%mcp connect faulty -- {' '.join(FAULTY)}")
    msg_id = kernel.start("%mcp call faulty.slow seconds=60")
    time.sleep(1.5)
    kernel.manager.interrupt_kernel()
    content = kernel.reply(msg_id, timeout=15)
    assert content["ename"] == "Interrupted" and len(content["traceback"]) <= 3, content["traceback"]
    assert "cancelled on the server" in content["traceback"][-1]
    assert kernel.run("_r = %mcp call faulty.echo text=alive\n_r.text") == "'alive'"  # the connection still works


def test_completions_say_what_each_candidate_is(kernel):
    """JupyterLab showed <unknown> beside every candidate; now the kind, and an argument's type."""
    kernel.run("%mcp connect helpdesk demo:helpdesk")

    def typed(code: str) -> dict[str, str]:
        reply = kernel.reply(kernel.client.complete(code, len(code)))
        kinds = reply["metadata"].get("_jupyter_types_experimental", [])
        return {item["text"]: item["type"] for item in kinds}

    assert typed("%mcp call get_order ") == {"order_id=": "integer, required"}
    assert typed("%mcp call list_orders sta")["status="] == '"paid" | "refunded" | "cancelled" | null'
    assert typed("%mcp co") == {"connect": "command"}
    assert typed("%mcp call helpdesk.get_o") == {"helpdesk.get_order": "tool"}
