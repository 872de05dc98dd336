"""``python -m mcpnb``: mcpnb from a shell, for CI.

``python -m mcpnb lint TARGET [--format table|json] [--fail-on warning|error]
[--select CODES] [--ignore CODES] [--budget N] [--provider NAME] [--protocol VERSION]``
lints a server's tools (``mcpnb.lint``; the rules are in ``mcpnb/lint.py``).
TARGET is anything ``mcpnb.connect`` takes: ``demo:crm``, a command line in
quotes, a URL, the name of an ``mcpServers`` entry.

Exit codes: 0, no finding at or above ``--fail-on`` (default: error); 1, at
least one; 2, could not lint (a bad target or option, a server that did not
connect), said in one line on stderr, without a traceback.

``python -m mcpnb eval CASES --model M [--model M2 ...] --target T [--target ...]
[--runs 3] [--fail-under 1.0] [--format table|json] [--allow TOOLS] [--max-steps N]
[--base-url URL] [--protocol VERSION]`` runs an evaluation of tool choice
(``mcpnb.evaluate``; cases and matching are in ``mcpnb/evals.py``). CASES is a
CSV, JSON or JSONL file; M a model spec (``anthropic:MODEL``, ``openai:MODEL``;
``--base-url`` points them at an OpenAI-compatible server) or ``retrieval``,
the baseline that needs no model. Exit codes: 0, every model's pass rate at
or above ``--fail-under``; 1, a model below it; 2, could not evaluate (a bad
cases file, model, target or option, or a model whose API failed every run:
a refused key, an endpoint that is down), in one line on stderr.
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
    evals = commands.add_parser(
        "eval", help="check that models call the expected tools (exit 1 when a pass rate is below --fail-under)",
        description="Run evaluation cases (prompt and expected tool calls; mcpnb/evals.py describes them) against "
                    "models with the targets' tools. Exit codes: 0 every model's pass rate at or above --fail-under, "
                    "1 a model below it, 2 could not evaluate (also: a model's API failed every run).")
    evals.add_argument("cases", metavar="CASES", help="a CSV, JSON or JSONL file of cases")
    evals.add_argument("--model", action="append", required=True, metavar="M",
                       help="a model spec (anthropic:MODEL, openai:MODEL) or 'retrieval' (the baseline without a "
                            "model); repeat to compare")
    evals.add_argument("--target", action="append", required=True, metavar="T",
                       help="what mcpnb.connect takes: demo:crm, a command line in quotes, a URL, a config name; "
                            "repeat for several servers")
    evals.add_argument("--runs", type=int, default=3, metavar="N", help="runs of each case per model (default 3)")
    evals.add_argument("--fail-under", type=float, default=1.0, metavar="RATE",
                       help="the pass rate (0 to 1) every model must reach (default 1.0)")
    evals.add_argument("--format", choices=("table", "json"), default="table",
                       help="table (for people, the default) or json (pass rates, summary and every run)")
    evals.add_argument("--allow", metavar="TOOLS",
                       help="tools that are not read-only but may run, comma-separated (others are not run)")
    evals.add_argument("--max-steps", type=int, default=5, metavar="N", help="model requests per run (default 5)")
    evals.add_argument("--system", metavar="TEXT", help="a system prompt for every run")
    evals.add_argument("--base-url", metavar="URL",
                       help="an OpenAI-compatible (or Anthropic-compatible) endpoint for the models given")
    evals.add_argument("--protocol", metavar="VERSION",
                       help="force a protocol version (2025-11-25 or 2026-07-28); default: negotiated")
    evals.set_defaults(run=_eval)
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


def _eval(args: argparse.Namespace) -> int:
    from .errors import ConfigError, MCPNBError
    from .evals import evaluate, read_cases
    from .masking import Redactor, url_secrets

    hide = Redactor(url_secrets(args.base_url) if args.base_url else [])
    opened: list[Any] = []
    try:
        if not 0 <= args.fail_under <= 1:
            raise ConfigError(f"--fail-under is a pass rate from 0 to 1, not {args.fail_under}.")
        cases = read_cases(args.cases)
        models = [_model(spec, args.base_url) for spec in args.model]
        for target in args.target:
            opened.append(_connect_for_eval(target, args.protocol))
        result = evaluate(cases, models, opened, runs=args.runs, system=args.system,
                          allow=[a.strip() for a in (args.allow or "").split(",") if a.strip()],
                          max_steps=args.max_steps, progress=sys.stderr.isatty())
    except MCPNBError as error:
        return _cannot_eval(hide(error.message + (f" ({error.hint})" if error.hint else "")))
    except KeyboardInterrupt:
        return _cannot_eval("interrupted")
    except Exception as error:  # anything else still gets one line: exit 1 must mean a pass rate below the line
        return _cannot_eval(hide(f"{type(error).__name__}: {error}"))
    finally:
        for server in opened:
            server.close()
    rates = {model: float(group["passed"].dropna().astype(bool).mean()) if group["passed"].notna().any()
             else float("nan") for model, group in result.groupby("model", sort=False)}
    if args.format == "json":
        summary = result.summary
        print(hide(json.dumps({
            "pass_rate": _number(result.pass_rate), "fail_under": args.fail_under,
            "models": {model: _number(rate) for model, rate in rates.items()},
            "summary": summary.astype(object).where(summary.notna(), None).to_dict("records"),
            "runs": result.astype(object).where(result.notna(), None).to_dict("records"),
        }, indent=2, ensure_ascii=False, default=str)))
    else:
        terminal = sys.stdout.isatty()
        print(hide(_eval_table(result, colour=terminal and "NO_COLOR" not in os.environ,
                               width=shutil.get_terminal_size().columns if terminal else 100)))
    # A model whose API failed every run (a refused key, an endpoint that is down) was not evaluated:
    # exit 1 would read as a pass rate below the line.
    unanswered = [group["error"].iloc[0] for _, group in result.groupby("model", sort=False)
                  if group["error"].notna().all()]
    if unanswered:
        return _cannot_eval(hide(f"every run failed at the model: {unanswered[0]}"))
    return OK if all(rate == rate and rate >= args.fail_under for rate in rates.values()) else FOUND


def _model(spec: str, base_url: str | None) -> Any:
    from .evals import RETRIEVAL
    from .llm import llm

    if spec.strip().lower() == RETRIEVAL:
        return RETRIEVAL
    return llm(spec, base_url=base_url) if base_url else llm(spec)


def _connect_for_eval(target: str, protocol: str | None) -> Any:
    from .errors import MCPNBError
    from .server import connect

    try:
        return connect(target, **({"protocol": protocol} if protocol else {}))
    except MCPNBError as error:
        error.message = f"{_shown(target)} did not connect: {error.message}"
        raise


def _number(value: float) -> float | None:
    return None if value != value else value


def _cannot_eval(why: str) -> int:
    print(f"mcpnb eval: could not evaluate: {' '.join(_plain(why).split())}", file=sys.stderr)
    return FAILED


def _eval_table(result: Any, *, colour: bool, width: int) -> str:
    """The runs for a terminal: one line per run (a failed one with its reasons under it), then per model
    its pass rate and the pass rate per expected tool."""
    from .render import not_run_marks

    width = max(60, min(width, 120))
    indent = " " * 6
    marks = {True: ("PASS", "\033[32m"), False: ("FAIL", "\033[1;31m"), None: ("----", "\033[2m")}
    several = result["model"].nunique() > 1
    lines: list[str] = []
    for row in result.itertuples(index=False):
        passed = None if row.passed is None or row.passed != row.passed else bool(row.passed)
        mark, code = marks[passed]
        if colour:
            mark = f"{code}{mark}{_RESET}"
        called = ", ".join(f"{name}{' (not run)' if held else ''}" for name, held in
                           zip(map(str, row.called), not_run_marks(row.called, row.not_run))) \
            if isinstance(row.called, list) and row.called else "nothing"
        who = f"  [{_plain(row.model)}]" if several else ""
        lines.append(f"{mark}  case {_plain(row.id)} run {row.run}{who}: called {_plain(called)}")
        if row.reason:
            lines += textwrap.wrap(_plain(row.reason), width, initial_indent=indent, subsequent_indent=indent)
    lines.append("")
    summary = result.summary
    for line in summary.itertuples(index=False):
        rate = "n/a" if line.pass_rate != line.pass_rate else f"{line.pass_rate:.0%}"
        if line.tool == "(all)":
            lines.append(f"{_plain(line.model)}: {rate} passed ({_of(line)}, {line.cases} cases)")
        else:
            lines.append(f"    {_plain(line.tool)}: {rate} ({_of(line)})")
    return "\n".join(lines)


def _of(line: Any) -> str:
    """"2 of 3 runs", or "1 of 2 scored runs" when some were not scored (the baseline cannot abstain)."""
    if line.scored == line.runs:
        return f"{line.passed} of {line.runs} runs"
    return f"{line.passed} of {line.scored} scored runs"


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
