"""A small HTTP/1.1 load generator: N keep-alive connections over raw asyncio sockets (uvloop).

Run as a separate process by ``bench/http.py`` so the client does not share the server's core::

    python bench/loadgen.py URL PATH BODIES.jsonl --key KEY --connections 32 --seconds 10

Each connection sends one request, reads the whole response (Content-Length), records the
latency and sends the next; requests are taken round-robin from BODIES.jsonl, one JSON object per
line, ``{"key": API_KEY, "body": {...}}`` (an empty file: GET with ``--key``). Prints one JSON
object: requests, errors, status counts, seconds, rate, p50, p90, p99, max (milliseconds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def _request(host: str, path: str, key: str, body: bytes | None) -> bytes:
    method = "POST" if body is not None else "GET"
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Authorization: Bearer {key}"]
    if body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + (body or b"")


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:].strip())
    if length:
        await reader.readexactly(length)
    return status


async def _connection(
    host: str, port: int, payloads: list[bytes], deadline: float, ticket: Any, out: dict[str, Any]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            payload = payloads[next(ticket) % len(payloads)]
            started = time.perf_counter()
            writer.write(payload)
            status = await _read_response(reader)
            out["latencies"].append(time.perf_counter() - started)
            out["status"][status] = out["status"].get(status, 0) + 1
    except (ConnectionError, asyncio.IncompleteReadError):
        out["errors"] += 1
    finally:
        writer.close()


async def run(
    url: str, path: str, bodies: list[tuple[str, bytes | None]], connections: int, seconds: float
) -> dict[str, Any]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    payloads = [_request(f"{host}:{port}", path, key, b) for key, b in bodies]
    out: dict[str, Any] = {"latencies": [], "status": {}, "errors": 0}
    ticket = count()
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(_connection(host, port, payloads, deadline, ticket, out) for _ in range(connections))
    )
    elapsed = time.perf_counter() - started
    return summarize(out, elapsed, connections)


def summarize(out: dict[str, Any], elapsed: float, connections: int) -> dict[str, Any]:
    import numpy as np

    lat = np.asarray(out["latencies"]) * 1000.0
    n = int(lat.size)

    def pct(q: float) -> float:
        return round(float(np.percentile(lat, q)), 3) if n else 0.0

    return {
        "connections": connections,
        "requests": n,
        "errors": out["errors"],
        "status": {str(k): v for k, v in sorted(out["status"].items())},
        "seconds": round(elapsed, 3),
        "rate_per_s": round(n / elapsed, 1) if elapsed else 0.0,
        "p50_ms": pct(50),
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "max_ms": round(float(lat.max()), 3) if n else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("path")
    parser.add_argument("bodies", type=Path)
    parser.add_argument("--key", default="")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    lines = [json.loads(line) for line in args.bodies.read_bytes().splitlines() if line.strip()]
    bodies: list[tuple[str, bytes | None]] = [
        (item["key"], json.dumps(item["body"]).encode()) for item in lines
    ] or [(args.key, None)]
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency via uvicorn[standard]
        runner = asyncio.run
    result = runner(run(args.url, args.path, bodies, args.connections, args.seconds))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
