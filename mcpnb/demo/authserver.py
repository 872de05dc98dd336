"""A demo OAuth 2.1 authorization server, in the same process as a demo MCP server.

Why: real MCP servers sit behind OAuth, and learning (or testing) the client side of
that needs an authorization server. This one needs no outside identity provider: it
serves ``python -m mcpnb.demo NAME --http PORT --auth`` on 127.0.0.1, with the
issuer ``http://127.0.0.1:PORT`` and the protected resource ``http://127.0.0.1:PORT/mcp``.

It is built from the MCP SDK's own server-side auth parts (metadata, /authorize,
/token, /register and /revoke handlers, the bearer-token middleware) around an
in-memory provider, and adds what the SDK leaves out:

- a login page for the demo user (``ada``, password ``$MCPNB_DEMO_PASSWORD`` or
  ``lovelace-1843``), with Sign in and Deny;
- the client credentials grant for two pre-registered robots: ``demo-robot``
  (a client secret, basic or post) and ``demo-robot-jwt`` (``private_key_jwt``,
  RFC 7523, ES256; its private key is written to a 0600 file in the demo data folder);
- step-up authorization: a ``tools/call`` of a destructive tool needs scope ``write``,
  and a token without it gets 403 ``insufficient_scope`` naming the scopes to ask for.

Everything is in memory and made afresh at each start: tokens, clients, the robot's
secret and key pair. ``running()`` serves it on a background thread for notebooks.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import html
import json
import logging
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode

import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from mcp.server.auth.handlers.metadata import MetadataHandler
from mcp.server.auth.handlers.token import TokenHandler
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import (
    BearerAuthBackend,
    RequireAuthMiddleware,
)
from mcp.server.auth.middleware.client_auth import ClientAuthenticator
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    OAuthAuthorizationServerProvider,
    ProviderTokenVerifier,
    RefreshToken,
    TokenError,
    construct_redirect_uri,
)
from mcp.server.auth.routes import (
    TOKEN_PATH,
    build_metadata,
    build_resource_metadata_url,
    cors_middleware,
    create_auth_routes,
    create_protected_resource_routes,
)
from mcp.server.auth.settings import ClientRegistrationOptions, RevocationOptions
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import (
    DEFAULT_MAX_REQUEST_BODY_SIZE,
    RequestBodyLimitMiddleware,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from pydantic import AnyHttpUrl, ConfigDict, TypeAdapter, ValidationError
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route, request_response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from typing_extensions import Self

__all__ = [
    "sign_in",
    "CLIENT_ASSERTION_TYPE",
    "DEFAULT_PASSWORD",
    "DEFAULT_SCOPES",
    "DEFAULT_TOKEN_LIFETIME",
    "DEMO_USER",
    "JWT_ROBOT_CLIENT_ID",
    "PASSWORD_ENV",
    "ROBOT_CLIENT_ID",
    "VALID_SCOPES",
    "WRITE_SCOPE",
    "Credentials",
    "DemoAuthProvider",
    "DemoAuthServer",
    "destructive_tools",
    "granted_scopes",
    "running",
]

VALID_SCOPES = ("read", "write")
DEFAULT_SCOPES = ("read",)
WRITE_SCOPE = "write"  # what a destructive tool call needs (step-up)
DEMO_USER = "ada"
DEFAULT_PASSWORD = "lovelace-1843"
PASSWORD_ENV = "MCPNB_DEMO_PASSWORD"
ROBOT_CLIENT_ID = "demo-robot"
JWT_ROBOT_CLIENT_ID = "demo-robot-jwt"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_ALGORITHM = "ES256"
DEFAULT_TOKEN_LIFETIME = 300
CODE_LIFETIME = 300  # authorization codes: 5 minutes, used once
LOGIN_LIFETIME = 600  # a pending sign-in request
REFRESH_LIFETIME = 24 * 3600
MAX_LOGIN_ATTEMPTS = 5
LOGIN_PATH = "/login"
MCP_PATH = "/mcp"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

SCOPE_MEANINGS = {"read": "look records up", "write": "change and delete records (destructive tools)"}

# Issuer and resource URLs keep an empty path ("http://127.0.0.1:8000", no slash), as the SDK's
# metadata models print them: the client compares issuers as exact strings (RFC 8414, RFC 9207).
_URL = TypeAdapter(AnyHttpUrl, config=ConfigDict(url_preserve_empty_path=True))
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@dataclass(frozen=True)
class Credentials:
    """What a client needs to reach the demo: printed at start, and handed over by ``running()``."""

    mcp_url: str
    issuer: str
    user: str
    password: str
    client_id: str
    client_secret: str
    jwt_client_id: str
    jwt_key_file: Path
    jwt_private_key: str = field(repr=False)  # the PEM also written to jwt_key_file
    token_lifetime: int = DEFAULT_TOKEN_LIFETIME


@dataclass
class _Login:
    """A sign-in waiting on the login page (between /authorize and the redirect back)."""

    client: OAuthClientInformationFull
    params: AuthorizationParams
    scopes: list[str]
    expires_at: float
    attempts: int = 0


class _ClientAuthFailed(Exception):
    """A token request whose client authentication failed (RFC 6749 §5.2)."""

    def __init__(self, description: str, *, error: str = "invalid_client", status: int = 401, basic: bool = False):
        super().__init__(description)
        self.description, self.error, self.status, self.basic = description, error, status, basic


def _token_error(error: str, description: str, status: int = 400, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=status,
                        headers={**_NO_STORE, **(headers or {})})


def _form_str(form: FormData, key: str) -> str | None:
    value = form.get(key)
    return value if isinstance(value, str) else None


def granted_scopes(requested: Iterable[str] | None, allowed: Iterable[str] = VALID_SCOPES) -> list[str] | None:
    """Requested ∩ allowed, in VALID_SCOPES order; DEFAULT_SCOPES when nothing was asked; None when nothing fits."""
    requested = [s for s in (requested or []) if s]
    if not requested:
        return list(DEFAULT_SCOPES)
    allowed = set(allowed)
    granted = [s for s in VALID_SCOPES if s in requested and s in allowed]
    return granted or None


class DemoAuthProvider(OAuthAuthorizationServerProvider[AuthorizationCode, RefreshToken, AccessToken]):
    """The SDK's provider protocol, in memory, plus the login page and the client credentials grant."""

    def __init__(self, *, issuer: str, resource: str, token_lifetime: int = DEFAULT_TOKEN_LIFETIME,
                 password: str = DEFAULT_PASSWORD, robot_secret: str, jwt_public_key: ec.EllipticCurvePublicKey):
        self.issuer = issuer
        self.resource = resource
        self.token_url = issuer + TOKEN_PATH
        self.token_lifetime = token_lifetime
        self._password = password
        self.clients: dict[str, OAuthClientInformationFull] = {}
        self._jwt_keys: dict[str, ec.EllipticCurvePublicKey] = {JWT_ROBOT_CLIENT_ID: jwt_public_key}
        self._logins: dict[str, _Login] = {}
        self._codes: dict[str, AuthorizationCode] = {}
        self._access: dict[str, AccessToken] = {}
        self._refresh: dict[str, RefreshToken] = {}
        self._paired: dict[str, str] = {}  # access token <-> its refresh token, both ways
        self._seen_jti: dict[str, float] = {}  # client assertions already used, until they expire
        self._sdk_token_handler = TokenHandler(self, ClientAuthenticator(self))
        now = int(time.time())
        common = {"redirect_uris": None, "grant_types": ["client_credentials"], "scope": " ".join(VALID_SCOPES),
                  "client_id_issued_at": now}
        self.clients[ROBOT_CLIENT_ID] = OAuthClientInformationFull(
            client_id=ROBOT_CLIENT_ID, client_name="Demo robot (client secret)", client_secret=robot_secret,
            client_secret_expires_at=0, token_endpoint_auth_method="client_secret_basic", **common)
        self.clients[JWT_ROBOT_CLIENT_ID] = OAuthClientInformationFull(
            client_id=JWT_ROBOT_CLIENT_ID, client_name="Demo robot (private key JWT)",
            token_endpoint_auth_method="private_key_jwt", **common)

    # -- the SDK's provider protocol ----------------------------------------------------

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        # Registered for every valid scope (RFC 7591 lets the server substitute it): a client
        # registers with the scope of its first challenge ("read"), and a later step-up to
        # "read write" must not then fail the registered-scope check at /authorize.
        client_info.scope = " ".join(VALID_SCOPES)
        self.clients[client_info.client_id] = client_info

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        if params.resource is not None and not self.is_own_resource(params.resource):
            raise AuthorizeError("invalid_target", f"This server only issues tokens for {self.resource}")
        scopes = granted_scopes(params.scopes)
        if scopes is None:
            raise AuthorizeError("invalid_scope", f"Valid scopes: {' '.join(VALID_SCOPES)}")
        self._sweep()
        login_id = secrets.token_urlsafe(24)
        self._logins[login_id] = _Login(client, params, scopes, time.time() + LOGIN_LIFETIME)
        return f"{self.issuer}{LOGIN_PATH}?{urlencode({'request': login_id})}"

    async def load_authorization_code(self, client: OAuthClientInformationFull,
                                      authorization_code: str) -> AuthorizationCode | None:
        code = self._codes.get(authorization_code)
        return code if code is not None and code.client_id == client.client_id else None

    async def exchange_authorization_code(self, client: OAuthClientInformationFull,
                                          authorization_code: AuthorizationCode) -> OAuthToken:
        if self._codes.pop(authorization_code.code, None) is None:
            raise TokenError("invalid_grant", "authorization code already used")
        return self._issue(client.client_id, authorization_code.scopes, authorization_code.resource,
                           authorization_code.subject, refresh=True)

    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str) -> RefreshToken | None:
        token = self._refresh.get(refresh_token)
        if token is None or token.client_id != client.client_id:
            return None
        if token.expires_at is not None and token.expires_at < time.time():
            self._forget(token.token)
            return None
        return token

    async def exchange_refresh_token(self, client: OAuthClientInformationFull, refresh_token: RefreshToken,
                                     scopes: list[str]) -> OAuthToken:
        if refresh_token.token not in self._refresh:
            raise TokenError("invalid_grant", "refresh token already used")
        self._forget(refresh_token.token)  # rotation: the old pair is gone
        return self._issue(client.client_id, scopes, refresh_token.resource, refresh_token.subject, refresh=True)

    async def load_access_token(self, token: str) -> AccessToken | None:
        found = self._access.get(token)
        if found is None:
            return None
        if found.expires_at is not None and found.expires_at < time.time():
            self._drop(token)
            return None
        return found

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        self._forget(token.token)

    # -- tokens -------------------------------------------------------------------------

    def is_own_resource(self, resource: str) -> bool:
        """Whether an RFC 8707 resource names this MCP server (as URLs: case, default port, trailing slash aside)."""
        try:
            return str(_URL.validate_python(resource)).removesuffix("/") == self.resource.removesuffix("/")
        except ValidationError:
            return False

    def _issue(self, client_id: str, scopes: list[str], resource: str | None, subject: str | None, *,
               refresh: bool) -> OAuthToken:
        """A fresh access token (and refresh token), bound to this server's resource."""
        self._sweep()
        now = int(time.time())
        resource = resource or self.resource  # no indicator asked: the only resource there is
        access = AccessToken(token=secrets.token_urlsafe(32), client_id=client_id, scopes=list(scopes),
                             expires_at=now + self.token_lifetime, resource=resource, subject=subject,
                             claims={"iss": self.issuer})
        self._access[access.token] = access
        refresh_token = None
        if refresh:
            refresh_token = RefreshToken(token=secrets.token_urlsafe(32), client_id=client_id, scopes=list(scopes),
                                         expires_at=now + REFRESH_LIFETIME, resource=resource, subject=subject)
            self._refresh[refresh_token.token] = refresh_token
            self._paired[access.token] = refresh_token.token
            self._paired[refresh_token.token] = access.token
        return OAuthToken(access_token=access.token, expires_in=self.token_lifetime, scope=" ".join(scopes),
                          refresh_token=refresh_token.token if refresh_token else None)

    def _forget(self, token: str) -> None:
        """Drop a token and the one issued with it (revocation, rotation)."""
        partner = self._paired.get(token)
        self._drop(token)
        if partner is not None:
            self._drop(partner)

    def _drop(self, token: str) -> None:
        """Drop one token only: an expired access token must not take its refresh token along."""
        self._access.pop(token, None)
        self._refresh.pop(token, None)
        partner = self._paired.pop(token, None)
        if partner is not None:
            self._paired.pop(partner, None)

    def _sweep(self) -> None:
        """Drop what has expired, so a long-running demo does not grow."""
        now = time.time()
        for store in (self._access, self._refresh):
            for key in [k for k, v in store.items() if v.expires_at is not None and v.expires_at < now]:
                self._drop(key)
        for key in [k for k, v in self._codes.items() if v.expires_at < now]:
            del self._codes[key]
        for key in [k for k, v in self._logins.items() if v.expires_at < now]:
            del self._logins[key]
        for key in [k for k, v in self._seen_jti.items() if v < now]:
            del self._seen_jti[key]

    # -- the login page -----------------------------------------------------------------

    async def login_page(self, request: Request) -> Response:
        """GET: the sign-in form for a pending /authorize; POST: sign in (a code) or deny (an error), back to the client."""
        form = await request.form() if request.method == "POST" else None
        login_id = (_form_str(form, "request") if form is not None else request.query_params.get("request")) or ""
        pending = self._logins.get(login_id)
        if pending is None or pending.expires_at < time.time():
            self._logins.pop(login_id, None)
            return _page("Sign-in request not found",
                         "<p>This sign-in request is unknown, already answered or expired. "
                         "Start again from your MCP client.</p>", status=400)
        if form is None:
            return self._login_form(login_id, pending)
        redirect_uri = str(pending.params.redirect_uri)
        if _form_str(form, "action") == "deny":
            del self._logins[login_id]
            return _redirect(construct_redirect_uri(redirect_uri, error="access_denied",
                                                    error_description="The user denied the request.",
                                                    state=pending.params.state, iss=self.issuer))
        user, password = _form_str(form, "user") or "", _form_str(form, "password") or ""
        if not (hmac.compare_digest(user.encode(), DEMO_USER.encode())
                & hmac.compare_digest(password.encode(), self._password.encode())):
            pending.attempts += 1
            if pending.attempts >= MAX_LOGIN_ATTEMPTS:
                del self._logins[login_id]
                return _page("Too many attempts", "<p>Too many wrong passwords: this sign-in request is cancelled. "
                             "Start again from your MCP client.</p>", status=400)
            return self._login_form(login_id, pending, error="Wrong user name or password.", user=user)
        del self._logins[login_id]
        code = AuthorizationCode(
            code=secrets.token_urlsafe(32), scopes=pending.scopes, expires_at=time.time() + CODE_LIFETIME,
            client_id=pending.client.client_id, code_challenge=pending.params.code_challenge,
            redirect_uri=pending.params.redirect_uri,
            redirect_uri_provided_explicitly=pending.params.redirect_uri_provided_explicitly,
            resource=pending.params.resource, subject=DEMO_USER)
        self._codes[code.code] = code
        return _redirect(construct_redirect_uri(redirect_uri, code=code.code, state=pending.params.state,
                                                iss=self.issuer))

    def _login_form(self, login_id: str, pending: _Login, *, error: str | None = None, user: str = "") -> Response:
        esc = html.escape
        client = pending.client
        who = client.client_name or client.client_id
        scopes = "".join(f"<li><b>{esc(s)}</b>: {esc(SCOPE_MEANINGS.get(s, s))}</li>" for s in pending.scopes)
        problem = f'<p class="error" role="alert">{esc(error)}</p>' if error else ""
        body = f"""<p><b>{esc(who)}</b> asks to use the demo MCP server at <code>{esc(self.resource)}</code>
with these permissions:</p>
<ul>{scopes}</ul>
<p class="small">Client id <code>{esc(client.client_id)}</code>; you return to
<code>{esc(str(pending.params.redirect_uri))}</code> afterwards.</p>
{problem}
<form method="post" action="{esc(LOGIN_PATH)}">
<input type="hidden" name="request" value="{esc(login_id)}">
<label>User <input name="user" autocomplete="username" value="{esc(user)}" autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<p><button type="submit" name="action" value="sign-in">Sign in</button>
<button type="submit" name="action" value="deny" formnovalidate>Deny</button></p>
</form>
<p class="small">Demo user: <code>{esc(DEMO_USER)}</code>; the password is printed when the server starts.</p>"""
        return _page("Sign in to the mcpnb demo", body, status=401 if error else 200)

    # -- the client credentials grant ---------------------------------------------------

    async def token_endpoint(self, request: Request) -> Response:
        """/token: client_credentials here, every other grant to the SDK's handler unchanged."""
        form = await request.form()  # Starlette keeps it on the request, so the SDK's handler reads it again
        if _form_str(form, "grant_type") == "client_credentials":
            return await self.client_credentials(request, form)
        return await self._sdk_token_handler.handle(request)

    async def client_credentials(self, request: Request, form: FormData) -> Response:
        """RFC 6749 §4.4, for confidential clients only; no refresh token."""
        try:
            client = self.authenticate_client(request, form)
        except _ClientAuthFailed as failed:
            headers = {"WWW-Authenticate": 'Basic realm="mcpnb demo"'} if failed.basic else None
            return _token_error(failed.error, failed.description, failed.status, headers)
        if "client_credentials" not in client.grant_types:
            return _token_error("unauthorized_client", "This client may not use the client credentials grant.")
        requested = (_form_str(form, "scope") or "").split()
        scopes = granted_scopes(requested, (client.scope or "").split())
        if scopes is None:
            return _token_error("invalid_scope", f"Valid scopes: {' '.join(VALID_SCOPES)}")
        resources = [r for r in form.getlist("resource") if isinstance(r, str)]
        if len(resources) > 1 or (resources and not self.is_own_resource(resources[0])):
            return _token_error("invalid_target", f"This server only issues tokens for {self.resource}")
        token = self._issue(client.client_id, scopes, resources[0] if resources else None, client.client_id,
                            refresh=False)
        return JSONResponse(token.model_dump(exclude_none=True), headers=_NO_STORE)

    def authenticate_client(self, request: Request, form: FormData) -> OAuthClientInformationFull:
        """The client behind a token request: client_secret_basic, client_secret_post or private_key_jwt."""
        header = request.headers.get("authorization", "")
        basic = header[:6].lower() == "basic "
        assertion_type = _form_str(form, "client_assertion_type")
        posted_secret = _form_str(form, "client_secret")
        form_client_id = _form_str(form, "client_id")
        if basic + (assertion_type is not None) + (posted_secret is not None) > 1:
            raise _ClientAuthFailed("Use one client authentication method, not several.", error="invalid_request",
                                    status=400)
        if assertion_type is not None:
            return self._authenticate_jwt(assertion_type, _form_str(form, "client_assertion"), form_client_id)
        if basic:
            try:
                client_id, _, secret = base64.b64decode(header[6:], validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise _ClientAuthFailed("Malformed Basic authorization header.", basic=True) from None
            client_id, secret = unquote(client_id), unquote(secret)  # RFC 6749 §2.3.1 form-encodes both
            if form_client_id is not None and form_client_id != client_id:
                raise _ClientAuthFailed("client_id differs from the one in the Authorization header.", basic=True)
            return self._authenticate_secret(client_id, secret, basic=True)
        if posted_secret is not None and form_client_id:
            return self._authenticate_secret(form_client_id, posted_secret, basic=False)
        raise _ClientAuthFailed("Client authentication required (a client secret or a private key JWT).")

    def _authenticate_secret(self, client_id: str, secret: str, *, basic: bool) -> OAuthClientInformationFull:
        client = self.clients.get(client_id)
        expected = client.client_secret if client is not None else None
        if expected is None or not hmac.compare_digest(expected.encode(), secret.encode()):
            raise _ClientAuthFailed("Unknown client or wrong client secret.", basic=basic)
        if client.client_secret_expires_at and client.client_secret_expires_at < time.time():
            raise _ClientAuthFailed("The client secret has expired.", basic=basic)
        return client

    def _authenticate_jwt(self, assertion_type: str, assertion: str | None,
                          form_client_id: str | None) -> OAuthClientInformationFull:
        """RFC 7523 §2.2/§3: iss = sub = client_id, aud = this issuer (or its token endpoint), unexpired, signed."""
        if assertion_type != CLIENT_ASSERTION_TYPE:
            raise _ClientAuthFailed(f"client_assertion_type must be {CLIENT_ASSERTION_TYPE}.")
        if not assertion:
            raise _ClientAuthFailed("client_assertion is missing.")
        try:
            client_id = jwt.decode(assertion, options={"verify_signature": False}).get("iss")
        except jwt.InvalidTokenError:
            raise _ClientAuthFailed("client_assertion is not a JWT.") from None
        key = self._jwt_keys.get(client_id) if isinstance(client_id, str) else None
        if key is None or (form_client_id is not None and form_client_id != client_id):
            raise _ClientAuthFailed("Unknown client for this client assertion.")
        try:
            claims = jwt.decode(assertion, key, algorithms=[JWT_ALGORITHM], issuer=client_id, subject=client_id,
                                audience=[self.issuer, self.issuer + "/", self.token_url],
                                options={"require": ["iss", "sub", "aud", "exp"]})
        except jwt.InvalidTokenError as invalid:
            raise _ClientAuthFailed(f"Client assertion rejected: {invalid}.") from None
        jti = claims.get("jti")
        if isinstance(jti, str):
            self._sweep()
            if f"{client_id} {jti}" in self._seen_jti:
                raise _ClientAuthFailed("Client assertion already used (jti).")
            self._seen_jti[f"{client_id} {jti}"] = float(claims["exp"])
        return self.clients[client_id]


def _page(title: str, body: str, *, status: int = 200) -> HTMLResponse:
    """A small self-contained HTML page; ``title`` is escaped here, ``body`` by the caller."""
    document = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.4}}
label{{display:block;margin:.6rem 0}} input{{display:block;width:100%;padding:.3rem;box-sizing:border-box}}
button{{padding:.4rem 1rem;margin-right:.5rem}} .error{{color:#b00020}} .small{{font-size:.85rem;color:#555}}</style>
</head><body><h1>{html.escape(title)}</h1>
{body}
</body></html>"""
    # No framing (clickjacking a consent page), no scripts, nothing cached.
    headers = {**_NO_STORE, "X-Frame-Options": "DENY",
               "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"}
    return HTMLResponse(document, status_code=status, headers=headers)


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})


# -- the resource server side ---------------------------------------------------------------


def destructive_tools(tools: Iterable[Any]) -> set[str]:
    """Names of tools that may destroy data: MCP's annotation defaults (destructiveHint true unless read-only)."""
    names = set()
    for tool in tools:
        hints = tool.annotations
        read_only = bool(hints and hints.read_only_hint)
        destructive = True if hints is None or hints.destructive_hint is None else hints.destructive_hint
        if destructive and not read_only:
            names.add(tool.name)
    return names


def _called_tools(body: bytes) -> set[str]:
    """The tools a JSON-RPC POST body calls (one message or a batch)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return set()
    names = set()
    for message in parsed if isinstance(parsed, list) else [parsed]:
        if isinstance(message, dict) and message.get("method") == "tools/call":
            params = message.get("params")
            if isinstance(params, dict) and isinstance(params.get("name"), str):
                names.add(params["name"])
    return names


class StepUpMiddleware:
    """Destructive tool calls need scope ``write``: 403 insufficient_scope tells the client what to ask for.

    Why here: the scope a call needs depends on which tool it calls, which only the
    JSON-RPC body says. The body is read, checked, and replayed to the MCP app unchanged.
    """

    def __init__(self, app: ASGIApp, *, resource_metadata_url: str, destructive: set[str] | None = None,
                 max_body_size: int = DEFAULT_MAX_REQUEST_BODY_SIZE):
        self.app = app
        self.resource_metadata_url = resource_metadata_url
        self.destructive: set[str] = destructive if destructive is not None else set()
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        auth = scope.get("auth")
        granted = set(getattr(auth, "scopes", None) or ())
        if scope["type"] != "http" or scope["method"] != "POST" or not self.destructive or WRITE_SCOPE in granted:
            await self.app(scope, receive, send)
            return
        buffered: list[Message] = []
        body = bytearray()
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break
            body.extend(message.get("body", b""))
            if not message.get("more_body", False) or len(body) > self.max_body_size:
                break  # too big: the MCP app refuses it anyway
        blocked = sorted(_called_tools(bytes(body)) & self.destructive)
        if blocked:
            await self._refuse(blocked, granted, scope, receive, send)
            return

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, tools: list[str], granted: set[str], scope: Scope, receive: Receive, send: Send) -> None:
        needed = " ".join(s for s in VALID_SCOPES if s in granted or s in DEFAULT_SCOPES or s == WRITE_SCOPE)
        description = f"Tool {', '.join(tools)} changes or deletes data: it needs scope {WRITE_SCOPE}"
        description = description.replace('"', "'").replace("\\", "/")
        challenge = (f'Bearer error="insufficient_scope", scope="{needed}", '
                     f'resource_metadata="{self.resource_metadata_url}", error_description="{description}"')
        response = JSONResponse({"error": "insufficient_scope", "error_description": description}, status_code=403,
                                headers={"WWW-Authenticate": challenge})
        await response(scope, receive, send)


class ChallengeScopeMiddleware:
    """Adds ``scope="read"`` to the SDK's 401/403 bearer challenges.

    Why: MCP clients ask for the scope a 401 names first (least privilege), else every scope
    the resource lists; the SDK's RequireAuthMiddleware names none.
    """

    def __init__(self, app: ASGIApp, scope_value: str):
        self.app = app
        self.addition = f', scope="{scope_value}"'.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_scope(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (401, 403):
                headers = [(k, v + self.addition if k.lower() == b"www-authenticate" and b"scope=" not in v else v)
                           for k, v in message.get("headers", [])]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_scope)


# -- assembly -------------------------------------------------------------------------------


def _default_key_file(label: str, port: int) -> Path:
    from .store import data_dir

    return data_dir() / "keys" / f"{label}-{port}-{JWT_ROBOT_CLIENT_ID}.pem"


def _write_private(path: Path, text: str) -> None:
    """Write a secret file readable by its owner only (0600), never widening an old one's mode."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


class DemoAuthServer:
    """A demo MCP server behind OAuth: the MCP app at /mcp plus the authorization server, one Starlette app.

    Building one generates the robots' secret and key pair and writes the private key file;
    ``close()`` (or the end of ``run()``) deletes that file again.
    """

    def __init__(self, server: MCPServer, *, host: str = "127.0.0.1", port: int,
                 token_lifetime: int = DEFAULT_TOKEN_LIFETIME, password: str | None = None,
                 key_file: str | Path | None = None, name: str | None = None):
        if host not in LOOPBACK_HOSTS:
            raise ValueError(f"The demo authorization server speaks plain http: serve it on a loopback address "
                             f"({', '.join(LOOPBACK_HOSTS)}), not {host!r}.")
        if token_lifetime < 1:
            raise ValueError("token_lifetime must be at least 1 second")
        self.server = server
        self.name = name or server.name
        self.host, self.port = host, port
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.issuer = str(_URL.validate_python(f"http://{netloc}"))
        self.mcp_url = str(_URL.validate_python(f"http://{netloc}{MCP_PATH}"))
        self.resource_metadata_url = str(build_resource_metadata_url(_URL.validate_python(self.mcp_url)))

        private_key = ec.generate_private_key(ec.SECP256R1())
        pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode()
        self.key_file = Path(key_file) if key_file else _default_key_file(self.name, port)
        _write_private(self.key_file, pem)
        password = password if password is not None else os.environ.get(PASSWORD_ENV) or DEFAULT_PASSWORD
        robot_secret = secrets.token_urlsafe(24)
        self.provider = DemoAuthProvider(issuer=self.issuer, resource=self.mcp_url, token_lifetime=token_lifetime,
                                         password=password, robot_secret=robot_secret,
                                         jwt_public_key=private_key.public_key())
        self.credentials = Credentials(
            mcp_url=self.mcp_url, issuer=self.issuer, user=DEMO_USER, password=password, client_id=ROBOT_CLIENT_ID,
            client_secret=robot_secret, jwt_client_id=JWT_ROBOT_CLIENT_ID, jwt_key_file=self.key_file,
            jwt_private_key=pem, token_lifetime=token_lifetime)
        self.app = self._build_app()

    def _build_app(self) -> Starlette:
        issuer_url = _URL.validate_python(self.issuer)
        registration = ClientRegistrationOptions(enabled=True, valid_scopes=list(VALID_SCOPES),
                                                 default_scopes=list(DEFAULT_SCOPES))
        revocation = RevocationOptions(enabled=True)
        metadata = build_metadata(issuer_url, None, registration, revocation)
        metadata = metadata.model_copy(update={
            "grant_types_supported": [*(metadata.grant_types_supported or []), "client_credentials"],
            "token_endpoint_auth_methods_supported": [*(metadata.token_endpoint_auth_methods_supported or []),
                                                      "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": [JWT_ALGORITHM],
            "scopes_supported": list(VALID_SCOPES),
            # RFC 9207: the login page's redirect names the issuer (mix-up defence); the SDK client checks it.
            "authorization_response_iss_parameter_supported": True,
        })
        routes: list[BaseRoute] = []
        for route in create_auth_routes(self.provider, issuer_url, client_registration_options=registration,
                                        revocation_options=revocation):
            path = getattr(route, "path", None)
            if path == "/.well-known/oauth-authorization-server":
                route = Route(path, endpoint=cors_middleware(MetadataHandler(metadata).handle, ["GET", "OPTIONS"]),
                              methods=["GET", "OPTIONS"])
            elif path == TOKEN_PATH:
                token_app = RequestBodyLimitMiddleware(request_response(self.provider.token_endpoint),
                                                       DEFAULT_MAX_REQUEST_BODY_SIZE)
                route = Route(path, endpoint=CORSMiddleware(token_app, allow_origins="*",
                                                            allow_methods=["POST", "OPTIONS"],
                                                            allow_headers=[MCP_PROTOCOL_VERSION_HEADER]),
                              methods=["POST", "OPTIONS"])
            routes.append(route)
        routes += create_protected_resource_routes(_URL.validate_python(self.mcp_url), [issuer_url],
                                                   scopes_supported=list(VALID_SCOPES))
        routes.append(Route(LOGIN_PATH, endpoint=self.provider.login_page, methods=["GET", "POST"]))

        # The MCP app exactly as without auth (both protocol eras), behind the bearer token checks.
        mcp_app = self.server.streamable_http_app(streamable_http_path=MCP_PATH, host=self.host)
        self.step_up = StepUpMiddleware(AuthContextMiddleware(mcp_app), resource_metadata_url=self.resource_metadata_url)
        required = RequireAuthMiddleware(self.step_up, list(DEFAULT_SCOPES),
                                         _URL.validate_python(self.resource_metadata_url))
        protected = AuthenticationMiddleware(
            ChallengeScopeMiddleware(required, " ".join(DEFAULT_SCOPES)),
            backend=BearerAuthBackend(ProviderTokenVerifier(self.provider),
                                      resource_server_url=_URL.validate_python(self.mcp_url)))
        routes.append(Route(MCP_PATH, endpoint=protected))

        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette):
            # Mounted inside this app, the MCP app's own lifespan never runs: run its session manager here.
            self.step_up.destructive.update(destructive_tools(await self.server.list_tools()))
            try:
                async with self.server.session_manager.run():
                    yield
            finally:
                self.close()  # here, not after uvicorn returns: on SIGTERM it re-raises the signal and exits

        return Starlette(routes=routes, lifespan=lifespan)

    def banner(self) -> str:
        """The lines printed at start: ``NAME: Streamable HTTP on URL (OAuth)``, then indented ``key: value`` lines."""
        c = self.credentials
        lines = [f"{self.name}: Streamable HTTP on {c.mcp_url} (OAuth 2.1, authorization server {c.issuer})",
                 f"  issuer: {c.issuer}", f"  user: {c.user}", f"  password: {c.password}",
                 f"  client_id: {c.client_id}", f"  client_secret: {c.client_secret}",
                 f"  jwt_client_id: {c.jwt_client_id}", f"  jwt_key_file: {c.jwt_key_file}",
                 f"  token_lifetime: {c.token_lifetime}"]
        return "\n".join(lines)

    def uvicorn_config(self, **options: Any) -> uvicorn.Config:
        options.setdefault("log_level", self.server.settings.log_level.lower())
        return uvicorn.Config(self.app, host=self.host, port=self.port, **options)

    def run(self) -> None:
        """Serve until interrupted (blocking), then delete the key file."""
        try:
            uvicorn.Server(self.uvicorn_config()).run()
        finally:
            self.close()

    def close(self) -> None:
        """Delete the private key file: the key pair dies with this server."""
        self.key_file.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@contextlib.contextmanager
def running(target: str | MCPServer, *, host: str = "127.0.0.1", port: int = 0,
            token_lifetime: int = DEFAULT_TOKEN_LIFETIME, password: str | None = None,
            log_level: str = "warning") -> Iterator[DemoAuthServer]:
    """Serve a demo system (a name or an MCPServer) behind OAuth on a background thread, for notebooks and tests.

    ``port=0`` picks a free port; the yielded server's ``credentials`` say where and how to sign in.
    """
    if isinstance(target, str):
        from . import build_server

        root = logging.getLogger()
        handlers, level = root.handlers[:], root.level
        name, server = target, build_server(target)
        # MCPServer configures the root logger (logging.basicConfig); in a notebook every HTTP
        # request of the client would then print a line under the cell.
        root.handlers[:] = handlers
        root.setLevel(level)
    else:
        name, server = target.name, target
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    demo = DemoAuthServer(server, host=host, port=sock.getsockname()[1], token_lifetime=token_lifetime,
                          password=password, name=name)
    web = uvicorn.Server(demo.uvicorn_config(log_level=log_level))
    failure: list[BaseException] = []

    def serve() -> None:
        try:
            asyncio.run(web.serve(sockets=[sock]))
        except Exception as error:  # noqa: BLE001  (whatever stops the thread is reported to the caller)
            failure.append(error)

    thread = threading.Thread(target=serve, name=f"mcpnb-demo-auth-{name}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not web.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"The demo server did not start: {failure[0] if failure else 'timed out'}")
            time.sleep(0.02)
        yield demo
    finally:
        web.should_exit = True
        thread.join(15)
        sock.close()
        demo.close()


def sign_in(authorization_url: str, *, user: str = DEMO_USER, password: str | None = None,
            deny: bool = False) -> str:
    """Play the person on the demo's sign-in page: open it, sign in (or deny), and return the address
    the browser is sent back to. For ``mcpnb.OAuth(authorize=sign_in)`` in lessons and tests."""
    import httpx2

    password = password if password is not None else os.environ.get(PASSWORD_ENV) or DEFAULT_PASSWORD
    with httpx2.Client() as http:
        page = http.get(authorization_url, follow_redirects=True)
        found = re.search(r'name="request" value="([^"]+)"', page.text)
        if found is None:
            raise RuntimeError(f"not the demo's sign-in page ({page.status_code}): {page.text[:200]}")
        answer = http.post(str(page.url.copy_with(query=None)), data={
            "request": html.unescape(found.group(1)), "user": user, "password": password,
            "action": "deny" if deny else "sign-in"})
        if answer.status_code not in (302, 303):
            raise RuntimeError(f"the sign-in did not go through ({answer.status_code})")
        return answer.headers["location"]
