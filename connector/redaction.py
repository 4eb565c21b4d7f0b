"""Keep secrets out of logs, errors and reprs.

Two layers: every secret value the configuration loads is registered and replaced
wherever it appears in a log line, and well-known token parameters
(``auth_token=...`` in Convoso URLs, bearer headers) are masked by pattern even
when their value was never registered.
"""

from __future__ import annotations

import logging
import re
import threading

__all__ = ["MASK", "RedactingFilter", "redact", "register_secret"]

MASK = "***"
_lock = threading.Lock()
_secrets: set[str] = set()
_PATTERNS = [
    re.compile(r"(?i)((?:auth_token|access_token|client_secret|password|token|jwt)=)[^&\s'\"]+"),
    re.compile(r"(?i)((?:authorization|x-auth-token|auth)[\"']?\s*[:=]\s*[\"']?(?:bearer\s+)?)[^\s'\",}]+"),
    re.compile(r"(?i)(\"(?:auth_token|access_token|client_secret|password|token|jwt)\"\s*:\s*\")[^\"]+"),
]


def register_secret(value: str | None) -> None:
    """Remember a secret so ``redact`` removes it from any text; short values are ignored."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message (and exception text) of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info:
            # formatters append exc_text when exc_info is gone: hand them the redacted text
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
