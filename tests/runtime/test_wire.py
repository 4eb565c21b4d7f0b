"""wire.py, the HTTP/1.1 client SourceHttp sends its own requests with: replies whole and decoded, keep-alive
reused, errors as httpx's types, against real loopback servers (aiohttp's and raw sockets)."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import shutil
import socket
import ssl
import subprocess
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from yarl import URL

from connector.runtime.http import RetryPolicy, SourceHttp, _tls_context
from connector.runtime.metrics import SourceMetrics
from connector.runtime.wire import WIRE_ENCODINGS, WireClient
from connector.sources.base import HttpRequest
from tests.runtime.conftest import AppServer, Raw

RawServer = Callable[[Raw], Awaitable[str]]


def wire(read_timeout: float = 2.0, keepalive: float = 60.0) -> WireClient:
    return WireClient(ssl_context=_tls_context(), keepalive=keepalive, connect_timeout=2.0, read_timeout=read_timeout)


async def get(client: WireClient, url: str, method: str = "GET", body: bytes | None = None,
              headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
    reply = await client.fetch(method, URL(url, encoded=True), headers or {"Accept": "*/*"}, body)
    return reply.status, reply.headers.get("x-kind", ""), reply.content


async def test_replies_are_read_whole_and_connections_reused(app_server: AppServer) -> None:
    peers: list[object] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        peers.append(request.transport.get_extra_info("peername") if request.transport else None)
        kind = request.match_info["kind"]
        if kind == "chunked":
            response = web.StreamResponse(headers={"X-Kind": "chunked"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            for part in (b'{"a":', b' [1, 2', b", 3]}"):
                await response.write(part)
            await response.write_eof()
            return response
        if kind == "manychunks":
            response = web.StreamResponse()
            response.enable_chunked_encoding()
            await response.prepare(request)
            for index in range(500):
                await response.write(bytes([65 + index % 26]) * 4000)
            await response.write_eof()
            return response
        if kind == "gzip":
            return web.Response(body=gzip.compress(b'{"z": 1}'), headers={"Content-Encoding": "gzip", "X-Kind": "gz"})
        if kind == "deflate":
            return web.Response(body=zlib.compress(b'{"d": 1}'), headers={"Content-Encoding": "deflate"})
        if kind == "post":
            length = request.headers.get("Content-Length", "none")
            return web.Response(body=await request.read(), headers={"X-Kind": length})
        if kind == "empty":
            return web.Response(status=204)
        if kind == "moved":
            raise web.HTTPSeeOther("/v1/post?after=redirect")
        if kind == "big":
            return web.Response(body=b"x" * 3_000_000)
        return web.json_response({"kind": kind}, status=int(request.query.get("status", "200")),
                                 headers={"X-Kind": kind, "Retry-After": "7"})

    app = web.Application()
    app.router.add_route("*", "/v1/{kind}", handler)
    url = await app_server(app)
    client = wire()
    try:
        assert await get(client, f"{url}/v1/plain") == (200, "plain", b'{"kind": "plain"}')
        status, _, content = await get(client, f"{url}/v1/limited?status=429")
        assert status == 429 and content == b'{"kind": "limited"}'
        reply = await client.fetch("GET", URL(f"{url}/v1/x"), {}, None)
        assert reply.headers.get("retry-after") == "7" and reply.headers.get("RETRY-AFTER") == "7"
        assert await get(client, f"{url}/v1/chunked") == (200, "chunked", b'{"a": [1, 2, 3]}')
        assert await get(client, f"{url}/v1/gzip") == (200, "gz", b'{"z": 1}')
        assert (await get(client, f"{url}/v1/deflate"))[2] == b'{"d": 1}'
        assert await get(client, f"{url}/v1/post", "POST", b'{"q":1}') == (200, "7", b'{"q":1}')
        assert await get(client, f"{url}/v1/post", "POST") == (200, "0", b"")
        assert await get(client, f"{url}/v1/empty") == (204, "", b"")
        assert await get(client, f"{url}/v1/moved", "POST", b"gone") == (200, "none", b"")  # 303: GET, no body
        assert len((await get(client, f"{url}/v1/big"))[2]) == 3_000_000
        assert (await get(client, f"{url}/v1/manychunks"))[2] == b"".join(
            bytes([65 + index % 26]) * 4000 for index in range(500))
        assert len(set(peers)) == 1  # every request over one kept-alive connection
    finally:
        client.close()


async def test_a_pooled_connection_the_server_closed_is_replaced(raw_server: RawServer) -> None:
    served = 0

    async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        served += 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")  # keep-alive, then closed below
        await writer.drain()

    url = await raw_server(once)
    client = wire()
    try:
        assert (await get(client, f"{url}/a"))[2] == b"ok"
        await asyncio.sleep(0.05)  # the server has closed the kept connection
        assert (await get(client, f"{url}/b"))[2] == b"ok"
        assert served == 2
    finally:
        client.close()


async def test_a_request_the_server_drops_on_a_reused_connection_is_sent_again_on_a_new_one(
        raw_server: RawServer) -> None:
    """The server closes a kept connection just as the next request arrives (its keep-alive ran out)."""
    connections = 0

    async def one_reply_per_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            await reader.readuntil(b"\r\n\r\n")  # the next request: dropped unanswered

    url = await raw_server(one_reply_per_connection)
    client = wire()
    try:
        assert (await get(client, f"{url}/a"))[2] == b"ok"
        assert (await get(client, f"{url}/b"))[2] == b"ok"
        assert connections == 2
    finally:
        client.close()


async def test_an_idle_connection_past_keepalive_is_not_reused(app_server: AppServer) -> None:
    peers: list[object] = []

    async def handler(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername") if request.transport else None)
        return web.Response(body=b"{}")

    app = web.Application()
    app.router.add_get("/x", handler)
    url = await app_server(app)
    client = wire(keepalive=0.05)
    try:
        await get(client, f"{url}/x")
        await asyncio.sleep(0.1)
        await get(client, f"{url}/x")
        assert len(set(peers)) == 2
    finally:
        client.close()


async def test_read_to_close_and_http_1_0_bodies(raw_server: RawServer) -> None:
    async def old(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"old\": true}")
        await writer.drain()

    url = await raw_server(old)
    client = wire()
    try:
        assert (await get(client, f"{url}/old"))[2] == b'{"old": true}'
        assert not client._idle.get(("http", "127.0.0.1", URL(url).port or 0))  # not kept: it ended the body
    finally:
        client.close()


@pytest.mark.parametrize("answer, error", [
    (b"", httpx.RemoteProtocolError),                                              # closed before a reply
    (b"NOT HTTP AT ALL\r\n\r\n", httpx.RemoteProtocolError),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"a\":", httpx.RemoteProtocolError),  # closed mid-body
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":", httpx.RemoteProtocolError),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n0\r\n\r\n", httpx.RemoteProtocolError),
    (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc", httpx.RemoteProtocolError),
])
async def test_broken_replies_are_httpx_transport_errors(raw_server: RawServer, answer: bytes,
                                                          error: type[Exception]) -> None:
    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(answer)
        await writer.drain()

    url = await raw_server(reply)
    client = wire()
    try:
        with pytest.raises(error) as caught:
            await get(client, f"{url}/x")
        assert isinstance(caught.value, httpx.TransportError)
    finally:
        client.close()


@pytest.mark.parametrize("first", [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"a\":"])
async def test_silence_is_a_read_timeout(raw_server: RawServer, first: bytes) -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(first)
        await writer.drain()
        await reader.read()  # until the client gives up and closes

    url = await raw_server(stall)
    client = wire(read_timeout=0.2)
    try:
        with pytest.raises(httpx.ReadTimeout):
            await get(client, f"{url}/slow")
    finally:
        client.close()


async def test_connection_refused_is_a_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = wire()
    with pytest.raises(httpx.ConnectError):
        await get(client, f"http://127.0.0.1:{port}/refused")


async def test_source_http_sends_through_it_and_closes_its_connections(app_server: AppServer) -> None:
    async def handler(request: web.Request) -> web.Response:
        # only what wire.py decodes is accepted, whatever httpx would advertise with brotli or zstd installed
        assert request.headers["Accept-Encoding"] == WIRE_ENCODINGS == "gzip, deflate"
        return web.json_response({"n": 1})

    app = web.Application()
    app.router.add_get("/v1/x", handler)
    url = await app_server(app)
    http = SourceHttp("src", url, timeout=1.0, max_concurrency=2, requests_per_second=100,
                      retry=RetryPolicy(max_retries=0), metrics=SourceMetrics())

    async def build() -> HttpRequest:
        return HttpRequest("GET", "v1/x", {}, {}, None, None)

    assert http._wire is not None
    assert await http.fetch_json(build) == {"n": 1}
    (pooled,) = [c for connections in http._wire._idle.values() for c in connections]
    assert not pooled.closed
    await http.close()
    assert pooled.closed


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost (the openssl command line makes it)."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command to make a certificate with")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


async def test_https_replies_over_one_verified_connection(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    peers: list[object] = []

    async def handler(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername") if request.transport else None)
        return web.json_response({"tls": True})

    app = web.Application()
    app.router.add_get("/x", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=served)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    trusting = WireClient(ssl_context=ssl.create_default_context(cafile=str(cert)), keepalive=60.0,
                          connect_timeout=2.0, read_timeout=2.0)
    try:
        for _ in range(2):
            assert await get(trusting, f"https://localhost:{port}/x") == (200, "", b'{"tls": true}')
        assert len(set(peers)) == 1
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await get(wire(), f"https://localhost:{port}/x")  # the system's CAs do not know this certificate
    finally:
        trusting.close()
        await runner.cleanup()


async def test_the_read_timeout_is_the_longest_wait_between_reads_on_every_request(raw_server: RawServer) -> None:
    """A reply that trickles in slower in total than the timeout is read; a reused connection that then
    goes silent times out in about the timeout."""
    async def trickle_then_stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
        for byte in b"abcde":
            await asyncio.sleep(0.08)
            writer.write(bytes([byte]))
            await writer.drain()
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            await reader.readuntil(b"\r\n\r\n")  # the second request: never answered
            await reader.read()

    url = await raw_server(trickle_then_stall)
    client = wire(read_timeout=0.2)
    loop = asyncio.get_running_loop()
    try:
        started = loop.time()
        assert (await get(client, f"{url}/a"))[2] == b"abcde"
        assert loop.time() - started > 0.35  # longer than the timeout in total, never 0.2 s without bytes
        started = loop.time()
        with pytest.raises(httpx.ReadTimeout):
            await get(client, f"{url}/b")
        assert 0.15 < loop.time() - started < 1.0
    finally:
        client.close()
