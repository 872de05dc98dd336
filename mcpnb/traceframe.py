"""``TraceFrame``: the protocol trace as a pandas DataFrame (``server.trace``), and its ``view()``.

Apart from ``mcpnb.trace`` so that a connection, which keeps a ``Trace`` from
its first message, does not import pandas: this module is loaded when someone
asks for the table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from .trace import Trace

__all__ = ["TraceFrame"]


class TraceFrame(pd.DataFrame):
    """``server.trace``: the messages as a DataFrame, and ``view()`` to see them as a sequence.

    Filtering, sorting or selecting gives a TraceFrame again (pandas asks
    ``_constructor``), but only the frame ``server.trace`` returned knows the
    live Trace: its ``view()`` follows the connection; a derived frame's view
    shows just its own rows.
    """

    _trace: Trace | None = None  # a plain attribute, not in _metadata: pandas does not pass it on

    @property
    def _constructor(self) -> type[TraceFrame]:
        return TraceFrame

    def keep_full(self, on: bool = True) -> Any:
        """Keep this connection's messages whole from now on, however large.

        By default a message larger than 64 KB of JSON is kept cut (its
        summary, size and first 4 KB), so that a large result does not stay
        in memory after you let go of it. ``keep_full(False)`` cuts them again
        (those kept whole meanwhile too); ``with server.trace.keep_full(): ...``
        lasts for the block. Only on ``server.trace`` itself.
        """
        if self._trace is None:
            from .errors import ConfigError

            raise ConfigError("keep_full() works on a connection's live trace, not on a frame taken from it "
                              "or on a connection that has none.", hint="server.trace.keep_full()")
        return self._trace.keep_full(on)

    def view(self) -> Any:
        """The messages as a sequence between client and server lanes, in a widget.

        On ``server.trace`` itself: live, following the connection (across
        reconnects), the same widget each time for a connection; ``close()`` it
        to stop. On a filtered frame (``trace[trace.method == "tools/call"]``):
        those rows as they are.
        """
        # Lazily: traceframe is in the ground layer and widgets at the top; a script that reads the
        # table never loads ipywidgets. (tests/test_imports.py lists this as an allowed upward import.)
        from .widgets.sequence import SequenceView, live_view

        if self._trace is not None:
            return live_view(self._trace)
        return SequenceView.of_frame(self)
