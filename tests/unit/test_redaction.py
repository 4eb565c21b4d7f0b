from __future__ import annotations

import logging

import pytest

from connector.logs import JsonFormatter
from connector.redaction import RedactingFilter, redact, register_secret


def test_token_parameters_are_masked_even_unregistered() -> None:
    url = "https://api.convoso.com/v1/agent-productivity/search?auth_token=abc123XYZ&offset=0"
    assert redact(url) == "https://api.convoso.com/v1/agent-productivity/search?auth_token=***&offset=0"
    assert "eyJhbGc" not in redact("headers: {'auth': 'eyJhbGciOi.payload.sig'}")
    assert redact("Authorization: bearer abc.def") == "Authorization: bearer ***"


def test_registered_secrets_vanish_from_log_lines_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    register_secret("sup3r-s3cret-value")
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter())
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed with %s", ("sup3r-s3cret-value",), None)
    try:
        raise RuntimeError("token sup3r-s3cret-value rejected")
    except RuntimeError:
        import sys
        record.exc_info = sys.exc_info()
    handler.filter(record)
    line = handler.format(record)
    assert "sup3r-s3cret-value" not in line
    assert "failed with ***" in line and "token *** rejected" in line
