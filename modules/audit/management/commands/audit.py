"""`brokerdesk audit verify|anchor [--schema X | --all]`: check each tenant's audit chain and
its anchors (ADR 0015, 0018), or anchor the chain heads now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from brokerdesk.modules.audit.services import audit_chain_verify
from brokerdesk.tenants import schemas
from brokerdesk.tenants.audit_anchors import AnchorConflict, audit_anchor_write, audit_anchors_check


class Command(BaseCommand):
    help = "Verify the audit log's hash chain and anchors (naming what is wrong), or anchor it."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        for action, text in (
            ("verify", "recompute the audit chain of tenant schemas and check their anchors"),
            ("anchor", "copy each chain's head (sequence, hash) outside the tenant's schema"),
        ):
            command = sub.add_parser(action, help=text)
            which = command.add_mutually_exclusive_group()
            which.add_argument("--schema", help="one tenant schema (default: every tenant)")
            which.add_argument("--all", action="store_true", help="every tenant schema (default)")

    def _targets(self, options: dict[str, Any]) -> list[str]:
        known = schemas.tenant_schemas()
        if options["schema"]:
            if options["schema"] not in known:
                raise CommandError(f"no tenant schema {options['schema']!r}")
            return [options["schema"]]
        return known

    def handle(self, *args: Any, **options: Any) -> None:
        targets = self._targets(options)
        failed = [
            schema
            for schema in targets
            if not (self._verify(schema) if options["action"] == "verify" else self._anchor(schema))
        ]
        if failed:
            # Non-zero exit: monitoring and scripts must not read tampering as success.
            word = "broken" if options["action"] == "verify" else "not anchored"
            raise CommandError(
                f"audit chain {word} in {len(failed)} schema(s): {', '.join(failed)}"
            )

    def _verify(self, schema: str) -> bool:
        with schemas.schema_context(schema):
            report = audit_chain_verify()
        anchors, problems = audit_anchors_check(schema=schema)
        if report.problem is not None:
            self.stdout.write(f"{schema}: TAMPERED at {report.problem.describe()}")
        for problem in problems:
            self.stdout.write(f"{schema}: TAMPERED: {problem.describe()}")
        if report.ok and not problems:
            self.stdout.write(
                f"{schema}: {report.rows} row(s), chain intact, {anchors} anchor(s) held"
            )
        return report.ok and not problems

    def _anchor(self, schema: str) -> bool:
        try:
            anchor = audit_anchor_write(schema=schema)
        except AnchorConflict as exc:
            self.stdout.write(f"{schema}: NOT ANCHORED: {exc}")
            return False
        if anchor is None:
            self.stdout.write(f"{schema}: no audit rows yet")
        else:
            self.stdout.write(f"{schema}: anchored at #{anchor.sequence} ({anchor.hash[:12]}…)")
        return True
