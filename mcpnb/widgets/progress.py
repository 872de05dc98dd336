"""The in-cell line for a call or a map() that takes a while: a bar, a count, a Cancel button.

Built and displayed by ``mcpnb.progress`` on the cell's own thread and context;
updated from any thread (widget updates are routed by comm, not by cell).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from .. import render

__all__ = ["ProgressView", "move_bar"]


def move_bar(bar: w.FloatProgress, done: float, total: float | None) -> str:
    """Show ``done`` of ``total`` on ``bar`` (no total: half full, to show that something moves);
    the count as text, ``3/12`` or ``3``."""
    if total:
        bar.max = float(total)
        bar.value = min(float(done), float(total))
        return f"{done:g}/{total:g}"
    bar.max, bar.value = 1.0, 0.5
    return f"{done:g}"


class ProgressView:
    """``label [bar] 3/12 message [Cancel]``; without ``on_cancel``, a hint to interrupt instead."""

    def __init__(self, label: str, on_cancel: Callable[[], None] | None) -> None:
        self.title = w.HTML(value=f"<code>{render.esc(label)}</code>")
        self.bar = w.FloatProgress(value=0, min=0, max=1, bar_style="info", layout=w.Layout(width="260px"))
        self.count = w.Label(value="waiting for the server")
        self.cancel = w.Button(description="Cancel", button_style="warning", icon="stop",
                               layout=w.Layout(width="90px"))
        self.hint = w.Label(value="")
        self.moved = False  # any progress reported yet
        if on_cancel is None:  # a blocked cell takes no clicks: the kernel's interrupt stops it
            self.cancel.layout.display = "none"
            self.hint.value = "(interrupt the kernel to cancel)"
        else:
            self.cancel.on_click(lambda _: self._cancel(on_cancel))
        self.widget = w.HBox([self.title, self.bar, self.count, self.cancel, self.hint])
        self.widget.add_class("mcpnb-progress")
        self.label = label
        self._handle: Any = None

    def show(self) -> None:
        """Display the line in the current cell. Its plain-text form says what it is (and, once finished,
        how it ended), so a saved notebook opened where the widget cannot be drawn reads a sentence, not
        ipywidgets' ``HBox(children=...)``."""
        from IPython.display import display

        self._handle = display(self._bundle("a progress bar, live while the cell runs"), raw=True,
                               display_id=True)

    def _bundle(self, text: str) -> dict[str, Any]:
        bundle = dict(self.widget._repr_mimebundle_() or {})
        bundle["text/plain"] = f"{self.label}: {text}"
        return bundle

    def _cancel(self, on_cancel: Callable[[], None]) -> None:
        self.cancel.disabled = True
        self.count.value = "cancelling..."
        on_cancel()

    def set(self, done: float, total: float | None, message: str | None, unit: str) -> None:
        self.moved = True
        text = f"{move_bar(self.bar, done, total)} {unit}"
        self.count.value = f"{text} · {message}" if message else text

    def finish(self, outcome: str, succeeded: bool) -> None:
        self.cancel.layout.display = "none"
        self.hint.value = ""
        self.bar.bar_style = "success" if succeeded else "danger"
        if succeeded:
            self.bar.value = self.bar.max
        self.count.value = f"{self.count.value} · {outcome}" if self.moved else outcome
        if self._handle is not None:
            self._handle.update(self._bundle(self.count.value), raw=True)  # matched by display id, any thread
