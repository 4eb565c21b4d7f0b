"""Query API of the Rocket.Chat conversation tables: per agent and per vendor window, from any worker.

``GET /conversations/agents?tenant=&vendor=``, ``GET /conversations/agents/{tenant:vendor:agent}``
(the agent's windows) and ``GET /conversations/windows?tenant=&vendor=`` (every agent's count per
window, the vendor's total, and how much of it names an agent). Lists are scattered over the
workers and single keys routed to their owner, as in ``views``.
"""

from __future__ import annotations

from typing import Any

from faust.web import Request, Response, View

from connector.processors.conversations import AgentConversations, WindowConversations
from connector.processors.presenters import agent_conversations_view, window_conversations_view
from connector.processors.streams import Processors
from connector.processors.views import routed, scatter

__all__ = ["register_conversation_views"]


def _matches(key: str, filters: dict[str, str | None]) -> bool:
    tenant, vendor, _ = key.split(":", 2)
    return all(wanted is None or wanted == actual
               for wanted, actual in ((filters["tenant"], tenant), (filters["vendor"], vendor)))


def register_conversation_views(p: Processors) -> None:
    """Attach the conversation pages to ``p.app``'s web server."""
    app, tables = p.app, p.tables

    def local_agents(owned: list[tuple[str, Any]], filters: dict[str, str | None]) -> list[Any]:
        return [agent_conversations_view(AgentConversations.from_json(raw)) for key, raw in owned
                if _matches(key, filters)]

    def local_windows(owned: list[tuple[str, Any]], filters: dict[str, str | None]) -> list[Any]:
        return [window_conversations_view(WindowConversations.from_json(raw)) for key, raw in owned
                if _matches(key, filters)]

    @app.page("/conversations/agents")
    class ConversationAgents(View):
        """``GET /conversations/agents?tenant=&vendor=``: every agent's conversation counts."""

        async def get(self, request: Request) -> Response:
            return await scatter(app, tables.conversation_agents, self, request, local_agents,
                                 lambda item: item["key"])

    @app.page("/conversations/agents/{agent_key}")
    class ConversationAgent(View):
        """``GET /conversations/agents/{tenant:vendor:agent}``: one agent's counts per window."""

        @routed(app, tables.conversation_agents, "agent_key")
        async def get(self, request: Request, agent_key: str) -> Response:
            raw = tables.conversation_agents.get(agent_key)
            if raw is None:
                return self.error(404, f"no conversation counts for {agent_key!r}")
            return self.json(agent_conversations_view(AgentConversations.from_json(raw)))

    @app.page("/conversations/windows")
    class ConversationWindows(View):
        """``GET /conversations/windows?tenant=&vendor=``: per vendor window, every agent's count."""

        async def get(self, request: Request) -> Response:
            return await scatter(app, tables.conversation_windows, self, request, local_windows,
                                 lambda item: (item["tenant"], item["vendor"], item["start"], item["end"]))
