from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "brokerdesk.modules.trading"
    label = "trading"
    default_auto_field = "django.db.models.BigAutoField"
