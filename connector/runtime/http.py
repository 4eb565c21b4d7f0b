"""HTTP for one source: a pooled client, rate and concurrency limits, retries that know why.

Retried: timeouts, dropped connections, 5xx, bodies that are not JSON, and 429 (after
``Retry-After`` when given, with a cap on the total wait). A 401 asks the auth session to
re-authenticate once per failure streak. Anything else is a ``FetchError`` naming the
source, the request path (never its query string: Convoso puts the token there) and why.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import json
import random
import ssl
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.cookiejar import CookieJar
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from yarl import URL

from connector.redaction import redact
from connector.runtime.metrics import SourceMetrics
from connector.runtime.wire import WIRE_ENCODINGS, Reply, WireClient
from connector.sources.base import HttpRequest

__all__ = ["UNCHANGED", "FetchError", "RateLimiter", "RetryPolicy", "SourceHttp"]

#: what ``fetch_page`` answers instead of the parsed body when the body is byte for byte the one expected
UNCHANGED: Any = object()

#: idle pooled connections are kept this long (httpx's default, 5 s, is shorter than a typical
#: poll interval, so every poll paid a new TCP connection); a connection the server closed
#: meanwhile is noticed before reuse and replaced
KEEPALIVE_SECONDS = 60.0


def _remember_missing_sniffio() -> None:
    """httpcore does ``import sniffio`` twice per request; when it is not installed, every
    attempt searches the whole import path again (~0.4 ms each, most of an idle poll's CPU).
    Recording the module as absent makes the failed import immediate; nothing changes when
    it is installed."""
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


_remember_missing_sniffio()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context (CA bundle loaded once) shared by every source's client: building one
    per client took ~30 ms of CPU each, seconds at start with a hundred sources."""
    return httpx.create_ssl_context()


class _NoCookies(CookieJar):
    """No vendor API uses cookies (every one authenticates per request), yet httpx runs every
    response through the standard library's cookie parsing: a jar that keeps nothing skips it."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


#: request URLs (with their query) kept per source: a poll usually asks what the last one asked
_URL_CACHE_SIZE = 16


class FetchError(Exception):
    """A request failed for good (after retries where retrying made sense)."""

    def __init__(self, source: str, kind: str, message: str, *, status: int | None = None) -> None:
        self.source = source
        self.kind = kind
        self.status = status
        super().__init__(redact(f"{source}: {message}"))


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5
    base_delay: float = 0.25
    max_delay: float = 30.0
    max_rate_limit_wait: float = 300.0  # total time one request may spend waiting out 429s

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter (AWS architecture blog's recommendation)."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


class RateLimiter:
    """A token bucket: at most ``rate`` requests per second, bursts of up to ``burst``."""

    def __init__(self, rate: float, burst: int = 1) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._tokens = float(self.burst)
        self._updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        if not self._lock.locked():  # nobody waits for a token: take one without the lock if there is one
            now = time.monotonic()
            tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if tokens >= 1:
                self._tokens = tokens - 1
                return
            self._tokens = tokens
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class _Retry(Exception):
    def __init__(self, kind: str, message: str, status: int | None = None, retry_after: str | None = None) -> None:
        self.kind, self.message, self.status, self.retry_after = kind, message, status, retry_after
        super().__init__(message)


Reauthenticate = Callable[[], Awaitable[bool]]


class SourceHttp:
    """One pooled client per source, shared by all of its requests: with ``client="builtin"`` the
    requests go out through ``wire.py`` (least CPU); with ``"httpx"`` through httpx's own client,
    which honours proxy settings from the environment (``HTTP_PROXY``, ``HTTPS_PROXY``, ``NO_PROXY``)."""

    def __init__(self, source: str, base_url: str, *, timeout: float, max_concurrency: int,
                 requests_per_second: float, retry: RetryPolicy, metrics: SourceMetrics,
                 transport: httpx.AsyncBaseTransport | None = None, client: str = "builtin") -> None:
        self.source = source
        self.retry = retry
        self.metrics = metrics
        limits = httpx.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency,
                              keepalive_expiry=KEEPALIVE_SECONDS)
        # builtin: requests go out through wire.py (httpcore cost ~1.6 ms of CPU a small request, aiohttp ~0.5);
        # the httpx client then only builds URLs and default headers. httpx (or a transport given, as tests
        # do): the requests go through httpx; with no transport, httpx mounts the environment's proxies.
        builtin = transport is None and client == "builtin"
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            timeout=timeout,
            limits=limits,
            transport=transport,
            verify=_tls_context(),
            follow_redirects=True,
            cookies=_NoCookies(),
            trust_env=not builtin,
        )
        self._urls: dict[tuple[str, tuple[tuple[str, str], ...]], httpx.URL] = {}
        self._targets: dict[tuple[str, tuple[tuple[str, str], ...]], URL] = {}
        self._prefixes: dict[str, str | None] = {}  # path -> absolute URL without a query (None: httpx builds it)
        self._headers = {k: v for k, v in self.client.headers.items() if k != "connection"}  # HTTP/1.1's default
        #: what wire.py decodes (httpx would add br / zstd to its own default when their packages are installed)
        self._headers["accept-encoding"] = WIRE_ENCODINGS
        #: the builtin client's connections (None: requests go through ``self.client``)
        self._wire: WireClient | None = None
        if builtin:
            given = self.client.timeout
            connect = None if given.connect is None and given.pool is None else (given.connect or 0) + (given.pool or 0)
            self._wire = WireClient(ssl_context=_tls_context(), keepalive=KEEPALIVE_SECONDS,
                                    connect_timeout=connect, read_timeout=given.read)
        self._request_seconds = metrics.request_seconds.labels(source)
        self._slots = asyncio.Semaphore(max_concurrency)
        self._limiter = RateLimiter(requests_per_second, burst=max_concurrency)

    def _url(self, request: HttpRequest) -> httpx.URL:
        """The absolute URL of a request, query included, built once per distinct path and params.

        httpx parses and merges a relative URL with the base URL and the params on every
        request; built once, the same ``httpx.URL`` passes through its merge unchanged."""
        key = (request.path, tuple(request.params.items()) if request.params else ())
        url = self._urls.get(key)
        if url is None:
            if len(self._urls) >= _URL_CACHE_SIZE:
                self._urls.clear()
            url = self._urls[key] = self.client.build_request(
                "GET", request.path.lstrip("/"), params=request.params or None).url
        return url

    def _target(self, request: HttpRequest) -> URL:
        """The wire URL of a request for the direct path, built once per distinct path and params.

        The query is ``urlencode`` of the params, byte for byte what httpx builds for string
        values (a test compares them); the base URL and path are joined by httpx once per
        path. Anything else (a path with its own query, values that are not strings) goes
        through httpx as before: httpx parsed and re-quoted the whole URL on every new query
        (~0.3 ms, most of a moving-window poll's request building)."""
        params = request.params
        key = (request.path, tuple(params.items()) if params else ())
        target = self._targets.get(key)
        if target is not None:
            return target
        if len(self._targets) >= _URL_CACHE_SIZE:
            self._targets.clear()
        prefix = self._prefixes.get(request.path, "")
        if prefix == "":
            if len(self._prefixes) >= _URL_CACHE_SIZE:
                self._prefixes.clear()
            prefix = self._prefixes[request.path] = self._prefix(request.path)
        if prefix is not None and all(type(value) is str for value in params.values()):
            text = f"{prefix}?{urlencode(params)}" if params else prefix
        else:
            text = str(self._url(request))
        target = self._targets[key] = URL(text, encoded=True)
        return target

    def _prefix(self, path: str) -> str | None:
        """The absolute URL of ``path`` without a query as httpx joins it, or None when only httpx can
        say (the path has a query or a fragment of its own)."""
        if "?" in path or "#" in path:
            return None
        built = str(self.client.build_request("GET", path.lstrip("/")).url)
        return None if urlsplit(built).query else built

    async def close(self) -> None:
        if self._wire is not None:
            self._wire.close()
        await self.client.aclose()  # closes the transport too

    async def _send(self, request: HttpRequest) -> Reply:
        """The request on the wire, encoded and headed as httpx would (httpx's default headers,
        compact JSON, form encoding); through wire.py with the builtin client."""
        if self._wire is None:
            response = await self.client.send(self.client.build_request(
                request.method, self._url(request), headers=request.headers, json=request.json_body, data=request.form))
            return Reply(response.status_code, response.headers, response.content)
        target = self._target(request)
        given = request.headers
        headers = dict(given)
        if given:  # httpx's defaults under the request's own, names compared case-insensitively as httpx does
            named = {name.lower() for name in given}
            headers.update((name, value) for name, value in self._headers.items() if name not in named)
        else:
            headers.update(self._headers)
        body = None
        if request.json_body is not None:
            body = json.dumps(request.json_body, ensure_ascii=False, separators=(",", ":"),
                              allow_nan=False).encode()
            content_type = "application/json"
        elif request.form:
            body = urlencode(request.form, doseq=True).encode()
            content_type = "application/x-www-form-urlencoded"
        if body is not None and not any(k.lower() == "content-type" for k in request.headers):
            headers["Content-Type"] = content_type
        assert self._wire is not None
        return await self._wire.fetch(request.method, target, headers, body)

    async def fetch_json(self, build: Callable[[], Awaitable[HttpRequest]],
                         reauthenticate: Reauthenticate | None = None) -> Any:
        """Send the request ``build`` makes (fresh auth each attempt) and return its JSON body."""
        return (await self.fetch_page(build, reauthenticate))[1]

    async def fetch_page(self, build: Callable[[], Awaitable[HttpRequest]],
                         reauthenticate: Reauthenticate | None = None, known: bytes | None = None
                         ) -> tuple[bytes, Any]:
        """The body's bytes and its JSON; ``UNCHANGED`` instead of the JSON when the bytes are ``known``
        (they parsed before: not parsed again)."""
        attempt = 0
        rate_limited_for = 0.0
        reauthenticated = False
        while True:
            request = await build()
            try:
                return await self._once(request, known)
            except _Retry as retry:
                self.metrics.errors.labels(self.source, retry.kind).inc()
                if retry.kind == "unauthorized":
                    if reauthenticate is not None and not reauthenticated and await reauthenticate():
                        reauthenticated = True
                        continue
                    raise FetchError(self.source, retry.kind, retry.message, status=retry.status) from None
                if retry.kind == "rate_limited":
                    delay = _retry_after(retry.retry_after)
                    if delay is None:
                        delay = self.retry.backoff(min(attempt + 1 + int(rate_limited_for > 0), 8))
                    if rate_limited_for + delay > self.retry.max_rate_limit_wait:
                        raise FetchError(self.source, "rate_limited",
                                         f"{retry.message}; gave up after waiting {rate_limited_for:.0f}s "
                                         f"in total (cap {self.retry.max_rate_limit_wait:.0f}s)",
                                         status=429) from None
                    rate_limited_for += delay
                    await asyncio.sleep(delay)
                    continue
                attempt += 1
                if attempt > self.retry.max_retries:
                    raise FetchError(self.source, retry.kind,
                                     f"{retry.message} (gave up after {attempt} attempts)",
                                     status=retry.status) from None
                await asyncio.sleep(self.retry.backoff(attempt))

    async def _once(self, request: HttpRequest, known: bytes | None) -> tuple[bytes, Any]:
        started = time.perf_counter()
        async with self._slots:
            await self._limiter.acquire()
            try:
                response = await self._send(request)
            except httpx.TimeoutException as exc:
                raise _Retry("timeout", f"{_where(request)} timed out ({type(exc).__name__})") from None
            except httpx.TransportError as exc:
                raise _Retry("connection", f"{_where(request)} failed: {type(exc).__name__}: {exc}") from None
            finally:
                self._request_seconds.observe(time.perf_counter() - started)
        status = response.status
        if status == 401:
            raise _Retry("unauthorized", f"{_where(request)} answered 401 {_snippet(response)}", status)
        if status == 429:
            retry_after = response.headers.get("Retry-After")
            raise _Retry("rate_limited", f"{_where(request)} answered 429 (rate limited)", 429, retry_after)
        if status >= 500:
            raise _Retry("server_error", f"{_where(request)} answered {status} {_snippet(response)}", status)
        if status >= 400:
            # a documented client error (bad window, missing parameter, forbidden): retrying won't help
            raise FetchError(self.source, "client_error", f"{_where(request)} answered {status} {_snippet(response)}",
                             status=status)
        content = response.content
        if known is not None and content == known:
            return content, UNCHANGED
        try:
            return content, json.loads(content)
        except ValueError as exc:
            raise _Retry("invalid_json", f"{_where(request)} returned a body that is not JSON ({exc})",
                         status) from None


def _where(request: HttpRequest) -> str:
    """The method and path of a request for an error message (never its query: Convoso puts the token there)."""
    return f"{request.method} {request.path.split('?', 1)[0]}"


def _snippet(response: Reply) -> str:
    text = response.content[:1200].decode("utf-8", "replace")[:300].replace("\n", " ")
    return redact(text)
