"""`make run-check`: the embedded default walked as a newcomer would, through `make run` itself.

Starts `make run` with nothing set (SQLite, the Celery filesystem broker, `.eml` files, the checkout simulator) in a
new `var/` folder, as on a fresh clone, then walks the journey over HTTP as a reader's browser would: signup,
the confirmation email and its link, the welcome, day 1 after a short `DRIP_DAY_SECONDS`, the upgrade page's
button, the simulator's payment, the access email, a sign-in request from another device and its link, `/app/`,
and the dev outbox. Every email is read from `var/outbox/`, where `make run` writes it. Prints each step like
`make prod-check`; exits non-zero at the first failure with the tail of `make run`'s output.

    .venv/bin/python -m tests.embedded.walk        # what `make run-check` runs
"""

import email
import email.policy
import html
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

from tests.conftest import ROOT, free_port, wait_until
from tests.production.http import Browser, Response
from tests.production.services import tail, unique_address
from tests.walking import expect, walk_run

DAY_SECONDS = 8  # a compressed "day": day-1 comes 8 s after the welcome
# What a newcomer's shell does not have: every setting the service reads is left to its embedded default.
_NOT_SET = ("DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "SITE_URL", "ALLOWED_HOSTS", "EMAIL_BACKEND",
            "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_PRICE_ID", "STRIPE_API_BASE", "VAR_DIR",
            "ANYMAIL_WEBHOOK_SECRET", "COMPANY_POSTAL_ADDRESS", "TRUSTED_PROXY_IP_HEADER")


class Walk:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.outbox = workdir / "var" / "outbox"
        self.log = workdir / "make-run.log"
        self.env = {k: v for k, v in os.environ.items()
                    if k not in _NOT_SET and not k.startswith(("PYTEST", "DJANGO_", "ANYMAIL_", "PRODCHECK_"))}
        # A fresh clone's var/ is empty: this walk's own, so nothing of an earlier run is found.
        self.env.update({"VAR_DIR": str(workdir / "var"), "DRIP_DAY_SECONDS": str(DAY_SECONDS),
                         "DRIP_DISPATCH_EVERY_SECONDS": "1"})
        self.reader = self._browser("198.51.100.23")
        self.address = unique_address()
        self.proc: subprocess.Popen[bytes] | None = None

    def _browser(self, ip: str) -> Browser:
        return Browser(("127.0.0.1", self.port), self.origin, client_ip=ip, forwarded_proto=None)

    # --- the outbox --------------------------------------------------------------------------------------------
    def _messages(self, to: str, tag: str) -> list[EmailMessage]:
        found = []
        for path in sorted(self.outbox.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            if to in str(message["To"]) and tag in message.get_all("X-Outbox-Tag", []):
                found.append(message)
        return found

    def _email(self, tag: str, timeout: float = 30) -> EmailMessage:
        def arrived() -> EmailMessage | None:
            self._check_alive()
            messages = self._messages(self.address, tag)
            return messages[0] if messages else None
        message: EmailMessage = wait_until(arrived, timeout=timeout, interval=0.2, what=f"the {tag!r} email")
        return message

    def _button(self, message: EmailMessage) -> str:
        """The email's call to action, as a reader presses it: a path on this server."""
        part = message.get_body(preferencelist=("html",))
        expect(part is not None, f"the {message['Subject']!r} email has no HTML part")
        assert part is not None
        body = part.get_content()
        found = re.search(r'<a [^>]*class="button"[^>]*href="([^"]+)"|<a [^>]*href="([^"]+)"[^>]*class="button"', body)
        expect(found is not None, f"the {message['Subject']!r} email has no button")
        assert found is not None
        link = html.unescape(found.group(1) or found.group(2))
        expect(link.startswith(self.origin + "/"), f"the button leads off this server: {link}")
        return link.removeprefix(self.origin)

    def _check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"make run exited {self.proc.returncode}")

    def _page(self, response: Response, what: str) -> Response:
        page = self.reader.follow(response)
        expect(page.status == 200, f"{what} answered {page.status}: {page.text[:300]}")
        return page

    # --- the walk ----------------------------------------------------------------------------------------------
    def boot(self) -> str:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(["make", "--no-print-directory", "run", f"PORT={self.port}"], cwd=ROOT,
                                         env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

        def up() -> bool:
            self._check_alive()
            try:
                return self.reader.get("/healthz").status == 200
            except OSError:
                return False
        wait_until(up, timeout=180, interval=0.5, what="make run to answer /healthz")
        printed = self.log.read_text(errors="replace")
        expect(f"open http://127.0.0.1:{self.port}/" in printed, "make run did not print the URL to open")
        expect((self.workdir / "var" / "db.sqlite3").exists(), "no SQLite database under var/")
        return f"migrated SQLite under var/, web + worker + beat up, printed {self.origin}/"

    def signup(self) -> str:
        landing = self.reader.get("/")
        expect(landing.status == 200, f"GET / answered {landing.status}")
        time.sleep(2.5)  # a reader types for a while: a form posted sooner is a script's (SIGNUP_MIN_FILL_SECONDS)
        thanks = self._page(self.reader.submit(landing, match="signup", email=self.address, first_name="Newcomer",
                                               consent="on", time_zone="Europe/Berlin"), "signup")
        return f"{self.address} → {thanks.url.removeprefix(self.origin)}"

    def confirmation(self) -> str:
        message = self._email("confirm")
        page = self._page(self.reader.get(self._button(message)), "the confirm link")
        done = self._page(self.reader.submit(page), "confirming")
        expect("/guide/free/" in done.url, f"confirming landed on {done.url}")
        return f"{message['Subject']!r} in var/outbox/; its link confirmed on POST, free guide shown"

    def welcome(self) -> str:
        message = self._email("welcome")
        guide = self._page(self.reader.get(self._button(message)), "the welcome's button")
        expect(guide.url.endswith("/guide/free/"), f"the welcome's button opened {guide.url}")
        return f"{message['Subject']!r}; its button opens the free guide"

    def day_one(self) -> str:
        message = self._email("day-1", timeout=DAY_SECONDS * 8)
        self.upgrade_link = self._button(message)
        return f"{message['Subject']!r} with an upgrade link"

    def upgrade(self) -> str:
        page = self._page(self.reader.get(self.upgrade_link), "the upgrade link")
        pressed = self.reader.submit(page)  # the one button a person presses
        location = pressed.headers.get("location", "")
        expect(pressed.status in (302, 303) and "/dev/checkout/" in location,
               f"the upgrade button did not lead to the checkout simulator ({pressed.status} {location})")
        self.simulator = location
        return f"GET shows one button; its POST → {pressed.status} to the simulator"

    def payment(self) -> str:
        page = self._page(self.reader.get(self.simulator), "the checkout simulator")
        success = self._page(self.reader.submit(page, action="pay"), "the simulator's payment")
        expect("/checkout/success/" in success.url, f"paying landed on {success.url}")
        return "simulator's 'pay' → signed event to the real webhook → success page"

    def access(self) -> str:
        message = self._email("access")
        expect(len(self._messages(self.address, "access")) == 1, "more than one access email")
        return f"{message['Subject']!r}"

    def signin(self) -> str:
        device = self._browser("198.51.100.77")  # another device: no cookie of the reader's
        ask = device.get("/signin/")
        expect(ask.status == 200, f"/signin/ answered {ask.status}")
        sent = device.submit(ask, match="signin", email=self.address)
        expect(sent.status == 200, f"asking for a sign-in link answered {sent.status}: {sent.text[:300]}")
        message = self._email("signin")
        page = device.follow(device.get(self._button(message)))
        expect(page.status == 200, f"the sign-in link answered {page.status}")
        signed = device.follow(device.submit(page))
        expect(signed.status == 200 and "/guide/" in signed.url, f"signing in landed on {signed.url}")
        app = device.get("/app/")
        expect(app.status == 200 and "Your practice" in app.text, "/app/ does not show the buyer's practice")
        self.device = device
        return "/signin/ from another device → email → its link (GET a button, POST signs in) → /app/"

    def dev_outbox(self) -> str:
        listing = self.reader.get("/dev/outbox/")
        expect(listing.status == 200, f"/dev/outbox/ answered {listing.status}")
        files = sorted(self.outbox.glob("*.eml"))
        links = re.findall(r'href="(/dev/outbox/[^"]+\.eml)"', listing.text)
        expect(len(links) == len(files), f"/dev/outbox/ lists {len(links)} of {len(files)} messages")
        one = self.reader.get(links[0])
        expect(one.status == 200 and "Subject" in one.text, f"a message page answered {one.status}")
        return f"lists all {len(files)} messages; a message's page shows its headers and text"

    def steps(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            ("make run with nothing set (SQLite, filesystem broker, .eml outbox)", self.boot),
            ("signup (plain form, CSRF)", self.signup),
            ("confirmation email → confirm on POST", self.confirmation),
            ("welcome email", self.welcome),
            (f"day-1 reminder (DRIP_DAY_SECONDS={DAY_SECONDS})", self.day_one),
            ("upgrade link → one press → checkout simulator", self.upgrade),
            ("the simulator's payment through the real webhook", self.payment),
            ("access email", self.access),
            ("sign-in request from a new device, its link, /app/", self.signin),
            ("the dev outbox", self.dev_outbox),
        ]

    def close(self) -> None:
        # One Ctrl-C stops web, worker and beat together, as for a person at the terminal.
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="run-check-"))
    walk = Walk(workdir)
    print(f"run-check: make run on {walk.origin} with nothing set; var/ and logs in {workdir}", flush=True)
    return walk_run("run-check", walk.steps(), close=walk.close,
                    logs_on_failure=lambda: f"--- make run (tail) ---\n{tail(walk.log, 60)}")


if __name__ == "__main__":
    sys.exit(main())
