"""Helpers the committed (threaded) CRM tests import by module name."""

from __future__ import annotations

from django.db import transaction

from brokerdesk.modules.crm import records
from brokerdesk.modules.identity.models import User, UserKind


def register_committed(email: str) -> None:
    with transaction.atomic():
        user = User(email=email, kind=UserKind.CLIENT, country="DE", language="en")
        user.set_unusable_password()
        user.save()
        records.record_on_registration(user=user, source=None)
