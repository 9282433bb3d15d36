"""`brokerdesk ledger verify [--schema X | --all]`: cached balances against entries (ADR 0023)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from brokerdesk.modules.ledger.selectors import ledger_verify
from brokerdesk.tenants import schemas


class Command(BaseCommand):
    help = "Verify each tenant's ledger: counters = entries, every currency sums to zero."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="fold the entries and compare cached balances")
        which = verify.add_mutually_exclusive_group()
        which.add_argument("--schema", help="one tenant schema (default: every tenant)")
        which.add_argument("--all", action="store_true", help="every tenant schema (default)")

    def handle(self, *args: Any, **options: Any) -> None:
        known = schemas.tenant_schemas()
        if options["schema"]:
            if options["schema"] not in known:
                raise CommandError(f"no tenant schema {options['schema']!r}")
            targets = [options["schema"]]
        else:
            targets = known
        failed = []
        for schema in targets:
            with schemas.schema_context(schema):
                report = ledger_verify()
            if report.ok:
                self.stdout.write(
                    f"{schema}: {report.accounts} account(s), {report.transfers} transfer(s), "
                    "balances match entries, every currency sums to zero"
                )
                continue
            failed.append(schema)
            for label, problems in (
                ("balance differs from entries", report.mismatched),
                ("currency does not sum to zero", report.unbalanced),
                ("liability below zero", report.negative),
            ):
                for problem in problems:
                    self.stdout.write(f"{schema}: {label}: {problem}")
        if failed:
            raise CommandError(
                f"ledger does not verify in {len(failed)} schema(s): {', '.join(failed)}"
            )
