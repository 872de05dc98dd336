"""Authorization to remote servers: ``connect(url, auth=...)``, on the SDK's own OAuth client.

=====================================  =============================================
``auth=``                              what happens
=====================================  =============================================
``"oauth"`` or ``OAuth(...)``          authorization code with PKCE: the person signs
                                       in once in the browser (``mcpnb.login``); with
                                       no ``client_id``, dynamic registration or a
                                       client ID metadata document, whichever the
                                       server offers
``ClientCredentials(...)``             unattended (scheduled notebooks, CI): a client
                                       secret, or a private key that signs a JWT
any ``httpx2.Auth``                    passed to the HTTP client as it is (identity
                                       assertions, custom schemes)
=====================================  =============================================

Everything OAuth itself does (discovery, scope selection and step-up,
registration, PKCE, the resource parameter, issuer checks, refresh) is the
SDK's ``mcp.client.auth``. What is added here, around it:

- the tokens kept between logins (``mcpnb.tokens``) and refreshed a little
  before they expire (the SDK refreshes only after);
- a pre-registered client's token endpoint auth method chosen from the
  server's metadata, and ``scopes=`` kept in every request for scopes;
- every HTTP exchange of the flow noted in the connection's trace under its
  step's name (challenge, resource metadata, authorization server metadata,
  registration, authorize, redirect, token, refresh, client credentials,
  retry), with codes, verifiers, secrets, tokens and Authorization headers
  masked before anything is kept;
- a failure named by its step (``AuthorizationFailed.step``), and the
  connection left usable after it;
- ``status()``: how the connection is authorized, never the token.
"""

from __future__ import annotations

import functools
import json
import os
import time
import warnings
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Union
from urllib.parse import parse_qsl, urlsplit

import httpx2
from mcp.client.auth import OAuthClientProvider
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

from . import runtime, tokens
from .errors import AuthorizationFailed, ConfigError
from .login import AuthorizeCallable, Login, free_loopback_port
from .masking import MASK, mask_url
from .trace import HttpExchange

__all__ = ["OAuth", "ClientCredentials", "AuthOption", "AuthStatus", "Authorization", "check_auth"]

# Refresh this long before a token expires (at most a tenth of its lifetime).
REFRESH_AHEAD_SECONDS = 60.0

# Names whose values are secrets wherever they appear: form fields, JSON keys, query parameters.
SECRET_FIELDS = frozenset({
    "access_token", "refresh_token", "id_token", "code", "code_verifier", "client_secret", "client_assertion",
    "assertion", "registration_access_token", "password", "subject_token", "actor_token",
})


@dataclass(frozen=True)
class OAuth:
    """Sign in with the authorization code flow (PKCE), the person's browser doing their part.

    client_id / client_secret: a client registered with the authorization server beforehand
    (default: register dynamically, or use ``client_metadata_url``).
    client_metadata_url: an https URL of a client ID metadata document, used when the server accepts one.
    scopes: asked for in every authorization (besides what the server's challenge asks for).
    redirect_uri: the address the browser is sent back to (default: ``http://127.0.0.1:PORT/callback``,
    a free port, heard by a listener during the login; any other address means pasting it back).
    storage: where tokens are kept, ``"auto"`` (keyring, else a private file), ``"keyring"``,
    ``"file"``, ``"memory"`` (see ``mcpnb.tokens``), or an SDK ``TokenStorage`` object.
    authorize: ``fn(authorization_url) -> returned_url`` does the browser's part (automation, tests).
    """

    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    client_metadata_url: str | None = None
    scopes: str | Sequence[str] | None = None
    redirect_uri: str | None = None
    storage: Any = "auto"
    authorize: AuthorizeCallable | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.client_secret is not None and self.client_id is None:
            raise ConfigError("OAuth(client_secret=...) needs the client_id it belongs to.")
        if self.storage is None:
            object.__setattr__(self, "storage", "auto")
        if isinstance(self.storage, str) and self.storage not in tokens.STORAGE_CHOICES:
            raise ConfigError(f"Unknown token storage {self.storage!r}.",
                              hint=f"use one of {', '.join(tokens.STORAGE_CHOICES)}, or a TokenStorage object.")
        if self.client_metadata_url is not None and not self.client_metadata_url.startswith("https://"):
            raise ConfigError("client_metadata_url must be an https URL with a path.")
        if self.authorize is not None and not callable(self.authorize):
            raise ConfigError("authorize= must be a callable: fn(authorization_url) -> returned_url.")

    def __repr__(self) -> str:
        shown = [f"{name}={value!r}" for name, value in (
            ("client_id", self.client_id), ("client_metadata_url", self.client_metadata_url),
            ("scopes", self.scopes), ("redirect_uri", self.redirect_uri)) if value is not None]
        if self.client_secret is not None:
            shown.append(f"client_secret={MASK!r}")
        if self.storage != "auto":
            shown.append(f"storage={self.storage!r}")
        if self.authorize is not None:
            shown.append("authorize=<callable>")
        return f"OAuth({', '.join(shown)})"


@dataclass(frozen=True)
class ClientCredentials:
    """Unattended authorization (OAuth client credentials): a client secret, or a private key.

    private_key: a PEM private key (text, bytes, or a path to the file); the client
    authenticates with a JWT it signs (``private_key_jwt``, ``signing_algorithm``).
    issuer: the authorization server the credentials belong to; they are sent nowhere else
    (default: the one the MCP server names).
    """

    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    private_key: str | bytes | os.PathLike[str] | None = field(default=None, repr=False)
    signing_algorithm: str = "ES256"
    scopes: str | Sequence[str] | None = None
    issuer: str | None = None

    def __post_init__(self) -> None:
        if not self.client_id:
            raise ConfigError("ClientCredentials needs a client_id.")
        if (self.client_secret is None) == (self.private_key is None):
            raise ConfigError("ClientCredentials needs exactly one of client_secret= and private_key=.")

    def key_text(self) -> str:
        """The private key's PEM text (read from the file when a path was given)."""
        key = self.private_key
        if isinstance(key, bytes):
            return key.decode()
        if isinstance(key, os.PathLike) or (isinstance(key, str) and "-----BEGIN" not in key):
            try:
                return Path(key).expanduser().read_text()  # type: ignore[arg-type]
            except OSError as exc:
                raise ConfigError(f"Cannot read the private key file: {exc.strerror}.") from None
        return str(key)

    def __repr__(self) -> str:
        how = "client_secret='***'" if self.client_secret is not None else "private_key='***'"
        extra = f", scopes={self.scopes!r}" if self.scopes else ""
        extra += f", issuer={self.issuer!r}" if self.issuer else ""
        return f"ClientCredentials(client_id={self.client_id!r}, {how}{extra})"


AuthOption = Union[str, OAuth, ClientCredentials, httpx2.Auth, None]


def check_auth(value: Any) -> Any:
    """``auth=`` as given (or as written in a config entry) -> OAuth, ClientCredentials, an httpx2.Auth or None."""
    if value is None or value == "none":
        return None
    if isinstance(value, (OAuth, ClientCredentials, httpx2.Auth)):
        return value
    if value == "oauth":
        return OAuth()
    if isinstance(value, Mapping):
        entry = dict(value)
        kind = entry.pop("type", "oauth")
        try:
            if kind == "oauth":
                return OAuth(**entry)
            if kind == "client_credentials":
                return ClientCredentials(**entry)
        except TypeError as exc:
            raise ConfigError(f"auth: {exc}.".replace("__init__() ", "")) from None
        raise ConfigError(f"Unknown auth type {kind!r}.", hint="use 'oauth' or 'client_credentials'.")
    raise ConfigError(f"auth= cannot be a {type(value).__name__}.",
                      hint="use 'oauth', mcpnb.OAuth(...), mcpnb.ClientCredentials(...) or an httpx2.Auth.")


@dataclass(frozen=True)
class AuthStatus:
    """How a connection is authorized: the method, the scopes granted, when the token expires, who issued it."""

    method: str
    scopes: tuple[str, ...] = ()
    expires: datetime | None = None
    issuer: str | None = None
    client_id: str | None = None
    storage: str | None = None
    signed_in: bool = False

    def __repr__(self) -> str:
        if not self.signed_in:
            return f"<AuthStatus {self.method}: not signed in yet>"
        parts = [self.method]
        if self.scopes:
            parts.append("scopes " + " ".join(self.scopes))
        if self.expires is not None:
            left = (self.expires - datetime.now(timezone.utc)).total_seconds()
            parts.append(f"expires {self.expires:%H:%M:%S} UTC ({_left(left)})")
        if self.issuer:
            parts.append(f"issuer {self.issuer}")
        return f"<AuthStatus {', '.join(parts)}>"


def _left(seconds: float) -> str:
    if seconds <= 0:
        return "expired; refreshed on the next request"
    return f"in {seconds:.0f} s" if seconds < 120 else f"in {seconds / 60:.0f} min"


def _scope_text(scopes: str | Sequence[str] | None) -> str | None:
    if scopes is None:
        return None
    return scopes if isinstance(scopes, str) else " ".join(scopes)


class Authorization:
    """One connection's authorization: the httpx auth handed to its HTTP client, and what it did.

    Made once per ``Session`` and kept across reconnects (tokens held in memory
    survive them). ``note`` puts an HttpExchange in the connection's trace;
    ``secret`` teaches the connection's redactor a new secret value, ``redact`` applies it.
    """

    def __init__(self, spec: Any, *, url: str, server_name: str, note: Callable[[HttpExchange], None],
                 secret: Callable[[str], None], redact: Callable[[str], str], person: runtime.PersonTime) -> None:
        self.spec = spec
        self.redact = redact  # the connection's: every secret learnt so far, masked
        self.url = url
        self.server_name = server_name
        self._note = note
        self._secret = secret
        self.person = person
        self.failure: AuthorizationFailed | None = None  # the last failed flow, reported once by the connection
        self.store: tokens.TokenStore | None = None
        self.login: Login | None = None
        self.provider: Any = None
        if isinstance(spec, httpx2.Auth) and not isinstance(spec, OAuthClientProvider):
            self.http_auth: httpx2.Auth = spec
            return
        if isinstance(spec, OAuthClientProvider):  # the SDK's own provider, built by the caller
            self.provider = spec
        elif isinstance(spec, OAuth):
            self.provider = self._authorization_code(spec)
        else:
            self.provider = self._client_credentials(spec)
        self.provider.mcpnb = self
        self.http_auth = self.provider

    # -- building the SDK's providers --------------------------------------------------

    def _make_store(self, storage: Any, client: str | None = None) -> Any:
        if not isinstance(storage, str) and not isinstance(storage, tokens.MemoryBackend):
            return storage  # an SDK TokenStorage of the caller's
        place = storage if isinstance(storage, tokens.MemoryBackend) else tokens.backend(storage)
        self.store = tokens.TokenStore(self.url, place, client)
        return self.store

    def _authorization_code(self, spec: OAuth) -> OAuthClientProvider:
        redirect = spec.redirect_uri or f"http://127.0.0.1:{free_loopback_port()}/callback"
        metadata = OAuthClientMetadata(
            redirect_uris=[redirect], client_name="mcpnb (Jupyter notebook)",
            grant_types=["authorization_code", "refresh_token"], response_types=["code"],
            token_endpoint_auth_method="none" if spec.client_secret is None else "client_secret_basic",
            scope=_scope_text(spec.scopes))
        self.login = Login(self.server_name, authorize=spec.authorize, record=self._record_browser,
                           person=self.person)
        self.login.redirect_uri = redirect
        if spec.client_secret:
            self._secret(spec.client_secret)
        return _AuthorizationCode(self.url, metadata, self._make_store(spec.storage, spec.client_id),
                                  self.login.redirect,
                                  self.login.callback, spec.client_metadata_url)

    def _client_credentials(self, spec: ClientCredentials) -> OAuthClientProvider:
        from mcp.client.auth.extensions.client_credentials import SignedJWTParameters
        from mcp.shared.exceptions import MCPDeprecationWarning

        # Kept by this connection only: new ones cost no person, and nothing secret is written anywhere.
        store = self._make_store(tokens.MemoryBackend())
        scope = _scope_text(spec.scopes)
        secret_credentials, key_credentials = _credentials_classes()
        with warnings.catch_warnings():  # issuer= is optional here, as the SDK's 2.x allows (it warns)
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            if spec.client_secret is not None:
                self._secret(spec.client_secret)
                return secret_credentials(self.url, store, spec.client_id, spec.client_secret, scope=scope,
                                          issuer=spec.issuer)
            key = spec.key_text()
            self._secret(key)
            assertion = SignedJWTParameters(issuer=spec.client_id, subject=spec.client_id, signing_key=key,
                                            signing_algorithm=spec.signing_algorithm).create_assertion_provider()
            return key_credentials(self.url, store, spec.client_id, assertion, scope=scope, issuer=spec.issuer)

    # -- what it learns ------------------------------------------------------------------

    def learn_tokens(self, found: OAuthToken | None) -> None:
        if found is None:
            return
        for value in (found.access_token, found.refresh_token, getattr(found, "id_token", None)):
            if value:
                self._secret(value)

    def learn_client(self, client: OAuthClientInformationFull) -> None:
        if client.client_secret:
            self._secret(client.client_secret)
        extra = getattr(client, "model_extra", None) or {}
        if extra.get("registration_access_token"):
            self._secret(str(extra["registration_access_token"]))

    def status(self) -> AuthStatus:
        """How this connection is authorized (never the token)."""
        if self.provider is None:
            return AuthStatus(method=f"httpx auth: {type(self.http_auth).__name__}", signed_in=True)
        context = self.provider.context
        method = getattr(self.provider, "described", "OAuth (SDK provider)")
        current = context.current_tokens
        expires = (datetime.fromtimestamp(context.token_expiry_time, timezone.utc)
                   if context.token_expiry_time else None)
        issuer = str(context.oauth_metadata.issuer) if context.oauth_metadata else (
            context.client_info.issuer if context.client_info else None)
        storage = self.store.place.name if self.store is not None else "caller's TokenStorage"
        return AuthStatus(method=method, scopes=tuple((current.scope or "").split()) if current else (),
                          expires=expires, issuer=issuer,
                          client_id=context.client_info.client_id if context.client_info else None,
                          storage=storage, signed_in=bool(current and current.access_token))

    def forget(self) -> None:
        """Drop the tokens held (in memory and in storage): the next request signs in again."""
        if self.provider is None:
            return
        self.provider.context.clear_tokens()
        self.provider.context.client_info = None
        self.provider._initialized = False  # the SDK reloads from storage, which is now empty
        if self.store is not None:
            self.store.clear()

    # -- the trace -------------------------------------------------------------------------

    def _record_browser(self, step: str, url: str) -> None:
        for name, value in parse_qsl(urlsplit(url.strip()).query):
            if name in SECRET_FIELDS and value:
                self._secret(value)  # the one-time code, should anything repeat it
        what = "the browser is sent to" if step == "authorize" else "the browser came back to"
        self._note(HttpExchange(step=step, method="GET", url=mask_query(url), status=None,
                                summary=f"{what} {mask_query(url)}"))

    def record(self, step: str, request: httpx2.Request, response: httpx2.Response, started: float) -> None:
        self._note(HttpExchange(
            step=step, method=request.method, url=mask_query(str(request.url)), status=response.status_code,
            duration_ms=round((time.monotonic() - started) * 1000, 1),
            request_headers=_headers(request.headers, ("authorization", "content-type", "mcp-protocol-version")),
            request_body=_body(request),
            response_headers=_headers(response.headers, ("www-authenticate", "location", "content-type")),
            response_body=_response_body(response),
            summary=f"{request.method} {mask_query(str(request.url))} → {response.status_code}"))


def step_of(request: httpx2.Request, original: httpx2.Request, response: httpx2.Response, seen_original: bool) -> str:
    """The name of one exchange of the flow, as a learner reads it in the trace."""
    if request is original:
        if response.status_code == 401:
            return "challenge"
        if response.status_code == 403:
            return "step-up challenge"
        return "retry" if seen_original else "request"
    path = request.url.path
    if "/.well-known/oauth-protected-resource" in path:
        return "resource metadata"
    if "/.well-known/oauth-authorization-server" in path or "/.well-known/openid-configuration" in path:
        return "authorization server metadata"
    if request.method == "POST":
        form = _form(request)
        grant = form.get("grant_type")
        if grant is not None:
            return {"authorization_code": "token", "refresh_token": "refresh",
                    "client_credentials": "client credentials"}.get(grant, f"token ({grant})")
        return "registration"
    return "request"


class _Visible:
    """What mcpnb adds to each SDK provider class (see the module docstring)."""

    mcpnb: Authorization
    described: str  # how status() names the way it authorizes

    async def _initialize(self) -> None:
        await super()._initialize()  # type: ignore[misc]
        context = self.context  # type: ignore[attr-defined]
        store = context.storage
        if isinstance(store, tokens.TokenStore) and store.expires_at:
            context.token_expiry_time = store.expires_at
        self.mcpnb.learn_tokens(context.current_tokens)  # restored ones are as secret as new ones
        client = context.client_info
        if client is not None:
            self.mcpnb.learn_client(client)
            if client.redirect_uris and context.client_metadata.redirect_uris and self.mcpnb.login is not None:
                # A login must come back to the address the stored registration names.
                context.client_metadata.redirect_uris = client.redirect_uris
                self.mcpnb.login.redirect_uri = str(client.redirect_uris[0])

    async def _perform_authorization(self) -> httpx2.Request:
        if self.context.client_info is not None:  # type: ignore[attr-defined]  (just registered, maybe)
            self.mcpnb.learn_client(self.context.client_info)  # type: ignore[attr-defined]
        return await super()._perform_authorization()  # type: ignore[misc]

    async def _handle_token_response(self, response: httpx2.Response) -> None:
        await super()._handle_token_response(response)  # type: ignore[misc]
        self.mcpnb.learn_tokens(self.context.current_tokens)  # type: ignore[attr-defined]

    async def _handle_refresh_response(self, response: httpx2.Response) -> bool:
        refreshed = await super()._handle_refresh_response(response)  # type: ignore[misc]
        self.mcpnb.learn_tokens(self.context.current_tokens)  # type: ignore[attr-defined]
        return refreshed

    def _refresh_ahead(self) -> None:
        context = self.context  # type: ignore[attr-defined]
        current = context.current_tokens
        if not (context.token_expiry_time and current and current.refresh_token):
            return
        margin = min(REFRESH_AHEAD_SECONDS, (current.expires_in or 0) * 0.1)
        if time.time() >= context.token_expiry_time - margin:
            context.token_expiry_time = time.time() - 1  # the SDK's own check now says "refresh"

    async def async_auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        self._refresh_ahead()
        authorization = self.mcpnb
        flow = super().async_auth_flow(request)  # type: ignore[misc]
        seen_original = False
        step = "request"
        try:
            outgoing = await flow.__anext__()
            while True:
                started = time.monotonic()
                response = yield outgoing
                if outgoing is not request:
                    await response.aread()  # the flow's own answers are small; the MCP answer may be a stream
                step = step_of(outgoing, request, response, seen_original)
                if outgoing is not request or response.status_code in (401, 403) or seen_original:
                    authorization.record(step, outgoing, response, started)
                if outgoing is request:
                    seen_original = True
                outgoing = await flow.asend(response)
        except StopAsyncIteration:
            return
        except Exception as exc:  # the SDK's OAuth errors, HTTP failures, and anything else in the flow
            authorization.failure = _failure(exc, step, authorization.server_name, authorization.redact)
        finally:
            await flow.aclose()
        # The flow failed: the request goes once more without a token, so the transport gets a plain
        # 401 answer for it (the connection stays usable) and the connection reports the failure.
        request.headers.pop("Authorization", None)
        yield request


class _AuthorizationCode(_Visible, OAuthClientProvider):
    described = "OAuth authorization code (PKCE)"

    async def _initialize(self) -> None:
        await super()._initialize()
        spec = self.mcpnb.spec
        if isinstance(spec, OAuth) and spec.client_id:  # registered beforehand: never registered again
            self.context.client_info = self._registered(spec)

    async def _perform_authorization(self) -> httpx2.Request:
        context = self.context
        spec = self.mcpnb.spec
        if isinstance(spec, OAuth):
            from mcp.client.auth.utils import union_scopes

            context.client_metadata.scope = union_scopes(context.client_metadata.scope, _scope_text(spec.scopes))
            if spec.client_id:  # the server's metadata is known now: its auth method can be chosen
                context.client_info = self._registered(spec)
        return await super()._perform_authorization()

    def _registered(self, spec: OAuth) -> OAuthClientInformationFull:
        """The pre-registered client, with the token endpoint auth method the server's metadata offers."""
        offered = (self.context.oauth_metadata.token_endpoint_auth_methods_supported
                   if self.context.oauth_metadata else None) or ["client_secret_basic"]
        if spec.client_secret is None:
            method = "none"
        else:
            method = next((m for m in ("client_secret_basic", "client_secret_post") if m in offered),
                          "client_secret_basic")
        return OAuthClientInformationFull(
            client_id=spec.client_id or "", client_secret=spec.client_secret,
            redirect_uris=self.context.client_metadata.redirect_uris, token_endpoint_auth_method=method,
            grant_types=["authorization_code", "refresh_token"], response_types=["code"])



@functools.cache
def _credentials_classes() -> tuple[type, type]:
    """The client credentials providers, made on first use: the SDK's module for them imports PyJWT and
    cryptography, which a connection without them should not pay for at ``import mcpnb``."""
    from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider, PrivateKeyJWTOAuthProvider

    class SecretCredentials(_Visible, ClientCredentialsOAuthProvider):
        described = "OAuth client credentials (client secret)"

    class KeyCredentials(_Visible, PrivateKeyJWTOAuthProvider):
        described = "OAuth client credentials (private key JWT)"

    return SecretCredentials, KeyCredentials


def _failure(exc: BaseException, step: str, server_name: str, redact: Callable[[str], str]) -> AuthorizationFailed:
    if isinstance(exc, AuthorizationFailed):
        return exc
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    hints = {
        "token": "the code may have expired or been used already: connect again to sign in again.",
        "client credentials": "check the client id and its secret or key, and that the authorization server "
                              "allows the client credentials grant for it.",
        "registration": "this server does not let clients register themselves: pass "
                        "auth=mcpnb.OAuth(client_id=...) with a client registered with its administrator.",
        "refresh": "the sign-in has ended: connect again (or mcpnb.logout(url)) to sign in anew.",
    }
    return AuthorizationFailed(
        f"Signing in to {server_name!r} failed at the {step} step: {redact(text)}",
        step=step, hint=hints.get(step, "server.trace (kind 'http') shows each step of the sign-in."))


def mask_query(url: str) -> str:
    """``url`` as the trace keeps it: OAuth's secret parameters (``code``...) masked too."""
    return mask_url(url, SECRET_FIELDS)


def _headers(headers: Any, names: Sequence[str]) -> dict[str, str]:
    shown = {}
    for name in names:
        value = headers.get(name)
        if value is None:
            continue
        if name == "authorization":
            value = value.split(" ", 1)[0] + " " + MASK
        elif name == "location":
            value = mask_query(value)
        shown[name] = value
    return shown


def _form(request: httpx2.Request) -> dict[str, str]:
    try:
        content = request.content
    except Exception:  # a streamed body not read: not one of the flow's own
        return {}
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        return {}
    return dict(parse_qsl(content.decode(errors="replace"), keep_blank_values=True))


def _body(request: httpx2.Request) -> Any:
    form = _form(request)
    if form:
        return {k: (MASK if k in SECRET_FIELDS else v) for k, v in form.items()}
    try:
        content = request.content
    except Exception:
        return None
    if not content:
        return None
    try:
        data = json.loads(content)
    except ValueError:
        return f"<{len(content)} bytes>"
    if isinstance(data, dict) and "jsonrpc" in data:
        return {"jsonrpc method": data.get("method")}  # the message itself is in the trace already
    return _masked_json(data)


def _response_body(response: httpx2.Response) -> Any:
    try:
        content = response.content
    except Exception:
        return None
    if not content:
        return None
    try:
        return _masked_json(json.loads(content))
    except ValueError:
        text = content.decode(errors="replace")
        return text if len(text) <= 300 else text[:297] + "..."


def _masked_json(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: (MASK if k in SECRET_FIELDS and v else _masked_json(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [_masked_json(v) for v in data]
    return data
