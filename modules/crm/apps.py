from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "brokerdesk.modules.crm"
    label = "crm"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The worker's autodiscovery covers platform and tenants only; registering the
        # dormancy task here makes it known wherever Django is set up.
        from brokerdesk.modules.crm import tasks  # noqa: F401
