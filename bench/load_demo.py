"""Benchmark: the full demo load on a fresh PostgreSQL database.

Creates (or recreates) the database ``wanxue_bench`` next to the one in
``DATABASE_URL``, migrates it, then times ``load_catalog`` + ``load_demo`` as
the quick start runs them, and reports the database size and row counts.
In the same run it measures a baseline: N resources created and published
the ordinary Wagtail way (``save()``, ``save_revision().publish()``, with the
per-save index tasks) against the loaders' bulk path, per resource, and prints
the ratio. Times depend on the machine and on what else runs on it, so only
the ratios are comparable between runs; nothing here asserts a time.

    scripts/services up postgres && eval "$(scripts/services env)"
    .venv/bin/python bench/load_demo.py            # add --demo-only to skip load_catalog

Only ``DATABASE_URL`` is used (a role that may create databases); the file
cache and the media go to a scratch folder, removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "wanxue_bench"
BASELINE_RESOURCES = 200
# Medians of 3: single rounds of 200 varied by 2x with other work on the machine.
BASELINE_ROUNDS = 3


def database_recreate(admin_url: str, name: str) -> str:
    """Drop and create ``name`` on the server of ``admin_url``; return its URL."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        # Not WITH (FORCE): that must signal every backend in the database, and
        # the wanxue role may not signal autovacuum (which PostgreSQL stops for
        # a plain DROP anyway). Open client sessions make this fail loudly.
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def timed(label: str, action: Any) -> float:
    started = time.perf_counter()
    action()
    seconds = time.perf_counter() - started
    print(f"{label:<34} {seconds:8.1f} s")
    return seconds


def row_counts() -> dict[str, int]:
    from django.db import connection

    tables = (
        "wagtailcore_page",
        "cms_chapterpage",
        "cms_resource",
        "cms_chapterresource",
        "wagtailcore_revision",
        "wagtailcore_referenceindex",
        "wagtailsearch_indexentry",
        "media_pipeline_mediaasset",
    )
    with connection.cursor() as cursor:
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
    return counts


def database_size() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        return int(cursor.fetchone()[0])


def _baseline_resources(count: int, prefix: str) -> list[Any]:
    from cms.models import Institution, Resource, ResourceType

    institution = Institution.objects.get(code="ahkfdx")
    return [
        Resource(
            institution=institution,
            title=f"基准资源 {prefix} {number}：章节练习（20题）",
            resource_type=ResourceType.EXERCISE_SET,
            summary="围绕基准测试知识点编排的练习，附参考答案与解析。",
            knowledge_points=["基准测试", "批量发布"],
            difficulty=3,
            import_key=f"bench:{prefix}:{number}",
            live=False,
        )
        for number in range(count)
    ]


def _ordinary_seconds(count: int, round_number: int) -> float:
    """Create and publish ``count`` resources as the admin does. Rolled back."""
    from django.db import transaction

    with transaction.atomic():
        resources = _baseline_resources(count, f"ordinary{round_number}")
        started = time.perf_counter()
        for resource in resources:
            resource.save()
            resource.save_revision().publish()
        seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    return seconds


def _bulk_seconds(count: int, round_number: int) -> float:
    """The loaders' path for the same resources, with all its index work. Rolled back."""
    from django.db import transaction

    from cms import loading
    from cms.models import Resource

    with transaction.atomic(), loading.index_signals_paused():
        resources = _baseline_resources(count, f"bulk{round_number}")
        started = time.perf_counter()
        for resource in resources:
            resource.live = True
        Resource.objects.bulk_create(resources)
        loading.revisions_publish(resources)
        loading.references_update(resources)
        loading.admin_search_index_update(Resource, resources)
        seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    return seconds


def baseline(count: int, rounds: int) -> tuple[float, float]:
    """Median seconds per resource over ``rounds``: (ordinary, bulk). The two
    paths alternate, so a burst of load from elsewhere hits both alike."""
    ordinary, bulk = [], []
    for round_number in range(rounds):
        ordinary.append(_ordinary_seconds(count, round_number) / count)
        bulk.append(_bulk_seconds(count, round_number) / count)
    return statistics.median(ordinary), statistics.median(bulk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=BENCH_DATABASE)
    parser.add_argument("--demo-only", action="store_true", help="time load_demo alone")
    parser.add_argument("--baseline", type=int, default=BASELINE_RESOURCES)
    parser.add_argument("--rounds", type=int, default=BASELINE_ROUNDS)
    arguments = parser.parse_args()

    admin_url = os.environ.get("DATABASE_URL", "")
    if not admin_url.startswith(("postgres://", "postgresql://")):
        sys.exit('needs DATABASE_URL for PostgreSQL: eval "$(scripts/services env)"')
    os.environ["DATABASE_URL"] = database_recreate(admin_url, arguments.database)
    os.environ["DJANGO_SETTINGS_MODULE"] = "settings.dev"
    # Measured on PostgreSQL alone: the file cache and the three demo videos
    # go to a scratch folder, so a restarting Redis or MinIO
    # cannot skew (or break) the timing.
    for name in ("REDIS_URL", "ELASTICSEARCH_URL", "S3_BUCKET", "S3_ENDPOINT_URL"):
        os.environ.pop(name, None)
    scratch = tempfile.mkdtemp(prefix="wanxue-bench-")
    os.environ["WANXUE_VAR_DIR"] = scratch
    # The clips' transcodes are queued on the quick start's filesystem broker
    # (as scripts/demo prepares it); nothing consumes them here.
    for folder in ("out", "processed"):
        (Path(scratch) / "celery-broker" / folder).mkdir(parents=True)
    try:
        run(arguments)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run(arguments: argparse.Namespace) -> None:
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command

    print(
        f"machine: {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.2f}"
    )
    timed("migrate (not part of the load)", lambda: call_command("migrate", verbosity=0))
    loads = {}
    if not arguments.demo_only:
        loads["load_catalog"] = timed("load_catalog", lambda: call_command("load_catalog"))
    loads["load_demo"] = timed("load_demo", lambda: call_command("load_demo", verbosity=2))
    full = sum(loads.values())
    print(f"{'full load (wall)':<34} {full:8.1f} s")
    size = database_size()
    counts = row_counts()
    print(f"database size: {size / 2**20:.0f} MiB")
    for table, count in counts.items():
        print(f"  {table:<32} {count:>7}")

    ordinary, bulk = baseline(arguments.baseline, arguments.rounds)
    resources = counts["cms_resource"]
    print(
        f"baseline, {arguments.baseline} resources, per resource "
        f"(median of {arguments.rounds} rounds):"
    )
    print(f"  ordinary save + save_revision().publish()  {ordinary * 1000:7.2f} ms")
    print(f"  bulk path (create, revisions, indexes)     {bulk * 1000:7.2f} ms")
    print(
        f"  ratio bulk/ordinary                        {bulk / ordinary:7.3f}"
        f"  (ordinary is {ordinary / bulk:.0f}x the bulk cost)"
    )
    print(f"  {resources} resources the ordinary way would take ~{ordinary * resources:.0f} s")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")

    results = REPO / "bench" / "results"
    results.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (results / f"load_demo-{stamp}.json").write_text(
        json.dumps(
            {
                "cores": os.cpu_count(),
                "loads_seconds": loads,
                "full_load_seconds": full,
                "database_bytes": size,
                "row_counts": counts,
                "baseline_resources": arguments.baseline,
                "baseline_rounds": arguments.rounds,
                "ordinary_seconds_per_resource": ordinary,
                "bulk_seconds_per_resource": bulk,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
