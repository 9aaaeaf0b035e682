"""Docker cannot run here, so the image and compose file are checked for what would break them; what they run
(the bin/ entrypoints) is run for real by `make prod-check` and tests/foundation/test_production_static.py."""

import ipaddress
import os
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("migrate", "web", "worker", "beat")


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_production_services_with_healthchecks() -> None:
    services = _compose()["services"]
    assert {"proxy", "postgres", "redis", "web", "worker", "beat", "mailpit", "migrate"} <= set(services)
    for name in ("postgres", "redis", "web", "worker", "beat", "mailpit"):
        assert "healthcheck" in services[name], name


def test_every_app_service_runs_an_entrypoint_the_production_walk_runs_too() -> None:
    services = _compose()["services"]
    walk = (ROOT / "tests" / "production" / "walk.py").read_text()
    for name in APP_SERVICES:
        command = services[name]["command"]
        assert command[0].startswith("bin/"), f"{name} runs {command}, not an entrypoint"
        script = ROOT / command[0]
        assert script.is_file() and os.access(script, os.X_OK), f"{script} missing or not executable"
        assert f'"{command[0]}"' in walk, f"make prod-check never runs {command[0]}"


def test_dockerfile_builds_static_files_with_production_settings_and_serves_with_the_entrypoint() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    run_lines = " ".join(line for line in dockerfile.splitlines() if line.startswith(("RUN", "    ")))
    # Found: `DEBUG=true … collectstatic` wrote no manifest, so the image answered 500 on every page.
    assert "collectstatic" not in run_lines and "bin/build-static" in run_lines
    assert "DEBUG=true" not in dockerfile
    assert re.search(r'^CMD \["bin/web"\]', dockerfile, re.M)
    assert re.search(r"pip install -c constraints\.txt \.$", dockerfile, re.M), "the image must not install extras"


def test_dockerignore_keeps_the_workshop_out_of_the_image() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", "var", "tests", "bench", ".env"} <= ignored


def test_only_the_proxy_is_published_and_the_app_trusts_only_its_address() -> None:
    compose = _compose()
    services = compose["services"]
    published = {name for name, svc in services.items() if svc.get("ports")}
    assert published <= {"proxy", "mailpit"}
    assert all(str(port).startswith("127.0.0.1:") for port in services["mailpit"]["ports"])
    assert "ports" not in services["web"]
    proxy_ip = services["proxy"]["networks"]["backend"]["ipv4_address"]
    subnet = compose["networks"]["backend"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(proxy_ip) in ipaddress.ip_network(subnet)
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert env["TRUSTED_PROXY_IP_HEADER"] == "HTTP_X_FORWARDED_FOR"
        assert env["TRUSTED_PROXY_IPS"] == proxy_ip
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "reverse_proxy web:8000" in caddyfile and "Strict-Transport-Security" in caddyfile
    # Caddy replaces a client's X-Forwarded-For unless told to trust upstream proxies: it must not be told.
    assert "trusted_proxies" not in caddyfile


def test_worker_can_be_scaled() -> None:
    worker = _compose()["services"]["worker"]
    # A fixed name or a published port would make `--scale worker=4` fail.
    assert "container_name" not in worker and "ports" not in worker


def test_app_environment_names_settings_that_exist() -> None:
    settings_src = (ROOT / "config" / "settings.py").read_text()
    read_vars = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_]+)"', settings_src))
    for name in APP_SERVICES:
        env = _compose()["services"][name]["environment"]
        unknown = {var for var in set(env) - read_vars if not var.startswith("ANYMAIL_")}
        assert not unknown, f"{name} sets variables the settings never read: {unknown}"
        assert env["DEBUG"] == "false"
        assert env["DATABASE_URL"].startswith("postgres://") and env["REDIS_URL"].startswith("redis://")
