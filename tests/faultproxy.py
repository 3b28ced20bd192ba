"""A loopback HTTP proxy in front of the real Label Studio that fails chosen requests.

``rule(method, path, n)`` (n counts matching requests from 1) returns one of:
``"pass"``; ``"fail-after"`` (forward, then answer 502: the server did the work, the client never
hears of it) and ``"fail-after STATUS"`` (the same with another status, e.g. Label Studio's 500 for
a write that met a locked database after the save); ``"fail"`` (answer 502 without forwarding);
``"drop"`` (close the connection, no answer); ``"forward-drop"`` (forward, then close the
connection without an answer: a server that saves and then resets); ``"late SECONDS"`` (wait, then
forward and answer: the client has timed out, the server saves after its first confirm);
``"twice"`` (forward the request two times and answer the second: Label Studio running a whole
request again, as its locked-database retry does);
``"answer STATUS BODY"`` (answer STATUS with the JSON text BODY, without forwarding); ``"echo STATUS"``
(answer STATUS with a JSON error that repeats the Authorization header, then the body's fields,
secret-looking ones first, as a careless server's validation error would: secrets come back).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

Rule = Callable[[str, str, int], str]


class FaultProxy:
    def __init__(self, upstream: str, rule: Rule):
        self.upstream = urlsplit(upstream)
        self.rule = rule
        self.counts: Counter[tuple[str, str]] = Counter()
        self.log: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _decide(self, method: str, path: str) -> str:
        with self._lock:
            key = (method, path.split("?")[0])
            self.counts[key] += 1
            action = self.rule(method, key[1], self.counts[key])
            self.log.append((method, key[1], action))
            return action

    def _forward(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, list, bytes]:
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=120)
        try:
            conn.request(method, path, body=body or None, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                action = proxy._decide(self.command, self.path)
                if action == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                if action.startswith("late "):
                    time.sleep(float(action.split()[1]))
                if action not in ("fail",) and not action.startswith(("answer ", "echo ")):
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                    status, out_headers, data = proxy._forward(self.command, self.path, headers, body)
                    if action == "twice":
                        status, out_headers, data = proxy._forward(self.command, self.path, headers, body)
                if action == "forward-drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                if action in ("fail", "fail-after") or action.startswith("fail-after "):
                    code = int(action.split()[1]) if " " in action else 502
                    status, out_headers, data = code, [("Content-Type", "text/plain")], b"injected fault"
                if action.startswith("echo "):
                    try:
                        fields = json.loads(body or b"{}")
                    except ValueError:
                        fields = {}
                    keys = sorted(fields, key=lambda k: not any(w in k for w in ("secret", "token", "key")))
                    echoed = f"invalid request ({self.headers.get('Authorization')}) " + " ".join(
                        f"{k}={fields[k]}" for k in keys)
                    status, out_headers = int(action.split()[1]), [("Content-Type", "application/json")]
                    data = json.dumps({"detail": echoed}).encode()
                if action.startswith("answer "):
                    _, code, text = action.split(" ", 2)
                    status, out_headers, data = int(code), [("Content-Type", "application/json")], text.encode()
                try:
                    self.send_response(status)
                    for key, value in out_headers:
                        if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up waiting ("late"): nobody reads the answer
                    self.close_connection = True

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _any

        return Handler
