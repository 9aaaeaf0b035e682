"""The machine a benchmark ran on: CPU model, cores, memory, load, and versions of the parts that matter."""

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from bench.common import redis_url, server_url


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def _postgres_version() -> str:
    try:
        out = subprocess.run(["psql", server_url(), "-tAc", "SHOW server_version"], capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def _redis_version() -> str:
    try:
        import redis

        info: dict[str, Any] = redis.Redis.from_url(redis_url(), socket_connect_timeout=2).info("server")  # type: ignore[assignment]
        return str(info["redis_version"])
    except Exception:  # noqa: BLE001 - reported as unknown, the benchmark still runs
        return "unknown"


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def machine_info() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count() or 0,
        "memory_gib": round(_memory_gib(), 1),
        "load_at_start": f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "django": _package_version("django"),
        "celery": _package_version("celery"),
        "gunicorn": _package_version("gunicorn"),
        "psycopg": _package_version("psycopg"),
        "postgresql": _postgres_version(),
        "redis": _redis_version(),
    }


if __name__ == "__main__":
    for key, value in machine_info().items():
        print(f"{key}: {value}")
