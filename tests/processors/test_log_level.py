"""faust's spinner leaves the root logger at DEBUG; the worker puts it back to its handlers' level."""

from __future__ import annotations

import logging

from connector.processors.wiring import undo_spinner_debug_level


def test_root_level_returns_to_the_handlers_level_and_user_debug_is_kept() -> None:
    root = logging.getLogger()
    saved_level, saved_handlers = root.level, list(root.handlers)
    try:
        root.handlers = [logging.StreamHandler()]
        root.handlers[0].setLevel(logging.WARNING)
        root.setLevel(logging.DEBUG)  # what faust's spinner set-up leaves behind
        undo_spinner_debug_level()
        assert root.level == logging.WARNING
        assert not logging.getLogger("aiokafka.producer.producer").isEnabledFor(logging.DEBUG)

        root.handlers[0].setLevel(logging.DEBUG)  # someone asked for debug logs: they stay
        root.setLevel(logging.DEBUG)
        undo_spinner_debug_level()
        assert root.level == logging.DEBUG
    finally:
        root.handlers = saved_handlers
        root.setLevel(saved_level)
