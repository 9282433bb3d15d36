"""The Celery app. tenant-schemas-celery carries the current schema in every task's headers."""

from __future__ import annotations

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerdesk.platform.settings.dev")

app = CeleryApp("brokerdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(lambda: ["brokerdesk.platform"])
