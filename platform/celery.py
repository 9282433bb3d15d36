"""The Celery app. tenant-schemas-celery carries the current schema in every task's headers."""

from __future__ import annotations

import os
from typing import Any

from celery.signals import setup_logging
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerdesk.platform.settings.dev")

app = CeleryApp("brokerdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(lambda: ["brokerdesk.platform", "brokerdesk.tenants"])


@setup_logging.connect
def keep_django_logging(**kwargs: Any) -> None:
    """Workers log through Django's LOGGING, so every line carries its schema (ADR 0012).

    A receiver here stops Celery from replacing the root handlers with its own; Django has
    already applied LOGGING by then (`brokerdesk worker` calls django.setup() first).
    """
