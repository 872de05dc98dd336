"""What servers report while they work: log messages and progress, in both eras."""

from __future__ import annotations

import pytest

import mcpnb


@pytest.fixture
def own_data(tmp_path, monkeypatch):
    monkeypatch.setenv("MCPNB_DEMO_DIR", str(tmp_path))  # these tests write


@pytest.mark.parametrize("protocol", [None, "2025-11-25"])
def test_log_messages_arrive(own_data, protocol):
    server = mcpnb.connect("demo:helpdesk", protocol=protocol, elicitation="accept-defaults")
    opened = server.call("create_enquiry", subject="Lost ticket", body="Help", customer_email="a@example.com")
    logs = server.logs
    assert logs[["level", "logger"]].values.tolist() == [["info", "helpdesk"]]
    assert logs["message"][0] == f"enquiry {opened.structured['id']} opened (normal)"
    server.call("refund_order", order_id=opened.structured["id"] % 7000 + 1, reason="duplicate charge")
    assert server.logs["level"].tolist()[-1] in ("warning", "info")


@pytest.mark.parametrize("protocol", [None, "2025-11-25"])
def test_log_level_filters_and_none_asks_for_none(own_data, protocol):
    quiet = mcpnb.connect("demo:helpdesk", protocol=protocol, log_level="warning", name="quiet")
    quiet.call("create_enquiry", subject="Lost ticket", body="Help", customer_email="a@example.com")
    assert quiet.logs.empty  # an info message, below the level asked for
    silent = mcpnb.connect("demo:helpdesk", protocol=protocol, log_level=None, name="silent")
    silent.call("create_enquiry", subject="Lost ticket", body="Help", customer_email="a@example.com")
    assert silent.logs.empty
    with pytest.raises(mcpnb.ConfigError, match="Unknown log_level 'loud'"):
        mcpnb.connect("demo:helpdesk", log_level="loud")


@pytest.mark.parametrize("protocol", [None, "2025-11-25"])
def test_progress_reaches_a_callable(helpdesk, protocol):
    server = mcpnb.connect("demo:helpdesk", protocol=protocol, name="p")
    seen = []
    server.call("sales_report", group_by="city", progress=lambda done, total, message: seen.append((done, total)))
    assert seen == [(float(i), 12.0) for i in range(1, 13)]


def test_progress_bar_shows_and_can_be_turned_off(helpdesk, capsys):
    helpdesk.call("sales_report", group_by="category")
    shown = capsys.readouterr().err
    assert "helpdesk.sales_report: 100%" in shown and "category 5/5" in shown
    helpdesk.call("sales_report", group_by="category", progress=False)
    helpdesk.call("get_order", order_id=1)  # no progress reported: no bar
    assert capsys.readouterr().err == ""
