"""Snapshots of what a server offers, and diffs that say what a change does to existing clients.

``server.snapshot(path=None)`` writes the server's identity (name, title,
version), the protocol version and era it negotiated, its capabilities and
instructions, and every tool, resource, template and prompt to a JSON file:
``PATH``, or ``PATH/<connection name>.snapshot.json`` when PATH is a folder,
or ``<connection name>.snapshot.json`` in the working directory when no path
is given. Each item is kept as it went over the wire (the SDK model's JSON),
lists are sorted by their key and objects by their keys, so two snapshots of
an unchanged server differ only in ``taken_at``. Nothing of the target is
kept (command, environment, URL, headers); instructions are kept as
``server.info`` holds them, secrets masked. ``load(path)`` reads one back.

``diff(old, new)`` compares two snapshots, snapshot files or live servers
(a live server is snapshotted in memory) and returns a table with a row per
change: kind (server, tool, resource, template, prompt), name, change (a
short phrase), breaking (bool) and detail (what it does to existing
clients), breaking rows first. ``attrs["old"]`` and ``attrs["new"]`` name the
two sides (name, version, protocol version, when taken, file).

What counts as breaking. An input schema is what clients send, so a change
breaks when a call that was valid may now be refused (the schema
*narrowed*); an output schema is what clients read, so a change breaks when
a result may hold what clients did not expect (the schema *widened*) or
lacks what they read.

==========  ==================================================================  ========
kind        change                                                              breaking
==========  ==================================================================  ========
server      capability removed or turned off (tools, logging, completions,      yes
            resources.subscribe, tools.listChanged, an extension ...)
server      capability added                                                    no
server      name, title, version or instructions changed; protocol version or  no
            era changed (the version negotiated with mcpnb: listed to check)
tool        removed; a rename is removed + added, "perhaps renamed to 'b'"     yes
            when exactly one added tool takes the same arguments
tool        added; title, description, icons or ``_meta`` changed               no
input       parameter added, required; parameter now required                  yes
input       parameter removed (see below)                                       yes
input       narrowed: the type set shrank (number -> integer, null no longer   yes
            accepted), enum values removed or an enum added, const added or
            changed, minimum / exclusiveMinimum / minLength / minItems /
            minProperties raised or added, maximum / ... / maxProperties
            lowered or added, multipleOf added or made stricter, pattern or
            format added or changed, uniqueItems added, additionalProperties
            true -> false (or -> a schema), an anyOf/oneOf option removed
input       a keyword mcpnb does not analyse changed (not, if/then/else,       yes
            patternProperties, dependentRequired ...): check it by hand
input       widened (the reverse of each narrowing), parameter added optional, no
            now optional; default, title, description, examples changed
output      output schema removed; property removed; property no longer        yes
            required; widened: the type set grew (integer -> number, null
            added), enum values added (a consumer may not know them) or the
            enum removed, const removed or changed, bounds relaxed, pattern or
            format removed or changed, an anyOf option added; a keyword not
            analysed changed
output      output schema added; property added; property now required;        no
            narrowed; additionalProperties changed either way (clients read
            the properties they know); title, description changed
annotation  readOnlyHint true -> false, destructiveHint false -> true,         yes
            idempotentHint true -> false (hints as in effect, with the
            specification's defaults: readOnly false, destructive true,
            idempotent false; destructive counts only when not read-only):
            a host that ran or retried the tool without asking must now ask
annotation  the reverse of those; openWorldHint either way                     no
tool        execution.taskSupport becomes "required", or "forbidden" where     yes
            tasks were allowed
resource    removed (keyed by URI; one of the same name at another URI shows   yes
            as "URI changed"); mime type changed or dropped
resource    added; mime type declared; name, title, description, annotations   no
            changed (size and annotations.lastModified follow the data, not
            the design, and are not compared)
template    removed; URI template changed (the variables named); mime type      yes
            changed or dropped
prompt      removed; argument added required; argument now required; argument  yes
            removed
prompt      added; argument added optional; now optional; descriptions         no
==========  ==================================================================  ========

A removed parameter is breaking whether or not the schema closes the object:
a server with ``additionalProperties: false`` refuses calls that still send
it, validating clients (mcpnb among them) refuse them before sending, and any
other server silently ignores the value, so the call does something other
than what its caller asked.

Input and output schemas are compared by ``mcpnb.schemadiff``; its docstring
holds the rules (local ``$ref`` resolved, nullable unions, the keywords
analysed and those left to check by hand). A change names its place all the
way down: ``parameter 'lines[].qty' minimum raised: 0 -> 1``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


from .errors import ConfigError
from .frames import ProseFrame
from .schemadiff import WORDING_ONLY, compare_schemas, shown, was_now
from .version import __version__

__all__ = ["Snapshot", "Changes", "take", "atake", "load", "diff", "default_path", "FORMAT", "FORMAT_VERSION",
           "COLUMNS"]

FORMAT = "mcpnb.snapshot"
FORMAT_VERSION = 1
COLUMNS = ["kind", "name", "change", "breaking", "detail"]
SUFFIX = ".snapshot.json"

# Each listed kind: its key in the file, the field that identifies an item, and the sort key.
_LISTS = (("tools", "name"), ("resources", "uri"), ("templates", "uriTemplate"), ("prompts", "name"))
_KIND_ORDER = {"server": 0, "tool": 1, "resource": 2, "template": 3, "prompt": 4}


# -- snapshots --------------------------------------------------------------------------


class Snapshot:
    """What one server offered at one moment: ``.data`` (the file's JSON), ``.path`` (None until written)."""

    def __init__(self, data: dict[str, Any], path: Path | None = None) -> None:
        self.data = data
        self.path = path

    @property
    def server(self) -> dict[str, Any]:
        """Identity, protocol version and era, capabilities, instructions."""
        return self.data["server"]

    @property
    def name(self) -> str | None:
        return self.server.get("name")

    @property
    def version(self) -> str | None:
        return self.server.get("version")

    @property
    def taken_at(self) -> str:
        return self.data["taken_at"]

    @property
    def tools(self) -> list[dict[str, Any]]:
        return self.data["tools"]

    @property
    def resources(self) -> list[dict[str, Any]]:
        return self.data["resources"]

    @property
    def templates(self) -> list[dict[str, Any]]:
        return self.data["templates"]

    @property
    def prompts(self) -> list[dict[str, Any]]:
        return self.data["prompts"]

    def to_json(self) -> str:
        """The file's text: sorted keys, two-space indent, a newline at the end."""
        return json.dumps(self.data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    def write(self, path: str | os.PathLike[str]) -> Snapshot:
        """Write the snapshot to ``path`` (replacing a file there) and remember it as ``.path``."""
        target = Path(path).expanduser().absolute()
        partial = target.with_name(target.name + ".partial")
        try:
            partial.write_text(self.to_json(), encoding="utf-8")
            partial.replace(target)
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise ConfigError(f"Could not write the snapshot to {target}: {error.strerror or error}.",
                              hint="check that the folder exists and can be written to.") from None
        self.path = target
        return self

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Snapshot:
        """Read a snapshot file (``ConfigError`` when it is missing, not a snapshot, or too new)."""
        return load(path)

    def __repr__(self) -> str:
        ident = self.name or "(anonymous)"
        if self.version:
            ident += f" {self.version}"
        counts = ", ".join(f"{len(self.data[key])} {key}" for key, _ in _LISTS)
        where = f"in {self.path}" if self.path is not None else "in memory"
        return (f"<Snapshot of {ident} (protocol {self.server.get('protocol_version')}, "
                f"{self.server.get('era')}): {counts}; taken {self.taken_at}, {where}>")


def default_path(name: str, folder: str | os.PathLike[str] | None = None) -> Path:
    """``<name>.snapshot.json`` in ``folder`` (the working directory by default); the name made safe for a file."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "server"
    return Path(folder if folder is not None else Path.cwd()).expanduser() / f"{safe}{SUFFIX}"


def take(server: Any) -> Snapshot:
    """A snapshot of a live server in memory (lists fetched afresh); ``.write(path)`` saves it.

    ``server`` is a ``mcpnb.Server`` or anything with its ``info`` and listings.
    """
    refresh = getattr(server, "refresh", None)
    if callable(refresh):
        refresh()  # what the server offers now, not what was cached
    return _made(server.info, {key: getattr(server, key, None) or () for key, _ in _LISTS})


async def atake(server: Any) -> Snapshot:
    """Async twin of :func:`take`, for a ``mcpnb.Server`` (its ``atools()`` ... listings)."""
    server.refresh()
    lists = {key: await getattr(server, f"a{key}")() for key, _ in _LISTS}
    return _made(server.info, lists)


def _made(info: Any, lists: dict[str, Any]) -> Snapshot:
    """The snapshot of a server's ``info`` (a ``ServerInfo``) and its listings, by key (tools, resources,
    templates, prompts; items with ``.raw`` SDK models, or wire dicts)."""
    data: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "mcpnb": __version__,
        "taken_at": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "server": {
            "name": info.name,
            "title": info.title,
            "version": info.version,
            "protocol_version": info.protocol_version,
            "era": info.era,
            "capabilities": _wire(info.capabilities),
            "instructions": info.instructions,
        },
    }
    for key, field in _LISTS:
        items = [_wire(getattr(item, "raw", item)) for item in lists.get(key) or ()]
        data[key] = sorted(items, key=lambda item, field=field: (str(item.get(field)), _canon(item)))
    return Snapshot(json.loads(_canon(data)))  # keys sorted as in the file, so a diff reads the same from either


def _wire(model: Any) -> Any:
    """An SDK model as it goes over the wire (aliases, JSON types, no nulls)."""
    if hasattr(model, "model_dump"):
        return model.model_dump(by_alias=True, mode="json", exclude_none=True)
    return json.loads(json.dumps(model, default=str))


def load(path: str | os.PathLike[str]) -> Snapshot:
    """Read the snapshot file at ``path``."""
    where = Path(path).expanduser().absolute()
    remake = "take a new one with server.snapshot(path)."
    if not where.exists():
        given = os.fspath(path)
        if not given.endswith(".json"):  # "demo:crm", a command line, a URL: a server, not a file
            raise ConfigError(f"No snapshot file at {where}.",
                              hint=f"to compare a server, give it connected: mcpnb.diff(old, "
                                   f"mcpnb.connect({given!r})); a snapshot file is written by server.snapshot(path).")
        raise ConfigError(f"No snapshot file at {where}.",
                          hint=f"server.snapshot(path) writes one; a relative path starts in {Path.cwd()}.")
    if where.is_dir():
        raise ConfigError(f"{where} is a folder, not a snapshot file.",
                          hint=f"snapshot files are named like {default_path('NAME', where).name}.")
    try:
        data = json.loads(where.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        why = f"{error.msg} at line {error.lineno}" if isinstance(error, json.JSONDecodeError) else "not UTF-8 text"
        raise ConfigError(f"{where} is not a snapshot: it is not JSON ({why}).", hint=remake) from None
    except OSError as error:
        raise ConfigError(f"Could not read {where}: {error.strerror or error}.") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(f"{where} is not an mcpnb snapshot (it has no \"format\": \"{FORMAT}\").", hint=remake)
    version = data.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ConfigError(f"{where} is not a usable snapshot: its format_version is {version!r}.", hint=remake)
    if version > FORMAT_VERSION:
        raise ConfigError(f"{where} was written by a newer mcpnb ({data.get('mcpnb', 'unknown version')}, snapshot "
                          f"format {version}); this mcpnb ({__version__}) reads format {FORMAT_VERSION}.",
                          hint="upgrade mcpnb (pip install -U mcpnb) to read it.")
    problem = _shape_problem(data)
    if problem:
        raise ConfigError(f"{where} is not a usable snapshot: {problem}.",
                          hint=f"was it edited by hand? {remake[0].upper()}{remake[1:]}")
    return Snapshot(data, where)


def _shape_problem(data: dict[str, Any]) -> str | None:
    """What keeps ``data`` from being read as a snapshot, or None."""
    server = data.get("server")
    if not isinstance(server, dict) or not isinstance(server.get("capabilities", {}), dict):
        return "it has no server section"
    if not isinstance(data.get("taken_at"), str):
        return "it has no taken_at time"
    for key, field in _LISTS:
        items = data.get(key)
        if not isinstance(items, list):
            return f"it has no {key} list"
        for number, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get(field), str):
                return f"{key}[{number}] has no {field}"
    for number, tool in enumerate(data["tools"]):
        if not isinstance(tool.get("inputSchema", {}), dict):
            return f"tools[{number}] has an inputSchema that is not an object"
    return None


# -- diff -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    kind: str
    name: str
    change: str
    breaking: bool
    detail: str


class Changes(ProseFrame):
    """What ``diff`` returns: a DataFrame (filter it, sort it, ``.to_csv()``) whose notebook display
    shows each change and its detail whole, as sentences read. Filtering or sorting it gives a
    ``Changes`` again."""


def diff(old: Any, new: Any) -> Changes:
    """The changes from ``old`` to ``new`` (each a Snapshot, a snapshot file's path, or a live Server),
    one row each: kind, name, change, breaking, detail; breaking ones first. Empty when nothing changed."""
    before, after = _as_snapshot(old, "old"), _as_snapshot(new, "new")
    rows = _server_rows(before, after)
    rows += _tool_rows(before.tools, after.tools)
    rows += _resource_rows("resource", "uri", before.resources, after.resources)
    rows += _resource_rows("template", "uriTemplate", before.templates, after.templates)
    rows += _prompt_rows(before.prompts, after.prompts)
    rows.sort(key=lambda row: (not row.breaking, _KIND_ORDER[row.kind], row.name))
    frame = Changes([[getattr(row, c) for c in COLUMNS] for row in rows], columns=COLUMNS)
    frame["breaking"] = frame["breaking"].astype(bool)
    frame.attrs["old"] = _side(before)
    frame.attrs["new"] = _side(after)
    return frame


def _as_snapshot(value: Any, which: str) -> Snapshot:
    if isinstance(value, Snapshot):
        return value
    if isinstance(value, (str, os.PathLike)):
        return load(value)
    if hasattr(value, "info") and hasattr(value, "tools"):
        return take(value)
    raise ConfigError(f"diff() compares snapshots, snapshot files and live servers; {which} is a "
                      f"{type(value).__name__}.", hint="pass server.snapshot(), a path to a snapshot file, "
                                                       "or a connected Server.")


def _side(snapshot: Snapshot) -> dict[str, Any]:
    server = snapshot.server
    return {"name": server.get("name"), "version": server.get("version"),
            "protocol_version": server.get("protocol_version"), "taken_at": snapshot.taken_at,
            "path": str(snapshot.path) if snapshot.path is not None else None}


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


# -- server -----------------------------------------------------------------------------

# What clients lose with a capability, by its dotted name (the last part for list changes).
_LOSES = {
    "tools": "they can no longer list or call its tools",
    "resources": "they can no longer list or read its resources",
    "prompts": "they can no longer list or render its prompts",
    "logging": "they can no longer ask for or receive its log messages",
    "completions": "they no longer get suggestions for prompt and template arguments",
    "tasks": "they can no longer run requests as tasks",
    "resources.subscribe": "they can no longer follow changes to a resource",
    "listChanged": "they are no longer told when the list changes and must list again themselves",
    "extensions.io.modelcontextprotocol/ui": "hosts no longer show its tools' MCP Apps",
}


def _server_rows(old: Snapshot, new: Snapshot) -> list[_Row]:
    a, b = old.server, new.server
    name = b.get("name") or a.get("name") or "(server)"
    rows: list[_Row] = []

    def listed(change: str, detail: str) -> None:
        rows.append(_Row("server", name, change, False, detail))

    for field in ("name", "title", "version"):
        if a.get(field) != b.get(field):
            listed(f"{field} changed: {shown(a.get(field))} -> {shown(b.get(field))}",
                   "Identity only; clients keep working.")
    if (a.get("protocol_version"), a.get("era")) != (b.get("protocol_version"), b.get("era")):
        listed(f"protocol changed: {a.get('protocol_version')} ({a.get('era')}) -> "
               f"{b.get('protocol_version')} ({b.get('era')})",
               "The version negotiated with mcpnb; check that clients which speak only the old one can still "
               "connect.")
    if a.get("instructions") != b.get("instructions"):
        listed("instructions changed", f"{was_now(a.get('instructions'), b.get('instructions'))} "
                                       "Hosts hand them to the model; calls are unaffected.")
    before, after = _flat(a.get("capabilities") or {}), _flat(b.get("capabilities") or {})
    gone: list[str] = []
    come: list[str] = []
    for key in sorted(set(before) | set(after)):
        was, now = before.get(key, False), after.get(key, False)
        if was == now or any(key.startswith(parent + ".") for parent in gone + come):
            continue
        if was is not False and now is False:
            gone.append(key)
            loses = _LOSES.get(key) or _LOSES.get(key.rsplit(".", 1)[-1]) or "they lose what it offered"
            rows.append(_Row("server", name, f"capability '{key}' removed", True, f"Clients relied on it: {loses}."))
        elif was is False:
            come.append(key)
            listed(f"capability '{key}' added", "Clients may use it now; nothing they did before changes.")
        else:
            listed(f"capability '{key}' changed: {shown(was)} -> {shown(now)}", "Check what clients read from it.")
    return rows


_CONTAINERS = ("experimental", "extensions")


def _flat(capabilities: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"resources": {"subscribe": true}} -> {"resources": "present", "resources.subscribe": True}."""
    flat: dict[str, Any] = {}
    for key, value in capabilities.items():
        name = prefix + key
        if isinstance(value, dict):
            if name not in _CONTAINERS:  # those only hold the named ones, each a capability of its own
                flat[name] = "present"
            flat.update(_flat(value, name + "."))
        elif value is not None:
            flat[name] = value
    return flat


# -- tools ------------------------------------------------------------------------------


def _tool_rows(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[_Row]:
    before, after = {t["name"]: t for t in old}, {t["name"]: t for t in new}
    removed = [n for n in before if n not in after]
    added = [n for n in after if n not in before]
    renamed = _renames(before, after, removed, added)
    rows: list[_Row] = []
    for name in removed:
        if name in renamed:
            other = renamed[name]
            rows.append(_Row("tool", name, f"removed (perhaps renamed to '{other}')", True,
                             f"Calls to '{name}' now fail (no such tool); '{other}' takes the same arguments, "
                             "so callers may only need the new name."))
        else:
            rows.append(_Row("tool", name, "removed", True,
                             f"Calls to '{name}' now fail: the server has no such tool."))
    from_names = {new_name: old_name for old_name, new_name in renamed.items()}
    for name in added:
        change = f"added (perhaps renamed from '{from_names[name]}')" if name in from_names else "added"
        rows.append(_Row("tool", name, change, False, "A new tool; existing clients are unaffected."))
    for name in before:
        if name in after:
            rows += _tool_changes(name, before[name], after[name])
    return rows


def _renames(before: dict[str, Any], after: dict[str, Any], removed: list[str], added: list[str]) -> dict[str, str]:
    """Removed -> added tool, where exactly one added tool takes the same arguments as a removed one
    (and either has parameters, or both have the same description)."""

    def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
        schema_a, schema_b = a.get("inputSchema") or {}, b.get("inputSchema") or {}
        if any(change.effect != "annotation" for change in compare_schemas(schema_a, schema_b, "input")):
            return False
        return bool(schema_a.get("properties")) or a.get("description") == b.get("description")

    matches = {r: [a for a in added if same(before[r], after[a])] for r in removed}
    pairs: dict[str, str] = {}
    for r, found in matches.items():
        if len(found) == 1 and sum(found[0] in others for others in matches.values()) == 1:
            pairs[r] = found[0]
    return pairs


def _tool_changes(name: str, old: dict[str, Any], new: dict[str, Any]) -> list[_Row]:
    rows: list[_Row] = []

    def row(change: str, breaking: bool, detail: str) -> None:
        rows.append(_Row("tool", name, change, breaking, detail))

    title_old = old.get("title") or (old.get("annotations") or {}).get("title")
    title_new = new.get("title") or (new.get("annotations") or {}).get("title")
    if title_old != title_new:
        row("title changed", False, f"{was_now(title_old, title_new)} {WORDING_ONLY}")
    if old.get("description") != new.get("description"):
        row("description changed", False, f"{was_now(old.get('description'), new.get('description'))} "
                                          "Models read it to choose the tool; calls are unaffected.")
    for change in compare_schemas(old.get("inputSchema") or {}, new.get("inputSchema") or {}, "input"):
        row(f"parameter '{change.path}' {change.phrase}" if change.path else f"input schema {change.phrase}",
            change.breaking, change.detail)
    out_old, out_new = old.get("outputSchema"), new.get("outputSchema")
    if out_old is not None and out_new is None:
        row("output schema removed", True, "Clients that read its structured result lose the promise of its shape; "
                                           "the tool may not send structured content at all.")
    elif out_old is None and out_new is not None:
        row("output schema added", False, "Clients can now rely on the shape of its structured result.")
    elif out_old is not None:
        for change in compare_schemas(out_old, out_new, "output"):
            row(f"output schema changed: property '{change.path}' {change.phrase}" if change.path
                else f"output schema changed: {change.phrase}", change.breaking, change.detail)
    rows += [_Row("tool", name, *hint) for hint in _annotation_changes(old.get("annotations"), new.get("annotations"))]
    support_old = (old.get("execution") or {}).get("taskSupport") or "forbidden"
    support_new = (new.get("execution") or {}).get("taskSupport") or "forbidden"
    if support_old != support_new:
        if support_new == "required":
            row("task support now required", True, "Calls made without a task (most clients make those) are refused.")
        elif support_new == "forbidden":
            row(f"task support removed (was {support_old})", True, "Calls made as a task are refused.")
        else:
            row(f"task support changed: {support_old} -> {support_new}", False, "Every call that worked still does.")
    for field in ("icons", "_meta"):
        if old.get(field) != new.get(field):
            keys = ""
            if field == "_meta" and isinstance(old.get(field), dict) and isinstance(new.get(field), dict):
                changed = sorted(k for k in {*old[field], *new[field]} if old[field].get(k) != new[field].get(k))
                keys = ": " + ", ".join(shown(k) for k in changed)
            row(f"{field} changed{keys}", False, "Hosts may show it differently; calls and results are unaffected.")
    return rows


def _annotation_changes(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[tuple[str, bool, str]]:
    """The hints as in effect (the specification's defaults filled in), compared."""

    def effective(hints: dict[str, Any] | None) -> tuple[bool, bool, bool, bool]:
        hints = hints or {}
        read_only = bool(hints.get("readOnlyHint", False))
        destructive = not read_only and bool(hints.get("destructiveHint", True))
        return read_only, destructive, bool(hints.get("idempotentHint", False)), bool(hints.get("openWorldHint", True))

    (ro_a, de_a, id_a, ow_a), (ro_b, de_b, id_b, ow_b) = effective(old), effective(new)
    found: list[tuple[str, bool, str]] = []
    if ro_a and not ro_b:
        found.append(("no longer read-only" + (", now destructive" if de_b else ""), True,
                      "A host that ran it without asking, as read-only, must now ask first."))
    elif ro_b and not ro_a:
        found.append(("now read-only", False, "Hosts may run it without asking; nothing breaks."))
    elif not ro_a and not ro_b and de_a != de_b:
        found.append(("now destructive", True, "A host that ran it without asking must now ask: it may destroy data.")
                     if de_b else ("no longer destructive", False, "Hosts may ask less; nothing breaks."))
    if id_a and not id_b:
        found.append(("no longer idempotent", True,
                      "A client that retried it safely (after a timeout, say) may now repeat its effect."))
    elif id_b and not id_a:
        found.append(("now idempotent", False, "Clients may retry it; nothing breaks."))
    if ow_a != ow_b:
        found.append(("now open-world" if ow_b else "now closed-world", False,
                      "Says whether it reaches outside systems; calls are unaffected."))
    return found


# -- resources, templates, prompts ------------------------------------------------------


def _resource_rows(kind: str, key: str, old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[_Row]:
    """Matched by URI (or URI template); a removed and an added one of the same name are one that moved."""
    before, after = {r[key]: r for r in old}, {r[key]: r for r in new}
    removed = [u for u in before if u not in after]
    added = [u for u in after if u not in before]
    moved: dict[str, str] = {}
    by_name = {after[u].get("name"): u for u in added}
    for u in removed:
        other = by_name.get(before[u].get("name"))
        if other is not None and other not in moved.values() and \
                sum(before[r].get("name") == before[u].get("name") for r in removed) == 1:
            moved[u] = other
    rows: list[_Row] = []
    what = "URI template" if kind == "template" else "URI"
    for u in removed:
        if u in moved:
            change = f"{what} changed: {shown(u)} -> {shown(moved[u])}{_variables(kind, u, moved[u])}"
            rows.append(_Row(kind, u, change, True, f"Clients that read {shown(u)} now get an error; the {kind} is at "
                                   f"{shown(moved[u])}."))
            rows += _item_changes(kind, u, before[u], after[moved[u]])
        else:
            reads = "fill it in" if kind == "template" else "read it"
            rows.append(_Row(kind, u, "removed", True, f"Clients that {reads} now get an error."))
    rows += [_Row(kind, u, "added", False, f"A new {kind}; existing clients are unaffected.")
             for u in added if u not in moved.values()]
    for u in before:
        if u in after:
            rows += _item_changes(kind, u, before[u], after[u])
    return rows


def _variables(kind: str, old: str, new: str) -> str:
    if kind != "template":
        return ""
    a, b = _template_variables(old), _template_variables(new)
    return "" if a == b else f" (variables {{{', '.join(a)}}} -> {{{', '.join(b)}}})"


def _template_variables(template: str) -> list[str]:
    from mcp.shared.uri_template import UriTemplate

    try:
        return list(UriTemplate.parse(template).variable_names)
    except Exception:  # the SDK refuses a malformed template; its braces still name the variables
        return re.findall(r"[A-Za-z0-9_.%]+", " ".join(re.findall(r"\{([^}]*)\}", template)))


def _item_changes(kind: str, name: str, old: dict[str, Any], new: dict[str, Any]) -> list[_Row]:
    """Fields every resource, template and prompt has: name, title, description, mime type, icons, annotations."""
    rows: list[_Row] = []
    for field in ("name", "title", "description"):
        if old.get(field) != new.get(field):
            rows.append(_Row(kind, name, f"{field} changed", False, f"{was_now(old.get(field), new.get(field))} "
                                                                     f"{WORDING_ONLY}"))
    a, b = old.get("mimeType"), new.get("mimeType")
    if a != b:
        if a is None:
            rows.append(_Row(kind, name, f"mime type declared: {shown(b)}", False,
                             "Clients learn what it holds; nothing they did before changes."))
        else:
            rows.append(_Row(kind, name, f"mime type changed: {shown(a)} -> {shown(b) if b else 'none'}", True,
                             "Clients that parse its contents as before may fail."))
    notes_a = {k: v for k, v in (old.get("annotations") or {}).items() if k != "lastModified"}
    notes_b = {k: v for k, v in (new.get("annotations") or {}).items() if k != "lastModified"}
    for field, a_value, b_value in (("annotations", notes_a, notes_b), ("icons", old.get("icons"), new.get("icons")),
                                    ("_meta", old.get("_meta"), new.get("_meta"))):
        if a_value != b_value:
            rows.append(_Row(kind, name, f"{field} changed", False,
                             f"{was_now(a_value, b_value)} Hosts may show or rank it differently."))
    return rows


def _prompt_rows(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[_Row]:
    before, after = {p["name"]: p for p in old}, {p["name"]: p for p in new}
    rows = [_Row("prompt", n, "removed", True, f"Clients that render '{n}' now get an error.")
            for n in before if n not in after]
    rows += [_Row("prompt", n, "added", False, "A new prompt; existing clients are unaffected.")
             for n in after if n not in before]
    for name in before:
        if name not in after:
            continue
        rows += _item_changes("prompt", name, before[name], after[name])
        args_a = {a["name"]: a for a in before[name].get("arguments") or () if isinstance(a, dict) and "name" in a}
        args_b = {a["name"]: a for a in after[name].get("arguments") or () if isinstance(a, dict) and "name" in a}
        for arg in [*args_a, *(n for n in args_b if n not in args_a)]:
            rows += [_Row("prompt", name, f"argument '{arg}' {change}", breaking, detail)
                     for change, breaking, detail in _argument_changes(args_a.get(arg), args_b.get(arg))]
    return rows


def _argument_changes(a: dict[str, Any] | None, b: dict[str, Any] | None) -> list[tuple[str, bool, str]]:
    """(change, breaking, detail) for one prompt argument, before and after (None: not there)."""
    if b is None:
        return [("removed", True, "Clients that still pass it are refused by clients that check arguments "
                                  "(mcpnb among them), or the value is ignored.")]
    required = bool(b.get("required"))
    if a is None:
        return [("added, required", True, "Existing clients leave it out and will be refused.") if required
                else ("added, optional", False, "Existing clients still work.")]
    found = []
    if bool(a.get("required")) != required:
        found.append(("now required", True, "Clients that leave it out will be refused.") if required
                     else ("now optional", False, "Existing clients still work."))
    for field in ("title", "description"):
        if a.get(field) != b.get(field):
            found.append((f"{field} changed", False, f"{was_now(a.get(field), b.get(field))} {WORDING_ONLY}"))
    return found
