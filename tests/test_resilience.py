"""map() that survives: a rate, retries of what may pass, a reconnect, a stop after too many errors, a checkpoint.

Real servers only: tests/servers/faulty.py over stdio (slow first calls, a crash,
a tool without annotations) and the helpdesk demo over HTTP made to throttle
(--rate-limit: 429 with Retry-After) and fail (--fail-rate: 503). Backoff waits
are made short through the module's constants.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from email.utils import formatdate

import pandas as pd
import pytest

import mcpnb
from mcpnb import fanout
from mcpnb.unreadable import retry_after_seconds

from .conftest import FAULTY, HELPDESK, free_port, http_server, wait_for


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    monkeypatch.setattr(fanout, "BACKOFF_BASE", 0.02)
    monkeypatch.setattr(fanout, "BACKOFF_CAP", 0.5)


def tally(server: mcpnb.Server) -> dict[str, int]:
    """How many calls the faulty server received for each row, by "tool:n"."""
    return server.call("tally").structured


def retries_noted(server: mcpnb.Server) -> list[str]:
    return [s for s in server.activity["summary"] if " retry " in s]


# -- rate ------------------------------------------------------------------------------------------


def test_rate_spreads_the_starts(faulty):
    started = time.monotonic()
    frame = faulty.map("lookup", [{"n": i} for i in range(11)], rate=10, progress=False)
    assert frame["error"].isna().all()
    assert time.monotonic() - started >= 10 / 10 * 0.8  # 11 starts, 0.1 s apart


def test_a_rate_limit_is_shared_by_the_maps_given_it(faulty):
    other = mcpnb.connect(FAULTY, name="other")
    limit = fanout.RateLimit(10)

    async def both():
        return await asyncio.gather(faulty.amap("lookup", [{"n": i} for i in range(6)], rate=limit, progress=False),
                                    other.amap("lookup", [{"n": i} for i in range(6)], rate=limit, progress=False))

    started = time.monotonic()
    frames = asyncio.run(both())
    assert all(frame["error"].isna().all() for frame in frames)
    assert time.monotonic() - started >= 11 / 10 * 0.8  # 12 starts from one budget, not 6 from each of two
    assert pickle.loads(pickle.dumps(limit)) is limit  # copies in one process (a Dask worker's) share it too


@pytest.mark.parametrize("rate", [0, -1, float("nan"), float("inf"), "fast", True])
def test_a_bad_rate_is_refused(faulty, rate):
    with pytest.raises(mcpnb.ConfigError, match="rate= must be a number of calls a second above 0"):
        faulty.map("lookup", [{"n": 1}], rate=rate)


def test_bad_options_are_refused_before_any_call(faulty):
    for options, wording in [({"retries": -1}, "retries="), ({"retries": 1.5}, "retries="),
                             ({"max_errors": 0}, "max_errors="), ({"idempotent": "yes"}, "idempotent="),
                             ({"checkpoint": 3}, "checkpoint=")]:
        with pytest.raises(mcpnb.ConfigError, match=wording):
            faulty.map("lookup", [{"n": 1}], **options)
    assert tally(faulty) == {}


# -- retries ---------------------------------------------------------------------------------------


def test_a_timeout_is_retried_on_a_read_only_tool(faulty):
    rows = [{"n": i, "stall": 5 if i in (1, 3) else 0} for i in range(5)]  # rows 1 and 3 are slow the first time
    frame = faulty.map("lookup", rows, timeout=0.5, progress=False)
    assert frame["error"].isna().all() and frame["square"].tolist() == [0, 1, 4, 9, 16]
    assert tally(faulty) == {"lookup:0": 1, "lookup:1": 2, "lookup:2": 1, "lookup:3": 2, "lookup:4": 1}
    noted = retries_noted(faulty)
    assert len(noted) == 2 and all("no answer within the timeout; retry 1 of 3" in s for s in noted)


def test_a_tool_that_may_not_be_safe_to_repeat_is_not_retried_unless_the_caller_says_so(faulty):
    rows = [{"n": 1, "stall": 5}, {"n": 2}]
    frame = faulty.map("append_row", rows, timeout=0.5, progress=False)  # no annotations: not known to be safe
    assert "got no answer within 0.5 s" in frame["error"][0] and frame["error"].isna().tolist() == [False, True]
    assert tally(faulty) == {"append_row:1": 1, "append_row:2": 1}
    frame = faulty.map("append_row", [{"n": 3, "stall": 5}], timeout=0.5, idempotent=True, progress=False)
    assert frame["error"].isna().all() and tally(faulty)["append_row:3"] == 2
    frame = faulty.map("lookup", [{"n": 4, "stall": 5}], timeout=0.5, idempotent=False, progress=False)
    assert frame["error"].notna().all() and tally(faulty)["lookup:4"] == 1


def test_retries_0_turns_retrying_off(faulty):
    frame = faulty.map("lookup", [{"n": 1, "stall": 5}], timeout=0.5, retries=0, progress=False)
    assert frame["error"].notna().all() and tally(faulty) == {"lookup:1": 1}
    assert retries_noted(faulty) == []


def test_a_tools_own_error_and_invalid_arguments_are_answers_not_retried(faulty):
    frame = faulty.map("lookup", [{"n": -1}, {"n": "x"}, {"n": 2}], progress=False)
    assert frame["error"].notna().tolist() == [True, True, False]
    assert "Invalid arguments" in frame["error"][1]
    assert tally(faulty) == {"lookup:-1": 1, "lookup:2": 1}
    assert retries_noted(faulty) == []


def test_a_crashed_stdio_server_is_restarted_once_and_every_row_answered(faulty, tmp_path):
    first = faulty.session.pid
    rows = [{"n": i, "stall": 0.5} for i in range(12)]
    rows[5]["crash_once"] = str(tmp_path / "crashed")  # the server exits on this call: 4 calls are lost at once
    frame = faulty.map("lookup", rows, concurrency=4, progress=False)
    assert frame["error"].isna().all() and frame["square"].tolist() == [i * i for i in range(12)]
    assert faulty.session.pid != first
    summaries = faulty.activity["summary"].tolist()
    assert sum("reconnected" in s for s in summaries) == 1
    assert sum(s.startswith("connected") for s in summaries) == 2
    assert sum("the connection was lost; retry 1 of 3" in s for s in summaries) >= 2


def test_too_many_retries_leave_the_last_error_in_the_row(faulty):
    frame = faulty.map("lookup", [{"n": 1, "stall": 5}], timeout=0.3, retries=1, idempotent=True,
                       progress=False)  # the second call answers at once: 1 retry is enough
    assert frame["error"].isna().all()
    frame = faulty.map("append_row", [{"n": 7, "stall": 5}, {"n": 8}], timeout=0.3, retries=2, progress=False)
    assert "got no answer within 0.3 s" in frame["error"][0]


# -- over HTTP: 429 and 503 --------------------------------------------------------------------------


def test_429_waits_out_retry_after_and_every_row_is_answered():
    with http_server([*HELPDESK, "--rate-limit", "3"]) as (url, _process):
        server = mcpnb.connect(url, name="throttled")
        with pytest.raises(mcpnb.ServerError) as caught:
            for _ in range(10):
                server.call("get_order", order_id=1)
        assert caught.value.status == 429 and caught.value.retry_after == 1
        assert "the server is limiting requests (HTTP 429)" in str(caught.value)
        started = time.monotonic()
        frame = server.map("get_order", [{"order_id": i} for i in range(1, 7)], retries=10, progress=False)
        elapsed = time.monotonic() - started
        assert frame["error"].isna().all() and frame["id"].tolist() == list(range(1, 7))
        noted = retries_noted(server)
        assert noted and all("HTTP 429, Retry-After 1 s" in s for s in noted)
        assert elapsed >= 1.0  # the calls refused waited at least the second they were asked to
        server.close()  # before the server stops: it would wait for the open stream


def test_503_is_retried_and_retries_0_keeps_it():
    with http_server([*HELPDESK, "--fail-rate", "0.3"]) as (url, _process):
        server = mcpnb.connect(url, name="failing")
        rows = [{"order_id": i} for i in range(1, 13)]
        frame = server.map("get_order", rows, retries=10, progress=False)
        assert frame["error"].isna().all()
        assert any("HTTP 503; retry 1 of 10" in s for s in retries_noted(server))
        frame = server.map("get_order", rows, retries=0, progress=False)
        failed = frame["error"].dropna()
        assert len(failed) and all("the server failed (HTTP 503)" in e for e in failed)
        server.close()


def test_an_http_server_restarted_on_its_port_is_reconnected(monkeypatch):
    monkeypatch.setattr(fanout, "BACKOFF_CAP", 0.3)
    port = free_port()
    argv = [*HELPDESK, "--http", str(port)]

    def start() -> subprocess.Popen:
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: _answers(port), 30)
        return process

    processes = [start()]
    try:
        server = mcpnb.connect(f"http://127.0.0.1:{port}/mcp", name="restarted")

        def restart() -> None:
            time.sleep(0.8)
            processes[0].kill()  # a graceful stop would wait for the client's open streams
            processes[0].wait(10)
            processes.append(start())

        thread = threading.Thread(target=restart)
        thread.start()
        frame = server.map("get_order", [{"order_id": i} for i in range(1, 21)], rate=5, retries=60,
                           progress=False)
        thread.join()
        assert frame["error"].isna().all() and frame["id"].tolist() == list(range(1, 21))
        summaries = server.activity["summary"].tolist()
        assert sum("reconnected" in s for s in summaries) == 1
    finally:
        mcpnb.close_all()
        for process in processes:
            process.kill()
            process.wait(10)


def _answers(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def test_retry_after_in_both_forms():
    assert retry_after_seconds("2") == 2.0
    assert 9 <= retry_after_seconds(formatdate(time.time() + 10, usegmt=True)) <= 10
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date gone by: no wait
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


# -- max_errors ------------------------------------------------------------------------------------


def test_max_errors_stops_with_the_rows_done_and_cancels_the_calls_under_way(faulty, tmp_path):
    markers = [tmp_path / f"m{i}" for i in range(2)]
    rows = [{"n": 1, "stall": 30, "marker": str(markers[0])}, {"n": 2, "stall": 30, "marker": str(markers[1])},
            {"n": 3}, {"n": -4}, {"n": -5}, {"n": 6}]
    with pytest.raises(mcpnb.TooManyErrors) as caught:
        faulty.map("lookup", rows, concurrency=3, max_errors=2, progress=False)
    error = caught.value
    assert error.failed == 2 and error.done == 3 and error.checkpoint is None
    assert "stopped after 2 rows failed (max_errors=2); 3 of 6 rows done (1 answered, 2 failed)" in str(error)
    assert "row 3: Error executing tool lookup" in str(error) and "checkpoint=PATH" in str(error)
    assert error.frame.index.tolist() == [2, 3, 4] and error.frame["square"].tolist()[0] == 9
    wait_for(lambda: all(m.exists() for m in markers), 10)
    assert [m.read_text() for m in markers] == ["cancelled", "cancelled"]  # nothing left running on the server
    assert "lookup:6" not in tally(faulty)  # nothing started after the stop


# -- checkpoint ------------------------------------------------------------------------------------


ROWS = [{"n": -i if i in (10, 11, 12) else i} for i in range(30)]


def test_a_stopped_map_resumes_from_its_checkpoint_and_equals_an_uninterrupted_run(faulty, tmp_path):
    path = tmp_path / "lookups"
    with pytest.raises(mcpnb.TooManyErrors) as caught:
        faulty.map("lookup", ROWS, concurrency=1, max_errors=3, checkpoint=path, progress=False)
    assert caught.value.done == 13 and caught.value.checkpoint == str(path)
    assert f"checkpoint={str(path)!r}" in str(caught.value)
    resumed = faulty.map("lookup", ROWS, concurrency=4, max_errors=3, checkpoint=path, progress=False)
    assert set(tally(faulty).values()) == {1}  # each row called once, across both runs
    assert len(tally(faulty)) == 30
    whole = mcpnb.connect(FAULTY, name="whole").map("lookup", ROWS, concurrency=4, progress=False)
    pd.testing.assert_frame_equal(resumed, whole)
    assert resumed.attrs["mcp"]["errors"] == 3 and resumed.attrs["mcp"]["calls"] == 30
    again = faulty.map("lookup", ROWS, checkpoint=path, progress=False)  # all done: no call at all
    pd.testing.assert_frame_equal(again, whole)
    assert len(tally(faulty)) == 30 and set(tally(faulty).values()) == {1}


def test_an_interrupt_writes_the_checkpoint_and_the_map_resumes(faulty, tmp_path, monkeypatch):
    from mcpnb import checkpoint

    monkeypatch.setattr(checkpoint, "EVERY_SECONDS", 0.2)  # parts as the map goes: the first says rows are done
    path = tmp_path / "interrupted"
    rows = [{"n": i, "stall": 0.1} for i in range(40)]

    def interrupt_once_rows_are_done() -> None:
        wait_for(lambda: list(path.glob("part-*.parquet")), 30)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_once_rows_are_done).start()
    with pytest.raises(KeyboardInterrupt):
        faulty.map("lookup", rows, concurrency=2, checkpoint=path, progress=False)
    assert sum(tally(faulty).values()) < 40
    assert not list(path.glob(".*tmp"))  # parts are whole or absent
    resumed = faulty.map("lookup", rows, concurrency=2, checkpoint=path, progress=False)
    assert sum(tally(faulty).values()) <= 40 + 2  # only the calls the interrupt cut off were made again
    whole = mcpnb.connect(FAULTY, name="whole").map("lookup", rows, progress=False)
    pd.testing.assert_frame_equal(resumed, whole)


def test_transient_failures_are_called_again_on_resume_answers_are_kept(faulty, tmp_path):
    path = tmp_path / "transient"
    rows = [{"n": 1, "stall": 5}, {"n": -2}, {"n": 3}]
    first = faulty.map("lookup", rows, timeout=0.3, retries=0, checkpoint=path, progress=False)
    assert first["error"].notna().tolist() == [True, True, False]
    resumed = faulty.map("lookup", rows, timeout=0.3, checkpoint=path, progress=False)
    assert resumed["error"].notna().tolist() == [False, True, False]  # the timeout was tried again
    assert tally(faulty) == {"lookup:1": 2, "lookup:-2": 1, "lookup:3": 1}


def test_a_checkpoint_of_another_map_is_refused_saying_how_to_start_over(faulty, tmp_path):
    path = tmp_path / "one"
    faulty.map("lookup", ROWS[:5], checkpoint=path, progress=False)
    cases = [("append_row", ROWS[:5], "holds calls of 'lookup', not 'append_row'"),
             ("lookup", ROWS[:4], "was made for 5 rows; this map has 4"),
             ("lookup", [{"n": 9}, *ROWS[1:5]], "row 0's arguments are not those it was made with")]
    for tool, rows, wording in cases:
        with pytest.raises(mcpnb.ConfigError, match=wording) as caught:
            faulty.map(tool, rows, checkpoint=path, progress=False)
        assert "shutil.rmtree" in str(caught.value)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("keep")
    with pytest.raises(mcpnb.ConfigError, match="holds other files and no checkpoint"):
        faulty.map("lookup", ROWS[:5], checkpoint=tmp_path / "notes", progress=False)
    with pytest.raises(mcpnb.ConfigError, match="must be a folder"):
        faulty.map("lookup", ROWS[:5], checkpoint=tmp_path / "notes" / "mine.txt", progress=False)
    assert len(tally(faulty)) == 5


def test_importing_loads_no_pyarrow_and_a_map_writes_nothing_unless_asked(faulty, tmp_path, monkeypatch):
    code = "import sys, mcpnb, mcpnb.fanout; print('pyarrow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr
    monkeypatch.chdir(tmp_path)  # where a notebook would be
    faulty.map("lookup", [{"n": 1}, {"n": 2, "stall": 5}], timeout=0.3, retries=1, max_errors=5, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_in_a_kernel_an_interrupted_map_resumes_from_its_checkpoint(tmp_path):
    from .test_kernel import Kernel

    kernel = Kernel()
    try:
        path = tmp_path / "kernel"
        kernel.run(f"import mcpnb, mcpnb.checkpoint\nserver = mcpnb.connect({FAULTY!r}, name='faulty')\n"
                   f"rows = [{{'n': i, 'stall': 0.1}} for i in range(40)]\n"
                   "mcpnb.checkpoint.EVERY_SECONDS = 0.2  # parts written often: the test sees rows are done")
        cell = f"table = server.map('lookup', rows, concurrency=2, checkpoint={str(path)!r})"
        msg_id = kernel.start(cell)
        wait_for(lambda: list(path.glob("part-*.parquet")), 30)
        kernel.manager.interrupt_kernel()
        content = kernel.reply(msg_id, timeout=10)
        assert content["status"] == "error" and content["ename"] == "Interrupted"
        content, shown = kernel.outputs(kernel.start(cell))
        assert content["status"] == "ok"
        lines = [m["content"]["data"].get("text/plain", "") for m in shown
                 if m["msg_type"] in ("display_data", "update_display_data")]
        assert any("from the checkpoint · all answered" in line for line in lines), lines
        called = kernel.run("sum(server.call('tally').structured.values())")
        assert 40 <= int(called) <= 42  # rows done before the interrupt were not called again
        assert kernel.run("len(table), table['error'].isna().all()") == "(40, np.True_)"
    finally:
        kernel.stop(now=True)


# -- review findings (issue 16) --------------------------------------------------------------------


def test_rows_finished_as_max_errors_stops_reach_the_checkpoint_and_are_not_called_again(faulty, tmp_path,
                                                                                       monkeypatch):
    from mcpnb import checkpoint

    monkeypatch.setattr(checkpoint, "EVERY_SECONDS", 0)  # a part is due after every row, the last one too
    path = tmp_path / "stopped"
    rows = [{"n": 0}, {"n": 1}, {"n": -2}, {"n": 3}, {"n": 4}]  # append_row: not safe to repeat
    with pytest.raises(mcpnb.TooManyErrors) as caught:
        faulty.map("append_row", rows, concurrency=1, max_errors=1, checkpoint=path, progress=False)
    assert caught.value.frame.index.tolist() == [0, 1, 2]
    faulty.map("append_row", rows, concurrency=1, max_errors=1, checkpoint=path, progress=False)
    assert tally(faulty) == {f"append_row:{n}": 1 for n in (0, 1, -2, 3, 4)}  # none of rows 0-2 again


@pytest.mark.parametrize("rate", [threading.Semaphore(2), asyncio.Semaphore(2)])
def test_rate_takes_a_number_or_a_rate_limit_not_any_object_with_acquire(faulty, rate):
    with pytest.raises(mcpnb.ConfigError, match="rate= must be a number of calls a second above 0 \\(or a RateLimit\\)"):
        faulty.map("lookup", [{"n": 1}], rate=rate, progress=False)
    assert tally(faulty) == {}


def test_a_rate_limit_below_one_a_second_lets_calls_through():
    with http_server([*HELPDESK, "--rate-limit", "0.5"]) as (url, _process):
        server = mcpnb.connect(url, name="slowly")
        assert server.call("get_order", order_id=1).structured["id"] == 1
        server.close()


def test_two_maps_on_one_connection_share_its_reconnect_and_every_row_is_answered(faulty, tmp_path):
    flag = tmp_path / "crashed"
    first = [{"n": i, "stall": 0.3} for i in range(8)]
    first[3]["crash_once"] = str(flag)  # the server exits on this row, once: both maps lose their calls
    second = [{"n": 100 + i, "stall": 0.3} for i in range(8)]

    async def both():
        return await asyncio.gather(faulty.amap("lookup", first, concurrency=3, progress=False),
                                    faulty.amap("lookup", second, concurrency=3, progress=False))

    one, two = asyncio.run(both())
    assert flag.exists()
    assert one["error"].isna().all() and two["error"].isna().all()
    assert one["square"].tolist() == [i * i for i in range(8)]
    assert two["square"].tolist() == [(100 + i) ** 2 for i in range(8)]
    reconnects = [s for s in faulty.activity["summary"] if ": reconnected (" in s]
    assert len(reconnects) == 1  # one reconnect for both maps



def test_429_refused_calls_are_retried_and_resumed_for_any_tool_as_nothing_ran(tmp_path):
    path = tmp_path / "refused"
    rows = [{"order_id": i} for i in range(1, 5)]
    with http_server([*HELPDESK, "--rate-limit", "1"]) as (url, _process):
        server = mcpnb.connect(url, name="throttled")
        first = server.map("get_order", rows, concurrency=4, retries=0, idempotent=False, checkpoint=path,
                           progress=False)
        refused = first["error"].dropna()
        assert len(refused) and all("HTTP 429" in e for e in refused)
        resumed = server.map("get_order", rows, concurrency=4, retries=5, idempotent=False, checkpoint=path,
                             progress=False)
        assert resumed["error"].isna().all() and resumed["id"].tolist() == [1, 2, 3, 4]
        server.close()


def test_a_connection_closed_on_purpose_during_a_map_is_not_reconnected(faulty):
    rows = [{"n": i, "stall": 0.3} for i in range(40)]
    faulty.call("lookup", n=999)  # listed and answering before the timer starts
    closer = threading.Timer(1.0, faulty.close)
    closer.start()
    frame = faulty.map("lookup", rows, concurrency=2, progress=False)
    closer.join()
    assert faulty.session.closed and not faulty.session.lost
    assert frame["error"].iloc[-1] == "The connection to 'faulty' is closed."
    assert not [s for s in faulty.activity["summary"] if "reconnect" in s]


def test_a_checkpoint_folder_is_written_by_one_map_at_a_time(faulty, tmp_path, monkeypatch):
    from mcpnb import checkpoint

    monkeypatch.setattr(checkpoint, "LOCK_WAIT", 0.5)
    path = tmp_path / "shared"
    rows = [{"n": i, "stall": 0.3} for i in range(12)]
    other = mcpnb.connect(FAULTY, name="other")

    async def both():
        first = asyncio.ensure_future(faulty.amap("lookup", rows, concurrency=2, checkpoint=path, progress=False))
        await asyncio.sleep(1.0)  # the first map holds the folder
        with pytest.raises(mcpnb.ConfigError, match="Another map is writing the checkpoint"):
            await other.amap("lookup", rows, checkpoint=path, progress=False)
        return await first

    frame = asyncio.run(both())
    assert frame["error"].isna().all()
    assert other.map("lookup", rows, checkpoint=path, progress=False).equals(frame)  # let go: all from disk
    assert tally(other) == {}
    assert not list(path.glob(".*tmp"))


def test_a_lock_left_by_a_process_that_died_is_taken_over(faulty, tmp_path):
    path = tmp_path / "orphan"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, pathlib; p = pathlib.Path(sys.argv[1]); p.mkdir();"
        "fd = os.open(p / '.lock', os.O_RDWR | os.O_CREAT); fcntl.flock(fd, fcntl.LOCK_EX); os._exit(9)"),
        str(path)])
    assert holder.wait(30) == 9
    frame = faulty.map("lookup", [{"n": 2}, {"n": 3}], checkpoint=path, progress=False)
    assert frame["square"].tolist() == [4, 9]
