"""map on Dask: partitions on the workers of a LocalCluster (two processes), each with a connection of its own."""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import subprocess
import sys
import uuid

import pandas as pd
import pytest
from mcp.server.mcpserver import MCPServer

import mcpnb
import mcpnb.dask

from .conftest import HELPDESK, alive, http_server, wait_gone

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
dask_config = pytest.importorskip("dask").config.set

SECRET_VARIABLE = "MCPNB_TEST_DASK_TOKEN"


@pytest.fixture(scope="module")
def client():
    """Two worker processes, one thread each; they inherit a secret in SECRET_VARIABLE."""
    os.environ[SECRET_VARIABLE] = f"dask-secret-{uuid.uuid4().hex}"
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()
    del os.environ[SECRET_VARIABLE]


def orders(count: int = 200, partitions: int = 4) -> tuple[pd.DataFrame, dd.DataFrame]:
    frame = pd.DataFrame({"order_id": range(1, count + 1)})
    return frame, dd.from_pandas(frame, npartitions=partitions)


def held(client) -> dict[str, list[dict]]:
    """Each worker's map connections (mcpnb.dask.connections on every worker)."""
    return client.run(mcpnb.dask.connections)


def test_partitions_run_on_the_workers_over_stdio_with_one_connection_each(client, helpdesk):
    table, rows = orders()
    mapped = helpdesk.map("get_order", rows)
    assert isinstance(mapped, dd.DataFrame)
    result = mapped.compute()
    single = helpdesk.map("get_order", table, progress=False)
    assert list(result.columns) == list(single.columns)
    assert result.dtypes.to_dict() == mapped.dtypes.to_dict()  # the meta announced is what came
    assert result["id"].dtype == "Int64" and result["error"].isna().all()
    pd.testing.assert_frame_equal(result, single.astype(result.dtypes.to_dict()))

    workers = held(client)
    assert len(workers) == 2 and all(len(connections) == 1 for connections in workers.values())
    pids = [connections[0]["pid"] for connections in workers.values()]
    assert len(set(pids)) == 2 and helpdesk.pid not in pids and all(alive(pid) for pid in pids)
    assert sum(c[0]["partitions"] for c in workers.values()) == 4
    assert all(c[0]["opened"] == 1 for c in workers.values())  # one opening, however many partitions

    again = helpdesk.map("get_order", rows[rows.order_id <= 50]).compute()
    assert again["id"].tolist() == list(range(1, 51))
    after = held(client)
    assert [c[0]["pid"] for c in after.values()] == pids and all(c[0]["opened"] == 1 for c in after.values())


def test_over_streamable_http_the_workers_send_the_secret_header_that_the_graph_never_holds(client):
    secret = os.environ[SECRET_VARIABLE]
    table, rows = orders(120, 4)
    with http_server(HELPDESK) as (url, _process):
        server = mcpnb.connect(url, name="remote", headers={"Authorization": f"Bearer {secret}"})
        mapped = server.map("get_order", rows)
        graph = mapped.dask
        sent = distributed.protocol.pickle.dumps(dict(graph))
        arguments = repr([(task.args, task.kwargs) for task in pickle.loads(sent).values() if hasattr(task, "args")])
        shown = [repr(graph), repr(dict(graph)), arguments, repr(list(graph.keys())), repr(mapped.expr), repr(mapped)]
        assert all(secret not in text for text in shown) and secret.encode() not in sent
        assert f"Bearer ${{{SECRET_VARIABLE}}}" in arguments  # the reference travels, and shows as one

        result = mapped.compute()
        single = server.map("get_order", table, progress=False)
        pd.testing.assert_frame_equal(result, single.astype(result.dtypes.to_dict()))

        def headers_as_sent(variable=SECRET_VARIABLE):
            from mcpnb import daskworker
            return [item.server.target.headers["Authorization"] == "Bearer " + os.environ[variable]
                    for item in daskworker._held.values() if item.server.target.kind == "http"]

        assert list(client.run(headers_as_sent).values()) == [[True], [True]]
        client.unregister_worker_plugin("mcpnb-connections")  # the workers' connections close before the server
        server.close()


def test_a_secret_no_environment_variable_holds_cannot_go_to_the_workers(client, helpdesk_url):
    literal = f"not-in-the-environment-{uuid.uuid4().hex}"
    server = mcpnb.connect(helpdesk_url, headers={"Authorization": f"Bearer {literal}"})
    with pytest.raises(mcpnb.ConfigError, match="header 'Authorization'") as caught:
        server.map("get_order", orders(8, 2)[1])
    assert literal not in str(caught.value) and "${TOKEN}" in str(caught.value)
    server.close()

    os.environ["MCPNB_TEST_DASK_LATE"] = literal  # set here after the cluster started: its workers lack it
    try:
        server = mcpnb.connect(helpdesk_url, headers={"Authorization": f"Bearer {literal}"})
        mapped = server.map("get_order", orders(8, 2)[1])
        with pytest.raises(mcpnb.ConfigError, match="variable MCPNB_TEST_DASK_LATE is not set") as caught:
            mapped.compute()
        assert literal not in str(caught.value) and "where they start" in caught.value.hint
        server.close()
    finally:
        del os.environ["MCPNB_TEST_DASK_LATE"]


def test_a_stdio_servers_secret_environment_travels_as_a_reference(monkeypatch):
    from mcpnb.workerspec import WorkerSpec

    monkeypatch.setenv("MCPNB_TEST_API_KEY", secret := f"key-{uuid.uuid4().hex}")
    server = mcpnb.connect("demo:helpdesk", env={"API_KEY": secret})
    spec = WorkerSpec.of(server.target, server.options)
    assert dict(spec.env)["API_KEY"] == "${MCPNB_TEST_API_KEY}" and secret not in repr(spec)
    assert dict(spec.env)["MCPNB_DEMO_DIR"] == os.environ["MCPNB_DEMO_DIR"]  # plain: passed as it is
    rebuilt = spec.target()
    assert rebuilt.env["API_KEY"] == secret and rebuilt.command == sys.executable
    assert pickle.loads(pickle.dumps(spec)) == spec


def test_an_mcpservers_entry_sends_its_references_as_written(client, tmp_path):
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"crm": {
        "url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": f"Bearer ${{{SECRET_VARIABLE}}}"}}}}))
    meta = pd.DataFrame({"id": pd.Series(dtype="Int64")})
    mapped = mcpnb.dask.map("crm", "get_order", orders(8, 2)[1], config=str(config), meta=meta)
    assert list(mapped.columns) == ["order_id", "id", "error"]
    tasks = [task for task in dict(mapped.dask).values() if hasattr(task, "args")]
    shown = repr([(task.args, task.kwargs) for task in tasks])
    assert f"Bearer ${{{SECRET_VARIABLE}}}" in shown and os.environ[SECRET_VARIABLE] not in shown


def test_what_cannot_go_to_a_worker_is_refused_with_what_to_do(client):
    rows = orders(8, 2)[1]
    inprocess = MCPServer("notes")

    @inprocess.tool()
    def echo(text: str) -> str:
        return text

    with pytest.raises(mcpnb.ConfigError, match="in-process server") as caught:
        mcpnb.connect(inprocess).map("echo", rows)
    assert "streamable-http" in caught.value.hint
    with pytest.raises(mcpnb.ConfigError, match="auth="):
        mcpnb.dask.map("http://127.0.0.1:9/mcp", "echo", rows, auth="oauth", meta={"result": object})
    with pytest.raises(mcpnb.ConfigError, match="must be a Dask DataFrame"):
        mcpnb.dask.map("demo:helpdesk", "get_order", orders(8)[0])
    with pytest.raises(mcpnb.ConfigError, match="meta= is for a Dask DataFrame"):
        mcpnb.connect("demo:helpdesk").map("get_order", [{"order_id": 1}], meta={"id": "Int64"})


def test_a_tool_with_effects_needs_meta_and_is_not_called_to_learn_it(client, helpdesk):
    rows = dd.from_pandas(pd.DataFrame({"subject": ["a"], "body": ["b"], "customer_email": ["c@example.com"]}),
                          npartitions=1)
    before = len(helpdesk.call("list_enquiries", limit=1000).structured["enquiries"])
    with pytest.raises(mcpnb.ConfigError, match="neither read-only nor idempotent") as caught:
        helpdesk.map("create_enquiry", rows)
    assert "meta=" in caught.value.hint
    assert len(helpdesk.call("list_enquiries", limit=1000).structured["enquiries"]) == before
    mapped = helpdesk.map("create_enquiry", rows, meta={"id": "Int64", "status": "str"})
    assert list(mapped.columns) == ["subject", "body", "customer_email", "id", "status", "error"]
    awaited = asyncio.run(helpdesk.amap("create_enquiry", rows, meta={"id": "Int64"}))
    assert isinstance(awaited, dd.DataFrame) and list(awaited.columns)[-2:] == ["id", "error"]


def test_the_rate_is_split_among_the_worker_processes_and_checkpoints_kept_per_partition(client, helpdesk,
                                                                                          tmp_path):
    table, rows = orders(16, 4)
    result = helpdesk.map("get_order", rows, rate=40, checkpoint=tmp_path / "run").compute()
    assert result["id"].tolist() == list(range(1, 17))

    def limiters():
        from mcpnb import daskworker
        return [limit.per_second for limit in daskworker._limiters.values()]

    assert sorted(rate for rates in client.run(limiters).values() for rate in rates) == [20.0, 20.0]
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [f"partition-0000{i}" for i in range(4)]


def test_without_dask_the_error_says_what_to_install():
    code = ("import sys; sys.modules['dask'] = None\n"
            "import mcpnb, mcpnb.dask\n"
            "try:\n"
            "    mcpnb.dask.map('demo:helpdesk', 'get_order', None)\n"
            "except mcpnb.ConfigError as error:\n"
            "    print(error)\n")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert 'pip install "mcpnb[dask]"' in shown


def test_importing_mcpnb_and_its_dask_module_does_not_import_dask():
    code = "import sys, mcpnb, mcpnb.dask; print([m for m in ('dask', 'distributed') if m in sys.modules])"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.strip() == "[]"


def test_on_the_threaded_scheduler_close_all_stops_the_servers_the_map_opened(client):
    with dask_config(scheduler="threads"):
        result = mcpnb.dask.map("demo:helpdesk", "get_order", orders(8, 2)[1]).compute()
    assert result["error"].isna().all()
    pids = [c["pid"] for c in mcpnb.dask.connections()]
    assert len(pids) == 1 and alive(pids[0])  # opened here, for the partitions, outside mcpnb.servers()
    mcpnb.close_all()
    assert wait_gone(pids[0]) and mcpnb.dask.connections() == []


def test_a_lent_connection_whose_server_crashed_is_reconnected_not_replaced(client, faulty, tmp_path, monkeypatch):
    from mcpnb import fanout

    monkeypatch.setattr(fanout, "BACKOFF_BASE", 0.02)
    first = faulty.pid
    table = pd.DataFrame({"n": range(8), "stall": [0.2] * 8, "crash_once": [None] * 8})
    table.loc[2, "crash_once"] = str(tmp_path / "crashed")
    meta = {"argument.n": "int64", "n": "Int64", "square": "Int64"}
    with dask_config(scheduler="threads", num_workers=2):
        result = faulty.map("lookup", dd.from_pandas(table, npartitions=2), meta=meta, concurrency=4).compute()
    assert result["error"].isna().all() and result["square"].tolist() == [n * n for n in range(8)]
    assert faulty.alive and faulty.pid != first and mcpnb.dask.connections() == []  # no second connection


def test_too_many_errors_on_dask_names_the_maps_checkpoint_folder(client, faulty, tmp_path):
    rows = dd.from_pandas(pd.DataFrame({"n": [-1, -2, -3, -4]}), npartitions=1)
    root = tmp_path / "run"
    with dask_config(scheduler="threads"), pytest.raises(mcpnb.TooManyErrors) as caught:
        faulty.map("lookup", rows, meta={"square": "Int64"}, max_errors=1, checkpoint=root).compute()
    assert caught.value.checkpoint == str(root) and repr(str(root)) in caught.value.hint
    assert "partition-" not in caught.value.hint


def test_a_result_column_named_like_an_argument_needs_argument_x_in_meta(client, faulty):
    rows = dd.from_pandas(pd.DataFrame({"n": [1, 2, 3]}), npartitions=1)
    with dask_config(scheduler="threads"):
        with pytest.raises(mcpnb.ConfigError, match="named like its arguments") as caught:
            faulty.map("lookup", rows, meta={"n": "Int64", "square": "Int64"}).compute()
        assert "'argument.n'" in caught.value.hint
        result = faulty.map("lookup", rows, meta={"argument.n": "int64", "n": "Int64", "square": "Int64"}).compute()
    assert result["square"].tolist() == [1, 4, 9] and list(result.columns) == ["argument.n", "n", "square", "error"]


def test_map_options_are_checked_when_the_map_is_made(client, helpdesk):
    rows = orders(8, 2)[1]
    for bad, said in [({"checkpoint": 3}, "checkpoint="), ({"retries": -1}, "retries="), ({"rate": 0}, "rate="),
                      ({"max_errors": 0}, "max_errors="), ({"idempotent": "yes"}, "idempotent=")]:
        with pytest.raises(mcpnb.ConfigError, match=said):
            helpdesk.map("get_order", rows, meta={"id": "Int64"}, **bad)


def test_idempotent_true_lets_the_map_learn_meta_from_a_tool_without_annotations(client, faulty):
    rows = dd.from_pandas(pd.DataFrame({"n": [1, 2]}), npartitions=1)
    with pytest.raises(mcpnb.ConfigError, match="neither read-only nor idempotent"):
        faulty.map("append_row", rows)
    mapped = faulty.map("append_row", rows, idempotent=True)
    assert list(mapped.columns) == ["argument.n", "n", "square", "error"]


def test_partitions_keep_values_that_are_not_of_metas_kind_as_they_are():
    from mcpnb.daskworker import conform

    meta = pd.DataFrame({"flag": pd.Series(dtype="Int64"), "count": pd.Series(dtype="boolean")})
    frame = pd.DataFrame({"flag": [True, False], "count": [0, 1]})
    shaped = conform(frame, meta, pd.RangeIndex(2), (), 0, "tool")
    assert shaped["flag"].tolist() == [True, False] and shaped["flag"].dtype == object
    assert shaped["count"].tolist() == [0, 1] and shaped["count"].dtype == object
    fitting = conform(pd.DataFrame({"flag": [1, None], "count": [True, None]}), meta, pd.RangeIndex(2), (), 0, "t")
    assert fitting["flag"].dtype == "Int64" and fitting["count"].dtype == "boolean"


def test_a_short_environment_value_travels_only_from_a_variable_of_its_name(monkeypatch, tmp_path):
    from mcpnb.workerspec import WorkerSpec

    monkeypatch.setenv("MCPNB_TEST_UNRELATED", "1")
    monkeypatch.delenv("VERBOSE", raising=False)
    server = mcpnb.connect("demo:helpdesk", env={"VERBOSE": "1"})
    with pytest.raises(mcpnb.ConfigError, match="environment variable 'VERBOSE'") as caught:
        WorkerSpec.of(server.target, server.options)
    assert "shorter than 8 characters" in str(caught.value)
    monkeypatch.setenv("VERBOSE", "1")
    assert dict(WorkerSpec.of(server.target, server.options).env)["VERBOSE"] == "${VERBOSE}"

    monkeypatch.setenv("MCPNB_TEST_DEMO", "helpdesk")
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"desk": {
        "command": sys.executable, "args": ["-m", "mcpnb.demo", "${MCPNB_TEST_DEMO}"]}}}))
    desk = mcpnb.connect("desk", config=str(config))
    spec = WorkerSpec.of(desk.target, desk.options)
    assert spec.args[-1] == "${MCPNB_TEST_DEMO}" and spec.target().args[-1] == "helpdesk"


def test_maps_given_one_ratelimit_share_it_on_each_worker_split_among_them(client, helpdesk):
    limit = mcpnb.RateLimit(40)
    rows = orders(8, 2)[1]
    helpdesk.map("get_order", rows, rate=limit).compute()
    helpdesk.map("get_order", rows, rate=limit).compute()

    def limiters():
        from mcpnb import daskworker
        return [(id(item), item.per_second, item._key) for item in daskworker._limiters.values()]

    found = [item for items in client.run(limiters).values() for item in items if item[2] == limit._key]
    by_worker = [{item[0] for item in items if item[2] == limit._key} for items in client.run(limiters).values()]
    assert {item[1] for item in found} == {20.0} and all(len(ids) <= 1 for ids in by_worker)
    assert sum(len(ids) for ids in by_worker) >= 1


def test_the_worker_connections_close_when_the_plugin_goes_and_when_the_cluster_stops(client, helpdesk):
    """Last in the file: it stops the module's cluster."""
    rows = orders(40, 4)[1]
    helpdesk.map("get_order", rows).compute()
    pids = [c["pid"] for connections in held(client).values() for c in connections if c["transport"] == "stdio"]
    client.unregister_worker_plugin("mcpnb-connections")  # the plugin's teardown, as when a worker stops
    assert all(wait_gone(pid) for pid in pids) and all(not c for c in held(client).values())

    helpdesk.map("get_order", rows).compute()  # the next map registers the plugin again
    pids = [c["pid"] for connections in held(client).values() for c in connections]
    assert len(pids) == 2 and all(alive(pid) for pid in pids)
    client.close()
    client.cluster.close()
    assert all(wait_gone(pid) for pid in pids)
