"""A real HTTP receiver on loopback that checks every delivery's signature with the README's own snippet.

No Django models in here: `make prod-check` (tests/production/walk.py) uses it too, outside any Django process.
"""

import json
import re
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.conftest import free_port

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_receiver_code() -> str:
    """The Python block that follows the `<!-- webhook-receiver -->` marker in README.md, exactly as printed."""
    found = re.search(r"<!-- webhook-receiver -->\n```python\n(.*?)```", README.read_text(), re.S)
    assert found is not None, "README.md has no marked receiver snippet"
    return found.group(1)


def readme_verifier() -> Callable[[bytes, str, str], bool]:
    namespace: dict[str, Any] = {}
    exec(compile(readme_receiver_code(), "README.md", "exec"), namespace)  # noqa: S102 - our own README
    return namespace["funnel_signature_ok"]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    """Listens on 127.0.0.1; `.received` holds every POST in order. `.status` is what it answers; `.redirect_to`
    makes it answer 302 there. `.stop()` closes the socket (connection refused), `.start()` listens again on the
    same port."""

    def __init__(self, tls: Any = None) -> None:
        self.tls = tls  # a trustme certificate: serve HTTPS with it, and record the SNI name each client sends
        self.sni: list[str | None] = []
        self.port = free_port()
        self.secret = ""
        self.status = 200
        self.redirect_to = ""
        self.received: list[Received] = []
        self.verify = readme_verifier()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/hooks/funnel"

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ok = receiver.verify(body, self.headers.get("Funnel-Signature", ""), receiver.secret)
                receiver.received.append(Received(self.path, dict(self.headers.items()), body, ok))
                status = 302 if receiver.redirect_to else (receiver.status if ok else 400)
                self.send_response(status)
                if receiver.redirect_to:
                    self.send_header("Location", receiver.redirect_to)
                answer = b'{"received": true}' if status < 300 else b"signature or server trouble"
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        if self.tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.tls.configure_cert(context)

            def note_sni(_sock: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
                self.sni.append(name)
            context.sni_callback = note_sni
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
