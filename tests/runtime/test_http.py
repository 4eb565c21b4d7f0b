"""The retrying HTTP layer against a real loopback server that misbehaves on purpose."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web

from connector.runtime.http import FetchError, RetryPolicy, SourceHttp
from connector.runtime.metrics import SourceMetrics
from connector.sources.base import HttpRequest
from tests.runtime.conftest import AppServer

Script = list[Callable[[web.Request], Any]]


@pytest.fixture
async def server(app_server: AppServer) -> tuple[str, Script, list[web.Request]]:
    script: Script = []
    seen: list[web.Request] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        step = script.pop(0) if script else (lambda r: web.json_response({"ok": True}))
        result = step(request)
        return await result if asyncio.iscoroutine(result) else result  # type: ignore[no-any-return]

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return await app_server(app), script, seen


def client(url: str, metrics: SourceMetrics | None = None, **retry: Any) -> SourceHttp:
    policy = RetryPolicy(**{"max_retries": 3, "base_delay": 0.01, "max_delay": 0.05, **retry})
    return SourceHttp("src", url, timeout=0.5, max_concurrency=2, requests_per_second=1000, retry=policy,
                      metrics=metrics or SourceMetrics())


def request(path: str = "v1/search", token: str = "tok-SECRET-1") -> Callable[[], Any]:
    async def build() -> HttpRequest:
        return HttpRequest("GET", path, {"auth_token": token}, {}, None, None)
    return build


def status(code: int, body: str = "oops", headers: dict[str, str] | None = None) -> Callable[[web.Request], Any]:
    return lambda r: web.Response(status=code, text=body, headers=headers)


async def test_retries_5xx_and_bad_json_then_succeeds(server: tuple[str, Script, list[web.Request]]) -> None:
    url, script, seen = server
    script += [status(500), status(502), status(503)]
    http = client(url, max_retries=3)
    assert await http.fetch_json(request()) == {"ok": True}
    assert len(seen) == 4
    script += [lambda r: web.Response(text='{"truncated": ', content_type="application/json")]
    assert await http.fetch_json(request()) == {"ok": True}
    await http.close()


async def test_gives_up_after_max_retries_naming_the_path_without_the_token(
        server: tuple[str, Script, list[web.Request]]) -> None:
    url, script, seen = server
    script += [status(503)] * 10
    metrics = SourceMetrics()
    http = client(url, metrics, max_retries=2)
    with pytest.raises(FetchError) as caught:
        await http.fetch_json(request())
    assert caught.value.kind == "server_error" and caught.value.status == 503
    assert "GET v1/search answered 503" in str(caught.value) and "gave up after 3 attempts" in str(caught.value)
    assert "tok-SECRET-1" not in str(caught.value)
    assert len(seen) == 3
    assert metrics.errors.labels("src", "server_error")._value.get() == 3
    await http.close()


async def test_honours_retry_after_and_caps_the_total_wait(server: tuple[str, Script, list[web.Request]]) -> None:
    url, script, _seen = server
    script += [status(429, headers={"Retry-After": "0.3"}), status(429)]
    http = client(url)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await http.fetch_json(request()) == {"ok": True}
    assert loop.time() - started >= 0.3  # waited what the server asked for
    script += [status(429, headers={"Retry-After": "120"})]
    with pytest.raises(FetchError) as caught:
        await client(url, max_rate_limit_wait=10).fetch_json(request())
    assert caught.value.kind == "rate_limited" and "cap 10s" in str(caught.value)
    await http.close()


async def test_timeouts_and_dropped_connections_are_retried(server: tuple[str, Script, list[web.Request]]) -> None:
    url, script, _seen = server

    async def slow(r: web.Request) -> web.Response:
        await asyncio.sleep(1.0)
        return web.json_response({"late": True})

    async def drop_mid_body(r: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "1000", "Content-Type": "application/json"})
        await response.prepare(r)
        await response.write(b'{"entries": [')
        assert r.transport is not None
        r.transport.close()
        return response

    script += [slow, drop_mid_body]
    metrics = SourceMetrics()
    http = client(url, metrics)
    assert await http.fetch_json(request()) == {"ok": True}
    assert metrics.errors.labels("src", "timeout")._value.get() == 1
    assert metrics.errors.labels("src", "connection")._value.get() == 1
    await http.close()


async def test_401_reauthenticates_once_then_uses_the_new_credentials(
        server: tuple[str, Script, list[web.Request]]) -> None:
    url, script, seen = server
    tokens = iter(["old-token-1", "new-token-2"])
    current = {"token": next(tokens)}

    def build() -> Any:
        return request(token=current["token"])()

    async def reauthenticate() -> bool:
        current["token"] = next(tokens)
        return True

    script += [lambda r: status(401)(r) if r.query["auth_token"] == "old-token-1" else web.json_response({"n": 1})]
    http = client(url)
    assert await http.fetch_json(build, reauthenticate) == {"ok": True}
    assert [r.query["auth_token"] for r in seen] == ["old-token-1", "new-token-2"]
    # static credentials: a 401 is final, reported as unauthorized
    script += [status(401, '{"status":"error","message":"You must be logged in to do this."}')]
    with pytest.raises(FetchError) as caught:
        await http.fetch_json(request())
    assert caught.value.kind == "unauthorized" and "logged in" in str(caught.value)
    await http.close()


async def test_documented_client_errors_are_not_retried(server: tuple[str, Script, list[web.Request]]) -> None:
    url, script, seen = server
    script += [status(400, '{"message":"Request window size limit exceeded 31 days"}')]
    with pytest.raises(FetchError) as caught:
        await client(url).fetch_json(request())
    assert caught.value.kind == "client_error" and "31 days" in str(caught.value)
    assert len(seen) == 1


async def test_urls_are_the_ones_httpx_builds_and_reused(server: tuple[str, Script, list[web.Request]]) -> None:
    url, _script, seen = server
    http = client(url + "/base")
    try:
        for path, params in [("/v1/search", {"a": "1 2", "b": "ü"}), ("/v1/search", {"a": "1 2", "b": "ü"}),
                             ("v1/other", {}), ("v1/search", {"a": "3"})]:
            async def build(path: str = path, params: dict[str, str] = params) -> HttpRequest:
                return HttpRequest("GET", path, params, {}, None, None)
            assert await http.fetch_json(build) == {"ok": True}
            expected = http.client.build_request("GET", path.lstrip("/"), params=params or None).url
            assert str(seen[-1].url) == str(expected)
        assert len(http._targets) == 3  # the repeated path and params built once
    finally:
        await http.close()


@pytest.mark.parametrize("base", ["http://127.0.0.1:9", "http://127.0.0.1:9/base", "http://127.0.0.1:9/base/",
                                  "https://vendor.example.com/api/v2"])
async def test_direct_urls_are_byte_for_byte_what_httpx_builds(base: str) -> None:
    """The direct path's own query encoding (``urlencode``) gives httpx's exact URL, whatever the values hold."""
    http = client(base)
    values = ["2026-11-22T09:00:00.000Z", "2026-11-22T09:00:00+01:00", "1 2", "a+b", "ü/é", "", "x&y=z?#%",
              "~_.-!*'();:@$,[]|^`{}<>\\\"", "\t\n", "😀", "tok-SECRET-1"]
    try:
        for path in ["/stats/agent-activities", "v1/agent-productivity/search", "/a b/ü", "/x;y=1/z"]:
            for index, value in enumerate(values):
                params = {"start": value, "upTo": values[-1 - index], "page": str(index)}
                request = HttpRequest("GET", path, params, {}, None, None)
                expected = http.client.build_request("GET", path.lstrip("/"), params=params).url
                assert str(http._target(request)) == str(expected)
            bare = HttpRequest("GET", path, {}, {}, None, None)
            assert str(http._target(bare)) == str(http.client.build_request("GET", path.lstrip("/")).url)
        with_query = HttpRequest("GET", "/v1/x?fixed=1", {"a": "b c"}, {}, None, None)
        expected = http.client.build_request("GET", "v1/x?fixed=1", params={"a": "b c"}).url
        assert str(http._target(with_query)) == str(expected)  # left to httpx: it merges the two queries
    finally:
        await http.close()


async def test_cookies_set_by_a_server_are_not_kept(server: tuple[str, Script, list[web.Request]]) -> None:
    url, script, seen = server

    def with_cookie(r: web.Request) -> web.Response:
        response = web.json_response({"ok": True})
        response.set_cookie("session", "abc")
        return response
    script.append(with_cookie)
    http = client(url)
    try:
        await http.fetch_json(request())
        await http.fetch_json(request())
        assert "Cookie" not in seen[-1].headers and not http.client.cookies
    finally:
        await http.close()
