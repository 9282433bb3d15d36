from django.apps import AppConfig


class PolicyConfig(AppConfig):
    name = "brokerdesk.modules.policy"
    label = "policy"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from brokerdesk.modules.policy import rules  # noqa: F401  (registers the restrictions)
