"""Builds a complete worker: app, topics and tables (``streams``), handlers, views."""

from __future__ import annotations

import logging

from connector.processors.conversation_views import register_conversation_views
from connector.processors.dashboard import register_dashboard
from connector.processors.handlers import register_handlers
from connector.processors.options import WorkerOptions
from connector.processors.streams import Processors, build_app
from connector.processors.views import register_views

__all__ = ["create_processors", "undo_spinner_debug_level"]


def undo_spinner_debug_level() -> None:
    """faust's terminal spinner, at log levels of WARNING and above, sets the root logger to DEBUG so
    that every debug line moves it: every aiokafka send then builds a log record (a third of a
    worker's CPU). Put the root level back to its handlers' level (``faust worker``'s default is WARN)."""
    root = logging.getLogger()
    levels = [h.level for h in root.handlers if type(h).__name__ != "SpinnerHandler"]
    if root.level == logging.DEBUG and levels and min(levels) > logging.DEBUG:
        root.setLevel(min(levels))


def create_processors(options: WorkerOptions) -> Processors:
    """A complete worker for the given options (the CLI and tests build theirs with this)."""
    processors = build_app(options)

    @processors.app.task  # type: ignore[untyped-decorator]
    async def restore_log_level() -> None:  # tasks start once logging is set up
        undo_spinner_debug_level()

    register_handlers(processors)
    register_views(processors)
    register_conversation_views(processors)
    register_dashboard(processors)
    return processors
