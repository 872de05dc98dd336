"""``python -m mcpnb``: mcpnb from a shell, for CI.

``python -m mcpnb lint TARGET [--format table|json] [--fail-on warning|error]
[--select CODES] [--ignore CODES] [--budget N] [--provider NAME] [--protocol VERSION]``
lints a server's tools (``mcpnb.lint``; the rules are in ``mcpnb/lint.py``).
TARGET is anything ``mcpnb.connect`` takes: ``demo:crm``, a command line in
quotes, a URL, the name of an ``mcpServers`` entry.

Exit codes: 0, no finding at or above ``--fail-on`` (default: error); 1, at
least one; 2, could not lint (a bad target or option, a server that did not
connect), said in one line on stderr, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import textwrap
from typing import Any

OK, FOUND, FAILED = 0, 1, 2
_COLOURS = {"error": "\033[1;31m", "warning": "\033[33m", "info": "\033[36m"}  # ANSI, for a terminal only
_RESET = "\033[0m"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return FAILED
    return args.run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mcpnb",
                                     description="mcpnb from a shell: a Jupyter-native MCP toolkit's tools for CI.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    lint = commands.add_parser(
        "lint", help="check a server's tools for design flaws (exit 1 when findings reach --fail-on)",
        description="Check a server's tools against mcpnb's lint rules (mcpnb/lint.py lists them). Exit codes: "
                    "0 nothing at or above --fail-on, 1 findings at or above it, 2 could not lint.")
    lint.add_argument("target", metavar="TARGET",
                      help="what mcpnb.connect takes: demo:crm, a command line in quotes, a URL, a config name")
    lint.add_argument("--format", choices=("table", "json"), default="table",
                      help="table (for people, the default) or json (a list of findings)")
    lint.add_argument("--fail-on", choices=("warning", "error"), default="error",
                      help="the least severe finding that fails the run (default: error)")
    lint.add_argument("--select", metavar="CODES", help="only these rules: codes or prefixes, comma-separated (D,S301)")
    lint.add_argument("--ignore", metavar="CODES", help="leave out these rules: codes or prefixes, comma-separated")
    lint.add_argument("--budget", type=int, metavar="N", help="tokens all tool definitions may take (default 10000)")
    lint.add_argument("--provider", default="anthropic",
                      help="the format tokens are counted in: anthropic, openai, openai-responses, gemini")
    lint.add_argument("--protocol", metavar="VERSION",
                      help="force a protocol version (2025-11-25 or 2026-07-28); default: negotiated")
    lint.set_defaults(run=_lint)
    return parser


def _lint(args: argparse.Namespace) -> int:
    from .errors import MCPNBError
    from .lint import SEVERITIES, lint

    options: dict[str, Any] = {"protocol": args.protocol} if args.protocol else {}
    try:
        found = lint(args.target, select=args.select, ignore=args.ignore, budget=args.budget,
                     provider=args.provider, **options)
    except MCPNBError as error:
        return _cannot(args.target, error.message + (f" ({error.hint})" if error.hint else ""))
    except KeyboardInterrupt:
        return _cannot(args.target, "interrupted")
    except Exception as error:  # anything else still gets one line: exit 1 must mean findings
        return _cannot(args.target, f"{type(error).__name__}: {error}")
    if args.format == "json":
        print(json.dumps(found.astype(object).where(found.notna(), None).to_dict("records"), indent=2,
                         ensure_ascii=False))
    else:
        terminal = sys.stdout.isatty()
        print(_table(found, colour=terminal and "NO_COLOR" not in os.environ,
                     width=shutil.get_terminal_size().columns if terminal else 100))
    worst = SEVERITIES.index(args.fail_on)
    return FOUND if any(SEVERITIES.index(s) <= worst for s in found["severity"]) else OK


def _cannot(target: str, why: str) -> int:
    print(f"mcpnb lint: could not lint {_shown(target)}: {' '.join(_plain(why).split())}", file=sys.stderr)
    return FAILED


def _shown(target: str) -> str:
    """The target as it may go into a CI log: its secrets (URL credentials and query values, env and
    header values from a config entry) masked, as mcpnb shows a target everywhere."""
    from .masking import Redactor
    from .options import ConnectOptions
    from .targets import resolve

    try:
        secrets = resolve(target, ConnectOptions()).secrets()
    except Exception:  # a target that does not resolve carries nothing resolve() knows to be secret
        secrets = []
    return _plain(Redactor(secrets)(target))


def _plain(text: Any) -> str:
    """Text from a server made safe for a terminal: control characters (escape sequences) shown, not obeyed."""
    return "".join(c if c.isprintable() or c in "\n" else repr(c)[1:-1] for c in str(text))


def _table(found: Any, *, colour: bool, width: int) -> str:
    """The findings for a terminal: one block per finding, the message and fix wrapped under it, then a summary."""
    width = max(60, min(width, 120))
    indent = " " * 15
    lines: list[str] = []
    for row in found.itertuples(index=False):
        severity = f"{row.severity:<8}"
        if colour:
            severity = f"{_COLOURS[row.severity]}{severity}{_RESET}"
        where = f"{_plain(row.tool) if isinstance(row.tool, str) else '(server)'}  {_plain(row.field)}"
        lines.append(f"{severity} {row.code}  {where}")
        lines += textwrap.wrap(_plain(row.message), width, initial_indent=indent, subsequent_indent=indent)
        lines += textwrap.wrap("fix: " + _plain(row.fix), width, initial_indent=indent,
                               subsequent_indent=indent + "     ")
    counts = found["severity"].value_counts()
    tally = ", ".join(f"{counts.get(s, 0)} {s}{'s' if counts.get(s, 0) != 1 and s != 'info' else ''}"
                      for s in ("error", "warning", "info"))
    attrs = found.attrs
    summary = (f"{_plain(attrs.get('server', ''))}: {tally} ({len(attrs.get('rules', []))} rules in "
               f"{attrs.get('seconds', 0):.2f} s)")
    lines += ["", summary] if lines else [summary + ": no findings"]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
