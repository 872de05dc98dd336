"""Server.map: many calls at once, one table back, failures kept, interrupt honoured."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import TypedDict

import pandas as pd
import pytest

import mcpnb



def test_rows_come_back_in_input_order_with_errors_kept(helpdesk):
    frame = helpdesk.map("get_order", [{"order_id": i} for i in (5, 99999, 7, "x", 12)], progress=False)
    assert frame["order_id"].tolist() == [5, 99999, 7, "x", 12]
    assert frame["id"].tolist()[0::2] == [5, 7, 12]
    assert frame["error"].isna().tolist() == [True, False, True, False, True]
    assert frame["error"][1] == "Error executing tool get_order: There is no order 99999."
    assert frame["error"][3] == ("Invalid arguments for tool 'get_order': - order_id: 'x' is not of type 'integer'")
    assert frame.attrs["mcp"]["calls"] == 5 and frame.attrs["mcp"]["errors"] == 2


def test_a_dataframe_gives_the_arguments_and_missing_values_are_left_out(helpdesk):
    wanted = pd.DataFrame({"status": ["paid", None, "refunded"], "limit": [2, 3, 1]})
    frame = helpdesk.map("list_orders", wanted, progress=False)
    assert frame["error"].isna().all()
    assert frame["status"].tolist()[0::2] == ["paid", "refunded"]  # from the arguments
    assert [len(r) for r in frame["result.orders"]] == [2, 3, 1]  # tables of their own: kept whole
    assert frame["result.total"].iloc[1] == 8000  # the call without status= counted every order


def test_calls_run_concurrently(faulty):
    started = time.monotonic()
    frame = faulty.map("slow", [{"seconds": 0.4}] * 8, concurrency=8, progress=False)
    elapsed = time.monotonic() - started
    assert frame["result"].tolist() == ["done"] * 8
    assert elapsed < 1.6, elapsed  # sequential would take 3.2 s


def test_argument_names_that_clash_with_result_columns(helpdesk):
    single = helpdesk.map("update_enquiry", [{"enquiry_id": 3, "priority": "low"}], progress=False)
    assert single["argument.priority"].tolist() == ["low"] and single["priority"].tolist() == ["low"]


def test_progress_bar_is_shown(helpdesk, capsys):
    helpdesk.map("get_order", [{"order_id": i} for i in range(1, 6)])
    assert "helpdesk.get_order: 100%" in capsys.readouterr().err


def test_bad_input_is_refused_once(helpdesk):
    with pytest.raises(mcpnb.NotFound, match="no tool 'get_ordr'"):
        helpdesk.map("get_ordr", [{"order_id": 1}])
    with pytest.raises(mcpnb.ConfigError, match="must be a DataFrame or an iterable"):
        helpdesk.map("get_order", {"order_id": 1})
    with pytest.raises(mcpnb.ConfigError, match="Row 1 is a int"):
        helpdesk.map("get_order", [{"order_id": 1}, 2])
    with pytest.raises(mcpnb.ConfigError, match="concurrency"):
        helpdesk.map("get_order", [], concurrency=0)


def test_interrupt_cancels_every_call_under_way(faulty, tmp_path):
    markers = [tmp_path / f"m{i}" for i in range(6)]
    timer = threading.Timer(0.8, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        faulty.map("slow", [{"seconds": 30, "marker": str(m)} for m in markers], concurrency=3, progress=False)
    assert time.monotonic() - started < 2.5
    deadline = time.monotonic() + 5
    while sum(m.exists() for m in markers) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(m.read_text() for m in markers if m.exists()) == ["cancelled"] * 3  # the 3 under way
    assert faulty.call("echo", text="still usable").text == "still usable"


class Measure(TypedDict):
    count: int
    half: float


def test_each_result_record_keeps_its_values_as_sent():
    """A record of whole and fractional numbers: the whole ones stay whole in the table (a one-row
    DataFrame made for each result turned them into floats)."""
    from mcp.server.mcpserver import MCPServer

    numbers = MCPServer("numbers")

    @numbers.tool()
    def measure(n: int) -> Measure:
        """A whole and a fractional number."""
        return {"count": n, "half": n / 2}

    server = mcpnb.connect(numbers, name="numbers")
    frame = server.map("measure", [{"n": 1}, {"n": 3}], progress=False)
    assert frame["count"].dtype == "int64" and frame["count"].tolist() == [1, 3]
    assert frame["half"].tolist() == [0.5, 1.5]
    server.close()
