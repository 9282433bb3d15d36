"""`brokerdesk config rotate-keys|generate-key`: manage the keys of tenant secrets (ADR 0013)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from brokerdesk.tenants.config.crypto import key_generate
from brokerdesk.tenants.config.rotation import rotate_all


class Command(BaseCommand):
    help = "Rotate the encryption of tenant secrets, or print a new key."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser(
            "rotate-keys",
            help="re-encrypt every secret of every tenant with the first key of "
            "BROKERDESK_SECRET_KEYS",
        )
        sub.add_parser("generate-key", help="print a new random key for BROKERDESK_SECRET_KEYS")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "generate-key":
            self.stdout.write(key_generate())
            return
        report = rotate_all()
        total = sum(report.rotated.values())
        for schema, count in sorted(report.rotated.items()):
            self.stdout.write(f"{schema}: {count} secret(s) re-encrypted")
        self.stdout.write(f"{total} secret(s) re-encrypted with the current key")
        if not report.ok:
            failures = [
                f"{s}: {', '.join(rows)}" for s, rows in sorted(report.undecryptable.items())
            ]
            raise CommandError(
                "no key in BROKERDESK_SECRET_KEYS decrypts these secrets (keep the old key "
                "listed until they are rotated): " + "; ".join(failures)
            )
