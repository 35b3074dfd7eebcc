"""Webhook fixtures: a real HTTP receiver on loopback (the tests allow loopback addresses)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.stream.conftest import processes  # noqa: F401 (the real server and worker processes)


class Receiver:
    """A city system's webhook endpoint: answers `fail_first` requests with `status`, then 200;
    with `hang` it never answers. Records every request (headers, raw body)."""

    def __init__(self, *, fail_first: int = 0, status: int = 500, hang: bool = False, headers=None):
        self.fail_first, self.status, self.hang, self.extra_headers = fail_first, status, hang, headers or {}
        self.requests: list[tuple[dict, bytes]] = []
        self.released = threading.Event()
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.arrived:
                    receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    count = len(receiver.requests)
                    receiver.arrived.notify_all()
                if receiver.hang:
                    receiver.released.wait(30)
                    return
                status = receiver.status if count <= receiver.fail_first else 200
                self.send_response(status)
                for name, value in receiver.extra_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/liandong"

    def wait_for(self, n: int, timeout: float = 30) -> list[tuple[dict, bytes]]:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.requests) >= n, timeout):
                raise AssertionError(f"{len(self.requests)} requests arrived, {n} expected")
            return list(self.requests)

    def events(self) -> list[dict]:
        return [json.loads(body) for _, body in self.requests]

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(**kwargs) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for item in made:
        item.close()


@pytest.fixture(autouse=True)
def _loopback_receivers(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 2.0
