"""Benchmark: learner search on the full demo network, against a plain baseline.

In one run, on a database holding the demo network (``load_demo``):

1. ``search_index rebuild`` of every published course, chapter and resource:
   documents per second and seconds (target: everything in ≤ 30 s).
2. A baseline index of the same documents with Elasticsearch's ``standard``
   analyser (CJK characters one by one) and a plain ``multi_match``.
3. Relevance of both on the labelled set (tests/search/relevance.py):
   success@5 and MRR.
4. Latency of 50 queries with facets and highlights: ours through the API
   (gunicorn, 2 workers) and directly on Elasticsearch; the baseline directly
   on Elasticsearch (it has no API). p50/p95 at concurrency 1 and 8.

Prints ratios against the baseline; nothing here asserts a time (DESIGN.md).

    scripts/services up && eval "$(scripts/services env)"
    DATABASE_URL=${DATABASE_URL%/*}/wanxue_search_bench .venv/bin/python bench/search_api.py
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.dev")
os.environ.setdefault("SEARCH_INDEX_PREFIX", "bench_")

import django  # noqa: E402

django.setup()

from cms.progress import progress_bar  # noqa: E402
from search import documents, indexing, queries  # noqa: E402
from search.backends.elasticsearch import client  # noqa: E402
from tests.search.relevance import QUERIES, relevant_hits, score  # noqa: E402

CONCURRENCY = 8
LATENCY_QUERIES = 50
ROUNDS = 3  # each of the 50 queries this many times at concurrency 1
GUNICORN_WORKERS = 2  # one per core on the 2-core machine
BASELINE_FIELDS = ["title^3", "course_title^1.5", "summary", "knowledge_points"]


def baseline_name() -> str:
    return f"{os.environ['SEARCH_INDEX_PREFIX']}baseline_standard"


def baseline_build(sources: list[dict[str, Any]]) -> None:
    """The same documents, analysed by the server's standard analyser."""
    from elasticsearch.helpers import bulk

    name = baseline_name()
    client().indices.delete(index=name, ignore_unavailable=True)
    text = {"type": "text", "analyzer": "standard"}
    keyword = {"type": "keyword"}
    client().indices.create(
        index=name,
        settings={"number_of_shards": 1, "number_of_replicas": 0},
        mappings={
            "properties": {
                "title": text,
                "summary": text,
                "course_title": text,
                "knowledge_points": text,
                "kind": keyword,
                "majors": keyword,
                "college": keyword,
                "resource_type": keyword,
                "difficulty": {"type": "integer"},
                "object_id": {"type": "long"},
                "live": {"type": "boolean"},
                "public": {"type": "boolean"},
            }
        },
    )
    fields = [
        "title",
        "summary",
        "course_title",
        "knowledge_points",
        "kind",
        "majors",
        "college",
        "resource_type",
        "difficulty",
        "object_id",
        "live",
        "public",
    ]
    bulk(
        client().options(request_timeout=120),
        (
            {"_index": name, "_id": source["_id"], "_source": {f: source.get(f) for f in fields}}
            for source in sources
        ),
        chunk_size=1000,
    )
    client().indices.refresh(index=name)


def baseline_search(query: str, size: int = 10) -> dict[str, Any]:
    return dict(
        client().search(
            index=baseline_name(),
            query={
                "bool": {
                    "must": [{"multi_match": {"query": query, "fields": BASELINE_FIELDS}}],
                    "filter": [{"term": {"live": True}}, {"term": {"public": True}}],
                }
            },
            aggs={
                name: {"terms": {"field": name, "size": queries.FACET_SIZE}}
                for name in queries.FACETS
            },
            highlight={"fields": {"title": {}, "summary": {}}},
            size=size,
        )
    )


def ours_search(query: str) -> None:
    queries.search(queries.SearchParams(query=query, limit=10))


# -- the API under gunicorn ----------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def request(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def gunicorn_start(port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "settings.base",
        "WANXUE_API_ANON_RATE_PER_MINUTE": "0",  # measure search, not the limiter
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
    for _ in range(200):
        try:
            if request(port, "/api/v1/search?q=" + urllib.parse.quote("会计"))[0] == 200:
                return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise RuntimeError("gunicorn did not start")


def api_search(port: int) -> Callable[[str], None]:
    def run(query: str) -> None:
        status, body = request(port, "/api/v1/search?" + urllib.parse.urlencode({"q": query}))
        if status != 200:
            raise RuntimeError(f"{query}: {status} {body[:200]!r}")

    return run


# -- timing ----------------------------------------------------------------------


def _quantiles(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(statistics.quantiles(samples, n=20)[18], 2),
    }


def timed(run: Callable[[str], Any], texts: list[str], concurrency: int) -> dict[str, float]:
    for text in texts[:10]:  # warm up connections and caches
        run(text)
    work = [text for _ in range(ROUNDS) for text in texts]
    samples: list[float] = []
    lock = threading.Lock()

    def worker(items: Iterator[str]) -> None:
        for text in items:
            started = time.perf_counter()
            run(text)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                samples.append(elapsed)

    shares = [iter(work[index::concurrency]) for index in range(concurrency)]
    threads = [threading.Thread(target=worker, args=(share,)) for share in shares]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = _quantiles(samples)
    result["requests_per_s"] = round(len(samples) / (time.perf_counter() - started), 1)
    return result


def main() -> None:
    print(f"server {client().nodes.info(node_id='_local', metric='_none')['nodes']}")
    counts = documents.public_counts()
    print(f"published documents: {counts} (total {sum(counts.values())})")

    kept: list[dict[str, Any]] = []

    def keep(source_iter: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for source in source_iter:
            kept.append(source)
            yield source

    report = indexing.rebuild(progress_factory=progress_bar, sources=keep(documents.all_sources()))
    print(
        f"rebuild: {report.documents} docs in {report.seconds:.1f} s "
        f"= {report.documents_per_second:.0f} docs/s"
    )
    started = time.perf_counter()
    baseline_build(kept)
    seconds = time.perf_counter() - started
    print(f"baseline index (standard analyser, no Python analysis): {seconds:.1f} s")

    def ours_ranked(query: str) -> list[tuple[str, int]]:
        page = queries.search(queries.SearchParams(query=query, limit=10))
        return [(hit.kind, hit.object_id) for hit in page.hits]

    def baseline_ranked(query: str) -> list[tuple[str, int]]:
        hits = baseline_search(query)["hits"]["hits"]
        return [(hit["_source"]["kind"], int(hit["_source"]["object_id"])) for hit in hits]

    ours_score = score(QUERIES, ours_ranked, relevant_hits)
    baseline_score = score(QUERIES, baseline_ranked, relevant_hits)
    print(
        f"relevance ({len(QUERIES)} queries): ours success@5 {ours_score.success_at_5:.3f} "
        f"MRR {ours_score.mrr:.3f} | baseline success@5 {baseline_score.success_at_5:.3f} "
        f"MRR {baseline_score.mrr:.3f}"
    )
    print(f"  baseline misses: {baseline_score.misses}")

    texts = [labelled.query for labelled in QUERIES[:LATENCY_QUERIES]]
    port = free_port()
    server = gunicorn_start(port)
    results: dict[str, Any] = {}
    try:
        for concurrency in (1, CONCURRENCY):
            results[f"api c={concurrency}"] = timed(api_search(port), texts, concurrency)
            results[f"ours-es c={concurrency}"] = timed(ours_search, texts, concurrency)
            results[f"baseline-es c={concurrency}"] = timed(baseline_search, texts, concurrency)
    finally:
        server.terminate()
        server.wait(timeout=30)
    for name, values in results.items():
        print(
            f"{name:18} p50 {values['p50_ms']:7.2f} ms  p95 {values['p95_ms']:7.2f} ms  "
            f"{values['requests_per_s']:7.1f} req/s"
        )
    for concurrency in (1, CONCURRENCY):
        base = results[f"baseline-es c={concurrency}"]["p95_ms"]
        ours = results[f"ours-es c={concurrency}"]["p95_ms"]
        api = results[f"api c={concurrency}"]["p95_ms"]
        print(
            f"ratio p95 c={concurrency}: ours-es/baseline {ours / base:.2f}"
            f"  api/baseline {api / base:.2f}"
        )
    out = REPO / "bench" / "results" / f"search-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "rebuild": {
                    "documents": report.documents,
                    "seconds": round(report.seconds, 2),
                    "documents_per_second": round(report.documents_per_second, 1),
                },
                "relevance": {
                    "queries": len(QUERIES),
                    "ours": {"success_at_5": ours_score.success_at_5, "mrr": ours_score.mrr},
                    "baseline": {
                        "success_at_5": baseline_score.success_at_5,
                        "mrr": baseline_score.mrr,
                    },
                },
                "latency": results,
            },
            indent=2,
        )
    )
    print(f"results: {out}")


if __name__ == "__main__":
    main()
