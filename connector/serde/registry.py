"""A small client of the Confluent Schema Registry REST API (the documented endpoints only).

Synchronous on purpose: it is called once per (topic, schema) at start-up and once
per unseen schema id when decoding, and faust's codecs are synchronous too.
Results are cached, so the hot path never does I/O.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx

__all__ = ["SchemaRegistryClient", "SchemaRegistryError", "subject_for_topic"]

_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class SchemaRegistryError(RuntimeError):
    """The registry refused a request or could not be reached; says which and why."""


def subject_for_topic(topic: str) -> str:
    """Topic-name subject strategy: values of topic T are registered under ``T-value``."""
    return f"{topic}-value"


class SchemaRegistryClient:
    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.url = url.rstrip("/")
        auth = httpx.BasicAuth(username, password or "") if username else None
        self._http = httpx.Client(base_url=self.url, auth=auth, timeout=timeout,
                                  headers={"Accept": _CONTENT_TYPE})
        self._ids: dict[tuple[str, str], int] = {}
        self._schemas: dict[int, str] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never shows credentials
        return f"SchemaRegistryClient(url={self.url!r})"

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self._http.request(
                method, path,
                content=json.dumps(body) if body is not None else None,
                headers={"Content-Type": _CONTENT_TYPE} if body is not None else None,
            )
        except httpx.HTTPError as exc:
            raise SchemaRegistryError(
                f"schema registry {self.url} unreachable for {method} {path}: {type(exc).__name__}: {exc}"
            ) from None
        if response.status_code >= 400:
            try:
                detail = response.json()
                message = f"error_code {detail.get('error_code')}: {detail.get('message')}"
            except ValueError:
                message = response.text[:200]
            raise SchemaRegistryError(
                f"schema registry {self.url} answered {response.status_code} to {method} {path}: {message}"
            )
        return response.json()

    def register(self, subject: str, schema_text: str) -> int:
        """Register (or look up) a schema under a subject and return its global id."""
        key = (subject, schema_text)
        with self._lock:
            if key in self._ids:
                return self._ids[key]
        answer = self._request("POST", f"/subjects/{subject}/versions",
                               {"schema": schema_text, "schemaType": "AVRO"})
        schema_id = int(answer["id"])
        with self._lock:
            self._ids[key] = schema_id
            self._schemas[schema_id] = schema_text
        return schema_id

    def schema_by_id(self, schema_id: int) -> str:
        """The schema text registered under a global id (``GET /schemas/ids/{id}``)."""
        with self._lock:
            if schema_id in self._schemas:
                return self._schemas[schema_id]
        answer = self._request("GET", f"/schemas/ids/{schema_id}")
        text = str(answer["schema"])
        with self._lock:
            self._schemas[schema_id] = text
        return text
