"""A raw stdio MCP server, written without the SDK so that it can break the protocol on request.

    python rogue.py [--tools JSON] [--call-error CODE] [--call-reply RAW]

It answers ``initialize`` (2025-11-25), ``tools/list`` with the tools given
(default: one tool, ``echo``) and ``tools/call``:

--tools JSON        the ``tools`` array of the listing, as JSON (or @PATH: read from that file)
--call-error CODE   answer every tools/call with a JSON-RPC error of this code
                    (message "rogue failure CODE", data {"detail": "from the server"})
--call-reply RAW    answer the first tools/call with this raw text as the whole response line
                    ({id} is replaced by the request id), then go on answering as usual
--latin1             answer the first tools/call with text in Latin-1 (bytes that are not UTF-8)
--noise TEXT        write this line right after answering initialize
--child PIDFILE     start a child process that sleeps (and outlives this one), its pid in PIDFILE

Everything else gets method-not-found. It reads until stdin ends.
"""

from __future__ import annotations

import argparse
import json
import sys

ECHO = {"name": "echo", "description": "Echo the text.",
        "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}}


def send(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tools", default=json.dumps([ECHO]))
    parser.add_argument("--call-error", type=int)
    parser.add_argument("--call-reply")
    parser.add_argument("--latin1", action="store_true")
    parser.add_argument("--noise")
    parser.add_argument("--child")
    options = parser.parse_args()
    text = options.tools
    tools = json.loads(open(text[1:], encoding="utf-8").read() if text.startswith("@") else text)
    if options.child:
        import subprocess

        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(options.child, "w", encoding="utf-8") as file:
            file.write(str(child.pid))
    for line in sys.stdin:
        request = json.loads(line)
        if "id" not in request:
            continue  # a notification
        ident, method = request["id"], request.get("method")
        if method == "initialize":
            send({"jsonrpc": "2.0", "id": ident, "result": {
                "protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
                "serverInfo": {"name": "rogue", "version": "1"}}})
            if options.noise:
                sys.stdout.write(options.noise + "\n")
                sys.stdout.flush()
        elif method == "tools/list":
            send({"jsonrpc": "2.0", "id": ident, "result": {"tools": tools}})
        elif method == "tools/call" and options.call_reply is not None:
            sys.stdout.write(options.call_reply.replace("{id}", json.dumps(ident)) + "\n")
            sys.stdout.flush()
            options.call_reply = None
        elif method == "tools/call" and options.latin1:
            answer = {"jsonrpc": "2.0", "id": ident, "result": {"content": [{"type": "text", "text": "café"}]}}
            sys.stdout.buffer.write(json.dumps(answer, ensure_ascii=False).encode("latin-1") + b"\n")
            sys.stdout.flush()
            options.latin1 = False  # once; later calls are answered in UTF-8
        elif method == "tools/call" and options.call_error is not None:
            send({"jsonrpc": "2.0", "id": ident, "error": {
                "code": options.call_error, "message": f"rogue failure {options.call_error}",
                "data": {"detail": "from the server"}}})
        elif method == "tools/call":
            text = request.get("params", {}).get("arguments", {}).get("text", "")
            send({"jsonrpc": "2.0", "id": ident, "result": {"content": [{"type": "text", "text": text}]}})
        else:
            send({"jsonrpc": "2.0", "id": ident, "error": {"code": -32601, "message": f"no method {method}"}})


if __name__ == "__main__":
    main()
