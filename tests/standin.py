"""A local HTTP server standing in for Meta's Graph API and Twilio's REST API.

It records every request (method, path, headers, raw body, JSON or form
fields) and answers as those APIs do on success; ``fail_next`` scripts
failures (an HTTP status, or "slow" to answer after ``slow_seconds``).
Bound to 127.0.0.1 on a free port; ``stop()`` shuts it down.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class StandIn:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.script: list = []
        self.slow_seconds = 3.0
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, *steps) -> None:
        with self.lock:
            self.script.extend(steps)

    def received(self, predicate=lambda r: True) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if predicate(r)]

    def wait_for(self, predicate, count: int = 1, timeout: float = 20) -> list[dict]:
        """The matching requests once there are ``count`` of them (or AssertionError)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = [r for r in self.requests if predicate(r)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} request(s), got {len(found)}: {found}")
                self.changed.wait(left)

    def _answer(self, request: dict) -> tuple[int, dict]:
        path = request["path"]
        if "/Messages.json" in path:  # Twilio: create a message
            return 201, {"sid": "SM" + uuid.uuid4().hex, "status": "queued"}
        if path.endswith("/messages"):  # Graph API: send a WhatsApp message
            return 200, {"messaging_product": "whatsapp",
                         "contacts": [{"input": (request["json"] or {}).get("to"),
                                       "wa_id": (request["json"] or {}).get("to")}],
                         "messages": [{"id": "wamid." + uuid.uuid4().hex}]}
        return 404, {"error": {"message": "unknown path"}}

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self, method: str) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                kind = self.headers.get("Content-Type") or ""
                request = {"method": method, "path": self.path, "headers": dict(self.headers), "raw": raw,
                           "json": json.loads(raw) if "json" in kind and raw else None,
                           "form": {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                           if "form" in kind else None}
                with standin.changed:
                    step = standin.script.pop(0) if standin.script else None
                    standin.requests.append({**request, "failed": step})
                    standin.changed.notify_all()
                if step == "slow":
                    time.sleep(standin.slow_seconds)
                    status, body = standin._answer(request)
                elif isinstance(step, int):
                    status, body = step, {"error": {"message": "scripted failure", "code": step}}
                else:
                    status, body = standin._answer(request)
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_POST(self):
                self._record("POST")

            def do_GET(self):
                self._record("GET")

            def log_message(self, *args):
                pass

        return Handler
