"""A fake WeCom / DingTalk group robot: an HTTP server on a free loopback port, stopped by the test."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeRobot:
    """A group robot: records each POST; answers {"errcode": 0} unless told otherwise."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answer = {"errcode": 0, "errmsg": "ok"}
        self.delay = 0.0
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                robot.requests.append({"path": self.path, "json": json.loads(body)})
                time.sleep(robot.delay)
                payload = json.dumps(robot.answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path="/cgi-bin/webhook/send?key=test-key"):
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    @property
    def texts(self) -> list[str]:
        return [r["json"]["text"]["content"] for r in self.requests]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
