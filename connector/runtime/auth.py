"""Credentials at request time: static tokens, signed JWTs, and OAuth2 client-credentials tokens.

The auth of every attempt is built afresh, so a token refreshed inside a retry loop is
used by the next attempt. Bearer tokens are refreshed ``refresh_margin`` seconds before
they expire rather than used until the last second.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from connector.runtime.http import FetchError, SourceHttp
from connector.sources.base import AuthKind, HttpRequest, RequestSpec, VendorStream, authorize
from connector.sources.base import AuthParts as _NoAuth

__all__ = ["AuthSession"]


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class AuthSession:
    def __init__(self, stream: VendorStream, http: SourceHttp, clock: Callable[[], datetime] = _wall_clock,
                 refresh_margin: float = 60.0) -> None:
        """``clock`` is real time even when the data is read for another moment (backfill):
        tokens and JWTs expire by the wall clock."""
        self.stream = stream
        self.http = http
        self.clock = clock
        self.refresh_margin = timedelta(seconds=refresh_margin)
        self._token: str | None = None
        self._expires: datetime | None = None
        self.token_fetches = 0

    @property
    def uses_bearer_token(self) -> bool:
        return self.stream.token_request() is not None

    async def build(self, spec: RequestSpec) -> HttpRequest:
        now = self.clock()
        token = await self._access_token(now) if self.uses_bearer_token else None
        return self.stream.authorize(spec, now, access_token=token)  # type: ignore[attr-defined, no-any-return]

    async def _access_token(self, now: datetime) -> str:
        if self._token is not None and self._expires is not None and now < self._expires - self.refresh_margin:
            return self._token
        spec = self.stream.token_request()
        assert spec is not None
        body = await self.http.fetch_json(self._plain(spec))
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise FetchError(self.http.source, "auth_failed", "the token endpoint answered without an access_token")
        try:
            lifetime = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        self._token, self._expires = token, now + timedelta(seconds=lifetime)
        self.token_fetches += 1
        return token

    @staticmethod
    def _plain(spec: RequestSpec) -> Callable[[], Awaitable[HttpRequest]]:
        async def build() -> HttpRequest:
            return authorize(spec, _NoAuth())
        return build

    async def reauthenticate(self) -> bool:
        """After a 401: drop what can be renewed. False when the credentials are static."""
        if self.uses_bearer_token:
            self._token = self._expires = None
            return True
        # a Kore.ai JWT signed from client credentials: the next attempt signs a new one
        if self.stream.auth.kind is AuthKind.KOREAI_JWT and getattr(self.stream.config, "jwt", None) is None:  # type: ignore[attr-defined]
            forget = getattr(self.stream, "forget_credentials", None)
            if forget is not None:
                forget()
            return True
        return False
