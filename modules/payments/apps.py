from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "brokerdesk.modules.payments"
    label = "payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the poller with workers and beat (settings.CELERY_BEAT_SCHEDULE).
        from brokerdesk.modules.payments import tasks  # noqa: F401
