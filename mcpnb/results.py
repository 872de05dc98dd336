"""What comes back from a server, wrapped for people: results and server info.

Each result keeps the SDK's own object as ``.raw`` and adds the fields a person
reaches for first (``.text``, ``.structured``, ``.is_error`` ...). Tables and
rich display build on these in later layers; nothing here renders HTML.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import mcp_types as types

from .errors import ToolError
from .masking import mask_known

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ToolResult", "ResourceResult", "PromptResult", "Completions", "ServerInfo"]


def _join_text(blocks: Any) -> str:
    return "\n".join(block.text for block in blocks if isinstance(block, types.TextContent))


# Raster images a frontend may show from a mimebundle as they are; SVG is left to the HTML
# (shown there only as an <img>), since an SVG document can carry script.
_BUNDLED_IMAGES = ("image/png", "image/jpeg", "image/gif", "image/webp")


def _bundle(shown: Any, parts: list[tuple[str | None, str | None]]) -> dict[str, Any]:
    """The mimebundle of a result: text/plain, text/html, and its first raster image as itself
    (so exports, "copy image" and frontends without HTML get the image, not only markup)."""
    bundle: dict[str, Any] = {"text/plain": repr(shown), "text/html": shown._repr_html_()}
    for mime, data in parts:
        if mime in _BUNDLED_IMAGES and data:
            try:
                base64.b64decode(data, validate=True)
            except ValueError:
                continue  # not base64: the HTML says it could not be shown
            bundle[mime] = data
            break
    return bundle


@dataclass
class ToolResult:
    """The result of one tool call.

    ``content`` is the list of SDK content blocks, ``structured`` the
    structured content (or None), ``text`` every text block joined by newlines.
    A tool that fails reports it in the result (``is_error``), as MCP intends
    for errors a model should see; ``raise_for_error()`` turns that into an
    exception for scripts.
    """

    raw: types.CallToolResult = field(repr=False)
    server: str
    tool: str
    arguments: dict[str, Any]
    elapsed: float  # seconds, as measured by the client
    protocol_version: str | None = None
    called_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def is_error(self) -> bool:
        return bool(self.raw.is_error)

    @property
    def content(self) -> list[Any]:
        return list(self.raw.content)

    @property
    def structured(self) -> Any:
        return self.raw.structured_content

    @property
    def text(self) -> str:
        return _join_text(self.raw.content)

    @property
    def meta(self) -> dict[str, Any] | None:
        return self.raw.meta

    @property
    def data(self) -> Any:
        """The most useful Python value: structured content, else text parsed as JSON, else text."""
        if self.structured is not None:
            return self.structured
        text = self.text
        try:
            return json.loads(text)
        except ValueError:
            return text

    @property
    def df(self) -> pd.DataFrame:
        """The result as a table (rules in mcpnb.frames); NotTabular says why when it is not one."""
        from .frames import tool_frame

        return tool_frame(self)

    def _repr_html_(self) -> str:
        from . import render

        return render.tool_result(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        images = [(b.mime_type, b.data) for b in self.raw.content if isinstance(b, types.ImageContent)]
        return _bundle(self, images)

    def raise_for_error(self) -> ToolResult:
        """Raise ToolError if the tool reported failure; return self otherwise."""
        if self.is_error:
            text = mask_known(self.text or "(no message)")  # a server may repeat a secret back
            raise ToolError(f"Tool {self.tool!r} on {self.server!r} failed: {text}", result=self)
        return self

    def __repr__(self) -> str:
        status = "error" if self.is_error else "ok"
        kinds = ", ".join(block.type for block in self.raw.content) or "no content"
        extra = ", structured" if self.structured is not None else ""
        preview = self.text.replace("\n", " ")
        if len(preview) > 80:
            preview = preview[:77] + "..."
        return f"<ToolResult {self.server}.{self.tool} {status} ({kinds}{extra}) {preview!r}>"


@dataclass
class ResourceResult:
    """The contents of one resource read (a resource may hold several parts)."""

    raw: types.ReadResourceResult = field(repr=False)
    server: str
    uri: str
    protocol_version: str | None = None
    read_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def df(self) -> pd.DataFrame:
        """The resource as a table: JSON, NDJSON or CSV text (rules in mcpnb.frames)."""
        from .frames import resource_frame

        return resource_frame(self)

    @property
    def contents(self) -> list[Any]:
        return list(self.raw.contents)

    @property
    def text(self) -> str:
        return "\n".join(c.text for c in self.raw.contents if isinstance(c, types.TextResourceContents))

    def _repr_html_(self) -> str:
        from . import render

        return render.resource_result(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        blobs = [(c.mime_type, c.blob) for c in self.raw.contents if isinstance(c, types.BlobResourceContents)]
        return _bundle(self, blobs)

    @property
    def blob(self) -> bytes | None:
        """The bytes of the first binary part, decoded from base64, or None."""
        for part in self.raw.contents:
            if isinstance(part, types.BlobResourceContents):
                return base64.b64decode(part.blob)
        return None

    @property
    def mime_type(self) -> str | None:
        return self.raw.contents[0].mime_type if self.raw.contents else None

    def __repr__(self) -> str:
        size = sum(len(getattr(c, "text", "") or getattr(c, "blob", "")) for c in self.raw.contents)
        return f"<ResourceResult {self.server} {self.uri} ({len(self.raw.contents)} part(s), {self.mime_type}, {size} chars)>"


@dataclass
class PromptResult:
    """A rendered prompt: the messages a client would hand to a model."""

    raw: types.GetPromptResult = field(repr=False)
    server: str
    name: str
    arguments: dict[str, str]

    @property
    def description(self) -> str | None:
        return self.raw.description

    @property
    def messages(self) -> list[types.PromptMessage]:
        return list(self.raw.messages)

    @property
    def text(self) -> str:
        """Every text message as ``role: text``, one per paragraph."""
        lines = []
        for message in self.raw.messages:
            if isinstance(message.content, types.TextContent):
                lines.append(f"{message.role}: {message.content.text}")
            else:
                lines.append(f"{message.role}: [{message.content.type}]")
        return "\n\n".join(lines)

    def __repr__(self) -> str:
        return f"<PromptResult {self.server}.{self.name} ({len(self.raw.messages)} message(s))>"

    def _repr_html_(self) -> str:
        from . import render

        return render.prompt_result(self)


@dataclass
class Completions:
    """Suggested values for one argument (of a prompt or a resource template)."""

    values: list[str]
    total: int | None
    has_more: bool

    def __iter__(self):
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, index: int) -> str:
        return self.values[index]


@dataclass
class ServerInfo:
    """Who the server is and what it negotiated."""

    name: str | None
    title: str | None
    version: str | None
    protocol_version: str
    era: str  # "handshake" (initialize, up to 2025-11-25) or "stateless" (2026-07-28)
    capabilities: types.ServerCapabilities
    instructions: str | None
    transport: str  # masked description of how we are connected

    @property
    def capability_names(self) -> list[str]:
        """Top-level capabilities the server declared, e.g. ['tools', 'resources']."""
        dumped = self.capabilities.model_dump(exclude_none=True)
        return sorted(dumped)

    def __repr__(self) -> str:
        ident = self.name or "(anonymous)"
        if self.version:
            ident += f" {self.version}"
        return (f"<ServerInfo {ident}, protocol {self.protocol_version} ({self.era}), "
                f"capabilities: {', '.join(self.capability_names) or 'none'}>")
