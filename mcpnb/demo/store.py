"""Where a demo system keeps its data: one SQLite file per system, seeded once.

Every demo system is a module with ``NAME``, ``SCHEMA`` (SQL), ``SCHEMA_VERSION``
and ``seed(db)``; this module opens its database, creating and seeding it on
first use (or when the schema version changed, or on ``--reset``). Seeds are
deterministic: the same rows on every machine, so notebooks and tests can say
what they expect to see. Writes persist between runs until a reset.

The files live in ``$MCPNB_DEMO_DIR`` if set, else
``$XDG_DATA_HOME/mcpnb/demo`` (``~/.local/share/mcpnb/demo``).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from types import ModuleType

__all__ = ["data_dir", "database_path", "open_database"]


def data_dir() -> Path:
    if os.environ.get("MCPNB_DEMO_DIR"):
        return Path(os.environ["MCPNB_DEMO_DIR"]).expanduser()
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "mcpnb" / "demo"


def database_path(system: ModuleType) -> Path:
    return data_dir() / f"{system.NAME}.sqlite"


def open_database(system: ModuleType, path: Path | None = None, *, reset: bool = False) -> sqlite3.Connection:
    """The system's database, seeded if new, outdated or ``reset``."""
    path = path or database_path(system)
    path.parent.mkdir(parents=True, exist_ok=True)
    if reset:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA busy_timeout=5000")
    db.execute("PRAGMA foreign_keys=OFF")  # no effect inside a transaction: set around it
    # One process seeds; another starting at the same moment waits here, then sees it done.
    db.execute("BEGIN IMMEDIATE")
    try:
        if db.execute("PRAGMA user_version").fetchone()[0] != system.SCHEMA_VERSION:
            tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for table in tables:
                db.execute(f'DROP TABLE IF EXISTS "{table}"')
            for statement in system.SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            system.seed(db)
            db.execute(f"PRAGMA user_version={int(system.SCHEMA_VERSION)}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("PRAGMA foreign_keys=ON")
    return db
