"""Shared fixtures: real servers (stdio, HTTP on 127.0.0.1, in-process), isolated demo data."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

# mcpnb imports jsonschema (a second or more) while a process's first connection opens, not at `import mcpnb`
# (tests/test_imports.py); tests that time a call are about the call, so the suite loads it up front.
import jsonschema  # noqa: F401
import pytest

import mcpnb

HERE = Path(__file__).parent
FAULTY = [sys.executable, str(HERE / "servers" / "faulty.py")]
HELPDESK = [sys.executable, "-m", "mcpnb.demo", "helpdesk"]


@pytest.fixture(scope="session", autouse=True)
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every demo database of the test run lives in one temporary folder."""
    folder = tmp_path_factory.mktemp("demo-data")
    os.environ["MCPNB_DEMO_DIR"] = str(folder)
    subprocess.run([*HELPDESK, "--reset-only"], check=True, capture_output=True)
    return folder


@pytest.fixture(autouse=True)
def close_connections():
    """No test leaves a connection (or a server process) to the next."""
    yield
    mcpnb.close_all()


@pytest.fixture
def helpdesk() -> mcpnb.Server:
    return mcpnb.connect("demo:helpdesk")


@pytest.fixture
def faulty() -> mcpnb.Server:
    return mcpnb.connect(FAULTY, name="faulty")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def http_server(argv: list[str], *, path: str = "/mcp", flag: str = "--http"):
    """Run ``argv --http PORT`` and yield (url, process) once the port answers."""
    port = free_port()
    process = subprocess.Popen([*argv, flag, str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"HTTP server did not start: {process.stderr.read().decode()[-2000:]}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}{path}", process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()


@pytest.fixture
def helpdesk_url():
    with http_server(HELPDESK) as (url, _process):
        yield url


def alive(pid: int | None) -> bool:
    """Whether a process runs (a zombie waiting to be reaped counts as gone)."""
    if pid is None:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def wait_for(condition, seconds: float = 15.0) -> None:
    """Poll until ``condition()`` is true; fail the test after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.03)


def wait_gone(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False
