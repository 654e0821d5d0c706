"""A lean HTTP/1.1 load generator, run as its own process (``python _loadgen.py SPEC``).

Why by hand: httpx costs about 1.5 ms of CPU per request, more than the server it measures
on these two cores, and no wrk/oha binary comes with the project.  This one writes
pre-built requests on keep-alive connections with asyncio streams and parses only the
status line and ``Content-Length`` (about 50-100 us per request).

SPEC is JSON: ``{"host", "port", "connections", "seconds", "rate" (requests/s offered in
total, 0 = as fast as answers come), "requests": [raw request bytes as latin-1 text,
used round robin; every "{n}" in a request is replaced by the request's unique number,
ten digits wide, so a Content-Length computed with ten characters for it holds],
"acked_path" (optional: the numbers of the requests answered 2xx are written there, one per
line, at the end)}``.  It prints one JSON line: sent, answered, statuses, p50/p90/p99/max
latency in ms, achieved rate.
Latency is measured from the moment a request was *due* (open loop), so queueing in
the client or server counts, as a user would see it.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections import Counter
from typing import Any


async def _conn(spec: dict[str, Any], k: int, t0: float, stop: float,
                lat: list[float], status: Counter[int], counter: list[int],
                acked: list[int]) -> None:
    reader, writer = await asyncio.open_connection(spec["host"], spec["port"])
    reqs = spec["requests"]
    n_conn = spec["connections"]
    rate = spec["rate"]
    i = 0
    try:
        while True:
            due = t0 + (k + i * n_conn) / rate if rate else time.perf_counter()
            if due > stop:
                return
            now = time.perf_counter()
            if due > now:
                await asyncio.sleep(due - now)
            counter[0] += 1
            number = counter[0]
            raw = reqs[(k + i * n_conn) % len(reqs)].replace("{n}", f"{number:010d}")
            writer.write(raw.encode("latin-1"))
            head = await reader.readuntil(b"\r\n\r\n")
            code = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            lat.append(time.perf_counter() - due)
            status[code] += 1
            if 200 <= code < 300:
                acked.append(number)
            i += 1
    except (ConnectionError, asyncio.IncompleteReadError):
        status[-1] += 1
    finally:
        writer.close()


async def main(spec: dict[str, Any]) -> dict[str, Any]:
    lat: list[float] = []
    status: Counter[int] = Counter()
    counter = [0]
    acked: list[int] = []
    t0 = time.perf_counter() + 0.2
    stop = t0 + spec["seconds"]
    await asyncio.gather(*(_conn(spec, k, t0, stop, lat, status, counter, acked)
                           for k in range(spec["connections"])))
    if spec.get("acked_path"):
        with open(spec["acked_path"], "w") as f:
            f.write("\n".join(str(n) for n in acked))
    wall = max(time.perf_counter() - t0, 1e-9)
    lat.sort()
    q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else lat * 99 or [0.0] * 99
    return {"offered_rps": spec["rate"], "connections": spec["connections"],
            "answered": len(lat), "achieved_rps": len(lat) / wall,
            "statuses": {str(k): v for k, v in sorted(status.items())},
            "p50_ms": 1000 * statistics.median(lat) if lat else None,
            "p90_ms": 1000 * q[89], "p99_ms": 1000 * q[98],
            "max_ms": 1000 * lat[-1] if lat else None}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))))
