"""Answering the server: elicitation, sampling and roots, in both eras; subscriptions."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import mcpnb
from mcpnb.errors import ConfigError, ServerError
from mcpnb.handlers import ElicitationRequest, SamplingRequest, ask_elicitation_on_stdin, ask_sampling_on_stdin

ERAS = ["2025-11-25", "2026-07-28"]


def a_paid_order(server: mcpnb.Server) -> int:
    return server.call("list_orders", status="paid", limit=1).data["orders"][0]["id"]


@pytest.mark.parametrize("protocol", ERAS)
def test_a_callable_answers_the_refund_confirmation(demo_data, protocol):
    asked: list[ElicitationRequest] = []

    def answer(request: ElicitationRequest) -> dict:
        asked.append(request)
        return {"confirm": True, "reason_for_customer": "sorry"}

    server = mcpnb.connect("demo:helpdesk", protocol=protocol, elicitation=answer)
    order = a_paid_order(server)
    result = server.call("refund_order", order_id=order, reason="double booking")
    assert result.structured["status"] == "refunded"
    assert len(asked) == 1 and f"Refund order {order}" in asked[0].message
    assert asked[0].fields["confirm"]["type"] == "boolean" and asked[0].defaults()["confirm"] is True
    kinds = server.activity["summary"].tolist()
    assert any("server asked: Refund order" in s for s in kinds) and "answered: accept" in kinds


@pytest.mark.parametrize("protocol", ERAS)
@pytest.mark.parametrize("handler", ["decline", lambda request: None, lambda request: "cancel"])
def test_declining_leaves_the_order_paid(demo_data, protocol, handler):
    server = mcpnb.connect("demo:helpdesk", protocol=protocol, elicitation=handler)
    order = a_paid_order(server)
    result = server.call("refund_order", order_id=order, reason="changed my mind")
    assert result.is_error and "was not refunded" in result.text
    assert server.call("get_order", order_id=order).structured["status"] == "paid"


def test_accept_defaults_fills_from_the_schema_and_declines_without_them():
    request = ElicitationRequest("s", "pick", schema={"properties": {"a": {"type": "string", "default": "x"},
                                                                     "b": {"type": "integer"}}, "required": ["b"]})
    assert request.defaults() == {"a": "x"}


@pytest.mark.parametrize("protocol", ERAS)
def test_sampling_callable_and_decline(demo_data, protocol):
    seen: list[SamplingRequest] = []

    def model(request: SamplingRequest) -> dict:
        seen.append(request)
        return {"text": "Customer wants a refund.", "model": "test-model"}

    server = mcpnb.connect("demo:helpdesk", protocol=protocol, sampling=model)
    summary = server.call("summarise_enquiry", enquiry_id=2).structured
    assert summary == {"enquiry_id": 2, "summary": "Customer wants a refund.", "by": "test-model"}
    assert seen[0].max_tokens == 120 and "Summarise this customer enquiry" in seen[0].messages[0]["text"]
    assert seen[0].system_prompt and seen[0].model_preferences["speed_priority"] == 0.8

    declined = mcpnb.connect("demo:helpdesk", protocol=protocol, sampling="decline", name="no")
    with pytest.raises(ServerError, match="declined the sampling request"):  # the server passes it on
        declined.call("summarise_enquiry", enquiry_id=2)
    offered_none = mcpnb.connect("demo:helpdesk", protocol=protocol, sampling=None, name="none")
    assert offered_none.call("summarise_enquiry", enquiry_id=2).structured["by"] == "first sentence"


@pytest.mark.parametrize("protocol", ERAS)
def test_roots_default_settable_and_used(demo_data, protocol, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    server = mcpnb.connect("demo:helpdesk", protocol=protocol)
    assert server.roots == [tmp_path.resolve().as_uri()]
    exported = server.call("export_orders", event_id=3, filename="event3.csv").structured
    assert Path(exported["path"]) == tmp_path.resolve() / "event3.csv" and exported["rows"] > 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    server.roots = [elsewhere]
    assert server.call("export_orders", event_id=3).structured["path"] == str(elsewhere.resolve() / "orders.csv")
    if protocol == "2025-11-25":
        assert any(m == "notifications/roots/list_changed" for m in server.trace["method"])
    none = mcpnb.connect("demo:helpdesk", protocol=protocol, roots=None, name="noroots")
    assert "offers no file:// roots" in none.call("export_orders", event_id=3).text
    with pytest.raises(ConfigError, match="not offered"):
        none.roots = [tmp_path]


def test_bad_handlers_are_refused_before_connecting():
    with pytest.raises(ConfigError, match="Unknown elicitation handler"):
        mcpnb.connect("demo:helpdesk", elicitation="yes please")
    with pytest.raises(ConfigError, match="file:// URI or a path"):
        mcpnb.connect("demo:helpdesk", roots="https://example.com/x")


@pytest.mark.parametrize("protocol", ERAS)
def test_subscriptions_call_back_and_stop(demo_data, protocol):
    server = mcpnb.connect("demo:helpdesk", protocol=protocol)
    updates: list[str] = []
    server.subscribe("helpdesk://enquiries/4", callback=updates.append)
    assert server.subscriptions == ["helpdesk://enquiries/4"]
    server.call("update_enquiry", enquiry_id=4, priority="urgent")
    server.call("update_enquiry", enquiry_id=5, priority="urgent")  # not followed
    deadline = time.monotonic() + 5
    while not updates and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    assert updates == ["helpdesk://enquiries/4"]
    assert "helpdesk://enquiries/4" in server.activity.query("kind == 'resource updated'")["summary"].tolist()
    server.unsubscribe("helpdesk://enquiries/4")
    server.call("update_enquiry", enquiry_id=4, priority="low")
    time.sleep(0.5)
    assert updates == ["helpdesk://enquiries/4"] and server.subscriptions == []


def test_stdin_questions_read_typed_answers():
    typed = iter(["x", "a", "", "abc", "42", "yes"])
    request = ElicitationRequest("helpdesk", "Details?", schema={
        "properties": {"note": {"type": "string", "default": "n/a"}, "count": {"type": "integer", "minimum": 1},
                       "urgent": {"type": "boolean"}}, "required": ["count", "urgent"]})
    assert ask_elicitation_on_stdin(request, read=lambda _: next(typed)) == {"note": "n/a", "count": 42,
                                                                               "urgent": True}
    url = ElicitationRequest("s", "Sign in", mode="url", url="https://example.com/login")
    assert ask_elicitation_on_stdin(url, read=lambda _: "n") == "decline"
    sampling = SamplingRequest("s", [{"role": "user", "text": "hi"}], max_tokens=10)
    assert ask_sampling_on_stdin(sampling, "proposed", read=lambda _: "") == "proposed"
    assert ask_sampling_on_stdin(sampling, read=lambda _: "") is None
