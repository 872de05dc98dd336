"""A server written in a notebook: served in-process, swapped in place when served again,
in a script and through %%mcp server in a real kernel."""

from __future__ import annotations

import gc
import re
import logging
import time
import weakref

import pytest
from mcp.server.mcpserver import Context, MCPServer

import mcpnb
from mcpnb.serving import Stage, fresh_server, serve

from .test_kernel import Kernel

ERAS = [None, "2025-11-25"]  # the newest (2026-07-28) and the handshake era


def adder() -> MCPServer:
    server = fresh_server("notes")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two whole numbers."""
        return a + b

    return server


def multiplier() -> MCPServer:
    server = fresh_server("notes", version="2.0", instructions="Multiplies.")

    @server.tool()
    def multiply(a: int, b: int) -> int:
        """Multiply two whole numbers."""
        return a * b

    @server.prompt()
    def explain(topic: str) -> str:
        """Ask for an explanation."""
        return f"Explain {topic}."

    return server


def changed_lists(server: mcpnb.Server) -> list[str]:
    activity = server.activity
    return list(activity[activity.kind == "list changed"].summary)


def wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.mark.parametrize("protocol", ERAS)
def test_serving_again_swaps_the_definitions_inside_the_live_connection(protocol):
    options = {"protocol": protocol} if protocol else {}
    notes = serve(adder(), name="notes", **options)
    assert notes.call("add", a=2, b=3).structured == {"result": 5}
    assert notes.info.capabilities.tools.list_changed  # a served server's lists can always change
    seen = []
    notes.events.watch(seen.append)

    again = serve(multiplier(), name="notes", **options)

    assert again is notes  # the same handle: nothing reconnected, nothing new opened
    assert list(mcpnb.servers()) == ["notes"]
    assert wait_for(lambda: "list changed" in seen)  # the client was told, the way its era says it
    assert wait_for(lambda: len(changed_lists(notes)) == 2)
    assert changed_lists(notes) == ["tools changed", "prompts changed"]  # those two, not the resources
    assert notes.tools.names == ["multiply"]  # and fetched the new list
    assert notes.prompts.names == ["explain"]
    assert notes.call("multiply", a=3, b=4).structured == {"result": 12}
    assert "definition 2" in notes.target.describe()
    assert (notes.info.version, notes.info.instructions) == ("2.0", "Multiplies.")  # who it says it is now
    with pytest.raises(mcpnb.NotFound):
        notes.call("add", a=1, b=1)


def test_an_explorer_stays_open_across_a_swap_and_shows_the_new_tools():
    notes = serve(adder(), name="notes")
    explorer = notes.explore()
    explorer.tools_tab.load()
    assert wait_for(lambda: [t.name for t in explorer.tools_tab.tools] == ["add"])
    serve(multiplier(), name="notes")
    assert wait_for(lambda: [t.name for t in explorer.tools_tab.tools] == ["multiply"])
    explorer.close()


def test_what_a_tool_publishes_on_its_own_server_reaches_the_client_after_a_swap():
    notes = serve(adder(), name="notes")
    server = multiplier()

    @server.tool()
    async def touch(ctx: Context) -> str:
        """Say the tool list changed."""
        await ctx.notify_tools_changed()
        return "ok"

    serve(server, name="notes")
    notes.tools  # known, and then marked stale by the tool's own notice
    seen = []
    notes.events.watch(seen.append)
    notes.call("touch")
    assert wait_for(lambda: "list changed" in seen)


def test_serving_the_same_object_again_shows_what_was_added_to_it():
    server = adder()
    notes = serve(server, name="notes")
    assert notes.tools.names == ["add"]

    @server.tool()
    def subtract(a: int, b: int) -> int:
        """Subtract b from a."""
        return a - b

    assert serve(server, name="notes") is notes
    assert wait_for(lambda: notes.tools.names == ["add", "subtract"])


def test_swapping_many_times_piles_nothing_up():
    notes = serve(adder(), name="notes")
    first = weakref.ref(notes.target.server.current)
    for _ in range(20):
        serve(multiplier(), name="notes")
        serve(adder(), name="notes")
    assert notes.call("add", a=1, b=1).structured == {"result": 2}
    assert list(mcpnb.servers()) == ["notes"]
    gc.collect()
    assert first() is None  # the old definitions are let go
    assert notes.target.server.version_count == 41


def test_a_server_with_a_lifespan_of_its_own_is_reconnected_instead():
    import contextlib

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield {"ready": True}

    notes = serve(adder(), name="notes")
    server = MCPServer("notes", lifespan=lifespan)

    @server.tool()
    def ready(ctx: Context) -> bool:
        """Whether the lifespan ran."""
        return ctx.request_context.lifespan_context["ready"]

    assert serve(server, name="notes") is notes
    assert notes.call("ready").structured == {"result": True}


def test_serve_refuses_what_is_not_a_server():
    with pytest.raises(mcpnb.ConfigError, match="MCPServer"):
        serve("demo:crm", name="x")
    with pytest.raises(mcpnb.ConfigError):
        serve(Stage(adder()), name="x")


def test_serving_a_server_built_elsewhere_takes_off_the_root_logging_it_set_up():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        root.handlers[:] = []
        MCPServer("elsewhere")  # the SDK calls logging.basicConfig here
        assert root.handlers  # (that is the habit being undone)
        notes = serve(MCPServer("elsewhere"), name="elsewhere")
        notes.tools
        assert not [h for h in root.handlers if getattr(h.formatter, "_fmt", None) == "%(message)s"]
        assert root.level != logging.INFO
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.fixture
def kernel():
    k = Kernel()
    k.run("%load_ext mcpnb\nimport mcpnb")
    yield k
    if k.manager.is_alive():
        k.stop(now=True)


CELL_V1 = '''%%mcp server notes
@server.tool()
def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b
'''

CELL_V2 = '''%%mcp server notes
@server.tool()
def multiply(a: int, b: int) -> int:
    """Multiply two whole numbers."""
    return a * b
'''


def test_a_server_in_a_cell_swaps_in_place_and_logs_nothing_under_cells(kernel):
    shown = kernel.run(CELL_V1)
    assert "notes" in shown  # the cell's value: the connection
    assert kernel.run("notes = mcpnb.servers()['notes']\nnotes.call('add', a=2, b=3).structured") == \
        "{'result': 5}"
    assert kernel.run("'server' in dir()") == "False"  # `server` meant the new MCPServer in that cell only
    kernel.run(CELL_V2)
    assert kernel.run("notes.call('multiply', a=3, b=4).structured") == "{'result': 12}"
    assert kernel.run("len(mcpnb.servers()), notes.tools.names") == "(1, ['multiply'])"
    # The SDK's request logs (INFO, through the root logger it configures) print nothing.
    msg_id = kernel.start("notes.call('multiply', a=1, b=1).structured")
    content, messages = kernel.outputs(msg_id)
    assert content["status"] == "ok"
    assert not [m for m in messages if m["msg_type"] == "stream"], messages


def test_an_error_in_the_cell_is_an_ordinary_cell_error_and_the_old_definitions_stay(kernel):
    kernel.run(CELL_V1)
    kernel.run("notes = mcpnb.servers()['notes']")
    msg_id = kernel.start("%%mcp server notes\n@server.tool()\ndef broken() -> int:\n    return 1\n1 / 0\n")
    content, _ = kernel.outputs(msg_id)
    assert content["status"] == "error" and content["ename"] == "ZeroDivisionError"
    rendered = "\n".join(content["traceback"])
    plain = re.sub(r"\x1b\[[0-9;]*m", "", rendered)
    cells = re.findall(r"Cell In\[(\d+)\], line (\d+)", plain)
    assert len(cells) == 2 and cells[0][0] == cells[1][0] and cells[1][1] == "5", plain  # the person's cell
    assert "----> 5 1 / 0" in plain  # and their own line in it
    assert "magics.py" not in rendered and "serving.py" not in rendered  # not mcpnb's frames
    assert kernel.run("notes.tools.names") == "['add']"  # nothing was swapped
    msg_id = kernel.start("%mcp server notes")
    content, _ = kernel.outputs(msg_id)
    assert content["status"] == "error" and "from the cell" in content["evalue"]
