"""A SCRIPTED stand-in for two providers' token counting endpoints, on 127.0.0.1. Not a model, not a
real count: it computes its answer from the request, so a test can tell what was sent and that the
number came back.

    with serving() as stand_in:
        os.environ["ANTHROPIC_BASE_URL"] = stand_in.anthropic_url     # http://127.0.0.1:PORT
        os.environ["OPENAI_BASE_URL"] = stand_in.openai_url           # http://127.0.0.1:PORT/v1
        ...
        stand_in.requests                                             # every request: (path, headers, body)

Endpoints, with the real request and response shapes:

- ``POST /v1/messages/count_tokens`` (Anthropic): needs the key (``x-api-key``, or
  ``Authorization: Bearer``, which anthropic 2.x sends) and ``anthropic-version``,
  a ``model`` and ``messages``; each tool needs ``name`` and an ``input_schema`` of type object.
  Answers ``{"input_tokens": N}``.
- ``POST /v1/responses/input_tokens`` (OpenAI): needs ``Authorization: Bearer ...`` and a ``model``;
  each tool needs ``type: "function"``, ``name`` and ``parameters`` (the Responses format; the
  Chat Completions format, ``{"type": "function", "function": {...}}``, is refused as the real API
  refuses it). Answers ``{"object": "response.input_tokens", "input_tokens": N}``.

The scripted count: ``len(compact JSON of the messages or input) // 4``, plus, when there are
tools, ``TOOL_PREAMBLE + len(compact JSON of the tools) // 4``. ``expected(...)`` gives the
same number for a test to compare. Malformed requests get the provider's 400 error body;
``fail_with = (status, message)`` makes every request fail that way.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

TOOL_PREAMBLE = 100  # scripted: what a provider's tool-use system prompt might cost


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def expected(said: Any, tools: list[dict[str, Any]] | None) -> int:
    """The stand-in's count for a request that said ``said`` (messages or input) with ``tools``."""
    return len(_compact(said)) // 4 + ((TOOL_PREAMBLE + len(_compact(tools)) // 4) if tools else 0)


@dataclass
class StandIn:
    port: int
    requests: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    fail_with: tuple[int, str] | None = None

    @property
    def anthropic_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def _anthropic(headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    def refuse(message: str, status: int = 400, kind: str = "invalid_request_error") -> tuple[int, dict[str, Any]]:
        return status, {"type": "error", "error": {"type": kind, "message": message}}

    if not (headers.get("x-api-key") or headers.get("authorization", "").startswith("Bearer ")):
        return refuse("x-api-key or Authorization header is required", 401, "authentication_error")
    if not headers.get("anthropic-version"):
        return refuse("anthropic-version header is required")
    if not body.get("model") or not isinstance(body.get("messages"), list) or not body["messages"]:
        return refuse("model and messages are required")
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list) or not tools:
            return refuse("tools: must be a non-empty list")
        for index, tool in enumerate(tools):
            schema = tool.get("input_schema") if isinstance(tool, dict) else None
            if not isinstance(tool, dict) or not tool.get("name") or not isinstance(schema, dict) \
                    or schema.get("type") != "object":
                return refuse(f"tools.{index}: name and an input_schema of type object are required")
        names = [tool["name"] for tool in tools]
        if len(set(names)) != len(names):
            return refuse("tools: Tool names must be unique.")
    return 200, {"input_tokens": expected(body["messages"], tools)}


def _openai(headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    def refuse(message: str, status: int = 400, param: str | None = None) -> tuple[int, dict[str, Any]]:
        kind = "invalid_request_error"
        return status, {"error": {"message": message, "type": kind, "param": param, "code": None}}

    if not headers.get("authorization", "").startswith("Bearer "):
        return refuse("You didn't provide an API key.", 401)
    if not body.get("model"):
        return refuse("Missing required parameter: 'model'.", param="model")
    tools = body.get("tools")
    if tools is not None:
        for index, tool in enumerate(tools):
            if not isinstance(tool, dict) or tool.get("type") != "function":
                return refuse(f"Invalid value for 'tools[{index}].type'.", param=f"tools[{index}].type")
            if "function" in tool or not tool.get("name") or not isinstance(tool.get("parameters"), dict):
                return refuse(f"Missing required parameter: 'tools[{index}].name'.", param=f"tools[{index}].name")
    return 200, {"object": "response.input_tokens", "input_tokens": expected(body.get("input", ""), tools or None)}


ROUTES = {"/v1/messages/count_tokens": _anthropic, "/v1/responses/input_tokens": _openai}


def _handler(stand_in: StandIn) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802  (http.server's name)
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {"unparsed": raw.decode("utf-8", "replace")}
            path = self.path.split("?")[0]
            stand_in.requests.append((path, headers, body))
            route = ROUTES.get(path)
            if route is None:
                status, answer = 404, {"error": {"message": f"no route {path}", "type": "not_found"}}
            elif stand_in.fail_with is not None:
                status, message = stand_in.fail_with
                answer = ({"type": "error", "error": {"type": "api_error", "message": message}}
                          if route is _anthropic else {"error": {"message": message, "type": "server_error"}})
            else:
                status, answer = route(headers, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:  # quiet
            pass

    return Handler


@contextlib.contextmanager
def serving() -> Iterator[StandIn]:
    """The stand-in on a free port of 127.0.0.1, stopped on leaving."""
    stand_in = StandIn(port=0)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(stand_in))
    stand_in.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="scripted-providers", daemon=True)
    thread.start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
