from django.apps import AppConfig


class KycConfig(AppConfig):
    name = "brokerdesk.modules.kyc"
    label = "kyc"
    default_auto_field = "django.db.models.BigAutoField"
