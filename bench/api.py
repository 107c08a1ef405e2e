"""Benchmark: API v1 against Wagtail's API v2, side by side, under gunicorn.

Builds the full demo network in its own database (``wanxue_bench_api``:
``load_catalog`` + ``load_demo``; ``--reuse`` keeps an earlier load), starts
two gunicorns serving both APIs — one with v1's response cache
(``cms/api/response_cache.py``), one without — and measures in the same run:

- the outline of the course closest to 15 chapters / 100 resources
  (v1: one call; v2: the course page plus its child pages, two calls),
- a 50-item list (v1 resources and v1 chapters; v2: 50 chapter pages, fields=*),
- a 304 revalidation of the outline (v2 has no ETags: its 200 is the baseline).

Every v1 scenario runs on both servers: "uncached" builds every body (the
cost of a first request after a change), "cached" is what a repeated GET or a
revalidation costs while content is unchanged.

Each is timed at concurrency 1 (p50/p95 over ``--requests`` calls) and at
concurrency 8 (requests per second over ``--seconds``). Only ratios compare
across machines; nothing here asserts a time (DESIGN.md).

    scripts/services up && eval "$(scripts/services env)"     # PostgreSQL + Redis
    .venv/bin/python bench/api.py              # --reuse to skip the load
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rich.progress import Progress

REPO = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "wanxue_bench_api"
GUNICORN_WORKERS = 2  # one per core on the 2-core CI machine
CONCURRENCY = 8


@dataclass
class Scenario:
    name: str
    paths: Sequence[str]  # one operation = these requests in turn
    headers: dict[str, str] = field(default_factory=dict)
    expect: int = 200
    port: int = 0  # which gunicorn: with or without the v1 response cache


def database_prepare(admin_url: str, reuse: bool) -> str:
    import psycopg

    url = admin_url.rsplit("/", 1)[0] + f"/{BENCH_DATABASE}"
    if reuse:
        try:
            with psycopg.connect(url) as connection:
                row = connection.execute("SELECT count(*) FROM cms_resource").fetchone()
            if row and row[0] > 14000:
                # Newer code may have added migrations since that load.
                subprocess.run(
                    [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
                    cwd=REPO,
                    env={
                        **os.environ,
                        "DATABASE_URL": url,
                        "DJANGO_SETTINGS_MODULE": "settings.dev",
                    },
                    check=True,
                )
                return url
        except psycopg.Error:
            pass
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}"')
        connection.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "settings.dev"}
    for command in (["migrate", "--no-input"], ["load_catalog"], ["load_demo"]):
        print("manage.py", *command, flush=True)
        subprocess.run([sys.executable, "manage.py", *command], cwd=REPO, env=env, check=True)
    return url


def outline_course(url: str) -> tuple[int, int, int]:
    """The published course whose outline is closest to 15 chapters / 100 resources."""
    import psycopg

    with psycopg.connect(url) as connection:
        rows = connection.execute(
            """
            SELECT course.id, count(DISTINCT chapter.id), count(link.id)
            FROM wagtailcore_page course
            JOIN cms_coursepage ON cms_coursepage.page_ptr_id = course.id
            JOIN wagtailcore_page chapter
              ON chapter.path LIKE course.path || '%%'
             AND chapter.depth = course.depth + 1 AND chapter.live
            LEFT JOIN cms_chapterresource link ON link.chapter_id = chapter.id
            WHERE course.live
            GROUP BY course.id
            """
        ).fetchall()
    return min(rows, key=lambda row: abs(row[1] - 15) * 10 + abs(row[2] - 100))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def gunicorn_start(url: str, port: int, *, response_cache: bool) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        # base settings as such: DEBUG off, persistent connections (60 s).
        "DJANGO_SETTINGS_MODULE": "settings.base",
        "WANXUE_API_ANON_RATE_PER_MINUTE": "0",  # measure the API, not the limiter
        "WANXUE_API_RESPONSE_CACHE": "1" if response_cache else "0",
    }
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "settings.wsgi",
            f"--workers={GUNICORN_WORKERS}",
            f"--bind=127.0.0.1:{port}",
            "--log-level=warning",
        ],
        cwd=REPO,
        env=env,
    )
    for _ in range(100):
        try:
            if request(port, "/api/v1/institutions")[0] == 200:
                return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise RuntimeError("gunicorn did not start")


def request(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def operation(scenario: Scenario) -> None:
    for path in scenario.paths:
        status, body = request(scenario.port, path, scenario.headers)
        if status != scenario.expect:
            raise RuntimeError(f"{path}: {status} {body[:200]!r}")


def latencies(scenario: Scenario, count: int, progress: Progress) -> dict[str, float]:
    task = progress.add_task(f"c=1 {scenario.name}", total=count)
    for _ in range(10):  # warm the workers' connections and caches
        operation(scenario)
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        operation(scenario)
        samples.append((time.perf_counter() - started) * 1000)
        progress.advance(task)
    quantiles = statistics.quantiles(samples, n=20)
    return {"p50_ms": statistics.median(samples), "p95_ms": quantiles[18]}


def throughput(scenario: Scenario, seconds: float, progress: Progress) -> float:
    task = progress.add_task(f"c={CONCURRENCY} {scenario.name}", total=seconds)
    done = [0] * CONCURRENCY
    stop = time.perf_counter() + seconds

    def client(index: int) -> None:
        while time.perf_counter() < stop:
            operation(scenario)
            done[index] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CONCURRENCY)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        time.sleep(0.25)
        progress.update(task, completed=min(seconds, time.perf_counter() - started))
    return sum(done) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse", action="store_true", help="keep an earlier demo load")
    parser.add_argument("--requests", type=int, default=300, help="calls per c=1 timing")
    parser.add_argument("--seconds", type=float, default=10, help="length of each c=8 run")
    args = parser.parse_args()

    url = database_prepare(os.environ["DATABASE_URL"], args.reuse)
    if not os.environ.get("REDIS_URL"):
        raise SystemExit('REDIS_URL is not set: run `eval "$(scripts/services env)"` first')
    course_id, chapters, resources = outline_course(url)
    cold, warm = free_port(), free_port()
    servers = [
        gunicorn_start(url, cold, response_cache=False),
        gunicorn_start(url, warm, response_cache=True),
    ]
    try:
        outline = f"/api/v1/courses/{course_id}"
        etag = dict(http_headers(cold, outline))["etag"]  # the outline's current ETag
        revalidate = {"If-None-Match": etag}
        scenarios = []
        for label, port in (("uncached", cold), ("cached", warm)):
            scenarios += [
                Scenario(f"v1 outline, {label}", [outline], port=port),
                Scenario(f"v1 resources ×50, {label}", ["/api/v1/resources?limit=50"], port=port),
                Scenario(f"v1 chapters ×50, {label}", ["/api/v1/chapters?limit=50"], port=port),
                Scenario(f"v1 outline 304, {label}", [outline], revalidate, 304, port),
            ]
        scenarios += [
            Scenario(
                "v2 outline (2 calls)",
                [
                    f"/api/v2/pages/{course_id}/",
                    f"/api/v2/pages/?child_of={course_id}&fields=*&limit=20",
                ],
                port=cold,
            ),
            Scenario(
                "v2 chapter pages ×50",
                ["/api/v2/pages/?type=cms.ChapterPage&fields=*&limit=50"],
                port=cold,
            ),
            Scenario("v2 course page (no ETag)", [f"/api/v2/pages/{course_id}/"], port=cold),
        ]
        results: dict[str, dict[str, float]] = {}
        with Progress() as progress:
            for scenario in scenarios:
                results[scenario.name] = latencies(scenario, args.requests, progress)
            for scenario in scenarios:
                results[scenario.name]["rps_c8"] = throughput(scenario, args.seconds, progress)
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)

    print(f"\noutline: course {course_id}, {chapters} chapters, {resources} resources")
    print(f"{'scenario':<34} {'p50 ms':>8} {'p95 ms':>8} {'req/s c=8':>10}")
    for name, numbers in results.items():
        p50, p95, rate = numbers["p50_ms"], numbers["p95_ms"], numbers["rps_c8"]
        print(f"{name:<34} {p50:8.1f} {p95:8.1f} {rate:10.1f}")

    def rps(name: str) -> float:
        return results[name]["rps_c8"]

    v2_list, v2_outline = rps("v2 chapter pages ×50"), rps("v2 outline (2 calls)")
    ratios: dict[str, float] = {}
    for label in ("uncached", "cached"):
        ratios |= {
            f"list: v1 resources ×50 {label} / v2 chapter pages ×50": rps(
                f"v1 resources ×50, {label}"
            )
            / v2_list,
            f"list: v1 chapters ×50 {label} / v2 chapter pages ×50": rps(
                f"v1 chapters ×50, {label}"
            )
            / v2_list,
            f"outline: v1 {label} / v2": rps(f"v1 outline, {label}") / v2_outline,
            f"304: v1 {label} / v2 course page 200": rps(f"v1 outline 304, {label}")
            / rps("v2 course page (no ETag)"),
        }
    print()
    for label, ratio in ratios.items():
        print(f"{label:<58} {ratio:6.2f}×")

    out = REPO / "bench" / "results" / f"api-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
                "gunicorn_workers": GUNICORN_WORKERS,
                "outline": {"course": course_id, "chapters": chapters, "resources": resources},
                "results": results,
                "ratios": ratios,
            },
            ensure_ascii=False,
            indent=2,
        )
    )
    print(f"\nwritten: {out.relative_to(REPO)}")


def http_headers(port: int, path: str) -> list[tuple[str, str]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return [(name.lower(), value) for name, value in response.getheaders()]
    finally:
        connection.close()


if __name__ == "__main__":
    main()
