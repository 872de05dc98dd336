"""The helpdesk demo: deterministic seed, persistent writes, reset, both transports."""

from __future__ import annotations

import hashlib
import subprocess
import sqlite3

import pytest

import mcpnb
from mcpnb.demo import helpdesk as helpdesk_system
from mcpnb.demo.store import open_database

from .conftest import HELPDESK


def fingerprint(path) -> str:
    db = sqlite3.connect(path)
    digest = hashlib.sha256()
    for table in ("venues", "events", "ticket_types", "orders", "enquiries"):
        for row in db.execute(f"SELECT * FROM {table} ORDER BY id"):
            digest.update(repr(tuple(row)).encode())
    db.close()
    return digest.hexdigest()


def test_seed_is_the_same_every_time(tmp_path):
    first, second = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    open_database(helpdesk_system, first).close()
    open_database(helpdesk_system, second).close()
    assert fingerprint(first) == fingerprint(second)
    db = sqlite3.connect(first)
    counts = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
              for t in ("venues", "events", "orders", "enquiries")}
    assert counts == {"venues": 12, "events": 60, "orders": 8000, "enquiries": 2500}


def test_two_processes_seeding_at_once_agree(tmp_path):
    path = tmp_path / "race.sqlite"
    script = ("import sys; from mcpnb.demo import helpdesk; from mcpnb.demo.store import open_database; "
              "print(open_database(helpdesk, __import__('pathlib').Path(sys.argv[1]))"
              ".execute('SELECT COUNT(*) FROM orders').fetchone()[0])")
    runs = [subprocess.Popen([HELPDESK[0], "-c", script, str(path)], stdout=subprocess.PIPE, text=True)
            for _ in range(3)]
    assert [r.communicate(timeout=60)[0].strip() for r in runs] == ["8000"] * 3


def test_writes_persist_and_reset_restores(tmp_path, monkeypatch):
    monkeypatch.setenv("MCPNB_DEMO_DIR", str(tmp_path))
    server = mcpnb.connect("demo:helpdesk", elicitation="accept-defaults")
    opened = server.call("create_enquiry", subject="Lost ticket", body="Help!", customer_email="a@example.com",
                         priority="urgent")
    new_id = opened.structured["id"]
    assert (opened.structured["status"], new_id) == ("open", 2501)
    refunded = server.call("refund_order", order_id=1, reason="customer request")
    assert refunded.structured["status"] == "refunded"
    server.reconnect()  # a new server process, the same database
    assert server.call("get_order", order_id=1).structured["status"] == "refunded"
    assert server.call("list_enquiries", status="open", priority="urgent", limit=1).structured["enquiries"][0][
        "id"] == new_id
    server.close()
    subprocess.run([*HELPDESK, "--reset-only"], check=True, capture_output=True)
    server = mcpnb.connect("demo:helpdesk")
    with pytest.raises(mcpnb.ServerError, match="no enquiry 2501"):
        server.read("helpdesk://enquiries/2501")
    assert server.call("get_order", order_id=1).structured["status"] != "refunded" or \
        server.call("get_order", order_id=1).structured["refund_reason"] != "customer request"


def test_refunds_follow_the_rules(tmp_path, monkeypatch):
    monkeypatch.setenv("MCPNB_DEMO_DIR", str(tmp_path))
    server = mcpnb.connect("demo:helpdesk", elicitation="accept-defaults")
    cancelled = server.call("list_orders", status="cancelled", limit=1).structured["orders"][0]
    refused = server.call("refund_order", order_id=cancelled["id"], reason="try anyway")
    assert refused.is_error and "only paid orders can be refunded" in refused.text
    paid = server.call("list_orders", status="paid", limit=1).structured["orders"][0]["id"]
    once = server.call("refund_order", order_id=paid, reason="duplicate").structured
    twice = server.call("refund_order", order_id=paid, reason="duplicate").structured
    assert once == twice  # idempotent, as its annotation says
    assert server.tools["refund_order"].annotations.idempotent_hint is True


def test_search_filters_and_pages(helpdesk):
    page = helpdesk.call("list_orders", limit=250, offset=0).structured
    assert (len(page["orders"]), page["total"], page["next_offset"]) == (250, 8000, 250)
    last = helpdesk.call("list_orders", limit=250, offset=7900).structured
    assert (len(last["orders"]), last["next_offset"]) == (100, None)
    lisbon = helpdesk.call("search_events", city="lisbon", limit=500).structured
    assert lisbon["total"] == len(lisbon["events"]) > 0 and {e["city"] for e in lisbon["events"]} == {"Lisbon"}
    dates = [e["starts_at"] for e in helpdesk.call("search_events", limit=500).structured["events"]]
    assert dates == sorted(dates)


def test_sales_report_adds_up(helpdesk):
    by_city = helpdesk.call("sales_report", group_by="city").structured["rows"]
    by_category = helpdesk.call("sales_report", group_by="category").structured["rows"]
    assert sum(r["orders"] for r in by_city) == sum(r["orders"] for r in by_category) == 8000
    assert round(sum(r["revenue"] for r in by_city), 2) == round(sum(r["revenue"] for r in by_category), 2)


def test_command_line_help():
    shown = subprocess.run([*HELPDESK[:3], "--help"], capture_output=True, text=True)
    assert shown.returncode == 0 and "--http PORT" in shown.stdout and "--reset" in shown.stdout
    wrong = subprocess.run([*HELPDESK[:3], "nonsense"], capture_output=True, text=True)
    assert wrong.returncode == 2 and "invalid choice: 'nonsense'" in wrong.stderr
