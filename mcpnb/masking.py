"""Keeping secrets out of everything a person sees or saves.

Header values and environment values given to a connection are secrets: API
keys and bearer tokens travel that way. They must never appear in a repr, an
error message, a log line or a saved notebook. Two tools do that:

- ``mask_mapping`` shows a mapping with every value replaced by ``***``;
- ``Redactor`` remembers the secret values of one connection and replaces any
  occurrence of them in free text (a server's stderr, an error message from
  the SDK, a URL) with ``***``.

URLs get their own treatment (``mask_url``): a password in the userinfo and
query parameters whose names look like credentials are masked.

Log records are the third way out: the SDK and httpx2 log request URLs and
endpoints (with any token in them) once a person turns logging on. Every
connection registers its secrets with ``register_secrets``, and a log-record
factory installed once scrubs them from each record's message and traceback,
whichever logger wrote it and whichever handler will print it.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"

# Values shorter than this are not scrubbed from free text: masking "1" or
# "on" everywhere would garble messages and hide nothing worth hiding.
_MIN_SECRET_LENGTH = 4

_CREDENTIAL_NAME = re.compile(r"(key|token|secret|passw|auth|sig|credential|session)", re.IGNORECASE)


def mask_mapping(values: Mapping[str, object] | None) -> dict[str, str]:
    """The keys of ``values`` with every value shown as ``***``."""
    return {str(key): MASK for key in (values or {})}


def mask_url(url: str, names: Collection[str] = ()) -> str:
    """``url`` with its userinfo password and credential-like query values masked (and the values
    of the query parameters ``names``: an OAuth ``code`` looks like nothing by its name)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        def secret(name: str) -> bool:
            return name in names or bool(_CREDENTIAL_NAME.search(name))

        if any(secret(name) for name, _ in pairs):
            query = urlencode([(n, MASK if secret(n) else v) for n, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def url_secrets(url: str) -> list[str]:
    """The secret parts of ``url`` that ``mask_url`` hides, for a Redactor."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = []
    if parts.password:
        found.append(parts.password)
    elif parts.username and "@" in parts.netloc and ":" not in parts.netloc.rpartition("@")[0]:
        found.append(parts.username)  # a bare token used as userinfo
    found += [v for n, v in parse_qsl(parts.query) if _CREDENTIAL_NAME.search(n)]
    return found


class Redactor:
    """Replaces known secret values in free text with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Remember more secret values (short ones are ignored, see above)."""
        for value in secrets:
            value = str(value)
            if len(value) >= _MIN_SECRET_LENGTH:
                self._secrets.add(value)
                # A bearer header's token alone is as secret as the header.
                for word in value.split():
                    if len(word) >= 8:
                        self._secrets.add(word)
        if self._secrets:
            alternatives = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in alternatives))

    def __call__(self, text: str) -> str:
        """``text`` with every remembered secret replaced by ``***``."""
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)

    def __repr__(self) -> str:
        return f"<Redactor of {len(self._secrets)} secret value(s)>"


def redact_value(value: Any, redact: Callable[[str], str]) -> Any:
    """``value`` (JSON-like: dicts, lists, strings) with ``redact`` applied to every string in it."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {redact(str(k)): redact_value(v, redact) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_value(v, redact) for v in value]
    return value


def mask_known(text: str) -> str:
    """``text`` with every secret of every connection made so far masked."""
    return _everywhere(text)


_everywhere = Redactor()
_install_lock = threading.Lock()
_installed = False


def register_secrets(secrets: Iterable[str]) -> None:
    """Mask these values in every log record from now on (see the module docstring)."""
    global _installed
    secrets = list(secrets)
    if not secrets:
        return
    with _install_lock:
        _everywhere.add(secrets)
        if not _installed:
            _install_log_scrubber()
            _installed = True


def _install_log_scrubber() -> None:
    previous = logging.getLogRecordFactory()

    def scrubbed_record(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging call's problem, not ours
            return record
        clean = _everywhere(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and record.exc_info[1] is not None:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            clean = _everywhere(text)
            if clean != text:
                record.exc_text = clean  # formatters use this instead of re-rendering exc_info
        return record

    logging.setLogRecordFactory(scrubbed_record)
