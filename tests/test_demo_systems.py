"""The four demo systems answer every feature a demo system promises, in both eras.

One table says, per system, which tool, resource or prompt shows each feature;
the tests walk it the way a notebook would. Each test gets its own data folder,
so writes in one never surprise another.
"""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import time

import pytest

import mcpnb
from mcpnb.demo import system
from mcpnb.demo.store import open_database

from .conftest import http_server, wait_for

ERAS = ["2025-11-25", "2026-07-28"]

SYSTEMS = {
    "helpdesk": {
        "tables": {"venues": 12, "events": 60, "orders": 8000, "enquiries": 2500},
        "read": ("list_orders", {"status": "paid", "limit": 5}, "orders"),
        "report": ("sales_report", {"group_by": "month"}, "sales report"),
        "summary": ("summarise_enquiry", {"enquiry_id": 7}, "summary"),
        "destroy": ("refund_order", {"order_id": 2, "reason": "customer request"}, "refund_reason"),
        "template": ("helpdesk://orders/{order_id}", {"order_id": 5}, '"customer_name"'),
        "prompt": ("draft_reply", {"enquiry_id": "7", "tone": "formal"}, "formal reply"),
        "complete": ("draft_reply", "tone", "f", ["friendly", "formal"]),
        "subscribe": ("helpdesk://enquiries/6", "update_enquiry", {"enquiry_id": 6, "assignee": "elena"}),
        "add": ("create_enquiry", {"subject": "Lost ticket", "body": "Help!", "customer_email": "a@example.com"},
                None, "helpdesk://enquiries/{id}"),
    },
    "cms": {
        "tables": {"sections": 24, "pages": 3200, "versions": 9170, "media": 3302},
        "read": ("search_pages", {"section": "/docs", "status": "published", "limit": 5}, "pages"),
        "report": ("freshness_audit", {"stale_after_days": 400}, "freshness audit"),
        "summary": ("summarise_page", {"page_id": 7}, "summary"),
        "destroy": ("delete_page", {"page_id": 9}, "versions_removed"),
        "template": ("cms://pages/{page_id}", {"page_id": 3}, "# "),
        "prompt": ("rewrite", {"page_id": "3", "tone": "formal"}, "formal tone"),
        "complete": ("rewrite", "tone", "f", ["formal", "friendly"]),
        "subscribe": ("cms://pages/5", "save_page", {"page_id": 5, "body": "# New\n\nFresh words.", "note": "test"}),
        "add": ("create_page", {"section": "/blog/engineering", "title": "Hello from a test", "body": "# Hi"},
                "set_status", "cms://pages/{id}"),
    },
    "timesheet": {
        "tables": {"customers": 40, "projects": 121, "people": 15, "entries": 13109},
        "read": ("list_entries", {"login": "amira", "date_from": "2026-09-01", "limit": 5}, "entries"),
        "report": ("hours_report", {"group_by": "customer"}, "hours report"),
        "summary": ("summarise_week", {"login": "dev", "week": "2026-W40"}, "summary"),
        "destroy": ("delete_entries", {"entry_ids": [13000, 13001]}, "deleted"),
        "template": ("timesheet://people/{login}/weeks/{week}", {"login": "amira", "week": "2026-W40"}, "amira"),
        "prompt": ("status_report", {"login": "amira", "week": "2026-W40"}, "status report"),
        "complete": ("status_report", "login", "b", ["bogdan"]),
        "subscribe": ("timesheet://people/hana/weeks/2026-W45", "log_time",
                      {"login": "hana", "project_id": 121, "activity": "Training", "day": "2026-11-02", "hours": 2,
                       "description": "course on SQL"}),
        "add": ("create_project", {"customer_id": 3, "name": "Notebook pilot", "budget_hours": 40}, None,
                "timesheet://projects/{id}"),
    },
    "crm": {
        "tables": {"organisations": 700, "contacts": 3000, "leads": 4500, "activities": 15656},
        "read": ("list_leads", {"stage": "negotiation", "limit": 5}, "leads"),
        "report": ("pipeline_report", {}, "pipeline report"),
        "summary": ("account_brief", {"organisation_id": 12}, "brief"),
        "destroy": ("erase_contact", {"contact_id": 44}, "activities_anonymised"),
        "template": ("crm://leads/{lead_id}", {"lead_id": 10}, '"history"'),
        "prompt": ("follow_up", {"lead_id": "10", "tone": "brief"}, "brief follow-up"),
        "complete": ("follow_up", "tone", "f", ["friendly", "formal"]),
        "subscribe": ("crm://leads/15", "move_lead", {"lead_id": 15, "stage": "won"}),
        "add": ("create_contact", {"name": "Ada Test", "email": "ada@example.org"}, None, "crm://contacts/{id}"),
    },
}
NAMES = sorted(SYSTEMS)


@pytest.fixture
def data(tmp_path, monkeypatch):
    """A data folder of this test's own (the server processes inherit it)."""
    monkeypatch.setenv("MCPNB_DEMO_DIR", str(tmp_path))
    return tmp_path


def fingerprint(path, tables) -> str:
    db = sqlite3.connect(path)
    digest = hashlib.sha256()
    for table in tables:
        for row in db.execute(f"SELECT * FROM {table} ORDER BY rowid"):
            digest.update(repr(tuple(row)).encode())
    db.close()
    return digest.hexdigest()


@pytest.mark.parametrize("name", NAMES)
def test_the_seed_is_deterministic_and_large_enough(name, tmp_path):
    module = system(name)
    first, second = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    open_database(module, first).close()
    open_database(module, second).close()
    tables = [r[0] for r in sqlite3.connect(first).execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert fingerprint(first, tables) == fingerprint(second, tables)
    db = sqlite3.connect(first)
    counts = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in SYSTEMS[name]["tables"]}
    assert counts == SYSTEMS[name]["tables"]


@pytest.mark.parametrize("name", NAMES)
def test_tools_are_described_and_annotated_honestly(name, data):
    server = mcpnb.connect(f"demo:{name}")
    tools = server.tools
    assert len(tools) >= 6
    for tool in tools:
        assert tool.title and tool.description and tool.output_schema, tool.name
        hints = tool.annotations
        assert hints is not None and hints.read_only_hint is not None, tool.name
    destroy = tools[SYSTEMS[name]["destroy"][0]].annotations
    assert destroy.destructive_hint and not destroy.read_only_hint
    read = tools[SYSTEMS[name]["read"][0]].annotations
    assert read.read_only_hint and read.idempotent_hint


@pytest.mark.parametrize("protocol", ERAS)
@pytest.mark.parametrize("name", NAMES)
def test_every_feature_in_both_eras(name, protocol, data):
    probes = SYSTEMS[name]
    asked: list = []

    def sample(request):
        asked.append(request)
        return {"text": "A short summary from the notebook.", "model": "by-hand"}

    server = mcpnb.connect(f"demo:{name}", protocol=protocol, elicitation="accept-defaults", sampling=sample)

    tool, arguments, key = probes["read"]  # structured output, offset paging, a DataFrame
    result = server.call(tool, **arguments)
    assert len(result.structured[key]) == 5 and result.structured["total"] > 5
    assert result.structured["next_offset"] == 5 and len(result.df) == 5

    assert len(server.resources) > 100  # resources/list comes in pages of 100: every page fetched
    uris = [str(r.uri) for r in server.resources]
    assert len(uris) == len(set(uris))

    template, values, expected = probes["template"]  # a template, expanded and read
    assert expected in server.read(template.format(**values)).text

    prompt, prompt_args, words = probes["prompt"]
    assert words in server.prompt(prompt, **prompt_args).text
    ref, argument, typed, wanted = probes["complete"]
    assert sorted(server.complete(ref, argument, typed).values) == sorted(wanted)

    tool, arguments, field = probes["summary"]  # sampling: the server asks the client's model
    summary = server.call(tool, **arguments).structured
    assert summary[field] == "A short summary from the notebook." and summary["by"] == "by-hand"
    assert asked and asked[-1].messages[0]["text"]

    tool, arguments, field = probes["destroy"]  # elicitation confirms; accept-defaults says yes
    assert server.call(tool, **arguments).structured[field] is not None
    assert "elicitation" in set(server.activity["kind"])

    tool, arguments, logged = probes["report"]  # progress and a log line at the end
    seen = []
    server.call(tool, **arguments, progress=lambda done, total, message: seen.append((done, total)))
    assert len(seen) >= 5 and seen[-1][0] == seen[-1][1]
    wait_for(lambda: logged in " ".join(server.logs["message"]))


@pytest.mark.parametrize("name", NAMES)
def test_declining_a_confirmation_changes_nothing(name, data):
    server = mcpnb.connect(f"demo:{name}", elicitation="decline")
    tool, arguments, _ = SYSTEMS[name]["destroy"]
    result = server.call(tool, **arguments)
    assert result.is_error and "decline" in result.text
    again = mcpnb.connect(f"demo:{name}", name="again", elicitation="accept-defaults")
    assert not again.call(tool, **arguments).is_error  # it was still there to destroy


@pytest.mark.parametrize("name", NAMES)
def test_a_client_that_cannot_be_asked_is_not_asked(name, data):
    """Without the elicitation capability a server must not ask: these go ahead (the
    destructive annotation is the warning), and a tool error would say otherwise."""
    server = mcpnb.connect(f"demo:{name}", elicitation=None)
    tool, arguments, field = SYSTEMS[name]["destroy"]
    result = server.call(tool, **arguments)
    assert not result.is_error and result.structured[field] is not None, result.text
    assert "elicitation" not in set(server.activity["kind"])


@pytest.mark.parametrize("name", NAMES)
def test_cancelling_a_report_stops_it_on_the_server(name, data):
    server = mcpnb.connect(f"demo:{name}")
    tool, arguments, logged = SYSTEMS[name]["report"]
    with pytest.raises(mcpnb.RequestTimeout):
        server.call(tool, **arguments, timeout=0.2)
    time.sleep(2.0)  # longer than the whole report takes
    assert logged not in " ".join(server.logs["message"])  # it never finished
    server.call(tool, **arguments)
    wait_for(lambda: logged in " ".join(server.logs["message"]))


@pytest.mark.parametrize("protocol", ERAS)
@pytest.mark.parametrize("name", NAMES)
def test_subscriptions_and_list_changes(name, protocol, data):
    probes = SYSTEMS[name]
    server = mcpnb.connect(f"demo:{name}", protocol=protocol, elicitation="accept-defaults")
    uri, tool, arguments = probes["subscribe"]
    updates: list[str] = []
    server.subscribe(uri, updates.append)
    server.call(tool, **arguments)
    wait_for(lambda: updates == [uri])

    before = len(server.resources)
    tool, arguments, then, pattern = probes["add"]
    created = server.call(tool, **arguments).structured
    if then:  # a cms page is listed once published
        server.call(then, page_id=created["id"], status="published")
    wanted = pattern.format(id=created["id"])
    wait_for(lambda: wanted in [str(r.uri) for r in server.resources])
    assert len(server.resources) == before + 1


@pytest.mark.parametrize("name", NAMES)
def test_writes_persist_over_http_and_reset_restores(name, data):
    with http_server([sys.executable, "-m", "mcpnb.demo", name]) as (url, _process):
        server = mcpnb.connect(url, name=name, elicitation="accept-defaults")
        tool, arguments, _, pattern = SYSTEMS[name]["add"]
        created = server.call(tool, **arguments).structured["id"]
        server.close()
    again = mcpnb.connect(f"demo:{name}", name="stdio")
    template = pattern.replace("{id}", str(created))
    assert again.read(template).text  # written over HTTP, read over stdio by a new process
    again.close()
    subprocess.run([sys.executable, "-m", "mcpnb.demo", name, "--reset-only"], check=True, capture_output=True)
    fresh = mcpnb.connect(f"demo:{name}", name="fresh")
    with pytest.raises(mcpnb.MCPNBError):
        fresh.read(template)


def test_reset_from_python_restores_the_seed(data):
    from mcpnb.demo import reset

    server = mcpnb.connect("demo:crm")
    seeded = server.call("get_lead", lead_id=1).structured
    moved = "lost" if seeded["stage"] != "lost" else "won"
    assert server.call("move_lead", lead_id=1, stage=moved).structured["stage"] == moved
    server.close()  # reset before connecting again: an open server keeps its file
    reset("crm")
    again = mcpnb.connect("demo:crm", name="again")
    assert again.call("get_lead", lead_id=1).structured == seeded


def test_a_cursor_the_server_did_not_make_is_refused(data):
    """The SDK's own client, asking for pages with made-up cursors: invalid params, not a wrong page."""
    import asyncio

    from mcp.client.client import Client
    from mcp.client.stdio import StdioServerParameters
    from mcp.shared.exceptions import MCPError

    async def ask() -> list[int]:
        async with Client(StdioServerParameters(command=sys.executable, args=["-m", "mcpnb.demo", "crm"])) as client:
            first = await client.list_resources()
            assert len(first.resources) == 100 and first.next_cursor
            codes = []
            for made_up in ("bm90LWEtY3Vyc29y", "b2Zmc2V0Oi01"):  # "not-a-cursor", "offset:-5"
                with pytest.raises(MCPError) as refused:
                    await client.list_resources(cursor=made_up)
                codes.append(refused.value.code)
            return codes

    assert asyncio.run(ask()) == [-32602, -32602]


def test_id_completion_stops_at_100_and_says_there_is_more(data):
    timesheet = mcpnb.connect("demo:timesheet")
    projects = timesheet.complete("timesheet://projects/{project_id}", "project_id", "")  # 121 projects
    assert len(projects.values) == 100 and projects.has_more
    assert timesheet.complete("timesheet://projects/{project_id}", "project_id", "12").values == ["12", "120", "121"]


@pytest.mark.parametrize("name", NAMES)
def test_a_report_can_be_slowed_down_to_try_cancel_by_hand(name, data):
    """The reports finished in 0.3-1.2 s, before a person could press Cancel; delay= holds each step."""
    server = mcpnb.connect(f"demo:{name}")
    tool, arguments, logged = SYSTEMS[name]["report"]
    delay = server.tools[tool].input_schema["properties"]["delay"]
    assert delay["minimum"] == 0 and delay["maximum"] == 10 and "Cancel" in delay["description"]
    steps = []
    with pytest.raises(mcpnb.RequestTimeout):  # 1.5 s a step: on its first steps when the limit ends it
        server.call(tool, **arguments, delay=1.5, timeout=2,
                    progress=lambda done, total, message: steps.append(done))
    assert 1 <= len(steps) <= 2
    assert logged not in " ".join(server.logs["message"])
