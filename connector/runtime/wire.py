"""A small HTTP/1.1 client on asyncio's transports: what ``SourceHttp`` sends its own requests with.

An idle source costs a request per poll and little else; aiohttp's client spent ~0.5 ms of CPU on
each small loopback request (session, request and response objects, trace hooks, cookie and proxy
handling, a timer per read), most of an idle poll. This client does what a source needs and no
more: keep-alive connections pooled per origin (plain or TLS), ``Content-Length``, chunked and
read-to-close bodies, gzip / deflate decoding, redirects as httpx follows them, a connect timeout
and a read timeout (the longest wait for the next bytes). Errors are httpx's exception types, so
``SourceHttp`` classifies them as it always has. A reused connection that the server closed meanwhile
is replaced and the request sent again once, before anything was read of its reply.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import zlib
from collections.abc import Mapping
from typing import Any, NamedTuple

import httpx
from multidict import CIMultiDict
from yarl import URL

__all__ = ["MAX_REDIRECTS", "WIRE_ENCODINGS", "Reply", "WireClient"]

MAX_REDIRECTS = 20  # httpx's default


class Reply(NamedTuple):
    """A reply read whole: the status, the (case-insensitive) headers and the decoded body."""

    status: int
    headers: Mapping[str, str]
    content: bytes


#: the Content-Encodings ``fetch`` decodes: what requests may accept
WIRE_ENCODINGS = "gzip, deflate"

_MAX_HEAD = 64 * 1024  # a status line and headers longer than this are not an HTTP reply we can use
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}


class _Stale(Exception):
    """A pooled connection was closed by the server before any of the reply arrived."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, list[tuple[str, str]], bytes, bool]] | None = None
        self._head: tuple[int, list[tuple[str, str]], bool] | None = None  # status, headers, keep-alive
        self._length: int | None = None  # body bytes expected (None: chunked or read to close)
        self._chunked = False
        self._parts: list[bytes] = []  # the chunks of a chunked body read so far (taken off the buffer)
        self._no_body = False
        #: the read timeout: one timer per connection that re-arms itself while replies keep coming
        #: in time (a timer made and cancelled per read cost more than the check)
        self._timer: asyncio.TimerHandle | None = None
        self._deadline = 0.0
        self._read_timeout: float | None = None
        self._loop = asyncio.get_running_loop()
        self._received_any = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def send(self, data: bytes, read_timeout: float | None, head_request: bool
             ) -> asyncio.Future[tuple[int, list[tuple[str, str]], bytes, bool]]:
        assert self.transport is not None
        loop = self._loop
        self._waiter = waiter = loop.create_future()
        self._buffer.clear()
        self._head, self._length, self._chunked, self._no_body = None, None, False, head_request
        self._parts = []
        self._received_any = False
        self._read_timeout = read_timeout
        if read_timeout is not None:
            self._deadline = loop.time() + read_timeout
            if self._timer is None:
                self._timer = loop.call_at(self._deadline, self._check_deadline)
        self.transport.write(data)
        return waiter

    def _check_deadline(self) -> None:
        self._timer = None
        if self._waiter is None or self._read_timeout is None:
            return  # idle: the next request arms it again
        if self._loop.time() < self._deadline:
            self._timer = self._loop.call_at(self._deadline, self._check_deadline)
            return
        self._fail(httpx.ReadTimeout("read timed out"))

    def _fail(self, error: BaseException) -> None:
        waiter, self._waiter = self._waiter, None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.close()
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    def close(self) -> None:
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # bytes nobody asked for: the connection cannot be trusted
            self.close()
            return
        self._received_any = True
        self._buffer += data
        try:
            done = self._parse(eof=False)
        except httpx.RemoteProtocolError as exc:
            self._fail(exc)
            return
        if done is None and self._read_timeout is not None:
            self._deadline = self._loop.time() + self._read_timeout  # the longest wait between reads

    def eof_received(self) -> bool | None:
        return False  # close the transport: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is None:
            return
        if self._head is not None and self._length is None and not self._chunked:
            try:
                self._parse(eof=True)  # a body read to the connection's close
            except httpx.RemoteProtocolError as error:
                self._fail(error)
            return
        if not self._received_any:
            self._fail(_Stale())
            return
        self._fail(httpx.RemoteProtocolError("server disconnected before the reply was complete"))

    def _parse(self, eof: bool) -> bool | None:
        """Parse what the buffer holds; resolve the waiter when the reply is complete (True)."""
        buffer = self._buffer
        while self._head is None:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > _MAX_HEAD:
                    raise httpx.RemoteProtocolError("reply headers too long")
                return None
            head = bytes(buffer[:end]).decode("latin-1")
            del buffer[:end + 4]
            lines = head.split("\r\n")
            try:
                version, code = lines[0].split(" ", 2)[:2]
                status = int(code)
            except ValueError:
                raise httpx.RemoteProtocolError(f"not an HTTP reply: {lines[0][:80]!r}") from None
            if not version.startswith("HTTP/1."):
                raise httpx.RemoteProtocolError(f"unsupported protocol {version[:20]!r}")
            if 100 <= status < 200:
                continue  # an interim reply (103 Early Hints): the real one follows
            headers: list[tuple[str, str]] = []
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if not sep or not name or name != name.strip():
                    raise httpx.RemoteProtocolError(f"malformed reply header {line[:80]!r}")
                headers.append((name, value.strip()))
            fields = {name.lower(): value.lower() for name, value in headers}
            connection = fields.get("connection", "")
            keep = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
            self._head = (status, headers, keep)
            if self._no_body or status in (204, 304):
                self._length = 0
            elif "chunked" in fields.get("transfer-encoding", ""):
                self._chunked = True
            elif "content-length" in fields:
                try:
                    self._length = int(fields["content-length"])
                except ValueError:
                    raise httpx.RemoteProtocolError("invalid Content-Length") from None
            else:
                self._head = (status, headers, False)  # read to close: the connection ends with it
        if self._chunked:
            body = self._dechunk()
            if body is None:
                return None
        elif self._length is not None:
            if len(buffer) < self._length:
                return None
            body = bytes(buffer[:self._length])
            del buffer[:self._length]
        else:
            if not eof:
                return None
            body = bytes(buffer)
            buffer.clear()
        status, headers, keep = self._head
        if buffer:  # bytes past the reply: never reuse a connection we are out of step with
            keep = False
        waiter, self._waiter = self._waiter, None  # the read timer stays: it finds the connection idle
        if not keep:
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result((status, headers, body, keep))
        return True

    def _dechunk(self) -> bytes | None:
        """The whole chunked body once the last chunk and the trailers are in, else None. Complete
        chunks are taken off the buffer as they arrive: a large body is not scanned again per read."""
        buffer, parts = self._buffer, self._parts
        while True:
            line_end = buffer.find(b"\r\n")
            if line_end < 0:
                return None
            size_text = bytes(buffer[:line_end]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise httpx.RemoteProtocolError("invalid chunk size") from None
            at = line_end + 2
            if size == 0:
                trailers_end = buffer.find(b"\r\n", at)
                while trailers_end > at:  # trailer fields: skipped
                    at = trailers_end + 2
                    trailers_end = buffer.find(b"\r\n", at)
                if trailers_end < 0:
                    return None
                del buffer[:trailers_end + 2]
                self._parts = []
                return b"".join(parts)
            if len(buffer) < at + size + 2:
                return None
            if buffer[at + size:at + size + 2] != b"\r\n":
                raise httpx.RemoteProtocolError("a chunk not ended by CRLF")
            parts.append(bytes(buffer[at:at + size]))
            del buffer[:at + size + 2]


def _decode(body: bytes, encoding: str) -> bytes:
    for coding in reversed([c.strip().lower() for c in encoding.split(",") if c.strip()]):
        if coding in ("gzip", "x-gzip"):
            body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
        elif coding == "deflate":
            try:
                body = zlib.decompress(body)
            except zlib.error:
                body = zlib.decompress(body, -zlib.MAX_WBITS)  # raw deflate, as some servers send it
        elif coding != "identity":
            raise httpx.RemoteProtocolError(f"unsupported Content-Encoding {coding!r}")
    return body


class WireClient:
    """Pooled keep-alive connections per origin; ``fetch`` sends one request and reads its reply whole."""

    def __init__(self, *, ssl_context: ssl.SSLContext, keepalive: float, connect_timeout: float | None,
                 read_timeout: float | None) -> None:
        self._ssl = ssl_context
        self._keepalive = keepalive
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._hosts: dict[tuple[str, str, int], bytes] = {}

    async def fetch(self, method: str, url: URL, headers: Mapping[str, str], body: bytes | None) -> Reply:
        for _ in range(MAX_REDIRECTS + 1):
            status, raw_headers, content = await self._exchange(method, url, headers, body)
            location = next((v for k, v in raw_headers if k.lower() == "location"), None) \
                if status in _REDIRECTS else None
            if location is None:
                reply_headers = CIMultiDict(raw_headers)
                encoding = reply_headers.get("Content-Encoding")
                if encoding and content:
                    try:
                        content = _decode(content, encoding)
                    except zlib.error as exc:
                        raise httpx.RemoteProtocolError(f"could not decode the {encoding} body: {exc}") from None
                return Reply(status, reply_headers, content)
            target = url.join(URL(location))
            if status == 303 or (status in (301, 302) and method == "POST"):
                method, body = ("GET" if method != "HEAD" else method), None  # as httpx (and browsers) do
                headers = {k: v for k, v in headers.items()
                           if k.lower() not in ("content-type", "content-length", "transfer-encoding")}
            if target.origin() != url.origin():
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            url = target
        raise httpx.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects")

    async def _exchange(self, method: str, url: URL, headers: Mapping[str, str], body: bytes | None
                        ) -> tuple[int, list[tuple[str, str]], bytes]:
        scheme = url.scheme
        if scheme not in _DEFAULT_PORTS or not url.raw_host:
            raise httpx.UnsupportedProtocol(f"cannot send to {scheme!r} URLs")
        key = (scheme, url.raw_host, url.port or _DEFAULT_PORTS[scheme])
        data = self._request_bytes(key, url, method, headers, body)
        for attempt in range(2):
            connection, reused = await self._connection(key)
            try:
                status, reply_headers, content, keep = await connection.send(
                    data, self._read_timeout, method == "HEAD")
            except _Stale:
                if reused and attempt == 0:
                    continue  # closed while it idled in the pool: once more on a new connection
                raise httpx.RemoteProtocolError("server disconnected without sending a reply") from None
            except BaseException:
                connection.close()  # cancelled or failed mid-reply: never reused
                raise
            if keep and not connection.closed:
                connection.idle_since = time.monotonic()
                self._idle.setdefault(key, []).append(connection)
            return status, reply_headers, content
        raise AssertionError("unreachable")

    def _request_bytes(self, key: tuple[str, str, int], url: URL, method: str, headers: Mapping[str, str],
                       body: bytes | None) -> bytes:
        host = self._hosts.get(key)
        if host is None:
            scheme, raw_host, port = key
            name = f"[{raw_host}]" if ":" in raw_host else raw_host
            host = f"Host: {name if port == _DEFAULT_PORTS[scheme] else f'{name}:{port}'}\r\n".encode("latin-1")
            self._hosts[key] = host
        lines = [f"{method} {url.raw_path_qs} HTTP/1.1\r\n".encode("ascii"), host]
        lines += [f"{name}: {value}\r\n".encode("latin-1") for name, value in headers.items()
                  if name.lower() not in ("host", "content-length", "transfer-encoding")]
        if body is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(b"Content-Length: %d\r\n" % len(body or b""))
        lines.append(b"\r\n")
        if body:
            lines.append(body)
        return b"".join(lines)

    async def _connection(self, key: tuple[str, str, int]) -> tuple[_Connection, bool]:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            transport = connection.transport
            if (connection.closed or transport is None or transport.is_closing()
                    or now - connection.idle_since > self._keepalive):
                connection.close()
                continue
            return connection, True
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        tls: dict[str, Any] = {"ssl": self._ssl, "server_hostname": host} if scheme == "https" else {}
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, connection = await loop.create_connection(_Connection, host, port, **tls)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}") from None
        return connection, False

    def close(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()
