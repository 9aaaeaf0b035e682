"""Fill the database with a realistic demo funnel so the dashboard can be seen and measured.

    python manage.py seed_demo --leads 100000

Leads spread over the last 90 days from several sources, each with their whole story: consent records, the
confirmation email, the welcome and day-1..day-7 emails (with delivered/opened/clicked/bounced/complained events at
plausible rates), clicks through our links, checkouts, purchases credited to the email that sold them, refunds,
disputes, unsubscribes and app sessions. Every lead is marked `is_demo`. Rows are generated in chunks and written
with PostgreSQL's COPY (bulk_create elsewhere); about 8 email rows per lead.

It refuses to run when the database holds real (non-demo) leads, unless --force. Demo data from an earlier run is
deleted first.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.db import connection, models, transaction
from django.utils import timezone

from emails.models import SEQUENCE_STEPS, Click, EmailEvent, ScheduledEmail
from funnel.dashboard.services import rollup_rebuild_recent
from funnel.models import CheckoutSession, DailyVisit, PracticeSession, Purchase
from leads.mailbox import mailbox_sha256
from leads.models import ConsentRecord, Lead
from leads.services import email_sha256

PRICE = 997
DEMO_DOMAIN = "demo.invalid"  # reserved TLD: no demo address can ever receive mail


@dataclass(frozen=True)
class Source:
    utm_source: str
    utm_medium: str
    utm_campaign: str
    weight: float  # share of signups
    quality: float  # multiplies the chance to buy
    visit_to_signup: float


SOURCES = [
    Source("facebook", "paid_social", "back-pain-spring", 0.30, 0.8, 0.22),
    Source("google", "cpc", "pain-relief-search", 0.24, 1.3, 0.31),
    Source("instagram", "paid_social", "stretch-reels", 0.15, 0.7, 0.18),
    Source("newsletter", "email", "partner-swap", 0.09, 1.6, 0.40),
    Source("youtube", "video", "desk-neck-demo", 0.08, 1.0, 0.25),
    Source("", "", "", 0.14, 1.1, 0.28),  # direct / unknown
]
OPEN_RATE = {"welcome": 0.58, "day-1": 0.44, "day-2": 0.40, "day-3": 0.37, "day-4": 0.35, "day-5": 0.33,
             "day-6": 0.31, "day-7": 0.33}
CLICK_GIVEN_OPEN = {"welcome": 0.30, "day-7": 0.22}
UPGRADE_SHARE = {"welcome": 0.30}
CONSENT_TEXT = "Send me the free quick reference and the 7-day plan by email. I can unsubscribe at any time."

MODELS: list[type[models.Model]] = [
    Lead, ConsentRecord, ScheduledEmail, EmailEvent, Click, CheckoutSession, Purchase, PracticeSession,
]
ALL_MODELS: list[type[models.Model]] = [*MODELS, DailyVisit]


class Ids:
    """Primary keys handed out here, so child rows can point at their parents before anything is written."""

    def __init__(self) -> None:
        self.next: dict[type[models.Model], int] = {}
        for model in MODELS:
            top = model._default_manager.aggregate(top=models.Max("pk"))["top"] or 0
            self.next[model] = top + 1

    def __call__(self, model: type[models.Model]) -> int:
        value = self.next[model]
        self.next[model] = value + 1
        return value


@dataclass
class Batch:
    rows: dict[type[models.Model], list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, model: type[models.Model], **values: Any) -> None:
        self.rows[model].append(values)


class Writer:
    """Writes dict rows with every concrete column: COPY on PostgreSQL, bulk_create elsewhere."""

    def __init__(self, now: datetime) -> None:
        self.postgres = connection.vendor == "postgresql"
        self.columns: dict[type[models.Model], list[tuple[str, Any, bool]]] = {}
        for model in MODELS:
            columns = []
            for f in model._meta.concrete_fields:
                default = f.get_default()  # "" for text columns without a default, None for nullable ones
                if default is None and not f.null and isinstance(f, models.DateTimeField):
                    default = now  # auto_now columns have no Python default
                columns.append((f.attname, default, isinstance(f, models.JSONField)))
            self.columns[model] = columns

    def write(self, batch: Batch) -> None:
        for model in MODELS:
            rows = batch.rows.get(model)
            if not rows:
                continue
            if self.postgres:
                self._copy(model, rows)
            else:
                names = {name for name, _, _ in self.columns[model]}
                model._default_manager.bulk_create(
                    [model(**{k: v for k, v in row.items() if k in names}) for row in rows], batch_size=500
                )

    def _copy(self, model: type[models.Model], rows: list[dict[str, Any]]) -> None:
        columns = self.columns[model]
        names = ", ".join(f'"{name}"' for name, _, _ in columns)
        with connection.cursor() as cursor:
            raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
            with raw.copy(f'COPY "{model._meta.db_table}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row([
                        json.dumps(row.get(name, default)) if is_json else row.get(name, default)
                        for name, default, is_json in columns
                    ])


def progress(out: OutputWrapper, done: int, total: int, started: float) -> None:
    width = 40
    filled = int(width * done / total) if total else width
    elapsed = time.monotonic() - started
    rate = done / elapsed if elapsed else 0
    eta = (total - done) / rate if rate else 0
    out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done * 100 // max(total, 1):3d}% "
                     f"{done:,}/{total:,} leads  {elapsed:5.1f}s elapsed  ~{eta:4.0f}s left ", ending="")
    out.flush()


class Story:
    """Generates one lead and everything that happened to it, with plausible rates."""

    def __init__(self, rng: random.Random, ids: Ids, now: datetime, days: int) -> None:
        self.rng, self.ids, self.now, self.days = rng, ids, now, days
        self.signups: dict[tuple[date, Source], int] = defaultdict(int)
        self.event_seq = 0

    def minutes(self, mean: float) -> timedelta:
        return timedelta(minutes=self.rng.expovariate(1 / mean))

    def event(self, batch: Batch, row: dict[str, Any], kind: str, at: datetime, description: str = "") -> None:
        pk = self.ids(EmailEvent)
        batch.add(EmailEvent, id=pk, event_id=f"demo-{pk}", event_type=kind, scheduled_email_id=row["id"],
                  lead_id=row["lead_id"], esp_message_id=row["esp_message_id"], occurred_at=at, received_at=at,
                  description=description)

    def email(self, batch: Batch, lead: dict[str, Any], step: str, stream: str, at: datetime,
              key: str = "") -> dict[str, Any] | None:
        pk = self.ids(ScheduledEmail)
        due = at <= self.now
        status = ScheduledEmail.Status.SENT if due else ScheduledEmail.Status.SCHEDULED
        row = dict(id=pk, lead_id=lead["id"], step=step, stream=stream, key=key, send_at=at, created_at=at,
                   updated_at=min(at, self.now), status=status,
                   attempts=1 if due else 0, sent_at=at if due else None, handed_at=at if due else None,
                   esp_message_id=f"demo-{pk}" if due else "")
        batch.add(ScheduledEmail, **row)
        return row if due else None

    def lead(self, batch: Batch) -> None:
        rng, now = self.rng, self.now
        source = rng.choices(SOURCES, weights=[s.weight for s in SOURCES])[0]
        # Slow growth: later days get a few more signups than early ones.
        created = now - timedelta(days=self.days * (1 - math.sqrt(rng.random())), seconds=1 + rng.random() * 60)
        pk = self.ids(Lead)
        email = f"demo-{pk}@{DEMO_DOMAIN}"
        # Written in bulk, not through leads.services (far too slow at this size), so the mailbox key is set here.
        lead: dict[str, Any] = dict(
            id=pk, email=email, mailbox_sha256=mailbox_sha256(email), first_name=rng.choice(
                ["Ana", "Ben", "Chloe", "Dev", "Elif", "Femi", "Grace", "Hugo", "Ines", "Jon", "Kira", "Liam"]),
            status=Lead.Status.PENDING, time_zone=rng.choice(["America/New_York", "Europe/London", "America/Chicago",
                                                              "Europe/Berlin", "America/Los_Angeles"]),
            created_at=created, utm_source=source.utm_source, utm_medium=source.utm_medium,
            utm_campaign=source.utm_campaign, landing_path="/", is_demo=True,
        )
        self.signups[(created.date(), source)] += 1
        sha = email_sha256(lead["email"])
        batch.add(ConsentRecord, id=self.ids(ConsentRecord), lead_id=pk, email_sha256=sha,
                  action=ConsentRecord.Action.SIGNUP, consent_version="2026-01", consent_text=CONSENT_TEXT,
                  created_at=created)
        confirm_row = self.email(batch, lead, "confirm", ScheduledEmail.Stream.TRANSACTIONAL,
                                 created + timedelta(seconds=20))
        if confirm_row:
            self.event(batch, confirm_row, "delivered", created + timedelta(seconds=30))
        confirmed_at = created + self.minutes(45)
        if rng.random() > 0.86 or confirmed_at > now:
            if created + timedelta(days=1) <= now:
                reminder = self.email(batch, lead, "confirm-reminder", ScheduledEmail.Stream.TRANSACTIONAL,
                                      created + timedelta(days=1))
                if reminder:
                    self.event(batch, reminder, "delivered", reminder["sent_at"] + timedelta(seconds=10))
            batch.add(Lead, **lead)
            return
        lead.update(status=Lead.Status.SUBSCRIBED, confirmed_at=confirmed_at)
        batch.add(ConsentRecord, id=self.ids(ConsentRecord), lead_id=pk, email_sha256=sha,
                  action=ConsentRecord.Action.CONFIRM, consent_version="2026-01", created_at=confirmed_at)
        self.sequence(batch, lead, source, sha)
        if not lead.get("is_customer") and rng.random() < 0.006 * source.quality:
            # Bought later through the site's own buy button: no email gets the credit.
            self.purchase(batch, lead, None, confirmed_at + timedelta(days=rng.uniform(0, 12)))
        batch.add(Lead, **lead)

    def sequence(self, batch: Batch, lead: dict[str, Any], source: Source, sha: str) -> None:
        rng = self.rng
        confirmed_at: datetime = lead["confirmed_at"]
        stopped = ""
        for index, step in enumerate(SEQUENCE_STEPS):
            if index == 0:
                at = confirmed_at + timedelta(seconds=40)
            else:
                day = (confirmed_at + timedelta(days=index)).replace(hour=13, minute=0, second=0, microsecond=0)
                at = day + timedelta(minutes=rng.uniform(0, 20))
            if stopped:
                pk = self.ids(ScheduledEmail)
                batch.add(ScheduledEmail, id=pk, lead_id=lead["id"], step=step, send_at=at, created_at=confirmed_at,
                          updated_at=confirmed_at, status=ScheduledEmail.Status.SKIPPED, skip_reason=stopped)
                continue
            row = self.email(batch, lead, step, ScheduledEmail.Stream.MARKETING, at)
            if row is None:
                continue
            if rng.random() < (0.009 if index == 0 else 0.001):
                self.event(batch, row, "bounced", at + timedelta(seconds=8), "550 mailbox unavailable")
                lead.update(suppression=Lead.Suppression.HARD_BOUNCE, suppressed_at=at + timedelta(seconds=8))
                stopped = "suppressed"
                continue
            self.event(batch, row, "delivered", at + timedelta(seconds=6))
            if rng.random() < 0.0006:
                self.event(batch, row, "complained", at + self.minutes(600))
                lead.update(suppression=Lead.Suppression.COMPLAINT, suppressed_at=at + timedelta(hours=10))
                stopped = "suppressed"
                continue
            opened_at = at + self.minutes(180)
            if rng.random() < OPEN_RATE[step] and opened_at <= self.now:
                for extra in range(1 + (rng.random() < 0.3) + (rng.random() < 0.1)):
                    self.event(batch, row, "opened", opened_at + timedelta(hours=extra * 5))
                if rng.random() < CLICK_GIVEN_OPEN.get(step, 0.16):
                    self.click(batch, lead, row, step, source, opened_at + self.minutes(2))
            if rng.random() < 0.0015:
                self.event(batch, row, "unsubscribed", at + self.minutes(300))
                lead.update(suppression=Lead.Suppression.ESP_UNSUBSCRIBE, suppressed_at=at + timedelta(hours=5))
                stopped = "suppressed"
            elif rng.random() < 0.011:
                when = min(at + self.minutes(240), self.now)
                lead.update(status=Lead.Status.UNSUBSCRIBED, unsubscribed_at=when)
                batch.add(ConsentRecord, id=self.ids(ConsentRecord), lead_id=lead["id"], email_sha256=sha,
                          action=ConsentRecord.Action.UNSUBSCRIBE, created_at=when)
                stopped = "unsubscribed"

    def click(self, batch: Batch, lead: dict[str, Any], row: dict[str, Any], step: str, source: Source,
              at: datetime) -> None:
        rng = self.rng
        if lead.get("is_customer"):
            target = rng.choice([Click.Target.FULL_GUIDE, Click.Target.APP])
        elif rng.random() < UPGRADE_SHARE.get(step, 0.55):
            target = Click.Target.UPGRADE
        else:
            target = Click.Target.FREE_GUIDE
        batch.add(Click, id=self.ids(Click), lead_id=lead["id"], scheduled_email_id=row["id"], target=target,
                  created_at=at)
        self.event(batch, row, "clicked", at)
        if target != Click.Target.UPGRADE or rng.random() > 0.5:
            return
        checkout_at = at + timedelta(seconds=30)
        pk = self.ids(CheckoutSession)
        paid = rng.random() < min(0.95, 0.42 * source.quality)
        status = CheckoutSession.Status.COMPLETE if paid else rng.choice(
            [CheckoutSession.Status.EXPIRED, CheckoutSession.Status.EXPIRED, CheckoutSession.Status.OPEN])
        batch.add(CheckoutSession, id=pk, stripe_session_id=f"cs_demo_{pk}", lead_id=lead["id"],
                  scheduled_email_id=row["id"], idempotency_key=f"demo-{pk}", status=status, created_at=checkout_at)
        if paid:
            self.purchase(batch, lead, row, checkout_at + self.minutes(3), session=f"cs_demo_{pk}")

    def purchase(self, batch: Batch, lead: dict[str, Any], row: dict[str, Any] | None, at: datetime,
                 session: str = "") -> None:
        rng = self.rng
        if at > self.now:
            return
        pk = self.ids(Purchase)
        session = session or f"cs_demo_direct_{pk}"
        if not row:
            checkout_pk = self.ids(CheckoutSession)
            batch.add(CheckoutSession, id=checkout_pk, stripe_session_id=session, lead_id=lead["id"],
                      idempotency_key=f"demo-direct-{pk}", status=CheckoutSession.Status.COMPLETE,
                      created_at=at - timedelta(minutes=3))
        values: dict[str, Any] = dict(id=pk, stripe_session_id=session, lead_id=lead["id"],
                                      scheduled_email_id=row["id"] if row else None, status=Purchase.Status.PAID,
                                      amount_cents=PRICE, currency="usd", payment_intent_id=f"pi_demo_{pk}",
                                      created_at=at)
        lead.update(is_customer=True, customer_since=at)
        roll = rng.random()
        if roll < 0.05 and (refunded := at + timedelta(days=rng.uniform(0.5, 14))) <= self.now:
            values.update(status=Purchase.Status.REFUNDED, refunded_at=refunded)
            lead.update(is_customer=False)
        elif roll < 0.055 and (disputed := at + timedelta(days=rng.uniform(3, 30))) <= self.now:
            values.update(status=Purchase.Status.DISPUTED, disputed_at=disputed)
            lead.update(is_customer=False)
        batch.add(Purchase, **values)
        access = self.email(batch, lead, "access", ScheduledEmail.Stream.TRANSACTIONAL, at + timedelta(seconds=15),
                            key=session)
        if access:
            self.event(batch, access, "delivered", at + timedelta(seconds=20))
        # Buyers log a few daily sessions in the app.
        for offset in range(14):
            day = at + timedelta(days=offset, hours=rng.uniform(0, 3))
            if day > self.now or rng.random() > 0.55 - offset * 0.03:
                continue
            before = rng.randint(3, 8)
            batch.add(PracticeSession, id=self.ids(PracticeSession), lead_id=lead["id"], local_date=day.date(),
                      areas=rng.sample(["neck", "upper back", "lower back", "hips", "shoulders"], k=rng.randint(1, 2)),
                      steps_done=["release", "heat", "stretch"], release_seconds=rng.randint(60, 240),
                      heat_seconds=rng.randint(300, 900), stretch_seconds=rng.randint(60, 300),
                      pain_before=before, pain_after=max(0, before - rng.randint(0, 3)), created_at=day)

    def visits(self) -> Iterable[DailyVisit]:
        for (day, source), signups in self.signups.items():
            rate = source.visit_to_signup * self.rng.uniform(0.85, 1.15)
            yield DailyVisit(date=day, utm_source=source.utm_source, utm_medium=source.utm_medium,
                             utm_campaign=source.utm_campaign, count=max(signups, round(signups / rate)))


def add_visits(visits: Iterable[DailyVisit]) -> None:
    """Add the demo's visit counts to the counters. A counter may already exist: the landing page counts every
    visit, so opening `/` before seeding made today's direct-traffic row, and inserting it again would break the
    one-counter-per-day-and-source constraint."""
    new = {(v.date, v.utm_source, v.utm_medium, v.utm_campaign): v for v in visits}
    if not new:
        return
    days = {key[0] for key in new}
    for existing in DailyVisit.objects.filter(date__in=days):
        key = (existing.date, existing.utm_source, existing.utm_medium, existing.utm_campaign)
        if key in new:
            DailyVisit.objects.filter(pk=existing.pk).update(count=models.F("count") + new.pop(key).count)
    DailyVisit.objects.bulk_create(new.values(), batch_size=1000)


class Command(BaseCommand):
    help = "Fill the database with realistic demo leads, emails, events and purchases (marked is_demo)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--leads", type=int, default=10_000)
        parser.add_argument("--days", type=int, default=90, help="Spread the signups over this many past days")
        parser.add_argument("--seed", type=int, default=7, help="Random seed (same seed, same data)")
        parser.add_argument("--chunk", type=int, default=5_000, help="Leads generated and written per chunk")
        parser.add_argument("--force", action="store_true", help="Run even though real (non-demo) leads exist")

    def handle(self, *args: Any, **options: Any) -> None:
        total, chunk = options["leads"], options["chunk"]
        if total < 1 or chunk < 1:
            raise CommandError("--leads and --chunk must be positive")
        if Lead.objects.filter(is_demo=False).exists() and not options["force"]:
            raise CommandError("This database has real (non-demo) leads; refusing to mix demo data in. "
                               "Use --force if you really mean it.")
        started = time.monotonic()
        now = timezone.now()
        with transaction.atomic():
            removed = self.remove_demo()
            if removed:
                self.stderr.write(f"Removed {removed:,} demo leads of an earlier run.")
            ids, writer = Ids(), Writer(now)
            story = Story(random.Random(options["seed"]), ids, now, options["days"])
            done = 0
            while done < total:
                batch = Batch()
                for _ in range(min(chunk, total - done)):
                    story.lead(batch)
                writer.write(batch)
                done += min(chunk, total - done)
                progress(self.stderr, done, total, started)
            add_visits(story.visits())
            self.reset_sequences()
        self.stderr.write("")
        if connection.vendor == "postgresql":
            # Fresh statistics, or the planner guesses as if the tables were empty; VACUUM (impossible inside a
            # transaction, e.g. in tests) also sets the visibility map that index-only scans rely on.
            command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
            with connection.cursor() as cursor:
                for model in ALL_MODELS:
                    cursor.execute(f'{command} "{model._meta.db_table}"')
        # The dashboard reads past days from its daily rollup, which beat keeps current; build it for the seeded
        # days now, as a deployment does with `rollup_rebuild`, rather than leave them to be counted live.
        rollup_rebuild_recent(days=options["days"] + 1)
        counts = {model.__name__: model._default_manager.count() for model in ALL_MODELS}
        self.stdout.write(f"Seeded {total:,} demo leads in {time.monotonic() - started:.1f}s: "
                          + ", ".join(f"{name} {n:,}" for name, n in counts.items()))

    def remove_demo(self) -> int:
        """Delete an earlier run's demo rows with plain SQL deletes (the ORM's cascade collector would load
        every row into memory)."""
        demo = Lead.objects.filter(is_demo=True)
        count = demo.count()
        if not count:
            return 0
        lead_ids = demo.values("pk")
        emails = ScheduledEmail.objects.filter(lead__in=lead_ids).values("pk")
        for queryset in (
            EmailEvent.objects.filter(models.Q(lead__in=lead_ids) | models.Q(scheduled_email__in=emails)),
            Click.objects.filter(lead__in=lead_ids),
            Purchase.objects.filter(lead__in=lead_ids),
            CheckoutSession.objects.filter(lead__in=lead_ids),
            PracticeSession.objects.filter(lead__in=lead_ids),
            ConsentRecord.objects.filter(lead__in=lead_ids),
            ScheduledEmail.objects.filter(lead__in=lead_ids),
        ):
            queryset._raw_delete(queryset.db)  # type: ignore[attr-defined]
        for source in SOURCES:
            DailyVisit.objects.filter(utm_source=source.utm_source, utm_medium=source.utm_medium,
                                      utm_campaign=source.utm_campaign).delete()
        demo._raw_delete(demo.db)  # type: ignore[attr-defined]
        return count

    def reset_sequences(self) -> None:
        """Rows were written with explicit ids: move each id sequence past them."""
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            for model in MODELS:
                table = model._meta.db_table
                # Table names come from our models, never from input.
                sql = f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), COALESCE((SELECT MAX(id) FROM \"{table}\"), 1))"  # noqa: S608, E501
                cursor.execute(sql)
