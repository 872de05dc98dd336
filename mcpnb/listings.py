"""What a server offers: tools, resources, templates and prompts, as plain objects.

Each item is a small frozen view over the SDK's model (kept as ``.raw``) with
the fields a person reaches for, named the Python way. A ``Listing`` holds the
complete list (every page fetched) and behaves like a read-only mapping keyed
by name that iterates over items: ``len(tools)``, ``for tool in tools``,
``"search" in tools``, ``tools["search"]``, ``tools.names``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import mcp_types as types

from .errors import NotFound

if TYPE_CHECKING:
    import pandas as pd

    from .export import Export
    from .preview import Preview

__all__ = ["Tool", "Resource", "ResourceTemplate", "Prompt", "Listing"]


@dataclass(frozen=True)
class Tool:
    """A tool the server offers."""

    name: str
    title: str | None
    description: str | None
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None
    annotations: types.ToolAnnotations | None
    raw: types.Tool = field(repr=False)

    @classmethod
    def from_sdk(cls, tool: types.Tool) -> Tool:
        title = tool.title or (tool.annotations.title if tool.annotations else None)
        return cls(tool.name, title, tool.description, dict(tool.input_schema or {}),
                   tool.output_schema, tool.annotations, tool)

    @property
    def parameters(self) -> list[str]:
        """Argument names, required ones first, in schema order."""
        props = list((self.input_schema.get("properties") or {}).keys())
        required = set(self.input_schema.get("required") or ())
        return [p for p in props if p in required] + [p for p in props if p not in required]

    @property
    def required(self) -> list[str]:
        return list(self.input_schema.get("required") or ())

    @property
    def signature(self) -> str:
        """The arguments in one line, optional ones marked: ``order_id, reason?``."""
        required = set(self.required)
        return ", ".join(p if p in required else f"{p}?" for p in self.parameters)

    @property
    def app(self) -> str | None:
        """The ``ui://`` resource of the tool's MCP App (``_meta.ui.resourceUri``), or None."""
        meta = self.raw.meta or {}
        ui = meta.get("ui")
        uri = ui.get("resourceUri") if isinstance(ui, dict) else None
        uri = uri or meta.get("ui/resourceUri")  # where the extension's first drafts put it; hosts still read it
        return uri if isinstance(uri, str) and uri.startswith("ui://") else None

    @property
    def visibility(self) -> tuple[str, ...]:
        """Who may call the tool, by MCP Apps' ``_meta.ui.visibility``: "model", "app" (both unless it says)."""
        ui = (self.raw.meta or {}).get("ui")
        said = ui.get("visibility") if isinstance(ui, dict) else None
        return tuple(v for v in said if v in ("model", "app")) if isinstance(said, list) else ("model", "app")


@dataclass(frozen=True)
class Resource:
    """A resource the server lists."""

    uri: str
    name: str
    title: str | None
    description: str | None
    mime_type: str | None
    size: int | None
    raw: types.Resource = field(repr=False)

    @classmethod
    def from_sdk(cls, resource: types.Resource) -> Resource:
        return cls(str(resource.uri), resource.name, resource.title, resource.description,
                   resource.mime_type, resource.size, resource)


@dataclass(frozen=True)
class ResourceTemplate:
    """A parameterised resource (an RFC 6570 URI template)."""

    uri_template: str
    name: str
    title: str | None
    description: str | None
    mime_type: str | None
    raw: types.ResourceTemplate = field(repr=False)

    @classmethod
    def from_sdk(cls, template: types.ResourceTemplate) -> ResourceTemplate:
        return cls(template.uri_template, template.name, template.title, template.description,
                   template.mime_type, template)

    @property
    def variables(self) -> list[str]:
        """The template's variable names, in order."""
        from mcp.shared.uri_template import UriTemplate

        return list(UriTemplate.parse(self.uri_template).variable_names)

    def expand(self, **values: Any) -> str:
        """The URI for these values, expanded by RFC 6570 (reserved and non-ASCII characters encoded)."""
        from mcp.shared.uri_template import UriTemplate

        return UriTemplate.parse(self.uri_template).expand({k: str(v) for k, v in values.items()})


@dataclass(frozen=True)
class Prompt:
    """A prompt template the server offers."""

    name: str
    title: str | None
    description: str | None
    arguments: list[types.PromptArgument]
    raw: types.Prompt = field(repr=False)

    @classmethod
    def from_sdk(cls, prompt: types.Prompt) -> Prompt:
        return cls(prompt.name, prompt.title, prompt.description, list(prompt.arguments or []), prompt)

    @property
    def signature(self) -> str:
        """The arguments in one line, optional ones marked: ``enquiry_id, tone?``."""
        return ", ".join(a.name if a.required else f"{a.name}?" for a in self.arguments)


Item = TypeVar("Item", Tool, Resource, ResourceTemplate, Prompt)


class Listing(Generic[Item]):
    """A complete, read-only list of one kind of item, looked up by name."""

    def __init__(self, kind: str, server: str, items: Sequence[Item], key: str = "name") -> None:
        self.kind = kind  # "tool", "resource", ...
        self.server = server
        self._items = list(items)
        self._by_key = {getattr(item, key): item for item in self._items}
        if key != "name":  # resources are also found by their name
            for item in self._items:
                self._by_key.setdefault(item.name, item)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Item]:
        return iter(self._items)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, (Tool, Resource, ResourceTemplate, Prompt)):
            return key in self._items
        return key in self._by_key

    def __getitem__(self, key: str | int) -> Item:
        if isinstance(key, int):
            return self._items[key]
        try:
            return self._by_key[key]
        except KeyError:
            raise self.not_found(key) from None

    def get(self, key: str, default: Any = None) -> Any:
        return self._by_key.get(key, default)

    @property
    def names(self) -> list[str]:
        return [item.name for item in self._items]

    def not_found(self, key: str) -> NotFound:
        """The error for an unknown name, with close matches as suggestions."""
        close = difflib.get_close_matches(key, list(self._by_key), n=3, cutoff=0.5)
        known = ", ".join(self.names[:12]) + (", ..." if len(self) > 12 else "")
        hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else (
            f"it has: {known}." if len(self) else f"it has no {self.kind}s.")
        return NotFound(f"Server {self.server!r} has no {self.kind} {key!r}.", suggestions=close, hint=hint)

    @property
    def df(self) -> pd.DataFrame:
        """The listing as a table (the columns depend on the kind; see ``mcpnb.frames``)."""
        from .frames import listing_frame

        return listing_frame(self)

    def preview(self, provider: str = "anthropic", *, count: str = "auto", model: str | None = None) -> Preview:
        """These tools as ``provider``'s API receives them, with token counts and totals (``mcpnb.preview``)."""
        from .preview import preview

        return preview(self, provider, count=count, model=model)

    def export(self, provider: str, *, strict: bool = True) -> Export:
        """These tools as ``provider``'s API takes them ("anthropic", "openai", "openai-responses", "gemini"),
        with what the conversion changed (``mcpnb.export``)."""
        from .errors import ConfigError
        from .export import export_tools

        if self.kind != "tool":
            raise ConfigError(f"An export holds tools, not {self.kind}s.", hint="use server.tools.export(...).")
        return export_tools(self, provider, strict=strict)

    def _repr_html_(self) -> str:
        from . import render

        return render.listing(self)

    def __repr__(self) -> str:
        shown = ", ".join(self.names[:8]) + (", ..." if len(self) > 8 else "")
        return f"<{len(self)} {self.kind}s of {self.server!r}: {shown}>"
