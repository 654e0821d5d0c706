"""Many clients at once: no 5xx, no lost write, and the server keeps answering.

Eight people acknowledge insights at the same time through their own ``acks:write`` API
keys against the live uvicorn server on SQLite (and on PostgreSQL when
``OUTSIDEIN_TEST_POSTGRES_URL`` is set), while readers list insights and a probe
polls ``/healthz``.  Before writes were serialised and the key check left the event loop,
two such clients got 500s and froze ``/healthz`` for seconds.
"""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from outsidein.services import accounts
from outsidein.store.db import session_scope
from outsidein.store.models.share import Acknowledgement

WRITERS = 8
INSIGHTS = 12


def _writers(site: Any) -> list[tuple[int, str]]:
    """(user id, API key secret) for WRITERS new members of product."""
    out = []
    with session_scope(site.ws.store_url) as s:
        for i in range(WRITERS):
            user = accounts.create_user(s, email=f"writer{i}@acme.test", name=f"Writer {i}",
                                        password=site.PASSWORD, role="member",
                                        departments=["product"])
            _, secret = accounts.create_api_key(s, name=f"writer {i}", scopes=["acks:write"],
                                                user_id=user.id)
            out.append((user.id, secret))
    return out


def test_eight_concurrent_writers_lose_nothing_and_health_stays_fast(site: Any) -> None:
    _eight_writers(site)


@pytest.mark.postgres
def test_eight_concurrent_writers_on_postgresql(pg_site: Any) -> None:
    """The same on a PostgreSQL store (a pool; no process-wide writer lock)."""
    _eight_writers(pg_site)


def _eight_writers(site: Any) -> None:
    writers = _writers(site)
    insights = [site.publish(title=f"Concurrent insight {i}", statement=f"Statement {i}.",
                             departments=["product"]) for i in range(INSIGHTS)]
    reader_key = site.api_key("insights:read")
    statuses: list[int] = []
    health: list[float] = []
    errors: list[str] = []
    done = threading.Event()
    start = threading.Barrier(WRITERS + 1)  # the writers and the reader

    def write(secret: str) -> None:
        with httpx.Client(base_url=site.url, timeout=60,
                          headers={"Authorization": f"Bearer {secret}"}) as c:
            start.wait(timeout=30)
            for ins in insights:
                r = c.post(f"/api/v1/insights/{ins.id}/acknowledgements",
                           json={"version_hash": ins.version_hash})
                statuses.append(r.status_code)
                if r.status_code != 201:
                    errors.append(f"{r.status_code} {r.text[:200]}")

    def read() -> None:
        with httpx.Client(base_url=site.url, timeout=60,
                          headers={"Authorization": f"Bearer {reader_key}"}) as c:
            start.wait(timeout=30)
            while not done.is_set():
                statuses.append(c.get("/api/v1/insights").status_code)

    def probe() -> None:
        with httpx.Client(base_url=site.url, timeout=60) as c:
            deadline = time.monotonic() + 120
            while not done.is_set() and time.monotonic() < deadline:
                t0 = time.perf_counter()
                assert c.get("/healthz").status_code == 200
                health.append(time.perf_counter() - t0)
                time.sleep(0.02)

    threads = [threading.Thread(target=write, args=(secret,)) for _, secret in writers]
    threads.append(threading.Thread(target=read))
    prober = threading.Thread(target=probe)
    prober.start()
    for t in threads:
        t.start()
    for t in threads[:WRITERS]:
        t.join(timeout=120)
    done.set()
    for t in [*threads, prober]:
        t.join(timeout=60)

    assert errors == []
    assert [s for s in statuses if s >= 500] == []
    assert statuses.count(201) == WRITERS * INSIGHTS
    ids = [uid for uid, _ in writers]
    with session_scope(site.ws.store_url, write=False) as s:
        stored = s.scalar(select(func.count()).select_from(Acknowledgement).where(
            Acknowledgement.user_id.in_(ids)))
    assert stored == WRITERS * INSIGHTS
    assert len(health) >= 5
    p99 = statistics.quantiles(health, n=100)[98] if len(health) >= 100 else max(health)
    assert p99 < 1.0, f"/healthz p99 {p99:.3f} s while {WRITERS} clients wrote"


def test_api_key_use_is_recorded_without_a_write_per_request(site: Any) -> None:
    secret = site.api_key("insights:read")
    prefix = secret.split(".", 1)[0]
    with httpx.Client(base_url=site.url, timeout=30,
                      headers={"Authorization": f"Bearer {secret}"}) as c:
        assert c.get("/api/v1/insights").status_code == 200
        with session_scope(site.ws.store_url, write=False) as s:
            first = next(k for k in accounts.list_api_keys(s) if k.prefix == prefix)
        assert first.last_used_at is not None
        for _ in range(5):
            assert c.get("/api/v1/insights").status_code == 200
    with session_scope(site.ws.store_url, write=False) as s:
        again = next(k for k in accounts.list_api_keys(s) if k.prefix == prefix)
    assert again.last_used_at == first.last_used_at  # written at most once a minute


@pytest.mark.parametrize(("env", "threads"), [(None, 8), ("3", 3)])
def test_the_sync_routes_run_on_a_few_threads_not_forty(tmp_path: Any, monkeypatch: Any,
                                                       env: str | None, threads: int) -> None:
    """anyio's 40 threads took turns on the interpreter lock with 32 clients at once (83
    req/s, p99 1.2 s in bench_web_load.py; 8 threads: 109 req/s, p99 0.45 s): the app runs
    its sync routes on 8 (``OUTSIDEIN_WEB_THREADS`` sets another number)."""
    import anyio

    from outsidein.web.app import create_app
    from outsidein.workspace import Workspace

    if env is None:
        monkeypatch.delenv("OUTSIDEIN_WEB_THREADS", raising=False)
    else:
        monkeypatch.setenv("OUTSIDEIN_WEB_THREADS", env)
    Workspace.init(tmp_path / "ws").close()
    app = create_app(tmp_path / "ws")

    async def serving() -> tuple[int, int]:  # what the server's start-up leaves
        before = anyio.to_thread.current_default_thread_limiter().total_tokens
        async with app.router.lifespan_context(app):
            return before, anyio.to_thread.current_default_thread_limiter().total_tokens

    assert anyio.run(serving) == (40, threads)
