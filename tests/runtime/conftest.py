"""Loopback servers the HTTP tests talk to: an aiohttp application, or raw bytes on a socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

Raw = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
#: ``app_server``: start an application on a free loopback port, get its base URL
AppServer = Callable[[web.Application], Awaitable[str]]


@pytest.fixture
async def app_server() -> AsyncIterator[AppServer]:
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[Raw], Awaitable[str]]]:
    """A server that answers with whatever bytes a test writes, then closes."""
    servers: list[asyncio.Server] = []

    async def start(answer: Raw) -> str:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            try:
                await answer(reader, writer)
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()
