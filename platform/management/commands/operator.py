"""`brokerdesk operator create|token`: platform operators and their API tokens."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from brokerdesk.modules.identity.models import User, UserKind
from brokerdesk.platform.console.operators import api_token_issue, operator_create


class Command(BaseCommand):
    help = "Create platform operators and issue their API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser(
            "create", help="create an operator (password from OPERATOR_PASSWORD or a prompt)"
        )
        create.add_argument("--email", required=True)
        token = sub.add_parser("token", help="issue an API token for an operator (printed once)")
        token.add_argument("--email", required=True)
        token.add_argument("--name", default="cli")

    def handle(self, *args: Any, **options: Any) -> None:
        connection.set_schema_to_public()
        if options["action"] == "create":
            password = os.environ.get("OPERATOR_PASSWORD") or getpass.getpass("Password: ")
            try:
                user = operator_create(email=options["email"], password=password)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
            self.stdout.write(
                f"operator {user.email} created; the second factor is set up at first sign-in (/console/)"
            )
            return
        user = User.objects.filter(email=options["email"].lower(), kind=UserKind.OPERATOR).first()
        if user is None:
            raise CommandError(f"no operator {options['email']}")
        self.stdout.write(api_token_issue(user=user, name=options["name"]))
