// The sequence view of mcpnb's protocol trace. Python (mcpnb/widgets/sequence.py) decides what
// each row means; this draws the rows it sends, hides those the method filter leaves out, keeps
// the newest in view unless the person scrolled up, and asks for a message's JSON when it is
// opened. Rows are appended, never rebuilt, so an opened row stays open while messages come.
// Everything from a server goes in as text (textContent), never as markup.

const SLACK = 24; // pixels from the bottom that still count as "at the newest"
const SAID = { "→": "client to server", "←": "server to client", "⇄": "HTTP exchange" };
const LANE = { "→": "c2s", "←": "s2c", "⇄": "both" };
let drawn = 0; // views drawn in this page: unique ids for label-for

function make(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function took(ms) {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function render({ model, el }) {
  drawn += 1;
  const uid = `mcpnb-seq-${drawn}-${Math.random().toString(36).slice(2, 8)}`;
  const root = make("div", "mcpnb-seq");
  // Keys pressed in here are the view's (arrows move between rows), not JupyterLab's notebook shortcuts.
  root.setAttribute("data-lm-suppress-shortcuts", "true");

  const bar = make("div", "mcpnb-seq-bar");
  const label = make("label", "mcpnb-seq-filter-label", "Method");
  const select = make("select", "mcpnb-seq-filter");
  select.id = `${uid}-filter`;
  label.htmlFor = select.id;
  const counts = make("span", "mcpnb-seq-counts");
  bar.append(label, select, counts);

  const dropped = make("div", "mcpnb-seq-dropped");
  const lanes = make("div", "mcpnb-seq-lanes");
  lanes.setAttribute("aria-hidden", "true"); // each row says its direction in words
  const laneNames = make("span", "mcpnb-seq-wire");
  laneNames.append(make("span", "mcpnb-seq-lane", "Client"), make("span", "mcpnb-seq-lane", "Server"));
  lanes.append(make("span", "mcpnb-seq-t", "time"), laneNames, make("span", "mcpnb-seq-info", "message"));

  const list = make("div", "mcpnb-seq-list");
  list.setAttribute("role", "group");
  list.setAttribute("aria-label", "Messages, oldest first; arrow keys move between them, Enter opens one");
  const empty = make("p", "mcpnb-seq-empty");
  const newer = make("button", "mcpnb-seq-newer");
  newer.type = "button";
  root.append(bar, dropped, lanes, list, empty, newer);
  el.append(root);

  const items = new Map(); // row index -> <details>
  const order = []; // row indices in page order (ascending)
  const partners = new Map(); // row index -> indices it belongs with (its request, its answer, its call)
  let following = true; // keep the newest in view
  let unseen = 0; // rows that came while the person was scrolled up
  let stop = null; // the summary in the tab order (one for the whole list: arrows move within)

  const matches = (row) => !model.get("method") || row.topic === model.get("method");
  const atEnd = () => list.scrollHeight - list.scrollTop - list.clientHeight <= SLACK;
  const toEnd = () => { list.scrollTop = list.scrollHeight; };

  function link(a, b) {
    if (a === null || a === undefined || b === null || b === undefined) return;
    if (!partners.has(a)) partners.set(a, new Set());
    if (!partners.has(b)) partners.set(b, new Set());
    partners.get(a).add(b);
    partners.get(b).add(a);
  }

  function mark(index, on) {
    for (const other of partners.get(index) || []) {
      const item = items.get(other);
      if (item) item.classList.toggle("mcpnb-seq-partner", on);
    }
  }

  function build(row) {
    const item = make("details", `mcpnb-seq-row mcpnb-seq-${row.kind} mcpnb-seq-${LANE[row.dir] || "c2s"}`);
    item.dataset.index = String(row.index);
    item.hidden = !matches(row);
    item._row = row;
    const head = make("summary");
    head.tabIndex = -1;
    const wire = make("span", "mcpnb-seq-wire");
    const name = make("span", "mcpnb-seq-label");
    name.append(make("span", "mcpnb-seq-sr", `${SAID[row.dir] || row.dir} ${row.kind}: `));
    name.append(make("span", "mcpnb-seq-method", row.method || row.kind));
    if (row.id) name.append(make("span", "mcpnb-seq-id", `#${row.id}`));
    const arrow = make("span", "mcpnb-seq-arrow");
    arrow.setAttribute("aria-hidden", "true");
    wire.append(name, arrow);
    const info = make("span", "mcpnb-seq-info");
    if (typeof row.ms === "number") info.append(make("span", "mcpnb-seq-badge mcpnb-seq-ms", took(row.ms)));
    if (row.kind === "error") info.append(make("span", "mcpnb-seq-badge mcpnb-seq-bad", "error"));
    for (const word of row.badges || []) info.append(make("span", "mcpnb-seq-badge", word));
    info.append(make("span", "mcpnb-seq-summary", row.summary));
    head.append(make("span", "mcpnb-seq-t", row.time), wire, info);
    const pre = make("pre", "mcpnb-seq-json");
    pre.tabIndex = 0; // it scrolls: reachable by keyboard
    pre.setAttribute("aria-label", `JSON of ${row.method || row.kind}${row.id ? ` #${row.id}` : ""}`);
    item.append(head, pre);
    item.addEventListener("toggle", () => {
      if (!item.open) return;
      following = false; // the person is reading: new rows must not pull this one away
      if (!item.dataset.loaded) {
        item.dataset.loaded = "asked";
        pre.textContent = "loading…";
        model.send({ type: "json", index: row.index });
      }
    });
    item.addEventListener("mouseenter", () => mark(row.index, true));
    item.addEventListener("mouseleave", () => mark(row.index, false));
    head.addEventListener("focus", () => { mark(row.index, true); setStop(head); });
    head.addEventListener("blur", () => mark(row.index, false));
    link(row.index, row.pair);
    link(row.index, row.about);
    return item;
  }

  function reveal(item) {
    // An opened row near the bottom: scroll the list (only the list) so its JSON shows, its head kept in view.
    if (!item.open) return;
    const box = list.getBoundingClientRect();
    const row = item.getBoundingClientRect();
    const below = row.bottom - box.bottom;
    if (below > 0) list.scrollTop += Math.min(below, row.top - box.top);
  }

  function setStop(head) {
    if (stop === head) return;
    if (stop) stop.tabIndex = -1;
    stop = head;
    if (stop) stop.tabIndex = 0;
  }

  function visibleHeads() {
    const heads = [];
    for (const index of order) {
      const item = items.get(index);
      if (item && !item.hidden) heads.push(item.firstChild);
    }
    return heads;
  }

  function placeStop() {
    // While the person is not in the list, its tab stop is the newest row shown.
    const valid = stop && stop.isConnected && !stop.parentElement.hidden;
    if (valid && list.contains(document.activeElement)) return;
    const heads = visibleHeads();
    setStop(heads.length ? heads[heads.length - 1] : null);
  }

  list.addEventListener("keydown", (event) => {
    if (!(event.target instanceof HTMLElement) || event.target.tagName !== "SUMMARY") return;
    const heads = visibleHeads();
    const at = heads.indexOf(event.target);
    let to = null;
    if (event.key === "ArrowDown") to = heads[at + 1];
    else if (event.key === "ArrowUp") to = heads[at - 1];
    else if (event.key === "Home") to = heads[0];
    else if (event.key === "End") to = heads[heads.length - 1];
    else return;
    event.preventDefault();
    if (to) { setStop(to); to.focus(); }
  });

  function add(batch) {
    let added = 0;
    for (const row of batch) {
      if (items.has(row.index)) continue; // a page view that started late gets everything once more
      const item = build(row);
      items.set(row.index, item);
      if (!order.length || row.index > order[order.length - 1]) {
        list.append(item);
        order.push(row.index);
      } else {
        const at = order.findIndex((index) => index > row.index);
        list.insertBefore(item, items.get(order[at]));
        order.splice(at, 0, row.index);
      }
      if (!item.hidden) added += 1;
    }
    const keep = model.get("keep") || 1000;
    while (order.length > keep) {
      const gone = order.shift();
      items.get(gone).remove();
      items.delete(gone);
      for (const other of partners.get(gone) || []) partners.get(other)?.delete(gone);
      partners.delete(gone);
    }
    if (added) {
      if (following) toEnd();
      else unseen += added;
    }
    placeStop();
    tell();
  }

  function filter() {
    for (const index of order) {
      const item = items.get(index);
      item.hidden = !matches(item._row);
    }
    if (following) toEnd();
    placeStop();
    tell();
  }

  function tell() {
    const shown = order.filter((index) => !items.get(index).hidden).length;
    counts.textContent = model.get("method") ? `${shown} of ${order.length} messages` : `${order.length} messages`;
    const lost = model.get("dropped");
    dropped.hidden = !lost;
    dropped.textContent = lost ? `${lost} earlier message${lost === 1 ? " is" : "s are"} no longer kept (the trace keeps the last ${model.get("keep")}).` : "";
    empty.hidden = order.length > 0 && shown > 0;
    empty.textContent = order.length ? "No messages for this method." : (model.get("note") || "No messages yet.");
    newer.hidden = following || !unseen;
    newer.textContent = `${unseen} newer ↓`;
    newer.setAttribute("aria-label", `Show the ${unseen} newer messages`);
  }

  function fillMethods() {
    const chosen = model.get("method") || "";
    const names = [...(model.get("methods") || [])];
    if (chosen && !names.includes(chosen)) names.push(chosen);
    const options = [make("option", "", "all methods")];
    options[0].value = "";
    for (const name of names) {
      const option = make("option", "", name);
      option.value = name;
      options.push(option);
    }
    select.replaceChildren(...options);
    select.value = chosen;
  }

  select.addEventListener("change", () => {
    model.set("method", select.value);
    model.save_changes();
  });
  list.addEventListener("scroll", () => {
    following = atEnd();
    if (following) unseen = 0;
    tell();
  });
  newer.addEventListener("click", () => {
    following = true;
    unseen = 0;
    toEnd();
    tell();
  });
  // Drawn in a hidden tab (the explorer's Activity), the list has no height until it is shown.
  const resized = new ResizeObserver(() => { if (following) toEnd(); });
  resized.observe(list);

  const heard = (message) => {
    if (!message || typeof message !== "object") return;
    if (message.type === "rows" && Array.isArray(message.rows)) add(message.rows);
    else if (message.type === "json") {
      const item = items.get(message.index);
      if (!item) return;
      item.dataset.loaded = "yes";
      item.querySelector(".mcpnb-seq-json").textContent = String(message.text);
      reveal(item);
    }
  };
  const chosen = () => { select.value = model.get("method") || ""; filter(); };
  model.on("msg:custom", heard);
  model.on("change:method", chosen);
  model.on("change:methods", fillMethods);
  model.on("change:dropped", tell);
  model.on("change:note", tell);

  fillMethods();
  tell();
  model.send({ type: "ready" }); // Python answers with every row so far

  return () => {
    model.off("msg:custom", heard);
    model.off("change:method", chosen);
    model.off("change:methods", fillMethods);
    model.off("change:dropped", tell);
    model.off("change:note", tell);
    resized.disconnect();
    model.send({ type: "gone" }); // this page view is gone (its output cleared): Python may rest
  };
}

export default { render };
