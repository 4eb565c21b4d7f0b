"""Fixtures: a frozen simulation (seed 7) and all five simulators on loopback ports."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from connector.simulator import Simulation, SimulatorCluster


@pytest.fixture
def sim() -> Simulation:
    return Simulation(seed=7)


@pytest.fixture
async def cluster(sim: Simulation) -> AsyncIterator[SimulatorCluster]:
    async with SimulatorCluster(sim, options={"vonage": {"page_size": 400}}) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10.0) as client:
        yield client
