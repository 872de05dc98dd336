"""The widgets in a real browser: JupyterLab (and Notebook 7), Debian's chromium, driven by
Playwright as a person would use them. Screenshots go to test-artifacts/browser/.

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
    """JupyterLab serving a temporary folder; yields (base URL, token, folder).

    The same server serves Notebook 7 (/tree, /notebooks/...): the notebook package is a server
    extension. Both expose ``window.jupyterapp``, so a test can run commands (the theme, run all).
    Settings and workspaces live in temporary folders: a test that switches the theme never
    touches the person's own ~/.jupyter."""
    folder = tmp_path_factory.mktemp("lab")
    settings = tmp_path_factory.mktemp("lab-settings")
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false"}')  # no "get notified about Jupyter news?" over the screenshots
    port, token = free_port(), "mcpnb-browser-test"
    argv = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
            f"--ServerApp.token={token}", f"--notebook-dir={folder}", "--ServerApp.open_browser=False",
            "--LabApp.expose_app_in_browser=True", "--JupyterNotebookApp.expose_app_in_browser=True"]
    if os.geteuid() == 0:
        argv.append("--allow-root")
    log = (tmp_path_factory.mktemp("lab-log") / "lab.log").open("w")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=folder,
                               env={**os.environ, "MCPNB_DEMO_DIR": str(demo_data),
                                    "JUPYTERLAB_SETTINGS_DIR": str(settings),
                                    "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path_factory.mktemp("lab-workspaces"))})
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
    """The input a form label is tied to, as a person (or a screen reader) finds it."""
    return explorer.get_by_label(label, exact=True).first


def test_explorer_pick_fill_call_and_read_the_table(browser, lab):
    page = open_notebook(browser, lab, "explore.ipynb", [
        "import mcpnb\nserver = mcpnb.connect('demo:helpdesk')\nserver.explore()"])
    explorer = appear(page, page.locator(".mcpnb-explorer"), "explorer")
    pick_tool(explorer, "list_orders")
    appear(page, explorer.get_by_text("Customer Email", exact=True), "form")  # labelled by the schema's titles
    field(explorer, "Status").select_option(label="refunded")
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


# -- issue 13 item 6: the explorer in JupyterLab 4 and Notebook 7, light and dark, 900 and 1400 px --------------

FRONTENDS = {"jupyterlab": "/lab/tree/{name}?reset&token={token}", "notebook7": "/notebooks/{name}?token={token}"}
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}
KERNEL_IDLE = """() => {
    const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const context = panel && panel.sessionContext;
    return !!(context && context.session && context.session.kernel && context.kernelDisplayStatus === 'idle');
}"""
# Elements inside the explorer that are meant to scroll sideways inside themselves: a JSON or code
# block (<pre>), a text area, and a wide data table's own scroll box (.mcpnb-scroll, or a call card's
# result view that holds a table: fifteen columns cannot fit 400 px). Anything else that scrolls
# sideways (a form row, a list, a card, a tab, the explorer itself) fails the test.
SCROLLS_INSIDE = "pre, textarea, .mcpnb-scroll, .mcpnb-call .jupyter-widget-TabPanel-tabContents:has(table)"
READABLE = 4.5  # WCAG 2 AA, for all of mcpnb's text (large text would be allowed 3:1; we do not use that)

# Every visible text inside the explorer against what is really behind it. The background is found
# by walking up to the first opaque background colour and laying the translucent ones above it on top
# (then the text colour itself, if translucent). Disabled controls are exempt: WCAG 1.4.3 excludes
# "text that is part of an inactive user interface component". Placeholder text counts when shown.
# A glyph hidden from assistive technology (aria-hidden, e.g. the coloured dot beside "connected",
# whose words say the same) is a graphic, not text: WCAG 1.4.11 asks 3:1 of it.
CONTRAST_JS = """(root, least) => {
    const parse = text => {
        const m = /^rgba?\\(\\s*([\\d.]+)[,\\s]+([\\d.]+)[,\\s]+([\\d.]+)(?:\\s*[,\\/]\\s*([\\d.]+)(%?))?\\s*\\)$/.exec(text);
        if (!m) return null;
        const alpha = m[4] === undefined ? 1 : parseFloat(m[4]) / (m[5] ? 100 : 1);
        return [+m[1], +m[2], +m[3], alpha];
    };
    const over = (top, under) => [0, 1, 2].map(i => top[i] * top[3] + under[i] * (1 - top[3])).concat([1]);
    const channel = v => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    const luminance = c => 0.2126 * channel(c[0]) + 0.7152 * channel(c[1]) + 0.0722 * channel(c[2]);
    const ratio = (a, b) => { const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
                              return (hi + 0.05) / (lo + 0.05); };
    const css = c => `rgb(${c.slice(0, 3).map(Math.round).join(',')})`;
    const describe = el => { const parts = [];
        for (let e = el; e && e !== root && parts.length < 3; e = e.parentElement)
            parts.unshift(e.tagName.toLowerCase() + [...e.classList].slice(0, 3).map(c => '.' + c).join(''));
        return parts.join(' > '); };
    const behind = el => {  // [background colour, opacity of the layers between]
        const layers = []; let opacity = 1;
        for (let e = el; e; e = e.parentElement) {
            const style = getComputedStyle(e);
            const colour = parse(style.backgroundColor);
            if (colour === null) return [null, style.backgroundColor];  // a colour the regex cannot read
            if (colour[3] > 0) { layers.push(colour); if (colour[3] >= 1) break; }
            opacity *= parseFloat(style.opacity);
        }
        let base = [255, 255, 255, 1];  // the canvas, if nothing up the tree is opaque
        for (const layer of layers.reverse()) base = over(layer, base);
        return [base, opacity];
    };
    const found = []; let checked = 0;
    for (const el of [root, ...root.querySelectorAll('*')]) {
        if (['SCRIPT', 'STYLE', 'TEMPLATE', 'svg', 'path'].includes(el.tagName)) continue;
        if (!el.checkVisibility({opacityProperty: true, visibilityProperty: true})) continue;
        if (!el.getClientRects().length) continue;
        if (el.closest(':disabled, [aria-disabled="true"], .mod-disabled')) continue;  // inactive: exempt
        const style = getComputedStyle(el);
        let text = '', colour = style.color, what = '';
        if (el.matches('input:not([type=checkbox]):not([type=radio]):not([type=range]):not([type=color]), textarea')) {
            if (el.value) text = el.value;
            else if (el.placeholder) { text = el.placeholder; colour = getComputedStyle(el, '::placeholder').color;
                                       what = 'placeholder '; }
        } else if (el.tagName === 'SELECT' && !el.multiple && el.size <= 1) {
            text = el.selectedOptions.length ? el.selectedOptions[0].textContent : '';
        } else {
            text = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('');
        }
        text = text.trim();
        if (!text || parseFloat(style.fontSize) === 0) continue;
        checked += 1;
        const [background, opacity] = behind(el);  // opacity is the unread background's text when null
        const ink = parse(colour);
        if (background === null || ink === null) {
            found.push(`${what}"${text.slice(0, 40)}": a colour the test cannot read (${colour}; ${opacity}) at ${describe(el)}`);
            continue;
        }
        ink[3] *= opacity;
        const seen = over(ink, background);
        const r = ratio(seen, background);
        const need = el.closest('[aria-hidden="true"]') ? 3 : least;  // a decoration: a graphic's 3:1
        if (r < need) found.push(`${what}"${text.slice(0, 40)}": ${css(seen)} on ${css(background)} = ${r.toFixed(2)}:1 at ${describe(el)}`);
    }
    return [checked, found];
}"""

# Sideways scrolling: no element in the explorer scrolls sideways but those meant to; nothing sticks
# out past the explorer's right edge unless something in between clips it; the explorer fits its cell.
SCROLLING_JS = """(root, exempt) => {
    const describe = el => { const parts = [];
        for (let e = el; e && parts.length < 3; e = e.parentElement) {
            parts.unshift(e.tagName.toLowerCase() + [...e.classList].slice(0, 3).map(c => '.' + c).join(''));
            if (e === root) break; }
        const input = el.querySelector('input, select, textarea, button');
        const said = (el.getAttribute('aria-label') || (input && (input.getAttribute('aria-label') ||
                      input.placeholder)) || el.textContent || '').trim().slice(0, 40);
        return parts.join(' > ') + (said ? ` ("${said}")` : ''); };
    const found = [];
    const edge = root.getBoundingClientRect();
    const cell = root.closest('.jp-OutputArea-output') || root.parentElement;
    const room = cell.getBoundingClientRect();
    if (edge.right > room.right + 1)
        found.push(`the explorer (${Math.round(edge.width)} px) is wider than its cell's output (${Math.round(room.width)} px)`);
    for (const el of [root, ...root.querySelectorAll('*')]) {
        if (!el.checkVisibility() || !el.getClientRects().length) continue;
        const style = getComputedStyle(el);
        if (el.scrollWidth > el.clientWidth + 1 && ['auto', 'scroll'].includes(style.overflowX) && !el.matches(exempt)) {
            const inner = el.getBoundingClientRect().left + el.clientLeft + el.clientWidth;
            let widest = null;  // the one that makes it scroll: the furthest right edge inside it
            for (const child of el.querySelectorAll('*'))
                if (child.getClientRects().length && (!widest || child.getBoundingClientRect().right >
                                                      widest.getBoundingClientRect().right)) widest = child;
            const by = widest ? `, the widest inside is ${describe(widest)} (${Math.round(widest.getBoundingClientRect().width)} px wide, ${Math.round(widest.getBoundingClientRect().right - inner)} px past)` : '';
            found.push(`${describe(el)} scrolls sideways: ${el.scrollWidth} px of content in ${el.clientWidth} px${by}`);
        }
        const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
        const hidden = el.getBoundingClientRect().width <= 1 || style.clipPath !== 'none';  // for screen readers
        if (own && !hidden && ['hidden', 'clip'].includes(style.overflowX) && style.textOverflow !== 'ellipsis'
            && el.scrollWidth > el.clientWidth + 1)
            found.push(`${describe(el)} has its text cut off: ${el.scrollWidth} px of it in ${el.clientWidth} px`);
        const box = el.getBoundingClientRect();
        if (el !== root && box.width > 0 && box.right > edge.right + 1) {
            let clipped = false;
            for (let e = el.parentElement; e && e !== root; e = e.parentElement)
                if (getComputedStyle(e).overflowX !== 'visible') { clipped = true; break; }
            if (!clipped) found.push(`${describe(el)} sticks out ${Math.round(box.right - edge.right)} px past the explorer's right edge`);
        }
    }
    return found;
}"""


@pytest.fixture(scope="module", params=list(FRONTENDS))
def explorer_page(request, browser, lab):
    """One notebook per front-end with the crm demo's explorer, kept open across its cases: each case
    switches theme and width in the same page instead of loading it again."""
    url, token, folder = lab
    frontend = request.param
    name = f"looks-{frontend}.ipynb"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import mcpnb\nserver = mcpnb.connect('demo:crm')\nserver.explore()")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, folder / name)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(url + FRONTENDS[frontend].format(name=name, token=token))
        page.wait_for_function(KERNEL_IDLE, timeout=60_000)
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        appear(page, page.locator(".mcpnb-explorer"), f"{frontend}-explorer")
        yield frontend, page
    finally:
        if not page.is_closed():
            set_theme(page, "light")  # the settings outlive the page: later tests start in the light theme
        context.close()


def set_theme(page, theme: str) -> None:
    """Switch JupyterLab's (or Notebook 7's) theme in place, as the Settings menu does."""
    name = THEMES[theme]
    page.evaluate("name => window.jupyterapp.commands.execute('apputils:change-theme', {theme: name})", name)
    page.wait_for_function("name => document.body.dataset.jpThemeName === name", arg=name)
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


def labelled(explorer, label: str):
    """A field found by its label: its accessible name, or the label beside it."""
    return explorer.get_by_label(label, exact=True).or_(field(explorer, label)).first


def drive_tools(explorer) -> None:
    """Call a tool with its form filled in (a table comes back), then one that reports an error (an
    error box: in the dark theme these were light boxes with light text); wait for both cards."""
    from playwright.sync_api import expect

    from mcpnb.widgets.explorer import KEEP_CALLS

    cards = explorer.locator(".mcpnb-call")
    before = cards.count()
    for tool, label, value in [("list_leads", "Limit", "4"), ("get_lead", "Lead Id *", "999999")]:
        pick_tool(explorer, tool)
        typed = labelled(explorer, label)
        typed.fill(value)
        typed.press("Tab")
        explorer.get_by_role("button", name="Call").click()
    expect(cards).to_have_count(min(before + 2, KEEP_CALLS), timeout=30_000)
    table, error = cards.nth(1), cards.first  # newest first
    table.get_by_text("done in").wait_for(timeout=30_000)
    expect(table.locator("table").first).to_be_visible()
    error.get_by_text("the tool reported an error").wait_for(timeout=30_000)
    expect(error.get_by_text("999999").first).to_be_visible()


def drive_resources(explorer) -> None:
    """Search the resources, pick the one found, Read it."""
    from playwright.sync_api import expect

    explorer.get_by_placeholder("search resources").fill("playbook")
    listed = labelled(explorer, "Resource")
    expect(listed.locator("option")).to_have_count(1)
    listed.select_option(index=0)
    explorer.get_by_role("button", name="Read").first.click()
    explorer.get_by_text("won / lost: closed").first.wait_for(timeout=30_000)


def drive_prompts(explorer) -> None:
    """Pick a prompt, fill its argument, Get it."""
    labelled(explorer, "Prompt").select_option(label="Follow-up email")
    lead = labelled(explorer, "lead_id *")
    lead.fill("1")
    lead.press("Tab")
    explorer.get_by_role("button", name="Get prompt").click()
    explorer.get_by_text("follow-up email for the lead").first.wait_for(timeout=30_000)


def drive_activity(explorer) -> None:
    """The wire: the calls made on the other tabs are there."""
    explorer.get_by_text("tools/call").filter(visible=True).first.wait_for(timeout=30_000)


def drive_server(explorer) -> None:
    explorer.get_by_text("capabilities").filter(visible=True).first.wait_for(timeout=30_000)


def drive_model_view(explorer) -> None:
    """The tools as the model sees them: counted when the tab is shown, the tool picked in Tools opened
    to its definition; then another provider."""
    provider = labelled(explorer, "Provider")
    provider.select_option(label="Anthropic (Messages API)")  # the page is kept across cases: it may show OpenAI's
    explorer.get_by_text("receives them (format: anthropic)").first.wait_for(timeout=30_000)
    explorer.locator("details[open] pre").first.wait_for(timeout=30_000)  # get_lead, picked on the Tools tab
    provider.select_option(label="OpenAI (Chat Completions)")
    explorer.get_by_text("receives them (format: openai)").first.wait_for(timeout=30_000)
    explorer.get_by_text("the conversion changed").filter(visible=True).first.wait_for(timeout=30_000)


EXPLORER_TABS = {"Tools": drive_tools, "Model's view": drive_model_view, "Resources": drive_resources,
                 "Prompts": drive_prompts, "Activity": drive_activity, "Server": drive_server}


def photograph(page, explorer, width: int, name: str, down_to=None) -> None:
    """The page, tall enough for the explorer (down to the bottom of ``down_to``), scrolled to its top."""
    top = explorer.evaluate("e => e.getBoundingClientRect().top")
    tall = (down_to or explorer).evaluate("e => e.getBoundingClientRect().bottom") - top
    page.set_viewport_size({"width": width, "height": int(min(max(tall + 200, 1000), 6000))})
    explorer.evaluate("e => e.scrollIntoView({block: 'start'})")
    shot(page, name)
    page.set_viewport_size({"width": width, "height": 1000})


@pytest.mark.parametrize("width", [900, 1400])
@pytest.mark.parametrize("theme", list(THEMES))
def test_the_explorer_reads_well_and_fits_in_each_frontend_theme_and_width(explorer_page, theme, width):
    """Issue 13 item 6: in JupyterLab 4 and Notebook 7, light and dark, 900 and 1400 px, each tab
    driven as a person would: every text of the explorer at least 4.5:1 against its background,
    nothing scrolling sideways but what is meant to, and a screenshot of each tab."""
    frontend, page = explorer_page
    page.set_viewport_size({"width": width, "height": 1000})
    set_theme(page, theme)
    explorer = page.locator(".mcpnb-explorer")
    problems = []
    for tab, drive in EXPLORER_TABS.items():
        try:
            explorer.get_by_role("tab", name=tab, exact=True).click()
            drive(explorer)
        except Exception:
            shot(page, f"FAILED-explorer-{frontend}-{theme}-{width}-{tab.lower()}")
            raise
        page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
        checked, dim = explorer.evaluate(CONTRAST_JS, READABLE)
        wide = explorer.evaluate(SCROLLING_JS, SCROLLS_INSIDE)
        newest = explorer.locator(".mcpnb-call").nth(1) if tab == "Tools" else None  # not the older cards
        if tab == "Tools":  # the cards take the explorer's width (beside the list they had half of it)
            card, whole = explorer.locator(".mcpnb-call").first.bounding_box(), explorer.bounding_box()
            assert card["width"] > 0.85 * whole["width"], f"a call card is {card['width']} of {whole['width']} px"
        photograph(page, explorer, width, f"explorer-{frontend}-{theme}-{width}-{tab.lower()}", newest)
        assert checked > 5, f"{tab}: only {checked} texts found to check"
        problems += [f"{tab}, too faint: {line}" for line in dim] + [f"{tab}: {line}" for line in wide]
    assert not problems, f"{frontend}, {theme}, {width} px:\n" + "\n".join(problems)


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


def test_an_mcp_app_runs_sandboxed_and_asks_before_a_destructive_call(browser, lab):
    """The crm's pipeline board in its frame, drawn from the tool's result; Delete waits for the person's
    Allow or Deny; a link is shown, not opened. Beside it an app that tries what an app must not (fetch
    a listener on 127.0.0.1 before and after its head, read the notebook, open a window, call a
    model-only tool, navigate its frame to the listener) and logs what happened: every one is blocked
    and the listener hears nothing."""
    import http.server
    import threading

    heard: list[str] = []

    class Listener(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802  (http.server's name)
            heard.append(self.path)
            self.send_response(200)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()

        def log_message(self, *args):
            pass

    listener = http.server.HTTPServer(("127.0.0.1", free_port()), Listener)
    threading.Thread(target=listener.serve_forever, daemon=True).start()
    spy = Path(__file__).parent / "servers" / "spy_app.py"
    try:
        page = open_notebook(browser, lab, "apps.ipynb", [
            "import mcpnb, sys\ncrm = mcpnb.connect('demo:crm')\nboard = crm.app('pipeline_board', per_stage=2)\n"
            "board",
            f"spy = mcpnb.connect([sys.executable, {str(spy)!r}, 'http://127.0.0.1:{listener.server_port}'], "
            "name='spy')\n"
            f"spy.app('spy', url='http://127.0.0.1:{listener.server_port}/secret')"])
        popups = []
        page.context.on("page", lambda opened: popups.append(opened))
        frames = page.locator("iframe.mcpnb-app-frame")
        proxy = page.frame_locator("iframe.mcpnb-app-frame").first  # mcpnb's sandbox proxy, holding the app
        board = proxy.frame_locator("iframe")
        appear(page, board.locator(".card").first, "board")
        assert frames.first.get_attribute("sandbox") == "allow-scripts"  # never allow-same-origin
        assert proxy.locator("iframe").get_attribute("sandbox") == "allow-scripts"
        assert board.locator("section").count() == 4 and board.locator("section").first.locator(".card").count() == 2
        title = board.locator(".card .title").first.inner_text()

        board.get_by_role("button", name=f"Delete: {title}").click()
        ask = appear(page, page.locator(".mcpnb-app-ask").first, "ask")
        assert "delete_lead(lead_id=" in ask.inner_text()
        shot(page, "mcp-app-asks")
        ask.get_by_role("button", name="Deny").click()
        appear(page, board.get_by_text("The person did not allow delete_lead."), "denied")
        assert board.locator(".card .title").first.inner_text() == title  # still on the board

        board.get_by_role("button", name=f"Open: {title}").click()
        link = appear(page, page.locator(".mcpnb-app-link a").first, "link")
        assert link.get_attribute("href").startswith("https://crm.example.com/leads/")

        notes = page.locator(".mcpnb-app").nth(1).locator(".mcpnb-app-notes")
        appear(page, notes.get_by_text("spy done"), "spy")
        said = notes.inner_text()
        time.sleep(2)  # its last act, navigating its frame to the listener, comes right after "spy done"
        said = notes.inner_text()
        for outcome in ("early fetch: blocked", "fetch: blocked", "parent: blocked", "open: blocked",
                        "model_only: refused"):
            assert outcome in said, said
        assert heard == [] and popups == []  # nothing reached the listener: no fetch, no navigation
        shot(page, "mcp-app-board-and-spy")
    finally:
        listener.shutdown()


def test_the_wire_as_a_sequence_opens_a_message_to_its_readable_json(browser, lab):
    """server.trace.view(): client and server lanes, the newest in view; a message opens to its JSON
    (asked of the kernel when opened), readable; a hostile server string stays text."""
    import json
    import re

    from .test_render import EVIL

    page = open_notebook(browser, lab, "wire.ipynb", [
        f"import mcpnb\nserver = mcpnb.connect({FAULTY!r}, name='faulty')\n"
        f"server.call('echo', text={EVIL!r})\nserver.trace.view()"])
    wire = appear(page, page.locator(".mcpnb-seq"), "wire")
    answer = appear(page, wire.locator("details.mcpnb-seq-response").last, "wire rows")
    assert wire.get_by_text("Client", exact=True).is_visible() and wire.get_by_text("Server", exact=True).is_visible()
    assert answer.is_visible()  # the newest is in view
    answer.locator("summary").focus()
    page.keyboard.press("Enter")  # by keyboard, as a person without a mouse would
    json_box = answer.locator("pre")
    page.wait_for_function("e => e.textContent.startsWith('{')", arg=json_box.element_handle(), timeout=30_000)
    assert json.loads(json_box.inner_text())["result"]["content"][0]["text"] == EVIL  # whole, and as text
    assert wire.locator("img, script, iframe").count() == 0

    def luminance(css: str) -> float:
        channels = [int(v) / 255 for v in re.findall(r"\d+", css)[:3]]
        return sum(w * (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
                   for w, c in zip((0.2126, 0.7152, 0.0722), channels))

    ink, ground = json_box.evaluate("e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]")
    light, dark = sorted((luminance(ink), luminance(ground)), reverse=True)
    assert (light + 0.05) / (dark + 0.05) >= 4.5, (ink, ground)  # readable
    assert json_box.evaluate("e => e.getBoundingClientRect().height") > 60
    assert wire.evaluate("e => e.scrollWidth <= e.clientWidth")  # long lines scroll inside the JSON box only
    shot(page, "wire-sequence-json")
    page.close()


# Every input, text area and list in a root without a name tied to it: a <label> (for= or wrapping) with
# text, or aria-label / aria-labelledby. A placeholder is no label (it goes when the person types).
UNLABELLED_JS = """root => [...root.querySelectorAll('input:not([type=hidden]), textarea, select')].filter(e => {
    const said = el => el && el.textContent.trim() !== '';
    return !([...(e.labels || [])].some(said) || (e.getAttribute('aria-label') || '').trim()
             || (e.getAttribute('aria-labelledby') || '').split(/\\s+/).some(id => said(document.getElementById(id))));
}).map(e => e.outerHTML.slice(0, 160))"""
FOCUSED_JS = """() => { const e = document.activeElement;
    return e.labels && e.labels.length ? e.labels[0].textContent.trim() : e.textContent.trim(); }"""


def test_the_explorer_by_keyboard_alone_with_every_field_labelled(browser, lab):
    """Issue 13 item 1: fields found by their labels; a tool searched, picked, filled and called with
    the keyboard alone, in the order list, fields (schema order), Call; Enter in a field calls too.
    Every input in the explorer has a name tied to it; in the dark theme a disabled Call looks
    disabled; at 900 px the "Copy as code" box wraps inside itself."""
    from playwright.sync_api import expect

    page = open_notebook(browser, lab, "keyboard.ipynb", [
        "import mcpnb\nserver = mcpnb.connect('demo:helpdesk', name='desk')\nserver.explore()"])
    explorer = appear(page, page.locator(".mcpnb-explorer"), "explorer")
    call = explorer.get_by_role("button", name="Call")
    try:  # disabled (no tool picked yet): not the bright primary colour it has once enabled
        set_theme(page, "dark")
        disabled = call.evaluate("e => [e.disabled, getComputedStyle(e).backgroundColor]")
        primary = call.evaluate("e => { e.disabled = false; const c = getComputedStyle(e).backgroundColor;"
                                " e.disabled = true; return c; }")
        assert disabled[0] and disabled[1] != primary, (disabled, primary)
    finally:
        set_theme(page, "light")
    explorer.get_by_label("Search tools", exact=True).focus()
    page.keyboard.type("list_orders")
    expect(explorer.get_by_label("Tool", exact=True).locator("option")).to_have_count(1)  # the kernel has filtered
    page.keyboard.press("Tab")  # to the list
    page.keyboard.press("ArrowDown")  # an arrow key picks the tool (the notebook took it to the next cell)
    appear(page, explorer.get_by_label("Limit", exact=True), "form")
    seen = []
    for _ in range(6):
        page.keyboard.press("Tab")
        seen.append(page.evaluate(FOCUSED_JS))
        if seen[-1] == "Status":
            page.keyboard.press("r")  # the select's own type-ahead: refunded
        elif seen[-1] == "Limit":
            page.keyboard.press("Control+a")
            page.keyboard.type("3")
    assert seen == ["Event Id", "Status", "Customer Email", "Limit", "Offset", "Call"]
    page.keyboard.press("Enter")
    card = explorer.locator(".mcpnb-call").first
    card.get_by_text("done in").wait_for(timeout=30_000)
    statuses = card.locator("table").first.locator("tbody tr")
    assert statuses.count() == 3 and "refunded" in card.inner_text() and "paid" not in card.inner_text()
    email = explorer.get_by_label("Customer Email", exact=True)
    email.focus()
    page.keyboard.type("someone.with.a.rather.long.address.that.does.not.fit.on.one.line@example.org")
    page.keyboard.press("Enter")  # Enter in a one-line field calls the tool
    appear(page, explorer.locator(".mcpnb-call").nth(1), "second call")
    assert "someone.with.a.rather.long" in explorer.locator(".mcpnb-call").first.inner_text()
    explorer.get_by_role("button", name="Copy as code").focus()
    page.keyboard.press("Enter")
    code = explorer.get_by_label("Code for this call", exact=True)
    page.wait_for_function("e => e.value.includes('%mcp call desk.list_orders')", arg=code.element_handle())
    page.set_viewport_size({"width": 900, "height": 1000})
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    fits = code.evaluate("""e => { const box = e.getBoundingClientRect(), column = e.closest('.mcpnb-explorer')
        .getBoundingClientRect(); return [e.scrollWidth <= e.clientWidth, box.right <= column.right]; }""")
    assert fits == [True, True], fits  # wraps inside itself, never cut at the explorer's edge
    for tab in ("Resources", "Prompts", "Activity", "Server", "Tools"):  # every tab drawn once
        explorer.get_by_role("tab", name=tab, exact=True).click()
    shot(page, "explorer-keyboard-labelled")
    assert explorer.evaluate(UNLABELLED_JS) == []
    # Clicked with the mouse, Call keeps the focus, and the notebook's own keys still work: Ctrl+S saves.
    explorer.get_by_role("button", name="Call").click()
    dirty = page.locator(".jp-mod-dirty")
    expect(dirty.first).to_be_visible()
    page.keyboard.press("Control+s")
    expect(dirty).to_have_count(0)
    page.close()
