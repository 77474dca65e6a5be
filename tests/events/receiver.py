"""A real HTTP endpoint for the webhook tests: a ThreadingHTTPServer on a free loopback port.

``script`` says how to answer each request in turn ("ok", a status code such as 500,
"slow" to answer after ``slow_seconds``, "hang" to wait until ``release`` is set); once it runs
out, every request is answered 200.
Every request is kept (event id, headers, body) with the number of requests for the same
event in flight at that moment.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

POLL_S = 0.05  # how often a receiver's serving loop checks whether it is asked to stop


@dataclass
class Received:
    event_id: str
    headers: dict[str, str]
    body: bytes
    answered: int | str
    in_flight_same_event: int

    @property
    def document(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    script: list[int | str] = field(default_factory=list)
    slow_seconds: float = 1.0
    delay_seconds: float = 0.0  # every answer waits this long (to overlap two senders)
    requests: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _in_flight: dict[str, int] = field(default_factory=dict)
    server: ThreadingHTTPServer | None = None
    arrived: threading.Event = field(default_factory=threading.Event)  # set at each request
    release: threading.Event = field(default_factory=threading.Event)  # "hang" answers wait for it
    on_request: Callable[[Receiver], None] | None = None  # called once each request is answered

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def delivered(self) -> list[str]:
        """Event ids answered 2xx, in the order they were answered."""
        return [r.event_id for r in self.requests if r.answered == "ok"]

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                event_id = self.headers.get("Creditlines-Event-Id", "")
                with receiver._lock:  # kept in the order of arrival
                    answer = receiver.script.pop(0) if receiver.script else "ok"
                    receiver._in_flight[event_id] = receiver._in_flight.get(event_id, 0) + 1
                    receiver.requests.append(
                        Received(event_id, dict(self.headers.items()), body, answer, receiver._in_flight[event_id])
                    )
                try:
                    if receiver.delay_seconds:
                        time.sleep(receiver.delay_seconds)
                    receiver.arrived.set()
                    if answer == "slow":
                        time.sleep(receiver.slow_seconds)
                    if answer == "hang":
                        receiver.release.wait(30)
                    status = 200 if answer in ("ok", "slow", "hang") else int(answer)
                    try:
                        self.send_response(status)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # the sender gave up waiting (a timeout): what the test wanted
                finally:
                    with receiver._lock:
                        receiver._in_flight[event_id] -= 1
                    if receiver.on_request is not None:
                        receiver.on_request(receiver)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # shutdown() waits for the serving loop to look at its flag: every POLL_S (the default,
        # 0.5 s, made each stop of a receiver wait about that long: 13 s for the fifty of a test).
        threading.Thread(target=self.server.serve_forever, args=(POLL_S,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def stop_all(receivers: list[Receiver]) -> None:
    """Stop many receivers at once: each stop waits up to POLL_S for its loop, so side by side."""
    threads = [threading.Thread(target=r.stop) for r in receivers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
