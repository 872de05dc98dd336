"""Authorization (OAuth) against the bundled demo authorization server, over real HTTP on 127.0.0.1.

The person's part in the browser is played by ``Browser``: it opens the
sign-in page the flow sends it to, submits the form, and returns the address
the browser was sent back to, as ``authorize=`` expects. The loopback
listener, the paste-back field and a real browser are tested in test_kernel.py
and test_browser.py.
"""

from __future__ import annotations

import json
import re
import socket
import stat
import sys
import time
import webbrowser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

import mcpnb
from mcpnb.demo.authserver import running, sign_in


class Browser:
    """Signs in (or denies) on the demo's login page; remembers each authorization URL it was sent to."""

    def __init__(self, *, deny: bool = False, wait: float = 0.0) -> None:
        self.deny, self.wait = deny, wait
        self.visits: list[str] = []

    def __call__(self, url: str) -> str:
        self.visits.append(url)
        time.sleep(self.wait)
        return sign_in(url, deny=self.deny)


@pytest.fixture(scope="module")
def demo():
    with running("helpdesk", token_lifetime=300) as server:
        yield server.credentials


@pytest.fixture
def tokens_dir(tmp_path, monkeypatch):
    folder = tmp_path / "tokens"
    monkeypatch.setenv("MCPNB_TOKENS_DIR", str(folder))
    return folder


@pytest.fixture(autouse=True)
def signed_out(request):
    """No sign-in kept in this process's memory passes from one test to the next."""
    yield
    for name in ("demo", "short_lived"):
        if name in request.fixturenames:
            mcpnb.logout(request.getfixturevalue(name).mcp_url)


def secrets_of(folder: Path) -> list[str]:
    """Every token and secret the token files hold (the values that must never show)."""
    found = []
    for path in folder.glob("*.json"):
        for client in json.loads(path.read_text())["clients"].values():
            found += [v for k, v in client.get("tokens", {}).items() if k in ("access_token", "refresh_token")]
            if client.get("client", {}).get("client_secret"):
                found.append(client["client"]["client_secret"])
    return found


def http_steps(server: mcpnb.Server) -> list[str]:
    trace = server.trace
    return trace[trace.kind == "http"]["method"].tolist()


def test_a_protected_server_without_auth_says_so_and_shows_the_challenge(demo):
    with pytest.raises(mcpnb.AuthorizationRequired) as caught:
        mcpnb.connect(demo.mcp_url)
    error = caught.value
    assert error.status == 401 and "resource_metadata" in error.challenge
    text = str(error)
    assert "OAuth-protected" in text
    assert f"resource metadata at {demo.issuer}/.well-known/oauth-protected-resource/mcp" in text
    assert "scopes 'read'" in text and "auth='oauth'" in text
    assert "check the URL" not in text


def test_sign_in_with_the_authorization_code_flow_every_step_in_the_trace(demo, tokens_dir):
    browser = Browser()
    started = time.perf_counter()
    server = mcpnb.connect(demo.mcp_url, auth=mcpnb.OAuth(authorize=browser, storage="file"), name="desk")
    took = time.perf_counter() - started
    print(f"sign-in end to end (authorize= playing the browser): {took:.2f} s")
    assert len(server.tools) > 5
    assert http_steps(server) == ["challenge", "resource metadata", "authorization server metadata",
                                  "registration", "authorize", "redirect", "token", "retry"]
    sent = parse_qs(urlsplit(browser.visits[0]).query)
    assert sent["code_challenge_method"] == ["S256"] and sent["resource"] == [demo.mcp_url]
    assert sent["redirect_uri"][0].startswith("http://127.0.0.1:")

    status = server.auth
    assert status.method == "OAuth authorization code (PKCE)" and status.scopes == ("read",)
    assert status.issuer == demo.issuer and status.storage == "file" and status.signed_in
    assert 250 < (status.expires.timestamp() - time.time()) <= 300
    assert "expires" in repr(status) and "issuer" in repr(status)

    # Masked everywhere a person looks: the trace, reprs, the activity, the token file's neighbours.
    hidden = secrets_of(tokens_dir)
    assert len(hidden) >= 2
    trace = server.trace
    shown = trace.to_json(date_format="iso") + repr(server) + repr(status) + server.activity.to_json(date_format="iso") + repr(server.options)
    token_step = trace[trace.method == "token"].iloc[0]["message"]
    assert token_step["request_body"]["code"] == "***" and token_step["request_body"]["code_verifier"] == "***"
    assert token_step["response_body"]["access_token"] == "***"
    assert trace[trace.method == "redirect"].iloc[0]["summary"].count("code=***") == 1
    for secret in hidden:
        assert secret not in shown


def test_tokens_are_kept_in_a_private_file_and_reused(demo, tokens_dir):
    browser = Browser()
    first = mcpnb.connect(demo.mcp_url, auth=mcpnb.OAuth(authorize=browser, storage="file"), name="one")
    first.close()
    files = list(tokens_dir.glob("*.json"))
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(tokens_dir.stat().st_mode) == 0o700
    again = mcpnb.connect(demo.mcp_url, auth=mcpnb.OAuth(authorize=browser, storage="file"), name="two")
    assert len(again.tools) > 5
    assert len(browser.visits) == 1  # no second sign-in
    assert http_steps(again) == []  # the stored token was good: no challenge at all

    signed_out = mcpnb.logout(demo.mcp_url)
    assert signed_out.storage == ("file",) and signed_out.connections == ("two",)
    assert not list(tokens_dir.glob("*.json"))
    again.refresh()
    assert len(again.tools) > 5  # the open connection signed in again, on its own
    assert len(browser.visits) == 2 and "challenge" in http_steps(again)


def test_memory_storage_writes_nothing(demo, tokens_dir):
    server = mcpnb.connect(demo.mcp_url, auth=mcpnb.OAuth(authorize=Browser(), storage="memory"))
    assert server.auth.storage == "memory" and len(server.tools) > 5
    assert not tokens_dir.exists()


@pytest.fixture(scope="module")
def short_lived():
    with running("helpdesk", token_lifetime=2) as server:
        yield server.credentials


def test_an_expired_token_is_refreshed_not_signed_in_again(short_lived, tokens_dir):
    browser = Browser()
    server = mcpnb.connect(short_lived.mcp_url, auth=mcpnb.OAuth(authorize=browser, storage="file"))
    before = server.auth.expires
    time.sleep(2.2)
    server.refresh()
    assert len(server.tools) > 5
    assert http_steps(server)[-1] == "refresh" and len(browser.visits) == 1
    assert server.auth.expires > before
    # A new connection after the stored token expired refreshes it too (the expiry is stored as a moment).
    server.close()
    time.sleep(2.2)
    again = mcpnb.connect(short_lived.mcp_url, auth=mcpnb.OAuth(authorize=browser, storage="file"), name="again")
    assert http_steps(again) == ["refresh"] and len(browser.visits) == 1


def test_a_tool_that_needs_more_scope_steps_up(demo):
    browser = Browser()
    server = mcpnb.connect(demo.mcp_url, auth=mcpnb.OAuth(authorize=browser, storage="memory"),
                           elicitation="decline")
    assert server.auth.scopes == ("read",)
    result = server.call("refund_order", order_id=1, reason="step-up")
    assert "not refunded" in result.text  # it ran (and asked, and was declined): the 403 was passed
    assert "step-up challenge" in http_steps(server)
    assert parse_qs(urlsplit(browser.visits[1]).query)["scope"] == ["read write"]
    assert server.auth.scopes == ("read", "write")


def test_client_credentials_with_a_secret_and_with_a_private_key(demo):
    robot = mcpnb.connect(demo.mcp_url, auth=mcpnb.ClientCredentials("demo-robot", client_secret=demo.client_secret,
                                                                       issuer=demo.issuer), name="robot")
    assert robot.auth.method == "OAuth client credentials (client secret)" and len(robot.tools) > 5
    assert http_steps(robot)[:4] == ["challenge", "resource metadata", "authorization server metadata",
                                     "client credentials"]
    assert demo.client_secret not in robot.trace.to_json(date_format="iso") + repr(robot.options)
    keyed = mcpnb.connect(demo.mcp_url, auth=mcpnb.ClientCredentials("demo-robot-jwt", private_key=demo.jwt_key_file),
                          name="keyed")
    assert keyed.auth.method == "OAuth client credentials (private key JWT)" and len(keyed.tools) > 5
    step = keyed.trace[keyed.trace.method == "client credentials"].iloc[0]["message"]
    assert step["request_body"]["client_assertion"] == "***"
    assert "BEGIN" not in repr(keyed.options) and "***" in repr(keyed.options)


def test_a_failed_sign_in_names_its_step_and_leaves_nothing_open(demo):
    with pytest.raises(mcpnb.AuthorizationFailed) as caught:
        mcpnb.connect(demo.mcp_url, auth=mcpnb.ClientCredentials("demo-robot", client_secret="wrong-secret"))
    assert caught.value.step == "client credentials"
    assert "invalid_client" in str(caught.value) and "wrong-secret" not in str(caught.value)

    with pytest.raises(mcpnb.AuthorizationFailed) as caught:
        mcpnb.connect(demo.mcp_url, auth=mcpnb.OAuth(authorize=Browser(deny=True), storage="memory"))
    assert caught.value.step == "authorize" and "refused" in str(caught.value)

    def wrong_state(url: str) -> str:
        back = sign_in(url)
        return re.sub(r"state=[^&]+", "state=forged", back)

    with pytest.raises(mcpnb.AuthorizationFailed) as caught:
        mcpnb.connect(demo.mcp_url, auth=mcpnb.OAuth(authorize=wrong_state, storage="memory"))
    assert caught.value.step == "redirect" and "state" in str(caught.value)
    assert mcpnb.servers() == {}


def test_the_person_s_time_does_not_count_against_connect_timeout(demo):
    slow = Browser(wait=2.0)
    server = mcpnb.connect(demo.mcp_url, auth=mcpnb.OAuth(authorize=slow, storage="memory"), connect_timeout=1)
    assert len(server.tools) > 5


def test_auth_options_are_checked_before_anything_starts(demo):
    with pytest.raises(mcpnb.ConfigError, match="remote servers"):
        mcpnb.connect("demo:helpdesk", auth="oauth")
    with pytest.raises(mcpnb.ConfigError, match="exactly one of"):
        mcpnb.ClientCredentials("robot")
    with pytest.raises(mcpnb.ConfigError, match="Unknown token storage"):
        mcpnb.OAuth(storage="cloud")
    assert repr(mcpnb.OAuth(client_id="app", client_secret="s3cr3t-value")) == \
        "OAuth(client_id='app', client_secret='***')"


def test_an_mcp_servers_entry_may_say_auth(demo, tmp_path, monkeypatch):
    monkeypatch.setenv("ROBOT_SECRET", demo.client_secret)
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {
        "desk": {"url": demo.mcp_url, "auth": {"type": "client_credentials", "client_id": "demo-robot",
                                               "client_secret": "${ROBOT_SECRET}"}}}}))
    server = mcpnb.connect("desk", config=str(config))
    assert server.auth.method.startswith("OAuth client credentials") and len(server.tools) > 5


def test_the_loopback_listener_hears_the_browser_and_closes(demo, tmp_path, monkeypatch):
    """No authorize=: the browser is opened (here a script named by $BROWSER that signs in and follows
    the redirect, as a browser would) and the listener on 127.0.0.1 hears it come back."""
    script = tmp_path / "browser.py"
    script.write_text(
        "import sys, httpx2\n"
        "from mcpnb.demo.authserver import sign_in\n"
        "back = sign_in(sys.argv[1])\n"
        "page = httpx2.get(back)\n"
        f"open({str(tmp_path / 'page.html')!r}, 'w').write(page.text)\n")
    monkeypatch.setenv("BROWSER", f"{sys.executable} {script} %s")
    monkeypatch.setattr(webbrowser, "_tryorder", None)  # webbrowser reads $BROWSER once per process
    server = mcpnb.connect(demo.mcp_url, auth=mcpnb.OAuth(storage="memory"), connect_timeout=60)
    assert len(server.tools) > 5
    assert "Signed in to" in (tmp_path / "page.html").read_text()
    trace = server.trace
    port = urlsplit(trace[trace.method == "redirect"].iloc[0]["message"]["url"]).port
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass  # nothing listens there any more


def test_a_registered_client_uses_the_auth_method_the_server_offers(demo):
    redirect = "http://127.0.0.1:8765/callback"
    registered = httpx2.post(f"{demo.issuer}/register", json={
        "redirect_uris": [redirect], "client_name": "a registered notebook", "scope": "read write",
        "grant_types": ["authorization_code", "refresh_token"], "token_endpoint_auth_method": "client_secret_basic",
    }).json()
    server = mcpnb.connect(demo.mcp_url, auth=mcpnb.OAuth(
        client_id=registered["client_id"], client_secret=registered["client_secret"], redirect_uri=redirect,
        authorize=Browser(), storage="memory"))
    assert len(server.tools) > 5
    steps = http_steps(server)
    assert "registration" not in steps and "token" in steps
    token = server.trace[server.trace.method == "token"].iloc[0]["message"]
    assert token["request_headers"]["authorization"] == "Basic ***"  # offered first in the metadata
    assert registered["client_secret"] not in server.trace.to_json(date_format="iso")


def test_any_httpx_auth_is_passed_through(demo):
    class StaticBearer(httpx2.Auth):
        def __init__(self, token: str) -> None:
            self.token = token

        def auth_flow(self, request):
            request.headers["Authorization"] = f"Bearer {self.token}"
            yield request

    token = httpx2.post(f"{demo.issuer}/token", data={"grant_type": "client_credentials"},
                        auth=("demo-robot", demo.client_secret)).json()["access_token"]
    server = mcpnb.connect(demo.mcp_url, auth=StaticBearer(token))
    assert len(server.tools) > 5
    assert server.auth.method == "httpx auth: StaticBearer" and http_steps(server) == []


def test_tokens_are_refreshed_a_little_before_they_expire(demo):
    """A tenth of the lifetime ahead (at most a minute): checked on the provider itself, without waiting."""
    server = mcpnb.connect(demo.mcp_url, auth=mcpnb.OAuth(authorize=Browser(), storage="memory"))
    provider = server.session.authorization.provider
    lifetime = provider.context.current_tokens.expires_in
    provider.context.token_expiry_time = time.time() + lifetime * 0.05  # inside the last tenth
    server.refresh()
    assert len(server.tools) > 5  # a request, with a token still valid for 15 s
    assert http_steps(server)[-1] == "refresh"
    assert provider.context.token_expiry_time > time.time() + lifetime * 0.9


def test_no_secret_reaches_a_log_record(demo, tokens_dir):
    import logging

    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep(level=logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    before = root.level
    root.setLevel(logging.DEBUG)
    try:
        server = mcpnb.connect(demo.mcp_url, auth=mcpnb.OAuth(authorize=Browser(), storage="file"))
        server.call("list_orders", status="paid", limit=1)
    finally:
        root.removeHandler(handler)
        root.setLevel(before)
    text = "\n".join(records)
    assert "HTTP Request" in text or "POST" in text  # the loggers did talk
    for secret in secrets_of(tokens_dir):
        assert secret not in text


def test_the_explorer_s_server_tab_lists_the_sign_in_steps(demo):
    server = mcpnb.connect(demo.mcp_url, auth=mcpnb.OAuth(authorize=Browser(), storage="memory"))
    page = mcpnb.render.server(server)
    assert "sign-in steps" in page and "authorization server metadata" in page
    assert "OAuth authorization code (PKCE), scopes read" in page
    assert "code=***" in page and "&amp;state=" in page  # escaped, the code masked


def test_tokens_in_a_keyring(demo, tmp_path, monkeypatch):
    """storage="keyring" with a real keyring backend (keyrings.alt's file, in a temporary folder; a
    desktop has Keychain, Credential Locker or Secret Service instead). "auto" does not choose that
    plaintext backend: a 0600 file of ours keeps tokens more carefully."""
    import keyring
    from keyrings.alt.file import PlaintextKeyring

    from mcpnb import tokens

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setenv("MCPNB_TOKENS_DIR", str(tmp_path / "tokens"))
    previous = keyring.get_keyring()
    keyring.set_keyring(PlaintextKeyring())
    try:
        assert tokens.backend("auto").name == "file"
        browser = Browser()
        first = mcpnb.connect(demo.mcp_url, auth=mcpnb.OAuth(authorize=browser, storage="keyring"), name="kept")
        assert first.auth.storage == "keyring" and len(first.tools) > 5
        stored = keyring.get_password("mcpnb", demo.mcp_url)
        assert stored and "access_token" in stored and not (tmp_path / "tokens").exists()
        first.close()
        again = mcpnb.connect(demo.mcp_url, auth=mcpnb.OAuth(authorize=browser, storage="keyring"), name="again")
        assert len(again.tools) > 5 and len(browser.visits) == 1
        assert mcpnb.logout(demo.mcp_url).storage == ("keyring",)
        assert keyring.get_password("mcpnb", demo.mcp_url) is None
    finally:
        keyring.set_keyring(previous)
