"""A raw HTTP endpoint on 127.0.0.1 that answers MCP requests the way broken or guarded servers do.

    with serving("unauthorized") as url: ...

Modes:

- ``unauthorized``: every POST gets 401 with a ``WWW-Authenticate: Bearer`` challenge
  (resource metadata URL and scope), as an OAuth-protected MCP server answers;
- ``failing``: every POST gets 500 with an HTML page (markup and a script in it);
- ``expiring``: ``initialize`` is answered (JSON, with an ``Mcp-Session-Id``), then every
  later request gets 404, as a server that forgot the session does.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
from collections.abc import Iterator

CHALLENGE = 'Bearer resource_metadata="{base}/.well-known/oauth-protected-resource", scope="tickets:read"'
PAGE = "<html><body><h1>Internal Server Error</h1><script>alert('x')</script><p>upstream down</p></body></html>"


def _handler(mode: str, base: list[str]) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # noqa: N802  (http.server's name)
            message = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            if mode == "unauthorized":
                self._send(401, b'{"error": "invalid_token"}', "application/json",
                           {"WWW-Authenticate": CHALLENGE.format(base=base[0])})
            elif mode == "failing":
                self._send(500, PAGE.encode(), "text/html")
            elif message.get("method") == "initialize":
                result = {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
                          "serverInfo": {"name": "expiring", "version": "1"}}
                body = json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}).encode()
                self._send(200, body, "application/json", {"Mcp-Session-Id": "session-1"})
            elif "id" not in message:
                self._send(202, b"", "application/json")
            else:
                self._send(404, b"Not Found", "text/plain")

        def do_GET(self) -> None:  # noqa: N802
            self._send(405, b"", "text/plain")

        def do_DELETE(self) -> None:  # noqa: N802
            self._send(200, b"", "text/plain")

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextlib.contextmanager
def serving(mode: str) -> Iterator[str]:
    """Serve ``mode`` on a free port of 127.0.0.1; yield the MCP endpoint URL."""
    base: list[str] = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(mode, base))
    base.append(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base[0] + "/mcp"
    finally:
        server.shutdown()
        server.server_close()
