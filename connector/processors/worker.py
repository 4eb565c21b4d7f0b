"""The module-level app the faust CLI runs: ``faust -A connector.processors worker``.

Built from the environment (``AGENT_CONNECTOR_CONFIG`` and ``PROCESSORS_*``, see
``options``) on first import; the package reaches it through its lazy ``__getattr__``,
so importing the pure modules never builds an app or reads configuration.
"""

from __future__ import annotations

import faust

from connector.processors.options import WorkerOptions
from connector.processors.wiring import create_processors

__all__ = ["app"]

app: faust.App = create_processors(WorkerOptions.from_env()).app
