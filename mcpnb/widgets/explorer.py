"""The explorer: one server inspected in a cell, in six tabs.

- Tools: search, the list with annotation badges, a form from the input
  schema, Call (each call a card with progress, Cancel and its result),
  "Copy as code" (the ``%mcp call`` line and the Python call).
- Model's view: the tools as a provider's API receives them, with token
  counts and totals (``mcpnb.preview``), the tool picked in Tools opened.
- Resources: the list, Read and Follow (subscribe); templates with one field
  per variable, completion suggestions as the person types, and the URI
  expanded by RFC 6570 (the SDK's ``UriTemplate``).
- Prompts: argument fields with completion; the rendered messages.
- Activity: the wire as a live sequence (``widgets.sequence``), log messages
  with a level filter, the server's questions and other events, all live.
- Server: identity, era, capabilities, instructions.

Work goes to mcpnb's loop and comes back through ``runtime.on_ui``, so the
kernel is never blocked. The explorer is also where the server's questions
(elicitation, sampling) appear while it is open: the inbox above the tabs.
Server strings reach the page only through ``render`` or as widget text.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import ipywidgets as w
from mcp.shared.uri_template import UriTemplate

from .. import render, runtime
from ..errors import MCPNBError
from ..events import LOG_LEVELS, severity
from ..export import PROVIDERS
from ..line import call_line
from ..preview import preview
from ..schema import check_arguments
from ..trace import no_wire
from .calls import CallCard
from .form import SchemaForm, labelled, on_enter
from .sequence import SequenceView, clock
from .style import QUIET, styled
from .throttle import Throttle

if TYPE_CHECKING:
    from ..server import Server

__all__ = ["Explorer"]

KEEP_CALLS = 10  # call cards kept per explorer, newest first


class Explorer:
    """``server.explore()``: display it (it is a widget), or use its parts from Python."""

    def __init__(self, server: Server) -> None:
        runtime.note_caller()
        self.server = server
        self.session = server.session
        self._open = True
        self.status = w.Label(value="")
        self.inbox = w.VBox([])
        self.questions: list[Any] = []
        self.tools_tab = _ToolsTab(self)
        self.model_tab = _ModelTab(self)
        self.resources_tab = _ResourcesTab(self)
        self.prompts_tab = _PromptsTab(self)
        self.activity_tab = _ActivityTab(self)
        self.server_tab = w.HTML(value="")
        self.tabs = w.Tab(children=[self.tools_tab.widget, self.model_tab.widget, self.resources_tab.widget,
                                    self.prompts_tab.widget, self.activity_tab.widget, self.server_tab])
        self.tabs.titles = ("Tools", "Model's view", "Resources", "Prompts", "Activity", "Server")
        self.tabs.observe(lambda _: self.model_tab.shown(), names="selected_index")  # counted when first looked at
        close = w.Button(description="Close", layout=w.Layout(width="70px"))
        close.on_click(lambda _: self.close())
        self.state = w.HTML(value="")
        self.reconnect_button = w.Button(description="Reconnect", icon="refresh",
                                         layout=w.Layout(width="110px", display="none"))
        self.reconnect_button.on_click(lambda _: self.reconnect())
        head = w.HBox([w.HTML(value=f"<b>{render.esc(server.name)}</b>"), self.state, self.reconnect_button,
                       self.status, close], layout=w.Layout(flex_flow="row wrap", align_items="center"))
        self.widget = styled(w.VBox([head, self.inbox, self.tabs]))  # the shared look: labels, focus, disabled
        self.widget.add_class("mcpnb-explorer")
        self._refresh_pending = threading.Lock()
        self.session.answers.asker.add_inbox(self)
        self.session.events.watch(self._on_event)
        self.show_state()
        self.reload()

    # -- display -------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def is_open(self) -> bool:
        return self._open

    def show(self, question: Any) -> None:
        """A question from the server (an ElicitationForm or SamplingForm), shown above the tabs.

        The five newest stay; ``questions`` has them, newest first, for scripts and tests.
        """
        question.on_dismiss = self._drop
        self.questions = [question, *self.questions[:4]]
        self.inbox.children = tuple(q.widget for q in self.questions)

    def _drop(self, question: Any) -> None:
        """A question dismissed by the person: it leaves the inbox."""
        self.questions = [q for q in self.questions if q is not question]
        self.inbox.children = tuple(q.widget for q in self.questions)

    def close(self) -> None:
        self._open = False
        self.session.events.unwatch(self._on_event)
        self.activity_tab.close()  # its live views stop following the connection
        for card in self.tools_tab.cards:  # and the apps under its calls stop
            card.close()
        self.widget.close()

    # -- talking to the server without blocking the kernel ------------------------------

    def run(self, coro: Coroutine[Any, Any, Any], then: Callable[[Any], None], what: str, *,
            asked: bool = True) -> runtime.Job:
        """Run ``coro`` on mcpnb's loop; ``then(result)`` on the kernel's thread, errors to the status line.

        ``asked``: the person asked for it, so its success clears an earlier error from the status
        line (a refresh in the background does not: the error may be the one they are reading)."""
        job = runtime.submit(coro)

        def finished(_: Any) -> None:
            try:
                outcome = job.result(0)
            except runtime.Cancelled:
                return
            except MCPNBError as error:
                self.status.value = f"{what}: {error.message}"
                return
            except Exception as error:
                self.status.value = f"{what}: {type(error).__name__}: {error}"
                return
            if asked:
                self.status.value = ""  # an earlier failure is over once something the person did works
            then(outcome)

        job.add_done_callback(lambda _: runtime.on_ui(lambda: finished(job)))
        return job

    def show_state(self) -> None:
        """The connection's state beside its name; Reconnect where it is lost or closed."""
        session = self.session
        if session.alive:
            words, fine = "connected", True
        elif session.lost:
            words, fine = f"lost: {session.lost_reason or 'the server went away'}", False
        else:
            words, fine = "closed", False
        colour = "var(--jp-success-color1, #388e3c)" if fine else "var(--jp-error-color1, #d32f2f)"
        # The dot carries the colour; the words keep the theme's text colour (green text was 4.1:1 on white).
        # The dot is a graphic beside the words that say it (hidden from screen readers): WCAG asks 3:1 of it.
        self.state.value = f'<span aria-hidden="true" style="color: {colour}">●</span> {render.esc(words)}'
        self.reconnect_button.layout.display = "none" if fine else ""

    def reconnect(self) -> None:
        """Connect again (the Reconnect button), then show everything afresh."""
        self.reconnect_button.disabled = True
        self.state.value = "● reconnecting"  # plain: the dot's colour comes back with the state

        def settled() -> None:  # succeeded or not (a failure is in the status line)
            self.reconnect_button.disabled = False
            self.show_state()

        job = self.run(self.session.reconnect(), lambda _: self.reload(), "Reconnecting")
        job.add_done_callback(lambda _: runtime.on_ui(settled))

    def reload(self) -> None:
        """Fetch the listings and the server's description again."""
        self.server_tab.value = render.server(self.server)
        self.tools_tab.load()
        self.model_tab.load()
        self.resources_tab.load()
        self.prompts_tab.load()
        self.activity_tab.refresh()

    def _on_event(self, kind: str) -> None:
        """An event on the connection (called on mcpnb's loop): refresh, at most one pending at a time."""
        if not self._open or not self._refresh_pending.acquire(blocking=False):
            return

        def refresh() -> None:
            self._refresh_pending.release()
            self.show_state()
            if kind == "list changed":
                self.reload()
            else:
                self.activity_tab.changed()

        runtime.on_ui(refresh)


class _ToolsTab:
    def __init__(self, explorer: Explorer) -> None:
        self.explorer = explorer
        self.tools: list[Any] = []
        fill = "calc(100% - 4px)"  # the whole column, less the widgets' own 2 px margins (else the edge is cut)
        # Labels a person does not need to see (the placeholder and the list say it) but a screen reader does.
        self.search = labelled(w.Text, "Search tools", placeholder="search tools", layout=w.Layout(width=fill))
        self.choice = labelled(w.Select, "Tool", options=[], rows=14, layout=w.Layout(width=fill))
        for part in (self.search, self.choice):
            part.add_class(QUIET)
        self.heading = w.HTML(value="")
        self.form: SchemaForm | None = None
        self.form_box = w.VBox([])
        self.call_button = w.Button(description="Call", button_style="primary", icon="play", disabled=True,
                                    tooltip="call the tool with these arguments (or press Enter in a field)")
        self.code_button = w.Button(description="Copy as code", icon="code", disabled=True,
                                    tooltip="the %mcp line and the Python call for these arguments")
        # Keyboard order: list, the form's fields, Call, Copy as code, then the Form/JSON switch.
        self.actions = w.HBox([self.call_button, self.code_button], layout=w.Layout(flex_flow="row wrap"))
        self.message = w.Label(value="")
        # Wraps inside itself (the style sheet), never wider than its column: it was cut at 900 px.
        self.code = labelled(w.Textarea, "Code for this call", rows=3,
                             layout=w.Layout(width=fill, max_width="720px", display="none"))
        self.code.add_class(QUIET)
        self.code.add_class("mcpnb-code")
        self.calls = w.VBox([])
        self.cards: list[CallCard] = []
        self.running = w.Label(value="")  # how many of the cards still wait for their server
        for line in (self.message, self.running):  # an empty line stood as a gap above the code and the cards
            line.layout.display = "none"
            line.observe(lambda change, line=line: setattr(line.layout, "display", "" if change["new"] else "none"),
                         names="value")
        self.search.observe(lambda _: self._filter(), names="value")
        self.choice.observe(lambda _: self._pick(), names="value")
        self.call_button.on_click(lambda _: self.call())
        self.code_button.on_click(lambda _: self.copy_as_code())
        right = w.VBox([self.heading, self.form_box, self.actions, self.message, self.code],
                       layout=w.Layout(flex="3 1 420px", min_width="0", padding="0 0 0 12px"))
        # The list keeps 240 to 480 px and the form takes the rest; where both do not fit (a narrow
        # notebook) the form goes under the list instead of squeezing it (entries were cut at 1400 px).
        left = w.VBox([self.search, self.choice], layout=w.Layout(flex="1 1 360px", min_width="240px",
                                                                   max_width="480px"))
        # The call cards under both, the whole width: beside the list they had half of it (a table's
        # columns squeezed to a word each, an app's board cut).
        self.widget = w.VBox([w.HBox([left, right], layout=w.Layout(flex_flow="row wrap", width="100%")),
                              self.running, self.calls], layout=w.Layout(width="100%"))

    def load(self) -> None:
        self.explorer.run(self.explorer.session.listing(kind="tools"), self._loaded, "Listing tools", asked=False)

    def _loaded(self, tools: Any) -> None:
        self.tools = list(tools)
        self._filter()

    def _filter(self) -> None:
        words = self.search.value.lower().split()
        shown = [t for t in self.tools
                 if all(word in f"{t.name} {t.title or ''} {t.description or ''}".lower() for word in words)]
        current = self.choice.value
        self.choice.options = [(_tool_label(t), t.name) for t in shown]
        if current in [t.name for t in shown]:
            self.choice.value = current

    def _pick(self) -> None:
        tool = self.selected
        self.code.layout.display = "none"
        self.message.value = ""
        if tool is None:
            self.heading.value, self.form_box.children = "", []
            self.actions.children = [self.call_button, self.code_button]
            self.call_button.disabled = self.code_button.disabled = True
            return
        self.heading.value = render.tool_heading(tool)
        self.form = SchemaForm(tool.input_schema)
        self.form.on_enter(self.call)  # Enter in a one-line field calls, as a form's submit would
        self.form_box.children = [self.form.widget]
        self.actions.children = [self.call_button, self.code_button, self.form.mode]
        self.call_button.disabled = self.code_button.disabled = False

    @property
    def selected(self) -> Any:
        return next((t for t in self.tools if t.name == self.choice.value), None)

    def select(self, name: str) -> SchemaForm:
        """Pick a tool by name (as a click on the list would) and return its form."""
        self.search.value = ""
        self.choice.value = name
        assert self.form is not None
        return self.form

    def _checked_arguments(self) -> dict[str, Any] | None:
        tool = self.selected
        if tool is None or self.form is None:
            return None
        problems = self.form.problems()
        if problems:
            self.message.value = "Please fix: " + "; ".join(f"{k}: {v}" for k, v in problems.items())
            return None
        arguments = self.form.value
        found = check_arguments(tool.input_schema, arguments)
        if found:
            self.message.value = "Please fix: " + "; ".join(f"{k}: {v}" for k, v in found)
            return None
        self.message.value = ""
        return arguments

    def call(self) -> CallCard | None:
        """Call the selected tool with the form's arguments; the card shows progress and the result."""
        arguments = self._checked_arguments()
        if arguments is None:
            return None
        card = CallCard(self.explorer.server, self.choice.value, arguments)
        for gone in self.cards[KEEP_CALLS - 1:]:  # the oldest card leaves the page: its app stops
            gone.close()
        self.cards = [card, *self.cards][:KEEP_CALLS]
        self.calls.children = [c.widget for c in self.cards]
        card.observe(lambda _: self._count_running(), names="state")
        self._count_running()
        return card

    def _count_running(self) -> None:
        running = sum(card.state == "running" for card in self.cards)
        self.running.value = f"{running} call{'s' if running != 1 else ''} running" if running else ""

    def copy_as_code(self) -> str:
        """The magic line and the Python call for the form as filled in."""
        arguments = self._checked_arguments()
        if arguments is None:
            return ""
        name = self.explorer.server.name
        text = f"{call_line(name, self.choice.value, arguments)}\nserver.call({self.choice.value!r}, {arguments!r})"
        self.code.rows = min(8, sum(1 + len(line) // 60 for line in text.splitlines()))  # wrapped lines, roughly
        self.code.value = text
        self.code.layout.display = ""
        return text


class _ModelTab:
    """``server.tools.preview(provider)`` in a tab: a provider, how to count, and the preview's table,
    with the tool picked in Tools opened to its definition. Counted when the tab is first shown (an API
    count goes over the network), then again when the tools or the choices change."""

    def __init__(self, explorer: Explorer) -> None:
        self.explorer = explorer
        self.seen = False
        self.latest: Any = None  # the newest Preview shown
        self._asked = 0  # numbers the requests: an older answer arriving late is dropped
        self.provider = labelled(w.Dropdown, "Provider", options=_providers(), value="anthropic",
                                 layout=w.Layout(width="auto", max_width="420px"))
        self.count = labelled(w.Dropdown, "Count totals", options=[
            ("auto: the API if its key is set", "auto"), ("offline: tiktoken cl100k_base", "offline"),
            ("the provider's counting API", "api")],
                              value="auto", layout=w.Layout(width="auto", max_width="580px"))
        self.again = w.Button(description="Count again", icon="refresh",
                              tooltip="fetch the tools and count them again")
        self.state = w.Label(value="")
        self.view = w.HTML(value="")
        for control in (self.provider, self.count):
            control.observe(lambda _: self.load(), names="value")
        self.again.on_click(lambda _: self.load(refetch=True))
        self.widget = w.VBox([self.provider, self.count, w.HBox([self.again, self.state],
                                                                layout=w.Layout(align_items="center")), self.view])

    def shown(self) -> None:
        """The tab was picked: count now if it never was, and open the tool picked in Tools."""
        if self.explorer.tabs.selected_index != 1:
            return
        if not self.seen:
            self.seen = True
            self.load()
        elif self.latest is not None:
            self._draw(self.latest)

    def load(self, refetch: bool = False) -> None:
        if not self.seen:
            return
        self._asked += 1
        asked, provider, count = self._asked, self.provider.value, self.count.value
        self.state.value = "counting ..."
        session = self.explorer.session

        async def work() -> Any:
            if refetch:
                session.refresh()
            tools = await session.listing(kind="tools")
            # Off the loop: a count may wait for a provider's API, and the other open servers'
            # tools are fetched through the blocking API (which must not run on the loop's thread).
            return await asyncio.to_thread(preview, tools, provider, count=count)

        def done(found: Any) -> None:
            if asked == self._asked:
                self.latest = found
                self._draw(found)

        job = self.explorer.run(work(), done, "Counting tokens")
        job.add_done_callback(lambda _: runtime.on_ui(lambda: self._settled(asked)))

    def _settled(self, asked: int) -> None:
        if asked == self._asked:
            self.state.value = ""

    def _draw(self, found: Any) -> None:
        self.view.value = render.preview(found, open_tool=self.explorer.tools_tab.choice.value)


def _providers() -> list[tuple[str, str]]:
    names = {"anthropic": "Anthropic (Messages API)", "openai": "OpenAI (Chat Completions)",
             "openai-responses": "OpenAI (Responses API)", "gemini": "Google Gemini"}
    return [(names.get(p, p), p) for p in PROVIDERS]


def _tool_label(tool: Any) -> str:
    badges = render.tool_badges(tool)
    name = f"{tool.title} ({tool.name})" if tool.title and tool.title != tool.name else tool.name
    return name + (f"  [{', '.join(badges)}]" if badges else "")


class _CompletingFields:
    """One Combobox per argument, with suggestions from completion/complete as the person types."""

    def __init__(self, explorer: Explorer, on_change: Callable[[], None]) -> None:
        self.explorer = explorer
        self.on_change = on_change
        self.fields: dict[str, w.Combobox] = {}
        self.ref: Any = None
        self.box = w.VBox([])

    def set(self, ref: Any, names: list[str], required: set[str] | None = None) -> None:
        self.ref = ref
        self.fields = {}
        for name in names:
            field = labelled(w.Combobox, name + (" *" if required and name in required else ""),
                             placeholder="type to see suggestions", ensure_option=False,
                             layout=w.Layout(width="auto", max_width="580px"))
            field.observe(lambda change, n=name: self._typed(n), names="value")
            self.fields[name] = field
        self.box.children = list(self.fields.values())
        for name in names:
            self._typed(name)

    @property
    def values(self) -> dict[str, str]:
        return {name: field.value for name, field in self.fields.items() if field.value != ""}

    def _typed(self, name: str) -> None:
        self.on_change()
        if not self.explorer.session.info.capabilities.completions:
            return
        field = self.fields[name]
        context = {k: v for k, v in self.values.items() if k != name}
        ref = self.ref
        self.explorer.run(self.explorer.session.complete(ref=ref, argument=name, value=field.value, context=context),
                          lambda found: self._suggest(name, ref, field, found), "Completing")

    def _suggest(self, name: str, ref: Any, field: w.Combobox, found: Any) -> None:
        if self.ref is ref and self.fields.get(name) is field:
            field.options = tuple(str(v) for v in found)


_NO_TEMPLATE = "pick a template above, or type a URI"


class _ResourcesTab:
    def __init__(self, explorer: Explorer) -> None:
        self.explorer = explorer
        self.resources: list[Any] = []
        self.templates: list[Any] = []
        self.search = labelled(w.Text, "Search resources", placeholder="search resources: name, title or URI",
                               layout=w.Layout(flex="0 1 520px", min_width="160px"))
        self.count = w.Label(value="", layout=w.Layout(min_width="max-content"))  # "130 of 3,002", never cut
        self.choice = labelled(w.Select, "Resource", options=[], rows=8,  # 100% less its 2 px margins (scrolled at 900 px)
                               layout=w.Layout(width="520px", max_width="calc(100% - 4px)"))
        for part in (self.search, self.choice):  # the placeholder and the heading above say it already
            part.add_class(QUIET)
        self.read_button = w.Button(description="Read", icon="eye")
        self.follow_button = w.Button(description="Follow changes", icon="bell",
                                      tooltip="subscribe: updates appear in Activity")
        self.template = labelled(w.Dropdown, "Template", options=[], layout=w.Layout(width="auto", max_width="580px"))
        self.variables = _CompletingFields(explorer, self._preview)
        # The address to read: filled in from the template as its fields are, or typed (a bare "URI:" before).
        self.uri = labelled(w.Text, "URI to read", placeholder=_NO_TEMPLATE, layout=w.Layout(width="auto", max_width="580px"))
        on_enter(self.uri, lambda: self.read(self.uri.value.strip(), self.result))
        self.read_template_button = w.Button(description="Read", icon="eye")
        self.resource_result = w.HTML(value="")  # a read from the list shows under the list
        self.result = w.HTML(value="")  # a read from a template, under the template
        self.search.observe(lambda _: self._filter(), names="value")
        self.read_button.on_click(lambda _: self.read(self.choice.value, self.resource_result))
        self.follow_button.on_click(lambda _: self.follow(self.choice.value))
        self.template.observe(lambda _: self._pick_template(), names="value")
        self.read_template_button.on_click(lambda _: self.read(self.uri.value.strip(), self.result))
        self.widget = w.VBox([w.HTML("<b>Resources</b>"), w.HBox([self.search, self.count]), self.choice,
                              w.HBox([self.read_button, self.follow_button]), self.resource_result,
                              w.HTML("<b>Templates</b>"), self.template, self.variables.box,
                              self.uri, self.read_template_button, self.result])

    def load(self) -> None:
        session = self.explorer.session
        self.explorer.run(session.listing(kind="resources"), self._loaded_resources, "Listing resources", asked=False)
        self.explorer.run(session.listing(kind="templates"), self._loaded_templates, "Listing templates", asked=False)

    def _loaded_resources(self, resources: Any) -> None:
        self.resources = list(resources)
        self._filter()

    def _filter(self) -> None:
        """The list narrowed to what the search finds (there may be thousands)."""
        words = self.search.value.lower().split()
        shown = [(f"{r.title or r.name}  {r.uri}", str(r.uri)) for r in self.resources
                 if all(word in f"{r.name} {r.title or ''} {r.uri}".lower() for word in words)]
        self.choice.options = shown
        self.count.value = f"{len(shown):,} of {len(self.resources):,}" if words else f"{len(self.resources):,}"

    def _loaded_templates(self, templates: Any) -> None:
        self.templates = list(templates)
        self.template.options = [(f"{t.title or t.name}  {t.uri_template}", t.uri_template) for t in self.templates]

    def _pick_template(self) -> None:
        chosen = next((t for t in self.templates if t.uri_template == self.template.value), None)
        if chosen is None:
            self.uri.placeholder = _NO_TEMPLATE
            self.variables.set(None, [])
            return
        names = UriTemplate.parse(chosen.uri_template).variable_names
        self.uri.placeholder = f"{chosen.uri_template}: fill in {' and '.join(names)} above" if names else \
            chosen.uri_template
        self.variables.set(chosen, names)

    def expanded(self) -> str:
        """The chosen template with the fields filled in (RFC 6570: reserved and non-ASCII encoded)."""
        if not self.template.value:
            return ""
        return UriTemplate.parse(self.template.value).expand(self.variables.values)

    def _preview(self) -> None:
        """The URI as the template's fields make it; empty (its placeholder says what to type) until one is filled."""
        if not self.variables.values:
            self.uri.value = ""
            return
        try:
            self.uri.value = self.expanded()
        except Exception as error:  # a value the template cannot take
            self.uri.value = f"({error})"

    def read(self, uri: str | None, where: w.HTML | None = None) -> None:
        """Read ``uri``; its contents show in ``where`` (under the list or under the template)."""
        if not uri:
            return
        shown = where if where is not None else self.result
        shown.value = render.text_block(f"reading {uri} ...")
        self.explorer.run(self.explorer.session.read(uri=uri),
                          lambda found: setattr(shown, "value", render.resource_result(found)),
                          f"Reading {uri}")

    def follow(self, uri: str | None) -> None:
        if uri:
            self.explorer.run(self.explorer.session.subscribe(uri=uri),
                              lambda _: setattr(self.explorer.status, "value", f"following {uri}"),
                              f"Following {uri}")


class _PromptsTab:
    def __init__(self, explorer: Explorer) -> None:
        self.explorer = explorer
        self.prompts: list[Any] = []
        self.choice = labelled(w.Dropdown, "Prompt", options=[], layout=w.Layout(width="auto", max_width="580px"))
        self.description = w.HTML(value="")
        self.arguments = _CompletingFields(explorer, lambda: None)
        self.get_button = w.Button(description="Get prompt", icon="comment")
        self.result = w.HTML(value="")
        self.choice.observe(lambda _: self._pick(), names="value")
        self.get_button.on_click(lambda _: self.get())
        self.widget = w.VBox([self.choice, self.description, self.arguments.box, self.get_button, self.result])

    def load(self) -> None:
        self.explorer.run(self.explorer.session.listing(kind="prompts"), self._loaded, "Listing prompts", asked=False)

    def _loaded(self, prompts: Any) -> None:
        self.prompts = list(prompts)
        self.choice.options = [(p.title or p.name, p.name) for p in self.prompts]

    def _pick(self) -> None:
        prompt = next((p for p in self.prompts if p.name == self.choice.value), None)
        if prompt is None:
            self.arguments.set(None, [])
            self.description.value = ""
            return
        self.description.value = render.prose_block(prompt.description) if prompt.description else ""
        self.arguments.set(prompt, [a.name for a in prompt.arguments], {a.name for a in prompt.arguments if a.required})

    def get(self) -> None:
        name = self.choice.value
        if name:
            self.explorer.run(self.explorer.session.prompt(name=name, arguments=self.arguments.values),
                              lambda found: setattr(self.result, "value", render.prompt_result(found)),
                              f"Getting prompt {name}")


class _ActivityTab:
    """The wire as a live sequence, then log messages and events: all follow the connection."""

    def __init__(self, explorer: Explorer) -> None:
        self.explorer = explorer
        trace = explorer.session.trace
        # A live view of its own (not the cell's server.trace.view()), closed with the explorer.
        self.sequence = SequenceView.following(trace) if trace is not None else SequenceView.of_frame(no_wire())
        self.level = w.Dropdown(options=LOG_LEVELS, value="info", description="log level")
        self.logs = w.HTML(value="")
        self.events = w.HTML(value="")
        self._throttle = Throttle(self.refresh)  # a flood of log messages redraws five times a second
        self.level.observe(lambda _: self.refresh(), names="value")
        self.widget = w.VBox([w.HTML("<b>The wire</b>: every message, newest last; open one to see its JSON"),
                              self.sequence, w.HTML("<b>Log messages</b>"), self.level, self.logs,
                              w.HTML("<b>Questions, changes and other events</b>"), self.events])

    def changed(self) -> None:
        """New log messages or events (from any thread): refresh soon, at most five times a second."""
        self._throttle.poke()

    def refresh(self) -> None:
        server = self.explorer.server
        logs = server.logs
        if len(logs):
            logs = logs[logs["level"].map(lambda level: severity(level) >= severity(self.level.value))]
        newest = render.MAX_ROWS  # the table shows this many: they must be the newest, not the oldest of a tail
        # record=False: a log with one line so far is still a log, not a record of fields
        self.logs.value = (render.table(_clock(logs.tail(newest)), where="server.logs", record=False) if len(logs)
                           else "<i>none</i>")
        events = server.activity
        self.events.value = (render.table(_clock(events.tail(newest)), where="server.activity", record=False)
                             if len(events) else "<i>none</i>")

    def close(self) -> None:
        self._throttle.stop()
        self.sequence.close()


def _clock(frame: Any) -> Any:
    """The time column as a clock to the millisecond (13:02:07.412), not a full timestamp in microseconds."""
    if "time" not in frame.columns or not len(frame):
        return frame
    return frame.assign(time=frame["time"].map(clock))  # local time, as the wire above shows it
