"""`brokerdesk audit verify [--schema X | --all]`: check each tenant's audit chain (ADR 0015)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from brokerdesk.modules.audit.services import audit_chain_verify
from brokerdesk.tenants import schemas


class Command(BaseCommand):
    help = "Verify the hash chain of the audit log; name the first tampered row."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="recompute the audit chain of tenant schemas")
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
                report = audit_chain_verify()
            if report.ok:
                self.stdout.write(f"{schema}: {report.rows} row(s), chain intact")
            else:
                assert report.problem is not None
                failed.append(schema)
                self.stdout.write(f"{schema}: TAMPERED at {report.problem.describe()}")
        if failed:
            # Non-zero exit: monitoring and scripts must not read tampering as success.
            raise CommandError(
                f"audit chain broken in {len(failed)} schema(s): {', '.join(failed)}"
            )
