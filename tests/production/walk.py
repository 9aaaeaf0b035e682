"""`make prod-check`: the production path, proven on this machine without Docker.

Builds static files and migrates through the image's own entrypoints (bin/build-static, bin/migrate, which also
runs `check --deploy --fail-level WARNING`), starts bin/web (gunicorn, DEBUG off), bin/worker and bin/beat on the
real PostgreSQL and Redis, sends mail through anymail's real Postmark backend to a local fake of Postmark's API
(whose Delivery events come back, late and twice, to our signed tracking webhook), points the real `stripe`
client at a local fake of Stripe's API, and walks the whole journey over HTTP as a browser behind our TLS proxy
would. Prints every step with its result; exits non-zero at the first failure, with the logs' tails.

    .venv/bin/python -m tests.production.walk        # what `make prod-check` runs
"""

import base64
import csv
import html
import io
import json
import os
import re
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from funnel.checkout.signatures import signature_header
from tests.checkout.fake_stripe import FakeStripe, fake_stripe_start, fake_stripe_stop
from tests.conftest import free_port, wait_until
from tests.production.http import Browser, Response, forms_of
from tests.production.services import (
    ROOT,
    Processes,
    TrackingESP,
    database_recreate,
    redis_flush,
    run,
    tail,
    unique_address,
)
from tests.walking import expect, walk_run

SITE = "https://shop.prodcheck.test"
EDITOR = "/admin/emails/emailcopy/editor/"
EDITED_SUBJECT = "Day 3: the hip muscle that can send pain into your back"
DAY_SECONDS = 8  # a compressed "day": day-1 comes 8 s after the welcome
ADMIN_USER, ADMIN_PASSWORD = "prodcheck-admin", secrets.token_urlsafe(16)


class Walk:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.stripe: FakeStripe = fake_stripe_start()
        self.webhook_secret = "whsec_" + secrets.token_hex(16)
        self.tracking_auth = f"postmark:{secrets.token_urlsafe(12)}"
        database = os.environ.get("PRODCHECK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/funnel_prodcheck")
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))},
            "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "SITE_URL": SITE,
            "ALLOWED_HOSTS": urlsplit(SITE).hostname or "",
            "DATABASE_URL": database,
            "REDIS_URL": os.environ.get("PRODCHECK_REDIS_URL", "redis://127.0.0.1:6379/13"),
            "VAR_DIR": str(workdir / "var"),
            "STATIC_ROOT": str(workdir / "static"),
            "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
            "ANYMAIL_POSTMARK_SERVER_TOKEN": "prodcheck-server-token",
            "ANYMAIL_WEBHOOK_SECRET": self.tracking_auth,
            "STRIPE_SECRET_KEY": "sk_test_" + secrets.token_hex(12),
            "STRIPE_WEBHOOK_SECRET": self.webhook_secret,
            "STRIPE_API_BASE": self.stripe.url,
            "COMPANY_POSTAL_ADDRESS": "Pain Reset LLC, 500 Walk Street, Suite 3, Portland, OR 97201, USA",
            "TRUSTED_PROXY_IP_HEADER": "HTTP_X_FORWARDED_FOR",
            "TRUSTED_PROXY_IPS": "127.0.0.1",
            "DRIP_DAY_SECONDS": str(DAY_SECONDS),
            "DRIP_DISPATCH_EVERY_SECONDS": "1",
            "BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": "2",
            "WORKER_CONCURRENCY": "2",
            "LOG_LEVEL": "INFO",
            # The outgoing-webhook step's receiver listens on 127.0.0.1, which production refuses by default.
            "WEBHOOKS_ALLOW_PRIVATE": "true",
        }
        self.processes = Processes(self.env, workdir)
        self.esp = TrackingESP(webhook=self._deliver_tracking_event)
        self.env["ANYMAIL_POSTMARK_API_URL"] = self.esp.url
        self.reader = Browser(("127.0.0.1", self.port), SITE)
        self.address = unique_address()
        self.session_id = ""
        self.staff: Browser | None = None

    # --- plumbing ------------------------------------------------------------------------------------------
    def _deliver_tracking_event(self, body: bytes) -> int:
        esp = Browser(("127.0.0.1", self.port), SITE, client_ip="203.0.113.80", user_agent="Postmark")
        auth = base64.b64encode(self.tracking_auth.encode()).decode()
        return esp.post("/anymail/postmark/tracking/", body, content_type="application/json",
                        headers={"Authorization": f"Basic {auth}"}).status

    def _stripe_event(self, kind: str, obj: dict[str, Any]) -> Response:
        event = {"id": "evt_" + secrets.token_hex(12), "object": "event", "api_version": "2024-06-20",
                 "created": int(time.time()), "livemode": False, "pending_webhooks": 1, "type": kind,
                 "request": {"id": None, "idempotency_key": None}, "data": {"object": obj}}
        body = json.dumps(event).encode()
        stripe = Browser(("127.0.0.1", self.port), SITE, client_ip="203.0.113.90", user_agent="Stripe/1.0")
        return stripe.post("/webhooks/stripe/", body, content_type="application/json",
                           headers={"Stripe-Signature": signature_header(body, secret=self.webhook_secret)})

    def _button(self, message: dict[str, Any]) -> str:
        """The email's call to action, the big button a reader presses (through our click redirect)."""
        found = re.search(r'<a [^>]*class="button"[^>]*href="([^"]+)"|<a [^>]*href="([^"]+)"[^>]*class="button"',
                          message["HtmlBody"])
        expect(found is not None, f"the {message.get('Tag')!r} email has no button")
        assert found is not None
        return html.unescape(found.group(1) or found.group(2))

    # --- the walk ------------------------------------------------------------------------------------------
    def boot(self) -> str:
        database_recreate(self.env["DATABASE_URL"])
        redis_flush(self.env["REDIS_URL"])
        run(["bin/build-static"], self.env, self.workdir / "build-static.log")
        manifest = json.loads((Path(self.env["STATIC_ROOT"]) / "staticfiles.json").read_text())
        expect("css/site.css" in manifest["paths"], "the manifest has no entry for css/site.css")
        run(["bin/migrate"], self.env, self.workdir / "migrate.log")
        run(["python", "manage.py", "createsuperuser", "--noinput", "--username", ADMIN_USER,
             "--email", "admin@example.com"], {**self.env, "DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD},
            self.workdir / "migrate.log")
        self.esp.__enter__()
        self.processes.start("web", ["bin/web"])
        self.processes.start("worker", ["bin/worker", "--hostname", f"prodcheck-{os.getpid()}@%h"])
        self.processes.start("beat", ["bin/beat"])

        def up() -> bool:
            self.processes.check_alive()
            try:
                return self.reader.get("/healthz").status == 200
            except OSError:
                return False
        wait_until(up, timeout=60, what="gunicorn to answer /healthz")
        return f"{len(manifest['paths'])} files in the manifest; migrate + check --deploy clean; gunicorn up"

    def landing(self) -> str:
        page = self.reader.get("/")
        expect(page.status == 200, f"GET / answered {page.status}")
        expect("Strict-Transport-Security".lower() in page.headers, "no HSTS header on an https request")
        css = re.search(r'href="(/static/css/site\.[0-9a-f]{12}\.css)"', page.text)
        expect(css is not None, "the landing page does not link a hashed site.css")
        assert css is not None
        sheet = self.reader.get(css.group(1), headers={"Accept-Encoding": "br, gzip"})
        expect(sheet.status == 200, f"{css.group(1)} answered {sheet.status}")
        cache = sheet.headers.get("cache-control", "")
        expect("immutable" in cache or "max-age=31536000" in cache or "max-age=315360000" in cache,
               f"hashed CSS is not cached for long: {cache!r}")
        expect(sheet.headers.get("content-encoding") in ("br", "gzip"), "hashed CSS is not served compressed")
        plain = self.reader.get("/", headers={"X-Forwarded-Proto": "http"})
        expect(plain.status == 301 and plain.headers.get("location", "").startswith("https://"),
               f"plain http is not redirected to https ({plain.status})")
        return f"200, {css.group(1)} ({sheet.headers.get('content-encoding')}, {cache}); http→https 301"

    def signup(self) -> str:
        landing = self.reader.get("/")
        time.sleep(2.5)  # a reader types for a while: a form posted sooner is a script's (SIGNUP_MIN_FILL_SECONDS)
        thanks = self.reader.submit(landing, match="signup", email=self.address, first_name="Walker",
                                    consent="on", time_zone="Europe/Berlin")
        thanks = self.reader.follow(thanks)
        expect(thanks.status == 200, f"signup ended with {thanks.status}: {thanks.text[:300]}")
        return f"{self.address} → {thanks.url.removeprefix(SITE)}"

    def confirmation(self) -> str:
        message = self.esp.wait_for(self.address, "confirm", timeout=30)
        page = self.reader.follow(self.reader.get(self._button(message)))
        expect(page.status == 200, f"confirm link answered {page.status}")
        done = self.reader.follow(self.reader.submit(page))
        expect(done.status == 200 and "/guide/free/" in done.url, f"confirming landed on {done.url} ({done.status})")
        return f"email {message['Subject']!r}; confirmed, free guide shown"

    def welcome(self) -> str:
        message = self.esp.wait_for(self.address, "welcome", timeout=30)
        guide = self.reader.follow(self.reader.get(self._button(message)))
        expect(guide.status == 200 and guide.url.endswith("/guide/free/"),
               f"the welcome's button opened {guide.url} ({guide.status})")
        return f"{message['Subject']!r}, List-Unsubscribe-Post set" if any(
            h["Name"] == "List-Unsubscribe-Post" for h in message["Headers"]) else "welcome without one-click"

    def tracking(self) -> str:
        wait_until(lambda: len(self.esp.callbacks) >= 4, timeout=30, what="the ESP's delivery callbacks")
        expect(set(self.esp.callbacks) == {200}, f"tracking webhook answered {self.esp.callbacks}")
        return f"{len(self.esp.callbacks)} signed Delivery callbacks (each sent twice) → all 200"

    def day_one(self) -> str:
        message = self.esp.wait_for(self.address, "day-1", timeout=DAY_SECONDS * 6)
        self.upgrade_link = self._button(message)
        return f"{message['Subject']!r} with an upgrade link"

    def checkout(self) -> str:
        before = len(self.stripe.requests_to("POST", "/v1/checkout/sessions"))
        answer = self.reader.follow(self.reader.get(self.upgrade_link))
        expect(len(self.stripe.requests_to("POST", "/v1/checkout/sessions")) == before,
               "a GET of the upgrade link (what a mail scanner does) created a Checkout Session")
        expect(answer.status == 200, f"the upgrade link answered {answer.status}, not a page with a button")
        answer = self.reader.submit(answer)  # a person presses the one button; a link scanner does not
        location = answer.headers.get("location", "")
        expect(answer.status in (302, 303) and location.startswith("https://checkout.stripe.com/"),
               f"the upgrade link did not lead to Stripe Checkout ({answer.status} {location})")
        created = self.stripe.requests_to("POST", "/v1/checkout/sessions")[before:]
        expect(len(created) == 1, f"{len(created)} Checkout Sessions created for one press")
        self.session_id = location.rsplit("/", 1)[-1]
        session = self.stripe.sessions[self.session_id]
        expect(session["customer_email"] == self.address, "checkout is not prefilled with the reader's address")
        return (f"GET shows one button, no session; its POST → 303 to Stripe Checkout {self.session_id[:20]}…, "
                f"{session['amount_total']} {session['currency']}")

    def payment(self) -> str:
        session = self.stripe.complete(self.session_id, email=self.address)
        answer = self._stripe_event("checkout.session.completed", session)
        expect(answer.status == 200, f"webhook answered {answer.status}: {answer.text[:200]}")
        replay = self._stripe_event("checkout.session.completed", session)
        expect(replay.status == 200, f"a second delivery answered {replay.status}")
        back = self.reader.get(f"/checkout/success/?session_id={self.session_id}")
        expect(back.status == 200, f"success page answered {back.status}")
        return "signed checkout.session.completed → 200 (twice); success page 200"

    def access(self) -> str:
        message = self.esp.wait_for(self.address, "access", timeout=30)
        expect(len([m for m in self.esp.messages_to(self.address) if m.get("Tag") == "access"]) == 1,
               "more than one access email")
        self.signin_link = self._button(message)
        return f"{message['Subject']!r} with a sign-in link"

    def signin(self) -> str:
        self.buyer = Browser(("127.0.0.1", self.port), SITE, client_ip="198.51.100.77")  # another device
        page = self.buyer.follow(self.buyer.get(self.signin_link))
        expect(page.status == 200, f"sign-in link answered {page.status}")
        signed = self.buyer.follow(self.buyer.submit(page))
        expect(signed.status == 200 and "/guide/" in signed.url, f"sign-in landed on {signed.url} ({signed.status})")
        app = self.buyer.get("/app/")
        expect(app.status == 200 and "Your practice" in app.text, "/app/ does not show the buyer's practice")
        return "magic link (GET shows a button, POST signs in) → full guide; /app/ shows the practice"

    def refund(self) -> str:
        charge = self.stripe.charge_for(self.session_id, refunded=True)
        answer = self._stripe_event("charge.refunded", charge)
        expect(answer.status == 200, f"refund webhook answered {answer.status}")

        def access_ended() -> bool:
            app = self.buyer.get("/app/")
            return app.status in (200, 302, 303) and "Your practice" not in app.text
        wait_until(access_ended, timeout=30, what="the refund to end access to /app/")
        return "signed charge.refunded → 200; /app/ no longer shows the practice"

    def _staff(self) -> Browser:
        """Staff signed in to the admin (one session for the whole walk)."""
        if self.staff is None:
            staff = Browser(("127.0.0.1", self.port), SITE, client_ip="198.51.100.5")
            login = staff.get("/admin/login/?next=/admin/")
            done = staff.follow(staff.submit(login, username=ADMIN_USER, password=ADMIN_PASSWORD))
            expect(done.status == 200 and done.url.endswith("/admin/"),
                   f"admin login ended at {done.url} ({done.status})")
            self.staff = staff
        return self.staff

    def copy_edit(self) -> str:
        """A marketer rewrites day 3's subject in the admin editor and publishes it: no deploy, no restart."""
        staff = self._staff()
        page = staff.get(f"{EDITOR}day-3/")
        expect(page.status == 200 and "version 1" in page.text, f"the editor for day-3 answered {page.status}")
        body = re.search(r'<textarea[^>]*name="body"[^>]*>(.*?)</textarea>', page.text, re.S)
        expect(body is not None, "the editor has no body field")
        assert body is not None
        # A browser drops the newline right after <textarea>, as Django's widget writes one there.
        text = html.unescape(body.group(1)).removeprefix("\n").replace("\r\n", "\n")
        answer = staff.follow(staff.submit(page, form_id="copy-form", subject=EDITED_SUBJECT, body=text,
                                           action="publish"))
        expect(answer.status == 200 and "Published version 2" in answer.text,
               f"publishing answered {answer.status} at {answer.url}")
        history = staff.get(f"{EDITOR}day-3/history/")
        expect(EDITED_SUBJECT in history.text and "2 (sent now)" in history.text,
               "the history does not show the published version 2 as the one sent now")
        return f"day-3 subject → {EDITED_SUBJECT!r}, published as version 2"

    def edited_copy_sent(self) -> str:
        message = self.esp.wait_for(self.address, "day-3", timeout=DAY_SECONDS * 6)
        expect(message["Subject"] == EDITED_SUBJECT, f"day 3 went out as {message['Subject']!r}, not the edit")
        return f"the day-3 reminder went out as {message['Subject']!r}"

    def dashboard(self) -> str:
        marketer = self._staff()
        fresh = marketer.get("/admin/dashboard/?fresh=1")
        expect(fresh.status == 200, f"dashboard answered {fresh.status}")
        table = marketer.get("/admin/dashboard/funnel.csv?fresh=1")
        expect(table.status == 200, f"funnel.csv answered {table.status}")
        counts = {row[0]: row[1] for row in csv.reader(io.StringIO(table.text)) if len(row) > 1}
        expect(counts.get("Signups") == "1" and counts.get("Paid") == "1" and counts.get("Refunded") == "1"
               and counts.get("Clicked an upgrade link") == "1",
               f"the dashboard's funnel does not show this walk's signup, press of the upgrade button, sale and "
               f"refund: {counts}")
        leads = marketer.get(f"/admin/leads/lead/?q={self.address}")
        lead_page = re.search(r'href="(/admin/leads/lead/\d+/change/[^"]*)"', leads.text)
        expect(lead_page is not None, "the lead is not listed in the admin")
        assert lead_page is not None
        story = marketer.get(html.unescape(lead_page.group(1)))
        expect(story.status == 200 and "delivered" in story.text, "the lead's page shows no delivery events")
        return f"admin login; dashboard funnel {counts}; the lead's page shows the ESP's delivery events"

    def broadcast(self) -> str:
        """A marketer builds a segment in the admin, writes a broadcast to it in the editor and sends it: the email
        arrives through the real worker, with the footer's unsubscribe link."""
        staff = self._staff()
        page = staff.get("/admin/emails/segment/add/")
        expect(page.status == 200, f"the segment builder answered {page.status}")
        # Posted by hand: the form has a field called "match", which is also submit()'s own keyword.
        (form,) = [f for f in forms_of(page.text) if f["id"] == "segment_form"]
        saved = staff.post("/admin/emails/segment/add/", {
            **form["fields"], "name": "Walkers in Berlin", "match": "all", "conditions-0-kind": "status",
            "conditions-0-option": "subscribed", "conditions-1-kind": "time_zone",
            "conditions-1-text": "Europe/Berlin"}, referer=page.url)
        expect(saved.status == 302, f"saving the segment answered {saved.status}: {saved.text[:300]}")
        page = staff.get("/admin/emails/broadcast/add/")
        segment = re.search(r'<option value="(\d+)"[^>]*>Walkers in Berlin</option>', page.text)
        expect(segment is not None, "the broadcast form does not offer the new segment")
        assert segment is not None
        added = staff.submit(page, form_id="broadcast_form", name="Walk broadcast", segment=segment.group(1))
        editor = added.headers.get("location", "")
        expect(added.status == 302 and "/editor/broadcast-" in editor, f"adding the broadcast led to {editor!r}")
        step = editor.rstrip("/").rsplit("/", 1)[-1]
        page = staff.get(editor)
        published = staff.follow(staff.submit(page, form_id="copy-form", subject="A note for this week's walkers",
                                              body="Hello{{ if first_name }}, {{ first_name }}{{ end }}.\n\n"
                                                   "A short note for readers in Berlin.\n", action="publish"))
        expect(published.status == 200 and "Published version 2" in published.text,
               f"publishing the broadcast's email answered {published.status}")
        broadcast_id = step.removeprefix("broadcast-")
        send_page = staff.get(f"/admin/emails/broadcast/{broadcast_id}/send/")
        count = re.search(r'id="recipient-count"><strong>(\d+)</strong>', send_page.text)
        expect(count is not None and count.group(1) == "1", "the send page does not show 1 recipient")
        sent = staff.submit(send_page, form_id="send-form", timing="now")
        expect(sent.status == 302, f"sending answered {sent.status}: {sent.text[:300]}")
        message = self.esp.wait_for(self.address, step, timeout=30)
        expect(message["Subject"] == "A note for this week's walkers",
               f"the broadcast arrived as {message['Subject']!r}")
        expect("/u/" in message["TextBody"] and "not medical advice" in message["TextBody"],
               "the broadcast lacks the footer's unsubscribe link or the notice")
        report = staff.get(f"/admin/dashboard/broadcasts/{broadcast_id}/")
        expect(report.status == 200 and 'data-column="sent">1<' in report.text, "the report does not count 1 sent")
        return f"segment (1 recipient) → {step} sent now → {message['Subject']!r} arrived; report: 1 sent"

    def api_signup(self) -> str:
        """A reader signed up through POST /api/v1/signups (JSON): 202, and the confirmation email arrives through
        the real worker; a site not in SIGNUP_ALLOWED_ORIGINS gets no CORS header and a 403."""
        address = unique_address()
        partner = Browser(("127.0.0.1", self.port), SITE, client_ip="203.0.113.120", user_agent="partner/1.0")
        body = json.dumps({"email": address, "first_name": "Api", "time_zone": "Europe/Berlin",
                           "consent": True}).encode()
        answer = partner.post("/api/v1/signups", body, content_type="application/json")
        expect(answer.status == 202 and answer.json()["status"] == "accepted",
               f"the API answered {answer.status}: {answer.text[:300]}")
        refused = partner.post("/api/v1/signups", body, content_type="application/json",
                               headers={"Origin": "https://not-allowed.prodcheck.test"})
        expect(refused.status == 403 and "access-control-allow-origin" not in refused.headers,
               f"a refused origin got {refused.status} {refused.headers}")
        schema = partner.get("/api/v1/openapi.json")
        expect(schema.status == 200 and "/api/v1/signups" in schema.json()["paths"], "no OpenAPI schema served")
        # The embedded form's optional script, by the plain name a pasted snippet keeps across deploys.
        script = partner.get("/static/js/embed.js")
        expect(script.status == 200, f"/static/js/embed.js answered {script.status}")
        message = self.esp.wait_for(address, "confirm", timeout=30)
        return f"202 for {address}; refused origin 403; schema served; {message['Subject']!r} arrived"

    def outgoing_webhook(self) -> str:
        """Staff add an endpoint in the admin (its secret shown once), a new reader confirms, and a local receiver
        gets `lead.confirmed` from the worker, its Funnel-Signature verified with the README's snippet."""
        from tests.webhooks.receiver import Receiver

        receiver = Receiver().start()
        try:
            staff = self._staff()
            page = staff.get("/admin/webhooks/endpoint/add/")
            expect(page.status == 200, f"the endpoint form answered {page.status}")
            shown = staff.submit(page, form_id="endpoint_form", url=receiver.url, description="walk",
                                 events="lead.confirmed")
            secret = re.search(r'<code id="endpoint-secret">([^<]+)</code>', shown.text)
            expect(shown.status == 200 and secret is not None, f"adding the endpoint answered {shown.status}")
            assert secret is not None
            receiver.secret = html.unescape(secret.group(1))
            # Signed up through the API (the form would need a reader's fill time: SIGNUP_MIN_FILL_SECONDS).
            reader, address = Browser(("127.0.0.1", self.port), SITE, client_ip="198.51.100.31"), unique_address()
            signup = reader.post("/api/v1/signups", json.dumps({
                "email": address, "first_name": "Hook", "time_zone": "Europe/Berlin", "consent": True}).encode(),
                content_type="application/json")
            expect(signup.status == 202, f"the API signup answered {signup.status}")
            confirm = reader.follow(reader.get(self._button(self.esp.wait_for(address, "confirm", timeout=30))))
            reader.follow(reader.submit(confirm))
            wait_until(lambda: receiver.received, timeout=40, what="the webhook delivery to the local receiver")
            (got,) = receiver.received
            event = got.event
            expect(got.signature_ok, f"the signature {got.headers.get('Funnel-Signature')!r} does not verify")
            expect(event["type"] == "lead.confirmed" and event["data"]["lead"]["email"] == address,
                   f"the receiver got {event['type']} for {event['data'].get('lead', {}).get('email')}")
            log = staff.get("/admin/webhooks/delivery/?status__exact=delivered")
            expect(event["id"] in log.text, "the delivery log does not list the delivered event")
            return f"{event['type']} {event['id']} → 127.0.0.1:{receiver.port}, signature verified; log: delivered"
        finally:
            receiver.stop()

    def sending_brake(self) -> str:
        """The brake's page renders with DEBUG off; with one walker's mail it has nothing to judge yet."""
        page = self._staff().get("/admin/sending-brake/")
        expect(page.status == 200 and "no brake engaged" in page.text and "sending-brake-banner" not in page.text,
               f"the sending brake page answered {page.status}")
        return "/admin/sending-brake/: sending, no brake engaged"

    def steps(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            ("build static, migrate, check --deploy, start gunicorn + worker + beat", self.boot),
            ("landing page over https with hashed, compressed CSS", self.landing),
            ("signup (plain form, CSRF)", self.signup),
            ("confirmation email → confirm on POST", self.confirmation),
            ("welcome email", self.welcome),
            ("ESP tracking events to the signed webhook", self.tracking),
            (f"day-1 reminder (DRIP_DAY_SECONDS={DAY_SECONDS})", self.day_one),
            ("a marketer edits and publishes day 3's subject in the admin", self.copy_edit),
            ("upgrade link → one press → Stripe Checkout", self.checkout),
            ("payment: signed webhook", self.payment),
            ("access email", self.access),
            ("magic-link sign-in on another device, /app/", self.signin),
            ("the edited day-3 email is what the dispatcher sends", self.edited_copy_sent),
            ("refund ends access", self.refund),
            ("admin dashboard", self.dashboard),
            ("the sending brake's page", self.sending_brake),
            ("a marketer builds a segment and sends it a broadcast", self.broadcast),
            ("API signup (its confirmation arrives)", self.api_signup),
            ("Outgoing webhook delivery (signature verified)", self.outgoing_webhook),
        ]

    def close(self) -> None:
        self.processes.stop()
        self.esp.__exit__(None, None, None)
        fake_stripe_stop(self.stripe)


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="prodcheck-"))
    walk = Walk(workdir)
    print(f"prod-check: {SITE} served by gunicorn on 127.0.0.1:{walk.port}; logs in {workdir}", flush=True)

    def logs() -> str:
        return "\n".join(f"--- {name}.log (tail) ---\n{tail(workdir / f'{name}.log', 30)}"
                         for name in ("web", "worker", "beat", "migrate", "build-static"))
    return walk_run("prod-check", walk.steps(), close=walk.close, logs_on_failure=logs)


if __name__ == "__main__":
    sys.exit(main())
