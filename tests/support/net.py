"""Local network helpers for tests: free ports, polling for a condition, a webhook receiver, a mailbox.

Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for servers that must be told their port up front)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.2) -> object:
    """Poll ``predicate`` until it returns something truthy (returned); AssertionError naming ``what`` on timeout.

    For state outside the test process (another process, a server thread) that no event announces.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class WebhookReceiver:
    """An HTTP endpoint on 127.0.0.1 standing in for a ticket system.

    Records every POST as ``(Idempotency-Key, JSON body)`` in ``requests``;
    answers the statuses queued in ``status`` in order (recorded first, so a
    5xx is a processed request whose answer was "lost"), then 200.
    """

    def __init__(self, port: int = 0, path: str = "/hook") -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.status: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                receiver.requests.append((self.headers["Idempotency-Key"], body))
                self.send_response(receiver.status.pop(0) if receiver.status else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}{path}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def tickets(self) -> dict[str, dict[str, Any]]:
        """One ticket per idempotency key, as a ticket system honouring the key keeps them."""
        out: dict[str, dict[str, Any]] = {}
        for key, body in self.requests:
            out.setdefault(key, body)
        return out

    def events(self, incident: int) -> list[str]:
        """The lifecycle events (open, resolve ...) received for one incident number, in order."""
        out = []
        for _, body in self.requests:
            inc = body.get("incident") if isinstance(body.get("incident"), dict) else body
            if isinstance(inc, dict) and inc.get("number") == incident:
                out.append(str(body.get("event")))
        return out

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    """An aiosmtpd handler: keeps every message with its recipients; addresses in ``refuse`` get a 550."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.refuse: set[str] = set()

    @property
    def messages(self) -> list[EmailMessage]:
        return [msg for _, msg in self.received]

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=email_policy.default)
        self.received.append((list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 Message accepted"


def start_mailbox(port: int) -> tuple[Controller, Mailbox]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1:``port`` delivering into a new ``Mailbox``; stop the controller."""
    box = Mailbox()
    ctl = Controller(box, hostname="127.0.0.1", port=port)
    ctl.start()
    return ctl, box
