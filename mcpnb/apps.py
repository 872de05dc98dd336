"""MCP Apps (the ``io.modelcontextprotocol/ui`` extension): the host's side.

A tool whose ``_meta.ui.resourceUri`` names a ``ui://`` resource comes with
an app: an HTML document (``text/html;profile=mcp-app``) that the host shows
in a sandboxed iframe under the call. The app speaks to its host in JSON-RPC
over ``postMessage`` (the extension's own protocol, revision 2026-01-26): it
asks ``ui/initialize``, is given the tool's input and result, and may call
the server's tools, read its resources, send a message, ask for a link to be
opened and report its size.

This module is the host's judgement, written against the extension's
specification: what the frame may load (``AppResource.policy``, the CSP from
the resource's declared domains, each domain checked so a server cannot
widen the policy with a stray ``;``), and the answer to everything the app
sends (``AppHost``). Tool calls go through the connection like any other (so
they appear in the trace); a destructive tool is called only after the
person allows it; a link is shown, never opened; messages are shown in the
cell. The front-end (``mcpnb.widgets.app``) relays messages between the
iframe and here, and draws what this module decides.
"""

from __future__ import annotations

import html
import ipaddress
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import mcp_types as types
from pydantic import ValidationError

from .errors import ConfigError, MCPNBError, ProtocolError
from .events import cut
from .listings import Tool
from .version import __version__

if TYPE_CHECKING:
    from .results import ToolResult
    from .session import Session

__all__ = ["EXTENSION_ID", "APP_MIME_TYPE", "ADVERTISED", "require_app", "visible_to_apps", "destructive",
           "AppResource", "AppHost", "load_app"]

EXTENSION_ID = "io.modelcontextprotocol/ui"
APP_MIME_TYPE = "text/html;profile=mcp-app"
PROTOCOL_VERSION = "2026-01-26"  # the extension's revision this host is written against
MAX_IN_FLIGHT = 16  # requests from one app answered at once
ADVERTISED = {"mimeTypes": [APP_MIME_TYPE]}  # the client capability's settings (extensions.<id>)
# A source a resource may declare: a scheme, a host (optionally *. for subdomains), a port. Nothing
# else, so no keyword ('unsafe-eval'), wildcard or ';' can widen the policy.
_SOURCE = re.compile(r"(https|wss|http|ws)://(\*\.)?(?P<host>[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*)(:\d{1,5})?/?")


def visible_to_apps(tool: Tool) -> bool:
    """Whether an app may call ``tool`` (``_meta.ui.visibility`` holds "app", or says nothing)."""
    return "app" in tool.visibility


def destructive(tool: Tool) -> bool:
    """Whether calling ``tool`` may destroy data, by its annotations and the spec's defaults
    (a tool that does not say it only reads is taken to be destructive unless it says it is not)."""
    notes = tool.annotations
    if notes is None:
        return True
    if notes.read_only_hint:
        return False
    return notes.destructive_hint is not False


@dataclass
class AppResource:
    """An app's document and what it declared: the domains it may reach, the permissions it asks."""

    uri: str
    html: str
    csp: dict[str, list[str]] = field(default_factory=dict)
    permissions: dict[str, Any] = field(default_factory=dict)
    prefers_border: bool | None = None
    refused: list[str] = field(default_factory=list)  # declared sources left out of the policy, and why

    @classmethod
    def from_meta(cls, uri: str, text: str, meta: Mapping[str, Any] | None) -> AppResource:
        ui = (meta or {}).get("ui")
        ui = ui if isinstance(ui, Mapping) else {}
        declared = ui.get("csp") if isinstance(ui.get("csp"), Mapping) else {}
        csp: dict[str, list[str]] = {}
        refused: list[str] = []
        for key in ("connectDomains", "resourceDomains", "frameDomains", "baseUriDomains"):
            values = declared.get(key)
            if not isinstance(values, list):
                continue
            for value in values:
                why = _unacceptable(value)
                if why is None:
                    csp.setdefault(key, []).append(value.rstrip("/"))
                else:
                    refused.append(f"{key}: {str(value)[:80]!r} {why}")
        asked = ui.get("permissions") if isinstance(ui.get("permissions"), Mapping) else {}
        permissions = {k: {} for k in ("camera", "microphone", "geolocation", "clipboardWrite") if k in asked}
        border = ui.get("prefersBorder")
        return cls(uri, text, csp, permissions, border if isinstance(border, bool) else None, refused)

    @property
    def policy(self) -> str:
        """The Content-Security-Policy the frame runs under: nothing from outside unless declared."""
        resources = " ".join(self.csp.get("resourceDomains", []))
        connect = " ".join(self.csp.get("connectDomains", [])) or "'none'"
        frames = " ".join(self.csp.get("frameDomains", [])) or "'none'"
        bases = " ".join(self.csp.get("baseUriDomains", [])) or "'none'"
        return "; ".join([
            "default-src 'none'",
            f"script-src 'unsafe-inline' {resources}".rstrip(),
            f"style-src 'unsafe-inline' {resources}".rstrip(),
            f"img-src data: blob: {resources}".rstrip(),
            f"font-src data: {resources}".rstrip(),
            f"media-src data: blob: {resources}".rstrip(),
            f"connect-src {connect}",
            f"frame-src {frames}",
            f"base-uri {bases}",
            "form-action 'none'",
        ])

    @property
    def allow(self) -> str:
        """The iframe's ``allow`` attribute: only the permissions the resource asked for."""
        names = {"camera": "camera", "microphone": "microphone", "geolocation": "geolocation",
                 "clipboardWrite": "clipboard-write"}
        return "; ".join(names[key] for key in self.permissions)

    @property
    def document(self) -> str:
        """The document as the frame gets it: the policy as its very first element.

        Put right after the doctype (before anything the server wrote), the
        parser files it in the head before any of the app's own scripts can run.
        """
        meta = f'<meta http-equiv="Content-Security-Policy" content="{html.escape(self.policy, quote=True)}">'
        found = re.match(r"\s*<!doctype[^>]*>", self.html, flags=re.IGNORECASE)
        if found:
            return self.html[: found.end()] + meta + self.html[found.end():]
        return "<!DOCTYPE html>" + meta + self.html


def _unacceptable(source: Any) -> str | None:
    """Why a declared source is left out of the frame's policy, or None when it is taken."""
    found = _SOURCE.fullmatch(source) if isinstance(source, str) else None
    if found is None:
        return "is not a scheme://host[:port] source"
    host = found.group("host").lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        local = host == "localhost" or host.endswith((".localhost", ".local"))
    else:
        local = not address.is_global
    # This machine or its network: the notebook's own server is there, and an app has no business with it.
    return "points at this machine or a private network" if local else None


def require_app(tool: Tool, server: str) -> str:
    """``tool``'s app URI; ConfigError when it has none."""
    uri = tool.app
    if uri is None:
        raise ConfigError(f"Tool {tool.name!r} of {server!r} has no app (no _meta.ui.resourceUri).",
                          hint=f"server.call({tool.name!r}, ...) it instead.")
    return uri


async def load_app(session: Session, tool: Tool) -> AppResource:
    """Read ``tool``'s app from the server; ConfigError when it has none, ProtocolError when the
    resource is not an app (the extension allows only ``text/html;profile=mcp-app``)."""
    uri = require_app(tool, session.name)
    found = await session.read(uri=uri)
    for part in found.raw.contents:
        if isinstance(part, types.TextResourceContents) and part.mime_type == APP_MIME_TYPE:
            return AppResource.from_meta(uri, part.text, part.meta)
    kinds = ", ".join(str(part.mime_type) for part in found.raw.contents) or "nothing"
    raise ProtocolError(f"Server {session.name!r} gave {kinds} for the app {uri!r}, not {APP_MIME_TYPE} text.",
                        hint="an app must be served as HTML text with that MIME type; ask the server's author.")


Post = Callable[[dict[str, Any]], None]
Confirm = Callable[[str], Awaitable[bool]]


class _Refused(Exception):
    """A request from the app answered with a JSON-RPC error."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class AppHost:
    """The host of one running app (one iframe): answers what it asks, tells it what happened.

    ``post(message)`` sends a JSON-RPC message into the frame; ``note(entry)``
    shows something in the cell (a message, a link, a log line, the model
    context); ``confirm(question)`` asks the person and returns their answer;
    ``resize(height)`` follows the app's size. All four are the widget's.
    """

    def __init__(self, session: Session, tool: Tool, arguments: Mapping[str, Any], resource: AppResource, *,
                 post: Post, note: Callable[[dict[str, Any]], None], confirm: Confirm,
                 resize: Callable[[int], None]) -> None:
        self.session, self.tool, self.arguments, self.resource = session, tool, dict(arguments), resource
        self._post, self._note, self._confirm, self._resize = post, note, confirm, resize
        self.initialized = False
        self._in_flight = 0  # requests being answered: an app that floods is refused, not obeyed
        self._asking = 0
        self._result: dict[str, Any] | None = None
        self._cancelled: str | None = None
        self.context: dict[str, Any] = {}

    # what happens to the call, told to the app once it is ready

    def deliver_result(self, result: ToolResult) -> None:
        self._result = result.raw.model_dump(by_alias=True, exclude_none=True, mode="json")
        if self.initialized:
            self._notify("ui/notifications/tool-result", self._result)

    def deliver_cancelled(self, reason: str) -> None:
        self._cancelled = reason
        if self.initialized:
            self._notify("ui/notifications/tool-cancelled", {"reason": reason})

    def context_changed(self, changes: Mapping[str, Any]) -> None:
        """The front-end saw the theme or the width change."""
        changed = {key: value for key, value in self._host_context(changes).items()
                   if key in changes and self.context.get(key) != value}
        self.context.update(changed)
        if changed and self.initialized:
            self._notify("ui/notifications/host-context-changed", changed)

    # what the app sends

    async def receive(self, message: Any, context: Mapping[str, Any] | None = None) -> None:
        """One message from the frame: a request is answered, a notification acted on."""
        if not isinstance(message, Mapping) or message.get("jsonrpc") != "2.0":
            return  # not the extension's (a stray postMessage from a library the app uses)
        method, ident, params = message.get("method"), message.get("id"), message.get("params") or {}
        if not isinstance(method, str):
            return  # a response: this host asks the app nothing that needs one
        if ident is None:
            self._notified(method, params)
            return
        self._in_flight += 1
        try:
            if self._in_flight > MAX_IN_FLIGHT:
                raise _Refused(-32000, f"too many requests at once (more than {MAX_IN_FLIGHT}); wait for answers")
            if not isinstance(params, Mapping):
                raise _Refused(-32602, "params must be an object")
            result = await self._answer(method, params, context or {})
        except _Refused as refused:
            self._post({"jsonrpc": "2.0", "id": ident, "error": {"code": refused.code, "message": str(refused)}})
        except MCPNBError as error:
            self._post({"jsonrpc": "2.0", "id": ident, "error": {"code": -32603, "message": error.message}})
        except Exception as error:  # the app is answered all the same; the caller shows what went wrong
            self._post({"jsonrpc": "2.0", "id": ident,
                        "error": {"code": -32603, "message": f"the host failed: {type(error).__name__}"}})
            raise
        else:
            self._post({"jsonrpc": "2.0", "id": ident, "result": result})
        finally:
            self._in_flight -= 1

    async def _answer(self, method: str, params: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
        if method == "ui/initialize":
            self.context = self._host_context(context)
            return {
                "protocolVersion": PROTOCOL_VERSION,
                "hostInfo": {"name": "mcpnb", "title": "mcpnb (Jupyter)", "version": __version__},
                "hostCapabilities": {
                    "openLinks": {}, "serverTools": {}, "serverResources": {}, "logging": {},
                    "message": {"text": {}}, "updateModelContext": {"text": {}, "structuredContent": {}},
                    "sandbox": {"csp": self.resource.csp, "permissions": self.resource.permissions},
                },
                "hostContext": self.context,
            }
        if method == "ping":
            return {}
        if method == "tools/call":
            return await self._call(params)
        if method == "resources/read":
            uri = params.get("uri")
            if not isinstance(uri, str):
                raise _Refused(-32602, "resources/read needs a uri")
            found = await self.session.read(uri=uri)
            return found.raw.model_dump(by_alias=True, exclude_none=True, mode="json")
        if method == "ui/open-link":
            url = params.get("url")
            if not isinstance(url, str) or not re.match(r"^(https?://|mailto:)", url):
                return {"isError": True}
            self._note({"kind": "link", "url": url[:2000]})  # shown for the person to follow, never opened
            return {}
        if method == "ui/message":
            self._note({"kind": "message", "text": _blocks_text(params.get("content"))})
            return {}
        if method == "ui/update-model-context":
            text = _blocks_text(params.get("content"))
            structured = params.get("structuredContent")
            self._note({"kind": "context", "text": text if text else cut(repr(structured), 300), "replace": True})
            return {}
        if method == "ui/request-display-mode":
            return {"mode": "inline"}  # a notebook cell has one place to show an app
        raise _Refused(-32601, f"{method} is not something this host offers")

    async def _call(self, params: Mapping[str, Any]) -> dict[str, Any]:
        try:
            request = types.CallToolRequestParams.model_validate(dict(params))
        except ValidationError as error:
            raise _Refused(-32602, f"tools/call: {error.errors()[0]['msg']}") from None
        tools = await self.session.listing(kind="tools")
        if request.name not in tools:
            raise _Refused(-32602, f"{self.session.name!r} has no tool {request.name!r}")
        tool = tools[request.name]
        if not visible_to_apps(tool):
            raise _Refused(-32600, f"{request.name!r} is for the model only (_meta.ui.visibility)")
        arguments = dict(request.arguments or {})
        if destructive(tool):
            if self._asking:
                raise _Refused(-32000, "a question to the person is already waiting; ask again after it")
            shown = ", ".join(f"{key}={cut(repr(value), 60)}" for key, value in arguments.items())
            self._asking += 1
            try:
                allowed = await self._confirm(f"The app asks to call {request.name}({shown}), "
                                              "which may change or destroy data.")
            finally:
                self._asking -= 1
            if not allowed:
                raise _Refused(-32000, f"The person did not allow {request.name}.")
        result = await self.session.call(tool=request.name, arguments=arguments)
        return result.raw.model_dump(by_alias=True, exclude_none=True, mode="json")

    def _notified(self, method: str, params: Any) -> None:
        params = params if isinstance(params, Mapping) else {}
        if method == "ui/notifications/initialized":
            self.initialized = True
            self._notify("ui/notifications/tool-input", {"arguments": self.arguments})
            if self._result is not None:
                self._notify("ui/notifications/tool-result", self._result)
            elif self._cancelled is not None:
                self._notify("ui/notifications/tool-cancelled", {"reason": self._cancelled})
        elif method == "ui/notifications/size-changed":
            height = params.get("height")
            if isinstance(height, (int, float)) and height > 0:
                self._resize(int(min(max(height, 40), 4000)))
        elif method == "notifications/message":
            data = params.get("data")
            self._note({"kind": "log", "level": str(params.get("level", "info"))[:20],
                        "text": data if isinstance(data, str) else cut(repr(data), 300)})
        elif method == "ui/notifications/request-teardown":
            self._note({"kind": "log", "level": "info", "text": "the app asked to be closed"})

    def _notify(self, method: str, params: Mapping[str, Any]) -> None:
        self._post({"jsonrpc": "2.0", "method": method, "params": dict(params)})

    def _host_context(self, seen: Mapping[str, Any]) -> dict[str, Any]:
        """The host context from what the front-end saw (theme, styles, width, locale) and the tool."""
        context: dict[str, Any] = {
            "toolInfo": {"tool": self.tool.raw.model_dump(by_alias=True, exclude_none=True, mode="json")},
            "displayMode": "inline", "availableDisplayModes": ["inline"], "platform": "web",
        }
        if seen.get("theme") in ("light", "dark"):
            context["theme"] = seen["theme"]
        variables = seen.get("styles")
        if isinstance(variables, Mapping):
            context["styles"] = {"variables": {str(k): str(v)[:200] for k, v in variables.items()
                                               if str(k).startswith("--")}}
        width = seen.get("width")
        if isinstance(width, (int, float)) and width > 0:
            context["containerDimensions"] = {"maxWidth": int(width), "maxHeight": 4000}
        for key in ("locale", "timeZone"):
            if isinstance(seen.get(key), str):
                context[key] = seen[key][:60]
        return context


def _blocks_text(content: Any) -> str:
    """The text of content blocks an app sent; other kinds by their type."""
    if not isinstance(content, list):
        return ""
    parts = []
    for block in content[:20]:
        if isinstance(block, Mapping):
            parts.append(str(block.get("text", "")) if block.get("type") == "text" else f"[{block.get('type')}]")
    return cut("\n".join(parts), 4000)
