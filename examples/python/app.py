#!/usr/bin/python3
"""An example web application using arvel-cached as its cache (docker/compose.yaml runs it).

    GET /report          a slow report, computed once per minute however many ask (remember)
    POST /import         a job that must never run twice at once (lock)
    GET /login?user=ID   5 attempts a minute per user, then 429 with Retry-After (rate limit)

Environment: ARVEL_CACHE_HOST (127.0.0.1), ARVEL_CACHE_PORT (6380), ARVEL_CACHE_PASSWORD,
APP_PORT (8000), REPORT_SECONDS (2: how long building the report takes), IMPORT_SECONDS (1).
"""

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import redis
from arvel_cache import ArvelCache, LockTimeout

cache = ArvelCache(host=os.environ.get("ARVEL_CACHE_HOST", "127.0.0.1"),
                   port=int(os.environ.get("ARVEL_CACHE_PORT", "6380")),
                   password=os.environ.get("ARVEL_CACHE_PASSWORD") or None)
counter_lock = threading.Lock()
builds = 0


def build_report():
    global builds
    time.sleep(float(os.environ.get("REPORT_SECONDS", "2")))  # the expensive part
    with counter_lock:
        builds += 1
        number = builds
    return json.dumps({"report": "sales", "build": number, "pid": os.getpid(),
                       "built_at": time.time()})


def run_import():
    with cache.lock("import", ttl=30, wait=10):
        started = time.time()
        time.sleep(float(os.environ.get("IMPORT_SECONDS", "1")))  # the import itself
        return {"imported": True, "started": started, "finished": time.time()}


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, body, headers=None):
        data = (body if isinstance(body, str) else json.dumps(body)).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.answer(self.get)

    def do_POST(self):
        self.answer(self.post)

    def answer(self, handler):
        try:
            handler()
        except redis.ConnectionError as error:  # e.g. the sidecar is still starting
            self.reply(503, {"error": f"cache unavailable: {error}"}, {"Retry-After": 1})

    def get(self):
        url = urlparse(self.path)
        if url.path == "/report":
            return self.reply(200, cache.remember("report", 60, build_report))
        if url.path == "/login":
            user = parse_qs(url.query).get("user", ["anonymous"])[0]
            key = f"login:{user}"
            if cache.attempt(key, 5, 60):
                return self.reply(200, {"user": user, "allowed": True})
            return self.reply(429, {"user": user, "allowed": False},
                              {"Retry-After": cache.available_in(key)})
        if url.path == "/health":
            return self.reply(200, {"cache": cache.redis.ping()})
        self.reply(404, {"error": "not found"})

    def post(self):
        if urlparse(self.path).path == "/import":
            try:
                return self.reply(200, run_import())
            except LockTimeout:
                return self.reply(409, {"error": "an import is already running"})
        self.reply(404, {"error": "not found"})

    def log_message(self, format, *args):
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("APP_PORT", "8000"))), Handler)
    print(f"listening on :{server.server_address[1]}", flush=True)
    server.serve_forever()
