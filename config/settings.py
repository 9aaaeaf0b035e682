"""Settings, read from the environment through one `env` object.

Every variable is documented in README.md. With nothing set, the service runs on embedded defaults
(SQLite, the Celery filesystem transport and `.eml` files under `var/`), so `make run` needs no server.
"""

from datetime import date as _date
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

# Development values are public (they are in this file): with DEBUG off each is refused at the end of this file.
_DEV_SECRET_KEY = "dev-only-insecure-key-change-me"
_DEV_STRIPE_WEBHOOK_SECRET = "whsec_dev_only_simulator_secret"
_PLACEHOLDER_POSTAL_ADDRESS = "Pain Reset, 123 Example Street, Springfield, USA"

SECRET_KEY = env.str("SECRET_KEY", default="") or (_DEV_SECRET_KEY if DEBUG else "")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "anymail",
    "corsheaders",
    "leads",
    "emails",
    "funnel",
    "webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy (CONTENT_SECURITY_POLICY below)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",  # before CommonMiddleware: answers preflights; /api/ only (below)
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            # Django's default loaders (directories, then apps) after the email layout, which emails.layout
            # compiles from MJML; all cached, so the compiling happens once per process.
            "loaders": [("django.template.loaders.cached.Loader", [
                "emails.layout.Loader",
                "django.template.loaders.filesystem.Loader",
                "django.template.loaders.app_directories.Loader",
            ])],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.site",
            ],
            "builtins": ["config.template_constants"],
        },
    }
]

# --- Database: PostgreSQL in production and CI, a SQLite file under var/ otherwise.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # The same backend, minus the health check's round trip right after a commit (config/db/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "config.db.postgresql"
    # A database host that drops packets must fail a request (and /healthz) in seconds, not after the OS's minutes.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int("DB_CONNECT_TIMEOUT", default=5)
else:
    # SQLite: wait for a writer instead of failing at once when web, worker and beat share the file.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Broker and cache: Redis when REDIS_URL is set, embedded files otherwise.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": 3600}
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # A cache outage must not take signups down: short timeouts, and callers treat errors as misses.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    _queue_dir = VAR_DIR / "celery" / "queue"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = f"file://{VAR_DIR / 'celery' / 'results'}"
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"

# --- The drip.
DRIP_SEND_HOUR = env.int("DRIP_SEND_HOUR", default=8)
# Length of a "day" in the sequence; 60 in development walks a whole week in 7 minutes.
DRIP_DAY_SECONDS = env.int("DRIP_DAY_SECONDS", default=86400)
DRIP_DISPATCH_EVERY_SECONDS = env.float("DRIP_DISPATCH_EVERY_SECONDS", default=5.0)
DRIP_BATCH_SIZE = env.int("DRIP_BATCH_SIZE", default=200)
DRIP_DEFAULT_TIME_ZONE = env.str("DRIP_DEFAULT_TIME_ZONE", default="America/New_York")
# A claim is a lease: a row still `sending` after this long was interrupted (see emails/dispatch.py).
DRIP_LEASE_SECONDS = env.int("DRIP_LEASE_SECONDS", default=300)
# Transient ESP errors (5xx, 429, connect failures) are retried with exponential backoff, this many times at most.
DRIP_MAX_ATTEMPTS = env.int("DRIP_MAX_ATTEMPTS", default=6)
DRIP_RETRY_BASE_SECONDS = env.int("DRIP_RETRY_BASE_SECONDS", default=60)
# Queueing an email asks a worker to dispatch at once (best effort); beat catches up either way.
DRIP_KICK_ON_QUEUE = env.bool("DRIP_KICK_ON_QUEUE", default=True)
# Transactional mail has its own lane (Celery queue `transactional`, emails/dispatch.py); the marketing lane takes a
# transactional row too once it has waited this long, so mail still goes out if no worker consumes that queue.
DRIP_TRANSACTIONAL_FALLBACK_SECONDS = env.int("DRIP_TRANSACTIONAL_FALLBACK_SECONDS", default=30)
# A hard bounce stops all mail at once; soft bounces (a full mailbox) stop marketing mail only when this many come
# in a row, with no delivery between them, within this many days (emails/bounces.py).
DRIP_SOFT_BOUNCE_LIMIT = env.int("DRIP_SOFT_BOUNCE_LIMIT", default=3)
DRIP_SOFT_BOUNCE_WINDOW_DAYS = env.int("DRIP_SOFT_BOUNCE_WINDOW_DAYS", default=14)
# --- The ESP boundary (emails/esp_send.py, emails/esp_throttle.py, emails/esp_lookup.py).
# Messages in flight at once per worker for a backend with no batch endpoint (Postmark takes batches of 500).
ESP_CONCURRENCY = env.int("ESP_CONCURRENCY", default=8)
# What the ESP account allows, shared by every worker through Redis (empty: no limit).
ESP_MAX_MESSAGES_PER_SECOND = env.int("ESP_MAX_MESSAGES_PER_SECOND", default=None) or None
ESP_MAX_REQUESTS_PER_SECOND = env.int("ESP_MAX_REQUESTS_PER_SECOND", default=None) or None
# The share of both limits marketing mail never takes, so transactional mail always finds room.
ESP_TRANSACTIONAL_SHARE = env.float("ESP_TRANSACTIONAL_SHARE", default=0.1)
# An `unknown` row the ESP has no record of this long after the hand-off (its search index has caught up) is sent
# again, once; beat asks the ESP this often (emails/esp_lookup.py; Postmark only).
ESP_LOOKUP_AFTER_SECONDS = env.int("ESP_LOOKUP_AFTER_SECONDS", default=600)
ESP_LOOKUP_EVERY_SECONDS = env.float("ESP_LOOKUP_EVERY_SECONDS", default=60.0)
FUNNEL_DOUBLE_OPT_IN = env.bool("FUNNEL_DOUBLE_OPT_IN", default=True)
# Lead imports (leads/imports/, funnel/imports/): rows per transaction (the resume point), the pace of the
# confirmation emails to imported rows without consent evidence, and after how long a silent import is resumed.
LEAD_IMPORT_CHUNK_ROWS = env.int("LEAD_IMPORT_CHUNK_ROWS", default=5000)
LEAD_IMPORT_CONFIRMATIONS_PER_HOUR = env.int("LEAD_IMPORT_CONFIRMATIONS_PER_HOUR", default=1000)
LEAD_IMPORT_STALE_SECONDS = env.int("LEAD_IMPORT_STALE_SECONDS", default=120)
# --- Outgoing webhooks (webhooks/). Private, loopback and link-local receivers are refused (SSRF) unless this is on:
# for development and tests only, whose receivers listen on 127.0.0.1.
WEBHOOKS_ALLOW_PRIVATE = env.bool("WEBHOOKS_ALLOW_PRIVATE", default=DEBUG)
WEBHOOKS_TIMEOUT_SECONDS = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=10.0)
# The CA bundle receivers' certificates are checked against (empty: certifi's, the public web's).
WEBHOOKS_CA_BUNDLE = env.str("WEBHOOKS_CA_BUNDLE", default="")
# A failed delivery is tried again after 1 min, 2, 4… (at most every 6 h) for 3 days; an endpoint failing that long
# is disabled and staff are emailed.
WEBHOOKS_RETRY_FIRST_SECONDS = env.int("WEBHOOKS_RETRY_FIRST_SECONDS", default=60)
WEBHOOKS_RETRY_MOST_SECONDS = env.int("WEBHOOKS_RETRY_MOST_SECONDS", default=6 * 3600)
WEBHOOKS_RETRY_FOR_SECONDS = env.int("WEBHOOKS_RETRY_FOR_SECONDS", default=3 * 86400)

# Transactional mail's own lane: a queue no marketing batch ever sits in (bin/worker and Procfile.dev consume it),
# for every publish of the task (the kick, beat's entry).
CELERY_TASK_ROUTES = {"emails.tasks.dispatch_transactional": {"queue": "transactional"}}
CELERY_BEAT_SCHEDULE = {
    "dispatch-due-emails": {
        "task": "emails.tasks.dispatch_due",
        "schedule": DRIP_DISPATCH_EVERY_SECONDS,
        "options": {"expires": max(DRIP_DISPATCH_EVERY_SECONDS * 2, 10)},
    },
    # Transactional mail's own lane, on the queue CELERY_TASK_ROUTES gives it (above).
    "dispatch-transactional-emails": {
        "task": "emails.tasks.dispatch_transactional",
        "schedule": DRIP_DISPATCH_EVERY_SECONDS,
        "options": {"expires": max(DRIP_DISPATCH_EVERY_SECONDS * 2, 10)},
    },
    # Rows left `unknown` are settled by asking the ESP (emails/esp_lookup.py): one query when there are none.
    "settle-unknown-emails": {
        "task": "emails.tasks.unknown_rows_settle",
        "schedule": ESP_LOOKUP_EVERY_SECONDS,
        "options": {"expires": max(ESP_LOOKUP_EVERY_SECONDS - 1, 5)},
    },
    # Readers who finished the week without buying get the follow-up rows (emails/follow_up.py): one indexed query.
    "enrol-follow-ups": {
        "task": "emails.tasks.follow_up_enrol",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    # Silent readers are asked once, then stop getting marketing mail (emails/sunset.py): two indexed queries.
    "sunset-silent-readers": {
        "task": "emails.tasks.sunset_run",
        "schedule": 900.0,
        "options": {"expires": 890},
    },
    # Imports whose worker died are resumed at their committed cursor (funnel/imports/services.py).
    "resume-lead-imports": {
        "task": "funnel.tasks.lead_imports_resume",
        "schedule": 60.0,
        "options": {"expires": 59},
    },
    "housekeeping": {
        "task": "funnel.tasks.housekeeping",
        "schedule": 3600.0,
    },
    # Often, because a resubscribed reader's welcome waits for it; one indexed anti-join, cheap when empty.
    "enrol-missing-sequences": {
        "task": "funnel.tasks.enrol_missing_sequences",
        "schedule": 300.0,
    },
    # Stored Stripe events no task processed (broker down, worker killed) and failures due for their retry; one
    # query on a small partial index when there is nothing to do (funnel/checkout/events.py).
    "sweep-stripe-events": {
        "task": "funnel.tasks.sweep_stripe_events",
        "schedule": 20.0,
        "options": {"expires": 19},
    },
    # The dashboard's daily rollup (funnel/dashboard/services.py): recent and late-touched days; a daily full pass.
    "dashboard-rollup-refresh": {
        "task": "funnel.dashboard.tasks.rollup_refresh",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    "dashboard-rollup-rebuild": {
        "task": "funnel.dashboard.tasks.rollup_rebuild_recent",
        "schedule": 86400.0,
    },
    # Outgoing webhook deliveries that are due: retries, and any no task took (webhooks/sender.py).
    "send-due-webhooks": {
        "task": "webhooks.tasks.deliveries_send_due",
        "schedule": 20.0,
        "options": {"expires": 19},
    },
}
# Task modules outside an app's tasks.py (autodiscovery only finds those).
CELERY_IMPORTS = ["funnel.dashboard.tasks"]

# --- Mail. One .eml per message under var/outbox/ unless an ESP backend is configured.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="emails.backends.OutboxBackend")
EMAIL_OUTBOX_DIR = VAR_DIR / "outbox"
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# The folders the embedded defaults write to exist before anything opens them: `manage.py migrate`, the tests or a
# worker on a fresh clone would otherwise fail ("unable to open database file", the result backend refusing its
# folder). Created here, where the paths are decided, so no entrypoint has to know them.
_embedded_dirs = [EMAIL_OUTBOX_DIR] if EMAIL_BACKEND == "emails.backends.OutboxBackend" else []
if DATABASES["default"]["ENGINE"].endswith("sqlite3") and DATABASES["default"]["NAME"] != ":memory:":
    _embedded_dirs.append(Path(DATABASES["default"]["NAME"]).parent)
if not REDIS_URL:
    _embedded_dirs += [_queue_dir, VAR_DIR / "celery" / "processed", VAR_DIR / "celery" / "control",
                       VAR_DIR / "celery" / "results", VAR_DIR / "cache"]
for _folder in _embedded_dirs:
    _folder.mkdir(parents=True, exist_ok=True)

DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Pain Reset <hello@painreset.example>")
TRANSACTIONAL_FROM_EMAIL = env.str("TRANSACTIONAL_FROM_EMAIL", default="Pain Reset <account@painreset.example>")
# Where replies to any email go (a mailbox someone reads); empty: no Reply-To, replies go to the From address.
REPLY_TO_EMAIL = env.str("REPLY_TO_EMAIL", default="Pain Reset <support@painreset.example>")
# Marketing and transactional mail leave through separate ESP streams (emails.message.stream_esp_extra), so
# complaints about the drip never hurt sign-in links and receipts. Postmark: the Message Stream IDs. Another
# ESP: its anymail esp_extra for each stream, as JSON (README), which takes precedence.
POSTMARK_MARKETING_STREAM = env.str("POSTMARK_MARKETING_STREAM", default="broadcast")
POSTMARK_TRANSACTIONAL_STREAM = env.str("POSTMARK_TRANSACTIONAL_STREAM", default="outbound")
ESP_EXTRA_MARKETING = env.json("ESP_EXTRA_MARKETING", default={})
ESP_EXTRA_TRANSACTIONAL = env.json("ESP_EXTRA_TRANSACTIONAL", default={})
SERVER_EMAIL = TRANSACTIONAL_FROM_EMAIL
COMPANY_POSTAL_ADDRESS = env.str("COMPANY_POSTAL_ADDRESS", default=_PLACEHOLDER_POSTAL_ADDRESS)

# Deliverability (emails/deliverability): the sender-domain check reads the From domains' DNS for this ESP (empty:
# the ESP of EMAIL_BACKEND), its DKIM selector and bounce host; recipients' MX hosts name their mailbox provider.
SENDER_CHECK_ESP = env.str("SENDER_CHECK_ESP", default="")
ESP_DKIM_SELECTOR = env.str("ESP_DKIM_SELECTOR", default="")
ESP_RETURN_PATH_HOST = env.str("ESP_RETURN_PATH_HOST", default="")
# Off by default: bin/migrate fails on warnings, and a deploy without DNS (make prod-check, a sandbox) must pass.
SENDER_CHECK_ON_DEPLOY = env.bool("SENDER_CHECK_ON_DEPLOY", default=False)
DNS_NAMESERVER = env.str("DNS_NAMESERVER", default="")  # host:port instead of the system resolver (tests)
DNS_TIMEOUT_SECONDS = env.float("DNS_TIMEOUT_SECONDS", default=2.0)
# The brake (emails/deliverability/brake.py) judges the last this many marketing emails sent, once at least the
# minimum have gone out since it was last released.
DELIVERABILITY_BRAKE_WINDOW = env.int("DELIVERABILITY_BRAKE_WINDOW", default=1000)
DELIVERABILITY_BRAKE_MIN_SENT = env.int("DELIVERABILITY_BRAKE_MIN_SENT", default=200)
# A new sending domain's warm-up (emails/deliverability/warmup.py): from this date (YYYY-MM-DD, UTC days), at most
# SEND_WARMUP_DAILY_START marketing emails on its first day, twice as many each day after. Empty: no cap.
_SEND_WARMUP_START = env.str("SEND_WARMUP_START", default="").strip()
try:
    SEND_WARMUP_START = _date.fromisoformat(_SEND_WARMUP_START) if _SEND_WARMUP_START else None
except ValueError:
    SEND_WARMUP_START = None  # refused at the end of this file, with what to set
SEND_WARMUP_DAILY_START = env.int("SEND_WARMUP_DAILY_START", default=50)
# Tracking webhooks must be authenticated in production: refused at the end of this file without the secret.
ANYMAIL = {
    "WEBHOOK_SECRET": env.str("ANYMAIL_WEBHOOK_SECRET", default="") or None,
}
# The ESP's own settings, for the anymail backend named in EMAIL_BACKEND: ANYMAIL_POSTMARK_SERVER_TOKEN becomes
# ANYMAIL["POSTMARK_SERVER_TOKEN"], and so on for any ESP (anymail itself reads only the ANYMAIL dict).
ANYMAIL.update({name.removeprefix("ANYMAIL_"): value for name, value in env.ENVIRON.items()
                if name.startswith("ANYMAIL_") and name != "ANYMAIL_WEBHOOK_SECRET"})

# --- Stripe. Without a secret key, development uses the local checkout simulator.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
# With the public development default anyone could sign a fake "paid" event: outside DEBUG the secret must come
# from the environment or the service refuses to start (end of this file).
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="") or (_DEV_STRIPE_WEBHOOK_SECRET if DEBUG else "")
STRIPE_PRICE_ID = env.str("STRIPE_PRICE_ID", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")  # tests point the real client at a local fake
STRIPE_API_TIMEOUT_SECONDS = env.float("STRIPE_API_TIMEOUT_SECONDS", default=20.0)
STRIPE_MAX_NETWORK_RETRIES = 2
PRODUCT_PRICE_CENTS = 997
PRODUCT_CURRENCY = "usd"
# Who is emailed when a paid purchase is held for review (the buyer is waiting): comma-separated addresses;
# empty: the ADMINS' addresses.
STAFF_ALERT_EMAIL = env.list("STAFF_ALERT_EMAIL", default=[])
PRODUCT_NAME = "3-Step Pain Reset: the full guide and daily-session app"
# "Send me a sign-in link" requests, per client IP and per email address (the same answer either way).
SIGNIN_RATE_LIMIT = env.str("SIGNIN_RATE_LIMIT", default="10/h")
SIGNIN_RATE_LIMIT_PER_EMAIL = env.str("SIGNIN_RATE_LIMIT_PER_EMAIL", default="3/h")

# --- Abuse and proxies. The client IP comes from this header only when it is set (e.g. HTTP_X_FORWARDED_FOR).
TRUSTED_PROXY_IP_HEADER = env.str("TRUSTED_PROXY_IP_HEADER", default="")
# Peers whose forwarding header is believed (addresses or CIDR networks): the reverse proxy, nothing else.
TRUSTED_PROXY_IPS = env.list("TRUSTED_PROXY_IPS", default=["127.0.0.1", "::1"])
SIGNUP_RATE_LIMIT = env.str("SIGNUP_RATE_LIMIT", default="10/h")
# Sites whose pages may sign readers up (the embedded form, the API from a browser): origins such as
# https://blog.example.com, comma-separated. Empty: none. CORS (django-cors-headers) for the API only.
SIGNUP_ALLOWED_ORIGINS = [origin.rstrip("/") for origin in env.list("SIGNUP_ALLOWED_ORIGINS", default=[])]
CORS_ALLOWED_ORIGINS = SIGNUP_ALLOWED_ORIGINS
CORS_URLS_REGEX = r"^/api/"
CORS_ALLOW_METHODS = ["GET", "OPTIONS", "POST"]
CORS_PREFLIGHT_MAX_AGE = 3600
# --- Bots and list bombing (leads/bots.py, funnel/landing/abuse.py). A form posted sooner than this after it was
# rendered is a script's (0: no fill-time check).
SIGNUP_MIN_FILL_SECONDS = env.float("SIGNUP_MIN_FILL_SECONDS", default=2.0)
# Confirmation emails booked per clock hour, to one recipient domain and in total (0: no cap). Beyond them a signup
# is kept and its confirmation waits for the next hour with room: a script typing a thousand strangers' addresses
# at one company cannot make us mail them all at once. Raise both before an expected peak (a launch).
CONFIRMATION_CAP_PER_DOMAIN_PER_HOUR = env.int("CONFIRMATION_CAP_PER_DOMAIN_PER_HOUR", default=500)
CONFIRMATION_CAP_PER_HOUR = env.int("CONFIRMATION_CAP_PER_HOUR", default=10000)

# --- Security. On by default; DEBUG (development only) relaxes what needs HTTPS.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # probes speak plain HTTP to the container
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = 0 if DEBUG else env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
# Scripts only from our own files: no inline <script> or onclick anywhere, so an injected one cannot run. Inline
# styles stay allowed: the email previews (admin, dev outbox) are HTML emails, which carry their CSS inline.
# No form-action: the buy button's POST is redirected to Stripe Checkout, which that directive would block.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "config.logging.RedactEmailsFilter"}},
    "formatters": {"line": {"()": "config.logging.OneLineFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "line", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "celery": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}


# --- Refuse to start wrong: each problem names the variable and what to set, all of them at once, at import.
# A process that would sign with a public secret, mail unusable links or lie about its address never starts.
def _settings_problems() -> list[str]:
    problems = []
    if not 0 <= DRIP_SEND_HOUR <= 23:
        problems.append(f"DRIP_SEND_HOUR={DRIP_SEND_HOUR} is not an hour of the day: set DRIP_SEND_HOUR to 0-23 "
                        "(the local hour the daily reminders go out)")
    positive = {"DRIP_DAY_SECONDS": DRIP_DAY_SECONDS, "DRIP_DISPATCH_EVERY_SECONDS": DRIP_DISPATCH_EVERY_SECONDS,
                "DRIP_BATCH_SIZE": DRIP_BATCH_SIZE, "DRIP_LEASE_SECONDS": DRIP_LEASE_SECONDS,
                "DRIP_MAX_ATTEMPTS": DRIP_MAX_ATTEMPTS, "DRIP_RETRY_BASE_SECONDS": DRIP_RETRY_BASE_SECONDS,
                "DRIP_SOFT_BOUNCE_LIMIT": DRIP_SOFT_BOUNCE_LIMIT,
                "DRIP_SOFT_BOUNCE_WINDOW_DAYS": DRIP_SOFT_BOUNCE_WINDOW_DAYS,
                "STRIPE_API_TIMEOUT_SECONDS": STRIPE_API_TIMEOUT_SECONDS,
                "DELIVERABILITY_BRAKE_WINDOW": DELIVERABILITY_BRAKE_WINDOW,
                "DELIVERABILITY_BRAKE_MIN_SENT": DELIVERABILITY_BRAKE_MIN_SENT,
                "SEND_WARMUP_DAILY_START": SEND_WARMUP_DAILY_START}
    problems += [f"{name}={value}: set {name} to a number greater than 0" for name, value in positive.items()
                 if value <= 0]
    if DELIVERABILITY_BRAKE_MIN_SENT > DELIVERABILITY_BRAKE_WINDOW:
        problems.append(f"DELIVERABILITY_BRAKE_MIN_SENT={DELIVERABILITY_BRAKE_MIN_SENT} is more than the window "
                        f"({DELIVERABILITY_BRAKE_WINDOW}), so the brake would never judge: set it lower")
    if _SEND_WARMUP_START and SEND_WARMUP_START is None:
        problems.append(f"SEND_WARMUP_START={_SEND_WARMUP_START!r} is not a date: set SEND_WARMUP_START to the "
                        "warm-up's first day as YYYY-MM-DD, or leave it empty for no warm-up")
    try:
        ZoneInfo(DRIP_DEFAULT_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"DRIP_DEFAULT_TIME_ZONE={DRIP_DEFAULT_TIME_ZONE!r} is not a time zone: set "
                        "DRIP_DEFAULT_TIME_ZONE to an IANA name such as America/New_York")
    if DEBUG:
        return problems
    if not SECRET_KEY.strip() or SECRET_KEY == _DEV_SECRET_KEY:
        problems.append("SECRET_KEY is empty or the public development key: set SECRET_KEY to a long random value, "
                        "e.g. the output of: python -c 'import secrets; print(secrets.token_urlsafe(50))'")
    if not STRIPE_WEBHOOK_SECRET.strip() or STRIPE_WEBHOOK_SECRET == _DEV_STRIPE_WEBHOOK_SECRET:
        problems.append("STRIPE_WEBHOOK_SECRET is empty or the public development secret: set STRIPE_WEBHOOK_SECRET "
                        "to the signing secret (whsec_...) of the webhook endpoint in Stripe's dashboard")
    user, colon, password = str(ANYMAIL["WEBHOOK_SECRET"] or "").partition(":")
    if not (user.strip() and colon and password.strip()):
        problems.append("ANYMAIL_WEBHOOK_SECRET is empty or not user:password: set ANYMAIL_WEBHOOK_SECRET to a random "
                        "user:password and give the ESP https://user:password@<host>/anymail/<esp>/tracking/")
    if not COMPANY_POSTAL_ADDRESS.strip() or COMPANY_POSTAL_ADDRESS == _PLACEHOLDER_POSTAL_ADDRESS:
        problems.append("COMPANY_POSTAL_ADDRESS is unset or the placeholder: set COMPANY_POSTAL_ADDRESS to the "
                        "sender's real postal address (CAN-SPAM requires it in every marketing email)")
    if urlsplit(SITE_URL).scheme != "https" or not urlsplit(SITE_URL).netloc:
        problems.append(f"SITE_URL={SITE_URL!r} is not an https address: set SITE_URL to the public https:// address "
                        "of the site (every emailed link starts with it; Gmail and Yahoo ignore one-click unsubscribe "
                        "over http)")
    return problems


if _problems := _settings_problems():
    raise ImproperlyConfigured("refusing to start with these settings:\n  - " + "\n  - ".join(_problems))
