"""The widgets in a real browser: JupyterLab, Debian's chromium, driven by Playwright
as a person would use them. Screenshots go to test-artifacts/browser/.

``make test`` installs chromium where it is missing; run alone, these tests are
skipped (with the reason) on a machine without it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from .conftest import FAULTY, free_port

CHROMIUM = os.environ.get("MCPNB_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts" / "browser"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no chromium at {CHROMIUM} (make test installs it)")
PAGES: list = []  # pages opened by the running test
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory, demo_data):
    """JupyterLab serving a temporary folder; yields (base URL, token, folder)."""
    folder = tmp_path_factory.mktemp("lab")
    port, token = free_port(), "mcpnb-browser-test"
    argv = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
            f"--ServerApp.token={token}", f"--notebook-dir={folder}", "--ServerApp.open_browser=False"]
    if os.geteuid() == 0:
        argv.append("--allow-root")
    log = (tmp_path_factory.mktemp("lab-log") / "lab.log").open("w")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=folder,
                               env={**os.environ, "MCPNB_DEMO_DIR": str(demo_data)})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "JupyterLab did not start"
            time.sleep(0.3)
    yield url, token, folder
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(autouse=True)
def keep_a_screenshot_of_failures(request):
    """Every page still open after a test ends (a failed test leaves it open) is photographed."""
    PAGES.clear()
    yield
    for number, page in enumerate(PAGES):
        if not page.is_closed():
            shot(page, f"FAILED-{request.node.name}-{number}")
            page.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


def open_notebook(browser, lab, name: str, cells: list[str]):
    """Write a notebook, open it in JupyterLab, run all its cells; return the page."""
    url, token, folder = lab
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, folder / name)
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    PAGES.append(page)
    page.goto(f"{url}/lab/tree/{name}?token={token}&reset")  # reset: no tabs restored from earlier tests
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=60_000)  # the kernel is up
    page.locator(".jp-Cell").first.click()
    page.keyboard.press("Escape")  # command mode: Shift+Enter runs a cell and moves to the next
    for _ in cells:
        page.keyboard.press("Shift+Enter")
    return page


def appear(page, locator, name: str, timeout: float = 60_000):
    """Wait for ``locator``; on a timeout, keep a screenshot of what the page showed instead."""
    try:
        locator.wait_for(timeout=timeout)
    except Exception:
        shot(page, f"FAILED-{name}")
        raise
    return locator


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def pick_tool(explorer, name: str) -> None:
    """Click the tool in the explorer's list (labelled "Title (name)", or just the name)."""
    tools = explorer.locator("select").first
    tools.locator("option").first.wait_for()
    labels = tools.locator("option").all_inner_texts()
    label = next(t for t in labels if t.split("  [")[0] == name or f"({name})" in t)
    tools.select_option(label=label)


def field(explorer, label: str):
    """The input next to a form label, as a person would find it."""
    return explorer.locator(f".widget-hbox:has(> .widget-label:text-is('{label}')) input").first


def test_explorer_pick_fill_call_and_read_the_table(browser, lab):
    page = open_notebook(browser, lab, "explore.ipynb", [
        "import mcpnb\nserver = mcpnb.connect('demo:helpdesk')\nserver.explore()"])
    explorer = appear(page, page.locator(".mcpnb-explorer"), "explorer")
    pick_tool(explorer, "list_orders")
    appear(page, explorer.get_by_text("Customer Email", exact=True), "form")  # labelled by the schema's titles
    explorer.locator(".widget-hbox:has(> .widget-label:text-is('Status')) select").select_option(label="refunded")
    field(explorer, "Limit").fill("5")
    field(explorer, "Limit").press("Tab")
    explorer.get_by_role("button", name="Call").click()
    table = explorer.locator(".mcpnb-call table").first
    table.wait_for(timeout=30_000)
    shot(page, "explorer-call-table")
    rows = table.locator("tbody tr")
    assert rows.count() == 5
    assert all(text == "refunded" for text in table.locator("tbody tr td:nth-child(9)").all_inner_texts()) or \
        "refunded" in table.inner_text()
    explorer.get_by_role("button", name="Copy as code").click()
    code = explorer.locator(".mcpnb-code textarea")
    deadline = time.monotonic() + 15
    while "%mcp call" not in code.input_value() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert code.input_value().startswith("%mcp call helpdesk.list_orders")
    assert "status=refunded" in code.input_value() and "limit=5" in code.input_value()
    page.close()


def test_an_elicitation_is_answered_from_its_form(browser, lab):
    page = open_notebook(browser, lab, "elicit.ipynb", [
        "import mcpnb\nserver = mcpnb.connect('demo:helpdesk', name='desk')\n"
        "order = server.call('list_orders', status='paid', limit=1).data['orders'][0]['id']\nprint(order)",
        "server.explore()"])
    explorer = appear(page, page.locator(".mcpnb-explorer"), "explorer")
    order = page.locator(".jp-OutputArea-output pre").first.inner_text().strip()
    pick_tool(explorer, "refund_order")
    field(explorer, "Order Id *").fill(order)
    field(explorer, "Reason *").fill("asked in the browser")
    field(explorer, "Reason *").press("Tab")
    explorer.get_by_role("button", name="Call").click()
    question = explorer.locator(".mcpnb-elicitation")
    question.wait_for(timeout=30_000)
    assert f"Refund order {order}" in question.inner_text()
    shot(page, "elicitation-form")
    question.get_by_role("button", name="Accept").click()
    card = explorer.locator(".mcpnb-call").first
    card.get_by_text("done in").wait_for(timeout=30_000)
    card.get_by_role("tab", name="JSON").click()
    assert '"status": "refunded"' in card.inner_text()
    shot(page, "elicitation-answered")
    page.close()


def test_a_progress_bar_advances_and_cancel_stops_the_call(browser, lab, tmp_path):
    marker = tmp_path / "marker"
    page = open_notebook(browser, lab, "progress.ipynb", [
        f"import mcpnb\nserver = mcpnb.connect({FAULTY!r}, name='faulty')\nserver.explore()"])
    explorer = appear(page, page.locator(".mcpnb-explorer"), "explorer")
    pick_tool(explorer, "slow")
    field(explorer, "Seconds *").fill("60")
    field(explorer, "Marker").fill(str(marker))
    field(explorer, "Marker").press("Tab")
    explorer.get_by_role("button", name="Call").click()
    card = explorer.locator(".mcpnb-call").first
    bar = card.locator(".progress-bar")
    bar.wait_for(timeout=30_000)
    widths = []
    for _ in range(3):
        time.sleep(1.2)
        widths.append(float(bar.evaluate("e => e.getBoundingClientRect().width")))
    assert widths[0] < widths[-1], widths  # it advances
    shot(page, "progress")
    card.get_by_role("button", name="Cancel").click()
    card.get_by_text("cancelled after").wait_for(timeout=15_000)
    deadline = time.monotonic() + 10
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.read_text() == "cancelled"  # the server was told
    shot(page, "cancelled")
    page.close()


def test_an_awaited_call_in_a_cell_shows_its_bar_and_cancel(browser, lab, tmp_path):
    """In a cell, not the explorer: the bar under the cell advances, and Cancel stops an awaited call."""
    marker = tmp_path / "marker"
    page = open_notebook(browser, lab, "cell-progress.ipynb", [
        f"import mcpnb\nserver = mcpnb.connect({FAULTY!r}, name='faulty')",
        f"await server.acall('slow', seconds=60, marker={str(marker)!r})"])
    line = appear(page, page.locator(".mcpnb-progress"), "cell progress")
    bar = line.locator(".progress-bar")
    widths = []
    for _ in range(3):
        time.sleep(1.2)
        widths.append(float(bar.evaluate("e => e.getBoundingClientRect().width")))
    assert widths[0] < widths[-1], widths
    shot(page, "cell-progress")
    line.get_by_role("button", name="Cancel").click()
    error = appear(page, page.get_by_text("was cancelled with its Cancel button"), "cell cancelled", 15_000)
    assert "CallCancelled" in page.locator(".jp-OutputArea-output").last.inner_text() or error.is_visible()
    deadline = time.monotonic() + 10
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.read_text() == "cancelled"
    shot(page, "cell-cancelled")
    page.close()


def test_a_sign_in_in_chromium_comes_back_to_the_loopback_listener(browser, tmp_path, monkeypatch):
    """The person's part for real: the flow opens the sign-in page (here $BROWSER hands the address to
    chromium), the person signs in on the demo's page, and the browser's redirect reaches mcpnb's
    one-login listener on 127.0.0.1, which answers it and closes."""
    import threading
    import webbrowser

    import mcpnb
    from mcpnb.demo.authserver import running

    opened = tmp_path / "opened.txt"
    script = tmp_path / "hand_over.py"
    script.write_text(f"import sys\nopen({str(opened)!r}, 'w').write(sys.argv[1])\n")
    monkeypatch.setenv("BROWSER", f"{sys.executable} {script} %s")
    monkeypatch.setattr(webbrowser, "_tryorder", None)  # webbrowser reads $BROWSER once per process
    with running("helpdesk") as demo:
        outcome: dict = {}

        def connect() -> None:
            try:
                outcome["server"] = mcpnb.connect(demo.credentials.mcp_url, auth=mcpnb.OAuth(storage="memory"))
            except BaseException as error:  # reported below
                outcome["error"] = error

        worker = threading.Thread(target=connect)
        worker.start()
        deadline = time.monotonic() + 30
        while not opened.exists() or not opened.read_text():
            assert time.monotonic() < deadline and worker.is_alive(), outcome.get("error", "no browser was opened")
            time.sleep(0.05)
        page = browser.new_page(viewport={"width": 900, "height": 700})
        PAGES.append(page)
        page.goto(opened.read_text())
        page.get_by_label("User").fill("ada")
        page.get_by_label("Password").fill(demo.credentials.password)
        shot(page, "sign-in-page")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("Signed in to").wait_for(timeout=15_000)
        assert page.url.startswith("http://127.0.0.1:") and "/callback?code=" in page.url
        shot(page, "signed-in")
        worker.join(30)
        assert "error" not in outcome, outcome.get("error")
        server = outcome["server"]
        assert len(server.tools) > 5 and server.auth.signed_in
        page.close()
        with pytest.raises(OSError):
            urllib.request.urlopen(page.url, timeout=2)  # the listener is gone
        server.close()
        mcpnb.logout(demo.credentials.mcp_url)
