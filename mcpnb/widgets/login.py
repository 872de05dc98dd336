"""The sign-in line under a cell awaiting a login: the link, a field to paste the address, Cancel.

Built by ``mcpnb.login`` on the cell's thread; ``finish`` may be called from
any thread (widget updates travel by comm).
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as w

from .. import render
from .form import on_enter
from .style import styled

__all__ = ["LoginView"]


class LoginView:
    """``Sign in to NAME: [open the sign-in page]  [paste field] [Continue] [Cancel]``."""

    def __init__(self, server_name: str, url: str, *, listening: bool, opened: bool,
                 on_paste: Callable[[str], None], on_cancel: Callable[[], None]) -> None:
        self.heading = f"<b>Sign in to {render.esc(server_name)}</b>"
        where = "a browser tab was opened" if opened else "sign in there, then paste the address below"
        if listening:
            where = ("a browser tab was opened: the notebook hears it come back" if opened else
                     f"{where}, unless the notebook hears the browser come back")
        self.title = w.HTML(
            value=f"<div style=\"line-height: 1.5\">{self.heading}: "
                  f"<a href=\"{render.esc(url)}\" target=\"_blank\" rel=\"noopener noreferrer\" "
                  f"style=\"color: var(--jp-content-link-color, #1a73e8)\">open the sign-in page</a> "
                  f"<small style=\"color: var(--jp-ui-font-color2, #555)\">({render.esc(where)})</small></div>")
        self.field = w.Text(placeholder="the address your browser was sent back to", description="Address",
                            style={"description_width": "initial"},
                            layout=w.Layout(flex="1 1 260px", min_width="200px", width="auto"))
        self.go = w.Button(description="Continue", button_style="primary", layout=w.Layout(width="100px"))
        self.cancel = w.Button(description="Cancel", icon="stop", layout=w.Layout(width="90px"))
        self.status = w.Label(value="waiting for the sign-in")
        self.go.on_click(lambda _: self._paste(on_paste))
        on_enter(self.field, lambda: self._paste(on_paste))
        self.cancel.on_click(lambda _: self._cancel(on_cancel))
        buttons = w.HBox([self.go, self.cancel], layout=w.Layout(flex="0 0 auto"))
        row = w.HBox([self.field, buttons], layout=w.Layout(flex_flow="row wrap", width="100%"))
        self.widget = styled(w.VBox([self.title, row, self.status], layout=w.Layout(max_width="900px")))
        self.widget.add_class("mcpnb-login")

    def _paste(self, on_paste: Callable[[str], None]) -> None:
        text = self.field.value.strip()
        if not text:
            self.status.value = "paste the whole address from the browser's address bar first"
            return
        self.field.value = ""  # the address carries a one-time code: it is not left in the widget's state
        self.status.value = "checking the address"
        on_paste(text)

    def _cancel(self, on_cancel: Callable[[], None]) -> None:
        self.cancel.disabled = True
        self.status.value = "cancelling"
        on_cancel()

    def finish(self, outcome: str, succeeded: bool) -> None:
        """Say how the sign-in ended; the link and the field go (the link's state is spent)."""
        self.title.value = f"<div style=\"line-height: 1.5\">{self.heading}</div>"
        for part in (self.field, self.go, self.cancel):
            part.layout.display = "none"
        self.status.value = outcome
        self.status.style.text_color = None if succeeded else "var(--jp-error-color1, #d32f2f)"
