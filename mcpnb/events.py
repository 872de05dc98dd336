"""What happened on a connection besides the person's own calls: the events store.

One ``Events`` per ``Server``, kept across reconnects, holds the last
``KEEP_EVENTS`` of each of:

- activity: list changes, resource updates, the server's questions and their
  answers, roots sent, subscriptions (``record(kind, summary)``);
- log messages the server sent, at or above the connection's level
  (``log(level, logger, data)``; some servers send every level whatever the
  client asked, so the level is applied here too). They are kept by size as
  well as by count: a message longer than ``MAX_LOG_CHARS`` keeps its start
  and says how long it was, and the oldest go once all of them together pass
  ``MAX_LOGS_CHARS``;
- notifications, as the SDK delivered them.

Views follow it with ``watch(fn)``: ``fn(kind)`` is called after each new
event (on mcpnb's loop, so it must hand real work elsewhere). This module
imports nothing from the rest of mcpnb, so anything may use it.
"""

from __future__ import annotations

import collections
import json
import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Events", "LOG_LEVELS", "severity", "cut", "KEEP_EVENTS"]

# Log messages, activity rows and notifications kept per connection.
KEEP_EVENTS = 1000
# The most of one log message kept, and of all of them together (characters).
MAX_LOG_CHARS = 16_384
MAX_LOGS_CHARS = 4_000_000
# The most of one activity summary kept (characters).
MAX_SUMMARY_CHARS = 300
# The syslog severities MCP uses, least severe first.
LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")

logger = logging.getLogger("mcpnb")

Watcher = Callable[[str], None]


def severity(level: str) -> int:
    """A level's rank in ``LOG_LEVELS``; an unknown level ranks above all (it is kept)."""
    return LOG_LEVELS.index(level) if level in LOG_LEVELS else len(LOG_LEVELS)


def cut(text: str, limit: int) -> str:
    """``text`` if short enough, else its start and how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… (cut: {len(text):,} characters in all)"


class Events:
    """The activity, log messages and notifications of one connection, newest last."""

    def __init__(self, log_level: str | None = "info", keep: int = KEEP_EVENTS,
                 redact: Callable[[str], str] = str) -> None:
        self.log_level = log_level  # the least severe message kept; None keeps none
        self.redact = redact  # masks secrets in every text kept (a server may repeat one back)
        self._activity: collections.deque[tuple[datetime, str, str]] = collections.deque(maxlen=keep)
        self._logs: collections.deque[tuple[datetime, str, str | None, str]] = collections.deque(maxlen=keep)
        self._logs_chars = 0
        self.notifications: collections.deque[Any] = collections.deque(maxlen=keep)
        self._watchers: list[Watcher] = []

    # -- adding -------------------------------------------------------------------------

    def record(self, kind: str, summary: str) -> None:
        """Note an event for ``activity`` (and every watcher)."""
        self._activity.append((datetime.now(timezone.utc), kind, cut(self.redact(summary), MAX_SUMMARY_CHARS)))
        self._changed(kind)

    def log(self, level: str, logger_name: str | None, data: Any) -> bool:
        """Keep a log message if it is at or above the level; say whether it was kept."""
        if self.log_level is None or severity(self.log_level) > severity(level):
            return False
        text = cut(self.redact(data if isinstance(data, str) else json.dumps(data, default=str)), MAX_LOG_CHARS)
        logger_name = self.redact(logger_name) if logger_name else logger_name
        if len(self._logs) == self._logs.maxlen:
            self._logs_chars -= len(self._logs[0][3])
        self._logs.append((datetime.now(timezone.utc), level, logger_name, text))
        self._logs_chars += len(text)
        while self._logs_chars > MAX_LOGS_CHARS and len(self._logs) > 1:
            self._logs_chars -= len(self._logs.popleft()[3])
        self._changed("log")
        return True

    def notify(self, message: Any) -> None:
        """Keep a notification as delivered (watchers hear of what it means through ``record``)."""
        self.notifications.append(message)

    # -- following ----------------------------------------------------------------------

    def watch(self, watcher: Watcher) -> None:
        """Call ``watcher(kind)`` after each new event, until ``unwatch``."""
        if watcher not in self._watchers:
            self._watchers.append(watcher)

    def unwatch(self, watcher: Watcher) -> None:
        if watcher in self._watchers:
            self._watchers.remove(watcher)

    def _changed(self, kind: str) -> None:
        for watcher in list(self._watchers):
            try:
                watcher(kind)
            except Exception:  # a broken view must not break the connection
                logger.debug("an event watcher failed", exc_info=True)

    # -- reading ------------------------------------------------------------------------

    def activity(self) -> pd.DataFrame:
        """time, kind, summary: one row per event, oldest first."""
        import pandas as pd

        return pd.DataFrame(list(self._activity), columns=["time", "kind", "summary"])

    def logs(self) -> pd.DataFrame:
        """time, level, logger, message: one row per log message kept, oldest first."""
        import pandas as pd

        rows = [{"time": when, "level": level, "logger": name, "message": text}
                for when, level, name, text in list(self._logs)]
        return pd.DataFrame(rows, columns=["time", "level", "logger", "message"])
