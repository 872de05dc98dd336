"""Forms that answer the server: elicitation (a form from the requested
schema, or consent for a URL) and sampling (the conversation and a reply).

``WidgetAsker.ask`` runs on mcpnb's loop and waits; the form is built and
shown on the kernel's thread (``runtime.on_ui``), in an open explorer's inbox
or under the cell that awaits the call. A click answers it. If the request
goes away first (the call was cancelled), the form says so and stops taking
answers.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from .. import render, runtime
from ..handlers import ElicitationRequest, SamplingRequest, in_kernel
from .form import SchemaForm, labelled
from .style import styled

__all__ = ["WidgetAsker", "ElicitationForm", "SamplingForm", "until_answered", "show_in_cell"]


class _Panel:
    """What both answer forms do once answered (or withdrawn): fold to their heading and how it
    ended, with a Dismiss button (an answered form stood about 360 px tall, with no way to go)."""

    widget: w.VBox
    status: w.Label

    def _make_dismiss(self) -> w.Button:
        self.on_dismiss: Callable[[Any], None] | None = None  # the inbox showing it (an explorer) listens
        self.folded: list[w.Widget] = []  # the parts hidden once answered
        button = w.Button(description="Dismiss", icon="times", layout=w.Layout(width="100px", display="none"))
        button.on_click(lambda _: self.dismiss())
        return button

    def _fold(self) -> None:
        for part in self.folded:
            part.layout.display = "none"
        self.dismiss_button.layout.display = ""

    def dismiss(self) -> None:
        """Take the answered form away."""
        self.widget.layout.display = "none"
        if self.on_dismiss is not None:
            self.on_dismiss(self)


class ElicitationForm(_Panel):
    """Accept (with the form's content), Decline or Cancel; for a URL, consent first."""

    def __init__(self, request: ElicitationRequest, answer: Any) -> None:
        self.request = request
        self._answer = answer
        self.form = SchemaForm(request.schema) if request.mode != "url" else None
        accept_label = "Open the URL" if request.mode == "url" else "Accept"
        self.accept = w.Button(description=accept_label, button_style="primary")
        self.decline = w.Button(description="Decline")
        self.cancel = w.Button(description="Cancel")
        self.status = w.Label(value="")
        self.link = w.HTML(value="")
        self.accept.on_click(lambda _: self._on_accept())
        self.decline.on_click(lambda _: self._finish("decline", "declined"))
        self.cancel.on_click(lambda _: self._finish("cancel", "cancelled"))
        self.dismiss_button = self._make_dismiss()
        switch = [self.form.mode] if self.form is not None else []  # Form/JSON, after the answers (keyboard order)
        buttons = w.HBox([self.accept, self.decline, self.cancel, *switch], layout=w.Layout(flex_flow="row wrap"))
        parts: list[w.Widget] = [w.HTML(value=render.elicitation(request))]
        if self.form is not None:
            parts.append(self.form.widget)
            self.folded.append(self.form.widget)
        self.folded.append(buttons)
        parts += [buttons, w.HBox([self.status, self.dismiss_button]), self.link]
        self.widget = styled(w.VBox(parts, layout=w.Layout(border="2px solid var(--jp-brand-color1, #1976d2)",
                                                           padding="6px", margin="4px 0")))
        self.widget.add_class("mcpnb-elicitation")

    def _on_accept(self) -> None:
        if self.form is None:  # URL mode: consent given; the person opens the link themselves
            self.link.value = render.link_block(self.request.url or "")
            self._finish("accept", "accepted: open the link above")
            return
        problems = self.form.problems()
        if problems:
            self.status.value = "Please fix: " + "; ".join(f"{k}: {v}" for k, v in problems.items())
            return
        self._finish(self.form.value, "accepted")

    def _finish(self, outcome: Any, words: str) -> None:
        for button in (self.accept, self.decline, self.cancel):
            button.disabled = True
        self.status.value = words
        self._fold()
        self._answer(outcome)

    def withdraw(self) -> None:
        """The request went away before an answer."""
        if not self.accept.disabled:
            for button in (self.accept, self.decline, self.cancel):
                button.disabled = True
            self.status.value = "no longer needed (the request was cancelled)"
            self._fold()


class SamplingForm(_Panel):
    """The conversation, and a reply the person types or edits (a proposal prefilled)."""

    def __init__(self, request: SamplingRequest, answer: Any, proposal: str | None = None) -> None:
        self.request = request
        self._answer = answer
        self.reply = labelled(w.Textarea, "Reply", value=proposal or "", placeholder="the model's reply",
                              layout=w.Layout(width="auto", max_width="720px", height="100px"))
        self.send = w.Button(description="Send reply", button_style="primary")
        self.decline = w.Button(description="Decline")
        self.status = w.Label(value="proposed by your handler; edit or send" if proposal else "")
        self.send.on_click(lambda _: self._on_send())
        self.decline.on_click(lambda _: self._finish(None, "declined"))
        self.dismiss_button = self._make_dismiss()
        buttons = w.HBox([self.send, self.decline])
        self.folded += [self.reply, buttons]
        self.widget = styled(w.VBox([w.HTML(value=render.sampling(request)), self.reply,
                                     buttons, w.HBox([self.status, self.dismiss_button])],
                                    layout=w.Layout(border="2px solid var(--jp-brand-color2, #6a1b9a)", padding="6px",
                                                    margin="4px 0")))
        self.widget.add_class("mcpnb-sampling")

    def _on_send(self) -> None:
        if not self.reply.value.strip():
            self.status.value = "type a reply, or decline"
            return
        self._finish(self.reply.value, "sent")

    def _finish(self, outcome: Any, words: str) -> None:
        self.send.disabled = self.decline.disabled = True
        self.reply.disabled = True
        self.status.value = words
        self._fold()
        self._answer(outcome)

    def withdraw(self) -> None:
        if not self.send.disabled:
            self.send.disabled = self.decline.disabled = self.reply.disabled = True
            self.status.value = "no longer needed (the request was cancelled)"
            self._fold()


class WidgetAsker:
    """Shows answer forms for one connection; explorers offer their inbox for them."""

    def __init__(self) -> None:
        self._inboxes: weakref.WeakSet[Any] = weakref.WeakSet()

    def add_inbox(self, inbox: Any) -> None:
        """``inbox.show(form)`` will receive the forms (an open explorer)."""
        self._inboxes.add(inbox)

    def available(self) -> bool:
        return runtime.ui_known() and in_kernel()

    async def ask(self, kind: str, request: Any, proposal: str | None = None) -> Any:
        def build(answer: Callable[[Any], None]) -> Any:
            if kind == "elicitation":
                return ElicitationForm(request, answer)
            return SamplingForm(request, answer, proposal)

        def place(form: Any) -> None:
            inboxes = [i for i in self._inboxes if i.is_open()]
            if inboxes:
                inboxes[-1].show(form)
            else:
                show_in_cell(form)

        return await until_answered(build, place)


def show_in_cell(form: Any) -> None:
    """Display ``form.widget`` under the cell whose context this runs in."""
    from IPython.display import display

    display(form.widget)


async def until_answered(build: Callable[[Callable[[Any], None]], Any],
                         place: Callable[[Any], None] = show_in_cell) -> Any:
    """Build a form with ``build(answer)`` on the UI side, ``place`` it, and wait until it calls ``answer``.
    A wait cancelled first withdraws the form (the question is gone, so are its buttons)."""
    loop = asyncio.get_running_loop()
    answered: asyncio.Future[Any] = loop.create_future()

    def answer(outcome: Any) -> None:
        loop.call_soon_threadsafe(lambda: answered.done() or answered.set_result(outcome))

    made: list[Any] = []

    def show() -> None:
        form = build(answer)
        made.append(form)
        place(form)

    runtime.on_ui(show, in_cell=True)
    try:
        return await answered
    finally:
        if not answered.done() or answered.cancelled():
            runtime.on_ui(lambda: [form.withdraw() for form in made])
