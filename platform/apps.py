from pathlib import Path

from django.apps import AppConfig


class PlatformConfig(AppConfig):
    """The public-schema SaaS layer: plans, provisioning, operator tools."""

    name = "brokerdesk.platform"
    label = "platform"
    verbose_name = "Platform"
    default_auto_field = "django.db.models.BigAutoField"
    # A namespace package (no __init__.py, see ADR 0002) needs its path spelled out.
    path = str(Path(__file__).resolve().parent)

    def ready(self) -> None:
        from brokerdesk.platform.provisioning import seeders

        seeders.autodiscover()
