from django.apps import AppConfig


class KycConfig(AppConfig):
    name = "brokerdesk.modules.kyc"
    label = "kyc"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The worker knows the KYC tasks (the Celery app autodiscovers only the platform's).
        from brokerdesk.modules.kyc import tasks  # noqa: F401
