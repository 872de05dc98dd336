"""The demo authorization server (``python -m mcpnb.demo NAME --http PORT --auth``), from the server side.

One real server for the module; plain HTTP requests play the client, so each OAuth
rule is checked on the wire rather than through a client library's interpretation.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import secrets
import stat
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx2
import jwt
import pytest

from mcpnb.demo import authserver
from mcpnb.demo.authserver import Credentials

from .conftest import HELPDESK, http_server

REDIRECT_URI = "http://localhost:9/callback"
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                         "clientInfo": {"name": "test_demo_auth", "version": "0"}}}


def prm_url(demo: Credentials) -> str:
    return f"{demo.issuer}/.well-known/oauth-protected-resource/mcp"


def read_banner(process) -> dict[str, str]:
    """The ``  key: value`` lines printed at start, up to the last one (token_lifetime)."""
    fields: dict[str, str] = {}
    while "token_lifetime" not in fields:
        line = process.stderr.readline().decode()
        assert line, f"the server ended its start-up lines early: {fields}"
        if match := re.match(r"^  (\w+): (.*)$", line.rstrip("\n")):
            fields[match[1]] = match[2]
    return fields


@pytest.fixture(scope="module")
def demo(demo_data) -> Credentials:
    """The demo as a subprocess, its credentials read from the lines it prints at start."""
    with http_server([*HELPDESK, "--auth"]) as (url, process):
        fields = read_banner(process)
        key_file = Path(fields["jwt_key_file"])
        yield Credentials(mcp_url=url, issuer=fields["issuer"], user=fields["user"], password=fields["password"],
                          client_id=fields["client_id"], client_secret=fields["client_secret"],
                          jwt_client_id=fields["jwt_client_id"], jwt_key_file=key_file,
                          jwt_private_key=key_file.read_text(), token_lifetime=int(fields["token_lifetime"]))


@pytest.fixture(scope="module")
def http() -> httpx2.Client:
    with httpx2.Client(timeout=30, follow_redirects=False) as client:
        yield client


def robot_token(demo: Credentials, http: httpx2.Client, scope: str | None = None) -> dict:
    data = {"grant_type": "client_credentials", "resource": demo.mcp_url, **({"scope": scope} if scope else {})}
    response = http.post(f"{demo.issuer}/token", data=data, auth=(demo.client_id, demo.client_secret))
    assert response.status_code == 200, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {**ACCEPT, "Authorization": f"Bearer {token}"}


def register(demo: Credentials, http: httpx2.Client, name: str = "test client") -> dict:
    response = http.post(f"{demo.issuer}/register", json={
        "redirect_uris": [REDIRECT_URI], "client_name": name, "token_endpoint_auth_method": "client_secret_post"})
    assert response.status_code == 201, response.text
    return response.json()


def start_sign_in(demo: Credentials, http: httpx2.Client, client: dict, scope: str = "read") -> tuple[str, str, str]:
    """/authorize with PKCE: (the login page URL, the code verifier, the state)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    state = secrets.token_urlsafe(8)
    response = http.get(f"{demo.issuer}/authorize", params={
        "response_type": "code", "client_id": client["client_id"], "redirect_uri": REDIRECT_URI, "state": state,
        "code_challenge": challenge, "code_challenge_method": "S256", "scope": scope, "resource": demo.mcp_url})
    assert response.status_code == 302, response.text
    login = response.headers["location"]
    assert login.startswith(f"{demo.issuer}/login?request=")
    return login, verifier, state


def login_form(login_url: str, **fields: str) -> dict[str, str]:
    return {"request": parse_qs(urlparse(login_url).query)["request"][0], **fields}


def initialize(demo: Credentials, http: httpx2.Client, token: str) -> httpx2.Response:
    return http.post(demo.mcp_url, json=INITIALIZE, headers=bearer(token))


def test_without_a_token_the_mcp_endpoint_answers_401_naming_its_metadata(demo, http):
    response = http.post(demo.mcp_url, json=INITIALIZE, headers=ACCEPT)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'resource_metadata="{prm_url(demo)}"' in challenge
    assert 'scope="read"' in challenge  # least privilege first: clients ask for what the 401 names

    assert initialize(demo, http, "not-a-token").status_code == 401


def test_protected_resource_metadata(demo, http):
    metadata = http.get(prm_url(demo)).json()
    assert metadata["resource"] == demo.mcp_url
    assert metadata["authorization_servers"] == [demo.issuer]
    assert metadata["scopes_supported"] == ["read", "write"]


def test_authorization_server_metadata(demo, http):
    metadata = http.get(f"{demo.issuer}/.well-known/oauth-authorization-server").json()
    assert metadata["issuer"] == demo.issuer == demo.mcp_url.removesuffix("/mcp")
    for endpoint in ("authorize", "token", "register", "revoke"):
        assert f"{demo.issuer}/{endpoint}" in metadata.values()
    assert {"authorization_code", "refresh_token", "client_credentials"} <= set(metadata["grant_types_supported"])
    assert {"client_secret_basic", "client_secret_post", "private_key_jwt"} <= set(
        metadata["token_endpoint_auth_methods_supported"])
    assert metadata["token_endpoint_auth_signing_alg_values_supported"] == ["ES256"]
    assert metadata["scopes_supported"] == ["read", "write"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["authorization_response_iss_parameter_supported"] is True


def test_the_login_page_escapes_what_the_client_registered(demo, http):
    client = register(demo, http, name='<script>alert("x")</script> & Co')
    login, _, _ = start_sign_in(demo, http, client, scope="read write")
    page = http.get(login)
    assert page.status_code == 200
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in page.text
    assert "<script>" not in page.text
    assert 'type="password"' in page.text and "Sign in" in page.text and "Deny" in page.text
    assert "<b>read</b>" in page.text and "<b>write</b>" in page.text  # which scopes it asks for


def test_sign_in_wrong_password_then_right_one_code_token_and_refresh(demo, http):
    client = register(demo, http)
    login, verifier, state = start_sign_in(demo, http, client)

    wrong = http.post(f"{demo.issuer}/login", data=login_form(login, user=demo.user, password="nope",
                                                              action="sign-in"))
    assert wrong.status_code == 401
    assert "Wrong user name or password" in wrong.text and 'type="password"' in wrong.text

    right = http.post(f"{demo.issuer}/login", data=login_form(login, user=demo.user, password=demo.password,
                                                              action="sign-in"))
    assert right.status_code == 302
    back = urlparse(right.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == REDIRECT_URI
    query = parse_qs(back.query)
    assert query["state"] == [state] and query["iss"] == [demo.issuer]

    exchange = {"grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": REDIRECT_URI,
                "client_id": client["client_id"], "client_secret": client["client_secret"],
                "code_verifier": verifier, "resource": demo.mcp_url}
    tokens = http.post(f"{demo.issuer}/token", data=exchange)
    assert tokens.status_code == 200, tokens.text
    tokens = tokens.json()
    assert tokens["scope"] == "read" and tokens["expires_in"] == demo.token_lifetime and tokens["refresh_token"]
    assert initialize(demo, http, tokens["access_token"]).status_code == 200

    again = http.post(f"{demo.issuer}/token", data=exchange)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"  # a code works once

    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
               "client_id": client["client_id"], "client_secret": client["client_secret"]}
    renewed = http.post(f"{demo.issuer}/token", data=refresh)
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["refresh_token"] != tokens["refresh_token"]
    assert initialize(demo, http, renewed.json()["access_token"]).status_code == 200
    assert initialize(demo, http, tokens["access_token"]).status_code == 401  # the old pair went with it
    reused = http.post(f"{demo.issuer}/token", data=refresh)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"  # rotated


def test_deny_sends_access_denied_back_and_unknown_requests_are_400(demo, http):
    client = register(demo, http)
    login, _, state = start_sign_in(demo, http, client)
    denied = http.post(f"{demo.issuer}/login", data=login_form(login, action="deny"))
    assert denied.status_code == 302
    query = parse_qs(urlparse(denied.headers["location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == [state]

    assert http.get(login).status_code == 400  # answered: gone
    unknown = http.get(f"{demo.issuer}/login", params={"request": "<nothing>"})
    assert unknown.status_code == 400 and "<nothing>" not in unknown.text


@pytest.mark.parametrize("how", ["basic", "post"])
def test_client_credentials_with_a_wrong_secret_is_invalid_client(demo, http, how):
    data = {"grant_type": "client_credentials"}
    if how == "basic":
        response = http.post(f"{demo.issuer}/token", data=data, auth=(demo.client_id, "wrong"))
    else:
        response = http.post(f"{demo.issuer}/token",
                             data={**data, "client_id": demo.client_id, "client_secret": "wrong"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_client_credentials_token_opens_the_mcp_endpoint(demo, http):
    token = robot_token(demo, http)
    assert token["token_type"] == "Bearer" and token["scope"] == "read" and "refresh_token" not in token
    assert initialize(demo, http, token["access_token"]).status_code == 200

    posted = http.post(f"{demo.issuer}/token", data={"grant_type": "client_credentials", "scope": "read write admin",
                                                     "client_id": demo.client_id,
                                                     "client_secret": demo.client_secret})
    assert posted.status_code == 200 and posted.json()["scope"] == "read write"  # requested ∩ valid


def test_tokens_are_only_for_this_resource(demo, http):
    response = http.post(f"{demo.issuer}/token", auth=(demo.client_id, demo.client_secret),
                         data={"grant_type": "client_credentials", "resource": "http://elsewhere.example/mcp"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"


def test_private_key_jwt(demo, http):
    assert stat.S_IMODE(demo.jwt_key_file.stat().st_mode) == 0o600
    key = demo.jwt_key_file.read_text()

    def assertion(**claims) -> str:
        now = int(time.time())
        return jwt.encode({"iss": demo.jwt_client_id, "sub": demo.jwt_client_id, "aud": demo.issuer,
                           "exp": now + 60, "iat": now, "jti": secrets.token_hex(8), **claims}, key, algorithm="ES256")

    def token_request(signed: str) -> httpx2.Response:
        return http.post(f"{demo.issuer}/token", data={
            "grant_type": "client_credentials", "client_assertion": signed,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"})

    good = assertion()
    response = token_request(good)
    assert response.status_code == 200, response.text
    assert initialize(demo, http, response.json()["access_token"]).status_code == 200
    assert token_request(assertion(aud=f"{demo.issuer}/token")).status_code == 200  # the token endpoint too

    assert token_request(good).status_code == 401  # replayed (same jti)
    for bad in (assertion(aud="http://elsewhere.example"), assertion(exp=int(time.time()) - 5),
                assertion(sub="someone-else"), good[:-4] + "AAAA"):
        refused = token_request(bad)
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_client", refused.text


def test_an_expired_access_token_keeps_its_refresh_token(demo_data, http):
    """In process (``authserver.running``): expire a token by hand instead of waiting for it."""
    with authserver.running("helpdesk") as served:
        local = c = served.credentials
        client = register(local, http)
        login, verifier, _ = start_sign_in(local, http, client)
        signed_in = http.post(f"{local.issuer}/login", data=login_form(login, user=c.user, password=c.password,
                                                                       action="sign-in"))
        code = parse_qs(urlparse(signed_in.headers["location"]).query)["code"][0]
        tokens = http.post(f"{local.issuer}/token", data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
            "client_id": client["client_id"], "client_secret": client["client_secret"], "code_verifier": verifier,
            "resource": local.mcp_url}).json()

        def expire_and_refresh(tokens: dict, *, swept: bool) -> dict:
            access = asyncio.run(served.provider.load_access_token(tokens["access_token"]))
            access.expires_at = int(time.time()) - 1
            if swept:
                robot_token(local, http)  # another issuance sweeps the expired token away
            assert initialize(local, http, tokens["access_token"]).status_code == 401
            renewed = http.post(f"{local.issuer}/token", data={
                "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
                "client_id": client["client_id"], "client_secret": client["client_secret"]})
            assert renewed.status_code == 200, renewed.text
            assert initialize(local, http, renewed.json()["access_token"]).status_code == 200
            return renewed.json()

        expire_and_refresh(expire_and_refresh(tokens, swept=False), swept=True)
    assert not c.jwt_key_file.exists()  # the key pair dies with the server


def test_a_destructive_tool_call_needs_scope_write(demo, http):
    refund = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
              "params": {"name": "refund_order", "arguments": {"order_id": -1, "reason": "test"}}}
    read_only = robot_token(demo, http)["access_token"]
    refused = http.post(demo.mcp_url, json=refund, headers=bearer(read_only))
    assert refused.status_code == 403
    challenge = refused.headers["www-authenticate"]
    assert challenge.startswith('Bearer error="insufficient_scope"')
    assert 'scope="read write"' in challenge and f'resource_metadata="{prm_url(demo)}"' in challenge
    assert 'error_description="' in challenge

    def in_session(token: str, message: dict) -> httpx2.Response:
        opened = initialize(demo, http, token)
        headers = {**bearer(token), "Mcp-Session-Id": opened.headers["mcp-session-id"],
                   "MCP-Protocol-Version": "2025-11-25"}
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert http.post(demo.mcp_url, json=initialized, headers=headers).status_code == 202
        return http.post(demo.mcp_url, json=message, headers=headers)

    lookup = {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
              "params": {"name": "get_order", "arguments": {"order_id": 1}}}
    assert in_session(read_only, lookup).status_code == 200  # reading needs read only

    writer = robot_token(demo, http, scope="read write")["access_token"]
    passed = in_session(writer, refund)  # order -1 does not exist: nothing is refunded
    assert passed.status_code == 200
    assert "There is no order -1" in passed.text
    if passed.headers["content-type"].startswith("application/json"):
        events = [passed.json()]
    else:
        events = [json.loads(line[5:]) for line in passed.text.splitlines() if line.startswith("data:")]
    assert events and events[-1]["result"]["isError"] is True
