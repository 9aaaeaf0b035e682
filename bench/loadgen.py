"""A small asyncio HTTP/1.1 load generator on raw sockets (one connection per request, as gunicorn's sync
workers close it anyway): closed loop for the most requests per second, open loop for latency at a fixed rate.

Latency in the open loop is measured from when each request was DUE, not when it was sent, so a server that
falls behind shows it in p99 instead of quietly slowing the generator down (coordinated omission).
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def raw(self, host: str) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}", "Connection: close",
                 "User-Agent: funnel-bench/1.0"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        if self.body or self.method == "POST":
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass
class Response:
    status: int
    headers: dict[str, list[str]]
    body: bytes


@dataclass
class Result:
    latencies: list[float]  # seconds, successful requests only
    statuses: dict[int, int]
    errors: int
    elapsed: float

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0


async def fetch(host: str, port: int, request: Request) -> Response:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request.raw(f"{host}:{port}"))
        await writer.drain()
        data = await reader.read()  # Connection: close, so the body ends with the stream
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status_line = lines[0].split()
    if len(status_line) < 2:
        # A worker restarting (gunicorn's --max-requests) closes a kept connection without an answer: an error.
        raise ConnectionResetError("the server closed the connection without an answer")
    status = int(status_line[1])
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return Response(status, headers, body)


Maker = Callable[[int], Request]
Check = Callable[[Response], bool]


async def _one(host: str, port: int, request: Request, check: Check, due: float, result: Result) -> None:
    try:
        response = await fetch(host, port, request)
    except OSError:
        result.errors += 1
        return
    result.statuses[response.status] = result.statuses.get(response.status, 0) + 1
    if check(response):
        result.latencies.append(time.perf_counter() - due)
    else:
        result.errors += 1


async def closed_loop(host: str, port: int, make: Maker, check: Check, *, concurrency: int, total: int) -> Result:
    """`concurrency` clients, each sending its next request as soon as the last one answered."""
    result = Result([], {}, 0, 0.0)
    counter = iter(range(total))

    async def client() -> None:
        for i in counter:
            request = make(i)
            await _one(host, port, request, check, time.perf_counter(), result)

    started = time.perf_counter()
    await asyncio.gather(*[client() for _ in range(concurrency)])
    result.elapsed = time.perf_counter() - started
    return result


async def open_loop(host: str, port: int, make: Maker, check: Check, *, rate: float, total: int) -> Result:
    """Start request i at t0 + i/rate whatever happened to the others."""
    result = Result([], {}, 0, 0.0)
    requests = [make(i) for i in range(total)]  # built up front: the schedule must not wait for the generator
    tasks = []
    started = time.perf_counter()
    for i, request in enumerate(requests):
        due = started + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_one(host, port, request, check, due, result)))
    await asyncio.gather(*tasks)
    result.elapsed = time.perf_counter() - started
    return result
