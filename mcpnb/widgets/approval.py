"""The small prompt under a cell that asks before a model's tool call runs: Allow once, Always allow,
Deny. Used by ``mcpnb.chat`` when the turn is awaited in a notebook (a cell blocked in a synchronous
``ask`` is asked on stdin instead: it processes no clicks).

``ask`` runs on mcpnb's loop and waits; the prompt is built and shown on the kernel's thread, under the
cell awaiting the turn (``runtime.on_ui``). A click answers it and folds it to one line saying what was
chosen. If the turn goes away first (interrupted, cancelled), the prompt says so and takes no answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from .. import render
from .answer import until_answered
from .style import styled

__all__ = ["ApprovalPrompt", "ask"]


class ApprovalPrompt:
    """Allow once ("y"), Always allow TOOL in this conversation ("a"), Deny ("n")."""

    def __init__(self, label: str, record: Any, answer: Callable[[str], None]) -> None:
        self._answer = answer
        self.question = w.HTML(value=render.chat_approval(label, record))
        self.once = w.Button(description="Allow once", button_style="primary")
        self.always = w.Button(description=f"Always allow {record.tool}"[:60], tooltip="for the rest of this "
                               "conversation", layout=w.Layout(width="auto"))
        self.deny = w.Button(description="Deny")
        self.status = w.Label(value="", layout=w.Layout(display="none"))  # shown once answered
        self.buttons = [self.once, self.always, self.deny]
        for button, letter, words in ((self.once, "y", "allowed once"), (self.always, "a", "allowed for this "
                                      "conversation"), (self.deny, "n", "denied")):
            button.on_click(lambda _, letter=letter, words=words: self._finish(letter, words))
        self.row = w.HBox(self.buttons, layout=w.Layout(flex_flow="row wrap", gap="4px"))
        self.widget = styled(w.VBox([self.question, self.row, self.status],
                                    layout=w.Layout(border="1px solid var(--jp-warn-color1, #f57c00)",
                                                    padding="4px 8px", margin="4px 0", max_width="900px")))
        self.widget.add_class("mcpnb-approval")

    def _finish(self, letter: str, words: str) -> None:
        if self.once.disabled:
            return
        for button in self.buttons:
            button.disabled = True
        self.row.layout.display = "none"
        self.status.value, self.status.layout.display = words, ""
        self._answer(letter)

    def withdraw(self) -> None:
        """The turn went away before an answer."""
        if not self.once.disabled:
            for button in self.buttons:
                button.disabled = True
            self.row.layout.display = "none"
            self.status.value, self.status.layout.display = "no longer needed (the turn was stopped)", ""


async def ask(label: str, record: Any) -> str:
    """Show the prompt under the awaiting cell and wait for a click: "y", "a" or "n"."""
    return await until_answered(lambda answer: ApprovalPrompt(label, record, answer))
