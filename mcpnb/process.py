"""What a stdio server process leaves behind: its stderr and its exit code.

A server's stderr is its diary: start-up banners, warnings, the traceback it
died with. Sprayed into a notebook it is noise; lost, it is the one clue to
why a server would not start. So each stdio connection gets a pipe for the
server's stderr and a daemon thread that drains it into a bounded buffer
(a server that floods stderr can neither block on a full pipe nor fill memory).
The tail goes into errors; ``Server.stderr`` shows it on demand.

The SDK's ``stdio_client`` spawns the process and keeps it to itself. To tell a
person the exit code, ``ProcessWatch`` enters that same transport and keeps a
reference to the process object it created (read from the transport's own
frame; if a future SDK hides it, exit codes read as unknown and nothing else
changes).
"""

from __future__ import annotations

import os
import threading
from collections import deque
from typing import IO, Any

__all__ = ["StderrTail", "ProcessWatch"]

# Bytes of stderr kept per connection; older output is dropped.
_KEEP_BYTES = 64 * 1024


class StderrTail:
    """A pipe for a child's stderr, drained into a bounded buffer by a thread."""

    def __init__(self, keep_bytes: int = _KEEP_BYTES) -> None:
        read_fd, write_fd = os.pipe()
        self._reader = os.fdopen(read_fd, "rb", buffering=0)
        self.file: IO[str] | None = os.fdopen(write_fd, "w", encoding="utf-8", errors="replace")
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._keep = keep_bytes
        self._lock = threading.Lock()
        self.total_bytes = 0
        self._thread = threading.Thread(target=self._drain, name="mcpnb-stderr", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        try:
            while chunk := self._reader.read(65536):
                with self._lock:
                    self._chunks.append(chunk)
                    self._size += len(chunk)
                    self.total_bytes += len(chunk)
                    while self._size > self._keep and len(self._chunks) > 1:
                        self._size -= len(self._chunks.popleft())
        except (OSError, ValueError):
            pass
        finally:
            self._reader.close()

    def release_writer(self) -> None:
        """Close this process's copy of the write end, once the child has its own.

        After this, the reader sees end-of-file when the child (and any
        grandchild holding stderr) exits.
        """
        if self.file is not None:
            self.file.close()
            self.file = None

    def wait_drained(self, timeout: float) -> None:
        """Give the reader up to ``timeout`` seconds to collect a dead child's last words."""
        self._thread.join(timeout)

    def text(self, max_lines: int | None = None) -> str:
        """What was captured, decoded; the last ``max_lines`` lines if given."""
        with self._lock:
            data = b"".join(self._chunks)
        text = data.decode("utf-8", errors="replace")
        if self.total_bytes > self._size:
            text = text.split("\n", 1)[-1]  # drop the partial first line
        if max_lines is not None:
            text = "\n".join(text.rstrip("\n").splitlines()[-max_lines:])
        return text


class ProcessWatch:
    """An SDK stdio transport, entered as is, plus a handle on its process."""

    def __init__(self, transport: Any) -> None:
        self._transport = transport
        self.process: Any = None

    async def __aenter__(self) -> Any:
        streams = await self._transport.__aenter__()
        frame = getattr(getattr(self._transport, "gen", None), "ag_frame", None)
        if frame is not None:
            self.process = frame.f_locals.get("process")
        return streams

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        return await self._transport.__aexit__(*exc_info)

    @property
    def pid(self) -> int | None:
        return getattr(self.process, "pid", None)

    @property
    def returncode(self) -> int | None:
        return getattr(self.process, "returncode", None)
