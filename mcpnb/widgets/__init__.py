"""Widgets over the library: the explorer, schema forms, call cards, the
forms that answer a server's questions, and the wire as a live sequence
(``SequenceView``, what ``server.trace.view()`` returns). Thin: every action calls the
``Server`` API; every server string is shown as widget text or through
``mcpnb.render``."""

from .answer import ElicitationForm, SamplingForm
from .explorer import Explorer
from .form import SchemaForm
from .sequence import SequenceView

__all__ = ["Explorer", "SchemaForm", "ElicitationForm", "SamplingForm", "SequenceView"]
