from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "brokerdesk.modules.notifications"
    label = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The worker's autodiscovery covers platform and tenants only; registering the
        # outbox task here makes it known wherever Django is set up.
        from brokerdesk.modules.notifications import tasks  # noqa: F401
