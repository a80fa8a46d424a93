from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from analytics.services import analytics_rebuild


class Command(BaseCommand):
    help = (
        "Recompute the analytics fact rows from the orders and the daily rollups from the facts (idempotent)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rollups-only",
            action="store_true",
            help="Keep the fact rows; only recompute the daily rollups.",
        )

    def handle(self, *args: Any, rollups_only: bool = False, **options: Any) -> None:
        counts = analytics_rebuild(facts=not rollups_only)
        self.stdout.write(
            self.style.SUCCESS(f"Rebuilt {counts['facts']} order facts and {counts['days']} daily rollups.")
        )
