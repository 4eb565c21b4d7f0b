"""Requests sent with aiohttp's client (C HTTP parser) as an httpx transport.

As a transport, httpx stays the client API (URL building, headers, redirects, decoding);
only the wire work moves: httpcore costs ~1.1 ms of CPU per small loopback request (anyio
cancel scopes, h11, per-request models). aiohttp does not decode ``Content-Encoding`` there
(httpx does) nor follow redirects (httpx does, when asked).

``SourceHttp`` sends the requests it builds itself through ``wire.py`` (cheaper still); this
transport stays under its httpx client for anything sent through httpx.

Bodies are read whole (a source reads every reply whole anyway). Errors become httpx's
exception types either way, so callers classify them as they always have.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator, Mapping
from typing import NamedTuple

import aiohttp
import httpx
from yarl import URL

__all__ = ["MAX_REDIRECTS", "AiohttpTransport", "Reply"]

MAX_REDIRECTS = 20  # httpx's default


class Reply(NamedTuple):
    """A reply read whole: the status, the (case-insensitive) headers and the decoded body."""

    status: int
    headers: Mapping[str, str]
    content: bytes


def _seconds(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One ``aiohttp.ClientSession`` (made on first use, inside the event loop) per transport."""

    def __init__(self, *, limits: httpx.Limits | None = None, ssl_context: ssl.SSLContext | bool = True,
                 keepalive_expiry: float | None = None) -> None:
        limits = limits or httpx.Limits()
        self._limit = limits.max_connections or 0  # aiohttp: 0 means no limit
        expiry = keepalive_expiry if keepalive_expiry is not None else limits.keepalive_expiry
        self._keepalive = expiry if expiry is not None else 15.0
        self._ssl = ssl_context
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

    def _client(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(limit=self._limit, limit_per_host=0,
                                             keepalive_timeout=self._keepalive, ssl=self._ssl,
                                             ttl_dns_cache=300)
            session = self._session = aiohttp.ClientSession(
                connector=connector, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False,
                timeout=aiohttp.ClientTimeout(total=None), raise_for_status=False, trust_env=False)
        return session

    def timeout(self, given: Mapping[str, object]) -> aiohttp.ClientTimeout:
        """httpx's connect/read/pool timeouts as aiohttp's: ``connect`` covers waiting for a
        pooled connection and opening one, ``sock_read`` the longest wait between reads."""
        connect, read, pool = (_seconds(given.get(key)) for key in ("connect", "read", "pool"))
        key = (connect, read, pool)
        timeout = self._timeouts.get(key)
        if timeout is None:
            total_connect = None if connect is None and pool is None else (connect or 0.0) + (pool or 0.0)
            timeout = self._timeouts[key] = aiohttp.ClientTimeout(
                total=None, connect=total_connect, sock_connect=connect, sock_read=read)
        return timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        with _httpx_errors(request):
            async with self._client().request(
                    request.method, URL(str(request.url), encoded=True),
                    headers=request.headers.multi_items(), data=body or None,
                    allow_redirects=False, timeout=self.timeout(request.extensions.get("timeout") or {})) as reply:
                content = await reply.read()
                version = reply.version
                return httpx.Response(
                    reply.status, headers=reply.raw_headers, stream=httpx.ByteStream(content),
                    request=request,
                    extensions={"http_version": b"HTTP/%d.%d" % (version.major, version.minor) if version
                                else b"HTTP/1.1",
                                "reason_phrase": (reply.reason or "").encode("latin-1", "replace")})
        raise AssertionError("unreachable")  # _httpx_errors re-raises every error

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()


@contextlib.contextmanager
def _httpx_errors(request: httpx.Request | None) -> Iterator[None]:
    """aiohttp's errors as httpx's (callers classify those), the request attached when there is one."""
    try:
        yield
    except aiohttp.ConnectionTimeoutError as exc:
        raise httpx.ConnectTimeout(_message(exc, "connect timed out"), request=request) from exc
    except TimeoutError as exc:  # aiohttp's ServerTimeoutError is one too
        raise httpx.ReadTimeout(_message(exc, "read timed out"), request=request) from exc
    except aiohttp.ClientConnectorError as exc:
        raise httpx.ConnectError(_message(exc, "connection failed"), request=request) from exc
    except aiohttp.ServerDisconnectedError as exc:
        raise httpx.RemoteProtocolError(_message(exc, "server disconnected"), request=request) from exc
    except aiohttp.ClientPayloadError as exc:
        raise httpx.RemoteProtocolError(_message(exc, "incomplete body"), request=request) from exc
    except aiohttp.ClientResponseError as exc:  # a reply aiohttp's parser rejected, too many redirects
        raise httpx.RemoteProtocolError(_message(exc, "invalid HTTP reply"), request=request) from exc
    except aiohttp.ClientOSError as exc:
        raise httpx.ReadError(_message(exc, "connection error"), request=request) from exc
    except aiohttp.InvalidURL as exc:
        raise httpx.UnsupportedProtocol(_message(exc, "invalid URL"), request=request) from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise httpx.ReadError(_message(exc, "transport error"), request=request) from exc


def _message(exc: BaseException, fallback: str) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else fallback
