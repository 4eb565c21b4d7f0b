"""Prometheus metrics of the source runtime, one registry per runtime (tests run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["SourceMetrics"]


class SourceMetrics:
    """Every metric carries a ``source`` label: one series per configured source."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.polls = Counter("connector_polls", "Polls started, by outcome.", ["source", "outcome"], registry=r)
        self.pages = Counter("connector_pages", "Vendor pages read (cursors written, or held back while "
                             "pages have no events).", ["source"], registry=r)
        self.records = Counter("connector_records", "Events and dead letters mapped from vendor records.",
                               ["source"], registry=r)
        self.events = Counter("connector_events", "Events produced, by normalized state or event type.",
                              ["source", "state"], registry=r)
        self.dead_letters = Counter("connector_dead_letters", "Records sent to the dead-letter topic.",
                                    ["source"], registry=r)
        self.unknown_states = Counter("connector_unknown_vendor_states",
                                      "Vendor states the mapping did not know (mapped to UNKNOWN).",
                                      ["source", "vendor_state"], registry=r)
        self.errors = Counter("connector_errors", "Errors by kind (timeout, server_error, vendor_error, ...).",
                              ["source", "kind"], registry=r)
        self.request_seconds = Histogram("connector_request_seconds", "Vendor request latency.", ["source"],
                                         registry=r, buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))
        self.cursor_lag = Gauge("connector_cursor_lag_seconds",
                                "Now minus the time the committed cursor has read up to.", ["source"], registry=r)
        self.healthy = Gauge("connector_source_healthy", "1 when the source's last poll succeeded.", ["source"],
                             registry=r)
