"""``manage.py search_index rebuild|reconcile|drain|status``: the learner
search index, with progress bars for the long parts."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cms.progress import progress_bar
from search import documents
from search.backends import active_backend


class Command(BaseCommand):
    help = "Rebuild, reconcile or drain the learner search index."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["rebuild", "reconcile", "drain", "status"])
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="reconcile: report the drift without repairing it",
        )

    def handle(self, *args: Any, action: str, dry_run: bool = False, **options: Any) -> None:
        backend = active_backend()
        if action == "rebuild":
            report = backend.rebuild(progress_factory=progress_bar)
            self.stdout.write(
                f"{backend.name}: {report.documents} documents into {report.index} in "
                f"{report.seconds:.1f} s ({report.documents_per_second:.0f} docs/s); "
                f"replayed {report.replayed} changes; dropped {', '.join(report.dropped) or '-'}"
            )
        elif action == "drain":
            self.stdout.write(f"{backend.name}: {backend.drain_all()} outbox rows indexed")
        elif action in ("reconcile", "status"):
            if backend.name != "elasticsearch":
                raise CommandError("reconcile needs Elasticsearch; rebuild the embedded index")
            from search import indexing

            total = sum(documents.public_counts().values())
            with progress_bar("comparing", total) as advance:
                drift = indexing.drift_find(progress=advance)
            self.stdout.write(
                f"drift: {len(drift.missing)} missing, {len(drift.foreign)} not public, "
                f"{len(drift.stale)} stale"
            )
            for label, ids in (
                ("missing", drift.missing),
                ("foreign", drift.foreign),
                ("stale", drift.stale),
            ):
                for doc_id in ids[:20]:
                    self.stdout.write(f"  {label} {doc_id}")
            if action == "reconcile" and not dry_run and drift.total:
                repaired = indexing.drift_repair(drift)
                self.stdout.write(
                    f"repaired: {repaired.indexed} indexed, {repaired.deleted} deleted"
                )
