"""`brokerdesk migrate`: public, then the template, then the tenants that need it, in parallel."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from brokerdesk.tenants.migrating import migrate_all


class Command(BaseCommand):
    help = "Migrate the public schema, the tenant template, then every tenant that lags."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--executor", choices=["standard", "multiprocessing"], default="multiprocessing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = migrate_all(
            verbosity=options["verbosity"], executor=options["executor"], log=self.stdout.write
        )
        self.stdout.write(report.summary())
