"""Docker cannot run here, so the compose file's structure is checked against the settings instead."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_production_services_with_healthchecks() -> None:
    services = _compose()["services"]
    assert {"postgres", "redis", "web", "worker", "beat", "mailpit"} <= set(services)
    for name in ("postgres", "redis", "web", "worker", "beat", "mailpit"):
        assert "healthcheck" in services[name], name


def test_commands_run_gunicorn_celery_worker_and_beat() -> None:
    services = _compose()["services"]
    assert services["web"]["command"][0] == "gunicorn" and "config.wsgi:application" in services["web"]["command"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]


def test_worker_can_be_scaled() -> None:
    worker = _compose()["services"]["worker"]
    # A fixed name or a published port would make `--scale worker=4` fail.
    assert "container_name" not in worker and "ports" not in worker


def test_app_environment_names_settings_that_exist() -> None:
    settings_src = (ROOT / "config" / "settings.py").read_text()
    read_vars = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_]+)"', settings_src))
    for name in ("web", "worker", "beat"):
        env = _compose()["services"][name]["environment"]
        unknown = set(env) - read_vars
        assert not unknown, f"{name} sets variables the settings never read: {unknown}"
        assert env["DEBUG"] == "false"
        assert env["DATABASE_URL"].startswith("postgres://") and env["REDIS_URL"].startswith("redis://")


def test_dockerfile_serves_with_gunicorn_and_static_files() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "collectstatic" in dockerfile and "gunicorn" in dockerfile
    assert "whitenoise" in (ROOT / "config" / "settings.py").read_text()
