"""The crm's pipeline board: an MCP App (the ``io.modelcontextprotocol/ui`` extension).

``pipeline_board`` is a read-only tool whose ``_meta.ui.resourceUri`` names
``ui://crm/pipeline-board.html``, a small HTML document a host shows in a
sandboxed iframe: one column per open stage, a card per lead. The board
speaks to its host in the extension's JSON-RPC over ``postMessage``: it
initializes, draws the tool's result, and from its buttons calls
``move_lead`` (an update), ``delete_lead`` (destructive: the host asks the
person first), asks the host to open a link (a host shows it, it does not
open it), sends a message, logs, and reports its height. A client that did
not negotiate the extension gets the same data as text and structured content.

Built with the SDK's server-side ``Apps``; the page uses no library and
fetches nothing, so it runs under a host's strictest policy.
"""

from __future__ import annotations

import sqlite3

from mcp.server.apps import Apps
from pydantic import BaseModel, Field

from .kit import READ_ONLY, rows_of

URI = "ui://crm/pipeline-board.html"
OPEN_STAGES = ("new", "qualified", "proposal", "negotiation")


class BoardCard(BaseModel):
    id: int
    title: str
    organisation: str
    value: float
    owner: str


class BoardColumn(BaseModel):
    stage: str
    count: int
    value: float
    leads: list[BoardCard]


class Board(BaseModel):
    owner: str | None
    columns: list[BoardColumn]


def board_app(db: sqlite3.Connection) -> Apps:
    """The Apps extension holding the board's tool and its page, over the crm's ``db``."""
    apps = Apps()

    @apps.tool(resource_uri=URI, title="Pipeline board", annotations=READ_ONLY)
    def pipeline_board(
        owner: str | None = Field(None, description="only this salesperson's leads"),
        per_stage: int = Field(5, ge=1, le=20, description="cards shown per stage, largest value first"),
    ) -> Board:
        """The open pipeline as a board: one column per stage, the largest leads on top.
        Hosts that show MCP Apps draw it as a board you can move leads on."""
        columns = []
        for stage in OPEN_STAGES:
            condition, params = "l.stage = ?", [stage]
            if owner:
                condition, params = condition + " AND l.owner = ?", [stage, owner]
            count, value = db.execute(f"SELECT COUNT(*), COALESCE(SUM(value), 0) FROM leads l WHERE {condition}",
                                      params).fetchone()
            cards = rows_of(db, "SELECT l.id, l.title, o.name AS organisation, l.value, l.owner FROM leads l "
                                f"JOIN organisations o ON o.id = l.organisation_id WHERE {condition} "
                                "ORDER BY l.value DESC, l.id LIMIT ?", *params, per_stage)
            columns.append(BoardColumn(stage=stage, count=count, value=round(value, 2),
                                       leads=[BoardCard(**card) for card in cards]))
        return Board(owner=owner, columns=columns)

    apps.add_html_resource(URI, PAGE, name="pipeline-board", title="Pipeline board",
                           description="The pipeline board app of the pipeline_board tool", prefers_border=True)
    return apps


# The page. Colours come from the host's style variables (hostContext.styles), with fallbacks.
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Pipeline board</title>
<style>
  body { margin: 0; font: 13px var(--font-sans, system-ui, sans-serif);
         color: var(--color-text-primary, CanvasText); background: var(--color-background-primary, Canvas); }
  header { display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; padding: 6px 8px; }
  header h1 { font-size: 14px; margin: 0; }
  .muted { color: var(--color-text-secondary, GrayText); }
  .board { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 8px; padding: 0 8px 8px; }
  .column { background: var(--color-background-secondary, transparent); border-radius: 6px; padding: 6px;
            border: 1px solid var(--color-border-primary, GrayText); }
  .column h2 { font-size: 12px; margin: 0 0 6px; text-transform: capitalize; }
  .card { border: 1px solid var(--color-border-primary, GrayText); border-radius: 4px; padding: 5px;
          margin-bottom: 6px; background: var(--color-background-primary, Canvas); }
  .card .title { font-weight: 600; overflow-wrap: anywhere; }
  .actions { display: flex; gap: 4px; flex-wrap: wrap; margin-top: 4px; }
  button { font: inherit; font-size: 12px; padding: 1px 6px; cursor: pointer;
           color: var(--color-text-primary, ButtonText); background: var(--color-background-tertiary, ButtonFace);
           border: 1px solid var(--color-border-primary, ButtonBorder); border-radius: 3px; }
  button:focus-visible { outline: 2px solid var(--color-ring-primary, Highlight); }
  #status { min-height: 1em; padding: 0 8px 6px; }
</style></head>
<body>
<header><h1>Pipeline board</h1><span id="who" class="muted"></span></header>
<div id="board" class="board" aria-live="polite"><p class="muted">Waiting for the tool's result...</p></div>
<div id="status" class="muted" role="status"></div>
<script>
(() => {
  const NEXT = { new: "qualified", qualified: "proposal", proposal: "negotiation", negotiation: "won" };
  let counter = 0, arguments_ = {};
  const waiting = new Map();

  function send(message) { window.parent.postMessage({ jsonrpc: "2.0", ...message }, "*"); }
  function request(method, params) {
    const id = ++counter;
    send({ id, method, params });
    return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
  }
  function notify(method, params) { send({ method, params }); }
  function status(text) { document.getElementById("status").textContent = text; }
  function log(text) { notify("notifications/message", { level: "info", logger: "pipeline-board", data: text }); }

  function applyContext(context) {
    const variables = context && context.styles && context.styles.variables;
    if (variables) for (const [name, value] of Object.entries(variables)) {
      if (name.startsWith("--") && value) document.documentElement.style.setProperty(name, value);
    }
    if (context && context.theme) document.documentElement.style.colorScheme = context.theme;
  }

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function money(value) { return value.toLocaleString(undefined, { maximumFractionDigits: 0 }); }

  function draw(result) {
    const board = result && result.structuredContent;
    const target = document.getElementById("board");
    target.replaceChildren();
    if (!board || !Array.isArray(board.columns)) {
      target.append(el("p", result && result.isError ? "The tool reported an error." : "No board in the result.", "muted"));
      return;
    }
    document.getElementById("who").textContent = board.owner ? "leads of " + board.owner : "all owners";
    for (const column of board.columns) {
      const box = el("section", undefined, "column");
      box.setAttribute("aria-label", column.stage);
      box.append(el("h2", column.stage + " (" + column.count + ", " + money(column.value) + ")"));
      for (const lead of column.leads) {
        const card = el("article", undefined, "card");
        card.append(el("div", lead.title, "title"), el("div", lead.organisation + " \\u00b7 " + money(lead.value), "muted"),
                    el("div", lead.owner, "muted"));
        const actions = el("div", undefined, "actions");
        const advance = el("button", "\\u2192 " + NEXT[column.stage]);
        advance.onclick = () => act("move_lead", { lead_id: lead.id, stage: NEXT[column.stage] },
                                    "Lead " + lead.id + " moved to " + NEXT[column.stage]);
        const lost = el("button", "Lost");
        lost.onclick = () => act("move_lead", { lead_id: lead.id, stage: "lost" }, "Lead " + lead.id + " lost");
        const remove = el("button", "Delete");
        remove.onclick = () => act("delete_lead", { lead_id: lead.id }, "Lead " + lead.id + " deleted");
        const open = el("button", "Open");
        open.onclick = () => request("ui/open-link", { url: "https://crm.example.com/leads/" + lead.id });
        const ask = el("button", "Ask");
        ask.onclick = () => request("ui/message", { role: "user", content: [
          { type: "text", text: "Prepare the next step for lead " + lead.id + " (" + lead.title + ")." }] });
        for (const button of [advance, lost, remove, open, ask]) button.setAttribute("aria-label",
          button.textContent + ": " + lead.title);
        actions.append(advance, lost, remove, open, ask);
        card.append(actions);
        box.append(card);
      }
      target.append(box);
    }
  }

  async function act(tool, args, done) {
    status("Calling " + tool + "...");
    try {
      const result = await request("tools/call", { name: tool, arguments: args });
      if (result.isError) { status(tool + " failed: " + ((result.content || [])[0] || {}).text); return; }
      log(done);
      draw(await request("tools/call", { name: "pipeline_board", arguments: arguments_ }));
      status(done + ".");
    } catch (error) {
      status(error.message);
    }
  }

  window.addEventListener("message", (event) => {
    if (event.source !== window.parent) return;
    const message = event.data;
    if (!message || message.jsonrpc !== "2.0") return;
    if (message.id !== undefined && !message.method) {
      const pending = waiting.get(message.id);
      if (!pending) return;
      waiting.delete(message.id);
      if (message.error) pending.reject(new Error(message.error.message)); else pending.resolve(message.result);
      return;
    }
    if (message.method === "ui/notifications/tool-input") arguments_ = message.params.arguments || {};
    if (message.method === "ui/notifications/tool-result") draw(message.params);
    if (message.method === "ui/notifications/tool-cancelled") status("The call was cancelled.");
    if (message.method === "ui/notifications/host-context-changed") applyContext(message.params);
    if (message.method === "ui/resource-teardown") send({ id: message.id, result: {} });
  });

  new ResizeObserver(() => notify("ui/notifications/size-changed",
    { height: Math.ceil(document.documentElement.getBoundingClientRect().height) })).observe(document.body);

  request("ui/initialize", { protocolVersion: "2026-01-26", appInfo: { name: "pipeline-board", version: "1.0" },
                             appCapabilities: {} })
    .then((answer) => { applyContext(answer.hostContext); notify("ui/notifications/initialized", {}); })
    .catch((error) => status("The host did not start the app: " + error.message));
})();
</script>
</body></html>
"""
