"""One tool call started from a widget: its progress, a Cancel button, and the
result as a table, as JSON and as the raw content.

The call runs on mcpnb's loop (``runtime.submit``), so the kernel stays free
and several cards can run at once. Progress notifications move the bar;
Cancel cancels the request, and the SDK sends ``notifications/cancelled``.

The card's state is a traitlet (``state``, with ``result`` and ``error`` set
before it changes), so the explorer and tests can ``observe`` it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import traitlets

from .. import render, runtime
from ..errors import MCPNBError, NotTabular
from ..line import call_line
from .app import AppFrame
from .progress import move_bar
from .style import styled

if TYPE_CHECKING:
    from ..results import ToolResult
    from ..server import Server

__all__ = ["CallCard", "result_views"]


class CallCard(traitlets.HasTraits):
    """The widget for one call, with its state: running, then done, error, failed or cancelled."""

    state = traitlets.Enum(("running", "done", "error", "failed", "cancelled"), default_value="running",
                           help="running; done (a result), error (the tool reported one), failed, cancelled")
    result = traitlets.Any(None, allow_none=True, help="the ToolResult, once done or error")
    error = traitlets.Any(None, allow_none=True, help="the exception, once failed")

    def __init__(self, server: Server, tool: str, arguments: dict[str, Any]) -> None:
        super().__init__()
        self.server, self.tool, self.arguments = server, tool, dict(arguments)
        self.started = time.monotonic()
        self.title = w.Label(value=call_line(server.name, tool, arguments).removeprefix("%mcp call "))
        self.status = w.Label(value="running", layout=w.Layout(min_width="max-content"))
        self.bar = w.FloatProgress(value=0, min=0, max=1, layout=w.Layout(width="300px", display="none"))
        self.progress_note = w.Label(value="")
        self.cancel = w.Button(description="Cancel", button_style="warning", icon="stop")
        self.cancel.on_click(lambda _: self.cancel_call())
        self.output = w.Tab(layout=w.Layout(display="none"))
        self.widget = styled(w.VBox([self.title, w.HBox([self.status, self.bar, self.progress_note, self.cancel]),
                                     self.output],
                                    layout=w.Layout(border="1px solid var(--jp-border-color2, #ccc)", padding="4px",
                                                    margin="3px 0")))
        self.widget.add_class("mcpnb-call")
        self.job = runtime.submit(server.session.call(tool=tool, arguments=self.arguments, progress=self._progress))
        self.app = _app_for(server, tool, self.arguments)  # the tool's MCP App, under the card, if it has one
        if self.app is not None:
            self.app.follow(self.job)
            self.widget.children = [*self.widget.children, self.app]
        self.job.add_done_callback(lambda _: runtime.on_ui(self._finished))

    def close(self) -> None:
        """Let the card go: its app, if it has one, stops (its questions answered no, its frame closed)."""
        if self.app is not None:
            self.app.close()

    def _progress(self, done: float, total: float | None, message: str | None) -> None:
        def show() -> None:
            self.bar.layout.display = ""
            self.bar.description = move_bar(self.bar, done, total)
            self.progress_note.value = message or ""

        runtime.on_ui(show)

    def cancel_call(self) -> None:
        if self.state == "running":
            self.status.value = "cancelling..."
            self.job.cancel_work()

    def _finished(self) -> None:
        seconds = time.monotonic() - self.started
        self.cancel.disabled = True
        self.cancel.layout.display = "none"  # a finished card's Cancel looked as if it could still be pressed
        try:
            result = self.job.result(0)
        except runtime.Cancelled:
            self.state, self.status.value = "cancelled", f"cancelled after {seconds:.1f} s"
            return
        except BaseException as error:  # shown, never raised into the kernel
            expected = isinstance(error, MCPNBError)
            self.error = error
            self.status.value = f"failed after {seconds:.1f} s" if expected else f"failed: {type(error).__name__}"
            text = str(error) if expected else f"{type(error).__name__}: {error}"
            self._show([("Error", w.HTML(value=render.text_block(text)))])
            self.state = "failed"
            return
        self.result = result
        self.status.value = (f"the tool reported an error ({seconds:.2f} s)" if result.is_error
                             else f"done in {seconds:.2f} s")
        if self.bar.layout.display == "":
            self.bar.value = self.bar.max
        self._show(result_views(result))
        self.state = "error" if result.is_error else "done"  # observers of state see the card complete

    def _show(self, views: list[tuple[str, w.Widget]]) -> None:
        self.output.children = [view for _, view in views]
        self.output.titles = tuple(title for title, _ in views)
        self.output.layout.display = ""


def _app_for(server: Server, tool: str, arguments: dict[str, Any]) -> AppFrame | None:
    """The frame for ``tool``'s app when it has one (the explorer listed the tools already)."""
    listed = server.session.catalog.cached("tools")
    found = listed[tool] if listed is not None and tool in listed else None
    return AppFrame(server, found, arguments) if found is not None and found.app else None


def result_views(result: ToolResult) -> list[tuple[str, w.Widget]]:
    """A tool result's tabs, the most telling first: Table when it is tabular, else Text when it is
    text; then JSON (its data, when there is any beyond the text) and Raw (every content block).
    An error result opens on Raw, the server's own words."""
    views: list[tuple[str, w.Widget]] = []
    if not result.is_error:
        try:
            frame = result.df
            if frame.shape == (1, 1) and isinstance(frame.iat[0, 0], str):  # one text, as {"result": "..."}
                views.append(("Text", w.HTML(value=render.text_block(frame.iat[0, 0]))))
            else:
                views.append(("Table", w.HTML(value=render.table(frame, where="the result's .df"))))
        except NotTabular:
            if result.text:
                views.append(("Text", w.HTML(value=render.text_block(result.text))))
        except MCPNBError as error:
            views.append(("Table", w.Label(value=str(error))))
    data = result.data
    if not (isinstance(data, str) and data == result.text):  # plain text has no JSON beyond itself
        try:
            views.append(("JSON", w.HTML(value=render.json_block(data))))
        except Exception as error:  # a value JSON cannot hold
            views.append(("JSON", w.Label(value=f"no JSON: {type(error).__name__}")))
    views.append(("Raw", w.HTML(value=render.tool_result(result))))
    return views if not result.is_error else [views[-1], *views[:-1]]
