from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "brokerdesk.modules.payments"
    label = "payments"
    default_auto_field = "django.db.models.BigAutoField"
