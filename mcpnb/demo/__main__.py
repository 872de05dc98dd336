"""``python -m mcpnb.demo NAME [--http PORT [--auth [--token-lifetime SECONDS]] [--rate-limit N] [--fail-rate P]]
[--reset] [--database PATH]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

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
    parser.add_argument("--auth", action="store_true",
                        help="serve --http behind OAuth 2.1, with a demo authorization server in the same process "
                             "(prints the sign-in and robot credentials at start)")
    parser.add_argument("--token-lifetime", type=_seconds, metavar="SECONDS",
                        help="with --auth: how long access tokens last (default 300)")
    parser.add_argument("--rate-limit", type=_per_second, metavar="N",
                        help="with --http: answer HTTP 429 (with Retry-After) to tool calls beyond N a second")
    parser.add_argument("--fail-rate", type=_share, metavar="P", default=0.0,
                        help="with --http: answer HTTP 503 to a share P (0-1) of tool calls, drawn from a fixed seed")
    args = parser.parse_args(argv)
    trouble = args.rate_limit is not None or args.fail_rate > 0
    if trouble and (args.http is None or args.auth):
        parser.error("--rate-limit and --fail-rate work with --http PORT (without --auth)")
    if args.auth and (args.http is None or args.sse is not None):
        parser.error("--auth works with --http PORT only (Streamable HTTP)")
    if args.token_lifetime is not None and not args.auth:
        parser.error("--token-lifetime needs --auth")
    if args.auth and args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--auth serves plain http: use a loopback --host (127.0.0.1, localhost or ::1)")

    server = build_server(args.name, database=args.database, reset=args.reset or args.reset_only)
    if args.reset_only:
        print(f"{args.name}: seed data restored", file=sys.stderr)
        return 0
    if args.sse is not None:
        print(f"{args.name}: HTTP+SSE on http://{args.host}:{args.sse}/sse", file=sys.stderr, flush=True)
        server.run("sse", host=args.host, port=args.sse)
    elif args.http is not None and args.auth:
        from .authserver import DEFAULT_TOKEN_LIFETIME, DemoAuthServer

        lifetime = args.token_lifetime or DEFAULT_TOKEN_LIFETIME
        demo = DemoAuthServer(server, host=args.host, port=args.http, token_lifetime=lifetime, name=args.name)
        print(demo.banner(), file=sys.stderr, flush=True)
        demo.run()  # deletes the private key file when it stops
    elif args.http is not None and trouble:
        from .trouble import serve

        limits = [f"429 beyond {args.rate_limit:g} tool calls/s"] if args.rate_limit is not None else []
        limits += [f"503 for {args.fail_rate:.0%} of tool calls"] if args.fail_rate else []
        print(f"{args.name}: Streamable HTTP on http://{args.host}:{args.http}/mcp ({', '.join(limits)})",
              file=sys.stderr, flush=True)
        serve(server, host=args.host, port=args.http, rate_limit=args.rate_limit, fail_rate=args.fail_rate)
    elif args.http is not None:
        print(f"{args.name}: Streamable HTTP on http://{args.host}:{args.http}/mcp", file=sys.stderr, flush=True)
        server.run("streamable-http", host=args.host, port=args.http)
    else:
        server.run("stdio")
    return 0


def _seconds(text: str) -> int:
    """A whole number of seconds, at least 1 (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of seconds: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1 second")
    return value


def _number(accepts: Callable[[float], bool], needs: str) -> Callable[[str], float]:
    """An argparse type: a number that ``accepts`` takes, else an error saying what it ``needs``."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not accepts(value):
            raise argparse.ArgumentTypeError(needs)
        return value

    return parse


_per_second = _number(lambda v: 0 < v < float("inf"), "must be a number above 0")  # --rate-limit
_share = _number(lambda v: 0 <= v <= 1, "must be from 0 to 1")  # --fail-rate


if __name__ == "__main__":
    sys.exit(main())
