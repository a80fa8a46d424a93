"""A stand-in for Twilio and SendGrid (standard-library http.server in a thread), scripted by the
tests and failing a share of requests at random for `manage.py simulate --failure-rate`.

    stub.script("twilio", (500, None), (500, None), (201, None))   # None: the default body
    stub.script("twilio", "timeout")                             # answer after the client gave up
    ProviderStub(failure_rate=0.3, seed=7)                       # 30 % of unscripted requests: 503
Other requests get the provider's success answer. Every request is logged in `requests`, with the
status it got, when accepted the message id handed out (`message_id`), and when the answer left
(`answered_at`; `at` is when the request came in).
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


class ProviderStub:
    def __init__(
        self, *, timeout_delay: float = 2.0, failure_rate: float = 0.0, seed: int | None = None, port: int = 0
    ) -> None:
        self.requests: list[dict] = []
        self.failure_rate = failure_rate
        self._random = random.Random(seed)
        self._scripts: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()
        self.timeout_delay = timeout_delay
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ProviderStub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._scripts.clear()

    def script(self, provider: str, *responses: Any) -> None:
        with self._lock:
            self._scripts[provider].extend(responses)

    def of(self, provider: str) -> list[dict]:
        with self._lock:
            return [r for r in self.requests if r["provider"] == provider]

    def accepted(self) -> list[dict]:
        with self._lock:
            return [r for r in self.requests if r.get("message_id")]

    def _next(self, provider: str) -> Any:
        with self._lock:
            if self._scripts[provider]:
                return self._scripts[provider].popleft()
            if self.failure_rate and self._random.random() < self.failure_rate:
                return (503, None)  # what an overloaded provider says: the client retries later
            return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                provider = "twilio" if "/Messages.json" in self.path else "sendgrid"
                if provider == "twilio":
                    body = {k: v[0] for k, v in parse_qs(raw).items()}
                else:
                    body = json.loads(raw or "{}")
                record = {"provider": provider, "path": self.path, "body": body, "at": time.time()}
                with stub._lock:
                    stub.requests.append(record)
                scripted = stub._next(provider)
                if scripted == "timeout":
                    time.sleep(stub.timeout_delay)
                    scripted = None
                status, payload = scripted if scripted else (None, None)
                self._answer(provider, status, payload, body, record)

            def _answer(
                self, provider: str, status: int | None, payload: Any, request_body: dict, record: dict
            ) -> None:
                headers: dict[str, str] = {}
                if provider == "twilio":
                    status = status or 201
                    if payload is None and status < 300:
                        payload = {
                            "sid": "SM" + uuid.uuid4().hex,
                            "status": "queued",
                            "to": request_body.get("To"),
                            "body": request_body.get("Body"),
                        }
                        record["message_id"] = payload["sid"]
                    elif payload is None:
                        payload = {"code": 20500, "message": "Internal Server Error", "status": status}
                else:
                    status = status or 202
                    if status < 300:
                        headers["X-Message-Id"] = record["message_id"] = "sg-" + uuid.uuid4().hex[:16]
                    elif payload is None:
                        payload = {"errors": [{"message": f"scripted {status}"}]}
                record["status"] = status
                data = json.dumps(payload).encode() if payload is not None else b""
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    record["client_gone"] = True
                # When the answer left: an acceptance later than the client's timeout (NOTIFY_HTTP_TIMEOUT)
                # is a message the provider sent and the client never learned of (the retry sends it
                # again). A write to a client that already left often still "succeeds" (kernel buffer),
                # so the time, not client_gone, is what tells (--stub-log keeps both).
                record["answered_at"] = time.time()

        return Handler
