"""The SCRIPTED stand-in for the providers' APIs now lives in ``mcpnb.demo.scripted_model`` (one stand-in for
the token counts the preview asks for and the conversations ``mcpnb.llm`` holds); kept here for the tests
that import it by this name."""

from mcpnb.demo.scripted_model import TOOL_PREAMBLE, Rule, StandIn, expected, serving, start

__all__ = ["TOOL_PREAMBLE", "Rule", "StandIn", "expected", "serving", "start"]
