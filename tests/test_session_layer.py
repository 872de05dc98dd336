"""The public layers under Server: the session's keyword-only coroutines, the events store,
the connection options written once (keywords, config entries, repr), and Listing.df."""

from __future__ import annotations

import asyncio
import inspect
import json
import sys

import pytest

import mcpnb
from mcpnb import runtime
from mcpnb.events import Events
from mcpnb.targets import resolve

from .conftest import FAULTY


def test_the_session_offers_every_verb_as_a_keyword_only_coroutine(helpdesk):
    session = helpdesk.session
    for verb in ("listing", "call", "map", "read", "prompt", "complete", "subscribe", "unsubscribe", "set_roots"):
        method = getattr(session, verb)
        assert inspect.iscoroutinefunction(method), verb
        parameters = list(inspect.signature(method).parameters.values())
        assert parameters and all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters), verb
    tools = runtime.run(session.listing(kind="tools"))
    assert tools is helpdesk.tools  # one cache behind both
    result = runtime.run(session.call(tool="get_order", arguments={"order_id": 5}))
    assert result.structured["id"] == 5 and result.structured == helpdesk.call("get_order", order_id=5).structured
    table = runtime.run(session.map(tool="get_order", rows=[{"order_id": 1}, {"order_id": 2}], progress=False))
    assert list(table["id"]) == [1, 2]
    assert "Refund policy" in runtime.run(session.read(uri="helpdesk://policies/refunds")).text
    with pytest.raises(mcpnb.ConfigError, match="Unknown listing 'tool'"):
        runtime.run(session.listing(kind="tool"))  # type: ignore[arg-type]


def test_the_session_is_awaitable_from_another_loop(helpdesk):
    async def cell() -> str:
        rendered = await runtime.arun(helpdesk.session.prompt(name="draft_reply", arguments={"enquiry_id": 3}))
        return rendered.text

    assert "Draft a" in asyncio.run(cell())


def test_events_store_keeps_levels_and_tells_watchers():
    events = Events(log_level="warning", keep=3)
    heard: list[str] = []
    events.watch(heard.append)
    events.watch(heard.append)  # once is enough
    assert not events.log("info", "db", "quiet")
    assert events.log("error", "db", {"rows": 2})
    for n in range(4):
        events.record("roots", f"change {n}")
    assert heard == ["log", "roots", "roots", "roots", "roots"]
    assert list(events.activity()["summary"]) == ["change 1", "change 2", "change 3"]  # the newest kept
    assert events.logs().iloc[0]["message"] == json.dumps({"rows": 2})
    events.unwatch(heard.append)

    def broken(kind: str) -> None:
        raise RuntimeError("a view failed")

    events.watch(broken)
    events.record("roots", "after")  # a broken watcher does not break the store
    assert len(heard) == 5 and events.activity().iloc[-1]["summary"] == "after"


def test_a_server_log_below_the_level_is_not_kept(helpdesk):
    quiet = mcpnb.connect("demo:helpdesk", name="quiet", log_level="error")
    for server in (helpdesk, quiet):
        server.call("update_enquiry", enquiry_id=4, status="open")
    assert len(helpdesk.logs) >= 1 and len(quiet.logs) == 0
    assert helpdesk.events is helpdesk.session.events


def test_connect_options_are_one_validated_value_with_secrets_masked():
    options = mcpnb.ConnectOptions(headers={"Authorization": "Bearer s3cret-token"}, timeout=5, log_level=None)
    assert "s3cret" not in repr(options) and "Authorization" in repr(options) and "timeout=5" in repr(options)
    target = resolve(FAULTY, mcpnb.ConnectOptions(env={"TOKEN": "s3cret-token"}))
    assert "s3cret" not in repr(target) and "TOKEN" in repr(target)
    assert options.changes() == {"headers": {"Authorization": "Bearer s3cret-token"}, "timeout": 5,
                                 "log_level": None}
    with pytest.raises(mcpnb.ConfigError, match="connect_timeout= must be a positive number"):
        mcpnb.ConnectOptions(connect_timeout=0)
    with pytest.raises(mcpnb.ConfigError, match="Unknown elicitation handler 'sometimes'"):
        mcpnb.ConnectOptions(elicitation="sometimes")
    with pytest.raises(TypeError, match="unexpected keyword argument 'timout'; did you mean 'timeout'"):
        mcpnb.connect("demo:helpdesk", timout=5)
    assert mcpnb.servers() == {}
    parameters = inspect.signature(mcpnb.connect).parameters
    assert list(parameters)[:2] == ["target", "name"] and {"log_level", "connect_timeout", "roots"} <= set(parameters)
    assert inspect.signature(mcpnb.aconnect).parameters.keys() == parameters.keys()
    assert "connect_timeout: how long connecting may take" in mcpnb.connect.__doc__


def test_a_config_entry_sets_options_and_keywords_win(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mcp.json").write_text(json.dumps({"mcpServers": {
        "desk": {"command": FAULTY[0], "args": FAULTY[1:], "timeout": 3, "protocol": "2025-11-25",
                 "log_level": "none", "disabled": False},
        "wrong": {"command": FAULTY[0], "timeout": "soon"},
    }}))
    desk = mcpnb.connect("desk")
    assert (desk.timeout, desk.info.era, desk.options.log_level) == (3, "handshake", None)
    with pytest.raises(mcpnb.RequestTimeout, match="within 3 s"):
        desk.call("slow", seconds=10, progress=False)
    patient = mcpnb.connect("desk", name="patient", timeout=30)
    assert patient.timeout == 30 and patient.info.era == "handshake"
    again = mcpnb.connect("desk", name="again", options=patient.options.replace(name=None))
    assert again.timeout == 30
    with pytest.raises(mcpnb.ConfigError, match=r"In server 'wrong' in .*mcp.json: timeout= must be a positive"):
        mcpnb.connect("wrong")


def test_a_listing_is_a_table(helpdesk):
    tools = helpdesk.tools.df
    assert {"name", "title", "parameters", "read_only", "destructive"} <= set(tools.columns)
    assert tools.set_index("name").loc["refund_order", "destructive"] == True  # noqa: E712
    assert list(helpdesk.templates.df.columns[:3]) == ["name", "title", "description"]
    assert "uri_template" in helpdesk.templates.df.columns and "arguments" in helpdesk.prompts.df.columns


def test_a_typed_unset_leaves_a_call_to_the_connections_default(faulty):
    assert repr(mcpnb.UNSET) == "UNSET"
    faulty.timeout = 0.5  # the default applies where a call gives no timeout=
    with pytest.raises(mcpnb.RequestTimeout, match="within 0.5 s"):
        faulty.call("slow", seconds=5)
    assert faulty.call("slow", seconds=1, timeout=None, progress=False).text == "done"  # None: no limit


def test_public_names_are_listed_once():
    import mcpnb.errors

    assert set(mcpnb.errors.__all__) <= set(mcpnb.__all__)
    assert all(hasattr(mcpnb, name) for name in mcpnb.__all__)
    assert len(mcpnb.__all__) == len(set(mcpnb.__all__))
    assert sys.modules["mcpnb.server"].servers is mcpnb.servers
