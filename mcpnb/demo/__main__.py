"""``python -m mcpnb.demo NAME [--http PORT] [--reset] [--database PATH]``."""

from __future__ import annotations

import argparse
import sys

from . import DEMO_SYSTEMS, build_server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mcpnb.demo",
        description="Run a demo MCP server backed by seeded SQLite data (stdio unless --http or --sse).",
    )
    parser.add_argument("name", choices=DEMO_SYSTEMS, help="which demo system")
    parser.add_argument("--http", type=int, metavar="PORT", help="serve Streamable HTTP on 127.0.0.1:PORT at /mcp")
    parser.add_argument("--sse", type=int, metavar="PORT",
                        help="serve the legacy HTTP+SSE transport on 127.0.0.1:PORT at /sse")
    parser.add_argument("--host", default="127.0.0.1", help="address for --http (default 127.0.0.1)")
    parser.add_argument("--reset", action="store_true", help="restore the seed data before starting")
    parser.add_argument("--reset-only", action="store_true", help="restore the seed data and exit")
    parser.add_argument("--database", metavar="PATH", help="SQLite file (default: see mcpnb.demo.store)")
    args = parser.parse_args(argv)

    server = build_server(args.name, database=args.database, reset=args.reset or args.reset_only)
    if args.reset_only:
        print(f"{args.name}: seed data restored", file=sys.stderr)
        return 0
    if args.sse is not None:
        print(f"{args.name}: HTTP+SSE on http://{args.host}:{args.sse}/sse", file=sys.stderr, flush=True)
        server.run("sse", host=args.host, port=args.sse)
    elif args.http is not None:
        print(f"{args.name}: Streamable HTTP on http://{args.host}:{args.http}/mcp", file=sys.stderr, flush=True)
        server.run("streamable-http", host=args.host, port=args.http)
    else:
        server.run("stdio")
    return 0


if __name__ == "__main__":
    sys.exit(main())
