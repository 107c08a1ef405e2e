"""Load the real catalogue: institutions, courses with real outlines, majors."""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from cms import services
from cms.progress import progress_bar


class Command(BaseCommand):
    help = "Load cms/fixtures/catalog.json (idempotent: a re-run changes nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--path", type=Path, default=services.CATALOG_PATH)

    def handle(self, *args, path: Path, **options) -> None:
        started = time.perf_counter()
        catalog = services.catalog_read(path)
        with progress_bar("Loading catalogue", services.catalog_size(catalog)) as advance:
            report = services.catalog_load(catalog=catalog, progress=advance)
        elapsed = time.perf_counter() - started
        created = ", ".join(f"{n} {kind}" for kind, n in sorted(report.created.items()))
        self.stdout.write(
            self.style.SUCCESS(
                f"Catalogue loaded in {elapsed:.1f} s: "
                + (f"created {created}" if created else "nothing to change")
            )
        )
