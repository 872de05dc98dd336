"""The widgets' logic without a browser: values set and buttons clicked from Python,
against real servers (the explorer's work runs on mcpnb's loop as in a notebook)."""

from __future__ import annotations

import time

import ipywidgets as w
import pytest
import traitlets

import mcpnb
from mcpnb.handlers import ElicitationRequest, SamplingRequest
from mcpnb.widgets import ElicitationForm, SamplingForm, SchemaForm

from .conftest import FAULTY, wait_for
from .test_third_party import EVERYTHING_JS, needs_everything
from .test_render import EVIL, assert_safe


def html_of(widget: w.Widget) -> list[str]:
    """Every HTML string inside a widget tree (what the page would parse as markup)."""
    found = [widget.value] if isinstance(widget, w.HTML) else []
    for child in getattr(widget, "children", ()):
        found += html_of(child)
    return found


SCHEMA = {
    "type": "object",
    "required": ["name", "count", "kind"],
    "properties": {
        "name": {"type": "string", "minLength": 2, "pattern": "^[a-z]+$", "description": "lower-case"},
        "count": {"type": "integer", "minimum": 1, "maximum": 10},
        "ratio": {"type": "number", "default": 0.5},
        "kind": {"enum": ["a", "b"]},
        "flag": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "colours": {"type": "array", "items": {"enum": ["red", "green"]}},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        "where": {"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "integer"}}},
        "extra": {"type": "object"},
    },
}


def test_a_schema_form_has_a_control_per_kind_and_checks_inline():
    form = SchemaForm(SCHEMA)
    kinds = {name: (f.kind, type(f.control).__name__) for name, f in form.fields.items()}
    assert kinds == {"name": ("string", "Text"), "count": ("integer", "Text"), "ratio": ("number", "Text"),
                     "kind": ("enum", "Dropdown"), "flag": ("boolean", "Dropdown"), "tags": ("list", "Text"),
                     "colours": ("multi-enum", "SelectMultiple"), "note": ("string", "Text"),
                     "where": ("object", "VBox"), "extra": ("json", "Textarea")}
    assert form.fields["name"].control.description == "name *" and form.fields["name"].help.value == "lower-case"
    assert form.fields["ratio"].control.value == "0.5"  # the default, filled in
    assert set(form.problems()) == {"name", "count", "kind"}  # required and empty
    form.fields["name"].control.value = "X"
    assert form.fields["name"].message.value == "must be at least 2 characters"
    form.fields["name"].control.value = "Xy"
    assert form.fields["name"].message.value == "must match the pattern ^[a-z]+$"
    form.fields["count"].control.value = "11"
    assert form.fields["count"].message.value == "must be at most 10"
    form.fields["name"].control.value = "ok"
    form.fields["count"].control.value = "3"
    form.fields["kind"].control.value = "b"
    form.fields["tags"].control.value = "x, y"
    form.fields["colours"].control.value = ("green",)
    form.fields["where"].children["zip"].control.value = "1000"
    form.fields["extra"].control.value = '{"deep": [1, 2]}'
    assert form.problems() == {}
    assert form.value == {"name": "ok", "count": 3, "ratio": 0.5, "kind": "b", "tags": ["x", "y"],
                          "colours": ["green"], "where": {"zip": 1000}, "extra": {"deep": [1, 2]}}
    form.mode.value = "JSON"  # the raw editor carries the values across, and back
    form.raw.value = '{"name": "abc", "count": 2, "kind": "a", "flag": true}'
    form.mode.value = "Form"
    assert form.value["name"] == "abc" and form.value["flag"] is True and form.fields["count"].control.value == "2"


def test_the_explorer_lists_fills_calls_and_copies_as_code(demo_data):
    server = mcpnb.connect("demo:helpdesk")
    explorer = server.explore()
    assert explorer.tabs.titles == ("Tools", "Model's view", "Resources", "Prompts", "Activity", "Server")
    tools = explorer.tools_tab
    wait_for(lambda: len(tools.choice.options) == len(server.tools))
    labels = dict((name, label) for label, name in tools.choice.options)
    assert labels["refund_order"] == "Refund an order (refund_order)  [destructive, idempotent]"
    tools.search.value = "Voided"  # words from the description count, case aside
    assert [name for _, name in tools.choice.options] == ["refund_order"]
    form = tools.select("list_orders")
    form.fields["status"].control.value = "refunded"
    form.fields["limit"].control.value = "0"
    assert tools.call() is None and "limit" in tools.message.value  # minimum 1: not sent
    form.fields["limit"].control.value = "7"
    code = tools.copy_as_code()
    assert code.splitlines()[0].startswith("%mcp call helpdesk.list_orders") and "status=refunded" in code
    card = tools.call()
    wait_for(lambda: card.state != "running")
    assert card.state == "done" and card.output.titles == ("Table", "JSON", "Raw")
    assert card.result.df.shape[0] == 7 and set(card.result.df["status"]) == {"refunded"}
    assert "refunded" in card.output.children[0].value


def test_a_call_card_shows_progress_and_the_cancel_button_cancels(demo_data, tmp_path):
    server = mcpnb.connect(FAULTY, name="faulty")
    explorer = server.explore()
    wait_for(lambda: explorer.tools_tab.tools)
    marker = tmp_path / "marker"
    form = explorer.tools_tab.select("slow")
    form.fields["seconds"].control.value = "30"
    form.fields["marker"].control.value = str(marker)
    card = explorer.tools_tab.call()
    wait_for(lambda: card.bar.value >= 2)  # progress notifications move the bar
    assert card.bar.layout.display == "" and card.bar.max == 600 and card.state == "running"
    second = explorer.tools_tab.call()  # several at once; the kernel is never blocked
    assert second.state == "running"
    card.cancel.click()
    wait_for(lambda: card.state == "cancelled")
    wait_for(lambda: marker.exists() and marker.read_text() == "cancelled")
    assert second.state == "running"
    second.cancel.click()
    wait_for(lambda: second.state == "cancelled")
    wait_for(lambda: second.cancel.layout.display == "none")  # no orange button left that looks live
    assert card.cancel.layout.display == "none" and second.status.value.startswith("cancelled after")
    assert server.call("echo", text="still usable").text == "still usable"


def test_the_explorer_observes_each_cards_state(demo_data):
    """A card's state is a traitlet: observers hear every change, and the tools tab counts running calls."""
    explorer = mcpnb.connect(FAULTY, name="faulty").explore()
    wait_for(lambda: explorer.tools_tab.tools)
    explorer.tools_tab.select("slow").fields["seconds"].control.value = "30"
    card = explorer.tools_tab.call()
    heard: list[str] = []
    card.observe(lambda change: heard.append(change["new"]), names="state")
    second = explorer.tools_tab.call()
    assert explorer.tools_tab.running.value == "2 calls running"
    card.cancel.click()
    wait_for(lambda: heard == ["cancelled"])
    wait_for(lambda: explorer.tools_tab.running.value == "1 call running")
    second.cancel.click()
    wait_for(lambda: explorer.tools_tab.running.value == "")
    with pytest.raises(traitlets.TraitError):
        card.state = "finished"  # not a state a card can be in


def test_templates_expand_by_rfc_6570_and_complete(demo_data):
    server = mcpnb.connect("demo:helpdesk")
    resources = server.explore().resources_tab
    wait_for(lambda: resources.templates and resources.resources)
    resources.template.value = "helpdesk://events/{event_id}"
    field = resources.variables.fields["event_id"]
    field.value = "1"
    wait_for(lambda: field.options)
    assert all(option.startswith("1") for option in field.options) and "12" in field.options
    assert resources.uri.value == "helpdesk://events/1"
    field.value = "a/b é?"  # reserved and non-ASCII characters are percent-encoded
    assert resources.uri.value == "helpdesk://events/a%2Fb%20%C3%A9%3F"
    field.value = "3"
    resources.read(resources.expanded())
    wait_for(lambda: "reading" not in resources.result.value)
    assert "ticket_types" in resources.result.value


def test_prompts_complete_and_render(demo_data):
    server = mcpnb.connect("demo:helpdesk")
    prompts = server.explore().prompts_tab
    wait_for(lambda: prompts.prompts)
    prompts.choice.value = "draft_reply"
    tone = prompts.arguments.fields["tone"]
    tone.value = "f"
    wait_for(lambda: tone.options)
    assert set(tone.options) == {"friendly", "formal"}
    prompts.arguments.fields["enquiry_id"].value = "2"
    tone.value = "formal"
    prompts.get()
    wait_for(lambda: prompts.result.value)
    assert "Draft a formal reply" in prompts.result.value
    # descriptions and the server's instructions are prose, not monospace blocks
    assert '<div class="prose">' in prompts.description.value and "<pre>" not in prompts.description.value
    assert 'instructions</div><div class="prose">A box office:' in mcpnb.render.server(server)


def test_activity_and_server_tabs_follow_the_connection(demo_data):
    server = mcpnb.connect("demo:helpdesk", elicitation="accept-defaults")
    explorer = server.explore()
    server.call("update_enquiry", enquiry_id=6, status="pending")
    wait_for(lambda: "enquiry 6 updated" in explorer.activity_tab.logs.value)
    wait_for(lambda: "tools/call" in explorer.activity_tab.sequence.methods)  # the wire, live
    explorer.activity_tab.level.value = "warning"
    assert "enquiry 6 updated" not in explorer.activity_tab.logs.value  # an info message, filtered out
    assert "2025-11-25" in explorer.server_tab.value or "2026-07-28" in explorer.server_tab.value
    assert "A box office" in explorer.server_tab.value


def test_a_hostile_server_cannot_inject_markup_into_the_explorer():
    from .test_render import hostile_server

    server = mcpnb.connect(hostile_server(), name="hostile")
    explorer = server.explore()
    wait_for(lambda: explorer.tools_tab.tools and explorer.resources_tab.resources and explorer.prompts_tab.prompts)
    tools = explorer.tools_tab
    tools.select(tools.tools[0].name)
    card = tools.call()
    wait_for(lambda: card.state != "running")
    explorer.resources_tab.read(explorer.resources_tab.resources[0].uri)
    wait_for(lambda: "reading" not in explorer.resources_tab.result.value)
    for markup in html_of(explorer.widget):
        assert_safe(markup)
    assert any("&lt;script&gt;" in m for m in html_of(explorer.widget))


def test_answer_forms_send_what_the_person_chose():
    answers: list = []
    request = ElicitationRequest("helpdesk", "Confirm? " + EVIL, schema={
        "properties": {"confirm": {"type": "boolean", "default": True},
                       "reason": {"type": "string", "minLength": 3}}, "required": ["reason"]})
    form = ElicitationForm(request, answers.append)
    assert_safe(form.widget.children[0].value)
    form.accept.click()
    assert answers == [] and "reason" in form.status.value  # required: not sent
    form.form.fields["reason"].control.value = "because"
    form.accept.click()
    assert answers == [{"confirm": True, "reason": "because"}] and form.accept.disabled

    declined = ElicitationForm(request, answers.append)
    declined.decline.click()
    assert answers[-1] == "decline"

    url = ElicitationForm(ElicitationRequest("s", "Sign in", mode="url", url="javascript:alert(1)"), answers.append)
    url.accept.click()  # consent: the link is shown for the person to open, never opened for them
    assert answers[-1] == "accept" and "<a " not in url.link.value and "javascript:alert(1)" in url.link.value

    sampling = SamplingForm(SamplingRequest("s", [{"role": "user", "text": EVIL}], max_tokens=5), answers.append,
                            proposal="a draft")
    assert sampling.reply.value == "a draft"
    assert_safe(sampling.widget.children[0].value)
    sampling.reply.value = "edited"
    sampling.send.click()
    assert answers[-1] == "edited"
    # Answered, a form folds to its heading and how it ended, with Dismiss (it stood ~360 px tall).
    for answered in (form, sampling):
        assert answered.dismiss_button.layout.display == ""
        assert all(part.layout.display == "none" for part in answered.folded)
    assert form.form.widget in form.folded and sampling.reply in sampling.folded


@pytest.mark.parametrize("protocol", ["2025-11-25", "2026-07-28"])
def test_ask_shows_the_form_in_an_open_explorer(demo_data, protocol):
    """Where a kernel shows widgets, "ask" puts the form in the explorer; a click answers."""
    from mcpnb.widgets import answer

    server = mcpnb.connect("demo:helpdesk", protocol=protocol)
    explorer = server.explore()
    available = answer.WidgetAsker.available
    answer.WidgetAsker.available = lambda self: True  # as inside a kernel: this process has none
    try:
        order = server.call("list_orders", status="paid", limit=1).data["orders"][0]["id"]
        form = explorer.tools_tab.select("refund_order")
        form.fields["order_id"].control.value = str(order)
        form.fields["reason"].control.value = "asked in the explorer"
        card = explorer.tools_tab.call()
        wait_for(lambda: explorer.inbox.children)
        question = explorer.inbox.children[0]
        buttons = next([b for b in row.children if isinstance(b, w.Button)] for row in question.children
                       if isinstance(row, w.HBox) and any(getattr(b, "description", "") == "Accept" for b in row.children))
        assert [b.description for b in buttons] == ["Accept", "Decline", "Cancel"]
        buttons[0].click()
        wait_for(lambda: card.state != "running")
        assert card.result.structured["status"] == "refunded"
        explorer.questions[0].dismiss_button.click()  # answered: the person sends it away
        assert explorer.inbox.children == () and explorer.questions == []
    finally:
        answer.WidgetAsker.available = available


@needs_everything
def test_the_explorer_on_server_everything_shows_progress_and_its_elicitation_form():
    """A third-party server (TypeScript SDK): its progress moves a card's bar, and
    its elicitation schema (titled enums, multi-selects, formats) becomes a form."""
    from mcpnb.widgets import answer

    server = mcpnb.connect(["node", str(EVERYTHING_JS), "stdio"], name="everything")
    explorer = server.explore()
    wait_for(lambda: explorer.tools_tab.tools)
    form = explorer.tools_tab.select("trigger-long-running-operation")
    form.fields["duration"].control.value = "3"
    form.fields["steps"].control.value = "6"
    card = explorer.tools_tab.call()
    wait_for(lambda: card.bar.value >= 2)
    assert card.bar.max == 6 and card.state == "running"
    wait_for(lambda: card.state != "running")
    assert card.state == "done" and "Steps: 6" in card.result.text

    available = answer.WidgetAsker.available
    answer.WidgetAsker.available = lambda self: True  # as inside a kernel: this process has none
    try:
        explorer.tools_tab.select("trigger-elicitation-request")
        card = explorer.tools_tab.call()
        wait_for(lambda: explorer.questions)
        question = explorer.questions[0]
        asked = question.form
        hero = asked.fields["titledSingleSelectEnum"].control
        assert ("Superman", "hero-1") in hero.options and hero.value == "hero-1"  # titles shown, default chosen
        assert ("Dogs", "pet-2") in asked.fields["legacyTitledEnum"].control.options
        assert asked.fields["titledMultipleSelectEnum"].kind == "multi-enum"
        assert asked.fields["integer"].control.value == "42"  # defaults filled in
        question.accept.click()  # the required name is empty: the form says so, nothing is sent
        assert question.status.value.startswith("Please fix: name") and card.state == "running"
        asked.fields["name"].control.value = "Grace Hopper"
        asked.fields["check"].control.value = True
        question.accept.click()
        wait_for(lambda: card.state != "running")
    finally:
        answer.WidgetAsker.available = available
    assert "- Name: Grace Hopper" in card.result.text and "Favorite Integer: 42" in card.result.text


def test_a_result_opens_on_its_most_telling_view():
    """A plain text result opened on a Table tab saying "not a table: ..."; now it opens on its text."""
    import mcp_types as types
    from mcp.server import Server as LowLevelServer

    from mcpnb.widgets.calls import result_views

    async def list_tools(ctx, params):
        return types.ListToolsResult(tools=[types.Tool(name="say", input_schema={"type": "object"})])

    async def call_tool(ctx, params):
        kind = (params.arguments or {}).get("kind")
        if kind == "rows":
            return types.CallToolResult(content=[types.TextContent(type="text", text='[{"a": 1}, {"a": 2}]')])
        return types.CallToolResult(content=[types.TextContent(type="text", text="Two tickets were merged.")],
                                    is_error=kind == "error")

    server = mcpnb.connect(LowLevelServer("texts", on_list_tools=list_tools, on_call_tool=call_tool), name="texts")

    def titles(**arguments: str) -> list[str]:
        return [title for title, _ in result_views(server.call("say", arguments))]

    assert titles() == ["Text", "Raw"]
    echo = mcpnb.connect(FAULTY, name="faulty")  # MCPServer wraps a returned str as {"result": "..."}
    assert [title for title, _ in result_views(echo.call("echo", text="hello"))] == ["Text", "JSON", "Raw"]
    assert titles(kind="rows") == ["Table", "JSON", "Raw"]
    assert titles(kind="error") == ["Raw"]  # the server's own words
    text_view = result_views(server.call("say"))[0][1]
    assert "Two tickets were merged." in text_view.value and "not a table" not in text_view.value


def test_the_activity_tab_shows_the_newest_messages(demo_data):
    """Labelled "newest last", it showed rows 1-50 of the last 100: the newest 50 were hidden; and it
    was not live. Now the wire keeps every message (the page keeps the newest in view), live."""
    import re

    server = mcpnb.connect("demo:helpdesk")
    explorer = server.explore()
    for order in range(1, 41):  # 80 messages: a request and a response each
        server.call("get_order", order_id=order)
    wire = explorer.activity_tab.sequence
    wait_for(lambda: '"order_id": 40' in wire.rows[-2]["summary"])  # no Refresh: it follows the connection
    assert any('"order_id": 1}' in row["summary"] for row in wire.rows)  # and nothing older is cut
    assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3}", wire.rows[-1]["time"])  # a clock, not microseconds
    assert re.search(r"<td>\d\d:\d\d:\d\d\.\d{3}</td>", explorer.activity_tab.events.value)
    assert len(server.activity) == 1  # "connected": one event so far is a table of events, not a record of fields
    assert "<thead><tr><th>time</th>" in explorer.activity_tab.events.value


def test_an_error_leaves_the_header_once_something_works(demo_data):
    """"Getting prompt follow_up: Invalid arguments ..." stayed in the header after a success."""
    server = mcpnb.connect("demo:helpdesk")
    explorer = server.explore()
    explorer.run(server.session.prompt(name="no_such_prompt", arguments={}), lambda _: None, "Getting prompt")
    wait_for(lambda: explorer.status.value.startswith("Getting prompt: "))
    explorer.reload()  # a refresh in the background leaves the error for the person to read
    explorer.run(server.session.listing(kind="tools"), lambda _: None, "Listing tools", asked=False)
    time.sleep(0.5)
    assert explorer.status.value.startswith("Getting prompt: ")
    got: list = []
    explorer.run(server.session.prompt(name="draft_reply", arguments={"enquiry_id": 3}), got.append, "Getting prompt")
    wait_for(lambda: got and explorer.status.value == "")  # what the person asked for next worked


def test_resources_can_be_searched_and_a_read_shows_under_the_list(demo_data):
    """3,002 resources had no search; a read from the list appeared under the Templates section."""
    server = mcpnb.connect("demo:crm")
    tab = server.explore().resources_tab
    wait_for(lambda: len(tab.resources) > 1000)
    tab.search.value = "fischer"
    assert 0 < len(tab.choice.options) < 500 and tab.count.value.endswith(f"of {len(tab.resources):,}")
    assert all("fischer" in label.lower() for label, _ in tab.choice.options)
    tab.read(tab.choice.options[0][1], tab.resource_result)
    wait_for(lambda: tab.resource_result.value and "reading" not in tab.resource_result.value)
    assert tab.result.value == ""  # the template's place stays empty
    tab.choice.value = tab.choice.options[-1][1]
    tab.read_button.click()  # the button reads the chosen one, into the same place
    wait_for(lambda: tab.choice.options[-1][1] in tab.resource_result.value)


def test_the_explorer_shows_a_lost_connection_and_reconnects(demo_data):
    """After a disconnect nothing showed the state, and there was no Reconnect."""
    server = mcpnb.connect(FAULTY, name="faulty")
    explorer = server.explore()
    assert explorer.state.value.endswith("</span> connected")
    assert explorer.reconnect_button.layout.display == "none"
    with pytest.raises(mcpnb.ConnectionLost):
        server.call("crash", code=3)
    wait_for(lambda: "lost: Server &#x27;faulty&#x27; exited (exit code 3)" in explorer.state.value)
    assert explorer.reconnect_button.layout.display == ""
    assert "lost" in " ".join(server.activity["summary"])  # the event is in the activity too
    explorer.reconnect_button.click()
    wait_for(lambda: explorer.state.value.endswith(" connected") and explorer.reconnect_button.layout.display == "none")
    assert server.call("echo", text="back").text == "back"
    server.close()
    wait_for(lambda: explorer.state.value.endswith(" closed"))


# -- issue 13 item 1: labelled fields, keyboard use ------------------------------------------------------------

INPUTS = (w.Text, w.Textarea, w.Dropdown, w.Select, w.SelectMultiple, w.Checkbox)  # Combobox is a Text


def inputs_of(widget: w.Widget) -> list[w.Widget]:
    """Every control inside a widget tree that the page shows as an input, a text area or a list."""
    found = [widget] if isinstance(widget, INPUTS) else []
    for child in getattr(widget, "children", ()):
        found += inputs_of(child)
    return found


def assert_labelled(widget: w.Widget) -> list[str]:
    """Each input has a label tied to it: its ``description``, which ipywidgets 8 renders as a
    ``<label for>`` (a checkbox's wraps it), as text and never as markup. Returns the labels."""
    controls = inputs_of(widget)
    assert controls, "no inputs found"
    for control in controls:
        assert control.description.strip(), f"an unlabelled {type(control).__name__}"
        assert control.description_allow_html is False
    return [control.description for control in controls]


def test_every_field_of_a_generated_form_is_tied_to_its_label():
    """Form labels were separate Label widgets, not tied to their inputs: assistive technology and
    tests that find a field by its label could not find them."""
    schema = {**SCHEMA, "properties": {**SCHEMA["properties"], "evil": {"type": "string", "title": EVIL}},
              "required": [*SCHEMA["required"], "evil"]}
    form = SchemaForm(schema)
    labels = assert_labelled(form.widget)
    assert labels == ["name *", "count *", "ratio", "kind *", "flag", "tags", "colours", "note", "city", "zip",
                      "extra", f"{EVIL} *", "Arguments as JSON"]  # in the schema's order; nested fields too
    assert form.fields["where"].heading.value == "where"  # the group's heading, over its own labelled fields
    assert form.note.value == "Fields marked * are required." and form.note.layout.display == ""  # what * means
    assert SchemaForm({"properties": {"a": {"type": "string"}}}).note.layout.display == "none"  # no star, no note
    assert SchemaForm({}).note.value == "(no arguments)"
    checkbox = SchemaForm({"properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}).fields["ok"].control
    assert isinstance(checkbox, w.Checkbox) and checkbox.description == "ok *"
    assert form.mode not in form.widget.children  # the Form/JSON switch is placed by the holder, after its buttons


def test_every_input_of_the_explorer_and_the_answer_forms_has_a_label(demo_data):
    from mcpnb.widgets.login import LoginView

    server = mcpnb.connect("demo:helpdesk")
    explorer = server.explore()
    tools, resources, prompts = explorer.tools_tab, explorer.resources_tab, explorer.prompts_tab
    wait_for(lambda: tools.tools and resources.templates and prompts.prompts)
    tools.select("list_orders")
    resources.template.value = "helpdesk://events/{event_id}"
    prompts.choice.value = "draft_reply"
    labels = assert_labelled(explorer.tabs.children[0]) + assert_labelled(explorer.tabs.children[1]) + \
        assert_labelled(explorer.tabs.children[2]) + assert_labelled(explorer.tabs.children[3])
    for label in ("Search tools", "Tool", "Event Id", "Status", "Customer Email", "Limit", "Offset",
                  "Code for this call", "Search resources", "Resource", "Template", "event_id", "URI to read",
                  "Prompt", "enquiry_id *", "tone", "Provider", "Count totals"):
        assert label in labels
    # Keyboard order (the page's order): the list, the fields, Call, Copy as code, then the Form/JSON switch.
    assert tools.actions.children == (tools.call_button, tools.code_button, tools.form.mode)
    panes, running, cards = tools.widget.children
    right = panes.children[1].children
    assert right.index(tools.form_box) < right.index(tools.actions)
    assert cards is tools.calls and tools.calls not in right  # the cards under the list and form, full width
    request = ElicitationRequest("s", "Why?", schema={"properties": {"why": {"type": "string"}}})
    assert assert_labelled(ElicitationForm(request, lambda _: None).widget) == ["why", "Arguments as JSON"]
    sampling = SamplingRequest("s", [{"role": "user", "text": "hi"}], max_tokens=5)
    assert assert_labelled(SamplingForm(sampling, lambda _: None).widget) == ["Reply"]
    login = LoginView("s", "https://example.org/", listening=False, opened=False, on_paste=print, on_cancel=print)
    assert assert_labelled(login.widget) == ["Address"]
    from mcpnb.widgets.style import KeyGuard

    for root in (explorer.widget, login.widget):  # the shared look (focus ring, disabled buttons) goes along,
        assert "mcpnb-ui" in root._dom_classes  # and the guard that keeps the notebook's keys out of it
        assert any(":focus-visible" in markup and ":disabled" in markup for markup in html_of(root))
        assert any(isinstance(child, KeyGuard) for child in root.children)


def press_enter(field: w.Text) -> None:
    """What the page sends when the person presses Enter in a text field (after the value it typed)."""
    field._handle_custom_msg({"event": "submit"}, [])


def test_enter_in_a_field_calls_the_tool_and_leaving_it_does_not(demo_data):
    server = mcpnb.connect("demo:helpdesk")
    tools = server.explore().tools_tab
    wait_for(lambda: tools.tools)
    form = tools.select("list_orders")
    limit = form.fields["limit"].control
    limit.value = "3"  # typed, then the person tabs on: no call
    assert tools.cards == []
    press_enter(limit)
    wait_for(lambda: tools.cards and tools.cards[0].state != "running")
    assert tools.cards[0].state == "done" and len(tools.cards[0].result.df) == 3
    limit.value = "0"
    press_enter(limit)  # a problem: shown, not sent
    assert len(tools.cards) == 1 and "limit" in tools.message.value
    form.fields["customer_email"].control.value = "nobody@example.org"
    limit.value = "2"
    press_enter(form.fields["customer_email"].control)  # any one-line field sends the whole form
    wait_for(lambda: len(tools.cards) == 2 and tools.cards[0].state != "running")
    assert tools.cards[0].arguments == {"customer_email": "nobody@example.org", "limit": 2, "offset": 0}


def test_enter_in_the_sign_in_field_pastes_the_address():
    from mcpnb.widgets.login import LoginView

    pasted: list[str] = []
    view = LoginView("s", "https://example.org/", listening=False, opened=False, on_paste=pasted.append,
                     on_cancel=lambda: None)
    view.field.value = " http://127.0.0.1:5/callback?code=x "
    press_enter(view.field)
    assert pasted == ["http://127.0.0.1:5/callback?code=x"] and view.field.value == ""


def test_the_templates_uri_field_says_what_to_type_and_reads_on_enter(demo_data):
    """The Templates section showed a bare "URI:" label with nothing beside it."""
    server = mcpnb.connect("demo:helpdesk")
    resources = server.explore().resources_tab
    wait_for(lambda: resources.templates)
    uri = resources.uri
    assert uri.description == "URI to read" and uri.placeholder == "pick a template above, or type a URI"
    resources.template.value = "helpdesk://events/{event_id}"
    assert uri.value == "" and uri.placeholder == "helpdesk://events/{event_id}: fill in event_id above"
    resources.variables.fields["event_id"].value = "3"
    assert uri.value == "helpdesk://events/3"
    press_enter(uri)
    wait_for(lambda: "ticket_types" in resources.result.value)
    uri.value = "helpdesk://events/4"  # typed by hand: Read reads what the field says
    resources.read_template_button.click()
    wait_for(lambda: "helpdesk://events/4" in resources.result.value and "reading" not in resources.result.value)
