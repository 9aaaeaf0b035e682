"""Settings for pytest: production settings (DEBUG off) with the few values a test run cannot supply.

Child processes the tests start (Celery workers, `make run`) use `config.settings` with their own env.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789")
os.environ.setdefault("ANYMAIL_WEBHOOK_SECRET", "tracking:test-secret")
os.environ.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_test_only_not_for_production")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
# Production settings refuse a plain-http SITE_URL and the placeholder address; links in test emails are never
# opened through SITE_URL's host (tests take the path, or set SITE_URL to the live server they start).
os.environ.setdefault("SITE_URL", "https://testserver")
os.environ.setdefault("COMPANY_POSTAL_ADDRESS", "Pain Reset Test Co., 1 Test Lane, Testville, USA")

from config.settings import *  # noqa: E402,F403

# The test client and the live server speak plain HTTP on loopback.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# No test asks the internet's DNS: lookups go to a port nobody answers unless a test starts its own server
# (tests/deliverability/dns_server.py), and give up quickly.
DNS_NAMESERVER = "127.0.0.1:9"
DNS_TIMEOUT_SECONDS = 0.3
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# The tests' webhook receivers listen on 127.0.0.1; tests/webhooks/test_ssrf.py turns this off to prove the refusal.
WEBHOOKS_ALLOW_PRIVATE = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast fixtures; never used in production

# SQLite (no DATABASE_URL): the test database is a file, not pytest-django's shared in-memory one, so the child
# processes a test starts (gunicorn, a Celery worker) open the same database; one file per pytest process.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}  # noqa: F405
# Test clients post a form microseconds after fetching it; the fill-time check is tested on its own (tests/bots/),
# with this set back to the production default, and the benchmark sets it in the environment.
SIGNUP_MIN_FILL_SECONDS = env.float("SIGNUP_MIN_FILL_SECONDS", default=0.0)  # noqa: F405
# Likewise the hourly confirmation caps (tests/bots/ sets them): hundreds of tests sign up @example.com
# addresses within the same hour, and with Redis the bookings outlive each test's rolled-back transaction.
CONFIRMATION_CAP_PER_DOMAIN_PER_HOUR = env.int("CONFIRMATION_CAP_PER_DOMAIN_PER_HOUR", default=0)  # noqa: F405
CONFIRMATION_CAP_PER_HOUR = env.int("CONFIRMATION_CAP_PER_HOUR", default=0)  # noqa: F405
