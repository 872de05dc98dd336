"""Where OAuth tokens are kept between logins: keyring, a private file, or memory.

A login costs a person a trip to the browser, so its result is kept: the
tokens, the expiry, and the client registration that got them (a dynamically
registered client id, its redirect address). Records are keyed by the MCP
server's URL and say which authorization server (issuer) they belong to; the
SDK drops a registration whose issuer no longer matches.

=============  ==================================================================
``storage=``   where
=============  ==================================================================
``"auto"``     the system keyring when the ``keyring`` package is installed and
               has a real backend (Keychain, Credential Locker, Secret Service), else
               ``"file"`` (the default)
``"keyring"``  the system keyring (service ``mcpnb``, one entry per server)
``"file"``     one JSON file per server under ``tokens_dir()``, created 0600 in a
               0700 directory (``$MCPNB_TOKENS_DIR`` or the user data directory)
``"memory"``   this process only: nothing is written (for shared machines)
=============  ==================================================================

``forget(url)`` removes what every persistent backend holds for a server
(``mcpnb.logout`` calls it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Literal, Protocol

from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

__all__ = ["TokenStore", "StorageOption", "STORAGE_CHOICES", "backend", "forget", "tokens_dir", "server_key"]

StorageOption = Literal["auto", "keyring", "file", "memory"]
STORAGE_CHOICES: tuple[str, ...] = ("auto", "keyring", "file", "memory")
_KEYRING_SERVICE = "mcpnb"


def server_key(url: str) -> str:
    """The key a server's record is kept under: its URL without query or fragment."""
    return url.split("#", 1)[0].split("?", 1)[0].rstrip("/")


def tokens_dir() -> Path:
    """The folder of token files: ``$MCPNB_TOKENS_DIR``, else ``<user data dir>/mcpnb/tokens``."""
    if os.environ.get("MCPNB_TOKENS_DIR"):
        return Path(os.environ["MCPNB_TOKENS_DIR"]).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("mcpnb", appauthor=False)) / "tokens"


class Backend(Protocol):
    name: str

    def load(self, key: str) -> dict[str, Any] | None: ...

    def save(self, key: str, record: dict[str, Any]) -> None: ...

    def delete(self, key: str) -> bool: ...


class MemoryBackend:
    """Records in this process only."""

    name = "memory"

    def __init__(self) -> None:
        self._records: dict[str, dict[str, Any]] = {}

    def load(self, key: str) -> dict[str, Any] | None:
        record = self._records.get(key)
        return dict(record) if record is not None else None

    def save(self, key: str, record: dict[str, Any]) -> None:
        self._records[key] = dict(record)

    def delete(self, key: str) -> bool:
        return self._records.pop(key, None) is not None


class FileBackend:
    """One JSON file per server, readable by its owner only."""

    name = "file"

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or tokens_dir()

    def path(self, key: str) -> Path:
        return self.folder / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")

    def load(self, key: str) -> dict[str, Any] | None:
        try:
            record = json.loads(self.path(key).read_text())
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) and record.get("server") == key else None

    def save(self, key: str, record: dict[str, Any]) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)  # mkdir's mode does not apply to a folder that was already there
        path = self.path(key)
        partial = path.with_suffix(".tmp")
        # Created 0600 before any byte is written: no moment where another user could read it.
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump({**record, "server": key}, handle)
        os.replace(partial, path)

    def delete(self, key: str) -> bool:
        try:
            self.path(key).unlink()
            return True
        except FileNotFoundError:
            return False


class KeyringBackend:
    """The system keyring (macOS Keychain, Windows Credential Locker, Secret Service)."""

    name = "keyring"

    def __init__(self) -> None:
        import keyring

        self._keyring = keyring

    def load(self, key: str) -> dict[str, Any] | None:
        text = self._keyring.get_password(_KEYRING_SERVICE, key)
        try:
            return json.loads(text) if text else None
        except ValueError:
            return None

    def save(self, key: str, record: dict[str, Any]) -> None:
        self._keyring.set_password(_KEYRING_SERVICE, key, json.dumps(record))

    def delete(self, key: str) -> bool:
        try:
            self._keyring.delete_password(_KEYRING_SERVICE, key)
            return True
        except Exception:  # keyring.errors.PasswordDeleteError: there was none
            return False


_MEMORY = MemoryBackend()  # one for the process: a reconnect or a second connect finds its tokens


def _system_keyring(strong: bool) -> Any:
    """The keyring's backend, or None where there is none (or, ``strong``, none better than our file:
    keyrings.alt's plaintext file, priority below 1, keeps tokens less carefully than a 0600 file)."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        found = keyring.get_keyring()
    except Exception:  # a broken keyring configuration: as good as none
        return None
    if isinstance(found, fail.Keyring) or (strong and getattr(found, "priority", 0) < 1):
        return None
    return found


def backend(storage: str) -> Backend:
    """The backend ``storage=`` names (see the table above)."""
    if storage == "memory":
        return _MEMORY
    if storage == "file":
        return FileBackend()
    if storage == "keyring":
        return KeyringBackend()
    return KeyringBackend() if _system_keyring(strong=True) is not None else FileBackend()


def forget(url: str) -> list[str]:
    """Remove a server's record from every backend (memory, file, keyring); the names of those that held one."""
    key = server_key(url)
    removed = []
    held: list[Backend] = [_MEMORY, FileBackend()]
    if _system_keyring(strong=False) is not None:
        held.append(KeyringBackend())
    for place in held:
        with contextlib.suppress(Exception):
            if place.delete(key):
                removed.append(place.name)
    return removed


class TokenStore:
    """The SDK's ``TokenStorage`` for one server and one client, over a backend.

    A server's record holds one entry per client (``"registered dynamically"``,
    or a client id given by the caller), so two clients of one server never
    share tokens. The SDK keeps a token's lifetime (``expires_in``) but not the
    moment it was issued, so a token read back after a restart would look valid
    forever and the first request would meet a 401 (and a new login) instead of
    a refresh. The expiry is kept here as a moment (``expires_at``).
    """

    def __init__(self, url: str, place: Backend, client: str | None = None) -> None:
        self.key = server_key(url)
        self.client = client or "registered dynamically"
        self.place = place
        self.expires_at: float | None = None

    def _load(self) -> dict[str, Any]:
        record = self.place.load(self.key) or {}
        entry = (record.get("clients") or {}).get(self.client)
        return entry if isinstance(entry, dict) else {}

    def _update(self, **changes: Any) -> None:
        record = self.place.load(self.key) or {}
        clients = record.setdefault("clients", {})
        clients[self.client] = {**(clients.get(self.client) or {}), **changes}
        self.place.save(self.key, record)

    async def get_tokens(self) -> OAuthToken | None:
        entry = self._load()
        if not entry.get("tokens"):
            return None
        tokens = OAuthToken.model_validate(entry["tokens"])
        self.expires_at = entry.get("expires_at")
        return tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.expires_at = time.time() + tokens.expires_in if tokens.expires_in else None
        self._update(tokens=tokens.model_dump(mode="json", exclude_none=True), expires_at=self.expires_at)

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        entry = self._load()
        if not entry.get("client"):
            return None
        return OAuthClientInformationFull.model_validate(entry["client"])

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self._update(client=client_info.model_dump(mode="json", exclude_none=True))

    def clear(self) -> None:
        """Forget this client's entry (its tokens and registration)."""
        self.expires_at = None
        record = self.place.load(self.key) or {}
        if (record.get("clients") or {}).pop(self.client, None) is not None:
            if record["clients"]:
                self.place.save(self.key, record)
            else:
                self.place.delete(self.key)
