"""A small HTTP test double of the Confluent Schema Registry's documented endpoints.

No registry server installs here; this serves the subset the connector uses, with the
documented response and error shapes, over real HTTP on loopback.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class RegistryState:
    def __init__(self, username: str | None = None, password: str | None = None) -> None:
        self.schemas: dict[int, str] = {}
        self.subjects: dict[str, list[int]] = {}
        self.credentials = (username, password) if username else None
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def register(self, subject: str, schema: str) -> int:
        with self.lock:
            canonical = json.dumps(json.loads(schema), sort_keys=True)
            known = {json.dumps(json.loads(text), sort_keys=True): i for i, text in self.schemas.items()}
            schema_id = known.get(canonical, len(self.schemas) + 1)
            self.schemas[schema_id] = self.schemas.get(schema_id, schema)
            versions = self.subjects.setdefault(subject, [])
            if schema_id not in versions:
                versions.append(schema_id)
            return schema_id


def _handler(state: RegistryState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorized(self) -> bool:
            if state.credentials is None:
                return True
            expected = base64.b64encode(f"{state.credentials[0]}:{state.credentials[1]}".encode()).decode()
            if self.headers.get("Authorization") == f"Basic {expected}":
                return True
            self._send(401, {"error_code": 401, "message": "Unauthorized"})
            return False

        def do_POST(self) -> None:
            state.requests.append(("POST", self.path))
            if not self._authorized():
                return
            match = re.fullmatch(r"/subjects/([^/]+)/versions", self.path)
            if not match:
                self._send(404, {"error_code": 404, "message": "HTTP 404 Not Found"})
                return
            length = int(self.headers.get("Content-Length", 0))
            try:
                body = json.loads(self.rfile.read(length))
                json.loads(body["schema"])
            except (ValueError, KeyError):
                self._send(422, {"error_code": 42201, "message": "Invalid schema"})
                return
            self._send(200, {"id": state.register(match.group(1), body["schema"])})

        def do_GET(self) -> None:
            state.requests.append(("GET", self.path))
            if not self._authorized():
                return
            match = re.fullmatch(r"/schemas/ids/(\d+)", self.path)
            if match and int(match.group(1)) in state.schemas:
                self._send(200, {"schema": state.schemas[int(match.group(1))]})
            elif match:
                self._send(404, {"error_code": 40403, "message": "Schema not found"})
            elif self.path == "/subjects":
                self._send(200, sorted(state.subjects))
            else:
                self._send(404, {"error_code": 404, "message": "HTTP 404 Not Found"})

    return Handler


@contextmanager
def schema_registry(username: str | None = None, password: str | None = None) -> Iterator[tuple[str, RegistryState]]:
    state = RegistryState(username, password)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
