"""`brokerdesk screening load <sdn.csv | folder> [--schema X | --all]`: load the OFAC SDN list
from its published files into each tenant's screening tables (a new version per load)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from brokerdesk.modules.kyc.sanctions import (
    SanctionsFormatError,
    ofac_files_read,
    sanctions_list_load,
)
from brokerdesk.tenants import schemas


class Command(BaseCommand):
    help = "Load a sanctions list (OFAC SDN legacy CSV) for screening clients."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser(
            "load", help="load sdn.csv (with add.csv, alt.csv, sdn_comments.csv beside it)"
        )
        load.add_argument("path", help="sdn.csv, or the folder that holds it")
        which = load.add_mutually_exclusive_group()
        which.add_argument("--schema", help="one tenant schema (default: every tenant)")
        which.add_argument("--all", action="store_true", help="every tenant schema (default)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            files = ofac_files_read(Path(options["path"]))
        except (SanctionsFormatError, OSError) as exc:
            raise CommandError(str(exc)) from None
        known = schemas.tenant_schemas()
        if options["schema"] and options["schema"] not in known:
            raise CommandError(f"no tenant schema {options['schema']!r}")
        targets = [options["schema"]] if options["schema"] else known
        for schema in targets:
            with schemas.schema_context(schema):
                try:
                    loaded = sanctions_list_load(files=files, actor="cli")
                except SanctionsFormatError as exc:
                    raise CommandError(str(exc)) from None
            self.stdout.write(
                f"{schema}: {loaded.entry_count} entries loaded from {', '.join(sorted(files))}"
            )
