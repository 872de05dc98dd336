"""Widgets over the library: the explorer, schema forms, call cards and the
forms that answer a server's questions. Thin: every action calls the
``Server`` API; every server string is shown as widget text or through
``mcpnb.render``."""

from .answer import ElicitationForm, SamplingForm
from .explorer import Explorer
from .form import SchemaForm

__all__ = ["Explorer", "SchemaForm", "ElicitationForm", "SamplingForm"]
