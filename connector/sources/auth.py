"""Auth, declared per vendor (a class attribute of each stream) and built from its config.

The runtime never needs to know a vendor's scheme: it asks the stream for ``AuthParts``
(``stream.auth_parts(now, access_token=...)``) and merges them into the request with
``authorize``. Only Vonage's OAuth2 token fetch is I/O; the stream describes it as a
``RequestSpec`` (``token_request()``) and ``vonage.parse_token_response`` reads the answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connector.sources.base import RequestSpec

__all__ = ["AuthKind", "AuthParts", "AuthSpec", "HttpRequest", "authorize", "hs256_jwt"]


class AuthKind(StrEnum):
    QUERY_PARAM = "query_param"                 # Convoso GET: ?auth_token=...
    FORM_FIELD = "form_field"                   # Convoso POST: auth_token=... in the form body
    BEARER = "bearer"                           # Vonage: Authorization: bearer <token>
    KOREAI_JWT = "koreai_jwt"                   # Kore.ai: auth: <JWT>, iId: <stream id>
    USER_TOKEN_HEADERS = "user_token_headers"   # Rocket.Chat: X-User-Id, X-Auth-Token


@dataclass(frozen=True)
class AuthSpec:
    """How a vendor authenticates; ``name`` is the parameter or field carrying the token."""

    kind: AuthKind
    name: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)  # sent with every request


@dataclass(frozen=True)
class AuthParts:
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HttpRequest:
    """A RequestSpec with auth added: exactly what goes on the wire (never log it whole)."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    json_body: dict[str, Any] | None
    form: dict[str, str] | None


def authorize(request: RequestSpec, parts: AuthParts) -> HttpRequest:
    form = request.form
    if parts.form:
        form = {**(form or {}), **parts.form}
    return HttpRequest(
        method=request.method,
        path=request.path,
        params={**request.params, **parts.params},
        headers={**request.headers, **parts.headers},
        json_body=request.json_body,
        form=form,
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_jwt(claims: Mapping[str, Any], secret: str) -> str:
    """A compact HS256 JWT signed with the stdlib (no JWT library needed for one algorithm)."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(dict(claims), separators=(",", ":"), sort_keys=True).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"
