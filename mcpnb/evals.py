"""Evals of tool choice: does a model call the right tools, with the right arguments, for a prompt?

    cases = [{"prompt": "Which leads are in negotiation?", "expected": [
                 {"tool": "list_leads", "arguments": {"stage": "negotiation"}, "match": "partial"}]},
             {"prompt": "Say hello.", "expected": []}]            # [] = the model should call no tool
    result = mcpnb.evaluate(cases, "anthropic:claude-sonnet-4-5", runs=3)
    result.pass_rate, result.summary                               # one row per case and run; summaries
    mcpnb.evaluate(cases, "retrieval")                             # the baseline that needs no model
    python -m mcpnb eval cases.csv --model openai:gpt-4.1 --target demo:crm --fail-under 0.9   # for CI

**Cases** are a DataFrame, a list of dicts, or a CSV, JSON or JSONL file, with
the columns ``prompt``; ``expected``, a list of expected calls, each a tool
name or ``{"tool": ..., "arguments": {...}, "match": "exact" | "partial" |
"type"}`` (in a CSV cell: that list as JSON, or tool names separated by
commas); optional ``order`` ("any", the default, or "strict"), ``id`` and
``server`` (the open connection whose tool is meant, when two share a name).
Every row is checked before anything runs; each bad row gets one line.

**Matching**, per expected call: the tool's name (and server, if given), then
its arguments, if given. ``exact`` (the default): the arguments the tool got
equal the expected ones, no more and no fewer, as JSON values (1 and 1.0 are
equal, 1 and true are not). ``partial``: the expected arguments are among
them (nested objects compared the same way, key by key). ``type``: each
expected argument is there with the same JSON type. A run passes when every
expected call was made, nothing else was called, no call the run depends on
ended in a tool error, and, for ``order="strict"``, the calls came in the
expected order. A failed run says why, in these words: "missing call: T",
"extra call: T", "out of order", "argument mismatch: T.ARG: expected ..., got
...", "tool error: T: ...", "model error: ..." (the provider failed: a failed
run, not a crash) and "step limit"; several at once are joined by "; ".

**Runs.** Each run is a fresh conversation (``chat.run_turn`` with no history)
with every given server's tools. A tool that is not read-only (its
annotations do not say readOnlyHint) is not run unless ``allow=`` names it:
the call is recorded and compared, and the model is told it was not run in
an evaluation, so an eval never changes a system's data by surprise. The
row's ``not_run`` lists the tools of the calls that were compared but did
not go to the server (such calls, and any naming no offered tool or made
past the step limit), in call order, [] when every call ran; the report and
``python -m mcpnb eval`` mark them "not run", so a passing row never reads
as if the call had run.

**The retrieval baseline** (``model="retrieval"``) needs no model and no
network: for each prompt it ranks the tools by TF-IDF similarity of the
prompt to each tool's name and description (``mcpnb.similarity``) and
passes when the expected tools take the first places. It is labelled
``RETRIEVAL_LABEL`` everywhere it appears: retrieval, not a model. It cannot
abstain, so a case that expects no tool is not scored (``passed`` is None).
"""

from __future__ import annotations

import difflib
import json
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import registry, render, runtime
from .chat import Toolbox, run_turn
from .errors import ConfigError, MCPNBError
from .llm import Model, llm
from .progress import Progress

if TYPE_CHECKING:
    from .chat import CallRecord, Exchange
    from .server import Server

__all__ = ["evaluate", "aevaluate", "Evaluation", "read_cases", "RETRIEVAL", "RETRIEVAL_LABEL", "MATCHES", "ORDERS",
           "NOT_RUN", "NOT_RUN_LABEL", "judge"]

RETRIEVAL = "retrieval"
RETRIEVAL_LABEL = "retrieval (TF-IDF over names and descriptions), not a model"
MATCHES = ("exact", "partial", "type")
ORDERS = ("any", "strict")
NOT_RUN = ("This call was not run: in an evaluation, a tool that is not read-only runs only when allow= names "
           "it. The call is recorded and compared with the expected calls.")  # what the model is told
NOT_RUN_LABEL = "evaluation: not run"  # CallRecord.approved of such a call
COLUMNS = ["id", "prompt", "model", "run", "passed", "reason", "called", "not_run", "arguments", "expected",
           "answer", "input_tokens", "output_tokens", "seconds", "error"]
_FORMAT_HINT = ('each case needs a prompt (text) and expected: a list of tool names or {"tool": NAME, '
                '"arguments": {...}, "match": "exact"|"partial"|"type"} ([] for no tool); optional order '
                '("any" or "strict"), id and server.')
_SHOWN = 80  # characters of a value in a reason


# -- cases ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    """One call a case expects: the tool, and the arguments to compare (None: any arguments) and how."""

    tool: str
    arguments: dict[str, Any] | None = None
    match: str = "exact"

    def as_json(self) -> str | dict[str, Any]:
        if self.arguments is None:
            return self.tool
        return {"tool": self.tool, "arguments": self.arguments, "match": self.match}


@dataclass(frozen=True)
class Case:
    id: Any
    prompt: str
    expected: tuple[Expected, ...]
    order: str = "any"
    server: str | None = None
    row: int = 0  # 1-based, for messages


def read_cases(cases: Any) -> list[Case]:
    """The cases from a DataFrame, a list of dicts or a CSV/JSON/JSONL path, every row checked first."""
    if isinstance(cases, (list, tuple)) and cases and all(isinstance(case, Case) for case in cases):
        return list(cases)  # read already
    records = _records(cases)
    found: list[Case] = []
    problems: list[str] = []
    for number, record in enumerate(records, start=1):
        case, wrong = _case(number, record)
        if wrong:
            problems.append(f"row {number}{_which(record)}: {wrong}")
        elif case is not None:
            found.append(case)
    seen: dict[Any, int] = {}
    for case in found:
        if case.id in seen:
            problems.append(f"row {case.row}: id {case.id!r} is also the id of row {seen[case.id]}")
        seen.setdefault(case.id, case.row)
    if problems:
        raise ConfigError(_rows_message(problems), hint=_FORMAT_HINT)
    if not found:
        raise ConfigError("There are no cases to evaluate.", hint=_FORMAT_HINT)
    return found


def _rows_message(problems: list[str]) -> str:
    head = "A case is not right" if len(problems) == 1 else f"{len(problems)} cases are not right"
    return f"{head}:\n" + "\n".join(f"  {p}" for p in problems)


def _which(record: Mapping[str, Any]) -> str:
    value = record.get("id")
    return "" if _missing(value) else f" (id {value!r})"


def _records(cases: Any) -> list[dict[str, Any]]:
    if isinstance(cases, pd.DataFrame):
        return [dict(zip(cases.columns, row)) for row in cases.itertuples(index=False, name=None)]
    if isinstance(cases, (str, Path)):
        return _read_file(Path(cases))
    if isinstance(cases, Mapping):
        raise ConfigError("cases= is one dict; give a list of them (one per case), a DataFrame or a file.",
                          hint=_FORMAT_HINT)
    if isinstance(cases, Iterable):
        records = list(cases)
        wrong = [n for n, r in enumerate(records, start=1) if not isinstance(r, Mapping)]
        if wrong:
            raise ConfigError(f"cases row {wrong[0]} is a {type(records[wrong[0] - 1]).__name__}, not a dict.",
                              hint=_FORMAT_HINT)
        return [dict(r) for r in records]
    raise ConfigError(f"cases= must be a DataFrame, a list of dicts or a file's path, not {type(cases).__name__}.",
                      hint=_FORMAT_HINT)


def _read_file(path: Path) -> list[dict[str, Any]]:
    kind = path.suffix.lower()
    if kind not in (".csv", ".json", ".jsonl", ".ndjson"):
        raise ConfigError(f"Cannot tell what kind of cases file {str(path)!r} is.",
                          hint="name it .csv, .json (a list of cases) or .jsonl (one case per line).")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"Could not read the cases file {str(path)!r}: {getattr(error, 'strerror', None) or error}.",
                          hint="give the path of a readable CSV, JSON or JSONL file.") from None
    if kind == ".csv":
        import io

        try:
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        except (ValueError, pd.errors.ParserError) as error:
            raise ConfigError(f"The cases file {str(path)!r} is not CSV that pandas can read: {error}",
                              hint=_FORMAT_HINT) from None
        return [{k: (None if v == "" else v) for k, v in r.items()} for r in frame.to_dict("records")]
    try:
        if kind == ".json":
            loaded = json.loads(text)
            if isinstance(loaded, Mapping) and isinstance(loaded.get("cases"), list):
                loaded = loaded["cases"]
        else:
            loaded = []
            for number, line in enumerate(text.splitlines(), start=1):
                if line.strip():
                    try:
                        loaded.append(json.loads(line))
                    except json.JSONDecodeError as error:
                        raise ConfigError(f"Line {number} of {str(path)!r} is not JSON: {error.msg}.",
                                          hint="a JSONL file holds one JSON object per line.") from None
    except json.JSONDecodeError as error:
        raise ConfigError(f"The cases file {str(path)!r} is not JSON: {error.msg} (line {error.lineno}).",
                          hint=_FORMAT_HINT) from None
    if not isinstance(loaded, list):
        raise ConfigError(f"The cases file {str(path)!r} holds a {type(loaded).__name__}, not a list of cases.",
                          hint=_FORMAT_HINT)
    return _records(loaded)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _case(number: int, record: Mapping[str, Any]) -> tuple[Case | None, str | None]:
    prompt = record.get("prompt")
    if not _missing(prompt) and not isinstance(prompt, str):
        return None, f"prompt is a {type(prompt).__name__}, not text"
    if _missing(prompt) or not prompt.strip():
        return None, "prompt is missing or empty"
    if "expected" not in record or _missing(record.get("expected")):
        return None, "expected is missing (write [] for a prompt that should call no tool)"
    expected, wrong = _expected(record["expected"])
    if wrong:
        return None, wrong
    order = record.get("order")
    order = "any" if _missing(order) else order
    if order not in ORDERS:
        return None, f"order is {order!r}; it is 'any' or 'strict'"
    server = record.get("server")
    if not _missing(server) and (not isinstance(server, str) or not server):
        return None, f"server is {server!r}; it is the name of an open connection"
    case_id = record.get("id")
    if _missing(case_id) or case_id == "":
        case_id = number
    return Case(case_id, prompt, expected, order, None if _missing(server) else server, number), None


def _expected(value: Any) -> tuple[tuple[Expected, ...], str | None]:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(("[", "{", '"')):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as error:
                return (), f"expected is not valid JSON: {error.msg} at character {error.pos}"
        else:
            value = [name.strip() for name in text.split(",") if name.strip()]
    if isinstance(value, (str, Mapping)):
        value = [value]
    if hasattr(value, "tolist") and not isinstance(value, list):  # a numpy array from a DataFrame
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        return (), f"expected is a {type(value).__name__}; it is a list of expected calls ([] for none)"
    calls = []
    for position, item in enumerate(value, start=1):
        call, wrong = _one_expected(item)
        if wrong:
            return (), f"expected call {position}: {wrong}"
        calls.append(call)
    return tuple(calls), None


def _one_expected(item: Any) -> tuple[Expected | None, str | None]:
    if isinstance(item, str):
        return (Expected(item), None) if item.strip() else (None, "an empty tool name")
    if not isinstance(item, Mapping):
        return None, f"a {type(item).__name__}; each expected call is a tool name or a dict with a 'tool'"
    unknown = sorted(set(item) - {"tool", "arguments", "match"})
    if unknown:
        return None, f"unknown key {unknown[0]!r} (the keys are tool, arguments and match)"
    tool = item.get("tool")
    if not isinstance(tool, str) or not tool.strip():
        return None, "no 'tool' name"
    arguments = item.get("arguments")
    if arguments is not None and not isinstance(arguments, Mapping):
        return None, f"arguments of {tool!r} are a {type(arguments).__name__}, not a dict"
    match = item.get("match", "exact")
    if match not in MATCHES:
        return None, f"match of {tool!r} is {match!r}; it is 'exact', 'partial' or 'type'"
    return Expected(tool, None if arguments is None else dict(arguments), match), None


# -- matching ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Called:
    """One call a run made, as the judge sees it."""

    tool: str
    server: str | None
    arguments: dict[str, Any]
    ran: bool = True
    error: str | None = None  # the tool's error (a result with isError, or a failed call)


_ABSENT = object()


def judge(expected: Sequence[Expected], calls: Sequence[Called], order: str = "any",
          server: str | None = None) -> list[str]:
    """Why a run's calls do not meet the case's expectations: [] when they do."""
    def same_tool(want: Expected, call: Called) -> bool:
        return call.tool == want.tool and (server is None or call.server == server)

    # Which calls meet each expected call; then as many expected calls met as can be at once (the same
    # tool expected twice must not lose to a first come, first served pairing), in order when one can.
    fits = [[j for j, call in enumerate(calls) if same_tool(want, call) and _difference(want, call.arguments) is None]
            for want in expected]
    used = (_in_order(fits) if order == "strict" else None) or _most_met(fits)  # expected index -> call index
    taken = set(used.values())
    reasons: list[str] = []
    mismatches: list[str] = []
    for i, want in enumerate(expected):
        if i in used:
            continue
        near = next((j for j, call in enumerate(calls) if j not in taken and same_tool(want, call)), None)
        if near is None:
            reasons.append(f"missing call: {want.tool}")
            continue
        used[i] = near
        taken.add(near)
        path, wanted, got = _difference(want, calls[near].arguments) or ("", _ABSENT, _ABSENT)
        mismatches.append(f"argument mismatch: {want.tool}.{path}: expected {_described(wanted, want.match)}, "
                          f"got {_shown(got)}")
    reasons += mismatches
    reasons += [f"extra call: {call.tool}" for j, call in enumerate(calls) if j not in taken]
    if order == "strict" and len(used) == len(expected):
        positions = [used[i] for i in range(len(expected))]
        if positions != sorted(positions):
            reasons.append("out of order")
    reasons += [f"tool error: {call.tool}: {_short(call.error)}" for call in calls if call.ran and call.error]
    return reasons


def _in_order(fits: list[list[int]]) -> dict[int, int] | None:
    """Each expected call met by a later call than the one before (the earliest such), or None."""
    used: dict[int, int] = {}
    last = -1
    for i, options in enumerate(fits):
        later = [j for j in options if j > last]
        if not later:
            return None
        used[i] = last = later[0]
    return used


def _most_met(fits: list[list[int]]) -> dict[int, int]:
    """A pairing of expected calls with calls that meet them, as many as possible (augmenting paths)."""
    owner: dict[int, int] = {}  # call index -> expected index

    def place(i: int, seen: set[int]) -> bool:
        for j in fits[i]:
            if j not in seen:
                seen.add(j)
                if j not in owner or place(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    for i in range(len(fits)):
        place(i, set())
    return {i: j for j, i in owner.items()}


def _difference(want: Expected, got: Mapping[str, Any]) -> tuple[str, Any, Any] | None:
    """The first place (dotted path, expected, got) where ``got`` fails the expected arguments, or None."""
    if want.arguments is None:
        return None
    return _compare(want.arguments, got, want.match, "")


def _compare(wanted: Any, got: Any, match: str, path: str) -> tuple[str, Any, Any] | None:
    if isinstance(wanted, Mapping) and isinstance(got, Mapping):
        for key, value in wanted.items():
            where = f"{path}.{key}" if path else str(key)
            if key not in got:
                return where, value, _ABSENT
            found = _compare(value, got[key], match, where)
            if found:
                return found
        if match == "exact":
            extra = next((key for key in got if key not in wanted), None)
            if extra is not None:
                return (f"{path}.{extra}" if path else str(extra)), _ABSENT, got[extra]
        return None
    if match == "type":
        return None if _json_type(wanted) == _json_type(got) else (path, wanted, got)
    if isinstance(wanted, list) and isinstance(got, list) and len(wanted) == len(got):
        for index, (one, other) in enumerate(zip(wanted, got)):
            found = _compare(one, other, match, f"{path}[{index}]")
            if found:
                return found
        return None
    return None if _json_equal(wanted, got) else (path, wanted, got)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


def _json_equal(one: Any, other: Any) -> bool:
    if _json_type(one) != _json_type(other):
        return False
    if isinstance(one, Mapping):
        return one.keys() == other.keys() and all(_json_equal(one[k], other[k]) for k in one)
    if isinstance(one, (list, tuple)):
        return len(one) == len(other) and all(_json_equal(a, b) for a, b in zip(one, other))
    return one == other


def _described(value: Any, match: str) -> str:
    if value is _ABSENT:
        return "nothing"
    if match == "type" and not isinstance(value, Mapping):
        kind = _json_type(value)
        return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"
    return _shown(value)


def _shown(value: Any) -> str:
    if value is _ABSENT:
        return "nothing"
    text = json.dumps(value, ensure_ascii=False, default=str)
    return _short(text)


def _short(text: Any) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _SHOWN else text[:_SHOWN - 1] + "…"


# -- the evaluation --------------------------------------------------------------------------


class Evaluation(pd.DataFrame):
    """evaluate()'s answer: one row per case and run (see ``COLUMNS``), with ``.summary`` and ``.pass_rate``;
    it shows in a notebook as a readable report. Filtered or sorted, it is still one."""

    @property
    def _constructor(self) -> type[Evaluation]:
        return type(self)

    @property
    def pass_rate(self) -> float:
        """The share of scored runs that passed (0.0 to 1.0; NaN when none was scored)."""
        scored = self["passed"].dropna() if "passed" in self else pd.Series(dtype=object)
        return float(scored.astype(bool).mean()) if len(scored) else float("nan")

    @property
    def summary(self) -> pd.DataFrame:
        """Per model, then per expected tool: cases, runs, scored runs, passed, pass rate, mean tokens and
        seconds per run. The row with tool "(all)" is the model's whole result; "(no tool)" counts the cases
        that expect none. (Only the retrieval baseline leaves runs unscored: it cannot abstain.)"""
        return summarise(self._rows())

    def _repr_html_(self) -> str | None:
        rows = self._rows()
        if not set(COLUMNS) <= set(rows.columns):
            return super()._repr_html_()  # a selection of columns is shown as the table it now is
        return render.evaluation(rows, summarise(rows))

    def _rows(self) -> pd.DataFrame:
        """The rows with every column, also when one (``id``, ``model`` ...) was made the index."""
        return pd.DataFrame(self.reset_index() if any(self.index.names) else self)


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """The summary of evaluation rows, computed from the rows alone (so a filtered Evaluation sums up itself)."""
    columns = ["model", "tool", "cases", "runs", "scored", "passed", "pass_rate", "input_tokens", "output_tokens",
               "seconds"]
    out: list[dict[str, Any]] = []

    def line(model: str, tool: str, group: pd.DataFrame) -> dict[str, Any]:
        scored = group["passed"].dropna()
        return {"model": model, "tool": tool, "cases": int(group["id"].nunique()), "runs": len(group),
                "scored": len(scored), "passed": int(scored.astype(bool).sum()),
                "pass_rate": float(scored.astype(bool).mean()) if len(scored) else float("nan"),
                "input_tokens": float(group["input_tokens"].mean()), "output_tokens": float(group["output_tokens"].mean()),
                "seconds": float(group["seconds"].mean())}

    if not len(rows):
        return pd.DataFrame(columns=columns)
    for model, group in rows.groupby("model", sort=False):
        out.append(line(str(model), "(all)", group))
        tools = group["expected"].map(_expected_tools)
        names = sorted({name for names in tools for name in names})
        for name in names:
            out.append(line(str(model), name, group[tools.map(lambda these, n=name: n in these)]))
    return pd.DataFrame(out, columns=columns)


def _expected_tools(expected: Any) -> list[str]:
    names = [e if isinstance(e, str) else e.get("tool") for e in (expected or [])]
    return sorted(set(names)) or ["(no tool)"]


def evaluate(cases: Any, model: Any, servers: Any = None, *, runs: int = 3, system: str | None = None,
             allow: Iterable[str] = (), max_steps: int = 5, concurrency: int = 1,
             progress: bool = True) -> Evaluation:
    """Run each case ``runs`` times against ``model`` (a Model, a spec such as "openai:gpt-4.1", "retrieval",
    or a list of these to compare) with the tools of ``servers`` (Servers or names of open connections; None:
    every open connection); one row per case and run. See the module docstring for cases and matching."""
    __tracebackhide__ = True
    plan = _plan(cases, model, servers, runs, allow, max_steps, concurrency)
    return runtime.run(_evaluate(plan, system, progress))


async def aevaluate(cases: Any, model: Any, servers: Any = None, *, runs: int = 3, system: str | None = None,
                    allow: Iterable[str] = (), max_steps: int = 5, concurrency: int = 1,
                    progress: bool = True) -> Evaluation:
    """Async twin of :func:`evaluate`."""
    __tracebackhide__ = True
    plan = _plan(cases, model, servers, runs, allow, max_steps, concurrency)
    return await runtime.arun(_evaluate(plan, system, progress))


@dataclass
class _Plan:
    cases: list[Case]
    models: list[Any]  # Model or RETRIEVAL
    servers: list[Server]
    runs: int
    allow: frozenset[str]
    max_steps: int
    concurrency: int
    tools: dict[str, list[Any]] = field(default_factory=dict)  # server name -> its tools


def _plan(cases: Any, model: Any, servers: Any, runs: int, allow: Iterable[str], max_steps: int,
          concurrency: int) -> _Plan:
    for name, value, least in (("runs", runs, 1), ("max_steps", max_steps, 1), ("concurrency", concurrency, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ConfigError(f"{name}= must be a whole number of at least {least}, not {value!r}.")
    if isinstance(allow, str):
        allow = [allow]
    return _Plan(read_cases(cases), _models(model), _servers(servers), runs, frozenset(allow), max_steps, concurrency)


def _models(model: Any) -> list[Any]:
    given = list(model) if isinstance(model, (list, tuple)) else [model]
    if not given:
        raise ConfigError("model= is an empty list.", hint="give a model, a spec such as 'openai:gpt-4.1', "
                                                            "or 'retrieval'.")
    models: list[Any] = []
    for one in given:
        if isinstance(one, str) and one.strip().lower() == RETRIEVAL:
            models.append(RETRIEVAL)
        elif isinstance(one, str):
            models.append(llm(one))
        elif isinstance(one, Model):
            models.append(one)
        else:
            raise ConfigError(f"model= takes a model (mcpnb.llm(...)), a spec string or 'retrieval', "
                              f"not a {type(one).__name__}.")
    return models


def _servers(servers: Any) -> list[Server]:
    from .server import Server

    open_now = registry.servers()
    if servers is None:
        found = [server for server in open_now.values() if server.alive]
        if not found:
            raise ConfigError("No server is open to evaluate against.",
                              hint="connect one first (mcpnb.connect('demo:crm')), or pass servers=.")
        return found
    given = [servers] if isinstance(servers, (str, Server)) else list(servers)
    found = []
    for one in given:
        if isinstance(one, Server):
            found.append(one)
        elif isinstance(one, str) and one in open_now:
            found.append(open_now[one])
        else:
            names = ", ".join(open_now) or "none"
            raise ConfigError(f"servers= names {one!r}, which is not an open connection (open: {names}).",
                              hint="connect it first (mcpnb.connect(...)) and pass the Server or its name.")
    if not found:
        raise ConfigError("servers= is an empty list.", hint="give the Servers whose tools the model may use.")
    return found


async def _evaluate(plan: _Plan, system: str | None, progress: bool) -> Evaluation:
    for server in plan.servers:
        plan.tools[server.name] = list(await server.session.listing(kind="tools"))
    _check_against_tools(plan)
    jobs = [(model, case, run) for model in plan.models for case in plan.cases
            for run in range(1, (1 if model == RETRIEVAL else plan.runs) + 1)]
    bar = Progress("evaluate", unit="run", total=len(jobs), eager=True) if progress and len(jobs) > 1 else None
    rows: list[dict[str, Any] | None] = [None] * len(jobs)
    finished = failed = 0
    started = time.perf_counter()
    try:
        if RETRIEVAL in plan.models:
            ranked = _retrieval_rows(plan)
            for index, (model, case, _) in enumerate(jobs):
                if model == RETRIEVAL:
                    rows[index] = ranked[case.row]
                    finished += 1
                    failed += rows[index]["passed"] is False
            if bar is not None:
                bar.update(finished, message=_failures(failed))
        model_jobs = [(index, job) for index, job in enumerate(jobs) if job[0] != RETRIEVAL]
        if model_jobs:
            import anyio

            boxes = {id(model): await Toolbox.build(plan.servers, model.export_provider)
                     for model in plan.models if model != RETRIEVAL}
            slots = anyio.Semaphore(plan.concurrency)

            async def one(index: int, model: Model, case: Case, run: int) -> None:
                nonlocal finished, failed
                async with slots:
                    rows[index] = await _one_run(model, boxes[id(model)], case, run, plan, system)
                finished += 1
                failed += rows[index]["passed"] is False
                if bar is not None:
                    bar.update(finished, message=_failures(failed))

            async with anyio.create_task_group() as group:
                for index, (model, case, run) in model_jobs:
                    group.start_soon(one, index, model, case, run)
    except BaseException as error:
        if bar is not None:
            bar.finish("stopped" if not isinstance(error, Exception) else f"stopped: {type(error).__name__}", False)
        raise
    if bar is not None:
        bar.finish(_failures(failed) or "all passed", True)  # "8/8 runs · 2 failed", as map's "8/8 calls · 2 failed"
    return _frame([row for row in rows if row is not None], plan, time.perf_counter() - started)


def _failures(failed: int) -> str | None:
    """The bar's message: the failures so far, once there are any (the bar already counts the runs)."""
    return f"{failed} failed" if failed else None


def _check_against_tools(plan: _Plan) -> None:
    """Each expected tool exists on the servers (and the named server exists): one line per bad row."""
    problems = []
    for case in plan.cases:
        if case.server is not None and case.server not in plan.tools:
            problems.append(f"row {case.row}: server {case.server!r} is not one of the servers evaluated "
                            f"({', '.join(plan.tools)})")
            continue
        names = {tool.name for server, tools in plan.tools.items() for tool in tools
                 if case.server is None or server == case.server}
        for want in case.expected:
            if want.tool not in names:
                near = difflib.get_close_matches(want.tool, sorted(names), n=1)
                where = f"server {case.server!r}" if case.server else "the servers evaluated"
                problems.append(f"row {case.row}: {want.tool!r} is not a tool of {where}"
                                + (f" (did you mean {near[0]!r}?)" if near else ""))
                break
    if problems:
        raise ConfigError(_rows_message(problems), hint="expected calls name tools of the servers given "
                                                        "(server.tools lists them).")


def _base_row(case: Case, label: str, run: int) -> dict[str, Any]:
    return {"id": case.id, "prompt": case.prompt, "model": label, "run": run, "passed": False, "reason": "",
            "called": [], "not_run": [], "arguments": [], "expected": [e.as_json() for e in case.expected],
            "answer": "", "input_tokens": 0, "output_tokens": 0, "seconds": 0.0, "error": None}


async def _one_run(model: Model, toolbox: Any, case: Case, run: int, plan: _Plan, system: str | None
                   ) -> dict[str, Any]:
    row = _base_row(case, model.label, run)
    started = time.perf_counter()
    try:
        exchange = await run_turn(model, toolbox, [], case.prompt, system=system, max_steps=plan.max_steps,
                                  approver=_approver(plan.allow))
    except MCPNBError as error:
        said = error.message.removeprefix(model.label + ": ")
        row.update(seconds=time.perf_counter() - started, reason=f"model error: {_short(said)}",
                   error=error.message)
        return row
    row["seconds"] = time.perf_counter() - started
    _fill(row, exchange, case)
    return row


def _fill(row: dict[str, Any], exchange: Exchange, case: Case) -> None:
    calls = [_called(record) for record in exchange.calls]
    row.update(called=[c.tool for c in calls], not_run=[c.tool for c in calls if not c.ran],
               arguments=[c.arguments for c in calls], answer=exchange.text,
               input_tokens=exchange.usage.input_tokens, output_tokens=exchange.usage.output_tokens)
    reasons = []
    stopped = exchange.stopped or "end"
    if stopped.startswith("error"):
        message = stopped.partition(":")[2].strip() or stopped
        # The row names the model: the reason keeps the room for what went wrong.
        reasons.append(f"model error: {_short(message.removeprefix(exchange.model_label + ': '))}")
        row["error"] = message
    elif stopped == "step limit":
        reasons.append("step limit")
    reasons += judge(case.expected, calls, case.order, case.server)
    row.update(passed=not reasons, reason="; ".join(reasons))


def _called(record: CallRecord) -> Called:
    """A call as the judge sees it; a tool error only for a call that went to the server (a call the
    evaluation did not run, or that named no offered tool, is compared but did not fail there)."""
    error = None
    if record.ran:
        if record.result is not None and record.result.is_error:
            error = record.result.text or "the tool reported an error"
        elif record.result is None:
            error = record.error or "the call failed"
    return Called(record.tool, record.server or None, dict(record.arguments or {}), record.ran, error)


def _approver(allow: frozenset[str]) -> Callable[[CallRecord], Awaitable[str]]:
    """Read-only tools and those ``allow`` names run; any other call is recorded, not run, and the model
    is told why (``record.error`` is what chat feeds back)."""
    async def approve(record: CallRecord) -> str:
        if record.read_only:
            return "read-only"
        if {record.tool, record.model_name, f"{record.server}.{record.tool}"} & allow:  # as chat's allow= reads
            return "allowed"
        record.error = NOT_RUN
        return NOT_RUN_LABEL

    return approve


def _retrieval_rows(plan: _Plan) -> dict[int, dict[str, Any]]:
    """Each case's row from the baseline: the tools ranked by similarity to the prompt."""
    from .similarity import similarities

    from sklearn.metrics.pairwise import cosine_similarity  # noqa: F401  (loaded first: its import is not the baseline's time)

    everything = [(server, tool) for server, tools in plan.tools.items() for tool in tools]
    started = time.perf_counter()
    scores = similarities([case.prompt for case in plan.cases], [tool for _, tool in everything])
    each = (time.perf_counter() - started) / max(1, len(plan.cases))
    rows = {}
    for case, row_scores in zip(plan.cases, scores):
        ranked = sorted(((score, server, tool.name) for (server, tool), score in zip(everything, row_scores)
                         if case.server is None or server == case.server), key=lambda t: -t[0])
        row = _base_row(case, RETRIEVAL_LABEL, 1)
        row["seconds"] = each
        wanted = list(dict.fromkeys(e.tool for e in case.expected))
        top = [name for _, _, name in ranked[:max(1, len(wanted))]]
        row["called"] = top
        row["arguments"] = None
        if not wanted:
            row.update(passed=None, reason="not scored: no tool expected, and retrieval always ranks one",
                       rank=None, score=None)
        else:
            places = {name: _place(ranked, name) for name in wanted}
            worst = max(wanted, key=lambda name: places[name])
            row["rank"] = places[worst]
            row["score"] = next(score for score, _, name in ranked if name == worst)
            row["passed"] = all(places[name] <= len(wanted) for name in wanted)
            if not row["passed"] and not ranked[0][0] > 0:
                row["reason"] = "no tool's name or description shares a word with the prompt (every score is 0)"
            elif not row["passed"]:
                row["reason"] = (f"ranked {ranked[0][2]} first; {worst} ranked {places[worst]} of {len(ranked)}")
        rows[case.row] = row
    return rows


def _place(ranked: list[tuple[float, str, str]], name: str) -> int:
    """1-based place of ``name``, counting every tool that scored at least as high (a tie is no win)."""
    score = next(s for s, _, n in ranked if n == name)
    return sum(1 for s, _, n in ranked if s >= score and n != name) + 1 if score > 0 else len(ranked)


def _frame(rows: list[dict[str, Any]], plan: _Plan, seconds: float) -> Evaluation:
    columns = list(COLUMNS)
    if RETRIEVAL in plan.models:
        columns += ["rank", "score"]
    frame = Evaluation(rows, columns=columns)
    if "rank" in frame:
        frame["rank"] = frame["rank"].astype("Int64")
    frame.attrs.update(servers=[s.name for s in plan.servers], runs=plan.runs, seconds=seconds,
                       models=[RETRIEVAL_LABEL if m == RETRIEVAL else m.label for m in plan.models],
                       allow=sorted(plan.allow))
    return frame
