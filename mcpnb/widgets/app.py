"""An MCP App in the notebook: the app's page in a sandboxed iframe under its call.

The frame is an anywidget with a small front-end of our own (``APP_ESM``):
an ``<iframe sandbox="allow-scripts">`` holding a sandbox proxy (the
extension's own pattern), which holds the app's page in an inner frame,
sandboxed the same way. Both run in opaque origins (no same-origin: the app
cannot reach the notebook, its cookies or the kernel). The app's page runs
under the Content-Security-Policy ``mcpnb.apps`` writes as its first element
(nothing fetched from outside unless the resource declared it); the proxy's
own policy (``frame-src 'none'``) stops the page from navigating its frame
elsewhere, which no policy of the page itself can stop. The front-end only relays: it passes each JSON-RPC message the
iframe posts to Python, with what it sees (theme, JupyterLab's colours,
width), and posts back what Python sends. ``mcpnb.apps.AppHost`` decides
every answer; this module connects it to the widget: notes shown under the
frame (messages, links shown and never opened, log lines), the question
asked before a destructive tool runs, the height the app asks for.

Each view of the widget (the same output shown twice) is its own running
app with its own host, told apart by a view id the front-end makes.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from .. import runtime
from ..apps import AppHost, AppResource, load_app
from ..errors import MCPNBError

if TYPE_CHECKING:
    from ..listings import Tool
    from ..results import ToolResult
    from ..server import Server

__all__ = ["AppFrame"]

NOTES_KEPT = 30

APP_ESM = r"""
const LINK = /^(https?:\/\/|mailto:)/;
const READY = "ui/notifications/sandbox-proxy-ready", RESOURCE = "ui/notifications/sandbox-resource-ready";
// The sandbox proxy (the extension's own pattern): the outer frame, ours, holds the app in an inner frame
// and relays messages both ways. Its policy's frame-src 'none' is what stops the app from navigating its
// frame to another address (a navigation is not a fetch: the app's own CSP does not cover it).
const PROXY = `<!DOCTYPE html><meta http-equiv="Content-Security-Policy" content="default-src 'none'; ` +
  `script-src 'unsafe-inline'; style-src 'unsafe-inline'; frame-src 'none'; form-action 'none'; base-uri 'none'">` +
  `<style>html,body{margin:0;height:100%;overflow:hidden}iframe{display:block;border:0;width:100%;height:100%}</style>` +
  `<script>(() => {
  let inner = null;
  window.addEventListener("message", (event) => {
    const message = event.data;
    if (event.source === window.parent) {
      if (!inner && message && message.method === "${RESOURCE}") {
        inner = document.createElement("iframe");
        inner.setAttribute("sandbox", "allow-scripts");
        inner.setAttribute("allow", String(message.params.allow || ""));
        inner.srcdoc = String(message.params.html);
        document.body.appendChild(inner);
      } else if (inner) {
        inner.contentWindow.postMessage(message, "*");
      }
    } else if (inner && event.source === inner.contentWindow) {
      window.parent.postMessage(message, "*");
    }
  });
  window.parent.postMessage({ jsonrpc: "2.0", method: "${READY}", params: {} }, "*");
})();</` + `script>`;
const COLOURS = {  // the extension's style variables, from JupyterLab's theme
  "--color-background-primary": "--jp-layout-color0", "--color-background-secondary": "--jp-layout-color1",
  "--color-background-tertiary": "--jp-layout-color2", "--color-text-primary": "--jp-ui-font-color1",
  "--color-text-secondary": "--jp-ui-font-color2", "--color-text-danger": "--jp-error-color1",
  "--color-text-success": "--jp-success-color1", "--color-text-warning": "--jp-warn-color1",
  "--color-border-primary": "--jp-border-color1", "--color-border-secondary": "--jp-border-color2",
  "--color-ring-primary": "--jp-brand-color1", "--font-sans": "--jp-ui-font-family",
  "--font-mono": "--jp-code-font-family",
};

function element(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

function render({ model, el }) {
  const view = Math.random().toString(36).slice(2) + Date.now().toString(36);
  el.classList.add("mcpnb-app");
  const head = element("div", "", "mcpnb-app-head");
  const frame = document.createElement("iframe");
  frame.setAttribute("sandbox", "allow-scripts");  // never allow-same-origin: the app stays in its own origin
  frame.setAttribute("referrerpolicy", "no-referrer");
  frame.className = "mcpnb-app-frame";
  const asks = element("div", undefined, "mcpnb-app-asks");
  const notes = element("ul", undefined, "mcpnb-app-notes");
  notes.setAttribute("role", "log");
  notes.setAttribute("aria-label", "What the app asked");
  el.append(head, frame, asks, notes);

  function seen() {
    const style = getComputedStyle(el);
    const styles = {};
    for (const [name, ours] of Object.entries(COLOURS)) {
      const value = style.getPropertyValue(ours).trim();
      if (value) styles[name] = value;
    }
    const light = document.body.dataset.jpThemeLight;
    const theme = light === "false" ? "dark" : light === "true" ? "light"
      : (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
    return { theme, styles, width: Math.round(el.clientWidth), locale: navigator.language,
             timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone };
  }

  function draw() {
    head.textContent = model.get("label") + (model.get("state") ? " \u2014 " + model.get("state") : "");
    frame.title = model.get("label");
    frame.style.height = model.get("height") + "px";
    frame.classList.toggle("mcpnb-app-bordered", model.get("border"));
    frame.setAttribute("allow", model.get("allow"));
    frame.style.display = model.get("document") ? "" : "none";
  }

  function drawNotes() {
    notes.replaceChildren();
    for (const note of model.get("notes")) {
      const item = element("li", undefined, "mcpnb-app-note mcpnb-app-" + note.kind);
      if (note.kind === "link") {
        item.append("The app asks to open ");
        if (LINK.test(note.url)) {
          const link = element("a", note.url);
          link.href = note.url;
          link.target = "_blank";
          link.rel = "noopener noreferrer";
          item.append(link);
        } else {
          item.append(element("code", note.url));
        }
        item.append(" (not opened: follow it if you want to)");
      } else if (note.kind === "message") {
        item.append(element("b", "Message from the app: "), note.text);
      } else if (note.kind === "context") {
        item.append(element("b", "Context for the model: "), note.text);
      } else if (note.kind === "answered") {
        item.append(note.text);
      } else {
        item.append(element("b", (note.level || "log") + ": "), note.text || "");
      }
      notes.append(item);
    }
    notes.style.display = model.get("notes").length ? "" : "none";
  }

  function drawAsks() {
    asks.replaceChildren();
    for (const ask of model.get("asks")) {
      const box = element("div", undefined, "mcpnb-app-ask");
      box.setAttribute("role", "alertdialog");
      box.setAttribute("aria-label", "The app asks");
      const allow = element("button", "Allow", "jupyter-button mcpnb-app-allow");
      const deny = element("button", "Deny", "jupyter-button mcpnb-app-deny");
      allow.onclick = () => model.send({ kind: "answer", id: ask.id, allow: true });
      deny.onclick = () => model.send({ kind: "answer", id: ask.id, allow: false });
      box.append(element("span", ask.text), allow, deny);
      asks.append(box);
    }
  }

  function fromApp(event) {
    if (event.source !== frame.contentWindow) return;  // only our own frame's messages
    const message = event.data;
    if (message && message.method === READY) {  // the proxy is up: give it the app's page
      frame.contentWindow.postMessage({ jsonrpc: "2.0", method: RESOURCE, params: {
        html: model.get("document"), sandbox: "allow-scripts", allow: model.get("allow") } }, "*");
      return;
    }
    model.send({ kind: "app", view, message, seen: seen() });
  }

  let loaded = "";
  function load() {  // a new page: a new proxy, which asks for it
    if (model.get("document") && loaded !== model.get("document")) {
      loaded = model.get("document");
      frame.srcdoc = PROXY;
    }
  }

  const onCustom = (message) => {
    if (message && message.kind === "app" && message.view === view && frame.contentWindow) {
      frame.contentWindow.postMessage(message.message, "*");  // an opaque origin: "*" is the only target
    }
  };
  window.addEventListener("message", fromApp);
  model.on("msg:custom", onCustom);
  model.on("change:document", load);
  for (const name of ["label", "state", "height", "border", "allow", "document"]) model.on("change:" + name, draw);
  model.on("change:notes", drawNotes);
  model.on("change:asks", drawAsks);

  let lastWidth = 0, timer = null;
  const tell = () => {
    const now = seen();
    if (Math.abs(now.width - lastWidth) < 8 && !tell.theme) return;
    lastWidth = now.width;
    tell.theme = false;
    model.send({ kind: "seen", view, seen: now });
  };
  const sized = new ResizeObserver(() => { clearTimeout(timer); timer = setTimeout(tell, 200); });
  sized.observe(el);
  const themed = new MutationObserver(() => { tell.theme = true; clearTimeout(timer); timer = setTimeout(tell, 50); });
  themed.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "data-jp-theme-name"] });

  draw(); drawNotes(); drawAsks(); load();
  return () => {
    window.removeEventListener("message", fromApp);
    model.off("msg:custom", onCustom);
    sized.disconnect();
    themed.disconnect();
    clearTimeout(timer);
    model.send({ kind: "gone", view });
  };
}
export default { render };
"""

APP_CSS = """
.mcpnb-app { display: block; width: 100%; max-width: 100%; box-sizing: border-box; margin: 4px 0;
  color: var(--jp-ui-font-color1); font-family: var(--jp-ui-font-family); font-size: var(--jp-ui-font-size1); }
.mcpnb-app-head { color: var(--jp-ui-font-color1); padding: 2px 0 4px; overflow-wrap: anywhere; }
.mcpnb-app-frame { display: block; width: 100%; border: 0; background: var(--jp-layout-color0); }
.mcpnb-app-frame.mcpnb-app-bordered { border: 1px solid var(--jp-border-color1); border-radius: 4px; }
.mcpnb-app-ask { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin: 4px 0; padding: 6px 8px;
  border-left: 4px solid var(--jp-warn-color1); background: var(--jp-layout-color2); color: var(--jp-ui-font-color1); }
.mcpnb-app-notes { margin: 4px 0 0; padding-left: 18px; color: var(--jp-ui-font-color1); }
.mcpnb-app-note { overflow-wrap: anywhere; margin: 2px 0; }
.mcpnb-app-note a { color: var(--jp-content-link-color); }
"""


class AppFrame(anywidget.AnyWidget):
    """A tool's MCP App, running in a sandboxed iframe, hosted by this kernel.

    Made by ``server.app(tool, **arguments)`` (calls the tool and shows its
    app) and by the explorer for a call to a tool that has one. ``notes``
    are what the app asked to show (messages, links, log lines); ``asks``
    the questions waiting for the person (a destructive tool the app wants
    to call); ``answer(id, allow)`` answers one, as the Allow/Deny buttons do.
    """

    _esm = APP_ESM
    _css = APP_CSS
    document = traitlets.Unicode("", help="the app's page, its CSP first").tag(sync=True)
    allow = traitlets.Unicode("", help="the iframe's permissions, those the resource asked for").tag(sync=True)
    label = traitlets.Unicode("").tag(sync=True)
    state = traitlets.Unicode("loading the app...").tag(sync=True)
    height = traitlets.Int(320).tag(sync=True)
    border = traitlets.Bool(True).tag(sync=True)
    notes = traitlets.List(traitlets.Dict()).tag(sync=True)
    asks = traitlets.List(traitlets.Dict()).tag(sync=True)

    def __init__(self, server: Server, tool: Tool, arguments: dict[str, Any]) -> None:
        super().__init__(label=f"{tool.title or tool.name}: app {tool.app} from {server.name}")
        self.server, self.tool, self.arguments = server, tool, dict(arguments)
        self.resource: AppResource | None = None
        self.result: ToolResult | None = None
        self._cancelled: str | None = None
        self._hosts: dict[str, AppHost] = {}
        self._questions: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[bool]]] = {}
        self._numbers = itertools.count(1)
        self._jobs: set[runtime.Job] = set()  # the app's requests being answered
        self._closed = False
        self.on_msg(self._received)
        self._load_job = job = runtime.submit(load_app(server.session, tool))
        self._call_job: runtime.Job | None = None
        job.add_done_callback(lambda _: runtime.on_ui(lambda: self._loaded(job)))

    def wait(self, timeout: float = 60) -> AppFrame:
        """Block until the app is read and its call has finished (for scripts and lessons); the frame."""
        __tracebackhide__ = True
        self.resource = self._load_job.result(timeout)
        if self._call_job is not None:
            self.result = self._call_job.result(timeout)
        return self

    def __repr__(self) -> str:
        if self._call_job is None:
            call = "no call"
        else:
            call = "result in" if self.result is not None else (self._cancelled or "call running")
        loaded = "loaded" if self.resource is not None else self.state or "loading"
        return f"<AppFrame {self.server.name}.{self.tool.name} {self.tool.app}: {loaded}, {call}>"

    # the call the app belongs to

    def follow(self, job: runtime.Job) -> None:
        """Tell the app about the call running in ``job``: its result, or that it was cancelled or failed."""
        self._call_job = job
        job.add_done_callback(lambda _: runtime.on_ui(lambda: self._call_finished(job)))

    def _call_finished(self, job: runtime.Job) -> None:
        try:
            self.result = job.result(0)
        except runtime.Cancelled:
            self._cancelled = "cancelled by the person"
        except MCPNBError as error:
            self._cancelled = f"the call failed: {error.message}"
        except BaseException as error:  # shown, never raised into the kernel
            self._cancelled = f"the call failed: {type(error).__name__}"
        for host in list(self._hosts.values()):
            runtime.loop().call_soon_threadsafe(self._tell, host)  # hosts are used on mcpnb's loop only
        if self._cancelled and self.resource is not None:
            self.state = self._cancelled

    def _tell(self, host: AppHost) -> None:
        if self.result is not None:
            host.deliver_result(self.result)
        elif self._cancelled is not None:
            host.deliver_cancelled(self._cancelled)

    def _loaded(self, job: runtime.Job) -> None:
        try:
            self.resource = job.result(0)
        except BaseException as error:  # shown in the frame's line, never raised into the kernel
            self.state = f"the app could not be loaded: {error.message if isinstance(error, MCPNBError) else error}"
            return
        for refused in self.resource.refused:
            self._add_note({"kind": "log", "level": "warning", "text": f"declared source left out: {refused}"})
        self.allow = self.resource.allow
        self.border = self.resource.prefers_border is not False
        self.state = self._cancelled or ""
        self.document = self.resource.document

    # what the front-end sends

    def _received(self, _: Any, content: Any, buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        kind, view = content.get("kind"), str(content.get("view", ""))
        if kind == "answer":
            self.answer(content.get("id"), bool(content.get("allow")))
        elif kind == "gone":
            self._hosts.pop(view, None)
        elif kind == "seen" and view in self._hosts:
            host = self._hosts[view]
            runtime.loop().call_soon_threadsafe(host.context_changed, content.get("seen") or {})
        elif kind == "app" and self.resource is not None and not self._closed:
            host = self._hosts.get(view) or self._host(view)
            job = runtime.submit(self._handle(host, content.get("message"), content.get("seen") or {}))
            self._jobs.add(job)
            job.add_done_callback(self._jobs.discard)

    async def _handle(self, host: AppHost, message: Any, seen: dict[str, Any]) -> None:
        try:
            await host.receive(message, seen)
        except Exception as error:  # the app gets no answer; the cell says why, the kernel carries on
            text = f"mcpnb could not answer the app: {error!r}"[:300]
            runtime.on_ui(lambda: self._add_note({"kind": "log", "level": "error", "text": text}))

    def _host(self, view: str) -> AppHost:
        assert self.resource is not None
        host = AppHost(self.server.session, self.tool, self.arguments, self.resource,
                       post=lambda message: runtime.on_ui(lambda: self._post(view, message)),
                       note=lambda entry: runtime.on_ui(lambda: self._add_note(entry)),
                       confirm=self._confirm,
                       resize=lambda height: runtime.on_ui(lambda: setattr(self, "height", height)))
        self._hosts[view] = host
        runtime.loop().call_soon_threadsafe(self._tell, host)
        return host

    def _post(self, view: str, message: dict[str, Any]) -> None:
        if not self._closed:  # a closed frame has no page to post into
            self.send({"kind": "app", "view": view, "message": message})

    def _add_note(self, entry: dict[str, Any]) -> None:
        kept = [n for n in self.notes if not (entry.get("replace") and n.get("kind") == entry["kind"])]
        self.notes = [*kept, {k: v for k, v in entry.items() if k != "replace"}][-NOTES_KEPT:]

    async def _confirm(self, question: str) -> bool:
        """Ask the person (Allow / Deny under the frame) and wait for the answer."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        number = next(self._numbers)
        self._questions[number] = (loop, future)
        runtime.on_ui(lambda: setattr(self, "asks", [*self.asks, {"id": number, "text": question}]))
        try:
            return await future
        finally:
            self._questions.pop(number, None)

    def answer(self, number: Any, allow: bool) -> None:
        """Answer the question ``number`` (as the Allow or Deny button does)."""
        asked = [ask for ask in self.asks if ask.get("id") == number]
        if not asked:
            return
        self.asks = [ask for ask in self.asks if ask.get("id") != number]
        self._add_note({"kind": "answered", "text": f"{'Allowed' if allow else 'Denied'}: {asked[0]['text']}"})
        waiting = self._questions.get(number)
        if waiting is not None:
            loop, future = waiting
            loop.call_soon_threadsafe(lambda: future.done() or future.set_result(allow))

    def close(self) -> None:
        """Stop the app: its open questions answered no, its requests in flight cancelled, the frame closed."""
        self._closed = True
        for loop, future in list(self._questions.values()):
            loop.call_soon_threadsafe(lambda f=future: f.done() or f.set_result(False))
        for job in list(self._jobs):
            job.cancel_work()
        self._load_job.cancel_work()
        self._hosts.clear()
        super().close()
