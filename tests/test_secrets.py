"""Header and env values are secrets: never in a repr, an error, stderr or a log line (item 8)."""

from __future__ import annotations

import logging
import sys

import pytest

import mcpnb

from .conftest import FAULTY, http_server

TOKEN = "not-a-real-token-42"  # made up: the tests check it never shows
BEARER = "Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQ"


def test_env_values_never_show(caplog):
    caplog.set_level(logging.DEBUG)
    server = mcpnb.connect(FAULTY, name="faulty", env={"HELPDESK_TOKEN": TOKEN, "REGION": "eu"})
    assert server.call("print_env", name="HELPDESK_TOKEN").text == "set"  # the server did get it
    for shown in (repr(server), server.target.describe(), repr(server.info), server.stderr):
        assert TOKEN not in shown
    assert "HELPDESK_TOKEN=***" in server.stderr
    assert "env={'HELPDESK_TOKEN': '***', 'REGION': '***'}" in repr(server)
    with pytest.raises(mcpnb.ConnectionLost) as caught:
        server.call("crash")
    assert TOKEN not in str(caught.value) and TOKEN not in caught.value.stderr
    assert TOKEN not in caplog.text


def test_secret_in_a_failing_start_is_masked():
    with pytest.raises(mcpnb.ServerStartError) as caught:
        mcpnb.connect(["sh", "-c", 'echo "cannot log in with $API_KEY" >&2; exit 2'], name="login",
                      env={"API_KEY": TOKEN})
    assert "cannot log in with ***" in str(caught.value)
    assert TOKEN not in str(caught.value) and TOKEN not in caught.value.stderr


def test_headers_and_url_credentials_never_show(caplog):
    caplog.set_level(logging.DEBUG)
    with http_server(FAULTY) as (url, _):
        server = mcpnb.connect(f"{url}?api_key={TOKEN}", name="remote", headers={"Authorization": BEARER})
        assert server.call("echo", text="hi").text == "hi"
        shown = repr(server) + server.target.describe() + repr(server.info)
        assert TOKEN not in shown and "eyJhbGciOiJIUzI1NiJ9" not in shown
        assert "headers={'Authorization': '***'}" in shown and "api_key=***" in shown
        server.close()
    with pytest.raises(mcpnb.ConnectError) as caught:
        mcpnb.connect(f"http://user:{TOKEN}@127.0.0.1:9/mcp", headers={"Authorization": BEARER}, connect_timeout=10)
    assert TOKEN not in str(caught.value) and "eyJhbGciOiJIUzI1NiJ9" not in str(caught.value)
    assert "user:***@127.0.0.1:9" in str(caught.value)
    assert TOKEN not in caplog.text and "eyJhbGciOiJIUzI1NiJ9" not in caplog.text


def test_the_lint_command_line_masks_the_secrets_of_its_target():
    """What `python -m mcpnb lint` prints goes into CI logs: a URL's key is masked there too."""
    import subprocess

    run = subprocess.run([sys.executable, "-m", "mcpnb", "lint", "http://127.0.0.1:9/mcp?api_key=SECRETVALUE123"],
                         capture_output=True, text=True, timeout=90)
    assert run.returncode == 2 and "could not lint http://127.0.0.1:9/mcp?api_key=***" in run.stderr
    assert "SECRETVALUE123" not in run.stderr + run.stdout
