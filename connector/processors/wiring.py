"""Builds a complete worker: app, topics and tables (``streams``), handlers, views."""

from __future__ import annotations

from connector.processors.conversation_views import register_conversation_views
from connector.processors.dashboard import register_dashboard
from connector.processors.handlers import register_handlers
from connector.processors.options import WorkerOptions
from connector.processors.streams import Processors, build_app
from connector.processors.views import register_views

__all__ = ["create_processors"]


def create_processors(options: WorkerOptions) -> Processors:
    """A complete worker for the given options (the CLI and tests build theirs with this)."""
    processors = build_app(options)
    register_handlers(processors)
    register_views(processors)
    register_conversation_views(processors)
    register_dashboard(processors)
    return processors
