"""The image's static files, served by the image's web entrypoint with DEBUG off.

Found: the Dockerfile built static files with DEBUG=true (no manifest), while DEBUG-off settings use whitenoise's
manifest storage, so gunicorn answered 500 on every page. Both builds are served here by `bin/web`.
"""

import os
import re
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import ROOT, database_url_for_subprocess, free_port, stop_process_group, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _env(tmp_path: Path, static_root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
    env.update({
        "PATH": f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}", "DEBUG": "false",
        "SECRET_KEY": "static-test-" + "x" * 50, "SITE_URL": "https://shop.example", "ALLOWED_HOSTS": "shop.example",
        "DATABASE_URL": database_url_for_subprocess(), "VAR_DIR": str(tmp_path / "var"),
        "STATIC_ROOT": str(static_root), "STRIPE_WEBHOOK_SECRET": "whsec_static_test",
        "ANYMAIL_WEBHOOK_SECRET": "a:b", "COMPANY_POSTAL_ADDRESS": "Static Test Inc, 1 Test Way, Testville",
        "STRIPE_SECRET_KEY": "sk_test_static", "WEB_CONCURRENCY": "1",
    })
    return env


@contextmanager
def _web(env: dict[str, str], log: Path) -> Iterator[str]:
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(["bin/web"], cwd=ROOT, env={**env, "BIND": f"127.0.0.1:{port}"}, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _get(base + "/healthz")[0] == 200 or proc.poll() is not None, timeout=60,
                   what="gunicorn")
        assert proc.poll() is None, log.read_text()
        yield base
    finally:
        stop_process_group(proc)


def _get(url: str) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers={"Host": "shop.example", "X-Forwarded-Proto": "https",
                                                   "Accept-Encoding": "gzip"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode(errors="replace")
    except OSError:
        return 0, {}, ""


def test_a_debug_build_of_static_files_makes_every_page_500(tmp_path: Path) -> None:
    static_root = tmp_path / "static-debug"
    env = _env(tmp_path, static_root)
    # The old Dockerfile line, exactly: a build with DEBUG on writes no manifest.
    subprocess.run(["python", "manage.py", "collectstatic", "--noinput"], cwd=ROOT, check=True,
                   env={**env, "DEBUG": "true"}, capture_output=True)
    assert not (static_root / "staticfiles.json").exists()
    with _web(env, tmp_path / "web.log") as base:
        assert _get(base + "/")[0] == 500


def test_bin_build_static_serves_pages_with_hashed_compressed_long_cached_css(tmp_path: Path) -> None:
    static_root = tmp_path / "static"
    env = _env(tmp_path, static_root)
    built = subprocess.run(["bin/build-static"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert built.returncode == 0, built.stdout + built.stderr
    assert (static_root / "staticfiles.json").exists()
    with _web(env, tmp_path / "web.log") as base:
        status, _, page = _get(base + "/")
        assert status == 200
        css = re.search(r'href="(/static/css/site\.[0-9a-f]{12}\.css)"', page)
        assert css, "the page links the unhashed stylesheet"
        status, headers, _ = _get(base + css.group(1))
        assert status == 200
        assert "immutable" in headers["Cache-Control"] and headers.get("Content-Encoding") == "gzip"
