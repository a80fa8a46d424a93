"""A stand-in for Twilio and SendGrid (standard-library http.server in a thread), scripted by the
tests and failing a share of requests at random for `manage.py simulate --failure-rate`.

    stub.script("twilio", (500, None), (500, None), (201, None))   # None: the default body
    stub.script("twilio", "timeout")      # accept, but answer after the client gave up
    stub.script("twilio", "lost")         # take nothing, answer nothing (the client times out)
    stub.script("twilio-list", (500, None))  # Twilio's message list (GET Messages.json) fails
    ProviderStub(failure_rate=0.3, seed=7)   # 30 % of unscripted requests: 503
    ProviderStub(late_rate=0.05)             # 5 % of unscripted sends: accepted, answered late
Other requests get the provider's success answer. Every request is logged in `requests` (`method`
POST for a send, GET for a list), with the status it got, when accepted the message id handed out
(`message_id`), and when the answer left (`answered_at`; `at` is when the request came in). An
accepted Twilio message is listed by GET Messages.json (filters To, From, DateSent>, PageSize) from
the moment the request came in, however late its answer leaves.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import time
import uuid
from collections import defaultdict, deque
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


class ProviderStub:
    def __init__(
        self,
        *,
        timeout_delay: float = 2.0,
        failure_rate: float = 0.0,
        late_rate: float = 0.0,
        seed: int | None = None,
        port: int = 0,
    ) -> None:
        self.requests: list[dict] = []
        self.messages: list[dict] = []  # the Twilio messages accepted, as GET Messages.json lists them
        self.failure_rate = failure_rate
        self.late_rate = late_rate
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
            self.messages.clear()
            self._scripts.clear()

    def script(self, provider: str, *responses: Any) -> None:
        with self._lock:
            self._scripts[provider].extend(responses)

    def of(self, provider: str) -> list[dict]:
        """The sends (POST) to a provider."""
        with self._lock:
            return [r for r in self.requests if r["provider"] == provider and r["method"] == "POST"]

    def lookups(self) -> list[dict]:
        """The Twilio message lists asked for (GET Messages.json)."""
        with self._lock:
            return [r for r in self.requests if r["method"] == "GET"]

    def message_status(self, sid: str, status: str, error_code: int | None = None) -> None:
        """Twilio's view of an accepted message moves on (queued → sent → delivered, as its status
        callbacks would say): GET Messages.json lists it with this status from now on."""
        with self._lock:
            message = next(m for m in self.messages if m["sid"] == sid)
            message.update(status=status, error_code=error_code)

    def accepted(self) -> list[dict]:
        with self._lock:
            return [r for r in self.requests if r.get("message_id")]

    def _next(self, provider: str) -> Any:
        with self._lock:
            if self._scripts[provider]:
                return self._scripts[provider].popleft()
            if self.failure_rate and self._random.random() < self.failure_rate:
                return (503, None)  # what an overloaded provider says: the client retries later
            if provider != "twilio-list" and self.late_rate and self._random.random() < self.late_rate:
                return "timeout"
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
                record = {
                    "provider": provider,
                    "method": "POST",
                    "path": self.path,
                    "body": body,
                    "at": time.time(),
                }
                with stub._lock:
                    stub.requests.append(record)
                scripted = stub._next(provider)
                if scripted == "lost":  # nothing taken, nothing answered: the client times out
                    time.sleep(stub.timeout_delay)
                    record["lost"] = True
                    record["answered_at"] = time.time()
                    self.close_connection = True
                    return
                status, payload = scripted if isinstance(scripted, tuple) else (None, None)
                status, payload, headers = self._outcome(provider, status, payload, body, record)
                if scripted == "timeout":  # accepted at once (listed), answered after the client left
                    record["late"] = True
                    time.sleep(stub.timeout_delay)
                self._send(status, payload, headers, record)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                record = {
                    "provider": "twilio",
                    "method": "GET",
                    "path": url.path,
                    "query": query,
                    "at": time.time(),
                }
                with stub._lock:
                    stub.requests.append(record)
                if not url.path.endswith("/Messages.json"):
                    self._send(404, {"code": 20404, "message": "Not Found", "status": 404}, {}, record)
                    return
                scripted = stub._next("twilio-list")
                if scripted == "timeout":
                    time.sleep(stub.timeout_delay)
                status, payload = scripted if isinstance(scripted, tuple) else (None, None)
                if status and status >= 300:
                    payload = payload or {"code": 20500, "message": "Internal Server Error", "status": status}
                else:
                    status, payload = 200, stub._list(url.path, query)
                    record["found"] = [m["sid"] for m in payload["messages"]]
                self._send(status, payload, {}, record)

            def _outcome(
                self, provider: str, status: int | None, payload: Any, request_body: dict, record: dict
            ) -> tuple[int, Any, dict[str, str]]:
                headers: dict[str, str] = {}
                if provider == "twilio":
                    status = status or 201
                    if payload is None and status < 300:
                        payload = stub._accept_sms(request_body, record)
                    elif payload is None:
                        payload = {"code": 20500, "message": "Internal Server Error", "status": status}
                else:
                    status = status or 202
                    if status < 300:
                        headers["X-Message-Id"] = record["message_id"] = "sg-" + uuid.uuid4().hex[:16]
                    elif payload is None:
                        payload = {"errors": [{"message": f"scripted {status}"}]}
                record["status"] = status
                return status, payload, headers

            def _send(self, status: int, payload: Any, headers: dict[str, str], record: dict) -> None:
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
                # is a message the provider sent and the client never learned of (the retry must
                # not send it again). A write to a client that already left often still "succeeds"
                # (kernel buffer), so the time, not client_gone, is what tells (--stub-log keeps both).
                record["answered_at"] = time.time()

        return Handler

    def _accept_sms(self, request: dict, record: dict) -> dict:
        now = time.time()
        message = {
            "sid": "SM" + uuid.uuid4().hex,
            "account_sid": record["path"].split("/")[3] if record["path"].count("/") >= 4 else "",
            "status": "queued",
            "error_code": None,
            "direction": "outbound-api",
            "to": request.get("To"),
            "from": request.get("From"),
            "messaging_service_sid": request.get("MessagingServiceSid"),
            "body": request.get("Body"),
            "date_created": formatdate(now, usegmt=True),
            "date_sent": formatdate(now, usegmt=True),
            "at": now,
        }
        record["message_id"] = message["sid"]
        with self._lock:
            self.messages.append(message)
        return {k: v for k, v in message.items() if k != "at"}

    def _list(self, path: str, query: dict[str, str]) -> dict:
        after = query.get("DateSent>")
        since = dt.datetime.fromisoformat(after.replace("Z", "+00:00")).timestamp() if after else None
        size = int(query.get("PageSize") or 50)
        number = int(query.get("Page") or 0)
        with self._lock:
            found = [
                m
                for m in reversed(self.messages)  # newest first, as Twilio lists them
                if (not query.get("To") or m["to"] == query["To"])
                and (not query.get("From") or m["from"] == query["From"])
                and (since is None or m["at"] >= since)
            ]
        page = found[number * size : (number + 1) * size]
        more = len(found) > (number + 1) * size
        return {
            "messages": [{k: v for k, v in m.items() if k != "at"} for m in page],
            "end": number * size + max(len(page) - 1, 0),
            "first_page_uri": f"{path}?{urlencode({**query, 'Page': 0})}",
            "next_page_uri": f"{path}?{urlencode({**query, 'Page': number + 1})}" if more else None,
            "previous_page_uri": None,
            "page": number,
            "page_size": size,
            "start": number * size,
            "uri": f"{path}?{urlencode(query)}",
        }
