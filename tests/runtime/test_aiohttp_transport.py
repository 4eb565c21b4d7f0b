"""The aiohttp transport under httpx: replies arrive as httpx would give them, errors as httpx's types."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
from collections.abc import Awaitable, Callable

import httpx
import pytest
from aiohttp import web

from connector.runtime.aiohttp_transport import AiohttpTransport
from tests.runtime.conftest import Raw


def client(base_url: str, timeout: float = 2.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, timeout=timeout,
                             transport=AiohttpTransport(limits=httpx.Limits(max_connections=2)))


async def test_json_reply_with_status_and_headers(app_server: Callable[[web.Application], Awaitable[str]]) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"query": dict(request.query), "agent": request.headers.get("X-Agent")},
                                 status=201, headers={"X-Request-Id": "r-1", "Retry-After": "7"})

    app = web.Application()
    app.router.add_get("/v1/agents", handler)
    url = await app_server(app)
    async with client(url) as http:
        response = await http.get("/v1/agents", params={"from": "2024-01-01T00:00:00Z", "q": "a b&c"},
                                  headers={"X-Agent": "a-1"})
    assert response.status_code == 201
    assert response.headers["X-Request-Id"] == "r-1"
    assert response.headers["retry-after"] == "7"
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"query": {"from": "2024-01-01T00:00:00Z", "q": "a b&c"}, "agent": "a-1"}
    assert response.http_version == "HTTP/1.1"
    assert response.reason_phrase == "Created"
    assert response.request.url.path == "/v1/agents"


async def test_post_form_and_json_bodies_arrive_intact(
        app_server: Callable[[web.Application], Awaitable[str]]) -> None:
    seen: list[tuple[str, str, bytes]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append((request.content_type, request.headers.get("Content-Length", ""), await request.read()))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/token", handler)
    url = await app_server(app)
    async with client(url) as http:
        form = await http.post("/token", data={"grant_type": "client_credentials", "secret": "a&b=c é"})
        body = await http.post("/token", json={"user": "ü", "ids": [1, 2, 3]})
    assert form.json() == body.json() == {"ok": True}
    (form_type, form_length, form_body), (json_type, json_length, json_body) = seen
    assert form_type == "application/x-www-form-urlencoded"
    assert form_body == httpx.Request("POST", "http://x", data={
        "grant_type": "client_credentials", "secret": "a&b=c é"}).read()
    assert int(form_length) == len(form_body)
    assert json_type == "application/json"
    assert json.loads(json_body) == {"user": "ü", "ids": [1, 2, 3]}
    assert int(json_length) == len(json_body)


async def test_gzip_reply_is_decoded_once(app_server: Callable[[web.Application], Awaitable[str]]) -> None:
    payload = json.dumps({"rows": list(range(100))}).encode()

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=gzip.compress(payload), content_type="application/json",
                            headers={"Content-Encoding": "gzip"})

    app = web.Application()
    app.router.add_get("/z", handler)
    url = await app_server(app)
    async with client(url) as http:
        response = await http.get("/z")
    assert response.content == payload


async def test_slow_reply_is_a_read_timeout(raw_server: Callable[[Raw], Awaitable[str]]) -> None:
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up and closes

    url = await raw_server(slow)
    async with client(url, timeout=0.2) as http:
        with pytest.raises(httpx.ReadTimeout) as caught:
            await http.get("/slow")
    assert isinstance(caught.value, httpx.TimeoutException)
    assert caught.value.request.url.path == "/slow"


async def test_reply_stalling_mid_body_is_a_read_timeout(raw_server: Callable[[Raw], Awaitable[str]]) -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":")
        await writer.drain()
        await reader.read()  # until the client gives up and closes

    url = await raw_server(stall)
    async with client(url, timeout=0.2) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get("/stall")


async def test_connection_closed_mid_body_is_a_transport_error(raw_server: Callable[[Raw], Awaitable[str]]) -> None:
    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":")
        await writer.drain()

    url = await raw_server(drop)
    async with client(url) as http:
        with pytest.raises(httpx.TransportError) as caught:
            await http.get("/drop")
    assert not isinstance(caught.value, httpx.TimeoutException)
    assert isinstance(caught.value, httpx.RemoteProtocolError | httpx.ReadError)
    assert caught.value.request.url.path == "/drop"


async def test_connection_closed_before_reply_is_a_transport_error(
        raw_server: Callable[[Raw], Awaitable[str]]) -> None:
    async def nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        return None

    url = await raw_server(nothing)
    async with client(url) as http:
        with pytest.raises(httpx.TransportError) as caught:
            await http.get("/none")
    assert not isinstance(caught.value, httpx.TimeoutException)
    assert caught.value.request.url.path == "/none"


async def test_invalid_http_is_a_remote_protocol_error(raw_server: Callable[[Raw], Awaitable[str]]) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()

    url = await raw_server(garbage)
    async with client(url) as http:
        with pytest.raises(httpx.RemoteProtocolError) as caught:
            await http.get("/garbage")
    assert caught.value.request.url.path == "/garbage"


async def test_connection_refused_is_a_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with client(f"http://127.0.0.1:{port}") as http:
        with pytest.raises(httpx.ConnectError) as caught:
            await http.get("/refused")
    assert caught.value.request.url.port == port


async def test_redirects_are_left_to_httpx(app_server: Callable[[web.Application], Awaitable[str]]) -> None:
    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/there")

    async def there(request: web.Request) -> web.Response:
        return web.json_response({"here": True})

    app = web.Application()
    app.router.add_get("/moved", moved)
    app.router.add_get("/there", there)
    url = await app_server(app)
    async with client(url) as http:
        assert (await http.get("/moved")).status_code == 302
        followed = await http.get("/moved", follow_redirects=True)
    assert followed.json() == {"here": True}
    assert [r.status_code for r in followed.history] == [302]
