from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "brokerdesk.modules.backoffice"
    label = "backoffice"
    default_auto_field = "django.db.models.BigAutoField"
