"""SourceHttp's builtin client (wire.py): the same bytes on the wire as through httpx, and bodies compared unparsed."""

from __future__ import annotations

import gzip
import json
import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from aiohttp import web

from connector.runtime.http import UNCHANGED, FetchError, RetryPolicy, SourceHttp
from connector.runtime.metrics import SourceMetrics
from connector.sources.base import HttpRequest
from tests.runtime.conftest import AppServer

Seen = list[dict[str, Any]]
_COMPARED = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type", "Content-Length", "auth", "X-Auth-Token")


@pytest.fixture
async def server(app_server: AppServer) -> tuple[str, Seen, dict[str, Any]]:
    seen: Seen = []
    replies: dict[str, Any] = {"body": b'{"ok":true}'}

    async def echo(request: web.Request) -> web.StreamResponse:
        seen.append({"method": request.method, "url": str(request.rel_url), "body": await request.read(),
                     "headers": {name: request.headers.get(name) for name in _COMPARED}})
        body = replies["body"]
        if request.path == "/gz":
            return web.Response(body=gzip.compress(body), content_type="application/json",
                                headers={"Content-Encoding": "gzip"})
        if request.path == "/moved":
            raise web.HTTPFound("/v1/x?after=redirect")
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    return await app_server(app), seen, replies


def source_http(url: str, transport: httpx.AsyncBaseTransport | None = None, retries: int = 0,
                client: str = "builtin") -> SourceHttp:
    return SourceHttp("src", url, timeout=1.0, max_concurrency=2, requests_per_second=1000,
                      retry=RetryPolicy(max_retries=retries, base_delay=0.001, max_delay=0.01),
                      metrics=SourceMetrics(), transport=transport, client=client)


def build(request: HttpRequest) -> Callable[[], Any]:
    async def made() -> HttpRequest:
        return request
    return made


REQUESTS = [
    HttpRequest("GET", "v1/search", {"date_start": "2024-01-01", "q": "a b&c", "auth_token": "tok"}, {}, None, None),
    HttpRequest("POST", "/v1/status", {"limit": "50"}, {"auth": "jwt", "Content-Type": "application/json"},
                {"filter": {"day": "2024-01-01", "name": "ü"}}, None),
    HttpRequest("POST", "v1/user-activity", {}, {}, None, {"auth_token": "a&b=c é", "campaign_id": "7"}),
    HttpRequest("GET", "v1/plain", {}, {"X-Auth-Token": "t", "Accept": "application/json"}, None, None),
]


async def test_direct_requests_match_what_httpx_sends(server: tuple[str, Seen, dict[str, Any]]) -> None:
    url, seen, _ = server
    direct = source_http(url)
    through_httpx = source_http(url, client="httpx")
    assert direct._wire is not None and through_httpx._wire is None
    try:
        for request in REQUESTS:
            assert await direct.fetch_json(build(request)) == {"ok": True}
            assert await through_httpx.fetch_json(build(request)) == {"ok": True}
            ours, theirs = seen[-2], seen[-1]
            assert ours == theirs, request.path
    finally:
        await direct.close()
        await through_httpx.close()
    assert seen[2]["headers"]["Content-Type"] == "application/json"  # the caller's own, kept
    assert seen[4]["headers"]["Content-Type"] == "application/x-www-form-urlencoded"


async def test_direct_replies_are_decoded_and_redirects_followed(server: tuple[str, Seen, dict[str, Any]]) -> None:
    url, seen, replies = server
    replies["body"] = json.dumps({"rows": list(range(50))}).encode()
    http = source_http(url)
    try:
        rows = {"rows": list(range(50))}
        assert await http.fetch_json(build(HttpRequest("GET", "gz", {}, {}, None, None))) == rows
        assert await http.fetch_json(build(HttpRequest("GET", "moved", {}, {}, None, None))) == rows
        assert seen[-1]["url"] == "/v1/x?after=redirect"
    finally:
        await http.close()


async def test_a_body_equal_to_the_known_one_is_not_parsed(server: tuple[str, Seen, dict[str, Any]]) -> None:
    url, _, replies = server
    http = source_http(url)
    request = build(REQUESTS[0])
    try:
        content, body = await http.fetch_page(request)
        assert content == b'{"ok":true}' and body == {"ok": True}
        assert await http.fetch_page(request, known=content) == (content, UNCHANGED)
        replies["body"] = b'{"ok":false}'
        assert await http.fetch_page(request, known=content) == (b'{"ok":false}', {"ok": False})
    finally:
        await http.close()


async def test_a_changed_body_that_is_not_json_is_still_retried(server: tuple[str, Seen, dict[str, Any]]) -> None:
    url, seen, replies = server
    replies["body"] = b'{"truncated": '
    http = source_http(url, retries=2)
    try:
        with pytest.raises(FetchError) as caught:
            await http.fetch_page(build(REQUESTS[0]), known=b'{"ok":true}')
        assert caught.value.kind == "invalid_json" and len(seen) == 3
    finally:
        await http.close()


async def test_direct_connection_errors_are_httpx_errors_retried() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    http = source_http(f"http://127.0.0.1:{port}", retries=1)
    try:
        with pytest.raises(FetchError) as caught:
            await http.fetch_json(build(REQUESTS[0]))
        assert caught.value.kind == "connection" and "ConnectError" in str(caught.value)
    finally:
        await http.close()
