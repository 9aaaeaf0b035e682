"""The sending benchmark's settings: bench settings, a backend that discards, and django-post-office (the peer
we compare against) when it is installed. post_office is installed for the benchmark only, never a dependency."""

from importlib.util import find_spec

from bench.settings import *  # noqa: F403

EMAIL_BACKEND = "bench.backends.DiscardBackend"
if find_spec("post_office") is not None:
    INSTALLED_APPS = [*INSTALLED_APPS, "post_office"]  # noqa: F405
    POST_OFFICE = {"BACKENDS": {"default": "bench.backends.DiscardBackend"}}
