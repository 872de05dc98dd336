"""A map's finished rows on disk, so that a run that stopped resumes where it stopped.

``map(..., checkpoint=PATH)`` keeps a folder::

    PATH/
      checkpoint.json       {"format": 1, "tool": "get_order", "rows": 20000}
      part-000000.parquet   finished rows, a few hundred at a time
      part-000001.parquet   ...

Parts are written as the map goes (every ``EVERY_ROWS`` rows or ``EVERY_SECONDS``
seconds) and when it stops for any reason (an interrupt, ``max_errors``, a
failure). Each is written under a temporary name and renamed into place, so a
part is whole or absent, whatever stops the run; a later part's row wins.

A row keeps what came back, not the table's columns: its place in the input,
a fingerprint of its arguments, and its outcome (the structured content as JSON
text, the text-bearing content blocks as JSON, ``is_error``) or its failure
(the message, the error's kind, whether it was transient, and whether nothing was sent: a call the
server refused before running it, or one never sent, may be made again whatever the tool). A resumed run
rebuilds each outcome and passes it through the same code as a fresh call
(``frames.map_frame``), so the table is the one an uninterrupted run makes.
Only content a table can be made of is kept (text, and text resources); images
and audio are not, so they are absent from results rebuilt from a checkpoint.

One map writes a folder at a time: it holds a lock on ``PATH/.lock`` (``fcntl.flock``,
which the system lets go when the process ends, so a lock left by a dead process
is no lock) from opening until the map's last part is written. Another map on the
same folder waits a few seconds for it (an interrupted run finishing its last
part), then gets ``ConfigError``. Temporary files have names of their own (a uuid).

A checkpoint belongs to one map: the tool, the number of rows and each row's
fingerprint must match, else ``ConfigError`` says what differs and how to start
over. pyarrow is imported only when a checkpoint is used.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import mcp_types as types

from .errors import ConfigError, MCPNBError
from .results import ToolResult
from .schema import to_json

__all__ = ["Checkpoint", "Stored", "fingerprint", "EVERY_ROWS", "EVERY_SECONDS"]

EVERY_ROWS = 250  # a part is written once this many rows have finished ...
EVERY_SECONDS = 5.0  # ... or this long after the last part, whichever comes first
FORMAT = 1
MANIFEST = "checkpoint.json"
LOCK = ".lock"
LOCK_WAIT = 5.0  # seconds a map waits for another to let go of the folder (an interrupted one's last part)
_PART = re.compile(r"^part-(\d{6,})\.parquet$")


def fingerprint(arguments: Mapping[str, Any]) -> str:
    """A short digest of one row's arguments (keys in any order give the same one)."""
    text = json.dumps(to_json(arguments), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


class Stored:
    """A row read back from a checkpoint: its rebuilt outcome, whether its failure was transient, and whether
    the call never reached the tool (``nothing_sent``: safe to make again for any tool)."""

    __slots__ = ("outcome", "transient", "nothing_sent")

    def __init__(self, outcome: Any, transient: bool, nothing_sent: bool = False) -> None:
        self.outcome = outcome
        self.transient = transient
        self.nothing_sent = nothing_sent


class Checkpoint:
    """One map's checkpoint folder: the rows found there (``rows``), and the writing of new ones."""

    def __init__(self, path: Path, tool: str, fingerprints: list[str]) -> None:
        self.path = path
        self.tool = tool
        self.fingerprints = fingerprints
        self.rows: dict[int, Stored] = {}  # what earlier runs finished, by place in the input
        self._pending: list[tuple[int, Any, bool, bool]] = []
        self._next_part = 0
        self._written_at = time.monotonic()
        self._lock: int | None = None  # the descriptor of the locked PATH/.lock

    # -- opening -----------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, tool: str, arguments: Sequence[Mapping[str, Any]],
             server: str, protocol_version: str | None) -> Checkpoint:
        """The checkpoint at ``path`` for this map, made if new; the rows it holds rebuilt. Blocking
        (it reads files and imports pyarrow): run it off the loop."""
        _pyarrow()
        folder = Path(path).expanduser()
        store = cls(folder, tool, [fingerprint(args) for args in arguments])
        start_over = (f"use another checkpoint= path, or delete this one to start over: "
                      f"shutil.rmtree({str(folder)!r}).")
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"checkpoint= must be a folder; {str(folder)!r} is a file.",
                              hint="pass the path of a new or empty folder.")
        manifest = folder / MANIFEST
        if folder.is_dir() and not manifest.exists():
            if any(p.name != LOCK for p in folder.iterdir()):
                raise ConfigError(f"The folder {str(folder)!r} holds other files and no checkpoint; "
                                  "mcpnb will not write there.", hint="pass the path of a new or empty folder.")
        store._take_lock()
        try:
            store._open(manifest, arguments, server, protocol_version, start_over)
        except BaseException:
            store.close()
            raise
        return store

    def _open(self, manifest: Path, arguments: Sequence[Mapping[str, Any]], server: str,
              protocol_version: str | None, start_over: str) -> None:
        """Make the manifest, or read the checkpoint found (under the folder's lock)."""
        folder, tool = self.path, self.tool
        if not manifest.exists():
            self._write_manifest(len(arguments))
            return
        try:
            about = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ConfigError(f"The checkpoint at {str(folder)!r} cannot be read ({error}).", hint=start_over) from None
        if not isinstance(about, dict) or about.get("format") != FORMAT:
            raise ConfigError(f"The checkpoint at {str(folder)!r} is not one this version of mcpnb reads.",
                              hint=start_over)
        if about.get("tool") != tool:
            raise ConfigError(f"The checkpoint at {str(folder)!r} holds calls of {about.get('tool')!r}, "
                              f"not {tool!r}.", hint=start_over)
        if about.get("rows") != len(arguments):
            raise ConfigError(f"The checkpoint at {str(folder)!r} was made for {about.get('rows')} rows; "
                              f"this map has {len(arguments)}.", hint=start_over)
        self._read(arguments, server, protocol_version, start_over)

    def _take_lock(self) -> None:
        """Hold the folder's lock (made if need be), waiting up to LOCK_WAIT seconds for another map to let go."""
        try:
            import fcntl
        except ImportError:  # not on POSIX: no lock (one map per folder is then the person's to keep)
            return
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise ConfigError(f"Could not make the checkpoint at {str(self.path)!r}: {error.strerror or error}.",
                              hint="pass a path in a folder you may write to.") from None
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    os.close(descriptor)
                    raise ConfigError(f"Another map is writing the checkpoint at {str(self.path)!r}.",
                                      hint="wait for it to finish (or interrupt it), or use another checkpoint= "
                                           "path.") from None
                time.sleep(0.05)
        os.ftruncate(descriptor, 0)
        os.write(descriptor, str(os.getpid()).encode())  # for the curious: who holds it
        self._lock = descriptor

    def close(self) -> None:
        """Let go of the folder's lock (the map is over; its last part is written). Idempotent."""
        descriptor, self._lock = self._lock, None
        if descriptor is not None:
            os.close(descriptor)  # closing the descriptor ends the flock

    def _read(self, arguments: Sequence[Mapping[str, Any]], server: str, protocol_version: str | None,
              start_over: str) -> None:
        import pyarrow.parquet as pq

        parts = sorted((int(m.group(1)), p) for p in self.path.iterdir() if (m := _PART.match(p.name)))
        differ: list[int] = []
        for number, part in parts:
            self._next_part = number + 1
            try:
                columns = pq.read_table(part).to_pydict()
            except Exception as error:  # pyarrow's errors have no common base worth naming
                raise ConfigError(f"A part of the checkpoint at {str(self.path)!r} cannot be read: "
                                  f"{part.name}: {error}", hint=start_over) from None
            for index, digest, structured, content, is_error, message, transient, unsent in zip(
                    columns["row"], columns["fingerprint"], columns["structured"], columns["content"],
                    columns["is_error"], columns["error"], columns["transient"], columns["nothing_sent"]):
                if not 0 <= index < len(arguments) or digest != self.fingerprints[index]:
                    differ.append(index)
                    continue
                if message is not None:
                    outcome: Any = MCPNBError(message)
                else:
                    raw = types.CallToolResult.model_validate({
                        "content": json.loads(content), "isError": bool(is_error),
                        "structuredContent": json.loads(structured) if structured is not None else None})
                    outcome = ToolResult(raw, server, self.tool, dict(arguments[index]), 0.0, protocol_version)
                self.rows[index] = Stored(outcome, bool(transient), bool(unsent))
        if differ:
            first = differ[0]
            shown = (f"row {first}'s arguments are not those it was made with"
                     if 0 <= first < len(arguments) else f"it holds row {first}")
            raise ConfigError(f"The checkpoint at {str(self.path)!r} does not match these rows: {shown}"
                              f"{f' ({len(differ)} rows differ)' if len(differ) > 1 else ''}.", hint=start_over)

    # -- writing -----------------------------------------------------------------------

    def add(self, index: int, outcome: Any, transient: bool, nothing_sent: bool = False) -> None:
        """Keep a finished row for the next part."""
        self._pending.append((index, outcome, transient, nothing_sent))

    def due(self) -> bool:
        """Whether enough rows or time have gone by to write a part."""
        return bool(self._pending) and (len(self._pending) >= EVERY_ROWS
                                        or time.monotonic() - self._written_at >= EVERY_SECONDS)

    def take(self) -> tuple[int, list[tuple[int, Any, bool, bool]]]:
        """The rows kept so far and the number of the part they go to (on the loop: cheap, no I/O)."""
        rows, self._pending = self._pending, []
        number, self._next_part = self._next_part, self._next_part + 1
        self._written_at = time.monotonic()
        return number, rows

    def write(self, number: int, rows: list[tuple[int, Any, bool, bool]]) -> None:
        """Write one part (blocking: off the loop), whole or not at all."""
        if not rows:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns: dict[str, list[Any]] = {name: [] for name in
                                         ("row", "fingerprint", "structured", "content", "is_error", "error",
                                          "kind", "transient", "nothing_sent")}
        for index, outcome, transient, nothing_sent in rows:
            columns["row"].append(index)
            columns["fingerprint"].append(self.fingerprints[index])
            if isinstance(outcome, BaseException):
                columns["structured"].append(None)
                columns["content"].append("[]")
                columns["is_error"].append(False)
                columns["error"].append(str(getattr(outcome, "message", None) or outcome))
                columns["kind"].append(type(outcome).__name__)
            else:
                structured = outcome.structured
                columns["structured"].append(None if structured is None else json.dumps(structured))
                columns["content"].append(json.dumps(_tabular_blocks(outcome.content)))
                columns["is_error"].append(outcome.is_error)
                columns["error"].append(None)
                columns["kind"].append(None)
            columns["transient"].append(transient)
            columns["nothing_sent"].append(nothing_sent)
        table = pa.table(columns, schema=_schema())
        final = self.path / f"part-{number:06d}.parquet"
        temporary = self.path / f".{final.name}.{uuid.uuid4().hex}.tmp"
        try:
            pq.write_table(table, temporary)
            os.replace(temporary, final)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            raise ConfigError(f"Could not write the checkpoint at {str(self.path)!r}: "
                              f"{error.strerror or error}.") from None

    def _write_manifest(self, rows: int) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            temporary = self.path / f".{MANIFEST}.{uuid.uuid4().hex}.tmp"
            temporary.write_text(json.dumps({"format": FORMAT, "tool": self.tool, "rows": rows}), encoding="utf-8")
            os.replace(temporary, self.path / MANIFEST)
        except OSError as error:
            raise ConfigError(f"Could not make the checkpoint at {str(self.path)!r}: {error.strerror or error}.",
                              hint="pass a path in a folder you may write to.") from None

    def __repr__(self) -> str:
        return f"<Checkpoint {str(self.path)!r} {self.tool!r}: {len(self.rows)} rows found>"


def _tabular_blocks(content: Sequence[Any]) -> list[dict[str, Any]]:
    """The blocks a table can be made of (text, text resources), as JSON-ready dicts."""
    kept = []
    for block in content:
        if isinstance(block, types.TextContent) or (
                isinstance(block, types.EmbeddedResource) and isinstance(block.resource, types.TextResourceContents)):
            kept.append(block.model_dump(mode="json", by_alias=True, exclude_none=True))
    return kept


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema([("row", pa.int64()), ("fingerprint", pa.string()), ("structured", pa.string()),
                      ("content", pa.string()), ("is_error", pa.bool_()), ("error", pa.string()),
                      ("kind", pa.string()), ("transient", pa.bool_()), ("nothing_sent", pa.bool_())])


def _pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise ConfigError("checkpoint= needs pyarrow, which is not installed.",
                          hint="pip install pyarrow") from None
