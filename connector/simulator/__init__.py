"""Vendor API simulators fed by one simulated contact centre whose true state is always known.

Entry points: :class:`Simulation` (clock + contact centre + ground truth) and
:class:`SimulatorCluster` (the five HTTP simulators on loopback). See ``server.py``.
"""

from connector.simulator.clock import SimClock
from connector.simulator.faults import Fault, FaultPlan
from connector.simulator.server import SIMULATORS, VENDORS, SimulatorCluster
from connector.simulator.simulation import DEFAULT_START, DEFAULT_TENANT_FOR, Simulation
from connector.simulator.truth import ConversationCounts, GroundTruth, GroupCounts

__all__ = [
    "DEFAULT_START",
    "DEFAULT_TENANT_FOR",
    "SIMULATORS",
    "VENDORS",
    "ConversationCounts",
    "Fault",
    "FaultPlan",
    "GroundTruth",
    "GroupCounts",
    "SimClock",
    "Simulation",
    "SimulatorCluster",
]
