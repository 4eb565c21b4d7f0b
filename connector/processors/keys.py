"""Table keys: agents are ``tenant:vendor:agent_id`` (the input topic's key), groups ``tenant:vendor:type:id``.

Group ids are the last part, so they may contain ':'; tenants (config pattern) and
vendor names cannot. The tenant as a whole is ``tenant:<vendor>:tenant:all`` per
vendor and, across vendors, ``tenant:*:tenant:all``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from connector.model import AgentStateChanged, skills_tuple

__all__ = [
    "ALL_VENDORS",
    "GROUP_TYPES",
    "TENANT_SUFFIX",
    "GroupKey",
    "GroupType",
    "agent_key",
    "event_group_suffixes",
    "group_keys",
    "parse_agent_key",
]

GroupType = Literal["tenant", "campaign", "queue", "skill"]
GROUP_TYPES: tuple[GroupType, ...] = ("tenant", "campaign", "queue", "skill")
#: Vendor part of the cross-vendor tenant group.
ALL_VENDORS = "*"
#: Suffix of the whole-tenant group; its id matches Convoso user-activity's 'all' group key.
TENANT_SUFFIX = "tenant:all"


def agent_key(tenant: str, vendor: str, agent_id: str) -> str:
    """Same as ``AgentStateChanged.kafka_key()``, so the agent table is co-partitioned with its input."""
    return f"{tenant}:{vendor}:{agent_id}"


def parse_agent_key(key: str) -> tuple[str, str, str]:
    tenant, vendor, agent_id = key.split(":", 2)
    return tenant, vendor, agent_id


@dataclass(frozen=True, slots=True, order=True)
class GroupKey:
    """One group of agents whose availability is counted: a tenant, campaign, queue or skill."""

    tenant: str
    vendor: str
    group_type: GroupType
    group_id: str

    @property
    def key(self) -> str:
        return f"{self.tenant}:{self.vendor}:{self.group_type}:{self.group_id}"

    @classmethod
    def parse(cls, key: str) -> GroupKey:
        tenant, vendor, group_type, group_id = key.split(":", 3)
        for known in GROUP_TYPES:
            if group_type == known:
                return cls(tenant, vendor, known, group_id)
        raise ValueError(f"unknown group type {group_type!r} in group key {key!r}")


def event_group_suffixes(event: AgentStateChanged) -> tuple[str, ...]:
    """The ``type:id`` of every group the event puts its agent in, sorted; the tenant group always.

    Groups are taken from the event alone (not carried over from earlier events),
    so an agent's groups at any time are those of the event in force then.
    """
    suffixes = {TENANT_SUFFIX}
    if event.campaign_id:
        suffixes.add(f"campaign:{event.campaign_id}")
    if event.queue_id:
        suffixes.add(f"queue:{event.queue_id}")
    suffixes.update(f"skill:{skill}" for skill in skills_tuple(event.skills))
    return tuple(sorted(suffixes))


def group_keys(tenant: str, vendor: str, suffixes: Iterable[str], *, cross_vendor: bool) -> tuple[str, ...]:
    """Full group keys of an agent's group suffixes (plus the cross-vendor tenant group when enabled)."""
    return _group_keys(tenant, vendor, tuple(suffixes), cross_vendor)


@functools.lru_cache(maxsize=1 << 16)
def _group_keys(tenant: str, vendor: str, suffixes: tuple[str, ...], cross_vendor: bool) -> tuple[str, ...]:
    # asked for every group of every history entry an event touches: the same few answers, cached
    keys = {f"{tenant}:{vendor}:{suffix}" for suffix in suffixes}
    if cross_vendor and TENANT_SUFFIX in suffixes:
        keys.add(f"{tenant}:{ALL_VENDORS}:{TENANT_SUFFIX}")
    return tuple(sorted(keys))
