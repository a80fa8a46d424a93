"""A demo webhook receiver on 127.0.0.1: verifies each request with the standardwebhooks library,
parses it with the CloudEvents SDK and prints it (or answers a fixed status, to play a broken one).

    python manage.py webhook_receiver --port 9001 --secret whsec_…    # a healthy receiver
    python manage.py webhook_receiver --port 9002 --status 503        # a broken one
"""

from __future__ import annotations

from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cloudevents.core.bindings.http import HTTPMessage, from_http_event
from django.core.management.base import BaseCommand, CommandParser
from standardwebhooks import Webhook, WebhookVerificationError


class Command(BaseCommand):
    help = "Run a local webhook receiver that verifies Standard Webhooks signatures and prints events."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=9001)
        parser.add_argument(
            "--secret", default="", help="the subscription's whsec_ secret (verify when given)"
        )
        parser.add_argument(
            "--status", type=int, default=204, help="answer this status (e.g. 503 to play broken)"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        webhook = Webhook(opts["secret"]) if opts["secret"] else None
        seen: Counter[str] = Counter()
        out = self.stdout

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(min(int(self.headers.get("Content-Length") or 0), 1 << 20))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if webhook is not None:
                    try:
                        webhook.verify(body, headers, json_parse=False)
                    except WebhookVerificationError as exc:
                        out.write(f"REJECTED ({exc})")
                        self.send_response(401)
                        self.end_headers()
                        return
                try:
                    event = from_http_event(HTTPMessage(headers=headers, body=body))
                except Exception as exc:  # not a CloudEvent: say so, never crash the demo
                    out.write(f"REJECTED (not a CloudEvent: {exc})")
                    self.send_response(400)
                    self.end_headers()
                    return
                seen[event.get_id()] += 1
                mode = "binary" if "ce-id" in headers else "structured"
                out.write(
                    f"{opts['status']} {event.get_type()} id={event.get_id()} ({mode}, "
                    f"{'verified' if webhook else 'not verified'}) times seen={seen[event.get_id()]} "
                    f"total={sum(seen.values())}"
                )
                self.send_response(opts["status"])
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", opts["port"]), Handler)
        out.write(f"Listening on http://127.0.0.1:{opts['port']}/ (Ctrl-C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
