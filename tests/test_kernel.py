"""The sync API inside a real Jupyter kernel: notebooks, interrupts, kernel shutdown."""

from __future__ import annotations

import queue
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from .conftest import FAULTY, alive, wait_gone

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebook_runs_top_to_bottom(name, tmp_path, monkeypatch):
    """Every tutorial on a fresh kernel; its own asserts say what matters. The demo data lives
    in a folder of its own (notebooks reset it), never the user's."""
    monkeypatch.setenv("MCPNB_DEMO_DIR", str(tmp_path))
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(notebook, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    assert not list(NOTEBOOKS.glob("*.csv"))  # nothing written next to the notebooks


class Kernel:
    """A real IPython kernel, driven the way Jupyter drives it."""

    def __init__(self) -> None:
        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel()
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def start(self, code: str, allow_stdin: bool = True) -> str:
        # As a person runs one cell after another: an error does not abort the next cell
        # (stop_on_error aborts requests queued behind a failing one, racing the next run).
        return self.client.execute(code, allow_stdin=allow_stdin, stop_on_error=False)

    def reply(self, msg_id: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            message = self.client.get_shell_msg(timeout=max(0.01, deadline - time.monotonic()))
            if message["parent_header"].get("msg_id") == msg_id:
                return message["content"]

    def run(self, code: str, timeout: float = 60, allow_stdin: bool = True) -> str:
        """Execute code; return what it printed and its result, or fail with its error."""
        msg_id = self.start(code, allow_stdin)
        content = self.reply(msg_id, timeout)
        assert content["status"] == "ok", content.get("evalue")
        shown = []
        while True:
            try:
                message = self.client.get_iopub_msg(timeout=0.5)
            except queue.Empty:
                break
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            if message["msg_type"] == "stream":
                shown.append(message["content"]["text"])
            elif message["msg_type"] == "execute_result":
                shown.append(message["content"]["data"]["text/plain"])
            elif message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                break
        return "".join(shown).strip()

    def outputs(self, msg_id: str, timeout: float = 60) -> tuple[dict, list[dict]]:
        """Execute-reply content and every iopub message of that cell, up to its idle status."""
        content = self.reply(msg_id, timeout)
        seen = []
        while True:
            message = self.client.get_iopub_msg(timeout=10)
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                return content, seen
            seen.append(message)

    def click(self, comm_id: str) -> None:
        """What a frontend sends when a button is clicked."""
        self.client.session.send(self.client.shell_channel.socket, "comm_msg", {
            "comm_id": comm_id, "data": {"method": "custom", "content": {"event": "click"}}})

    def stop(self, now: bool = False) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=now)


@pytest.fixture
def kernel():
    k = Kernel()
    yield k
    if k.manager.is_alive():
        k.stop(now=True)


def test_interrupt_cancels_the_call_and_keeps_the_connection(kernel, tmp_path):
    # Only the blocking call: ipykernel 7.4 does not deliver an interrupt to a cell suspended
    # in a top-level await at all, even `await asyncio.sleep(60)` (ipykernel issue #881).
    marker = tmp_path / "marker"
    kernel.run(f"import mcpnb\nserver = mcpnb.connect({FAULTY!r}, name='faulty')")
    msg_id = kernel.start(f"server.call('slow', seconds=60, marker={str(marker)!r})")
    time.sleep(1.5)  # the call is under way
    assert not marker.exists()
    interrupted = time.monotonic()
    kernel.manager.interrupt_kernel()
    content = kernel.reply(msg_id, timeout=10)
    returned_after = time.monotonic() - interrupted
    assert content["status"] == "error"
    assert content["ename"] == "Interrupted"  # a KeyboardInterrupt, saying what it stopped
    assert len(content["traceback"]) <= 3, content["traceback"]  # the line and one message, not 40 lines
    assert "request was cancelled on the server" in content["traceback"][-1]
    assert returned_after < 1.0, returned_after
    deadline = time.monotonic() + 5
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert marker.read_text() == "cancelled"  # the server was told and stopped
    assert kernel.run("server.call('echo', text='still here').text") == "'still here'"


def test_errors_in_a_cell_are_one_readable_message(kernel):
    msg_id = kernel.start(f"import mcpnb\nmcpnb.connect({[*FAULTY, '--fail-start', '3']!r}, name='broken')")
    content = kernel.reply(msg_id)
    assert content["ename"] == "ServerStartError"
    assert "exited while connecting (exit code 3)" in content["evalue"]
    rendered = "\n".join(content["traceback"])
    assert "ExceptionGroup" not in rendered and "site-packages" not in rendered  # no anyio or SDK frames
    assert "runtime.py" not in rendered and "mcpnb/" not in rendered  # nor mcpnb's own
    assert "Cell In[" in rendered and "----> mcpnb.connect(" in rendered.replace("\x1b[32m", "").replace(
        "\x1b[0m", "")  # the person's own line, then the message
    assert len(content["traceback"]) <= 8
    assert kernel.run("1 + 1") == "2"  # the kernel is alive
    kernel.run("import mcpnb.errors\nmcpnb.errors.full_tracebacks = True")
    whole = kernel.reply(kernel.start(f"mcpnb.connect({[*FAULTY, '--fail-start', '3']!r}, name='broken')"))
    assert "runtime.py" in "\n".join(whole["traceback"])  # the switch brings every frame back


@pytest.mark.parametrize("now", [False, True], ids=["shutdown", "killed"])
def test_kernel_shutdown_leaves_no_server_process(kernel, now):
    pids = kernel.run(
        f"import mcpnb\na = mcpnb.connect({FAULTY!r}, name='a')\nb = mcpnb.connect('demo:helpdesk')\n"
        "print(a.pid, b.pid)")
    pids = [int(p) for p in pids.split()]
    assert all(alive(pid) for pid in pids)
    kernel.stop(now=now)  # now=True kills the kernel: the servers see their stdin close
    assert all(wait_gone(pid, 10) for pid in pids)


def test_a_blocked_cell_answers_the_server_on_stdin(kernel, demo_data):
    # A cell blocked in a synchronous call processes no widget events, so the question
    # goes to the kernel's input box (stdin), which Jupyter shows under the cell.
    kernel.run(f"import os\nos.environ['MCPNB_DEMO_DIR'] = {str(demo_data)!r}\nimport mcpnb\n"
               "server = mcpnb.connect('demo:helpdesk')\n"
               "order = server.call('list_orders', status='paid', limit=1).data['orders'][0]['id']")
    msg_id = kernel.client.execute("server.call('refund_order', order_id=order, reason='asked on stdin')"
                                   ".structured['status']", allow_stdin=True)
    prompts = []
    for answer in ("a", "", ""):  # accept; keep both defaults
        request = kernel.client.get_stdin_msg(timeout=30)
        assert request["msg_type"] == "input_request"
        prompts.append(request["content"]["prompt"])
        kernel.client.input(answer)
    assert kernel.reply(msg_id)["status"] == "ok"
    assert prompts[0].startswith("[a]ccept") and "Confirm" in prompts[1] and "default True" in prompts[1]
    assert kernel.run("server.call('get_order', order_id=order).structured['status']") == "'refunded'"


def test_a_blocked_cell_without_stdin_cancels_instead_of_hanging(kernel, demo_data):
    # nbclient and other frontends that take no input: the question is cancelled, and said so.
    kernel.run(f"import os\nos.environ['MCPNB_DEMO_DIR'] = {str(demo_data)!r}\nimport mcpnb\n"
               "server = mcpnb.connect('demo:helpdesk')\nexplorer = server.explore()\n"
               "order = server.call('list_orders', status='paid', limit=1).data['orders'][0]['id']")
    text = kernel.run("server.call('refund_order', order_id=order, reason='no stdin').text", timeout=30,
                      allow_stdin=False)
    assert "was not refunded: the person answered cancel" in text
    assert "could not ask on stdin" in kernel.run("print(server.activity['summary'].tolist())")


def _widgets_shown(messages: list[dict]) -> list[str]:
    return [m["content"]["data"]["text/plain"] for m in messages if m["msg_type"] == "display_data"
            and "application/vnd.jupyter.widget-view+json" in m["content"]["data"]]


def test_progress_shows_under_the_cell_that_made_the_call(kernel):
    """Not under the cell that happened to start mcpnb's loop thread (ipykernel routes by context)."""
    first, _ = kernel.outputs(kernel.start(f"import mcpnb\nserver = mcpnb.connect({FAULTY!r}, name='faulty')"))
    assert first["status"] == "ok"
    for code in ("server.call('slow', seconds=1)", "server.call('slow', seconds=1)",
                 "await server.acall('slow', seconds=1)", "server.map('echo', [{'text': 'a'}, {'text': 'b'}])"):
        content, messages = kernel.outputs(kernel.start(code))
        assert content["status"] == "ok", content
        shown = _widgets_shown(messages)
        label = "faulty.echo" if "map" in code else "faulty.slow"
        assert shown == [f"{label}: a progress bar, live while the cell runs"], (code, shown)
        # once done, its plain text (what a saved notebook shows where widgets cannot be drawn) says how it ended
        finals = [m["content"]["data"]["text/plain"] for m in messages if m["msg_type"] == "update_display_data"]
        assert finals and finals[-1].startswith(f"{label}: ") and "live" not in finals[-1], (code, finals)
    content, messages = kernel.outputs(kernel.start("await server.acall('echo', text='quick')"))
    assert _widgets_shown(messages) == []  # a quick call leaves no line behind
    content, messages = kernel.outputs(kernel.start("await server.acall('slow', seconds=2.5, quiet=True)"))
    assert len(_widgets_shown(messages)) == 1  # a slow awaited call gets its line (and Cancel) without progress
    labels = [m["content"]["data"]["state"].get("value") for m in messages if m["msg_type"] == "comm_msg"]
    assert any(str(label).startswith("done in") for label in labels), labels


def test_an_awaited_call_has_a_cancel_button_that_cancels_on_the_server(kernel, tmp_path):
    """ipykernel #881: an interrupt never reaches a cell suspended in await; the button does."""
    marker = tmp_path / "marker"
    kernel.run(f"import mcpnb\nserver = mcpnb.connect({FAULTY!r}, name='faulty')")
    msg_id = kernel.start(f"await server.acall('slow', seconds=60, marker={str(marker)!r})")
    button = None
    deadline = time.monotonic() + 30
    while button is None:
        assert time.monotonic() < deadline, "no Cancel button appeared"
        message = kernel.client.get_iopub_msg(timeout=30)
        state = message["content"].get("data", {}).get("state", {})
        if message["msg_type"] == "comm_open" and state.get("description") == "Cancel":
            button = message["content"]["comm_id"]
    time.sleep(0.5)  # progress is moving
    kernel.click(button)
    content = kernel.reply(msg_id, timeout=15)
    assert content["status"] == "error" and content["ename"] == "CallCancelled"
    assert "faulty.slow was cancelled with its Cancel button" in content["evalue"]
    deadline = time.monotonic() + 10
    while not (marker.exists() and marker.read_text() == "cancelled"):
        assert time.monotonic() < deadline, "the server never saw the cancellation"
        time.sleep(0.05)
    assert kernel.run("server.call('echo', text='still here').text") == "'still here'"


def test_every_notebook_is_linked_from_the_index_and_listed_in_the_readme():
    index = nbformat.read(NOTEBOOKS / "index.ipynb", as_version=4)
    linked = " ".join(c.source for c in index.cells if c.cell_type == "markdown")
    readme = (NOTEBOOKS.parent / "README.md").read_text()
    for path in NOTEBOOKS.glob("*.ipynb"):
        assert f"`{path.stem}`" in readme, f"README does not list {path.name}"
        if path.name != "index.ipynb":
            assert f"]({path.name})" in linked, f"the index does not link {path.name}"


def _sign_in_link(kernel: Kernel, msg_id: str, seen: list[dict]) -> str:
    """The sign-in page's address, from the link the cell shows (its HTML, or the widget's)."""
    import html
    import re

    deadline = time.monotonic() + 30
    while True:
        assert time.monotonic() < deadline, "no sign-in link appeared"
        message = kernel.client.get_iopub_msg(timeout=30)
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        seen.append(message)
        content = message["content"]
        text = content.get("data", {}).get("text/html", "") or str(content.get("data", {}).get("state", {}))
        found = re.search(r'Sign in to .*?href=\\?"([^"\\]+)\\?"', text)
        if found:
            return html.unescape(found.group(1))


def _secrets_of(demo, codes: list[str]) -> list[str]:
    """Every code and token the demo authorization server issued so far."""
    provider = demo.provider
    return [*codes, *provider._access, *provider._refresh]  # the demo's own records (a test may read them)


def test_a_blocked_cell_signs_in_by_pasting_the_address_back(kernel, tmp_path):
    """A kernel where no browser can be opened (a hub, a container): the cell shows the link, the
    kernel's input box takes the address the browser ended on; nothing secret reaches a saved notebook."""
    from mcpnb.demo.authserver import running, sign_in

    with running("helpdesk") as demo:
        kernel.run(f"import os\nos.environ['MCPNB_TOKENS_DIR'] = {str(tmp_path)!r}\n"
                   "os.environ.pop('DISPLAY', None); os.environ.pop('BROWSER', None)\nimport mcpnb")
        msg_id = kernel.start(f"server = mcpnb.connect({demo.credentials.mcp_url!r}, auth='oauth')")
        seen: list[dict] = []
        link = _sign_in_link(kernel, msg_id, seen)
        request = kernel.client.get_stdin_msg(timeout=30)
        assert request["content"]["prompt"].startswith("Paste the address your browser was sent back to")
        back = sign_in(link)
        kernel.client.input(back)
        content, rest = kernel.outputs(msg_id)
        assert content["status"] == "ok", content
        seen += rest
        assert any(m["msg_type"] == "update_display_data" and "finished" in m["content"]["data"]["text/html"]
                   for m in rest)  # the spent link is replaced
        assert kernel.run("print(server.auth.method, len(server.tools) > 5)") == "OAuth authorization code (PKCE) True"

        # Everything a person could save: the cells' outputs, the trace, the explorer's widget state.
        shown = [kernel.start(code) for code in (
            "server", "server.auth", "server.trace", "server.explore()",
            "import ipywidgets, json\nprint(json.dumps(ipywidgets.Widget.get_manager_state()))")]
        cells = [nbformat.v4.new_code_cell(f"connect {i}") for i in range(len(shown) + 1)]
        cells[0].outputs = [nbformat.v4.output_from_msg(m) for m in seen
                            if m["msg_type"] in ("display_data", "stream", "execute_result", "error")]
        for cell, cell_msg in zip(cells[1:], shown):
            reply, messages = kernel.outputs(cell_msg)
            assert reply["status"] == "ok", reply
            cell.outputs = [nbformat.v4.output_from_msg(m) for m in messages
                            if m["msg_type"] in ("display_data", "stream", "execute_result")]
        saved = tmp_path / "saved.ipynb"
        nbformat.write(nbformat.v4.new_notebook(cells=cells), saved)
        text = saved.read_text()
        assert "Sign in to" in text
        code = back.split("code=", 1)[1].split("&", 1)[0]
        for secret in _secrets_of(demo, [code]):
            assert secret not in text
        tokens_file = next(tmp_path.glob("*.json"))
        assert oct(tokens_file.stat().st_mode & 0o777) == "0o600"


def test_an_awaiting_cell_signs_in_through_a_widget(kernel, tmp_path):
    """await aconnect(): a widget with the link, a field for the address, and Cancel."""
    from mcpnb.demo.authserver import running, sign_in

    with running("helpdesk") as demo:
        kernel.run("import os\nos.environ.pop('DISPLAY', None); os.environ.pop('BROWSER', None)\nimport mcpnb")
        msg_id = kernel.start(f"server = await mcpnb.aconnect({demo.credentials.mcp_url!r}, "
                              "auth=mcpnb.OAuth(storage='memory'))")
        widgets: dict[str, dict] = {}
        link = None
        deadline = time.monotonic() + 30
        while link is None or "Continue" not in [w.get("description") for w in widgets.values()]:
            assert time.monotonic() < deadline, "no sign-in widget appeared"
            message = kernel.client.get_iopub_msg(timeout=30)
            if message["msg_type"] == "comm_open":
                state = message["content"]["data"]["state"]
                widgets[message["content"]["comm_id"]] = state
                if "Sign in to" in str(state.get("value", "")):
                    import html
                    import re

                    link = html.unescape(re.search(r'href="([^"]+)"', state["value"]).group(1))
        field = next(comm for comm, state in widgets.items() if state.get("placeholder", "").startswith("the address your browser"))
        button = next(comm for comm, state in widgets.items() if state.get("description") == "Continue")
        back = sign_in(link)
        kernel.client.session.send(kernel.client.shell_channel.socket, "comm_msg", {
            "comm_id": field, "data": {"method": "update", "state": {"value": back}, "buffer_paths": []}})
        time.sleep(0.2)
        kernel.click(button)
        content = kernel.reply(msg_id, timeout=30)
        assert content["status"] == "ok", content
        assert kernel.run("print(len(server.tools) > 5, server.auth.storage)") == "True memory"
        # The pasted address (a one-time code) is not left in the field's state.
        assert back not in kernel.run("import ipywidgets, json\nprint(json.dumps(ipywidgets.Widget.get_manager_state()))")


def test_an_interrupt_stops_a_sign_in_and_closes_its_listener(kernel):
    """The person gives up: the kernel's interrupt ends the waiting connect(); the listener on
    127.0.0.1 is closed, nothing stays registered, and connecting again works."""
    import socket
    from urllib.parse import parse_qs, urlsplit

    from mcpnb.demo.authserver import running

    with running("helpdesk") as demo:
        kernel.run("import os\nos.environ.pop('DISPLAY', None); os.environ.pop('BROWSER', None)\nimport mcpnb")
        msg_id = kernel.start(f"server = mcpnb.connect({demo.credentials.mcp_url!r}, "
                              "auth=mcpnb.OAuth(storage='memory'))")
        link = _sign_in_link(kernel, msg_id, [])
        kernel.client.get_stdin_msg(timeout=30)  # it waits for the person
        port = urlsplit(parse_qs(urlsplit(link).query)["redirect_uri"][0]).port
        socket.create_connection(("127.0.0.1", port), timeout=2).close()  # the listener is up meanwhile
        kernel.manager.interrupt_kernel()
        content = kernel.reply(msg_id, timeout=30)
        assert content["status"] == "error" and content["ename"] == "Interrupted"
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                break
            assert time.monotonic() < deadline, "the listener was left open"
            time.sleep(0.1)
        assert kernel.run("print(mcpnb.servers())") == "{}"
        kernel.run(f"from mcpnb.demo.authserver import sign_in\nserver = mcpnb.connect({demo.credentials.mcp_url!r}, "
                   "auth=mcpnb.OAuth(authorize=sign_in, storage='memory'))")
        assert kernel.run("print(len(server.tools) > 5)") == "True"
