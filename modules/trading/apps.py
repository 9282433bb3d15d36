from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "brokerdesk.modules.trading"
    label = "trading"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from brokerdesk.modules.trading import restrictions, sync_tasks, tasks  # noqa: F401

        restrictions.register()
