"""``http_client: httpx`` sends a source's requests through httpx's own client, which honours proxies."""

from __future__ import annotations

import pytest
from aiohttp import web

from connector.runtime.http import FetchError, HttpRequest, RetryPolicy, SourceHttp
from connector.runtime.metrics import SourceMetrics
from connector.sources.settings import SourceSettings
from tests.runtime.conftest import AppServer


async def build() -> HttpRequest:
    return HttpRequest("GET", "v1/agents", {"page": "2"}, {}, None, None)


def source_http(base_url: str, client: str) -> SourceHttp:
    return SourceHttp("src", base_url, timeout=2.0, max_concurrency=2, requests_per_second=100,
                      retry=RetryPolicy(max_retries=0), metrics=SourceMetrics(), client=client)


async def test_the_httpx_client_goes_through_the_environments_proxy(
        app_server: AppServer, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    async def proxy(request: web.Request) -> web.Response:  # a forward proxy is asked for the absolute URL
        seen.append(f"{request.headers['Host']}{request.path_qs}")
        return web.json_response({"via": "proxy"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy)
    proxy_url = await app_server(app)
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    http = source_http("http://vendor.invalid/api", "httpx")
    try:
        assert http._wire is None
        assert await http.fetch_json(build) == {"via": "proxy"}
    finally:
        await http.close()
    assert seen == ["vendor.invalid/api/v1/agents?page=2"]

    builtin = source_http("http://vendor.invalid/api", "builtin")  # ignores proxies: the host does not resolve
    try:
        with pytest.raises(FetchError, match="ConnectError"):
            await builtin.fetch_json(build)
    finally:
        await builtin.close()


async def test_both_clients_read_the_same_reply(app_server: AppServer) -> None:
    async def agents(request: web.Request) -> web.Response:
        return web.json_response({"page": request.query["page"], "agents": ["a", "b"]})

    app = web.Application()
    app.router.add_get("/api/v1/agents", agents)
    url = await app_server(app)
    for client in ("builtin", "httpx"):
        http = source_http(f"{url}/api", client)
        try:
            assert await http.fetch_json(build) == {"page": "2", "agents": ["a", "b"]}, client
        finally:
            await http.close()


def test_the_setting_accepts_only_the_two_clients() -> None:
    assert SourceSettings.model_fields["http_client"].default == "builtin"
    with pytest.raises(ValueError, match="http_client"):
        SourceSettings(vendor="x", name="s", tenant="t", base_url="http://h/", http_client="curl")  # type: ignore[arg-type]
